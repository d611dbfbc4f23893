"""Error analysis data (mor.reduction.error_analysis) and its figures (mor.plots)."""

from __future__ import annotations

import control
import numpy as np
import pytest

import mor
from mor import plots
from mor.exceptions import InputFileError
from mor.reduction import Reductor, error_analysis


@pytest.fixture(scope="module")
def build():
    return mor.load_benchmark("build")


def test_error_analysis_puts_each_bound_next_to_the_exact_error(build):
    analysis = error_analysis(build, orders=[2, 5, 10, 20])
    assert analysis.holds and analysis.resolved.all()
    assert np.all(analysis.effectivities <= 1.0)
    bounds = Reductor(build).error_bounds()
    assert analysis.bounds == pytest.approx(bounds[analysis.achieved], rel=1e-12)
    for r, err in zip(analysis.orders, analysis.errors, strict=True):
        assert err == pytest.approx(mor.hinf_norm(build - mor.reduce(build, order=int(r))),
                                    rel=1e-9)
    assert 0 < analysis.resolution < 1e-12 * mor.hinf_norm(build) * 1e4
    data = analysis.to_dict()
    assert data["holds"] is True and len(data["effectivities"]) == 4


def test_modal_error_analysis_measures_the_removed_units_exactly(build):
    analysis = error_analysis(build, "aire", orders=[4, 12])
    assert analysis.resolution == 0.0 and analysis.holds
    modal = mor.ModalSystem.from_statespace(build)
    reduced = mor.reduce(build, "aire", order=12)
    assert analysis.errors[1] == pytest.approx(mor.hinf_norm(modal - reduced), rel=1e-7)


def test_error_analysis_of_an_unstable_system():
    A = np.diag([-1.0, -2.0, -3.0, -7.0, 0.3])
    sys = control.ss(A, np.ones((5, 1)), np.arange(1.0, 6.0)[None, :], 0)
    with pytest.warns(mor.UnstableModeWarning):
        analysis = error_analysis(sys, orders=[1, 2, 3])
    assert analysis.achieved.tolist() == [1, 2, 3] and analysis.holds
    assert np.all(np.isfinite(analysis.errors))


def test_figures_are_written_in_each_format(build, tmp_path):
    reduced, info = mor.reduce(build, order=8, return_info=True)
    red = Reductor(build)
    analysis = error_analysis(build, orders=[2, 8])
    for fmt in plots.FIGURE_FORMATS:
        paths = [
            plots.sigma_plot(tmp_path / "sigma", build, reduced, bound=info.bound, fmt=fmt),
            plots.hankel_plot(tmp_path / "hankel", red.hankel_singular_values(),
                              red.error_bounds(), order=8, tol=1e-3, fmt=fmt),
            plots.error_analysis_plot(tmp_path / "analysis", analysis, fmt=fmt),
        ]
        assert all(p.suffix == f".{fmt}" and p.stat().st_size > 1000 for p in paths)
    assert len(list(tmp_path.iterdir())) == 9  # no temporary file left behind
    head = (tmp_path / "sigma.pdf").read_bytes()[:5]
    assert head == b"%PDF-"


def test_a_discrete_time_sigma_plot_stops_at_nyquist(tmp_path):
    sys = control.c2d(control.ss(mor.load_benchmark("build")), 0.05)
    w = plots.frequency_grid(sys)
    assert w[-1] == pytest.approx(np.pi / 0.05) and np.all(np.diff(w) > 0)
    plots.sigma_plot(tmp_path / "dt.png", sys, mor.reduce(sys, order=6))


def test_unknown_figure_format_is_refused(tmp_path):
    fig, _ = plots.new_figure(figsize=(2, 2))
    with pytest.raises(InputFileError, match="png, pdf, svg"):
        plots.save_figure(fig, tmp_path / "x.jpg")
    assert list(tmp_path.iterdir()) == []
