"""Every command of the tutorials is executed: docs/tutorial_control.md and docs/tutorial_ssm.md.

A tutorial is run top to bottom in an empty folder:

- ``python`` blocks run in one shared namespace (what they print is their output);
- ``bash`` blocks hold one ``mor ...`` command per line, run in-process through
  :func:`mor_cli.main.main`; the exit status must be 0, or the one a trailing
  ``# exits N`` comment announces;
- ``text`` blocks are excerpts of the output of the block just before: every line of them
  (but ``...``) must appear in it verbatim.

Any other kind of block, or a bash line that is not a ``mor`` command, fails the test: a
tutorial holds nothing that is not checked.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from mor_cli.main import main

DOCS = Path(__file__).resolve().parents[1] / "docs"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(path: Path) -> list[tuple[str, str, int]]:
    """(language, body, line number) of every fenced block of a Markdown file."""
    text = path.read_text(encoding="utf-8")
    return [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1)
            for m in _FENCE.finditer(text)]


def _run_bash(body: str, where: str) -> str:
    out = io.StringIO()
    for line in body.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        expected = 0
        match = re.search(r"#\s*exits\s+(\d+)\s*$", line)
        if match:
            expected = int(match.group(1))
            line = line[:match.start()].strip()
        argv = shlex.split(line, comments=True)
        assert argv and argv[0] == "mor", f"{where}: not a mor command: {line!r}"
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            try:
                code = main(argv[1:])
            except SystemExit as exc:  # argparse: --help, --version, usage errors
                code = exc.code
        text = buf.getvalue()
        assert code == expected, f"{where}: `{line}` exited {code}, expected {expected}:\n{text}"
        out.write(text)
    return out.getvalue()


def _run_python(body: str, namespace: dict, where: str) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(body, where, "exec"), namespace)  # the tutorial's own code
    return buf.getvalue()


def run_tutorial(path: Path, folder: Path, monkeypatch) -> None:
    monkeypatch.chdir(folder)
    namespace: dict = {"__name__": "__tutorial__"}
    output: str | None = None
    found = blocks(path)
    assert found, f"{path.name} has no code blocks"
    for lang, body, line in found:
        where = f"{path.name}:{line}"
        if lang == "python":
            output = _run_python(body, namespace, where)
        elif lang == "bash":
            output = _run_bash(body, where)
        elif lang == "text":
            assert output is not None, f"{where}: an output excerpt with no block before it"
            for expected in body.splitlines():
                if expected.strip() and expected.strip() != "...":
                    assert expected in output, (
                        f"{where}: {expected!r} is not in the output:\n{output}")
        else:
            pytest.fail(f"{where}: a ```{lang or '(no language)'} block is not executed; use "
                        "python, bash (mor commands) or text (output excerpts)")


def test_control_tutorial(tmp_path, monkeypatch):
    run_tutorial(DOCS / "tutorial_control.md", tmp_path, monkeypatch)
    assert (tmp_path / "cd.mat").is_file() and (tmp_path / "build_half.json").is_file()
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == [
        "error_vs_order.png", "hankel.png", "sigma.png"]


@pytest.mark.slow  # ~40 s: prune and compare on a bundled checkpoint (also mor_cli/test_prune.py)
def test_ssm_tutorial(tmp_path, monkeypatch):
    run_tutorial(DOCS / "tutorial_ssm.md", tmp_path, monkeypatch)
    assert (tmp_path / "report" / "report.md").is_file()
    assert (tmp_path / "pruned" / "model.msgpack").is_file()


def test_the_runner_checks_what_it_claims(tmp_path, monkeypatch):
    doc = tmp_path / "t.md"
    doc.write_text("```bash\nmor --version\n```\n\n```text\nmor 0.\n```\n\n"
                   "```bash\nmor reduce nothing-here # exits 2\n```\n", encoding="utf-8")
    run_tutorial(doc, tmp_path, monkeypatch)
    doc.write_text("```bash\nmor --version\n```\n\n```text\nnot printed\n```\n")
    with pytest.raises(AssertionError, match="not in the output"):
        run_tutorial(doc, tmp_path, monkeypatch)
    doc.write_text("```bash\nls\n```\n")
    with pytest.raises(AssertionError, match="not a mor command"):
        run_tutorial(doc, tmp_path, monkeypatch)
    doc.write_text("```sh\nmor --version\n```\n")
    with pytest.raises(pytest.fail.Exception, match="not executed"):
        run_tutorial(doc, tmp_path, monkeypatch)
