"""Report figures (issue 14, point 9) and the report's speed-up and recommendation logic.

Figures are checked through the Figure object handed to the writer (monkeypatched), so the
tests read titles, legends and marker styles instead of pixels.
"""

from __future__ import annotations

import numpy as np
import pytest

from ssm_bridge import pipeline as pl
from ssm_bridge import plots
from ssm_bridge.config import S4DConfig, S5Config


@pytest.fixture
def figures(monkeypatch):
    """Figures passed to the writer, in order (nothing is rendered)."""
    seen = []

    def keep(fig, path, fmt=None):
        seen.append(fig)
        return path

    monkeypatch.setattr(plots, "_save", keep)
    return seen


def test_identical_curves_are_grouped():
    curves = {"aire": [1, 0.9], "last": [1, 0.5], "global_hinf": [1, 0.5], "random": [1, 0.4]}
    assert plots.coincident_groups(curves) == [["aire"], ["last", "global_hinf"], ["random"]]


def test_accuracy_figure_has_a_zoom_grouped_legend_and_no_hidden_curve(figures):
    ratios = [0.0, 0.1, 0.2, 0.3, 0.4]
    acc = {"aire": [0.98, 0.98, 0.975, 0.9, 0.5], "last": [0.98, 0.97, 0.6, 0.3, 0.2],
           "global_hinf": [0.98, 0.97, 0.6, 0.3, 0.2], "uniform_hinf": [0.98, 0.9, 0.5, 0.2, 0.1],
           "random": [0.98, 0.8, 0.4, 0.2, 0.1]}
    plots.accuracy_vs_ratio("a.png", ratios, acc, 0.98, title="t", points=1.0,
                            largest={"aire": 0.2, "last": 0.1, "global_hinf": 0.1,
                                     "uniform_hinf": 0.0, "random": 0.0})
    (fig,) = figures
    whole, zoom = fig.axes[:2]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "  last = global_hinf" in labels  # drawn once, named together
    assert labels.index("the papers' methods") < labels.index("uniform baselines") < \
        labels.index("other")
    assert whole.get_ylim()[0] == 0
    lo, hi = zoom.get_ylim()
    assert 98 - 4 < lo < 98 - 1 and 98 < hi <= 100.5  # the ±1-point band fills the zoom
    assert len(whole.get_lines()) == 4 + 1  # four distinct curves and the full model


def test_certificate_figure_draws_published_forms_apart_and_relative_errors(figures):
    panels = {"aire at 0.5": {"exact H∞ error": [1.0, 2.0], "modal_triangle": [3.0, 4.0],
                              "last_eq4_published (published form)": [0.5, 2.5]}}
    plots.certificates("c.png", panels, title="t", scales={"aire at 0.5": [10.0, 20.0]})
    (fig,) = figures
    top, bottom = fig.axes[:2]
    published = [c for c in top.collections if "not proved" in c.get_label()]
    proved = [c for c in top.collections if c.get_label().endswith(": proved")]
    assert len(published) == 1 and len(proved) == 1
    assert published[0].get_facecolors().size == 0  # hollow
    assert proved[0].get_facecolors().size > 0
    exact_rel = next(c for c in bottom.collections if c.get_label().startswith("exact"))
    assert exact_rel.get_offsets()[:, 1].tolist() == pytest.approx([0.1, 0.1])


def test_pole_titles_count_units_as_the_tables_do(figures):
    poles = np.array([0.9 + 0.1j, 0.9 - 0.1j, 0.5])
    kept = np.array([True, True, False])
    plots.poles("p.png", [(poles, kept)], title="t", units=[(1, 2)])
    title = figures[0].axes[0].get_title()
    assert title.startswith("layer 0: 1 of 2 units kept") and "(2 of 3 poles)" in title


def test_speedup_marks_padding_and_shows_spread_only_where_timed(figures):
    plots.speedup("s.png", [0.2, 0.5], [1.0, 1.4], spread=([1.0, 1.3], [1.0, 1.6]),
                  unchanged=[True, False], title="t")
    ax = figures[0].axes[0]
    bars = ax.patches
    assert bars[0].get_hatch() == "//" and not bars[1].get_hatch()
    texts = [t.get_text() for t in ax.texts]
    assert any("padding" in t for t in texts[:1]) and "padding" not in texts[1]
    plots.speedup("s.png", [0.2], [1.0], spread=([1.0], [1.0]), unchanged=[True], title="t")
    assert "run-to-run range" not in figures[1].axes[0].get_legend_handles_labels()[1]


def test_computed_state_sizes_follow_the_padding():
    s5 = S5Config(d_model=4, n_layers=2, state_sizes=(11, 16), d_input=1, n_classes=2)
    assert pl.computed_state_sizes(s5) == [16, 16]
    assert pl.computed_state_sizes(s5.with_state_sizes((8, 9))) == [8, 16]
    s4d = S4DConfig(d_model=4, n_layers=1, state_sizes=(3,), d_input=1, n_classes=2)
    assert pl.computed_state_sizes(s4d) == [12]


def test_the_recommendation_prefers_validation_and_names_the_command():
    largest = {"aire": 0.3, "last": 0.3, "random": 0.5, "lamp": 0.4}
    validation = {"chosen_ratio": {"aire": 0.25, "last": 0.2, "random": 0.5, "lamp": 0.2}}
    rec = pl.recommend("s5_digits", ["aire", "last", "random", "lamp"], largest, validation, 1.0)
    assert rec["method"] == "aire" and rec["ratio"] == 0.25 and rec["ratio_source"] == "validation"
    assert rec["commands"][0] == "mor prune s5_digits --method aire --ratio 0.25 --out pruned/"
    rec = pl.recommend("my model", ["aire", "last"], {"aire": 0.3, "last": 0.3}, {}, 1.0)
    assert rec["ratio_source"] == "test" and "'my model'" in rec["commands"][0]
    rec = pl.recommend("x", ["aire"], {"aire": 0.0}, {}, 1.0)
    assert rec["ratio"] == 0.0 and "--finetune" in rec["commands"][0]
    md = pl.recommendation_markdown(rec)
    assert md[0] == "## What to do next" and md[-1] == "```"


def test_the_prune_report_ends_with_what_to_do():
    over = {"over_budget": True, "drop_points": 90.0, "points": 1.0, "method": "aire",
            "suggested_ratio": 0.2, "validation_examples": 287,
            "commands": ["mor prune s5_digits --method aire --ratio 0.2 --out DIR"]}
    text = "\n".join(pl._advice_markdown(over))
    assert "more than the 1 point(s) allowed" in text and "--ratio 0.2" in text
    fine = {"over_budget": False, "drop_points": 0.3, "points": 1.0}
    assert "ready to use" in "\n".join(pl._advice_markdown(fine))


def test_the_demo_says_where_balanced_truncation_beats_the_modal_methods():
    rows = [{"method": "aire", "ratio": 0.5, "exact_hinf": 0.026},
            {"method": "last", "ratio": 0.5, "exact_hinf": 0.007},
            {"method": "balanced_truncation", "ratio": 0.5, "exact_hinf": 0.0024},
            {"method": "aire", "ratio": 0.9, "exact_hinf": 1.0},
            {"method": "balanced_truncation", "ratio": 0.9, "exact_hinf": 2.0}]
    lines = pl.linear_verdict(rows)
    assert lines[0] == ("- ratio 0.5: balanced truncation beats the best modal method (last) "
                        "by a factor 2.92 in exact H∞ error.")
    assert lines[1].startswith("- ratio 0.9: the modal method aire beats balanced truncation")


def test_the_reference_ratio_is_evaluated_where_asked():
    assert 0.37 in pl.compare_grid([0.0, 0.25, 0.5], 0.37)  # never moved to 0.25 or 0.5


def test_prune_says_all_is_for_compare(tmp_path):
    from mor.exceptions import UnknownMethodError

    with pytest.raises(UnknownMethodError, match=r"compare_checkpoint\(methods='all'\)"):
        pl.prune_checkpoint("s5_digits", "all", 0.5, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []
