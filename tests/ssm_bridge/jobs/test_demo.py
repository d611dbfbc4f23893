"""The demo job: refusals before any work, replacing only its own report, and what ``--full``
adds."""

from __future__ import annotations

import pytest

from ssm_bridge import jobs
from ssm_bridge.jobs import demo as demo_job
from ssm_bridge.jobs.resolve import available_bundled, bundled_names


def test_demo_without_bundled_checkpoints_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(demo_job, "available_bundled", lambda: ())
    if not bundled_names():
        pytest.skip("ssm_bridge.bundled is not installed")
    with pytest.raises(jobs.JobError, match="train_bundled"):
        jobs.run_demo(tmp_path / "demo")
    assert list(tmp_path.iterdir()) == []


def test_demo_refuses_a_foreign_directory(tmp_path):
    if not available_bundled():
        pytest.skip("no bundled checkpoint file yet")
    out = tmp_path / "mine"
    out.mkdir()
    with pytest.raises(jobs.OutputExistsError):
        jobs.run_demo(out)
    assert list(out.iterdir()) == []


# ---------------------------------------------------------------------- mor demo --full
@pytest.fixture
def quick_demo(monkeypatch):
    """The demo with a fake compare and benchmark; ``s4d_digits`` stands for the paper-shaped
    checkpoints.  Returns the names compared, in order."""
    from ssm_bridge import bundled

    if "s4d_digits" not in available_bundled():
        pytest.skip("the bundled checkpoint s4d_digits is not installed")
    compared = []

    def fake_compare(res, target, **kwargs):
        compared.append(res.label)
        (target / "report.md").write_text("fake")
        return jobs.CompareResult(target, target / "report.md", res.label, "digits", 1.0, 0.0,
                                  ("aire",), (0.0,), None, None, (), {"aire": 0.0}, [], {}, ())

    monkeypatch.setattr(bundled, "PAPER_SHAPED", ("s4d_digits",), raising=False)
    monkeypatch.setattr(demo_job, "compare_into", fake_compare)
    monkeypatch.setattr(demo_job, "resolve_checkpoint", lambda name: jobs.ResolvedCheckpoint(
        name, None, None, None, "digits"))
    monkeypatch.setattr(demo_job, "verify_benchmark", lambda *a: (
        type("Benchmark", (), {"nstates": 4})(), [], []))
    return compared


def test_demo_full_flag_is_parsed():
    from mor_cli.main import build_parser

    assert build_parser().parse_args(["demo", "--full"]).full is True
    assert build_parser().parse_args(["demo"]).full is False


def test_demo_full_adds_the_paper_shaped_checkpoints(quick_demo, tmp_path, capsys):
    from mor_cli.main import main

    out = tmp_path / "full"
    assert main(["demo", "--full", "--checkpoints", "s5_digits", "--out", str(out),
                 "--no-progress"]) == 0
    assert quick_demo == ["s5_digits", "s4d_digits"]
    assert (out / "s4d_digits" / "report.md").is_file()
    assert "(s4d_digits) were compared too" in (out / "report.md").read_text()


def test_default_demo_leaves_out_the_paper_shaped_and_names_full(quick_demo, tmp_path, capsys):
    from mor_cli.main import main

    out = tmp_path / "default"
    assert main(["demo", "--out", str(out), "--no-progress"]) == 0
    assert "s4d_digits" not in quick_demo and "s5_digits" in quick_demo
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert "mor demo --full" in last and "s4d_digits" in last
    assert "`mor demo --full` also compares" in (out / "report.md").read_text()


def test_demo_replaces_its_own_report_only(tmp_path, monkeypatch):
    """The demo's folder is replaced by the next demo; any other folder needs --force."""
    calls = []

    def fake_compare(res, target, **kwargs):
        calls.append(res.label)
        (target / "report.md").write_text("fake")
        return jobs.CompareResult(target, target / "report.md", res.label, "digits", 1.0, 0.0,
                                ("aire",), (0.0,), None, None, (), {"aire": 0.0}, [], {}, ())

    monkeypatch.setattr(demo_job, "compare_into", fake_compare)
    monkeypatch.setattr(demo_job, "available_bundled", lambda: ("s5_digits",))
    monkeypatch.setattr(demo_job, "resolve_checkpoint", lambda name: jobs.ResolvedCheckpoint(
        name, None, None, None, "digits"))
    out = tmp_path / "demo"
    result = jobs.run_demo(out, names=["s5_digits"], verify_ratios=(0.5,),
                         verify_methods=("aire",))
    assert (out / ".mor-demo").is_file() and (out / "s5_digits" / "report.md").is_file()
    assert result.report_path.read_text().startswith("# `mor demo`")
    (out / "stale.txt").write_text("old")
    jobs.run_demo(out, names=["s5_digits"], verify_ratios=(0.5,), verify_methods=("aire",))
    assert not (out / "stale.txt").exists()
    assert calls == ["s5_digits", "s5_digits"]
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    with pytest.raises(jobs.OutputExistsError):
        jobs.run_demo(foreign, names=["s5_digits"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo", "foreign"]
