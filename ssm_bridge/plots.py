"""Figures of the main job's reports (matplotlib, Agg backend: no display needed).

Figures are built as :class:`matplotlib.figure.Figure` objects and rendered by the Agg
backend, without ``pyplot``: importing this module changes no global matplotlib state.

Every function takes plain numbers (numpy arrays, dicts, lists), writes one figure and returns
its path; none of them reads a model, so the report code and these figures can be tested
apart.  Figures follow the papers' experiments:

========================== ===============================================================
function                   figure
========================== ===============================================================
:func:`accuracy_vs_ratio`  accuracy against pruning ratio per method (aire-prune Fig. 4,
                           last Fig. 2)
:func:`kept_fraction`      kept fraction per layer against the global ratio (aire-prune
                           Fig. 5)
:func:`poles`              kept and pruned poles in the complex plane (last Fig. 4)
:func:`sorted_energies`    per-layer sorted mode energies with the chosen cut (the elbow)
:func:`certificates`       certificate bounds against exact H∞ errors per layer
:func:`speedup`            inference speed-up of dimension-reduced models
========================== ===============================================================

Every figure function takes ``path`` (path-like: the file to write), ``title`` (keyword:
the figure's title) and ``fmt`` (``"png"``, ``"pdf"`` or ``"svg"``; default the suffix of
``path``), writes PNGs at :data:`mor.plots.PAPER_DPI` (200) dpi through
:func:`mor.plots.save_figure` (atomic), and returns the :class:`~pathlib.Path` written;
their docstrings document the other parameters.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from mor.plots import save_figure

__all__ = [
    "METHOD_GROUPS",
    "accuracy_vs_ratio",
    "certificates",
    "coincident_groups",
    "kept_fraction",
    "method_group",
    "method_style",
    "poles",
    "sorted_energies",
    "speedup",
]

METHOD_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("the papers' methods", ("aire", "last")),
    ("data-calibrated", ("aire_calibrated", "balanced_truncation_calibrated")),
    ("global baselines", ("global_hinf", "global_energy", "global_magnitude", "lamp")),
    ("uniform baselines", ("uniform_hinf", "uniform_energy", "uniform_magnitude")),
    ("other", ("balanced_truncation", "random")),
)
"""Legend groups of :func:`accuracy_vs_ratio`, in order; unknown methods go to "other"."""

_GROUP_STYLE = {
    "the papers' methods": {"linewidth": 2.6, "marker": "o", "markersize": 5, "zorder": 6},
    "data-calibrated": {"linewidth": 2.0, "marker": "D", "markersize": 4, "zorder": 5},
    "global baselines": {"linewidth": 1.3, "marker": "^", "markersize": 4, "zorder": 4},
    "uniform baselines": {"linewidth": 1.3, "marker": "v", "markersize": 4, "linestyle": "--",
                          "zorder": 3},
    "other": {"linewidth": 1.3, "marker": "s", "markersize": 3.5, "linestyle": "-.",
              "zorder": 2},
}
_COLORS = {"aire": "tab:blue", "last": "tab:orange", "aire_calibrated": "tab:cyan",
           "balanced_truncation_calibrated": "tab:olive", "global_hinf": "tab:green",
           "global_energy": "tab:purple", "global_magnitude": "tab:brown", "lamp": "tab:pink",
           "uniform_hinf": "tab:green", "uniform_energy": "tab:purple",
           "uniform_magnitude": "tab:brown", "balanced_truncation": "black",
           "random": "tab:gray"}


def method_group(method: str) -> str:
    """The legend group of a method (:data:`METHOD_GROUPS`)."""
    for group, members in METHOD_GROUPS:
        if method in members:
            return group
    return "other"


def method_style(method: str, index: int) -> dict:
    """Line style of a method: its group sets width, marker and dash; AIRE and LAST stand out.

    Parameters
    ----------
    method : str
    index : int
        Position among the methods drawn (colour of a method without a fixed colour).

    Returns
    -------
    dict
        Keyword arguments of ``Axes.plot``.
    """
    style = dict(_GROUP_STYLE[method_group(method)])
    style["color"] = _COLORS.get(method, colormaps["tab10"](index % 10))
    return style


def _subplots(rows: int = 1, cols: int = 1, *, figsize, **kwargs):
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(rows, cols, **kwargs)


def _save(fig: Figure, path: str | os.PathLike, fmt: str | None = None) -> Path:
    return save_figure(fig, path, fmt=fmt)


def _finish(fig: Figure, title: str, path: str | os.PathLike, fmt: str | None) -> Path:
    """Give ``fig`` its title and write it; the path written."""
    fig.suptitle(title)
    return _save(fig, path, fmt)


def coincident_groups(curves: Mapping[str, Sequence[float]]) -> list[list[str]]:
    """Methods whose curves are identical, grouped (first appearance order).

    Parameters
    ----------
    curves : dict method → sequence of float

    Returns
    -------
    list of list of str
        Each inner list holds methods with exactly equal values; a method on its own is a
        group of one.
    """
    groups: list[list[str]] = []
    keys: list[np.ndarray] = []
    for method, values in curves.items():
        arr = np.asarray(values, dtype=float)
        for k, key in enumerate(keys):
            if key.shape == arr.shape and np.array_equal(key, arr, equal_nan=True):
                groups[k].append(method)
                break
        else:
            groups.append([method])
            keys.append(arr)
    return groups


def _grid(n: int, max_cols: int = 4) -> tuple[int, int]:
    cols = min(n, max_cols)
    return -(-n // cols), cols


def accuracy_vs_ratio(
    path: str | os.PathLike,
    ratios: Sequence[float],
    accuracies: Mapping[str, Sequence[float]],
    full_accuracy: float,
    *,
    title: str,
    points: float = 1.0,
    largest: Mapping[str, float] | None = None,
    fmt: str | None = None,
) -> Path:
    """Test accuracy (%) against pruning ratio (%): the whole range and a zoom on the budget.

    Left, 0–100 %; right, a zoom around the full model's accuracy, where the "within
    ``points``" decision is made (the band ``[full − points, full]`` shaded).  Methods with
    identical curves are drawn once, labelled ``a = b = …`` (nothing hides under another
    line); methods are grouped in the legend (the papers' methods, global and uniform
    baselines, other) and styled by group.

    Parameters
    ----------
    ratios : sequence of float
        Pruning ratios in [0, 1].
    accuracies : dict method → sequence of float
        Accuracy (fraction) per ratio.
    full_accuracy : float
        Accuracy (fraction) of the unpruned model.
    points : float
        Tolerance in percentage points.
    largest : dict method → float, optional
        The largest ratio within ``points`` per method, marked on the zoom.
    """
    x = 100 * np.asarray(ratios, dtype=float)
    full = 100 * full_accuracy
    fig, (ax, zoom) = _subplots(1, 2, figsize=(13.0, 5.2), width_ratios=(1, 1))
    groups = coincident_groups(accuracies)
    order = {m: i for i, m in enumerate(accuracies)}
    group_rank = {g: k for k, (g, _) in enumerate(METHOD_GROUPS)}
    groups.sort(key=lambda ms: (min(group_rank[method_group(m)] for m in ms),
                                min(order[m] for m in ms)))
    handles: dict[str, list] = {}
    for members in groups:
        lead = min(members, key=lambda m: (group_rank[method_group(m)], order[m]))
        style = method_style(lead, order[lead])
        label = " = ".join(members)
        y = 100 * np.asarray(accuracies[lead], dtype=float)
        for axis in (ax, zoom):
            (line,) = axis.plot(x, y, label=label, **style)
        handles.setdefault(method_group(lead), []).append(line)
    for axis in (ax, zoom):
        axis.axhline(full, color="black", linestyle="--", linewidth=1)
        axis.axhspan(full - points, full, color="gold", alpha=0.25, zorder=0)
        axis.set_xlabel("pruning ratio (% of state units removed)")
        axis.grid(True, alpha=0.3)
        axis.set_xlim(x.min() - 2, x.max() + 2)
    if largest:
        for members in groups:
            lead = members[0]
            r = largest.get(lead)
            if r is None or r <= 0:
                continue
            j = int(np.argmin(np.abs(np.asarray(ratios) - r)))
            zoom.plot(100 * r, 100 * float(accuracies[lead][j]), marker="*", markersize=13,
                      color=method_style(lead, order[lead])["color"], markeredgecolor="black",
                      zorder=10, linestyle="none")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(bottom=0, top=max(100.0, full + 2))
    ax.set_title("whole range")
    span = max(3 * points, 2.0)
    zoom.set_ylim(full - span, min(full + max(points, 0.5), 100.5))
    # x: up to a little past the largest ratio any method keeps within the band
    inside = [100 * r for r in (largest or {}).values() if r is not None]
    step = float(np.min(np.diff(np.unique(x)))) if np.unique(x).size > 1 else 5.0
    zoom.set_xlim(x.min() - 1, min(x.max(), max(inside, default=x.max()) + 3 * step) + 1)
    zoom.set_ylabel("test accuracy (%), zoom")
    zoom.set_title(f"zoom: the band within {points:g} point of the full model"
                   + (" (★ largest ratio in it)" if largest else ""))
    legend_handles, legend_labels = [], []
    blank = Line2D([], [], linestyle="none")
    for group, _ in METHOD_GROUPS:
        if group not in handles:
            continue
        legend_handles.append(blank)
        legend_labels.append(group)
        for line in handles[group]:
            legend_handles.append(line)
            legend_labels.append("  " + line.get_label())
    legend_handles += [Line2D([], [], color="black", linestyle="--", linewidth=1),
                       Line2D([], [], color="gold", alpha=0.5, linewidth=8)]
    legend_labels += [f"full model ({full:.2f} %)", f"within {points:g} point"]
    leg = fig.legend(legend_handles, legend_labels, loc="outside right center", fontsize=9,
                     frameon=False, handlelength=2.6)
    for text in leg.get_texts():
        if not text.get_text().startswith("  ") and text.get_text() in handles:
            text.set_fontweight("bold")
    return _finish(fig, title, path, fmt)


def kept_fraction(
    path: str | os.PathLike,
    ratios: Sequence[float],
    fractions: Mapping[str, np.ndarray],
    *,
    title: str,
    fmt: str | None = None,
) -> Path:
    """Kept fraction of each layer's units against the global pruning ratio, one panel per method.

    One line per layer (viridis, first to last) and the dashed global kept fraction
    ``1 − ratio``: a layer above it keeps more of its units than the network as a whole.

    Parameters
    ----------
    ratios : sequence of float
        Global pruning ratios in [0, 1] (the x axis).
    fractions : dict method → array (nratios, nlayers)
        Kept fraction of every layer at each ratio (``KeepPlan.kept_fraction``).
    """
    x = 100 * np.asarray(ratios, dtype=float)
    methods = list(fractions)
    fig, axes = _subplots(1, len(methods), figsize=(5.2 * len(methods) + 1.4, 4.2),
                          squeeze=False, sharey=True)
    for ax, method in zip(axes[0], methods, strict=True):
        frac = np.asarray(fractions[method], dtype=float)
        cmap = colormaps["viridis"]
        nl = frac.shape[1]
        for layer in range(nl):
            ax.plot(x, 100 * frac[:, layer], marker=".", color=cmap(layer / max(nl - 1, 1)),
                    label=f"layer {layer}")
        ax.plot(x, 100 - x, color="black", linestyle="--", linewidth=1,
                label="global kept fraction")
        ax.set_xlabel("global pruning ratio (%)")
        ax.set_title(method)
        ax.grid(True, alpha=0.3)
        ax.set_ylim(-3, 103)
    axes[0][0].set_ylabel("kept units in the layer (%)")
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=9,
                       frameon=False)
    return _finish(fig, title, path, fmt)


def poles(
    path: str | os.PathLike,
    layers: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    title: str,
    units: Sequence[tuple[int, int]] | None = None,
    fmt: str | None = None,
) -> Path:
    """Discrete-time poles λ̄ of every layer, kept (o) and pruned (x), with the unit circle.

    One column per layer: the whole unit disk on top, and below it a zoom on the poles near
    z = 1 (|1 − λ̄| < 0.3), where trained S5 layers put most of their modes.

    Parameters
    ----------
    layers : sequence of (poles, kept)
        Per layer: complex poles (conjugates already written out) and a bool array, True
        for a kept pole.
    units : sequence of (kept, total), optional
        Per layer, kept and total *units* (a conjugate pair is one unit, as the report's
        tables count them); the panel titles then count units, with the poles drawn in
        brackets.  Default: titles count poles.
    """
    n = len(layers)
    fig, axes = _subplots(2, n, figsize=(3.9 * n + 0.6, 8.0), squeeze=False)
    theta = np.linspace(0, 2 * np.pi, 1441)
    handles = None
    for k in range(n):
        p, kept = (np.asarray(a) for a in layers[k])
        near = p[np.abs(1.0 - p) < 0.3]
        for row, ax in enumerate(axes[:, k]):
            ax.plot(np.cos(theta), np.sin(theta), color="gray", linewidth=0.8,
                    label="unit circle")
            ax.scatter(p.real[kept], p.imag[kept], s=24, facecolors="none",
                       edgecolors="tab:blue", label="kept")
            ax.scatter(p.real[~kept], p.imag[~kept], s=24, marker="x", color="tab:red",
                       label="pruned")
            ax.grid(True, alpha=0.3)
            ax.set_xlabel("Re λ̄")
            if row == 0:
                ax.set_xlim(-1.1, 1.1)
                ax.set_ylim(-1.1, 1.1)
                ax.set_aspect("equal")
                if units is not None:
                    ku, nu = units[k]
                    ax.set_title(f"layer {k}: {ku} of {nu} units kept\n"
                                 f"({int(kept.sum())} of {kept.size} poles)", fontsize=10)
                else:
                    ax.set_title(f"layer {k}: {int(kept.sum())} of {kept.size} poles kept",
                                 fontsize=10)
            else:
                if near.size:
                    half = max(float(np.abs(near.imag).max()), 0.01) * 1.15
                    lo = float(near.real.min())
                    pad = 0.12 * max(1.0 - lo, 0.01)
                    ax.set_xlim(lo - pad, 1.0 + pad)
                    ax.set_ylim(-half, half)
                ax.set_title(f"layer {k}: zoom near z = 1", fontsize=10)
            if k == 0:
                ax.set_ylabel("Im λ̄")
            handles = ax.get_legend_handles_labels()
    if handles is not None:
        fig.legend(*handles, loc="outside lower center", ncol=3, frameon=False)
    return _finish(fig, title, path, fmt)


def sorted_energies(
    path: str | os.PathLike,
    energies: Sequence[np.ndarray],
    kept_counts: Sequence[int],
    *,
    title: str,
    fmt: str | None = None,
) -> Path:
    """Each layer's unit energies sorted descending (log scale) with the cut of the plan.

    One panel per layer: kept units (dots) left of the dashed cut, pruned ones (crosses)
    right of it, so an elbow in the energies shows whether the cut falls on it.

    Parameters
    ----------
    energies : sequence of arrays
        Per layer: energy of every unit (aire-prune eq. 8), any order.
    kept_counts : sequence of int
        Units the plan keeps in each layer (the cut is drawn after that many).
    """
    rows, cols = _grid(len(energies))
    fig, axes = _subplots(rows, cols, figsize=(4.3 * cols, 3.6 * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(energies):
            ax.axis("off")
            continue
        e = np.sort(np.asarray(energies[k], dtype=float))[::-1]
        e = np.maximum(e, np.finfo(float).tiny)
        n, kept = e.size, int(kept_counts[k])
        rank = np.arange(1, n + 1)
        ax.semilogy(rank[:kept], e[:kept], ".", color="tab:blue", label=f"kept ({kept})")
        ax.semilogy(rank[kept:], e[kept:], "x", color="tab:red", markersize=4,
                    label=f"pruned ({n - kept})")
        ax.semilogy(rank, e, color="gray", linewidth=0.6, zorder=0)
        ax.axvline(kept + 0.5, color="black", linestyle="--", linewidth=1, label="cut")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("unit rank (by energy)")
        ax.set_ylabel("energy ‖G_i‖₂²")
        ax.set_title(f"layer {k}")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
    return _finish(fig, title, path, fmt)


def _is_estimate(label: str) -> bool:
    """A published form that is not proved for these layers (drawn apart from proved bounds)."""
    return "published" in label or "estimate" in label


def certificates(
    path: str | os.PathLike,
    panels: Mapping[str, Mapping[str, Sequence[float | None]]],
    *,
    title: str,
    scales: Mapping[str, Sequence[float | None]] | None = None,
    fmt: str | None = None,
) -> Path:
    """Bounds against the exact H∞ error per layer, one column per plan, log scale.

    Proved bounds are filled coloured markers; published forms that are *not* proved for
    these layers (labels holding ``"published"`` or ``"estimate"``) are hollow grey markers,
    so that an estimate is never read as a guarantee; the exact error is a black star.  With
    ``scales`` a second row shows the same values relative to each layer's own ``‖G‖∞``.

    Parameters
    ----------
    panels : dict panel title → dict series name → per-layer values
        Series whose name starts with ``"exact"`` are the exact errors; None or 0 values are
        left out (nothing pruned, or unknown).
    scales : dict panel title → per-layer ‖G‖∞, optional
        Adds the relative row (a None scale leaves that layer out).
    """
    names = list(panels)
    rows = 2 if scales else 1
    fig, axes = _subplots(rows, len(names), figsize=(5.8 * len(names), 4.2 * rows),
                          squeeze=False)
    markers = ["o", "s", "^", "D", "v", "P"]
    for col, name in enumerate(names):
        series = panels[name]
        nlayers = max(len(v) for v in series.values())
        nser = max(len(series), 1)
        for row in range(rows):
            ax = axes[row][col]
            scale = None if row == 0 else np.array(
                [np.nan if s is None or not s > 0 else s for s in scales[name]], dtype=float)
            proved = 0
            for j, (label, values) in enumerate(series.items()):
                vals = np.array([np.nan if v is None or v <= 0 else v for v in values],
                                dtype=float)
                if scale is not None:
                    vals = vals / scale
                pos = np.arange(len(vals)) + 0.5 * (j - (nser - 1) / 2) / nser
                if label.startswith("exact"):
                    ax.scatter(pos, vals, marker="*", s=150, color="black", label=label,
                               zorder=5)
                elif _is_estimate(label):
                    name_ = label.replace(" (published form)", "")
                    ax.scatter(pos, vals, marker="o", s=55, facecolors="none",
                               edgecolors="gray", linewidths=1.4,
                               label=f"{name_}: published form, not proved", zorder=3)
                else:
                    ax.scatter(pos, vals, marker=markers[proved % len(markers)], s=50,
                               color=colormaps["tab10"](proved), label=f"{label}: proved",
                               zorder=4)
                    proved += 1
            ax.set_yscale("log")
            ax.set_xticks(range(nlayers), [f"layer {i}" for i in range(nlayers)])
            ax.set_xlim(-0.6, nlayers - 0.4)
            ax.set_ylabel("‖G − G_r‖∞ of the layer (log)" if row == 0
                          else "relative to the layer's ‖G‖∞ (log)")
            ax.set_title(name if row == 0 else f"{name}: relative")
            ax.grid(True, axis="y", which="both", alpha=0.25)
    # one legend under the panels: it never hides a marker
    by_label: dict[str, Any] = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            by_label.setdefault(label, handle)
    fig.legend(list(by_label.values()), list(by_label), loc="outside lower center",
               ncol=min(len(by_label), 2), fontsize=9, frameon=False)
    return _finish(fig, title, path, fmt)


def speedup(
    path: str | os.PathLike,
    ratios: Sequence[float],
    speedups: Sequence[float],
    *,
    labels: Sequence[str] | None = None,
    spread: tuple[Sequence[float], Sequence[float]] | None = None,
    unchanged: Sequence[bool] | None = None,
    title: str,
    fmt: str | None = None,
    empty_note: str = "",
) -> Path:
    """Inference speed-up (full time / reduced time) of dimension-reduced models.

    Parameters
    ----------
    ratios : sequence of float
    speedups : sequence of float
        Median speed-up per ratio.
    labels : sequence of str, optional
        Second line of each tick (e.g. stored modes per layer).
    spread : (low, high), optional
        Run-to-run range of the speed-up (drawn as error bars).
    unchanged : sequence of bool, optional
        Per ratio, True when padding leaves the computed state sizes unchanged, so no saving
        is possible: such bars are drawn at 1×, hatched grey, labelled "padding: no saving"
        (the measured value is clock noise).
    empty_note : str
        Shown in place of the bars when there is no ratio to show.
    """
    if not len(ratios):
        import textwrap

        fig, ax = _subplots(figsize=(7.0, 2.6))
        ax.axis("off")
        ax.text(0.5, 0.5, textwrap.fill(empty_note or "no speed-up to show", 70),
                ha="center", va="center", fontsize=10, transform=ax.transAxes)
        ax.set_title(title)
        return _save(fig, path, fmt)
    x = np.arange(len(ratios))
    same = np.zeros(len(ratios), dtype=bool) if unchanged is None else np.asarray(unchanged)
    measured = np.asarray(speedups, dtype=float)
    speedups = np.where(same, 1.0, measured)  # the same computation: no saving
    colors = ["lightgray" if s else ("tab:green" if v >= 1 else "tab:red")
              for s, v in zip(same, speedups, strict=True)]
    fig, ax = _subplots(figsize=(7.0, 4.3))
    bars = ax.bar(x, speedups, color=colors, width=0.6, edgecolor="black", linewidth=0.6,
                  hatch=None)
    for b, s in zip(bars, same, strict=True):
        if s:
            b.set_hatch("//")
    if spread is not None and not np.all(same):
        lo, hi = (np.asarray(v, dtype=float) for v in spread)
        timed = ~same
        ax.errorbar(x[timed], speedups[timed],
                    yerr=[(speedups - lo)[timed], (hi - speedups)[timed]], fmt="none",
                    ecolor="black", capsize=4, linewidth=1, label="run-to-run range")
    for b, s, v, m in zip(bars, same, speedups, measured, strict=True):
        text = f"{v:.2f}×" + (f"\npadding:\nno saving\n(clock {m:.2f}×)" if s else "")
        ax.annotate(text, (b.get_x() + b.get_width() / 2, 0.04), ha="center", va="bottom",
                    fontsize=9)
    ax.axhline(1.0, color="black", linestyle="--", linewidth=1, label="full model (1×)")
    ticks = [f"{100 * r:.0f} %" for r in ratios]
    if labels is not None:
        ticks = [f"{t}\n{lab}" for t, lab in zip(ticks, labels, strict=True)]
    ax.set_xticks(x, ticks)
    ax.set_xlabel("pruning ratio (stored modes per layer after removal)")
    ax.set_ylabel("speed-up of the forward pass (×)")
    top = max([*speedups.tolist(), 1.0])
    if spread is not None:
        top = max(top, float(np.max(spread[1], initial=1.0)))
    ax.set_ylim(0, top * 1.25)
    ax.set_title(title)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path, fmt)

