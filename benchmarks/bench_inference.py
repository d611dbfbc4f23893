"""Inference speed of dimension-reduced S5 models against the official full model.

For each of the paper's S5 shapes (Pathfinder, Path-X, Image, Text; numbers below from
``shared/reference/s5_configs.csv`` and the stored P of ``shared/reference/ANCHORS.md``),
with random parameters, in one run:

- **baseline**: the *full* model computed the way the official S5 code does it
  (``official_s5_baseline.py``: complex64, plain ``jax.lax.associative_scan`` in both
  directions, vmapped per example);
- **ours**: the library's model, :class:`ssm_bridge.S5Model` holding the same parameter tree
  (real arithmetic, both scan directions in one recurrence, padded state sizes, batched;
  :mod:`ssm_bridge.scan`), at pruning ratios 0, 0.2, 0.5, 0.65, 0.8: the dimension-reduced
  model a user gets from ``extract`` → ``mor.prune(..., "aire", ratio)`` →
  ``apply(mode="remove")``.

Reported: median time per forward call (compile excluded), the speed-up of each of our models
against the baseline full model, and the largest log-probability difference between our
full model and the baseline (same math, float32 rounding only).  Optionally
(``--official-pruned``) the official path run on the same dimension-reduced models, which
shows how much of the gain comes from the scan and how much from fewer states.

Each of our models is timed twice: as the library runs it (state count padded with inert
modes to a multiple of 8, ``ssm_bridge.scan``) and with the padding switched off, so that a
pruning speed-up is not an artefact of where the padding boundary falls.  Every time is the
median of ``--repeats`` calls, reported with its run-to-run spread (the interquartile range
[q1 – q3]); a speed-up counts as real only where the two ranges do not overlap (otherwise
the table prints "≈").
``scan share``: the time of the recurrences alone (``scan.s5_state_features`` of every
layer, same inputs) as a fraction of the model's time: where it is small, pruning states
cannot speed the model up much, whatever the ratio.

Usage (CPU, reduced batch)::

    .venv/bin/python benchmarks/bench_inference.py --batch 2 --repeats 5
    .venv/bin/python benchmarks/bench_inference.py --small      # a bundled-size model

On a GPU, pass the papers' batch sizes with ``--paper-batch``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _env

if __name__ == "__main__":  # one BLAS thread for every side, set before numpy/jax load
    _env.pin_threads(int(os.environ.get("BENCH_THREADS", "1")))

import jax
import jax.numpy as jnp
import numpy as np
import official_s5_baseline as official
from gpu_summary import quartiles, speedup

import mor
from ssm_bridge import S5Config, apply, extract, scan
from ssm_bridge.evaluate import time_forward
from ssm_bridge.models import make_model
from ssm_bridge.scan import SCAN_ALGORITHMS, check_method

# name: sequence length L, d_model H, stored P (conj_sym halves ssm_size_base), layers,
# input width (LRA: pixels 1; IMDB byte-level tokens one-hot), classes, paper batch.
# Source: shared/reference/s5_configs.csv (aire-prune table 4) and ANCHORS.md.
SHAPES = {
    "Pathfinder": dict(length=1024, d_model=192, ssm_size=128, n_layers=6, d_input=1,
                       d_output=2, paper_batch=64),
    "Path-X": dict(length=16384, d_model=128, ssm_size=128, n_layers=6, d_input=1,
                   d_output=2, paper_batch=16),
    "Image": dict(length=1024, d_model=512, ssm_size=192, n_layers=6, d_input=1,
                  d_output=10, paper_batch=50),
    "Text": dict(length=4096, d_model=256, ssm_size=96, n_layers=6, d_input=135,
                 d_output=2, paper_batch=32),
}
# the size of the bundled s5_digits model (ssm_bridge/bundled): H = 32, P = 16, L = 64
SMALL = {"small (bundled size)": dict(length=64, d_model=32, ssm_size=16, n_layers=2,
                                      d_input=1, d_output=10, paper_batch=64)}
RATIOS = (0.0, 0.2, 0.5, 0.65, 0.8)
# aire-prune table 3 speed-ups (ratio, factor), for the table's last column
PAPER = {"Pathfinder": (0.8, 2.82), "Path-X": (0.7, 2.86), "Image": (0.65, 1.93),
         "Text": (0.8, 2.49)}
ALL_SHAPES = {**SHAPES, **SMALL}


# ------------------------------------------------------------------------------------------
# ours: the library's model (ssm_bridge), loaded from the official tree, pruned by apply()
# ------------------------------------------------------------------------------------------


def library_model(params, stats, shape: dict):
    """(variables, config) of :class:`ssm_bridge.S5Model` holding the official tree."""
    config = S5Config(d_model=shape["d_model"], n_layers=shape["n_layers"],
                      state_sizes=shape["ssm_size"], d_input=shape["d_input"],
                      n_classes=shape["d_output"], conj_sym=True, bidirectional=True,
                      discretization="zoh", clip_eigs=True, activation="half_glu1",
                      prenorm=True, batchnorm=True)
    layers = {k: v for k, v in params.items() if k.startswith("layers_")}
    variables = {
        "params": {"encoder": {"encoder": params["encoder"], **layers},
                   "decoder": params["decoder"]},
        "batch_stats": {"encoder": stats},
    }
    return variables, config


def library_forward(config, method: str = "auto", *, padded: bool = True):
    """Jitted ``f(variables, x (B, L, d_input)) -> (B, d_output)`` of the library model.

    ``padded=False``: the same model traced with the scan's state padding switched off
    (``ssm_bridge.scan`` pads the state count to a multiple of 8 with inert modes).
    """
    model = make_model(config, scan_method=method)
    if padded:
        return jax.jit(model.apply)

    def unpadded(variables, x):
        with no_state_padding():  # active while jit traces; the compiled code keeps it
            return model.apply(variables, x)

    return jax.jit(unpadded)


@contextlib.contextmanager
def no_state_padding():
    """Trace ``ssm_bridge.scan`` without its state padding (benchmark only)."""
    original = scan._padded_size
    scan._padded_size = lambda nstates, pad_multiple: original(nstates, 1)
    try:
        yield
    finally:
        scan._padded_size = original


def scan_only(variables, config, x):
    """(fn, args): the recurrences alone of every layer, ``scan.s5_state_features``."""
    systems = extract(variables, config)
    lam = [jnp.asarray(s.poles, jnp.complex64) for s in systems]
    bb = [jnp.asarray(s.B, jnp.complex64) for s in systems]
    u = jnp.zeros((*x.shape[:-1], config.d_model), jnp.float32) + 0.1

    def states(lam, bb, u):
        return [scan.s5_state_features(a, b, u, bidirectional=config.bidirectional)
                for a, b in zip(lam, bb, strict=True)]

    return jax.jit(states), (lam, bb, u)


def reduced(variables, config, ratio: float):
    """The library path: ``extract`` → ``mor.prune("aire")`` → ``apply(mode="remove")``."""
    plan = mor.prune(extract(variables, config), "aire", ratio)
    small, small_config = apply(variables, config, plan, mode="remove")
    return jax.tree_util.tree_map(jnp.asarray, small), small_config, plan


def official_tree(variables):
    """The official layout again (for ``--official-pruned``)."""
    enc = variables["params"]["encoder"]
    params = {"encoder": enc["encoder"], "decoder": variables["params"]["decoder"],
              **{k: v for k, v in enc.items() if k.startswith("layers_")}}
    return params, variables["batch_stats"]["encoder"]


# ------------------------------------------------------------------------------------------


def call_times(calls: dict, repeats: int) -> dict:
    """Wall times of each ``fn(*args)`` in ``calls`` (a list per key); compile excluded.

    The calls are timed round-robin (one of each, ``repeats`` times,
    :func:`ssm_bridge.evaluate.time_forward`), so that a change of machine load during the
    run hits all of them alike.
    """
    return dict(zip(calls, time_forward(list(calls.values()), repeats=repeats), strict=True))


def spread_ms(times: list[float]) -> str:
    """'median [q1 – q3] ms' of the call times."""
    q1, q2, q3 = quartiles(times)
    return f"{1e3 * q2:.1f} [{1e3 * q1:.1f} – {1e3 * q3:.1f}] ms"


def run(args) -> list[dict]:
    rows = []
    base_fwd = official.make_forward()
    for name in args.shapes:
        cfg = ALL_SHAPES[name]
        batch = cfg["paper_batch"] if args.paper_batch else args.batch
        length = cfg["length"] if args.length is None else min(args.length, cfg["length"])
        params, stats = official.init_params(
            n_layers=cfg["n_layers"], d_input=cfg["d_input"], d_model=cfg["d_model"],
            ssm_size=cfg["ssm_size"], d_output=cfg["d_output"], seed=args.seed)
        rng = np.random.default_rng(args.seed + 1)
        x = jnp.asarray(rng.standard_normal((batch, length, cfg["d_input"])), jnp.float32)
        jparams = jax.tree_util.tree_map(jnp.asarray, params)
        jstats = jax.tree_util.tree_map(jnp.asarray, stats)
        variables, config = library_model(params, stats, cfg)
        calls = {"base": (base_fwd, (jparams, jstats, x))}
        plans = {}
        ratios = args.ratios
        if args.paper_ratios:  # the full model and the paper's ratio for this shape only
            ratios = [0.0] + ([PAPER[name][0]] if name in PAPER else [])
        for ratio in ratios:
            small, small_config, plans[ratio] = reduced(variables, config, ratio)
            calls["fast", ratio] = (library_forward(small_config, args.method), (small, x))
            if args.padding:
                calls["nopad", ratio] = (library_forward(small_config, args.method,
                                                         padded=False), (small, x))
            if args.scan_share and ratio in (ratios[0], ratios[-1]):
                calls["scan", ratio] = scan_only(small, small_config, x)
            if args.official_pruned and ratio > 0:
                calls["official", ratio] = (base_fwd, (*official_tree(small), x))
        times = call_times(calls, args.repeats)
        t = {key: statistics.median(v) for key, v in times.items()}
        ref = base_fwd(jparams, jstats, x)
        fn, fargs = calls["fast", 0.0]
        full = fn(*fargs)
        if args.padding:
            fn, fargs = calls["nopad", 0.0]
            assert float(jnp.max(jnp.abs(fn(*fargs) - full))) < 1e-4  # padding changes nothing
        for ratio in ratios:
            row = dict(shape=name, batch=batch, length=length, ratio=ratio,
                       states=list(plans[ratio].kept_counts), t_base=t["base"],
                       t_fast=t["fast", ratio], times_base=times["base"],
                       times_fast=times["fast", ratio],
                       times_nopad=times.get(("nopad", ratio)))
            if ("scan", ratio) in t:
                row["scan_share"] = t["scan", ratio] / t["fast", ratio]
            if ratio == 0.0:
                row["max_abs_diff"] = float(jnp.max(jnp.abs(full - ref)))
                row["t_official_pruned"] = t["base"]
            elif args.official_pruned:
                row["t_official_pruned"] = t["official", ratio]
            rows.append(row)
            print(_row_text(row), file=sys.stderr, flush=True)
        if args.json:  # after every shape, so that a run cut short keeps what it measured
            write_json(args.json, rows, args)
    return rows


def write_json(path: str, rows: list[dict], args) -> None:
    import json

    meta = {"device": str(jax.devices()[0].device_kind), "backend": jax.default_backend(),
            "jax": jax.__version__, "method": args.method, "repeats": args.repeats,
            "paper": PAPER}
    tmp = Path(f"{path}.tmp")
    tmp.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    tmp.replace(path)


def _row_text(r: dict) -> str:
    return (f"{r['shape']} ratio {r['ratio']}: baseline {1e3 * r['t_base']:.1f} ms, "
            f"ours {1e3 * r['t_fast']:.1f} ms ({r['t_base'] / r['t_fast']:.2f}x)")


def markdown(rows: list[dict], args) -> str:
    lines = [
        f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), "
        f"jax {jax.__version__}, library model (scan method {args.method}: "
        f"{check_method(args.method)[0]}), "
        f"median of {args.repeats} calls, compile excluded",
        "",
    ]
    head = ["shape (batch, L)", "baseline full (official path)", "ours full",
            *([f"ours {round(100 * r)} %" for r in args.ratios[1:]] if not args.paper_ratios
              else ["ours at the paper's ratio"]), "paper (aire-prune T3)",
            "max abs Δ log p (ours full vs baseline)"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for name in dict.fromkeys(r["shape"] for r in rows):
        rs = [r for r in rows if r["shape"] == name]
        r0 = rs[0]
        cells = [f"{name} ({r0['batch']}, {r0['length']})", f"{1e3 * r0['t_base']:.1f} ms"]
        for r in rs:
            cells.append(f"{1e3 * r['t_fast']:.1f} ms: {r['t_base'] / r['t_fast']:.2f}×")
        pr, pf = PAPER.get(name, (None, None))
        cells.append("–" if pf is None else f"{pf}× at {round(100 * pr)} %")
        cells.append(f"{r0.get('max_abs_diff', float('nan')):.1e}")
        lines.append("| " + " | ".join(cells) + " |")
    if args.official_pruned:
        lines += ["", "Official path on the same dimension-reduced models (speed-up vs its full "
                  "model):", ""]
        lines.append("| shape | " + " | ".join(f"{round(100 * r)} %" for r in args.ratios[1:])
                     + " |")
        lines.append("|---|" + "---|" * (len(args.ratios) - 1))
        for name in dict.fromkeys(r["shape"] for r in rows):
            rs = [r for r in rows if r["shape"] == name][1:]
            lines.append(f"| {name} | " + " | ".join(
                f"{r['t_base'] / r['t_official_pruned']:.2f}×" for r in rs) + " |")
    lines += ["", "Run-to-run spread (median [q1 – q3] of the calls) and the padding "
              "(state count padded to a multiple of 8, as the library runs, or not); speed-ups "
              "against the baseline full model and against our own full model; \"≈\": the "
              "interquartile ranges overlap, not a measured speed-up:", ""]
    lines.append("| shape | pruned | kept states per layer | ours, padded | ours, unpadded | "
                 "vs baseline (padded / unpadded) | vs our full (padded / unpadded) | "
                 "scan share |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for name in dict.fromkeys(r["shape"] for r in rows):
        rs = [r for r in rows if r["shape"] == name]
        full = rs[0]
        for r in rs:
            nopad = r["times_nopad"]
            cells = [name, f"{round(100 * r['ratio'])} %", str(r["states"]),
                     spread_ms(r["times_fast"]), "–" if nopad is None else spread_ms(nopad),
                     speedup(r["times_base"], r["times_fast"])
                     + ("" if nopad is None else " / " + speedup(r["times_base"], nopad)),
                     speedup(full["times_fast"], r["times_fast"])
                     + ("" if nopad is None else
                        " / " + speedup(full["times_nopad"], nopad)),
                     f"{100 * r['scan_share']:.0f} %" if "scan_share" in r else "–"]
            lines.append("| " + " | ".join(cells) + " |")
    base = [f"{r['shape']} {spread_ms(r['times_base'])}" for r in rows if r["ratio"] == 0.0]
    lines += ["", "baseline full model (official path): " + "; ".join(base)]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shapes", nargs="+", default=None, choices=list(ALL_SHAPES))
    p.add_argument("--small", action="store_true",
                   help="only the bundled-size model (H = 32, P = 16, L = 64)")
    p.add_argument("--no-padding-variant", dest="padding", action="store_false",
                   help="do not also time our models without the state padding")
    p.add_argument("--json", default=None, help="also write the rows (all call times) here")
    p.add_argument("--paper-ratios", action="store_true",
                   help="per shape only the full model and aire-prune Table 3's ratio")
    p.add_argument("--no-scan-share", dest="scan_share", action="store_false",
                   help="do not time the recurrences alone (saves two compilations a shape)")
    p.add_argument("--ratios", type=float, nargs="+", default=list(RATIOS),
                   help="pruning ratios of our models (0 = full is always added); the paper's "
                        "Table 3 ratios are 0.65, 0.7, 0.8")
    p.add_argument("--batch", type=int, default=2, help="batch size (CPU: keep it small)")
    p.add_argument("--paper-batch", action="store_true", help="use the papers' batch sizes")
    p.add_argument("--length", type=int, default=None, help="cap the sequence length")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--method", default="auto", choices=[*SCAN_ALGORITHMS, "auto"],
                   help="recurrence kernel of our model (ssm_bridge.scan)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--official-pruned", action="store_true",
                   help="also time the official path on the pruned models")
    args = p.parse_args(argv)
    if args.shapes is None:
        args.shapes = list(SMALL) if args.small else list(SHAPES)
    args.ratios = sorted({0.0, *args.ratios})
    print(_env.load_line(), file=sys.stderr)
    rows = run(args)
    print(markdown(rows, args))
    print(_env.load_line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
