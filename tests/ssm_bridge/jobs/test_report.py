"""The job reports (ssm_bridge/jobs/report.py): what a prune report advises, and where the
demo says balanced truncation beats the modal methods."""

from __future__ import annotations

from ssm_bridge.jobs import report


def test_the_prune_report_ends_with_what_to_do():
    over = {"over_budget": True, "drop_points": 90.0, "points": 1.0, "method": "aire",
            "suggested_ratio": 0.2, "validation_examples": 287,
            "commands": ["mor prune s5_digits --method aire --ratio 0.2 --out DIR"]}
    text = "\n".join(report.advice_markdown(over))
    assert "more than the 1 point(s) allowed" in text and "--ratio 0.2" in text
    fine = {"over_budget": False, "drop_points": 0.3, "points": 1.0}
    assert "ready to use" in "\n".join(report.advice_markdown(fine))


def test_the_demo_says_where_balanced_truncation_beats_the_modal_methods():
    rows = [{"method": "aire", "ratio": 0.5, "exact_hinf": 0.026},
            {"method": "last", "ratio": 0.5, "exact_hinf": 0.007},
            {"method": "balanced_truncation", "ratio": 0.5, "exact_hinf": 0.0024},
            {"method": "aire", "ratio": 0.9, "exact_hinf": 1.0},
            {"method": "balanced_truncation", "ratio": 0.9, "exact_hinf": 2.0}]
    lines = report.linear_verdict(rows)
    assert lines[0] == ("- ratio 0.5: balanced truncation beats the best modal method (last) "
                        "by a factor 2.92 in exact H∞ error.")
    assert lines[1].startswith("- ratio 0.9: the modal method aire beats balanced truncation")
