"""Error plots a control researcher expects, for one reduced linear system.

The data come from :mod:`mor.reduction` (:func:`~mor.reduction.error_analysis`,
:meth:`~mor.reduction.Reductor.error_bounds`); these functions only draw them, as pyMOR
separates ``reduction_error_analysis`` from its plot.

============================== ==================================================================
function                       figure
============================== ==================================================================
:func:`sigma_plot`             singular values of G and of G − G_r against frequency (as
                               ``control.singular_values_plot``), with the certified bound
:func:`hankel_plot`            Hankel singular values and the bound ``2 Σ_{i>r} σ_i`` against
                               the order r
:func:`error_analysis_plot`    certificate against the exact error per order, and their ratio
============================== ==================================================================

Figures are :class:`matplotlib.figure.Figure` objects rendered without ``pyplot`` (no global
state, no display).  matplotlib is a dependency of python-control, so this module needs
nothing beyond the core; it is imported on first use only.  :func:`save_figure` (PNG, PDF or
SVG, 200 dpi) is shared with :mod:`ssm_bridge.plots`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from mor._files import check_path
from mor._lti import as_statespace
from mor.exceptions import InputFileError
from mor.systems import ModalSystem

__all__ = [
    "FIGURE_FORMATS",
    "PAPER_DPI",
    "error_analysis_plot",
    "frequency_grid",
    "hankel_plot",
    "new_figure",
    "save_figure",
    "sigma_plot",
]

FIGURE_FORMATS: tuple[str, ...] = ("png", "pdf", "svg")
"""Formats :func:`save_figure` writes (PDF and SVG are vector graphics for papers)."""

PAPER_DPI = 200
"""Resolution of raster figures (PNG), enough for print."""


def new_figure(rows: int = 1, cols: int = 1, *, figsize, **kwargs):
    """A ``Figure`` and its axes with constrained layout (nothing clipped, no pyplot).

    Parameters
    ----------
    rows, cols : int
    figsize : (float, float)
        Inches.
    **kwargs
        Passed to ``Figure.subplots`` (``squeeze``, ``sharey`` ...).

    Returns
    -------
    fig : `matplotlib.figure.Figure`
    axes : Axes or array of Axes
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(rows, cols, **kwargs)


def save_figure(fig, path: str | os.PathLike, *, fmt: str | None = None,
                dpi: int = PAPER_DPI) -> Path:
    """Write ``fig`` as PNG, PDF or SVG; the suffix of ``path`` follows ``fmt``.

    Parameters
    ----------
    fig : `matplotlib.figure.Figure`
    path : str or path-like
        The file; with ``fmt`` given, its suffix is replaced by ``.fmt``.
    fmt : {"png", "pdf", "svg"}, optional
        Default: the suffix of ``path`` (``png`` when it has none).
    dpi : int
        Resolution of the PNG (default :data:`PAPER_DPI`).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputFileError
        An unknown format.
    """
    path = check_path(path)
    fmt = (fmt or path.suffix.lstrip(".") or "png").lower()
    if fmt not in FIGURE_FORMATS:
        raise InputFileError(
            f"figure format {fmt!r}; choose one of {', '.join(FIGURE_FORMATS)}")
    path = path.with_suffix(f".{fmt}")
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        # Agg renders PNG; pdf and svg have their own backends, chosen by format
        fig.savefig(tmp, dpi=dpi, format=fmt, metadata={"Date": None} if fmt != "png" else None)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _statespace(sys):
    return sys.to_statespace() if isinstance(sys, ModalSystem) else as_statespace(sys)


def frequency_grid(sys, num: int = 400) -> np.ndarray:
    """Angular frequencies that show the dynamics of ``sys``.

    Parameters
    ----------
    sys : `StateSpace`, `TransferFunction` or ModalSystem
    num : int

    Returns
    -------
    ndarray, shape (num,)
        CT: log-spaced from a tenth of the slowest pole's magnitude to ten times the
        fastest's; DT: log-spaced up to the Nyquist frequency ``π/dt``.
    """
    ss = _statespace(sys)
    if ss.isdtime(strict=True):
        nyquist = math.pi / (1.0 if ss.dt is True else float(ss.dt))
        return np.geomspace(nyquist * 1e-4, nyquist, num)
    mags = np.abs(np.linalg.eigvals(np.asarray(ss.A))) if ss.nstates else np.array([1.0])
    mags = mags[mags > 0] if np.any(mags > 0) else np.array([1.0])
    return np.geomspace(mags.min() / 10, mags.max() * 10, num)


def _singular_values(sys, omega: np.ndarray) -> np.ndarray:
    """σ(G(jω)) descending per frequency, shape (min(p, m), len(omega))."""
    if isinstance(sys, ModalSystem):
        resp = sys.frequency_response(omega)
    else:
        import control

        resp = np.asarray(control.frequency_response(sys, omega).complex)
        resp = resp.reshape(sys.noutputs, sys.ninputs, omega.size)
    return np.linalg.svd(np.moveaxis(resp, -1, 0), compute_uv=False).T


def _freq_label(ss) -> str:
    return "frequency ω (rad/s)" if ss.isctime(strict=True) else \
        "frequency ω (rad per time unit; Nyquist at the right edge)"


def _label_axes(ax, xlabel: str, ylabel: str, title: str) -> None:
    """Axis labels, a light major grid, the legend and the title of one panel."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best", frameon=False)
    ax.set_title(title)


def sigma_plot(path: str | os.PathLike, sys, reduced, *, bound: float | None = None,
               omega=None, title: str = "", fmt: str | None = None) -> Path:
    """Singular values of G, G_r and G − G_r against frequency, with the certified bound.

    Parameters
    ----------
    path : str or path-like
        The figure file.
    sys, reduced : `StateSpace`, `TransferFunction` or ModalSystem
        The full and the reduced system.
    bound : float, optional
        Certified bound on ``‖G − G_r‖∞`` (drawn as a dashed line: the error curve stays
        below it at every frequency).
    omega : array_like, optional
        Frequencies; default :func:`frequency_grid`.
    title : str
        Default: the two orders.
    fmt : {"png", "pdf", "svg"}, optional
        As in :func:`save_figure`.

    Returns
    -------
    Path
        The file written.
    """
    full, red = _statespace(sys), _statespace(reduced)
    w = frequency_grid(full) if omega is None else np.asarray(omega, dtype=np.float64)
    g, gr = _singular_values(full, w), _singular_values(red, w)
    err = _singular_values(full - red, w)
    floor = np.finfo(float).tiny
    fig, ax = new_figure(figsize=(6.4, 4.2))
    ax.loglog(w, np.maximum(g[0], floor), color="black", label="σ_max(G)")
    if g.shape[0] > 1:
        ax.loglog(w, np.maximum(g[-1], floor), color="black", linestyle=":", linewidth=1.1,
                  label="σ_min(G)")
    ax.loglog(w, np.maximum(gr[0], floor), color="tab:blue", linestyle="--", linewidth=1.3,
              label=f"σ_max(G_r), {red.nstates} states")
    ax.loglog(w, np.maximum(err[0], floor), color="tab:red", label="σ_max(G − G_r)")
    if bound is not None and np.isfinite(bound) and bound > 0:
        ax.axhline(bound, color="tab:red", linestyle="--", linewidth=1.1,
                   label=f"certified bound {bound:.3g}")
    _label_axes(ax, _freq_label(full), "singular value",
                title or f"Singular values: {full.nstates} → {red.nstates} states")
    return save_figure(fig, path, fmt=fmt)


def hankel_plot(path: str | os.PathLike, hsv, bounds, *, order: int | None = None,
                tol: float | None = None, unstable_states: int = 0,
                other_bounds: dict | None = None, title: str = "",
                fmt: str | None = None) -> Path:
    """Hankel singular values σ_i and the balanced-truncation bound against the order.

    Parameters
    ----------
    path : str or path-like
    hsv : array_like
        Hankel singular values of the stable part, descending.
    bounds : array_like, shape (nstates + 1,)
        Certified bound per order r (``inf`` below the unstable part), as
        :meth:`~mor.reduction.Reductor.error_bounds` returns: drawn against r.
    order : int, optional
        The chosen order (a vertical line).
    tol : float, optional
        The error allowed (a horizontal line).
    unstable_states : int
        States of the part kept whole; σ_i is drawn at ``unstable_states + i`` so that both
        series share the order axis.
    other_bounds : dict label → array_like, optional
        More per-order bounds to compare (e.g. a modal method's).
    title : str
    fmt : {"png", "pdf", "svg"}, optional

    Returns
    -------
    Path
    """
    hsv = np.asarray(hsv, dtype=np.float64)
    fig, ax = new_figure(figsize=(6.4, 4.2))
    idx = unstable_states + np.arange(1, hsv.size + 1)
    positive = hsv > 0
    ax.semilogy(idx[positive], hsv[positive], "o", markersize=3.5, color="black",
                label="Hankel singular value σ_i (at i)")
    r = np.arange(len(bounds))
    for label, values, style in [("2 Σ_{i>r} σ_i (balanced truncation)", bounds, "-"),
                                 *[(k, v, "--") for k, v in (other_bounds or {}).items()]]:
        vals = np.asarray(values, dtype=np.float64)
        keep = np.isfinite(vals) & (vals > 0)
        ax.semilogy(r[keep], vals[keep], style, drawstyle="steps-post", label=label)
    if order is not None:
        ax.axvline(order, color="tab:green", linewidth=1.1, label=f"chosen order {order}")
    if tol is not None:
        ax.axhline(tol, color="tab:red", linestyle=":", linewidth=1.1, label=f"tol {tol:g}")
    if unstable_states:
        ax.axvspan(0, unstable_states, color="gray", alpha=0.15,
                   label=f"unstable part ({unstable_states} states, kept)")
    _label_axes(ax, "order r (states kept) / index i", "σ_i and error bound",
                title or "Hankel singular values and the error bound per order")
    return save_figure(fig, path, fmt=fmt)


def error_analysis_plot(path: str | os.PathLike, analysis, *, title: str = "",
                        fmt: str | None = None) -> Path:
    """Certificate against exact ``‖G − G_r‖∞`` per order, and the ratio exact / bound.

    Parameters
    ----------
    path : str or path-like
    analysis : mor.reduction.ErrorAnalysis
    title : str
    fmt : {"png", "pdf", "svg"}, optional

    Returns
    -------
    Path
    """
    a = analysis
    fig, (ax, eff) = new_figure(1, 2, figsize=(9.6, 3.9), width_ratios=(3, 2))
    orders = a.achieved
    ok = a.bounds > 0
    ax.semilogy(orders[ok], a.bounds[ok], "o-", color="tab:blue", label="certified bound")
    shown = a.errors > 0
    ax.semilogy(orders[shown], a.errors[shown], "*", markersize=9, color="black",
                label="exact ‖G − G_r‖∞")
    if a.resolution > 0:
        ax.axhspan(ax.get_ylim()[0], 2 * a.resolution, color="gray", alpha=0.2,
                   label=f"round-off floor ({2 * a.resolution:.2g})")
    _label_axes(ax, "order r (states kept)", "‖G − G_r‖∞", f"{a.method}: bound and exact error")
    resolved = a.resolved & ok
    eff.plot(orders[resolved], a.effectivities[resolved], "s-", color="tab:purple",
             label="exact / bound")
    eff.axhline(1.0, color="tab:red", linestyle="--", linewidth=1.1, label="1 (bound met)")
    eff.set_ylim(0, max(1.1, float(np.nanmax(a.effectivities[resolved], initial=0)) * 1.1))
    _label_axes(eff, "order r (states kept)", "exact error / bound",
                "how tight the certificate is")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path, fmt=fmt)
