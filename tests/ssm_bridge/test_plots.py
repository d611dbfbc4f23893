"""Report figures (issue 14, point 9): grouped curves, legends, certificates, poles, speed-up.

Figures are checked through the Figure object handed to the writer (monkeypatched), so the
tests read titles, legends and marker styles instead of pixels.
"""

from __future__ import annotations

import numpy as np
import pytest

from ssm_bridge import plots


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
