"""Hostile inputs to the ``mor`` command line (issue 9, sections 3 and 4).

Each case builds its input in ``tmp_path`` and runs ``mor_cli.main.main([...])`` in-process
(a subprocess only where a real signal is needed).  A refused input must end with exit
status 2 and one line on stderr naming the problem, no traceback, and nothing deleted or
left behind; an output folder is replaced only when mor wrote it.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.io

import ssm_bridge as sb
from mor.exceptions import RatioError
from mor.selection import MAX_RATIOS, check_ratios
from mor_cli.main import main
from ssm_bridge import _staging, jobs
from ssm_bridge.jobs import demo as demo_job
from ssm_bridge.jobs import report

TASK_OPTIONS = {"n_train": 64, "n_test": 64}
STAGING = Path(_staging.__file__)


# ---------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    """A tiny S5 checkpoint (2 layers of 4 units) with its task metadata beside it."""
    folder = tmp_path_factory.mktemp("ckpt")
    cfg = sb.S5Config(d_model=8, n_layers=2, state_sizes=(4, 4), d_input=1, n_classes=10)
    path = sb.save_checkpoint(folder / "model.msgpack", sb.random_variables(cfg, seed=5), cfg)
    (folder / "model.meta.json").write_text(
        json.dumps({"task": "digits", "data_seed": 0, "task_options": TASK_OPTIONS}))
    return path


@pytest.fixture
def fast_figures(monkeypatch) -> dict:
    """Compare without drawing figures or compiling models to time them (seconds each).

    Returns the arguments each figure function got, by file name.
    """
    from ssm_bridge import plots
    from ssm_bridge.jobs import compare

    calls: dict = {}

    def figure(path, *args, **kwargs):
        Path(path).write_bytes(b"")
        calls[Path(path).name] = args
        return Path(path)

    for name in ("accuracy_vs_ratio", "kept_fraction", "poles", "sorted_energies",
                 "certificates", "speedup"):
        monkeypatch.setattr(plots, name, figure)
    monkeypatch.setattr(compare, "time_forward", lambda calls, repeats: [[1e-3]] * len(calls))
    return calls


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of ``mor ARGV`` (argparse errors included)."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_refused(code: int, err: str, *words: str) -> None:
    """Exit 2 with one line on stderr that names the problem, and no traceback."""
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], lines[0]


def listing(folder: Path) -> list[str]:
    """Every path under ``folder`` (hidden ones included), relative, sorted."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def populated(folder: Path) -> Path:
    """A folder of the user's with a file and a sub-folder in it."""
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    (folder / "notes.txt").write_text("precious")
    (folder / "sub" / "data.csv").write_text("1,2,3")
    return folder


def not_called(*args, **kwargs):
    raise AssertionError("the job started although its output location was refused")


def dead_pid() -> int:
    """The process id of a process that has exited."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    return int(child.stdout)


def stale_folder(parent: Path, name: str, pid: int, kind: str = "tmp") -> Path:
    """A staging folder as a process ``pid`` of this tool leaves it when killed."""
    folder = parent / f".{name}.mor-{pid}-abc123_x.{kind}"
    folder.mkdir()
    marker = {"tool": "mor", "version": "0", "command": "mor prune", "pid": pid,
              "host": socket.gethostname()}
    (folder / _staging.MARKER_NAME).write_text(json.dumps(marker))
    return folder


# ---------------------------------------------------------------------- 3. --out and --force
def test_out_dot_force_never_deletes_the_current_directory(ckpt, tmp_path, monkeypatch,
                                                           capsys):
    work = populated(tmp_path / "work")
    (work / _staging.MARKER_NAME).write_text('{"tool": "mor"}')  # even one mor wrote
    monkeypatch.chdir(work)
    before = listing(tmp_path)
    monkeypatch.setattr(demo_job, "resolve_checkpoint", not_called)
    for command in ("prune", "compare"):
        code, _, err = run([command, str(ckpt), "--out", ".", "--force"], capsys)
        assert_refused(code, err, "current directory", "--out")
    assert listing(tmp_path) == before


def test_empty_out_is_refused(ckpt, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(populated(tmp_path))
    before = listing(tmp_path)
    for command in ("prune", "compare"):
        code, _, err = run([command, str(ckpt), "--out", "", "--force"], capsys)
        assert_refused(code, err, "empty")
    assert listing(tmp_path) == before


def test_out_holding_the_input_is_never_replaced(tmp_path, ckpt, capsys):
    folder = tmp_path / "project" / "run"
    folder.mkdir(parents=True)
    for f in ckpt.parent.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    _staging.write_marker(folder)  # written by `mor train`: still the input
    before = listing(tmp_path)
    for out in (folder, folder.parent):  # the folder holding the input, and its parent
        code, _, err = run(["prune", str(folder / "model.msgpack"), "--out", str(out),
                            "--force"], capsys)
        assert_refused(code, err, "input")
    assert listing(tmp_path) == before


def test_out_holding_the_current_directory_is_never_replaced(ckpt, tmp_path, monkeypatch,
                                                             capsys):
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    _staging.write_marker(tmp_path / "a")
    monkeypatch.chdir(inner)
    code, _, err = run(["prune", str(ckpt), "--out", str(tmp_path / "a"), "--force"], capsys)
    assert_refused(code, err, "current directory")
    assert (tmp_path / "a" / "b").is_dir()


def test_home_directory_is_never_replaced(ckpt, tmp_path, monkeypatch, capsys):
    home = populated(tmp_path / "home")
    _staging.write_marker(home)
    monkeypatch.setenv("HOME", str(home))
    before = listing(tmp_path)
    code, _, err = run(["prune", str(ckpt), "--out", str(home), "--force"], capsys)
    assert_refused(code, err, "home directory")
    assert listing(tmp_path) == before


def test_filesystem_root_and_ancestors_are_protected(tmp_path, monkeypatch):
    # checked on the pure function only: no test ever points a command at /
    monkeypatch.chdir(tmp_path)
    assert "filesystem root" in _staging.protected_reason("/")
    assert "current directory" in _staging.protected_reason(tmp_path.parent)
    assert "installation" in _staging.protected_reason(STAGING.parent.parent)
    assert _staging.protected_reason(tmp_path / "new") is None


def test_force_refuses_a_folder_mor_did_not_write(ckpt, tmp_path, monkeypatch, capsys):
    foreign = populated(tmp_path / "mine")
    before = listing(tmp_path)
    monkeypatch.setattr(demo_job, "resolve_checkpoint", not_called)
    for command in ("prune", "compare"):
        code, _, err = run([command, str(ckpt), "--out", str(foreign), "--force"], capsys)
        assert_refused(code, err, ".mor-output.json", "did not write")
    assert listing(tmp_path) == before
    # a marker that is not a JSON object of this tool does not count either
    (foreign / _staging.MARKER_NAME).write_text("[1, 2]")
    code, _, err = run(["prune", str(ckpt), "--out", str(foreign), "--force"], capsys)
    assert_refused(code, err, "did not write")
    assert (foreign / "notes.txt").read_text() == "precious"


def test_force_replaces_a_folder_mor_wrote(ckpt, tmp_path, capsys):
    out = tmp_path / "out"
    assert run(["prune", str(ckpt), "--ratio", "0.5", "--out", str(out)], capsys)[0] == 0
    marker = json.loads((out / _staging.MARKER_NAME).read_text())
    assert marker["tool"] == "mor" and marker["version"] and marker["pid"] == os.getpid()
    assert marker["command"] == f"mor prune {ckpt} --ratio 0.5 --out {out}"
    (out / "stale.txt").write_text("from an older run")
    assert run(["prune", str(ckpt), "--ratio", "0.25", "--out", str(out), "--force"],
               capsys)[0] == 0
    assert not (out / "stale.txt").exists()
    assert json.loads((out / "accuracy.json").read_text())["ratio"] == 0.25
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging folder left


def test_staging_never_replaces_a_foreign_folder(tmp_path):
    """The last check, at the rename, whatever the caller checked before."""
    foreign = populated(tmp_path / "foreign")
    before = listing(tmp_path)
    with pytest.raises(FileExistsError, match="not a directory written by mor"):
        with _staging.staged_directory(foreign) as tmp:
            (tmp / "new.txt").write_text("new")
    assert listing(tmp_path) == before


def test_demo_keeps_its_folder_but_never_the_current_one(tmp_path, monkeypatch, capsys):
    def fake_compare(res, target, **kwargs):
        (target / "report.md").write_text("fake")
        return jobs.CompareResult(target, target / "report.md", res.label, "digits", 1.0, 0.0,
                                ("aire",), (0.0,), None, None, (), {"aire": 0.0}, [], {}, ())

    monkeypatch.setattr(demo_job, "compare_into", fake_compare)
    monkeypatch.setattr(demo_job, "available_bundled", lambda: ("s5_digits",))
    monkeypatch.setattr(demo_job, "resolve_checkpoint", lambda name: jobs.ResolvedCheckpoint(
        name, None, None, None, "digits"))
    monkeypatch.setattr(demo_job, "verify_benchmark", lambda *a: (
        type("M", (), {"nstates": 4})(), [], []))
    monkeypatch.setattr(report, "demo_markdown", lambda *a: "# demo\n")
    monkeypatch.chdir(tmp_path)
    args = ["demo", "--checkpoints", "s5_digits", "--no-progress"]
    # the default behaviour: reports/demo is re-created on every run
    assert run(args, capsys)[0] == 0
    demo = tmp_path / "reports" / "demo"
    assert (demo / _staging.MARKER_NAME).is_file() and (demo / ".mor-demo").is_file()
    (demo / "stale.txt").write_text("old")
    assert run(args, capsys)[0] == 0
    assert not (demo / "stale.txt").exists()
    # the current directory, even one holding a previous demo's marker, is never replaced
    (tmp_path / ".mor-demo").write_text("")
    populated(tmp_path)
    before = listing(tmp_path)
    code, _, err = run([*args, "--out", ".", "--force"], capsys)
    assert_refused(code, err, "current directory")
    assert listing(tmp_path) == before


def test_train_out_dot_force_is_refused_before_training(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(populated(tmp_path))
    before = listing(tmp_path)
    code, _, err = run(["train", "digits", "--preset", "tiny", "--out", ".", "--force",
                        "--no-progress"], capsys)
    assert_refused(code, err, "current directory")
    assert listing(tmp_path) == before


# ---------------------------------------------------------------------- 3. compare's ratios
def test_compare_grid_without_zero(ckpt, tmp_path, capsys, fast_figures):
    """--ratios 1: aire is not within 1 point at 1, so the answer is 0, the full model."""
    out = tmp_path / "o"
    code, stdout, err = run(["compare", str(ckpt), "--methods", "aire", "--ratios", "1",
                             "--reference-ratio", "1", "--out", str(out), "--no-progress"],
                            capsys)
    assert code == 0, err
    saved = json.loads((out / "results.json").read_text())
    assert saved["ratios"] == [0.0, 1.0]
    assert saved["largest_ratio_within"]["aire"] == 0.0
    assert saved["accuracy"]["aire"][0] == pytest.approx(saved["full"]["accuracy"], abs=1e-12)
    assert "also evaluated: ratio 0" in stdout


def test_compare_reference_ratio_is_validated_and_evaluated_exactly(ckpt, tmp_path, capsys,
                                                                   fast_figures):
    code, _, err = run(["compare", str(ckpt), "--ratios", "0,1", "--reference-ratio", "0",
                        "--out", str(tmp_path / "bad")], capsys)
    assert_refused(code, err, "reference ratio 0")
    with pytest.raises(RatioError, match="reference ratio 0"):
        jobs.compare_checkpoint(ckpt, tmp_path / "bad", ratios=[0, 1], reference_ratio=0)
    assert list(tmp_path.iterdir()) == []
    # 0.125 of 8 units prunes one: a layer with nothing pruned (it has no bound) is drawn
    # as missing, and the ratio is evaluated as given, not moved to the nearest on the grid
    out = tmp_path / "o"
    code, _, err = run(["compare", str(ckpt), "--methods", "aire,last", "--ratios", "0,1",
                        "--reference-ratio", "0.125", "--out", str(out), "--no-progress"],
                       capsys)
    assert code == 0, err
    saved = json.loads((out / "results.json").read_text())
    assert saved["reference_ratio"] == 0.125 and 0.125 in saved["ratios"]
    assert sorted(saved["kept_per_layer_at_reference"]["aire"]) == [3, 4]
    (panels,) = fast_figures["certificates.png"]
    for series in panels.values():
        bounds = [v for k, v in series.items() if not k.startswith("exact")]
        assert bounds and all(None in values for values in bounds)


# ---------------------------------------------------------------------- 4. clear errors
def test_reduce_with_b_zero(tmp_path, capsys):
    path = tmp_path / "b0.mat"
    scipy.io.savemat(path, {"A": -np.eye(3), "B": np.zeros((3, 1)), "C": np.ones((1, 3))})
    code, _, err = run(["reduce", str(path)], capsys)
    assert_refused(code, err, "B = 0", "nothing to reduce")


@pytest.mark.parametrize("ratios, words", [
    ("0:inf:0.1", ["inf"]),
    ("0:nan:0.1", ["nan"]),
    ("0:1:0", ["step"]),
    ("1:0:0.1", ["start"]),
])
def test_ratio_range_that_is_not_finite(ratios, words, capsys):
    code, _, err = run(["reduce", "build", "--ratios", ratios], capsys)
    assert_refused(code, err, "--ratios", *words)


@pytest.mark.parametrize("ratios", ["0:1:1e-9", "0:1:5e-324"])
def test_ratio_grid_over_the_limit(ratios, ckpt, tmp_path, capsys):
    start = time.perf_counter()
    for argv in (["reduce", "build"], ["compare", str(ckpt), "--out", str(tmp_path / "o")]):
        code, _, err = run([*argv, "--ratios", ratios], capsys)
        assert_refused(code, err, "1001", "MAX_RATIOS")
    assert time.perf_counter() - start < 5.0  # refused at once, nothing built
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="MAX_RATIOS"):
        check_ratios(np.linspace(0, 1, MAX_RATIOS + 1))


def test_negative_seed(ckpt, tmp_path, capsys):
    for command in ("prune", "compare"):
        code, _, err = run([command, str(ckpt), "--seed", "-1", "--out", str(tmp_path / "o")],
                           capsys)
        assert_refused(code, err, "--seed", "negative")
    with pytest.raises(jobs.JobError, match="seed"):
        jobs.prune_checkpoint(ckpt, "random", 0.5, tmp_path / "o", seed=-1)
    assert list(tmp_path.iterdir()) == []


def test_batch_size_over_the_memory_limit(ckpt, tmp_path, capsys):
    code, _, err = run(["prune", str(ckpt), "--batch-size", "100000000",
                        "--out", str(tmp_path / "o")], capsys)
    assert_refused(code, err, "MAX_BATCH_BYTES", "GiB", "--batch-size")
    code, _, err = run(["compare", str(ckpt), "--batch-size", "0",
                        "--out", str(tmp_path / "o")], capsys)
    assert_refused(code, err, "--batch-size")
    assert list(tmp_path.iterdir()) == []


def test_disk_full_while_writing(ckpt, tmp_path, monkeypatch, capsys):
    def full(path, text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(report, "atomic_write_text", full)
    code, _, err = run(["prune", str(ckpt), "--out", str(tmp_path / "o")], capsys)
    assert_refused(code, err, "disk is full", "certificates.json")
    assert list(tmp_path.iterdir()) == []  # neither the output nor its staging folder


def test_out_under_a_file_is_refused_before_any_work(ckpt, tmp_path, monkeypatch, capsys):
    (tmp_path / "file.txt").write_text("x")
    monkeypatch.setattr(demo_job, "resolve_checkpoint", not_called)
    code, _, err = run(["prune", str(ckpt), "--out", str(tmp_path / "file.txt" / "o")], capsys)
    assert_refused(code, err, "not a directory")
    assert listing(tmp_path) == ["file.txt"]


def test_read_only_out_is_refused_before_any_work(ckpt, tmp_path, monkeypatch, capsys):
    """A read-only file system (simulated: the probe directory cannot be made)."""
    real_mkdtemp = _staging.tempfile.mkdtemp

    def read_only(*args, dir=None, **kwargs):
        if dir is not None and Path(dir) == tmp_path:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dir))
        return real_mkdtemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(_staging.tempfile, "mkdtemp", read_only)
    monkeypatch.setattr(demo_job, "resolve_checkpoint", not_called)
    code, _, err = run(["prune", str(ckpt), "--out", str(tmp_path / "o")], capsys)
    assert_refused(code, err, "cannot write", "Read-only file system")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="permissions do not stop root")
def test_unwritable_out_is_refused_before_any_work(ckpt, tmp_path, monkeypatch, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    monkeypatch.setattr(demo_job, "resolve_checkpoint", not_called)
    try:
        code, _, err = run(["prune", str(ckpt), "--out", str(locked / "o")], capsys)
    finally:
        locked.chmod(0o755)
    assert_refused(code, err, "cannot write")
    assert list(locked.iterdir()) == []


def test_json_on_a_directory_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    import mor_cli.verify as verify

    (tmp_path / "reports").mkdir()
    monkeypatch.setattr(verify, "load_systems", not_called)
    code, _, err = run(["verify", "build", "--json", str(tmp_path / "reports")], capsys)
    assert_refused(code, err, "--json", "is a directory")
    code, _, err = run(["verify", "build", "--json", str(tmp_path / "no" / "r.json")], capsys)
    assert_refused(code, err, "does not exist")
    assert listing(tmp_path) == ["reports"]


def test_ctrl_c_leaves_no_partial_output(ckpt, tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    # the files written so far sit in the staging folder, which must go too
    monkeypatch.setattr(report, "certificate_markdown", interrupted)
    code, _, err = run(["prune", str(ckpt), "--out", str(tmp_path / "o")], capsys)
    assert code == 130
    assert err.strip().splitlines() == [
        "mor prune: interrupted (Ctrl-C); no partial output was left"]
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_in_a_real_process_exits_130_with_one_line(tmp_path):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen(
        [sys.executable, "-m", "mor_cli.main", "reduce", "iss1R", "--ratios", "0:1:0.01",
         "--progress"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    try:
        lines = [child.stderr.readline()]  # "[1/N] ..." once the command runs
        assert "[1/" in lines[0], lines
        child.send_signal(signal.SIGINT)
        _, rest = child.communicate(timeout=60)
    finally:
        child.kill()
    code = child.returncode
    lines += rest.splitlines()
    assert code == 130, lines
    assert lines[-1] == "mor reduce: interrupted (Ctrl-C); no partial output was left"
    assert not any("Traceback" in line for line in lines)
    assert list(tmp_path.iterdir()) == []


def test_sigkill_leftovers_are_removed_by_the_next_run(ckpt, tmp_path, capsys):
    out = tmp_path / "o"
    script = (
        "import importlib.util, os, signal, sys\n"
        "from pathlib import Path\n"
        f"spec = importlib.util.spec_from_file_location('staging', {str(STAGING)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        f"with m.staged_directory(Path({str(out)!r})) as tmp:\n"
        "    (tmp / 'half.txt').write_text('half written')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    killed = subprocess.run([sys.executable, "-c", script], cwd=tmp_path)
    assert killed.returncode == -signal.SIGKILL
    (left,) = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert left.name.startswith(".o.mor-") and (left / "half.txt").is_file()
    # beside it: one of a live process (this one) and a look-alike without a marker
    alive = stale_folder(tmp_path, "o", os.getpid())
    lookalike = tmp_path / f".o.mor-{dead_pid()}-zzz.tmp"
    lookalike.mkdir()
    assert run(["prune", str(ckpt), "--out", str(out)], capsys)[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["o", alive.name, lookalike.name])


def test_backup_of_a_killed_replace_is_restored(tmp_path):
    """Killed between moving the old output aside and renaming the new one into place."""
    pid = dead_pid()
    backup = stale_folder(tmp_path, "out", pid, kind="old")
    (backup / "old").mkdir()
    (backup / "old" / "report.md").write_text("previous run")
    removed = _staging.remove_stale_staging(tmp_path)
    assert removed == [backup]
    assert (tmp_path / "out" / "report.md").read_text() == "previous run"
    assert listing(tmp_path) == ["out", "out/report.md"]


def test_long_runs_print_progress(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # core dependencies only: plain lines
    n = 200  # the size from which progress is shown by default
    poles = -np.linspace(0.1, 20.0, n)
    scipy.io.savemat(tmp_path / "big.mat", {"A": np.diag(poles), "B": np.ones((n, 1)),
                                            "C": np.ones((1, n))})
    code, _, err = run(["reduce", str(tmp_path / "big.mat"), "--methods", "aire,last",
                        "--ratios", "0.5"], capsys)
    assert code == 0, err
    lines = err.strip().splitlines()
    assert lines[0].startswith("mor reduce: [1/3] modal form") and "[3/3] last" in lines[2]
    assert lines[-1].startswith("mor reduce: 3 step(s) in")
    code, _, err = run(["verify", "build", "--ratios", "0.25,0.5", "--progress"], capsys)
    assert code == 0 and "mor verify: [2/2] aire at ratio 0.5" in err
    code, _, err = run(["reduce", "build", "--ratios", "0.5"], capsys)  # 48 states: quiet
    assert code == 0 and err == ""
