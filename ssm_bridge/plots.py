"""Figures of the main job's reports (matplotlib, Agg backend: no display needed).

Figures are built as :class:`matplotlib.figure.Figure` objects and rendered by the Agg
backend, without ``pyplot``: importing this module changes no global matplotlib state.

Every function takes plain numbers (numpy arrays, dicts, lists), writes one PNG and returns
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
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = [
    "accuracy_vs_ratio",
    "certificates",
    "kept_fraction",
    "method_style",
    "poles",
    "sorted_energies",
    "speedup",
]

_DPI = 110
_HIGHLIGHT = ("aire", "last")


def method_style(method: str, index: int) -> dict:
    """Line style of a method: AIRE and LAST stand out (thick, markers), the rest thin."""
    color = colormaps["tab10"](index % 10)
    if method in _HIGHLIGHT:
        return {"color": color, "linewidth": 2.6, "marker": "o", "markersize": 4.5, "zorder": 5}
    return {"color": color, "linewidth": 1.3, "marker": ".", "markersize": 4, "alpha": 0.9}


def _subplots(rows: int = 1, cols: int = 1, *, figsize, **kwargs):
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(rows, cols, **kwargs)


def _save(fig: Figure, path: str | os.PathLike) -> Path:
    path = Path(path)
    fig.savefig(path, dpi=_DPI, bbox_inches="tight", format="png")
    return path


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
) -> Path:
    """Test accuracy (%) against pruning ratio (%) per method, full model and tolerance band.

    Parameters
    ----------
    path : path-like
        The PNG to write.
    ratios : sequence of float
        Pruning ratios in [0, 1].
    accuracies : dict method → sequence of float
        Accuracy (fraction) per ratio.
    full_accuracy : float
        Accuracy (fraction) of the unpruned model (drawn as a dashed line, with the
        ``full − points`` threshold of the papers' Table 1 dotted).
    title : str
    points : float
        Tolerance in percentage points.
    """
    x = 100 * np.asarray(ratios, dtype=float)
    fig, ax = _subplots(figsize=(8.5, 5.0))
    for i, (method, acc) in enumerate(accuracies.items()):
        ax.plot(x, 100 * np.asarray(acc, dtype=float), label=method, **method_style(method, i))
    ax.axhline(100 * full_accuracy, color="black", linestyle="--", linewidth=1,
               label=f"full model ({100 * full_accuracy:.1f} %)")
    ax.axhline(100 * full_accuracy - points, color="gray", linestyle=":", linewidth=1,
               label=f"full − {points:g} point")
    ax.set_xlabel("pruning ratio (% of state units removed)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_xlim(x.min() - 2, x.max() + 2)
    ax.set_ylim(bottom=0, top=max(100.0, 100 * full_accuracy + 2))
    ax.grid(True, alpha=0.3)
    ax.set_title(title)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=9, frameon=False)
    return _save(fig, path)


def kept_fraction(
    path: str | os.PathLike,
    ratios: Sequence[float],
    fractions: Mapping[str, np.ndarray],
    *,
    title: str,
) -> Path:
    """Kept fraction of each layer's units against the global pruning ratio, one panel per method.

    Parameters
    ----------
    fractions : dict method → array (nratios, nlayers)
        Kept fraction of every layer at each ratio (``KeepPlan.kept_fraction``).
    """
    x = 100 * np.asarray(ratios, dtype=float)
    methods = list(fractions)
    fig, axes = _subplots(1, len(methods), figsize=(5.2 * len(methods), 4.2), squeeze=False,
                             sharey=True)
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
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def poles(
    path: str | os.PathLike,
    layers: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    title: str,
) -> Path:
    """Discrete-time poles λ̄ of every layer, kept (o) and pruned (x), with the unit circle.

    One column per layer: the whole unit disk on top, and below it a zoom on the poles near
    z = 1 (|1 − λ̄| < 0.3), where trained S5 layers put most of their modes.

    Parameters
    ----------
    layers : sequence of (poles, kept)
        Per layer: complex poles (conjugates already written out) and a bool array, True
        for a kept pole.
    """
    n = len(layers)
    fig, axes = _subplots(2, n, figsize=(3.7 * n + 0.6, 7.6), squeeze=False)
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
                ax.set_title(f"layer {k}: {int(kept.sum())} kept, {int((~kept).sum())} pruned")
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
        fig.legend(*handles, loc="lower center", ncol=3, frameon=False,
                   bbox_to_anchor=(0.5, -0.02))
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return _save(fig, path)


def sorted_energies(
    path: str | os.PathLike,
    energies: Sequence[np.ndarray],
    kept_counts: Sequence[int],
    *,
    title: str,
) -> Path:
    """Each layer's unit energies sorted descending (log scale) with the cut of the plan.

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
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def certificates(
    path: str | os.PathLike,
    panels: Mapping[str, Mapping[str, Sequence[float | None]]],
    *,
    title: str,
) -> Path:
    """Bounds against the exact H∞ error per layer, one panel per plan, log scale.

    Parameters
    ----------
    panels : dict panel title → dict series name → per-layer values
        Series whose name starts with ``"exact"`` are drawn as black stars, bounds as
        coloured markers; None or 0 values are left out (nothing pruned, or unknown).
    """
    names = list(panels)
    fig, axes = _subplots(1, len(names), figsize=(5.6 * len(names), 4.4), squeeze=False)
    markers = ["o", "s", "^", "D", "v", "P"]
    for ax, name in zip(axes[0], names, strict=True):
        series = panels[name]
        nlayers = max(len(v) for v in series.values())
        nser = max(len(series), 1)
        bound_index = 0
        for j, (label, values) in enumerate(series.items()):
            vals = np.array([np.nan if v is None or v <= 0 else v for v in values], dtype=float)
            pos = np.arange(len(vals)) + 0.5 * (j - (nser - 1) / 2) / nser
            if label.startswith("exact"):
                ax.scatter(pos, vals, marker="*", s=140, color="black", label=label, zorder=5)
            else:
                ax.scatter(pos, vals, marker=markers[bound_index % len(markers)], s=50,
                           color=colormaps["tab10"](bound_index + 1), label=label)
                bound_index += 1
        ax.set_yscale("log")
        ax.set_xticks(range(nlayers), [f"layer {i}" for i in range(nlayers)])
        ax.set_xlim(-0.6, nlayers - 0.4)
        ax.set_ylabel("‖G − G_r‖∞ of the layer (log)")
        ax.set_title(name)
        ax.grid(True, axis="y", which="both", alpha=0.25)
        ax.legend(fontsize=8, loc="best")
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def speedup(
    path: str | os.PathLike,
    ratios: Sequence[float],
    speedups: Sequence[float],
    *,
    labels: Sequence[str] | None = None,
    title: str,
) -> Path:
    """Inference speed-up (full time / reduced time) of dimension-reduced models."""
    x = np.arange(len(ratios))
    fig, ax = _subplots(figsize=(6.5, 4.0))
    bars = ax.bar(x, speedups, color="tab:green", width=0.6)
    for b, s in zip(bars, speedups, strict=True):
        ax.annotate(f"{s:.2f}×", (b.get_x() + b.get_width() / 2, b.get_height()),
                    ha="center", va="bottom", fontsize=9)
    ax.axhline(1.0, color="black", linestyle="--", linewidth=1, label="full model")
    ticks = [f"{100 * r:.0f} %" for r in ratios]
    if labels is not None:
        ticks = [f"{t}\n{lab}" for t, lab in zip(ticks, labels, strict=True)]
    ax.set_xticks(x, ticks)
    ax.set_xlabel("pruning ratio (stored modes per layer after removal)")
    ax.set_ylabel("speed-up of the forward pass (×)")
    ax.set_ylim(0, max(max(speedups, default=1.0), 1.0) * 1.2)
    ax.set_title(title)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)
