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

Usage (CPU, reduced batch)::

    .venv/bin/python benchmarks/bench_inference.py --batch 2 --repeats 5

On a GPU, pass the papers' batch sizes with ``--paper-batch``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import official_s5_baseline as official

import mor
from ssm_bridge import S5Config, apply, extract
from ssm_bridge.models import make_model
from ssm_bridge.scan import METHODS, check_method

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
RATIOS = (0.0, 0.2, 0.5, 0.65, 0.8)
# aire-prune table 3 speed-ups (ratio, factor), for the table's last column
PAPER = {"Pathfinder": (0.8, 2.82), "Path-X": (0.7, 2.86), "Image": (0.65, 1.93),
         "Text": (0.8, 2.49)}


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


def library_forward(config, method: str = "auto"):
    """Jitted ``f(variables, x (B, L, d_input)) -> (B, d_output)`` of the library model."""
    model = make_model(config, scan_method=method)
    return jax.jit(model.apply)


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


def median_times(calls: dict, repeats: int) -> dict:
    """Median wall time of each ``fn(*args)`` in ``calls``; compile excluded.

    The calls are timed round-robin (one of each, ``repeats`` times), so that a change of
    machine load during the run hits all of them alike.
    """
    for fn, args in calls.values():
        jax.block_until_ready(fn(*args))  # compile + warm-up, excluded
    times = {key: [] for key in calls}
    for _ in range(repeats):
        for key, (fn, args) in calls.items():
            t0 = time.perf_counter()
            jax.block_until_ready(fn(*args))
            times[key].append(time.perf_counter() - t0)
    return {key: statistics.median(v) for key, v in times.items()}


def run(args) -> list[dict]:
    rows = []
    base_fwd = official.make_forward()
    for name in args.shapes:
        cfg = SHAPES[name]
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
        for ratio in RATIOS:
            small, small_config, plans[ratio] = reduced(variables, config, ratio)
            calls["fast", ratio] = (library_forward(small_config, args.method), (small, x))
            if args.official_pruned and ratio > 0:
                calls["official", ratio] = (base_fwd, (*official_tree(small), x))
        t = median_times(calls, args.repeats)
        ref = base_fwd(jparams, jstats, x)
        fn, fargs = calls["fast", 0.0]
        full = fn(*fargs)
        for ratio in RATIOS:
            row = dict(shape=name, batch=batch, length=length, ratio=ratio,
                       states=list(plans[ratio].kept_counts), t_base=t["base"],
                       t_fast=t["fast", ratio])
            if ratio == 0.0:
                row["max_abs_diff"] = float(jnp.max(jnp.abs(full - ref)))
                row["t_official_pruned"] = t["base"]
            elif args.official_pruned:
                row["t_official_pruned"] = t["official", ratio]
            rows.append(row)
            print(_row_text(row), file=sys.stderr, flush=True)
    return rows


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
            *[f"ours {round(100 * r)} %" for r in RATIOS[1:]], "paper (aire-prune T3)",
            "max abs Δ log p (ours full vs baseline)"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for name in dict.fromkeys(r["shape"] for r in rows):
        rs = [r for r in rows if r["shape"] == name]
        r0 = rs[0]
        cells = [f"{name} ({r0['batch']}, {r0['length']})", f"{1e3 * r0['t_base']:.1f} ms"]
        for r in rs:
            cells.append(f"{1e3 * r['t_fast']:.1f} ms: {r['t_base'] / r['t_fast']:.2f}×")
        pr, pf = PAPER[name]
        cells.append(f"{pf}× at {round(100 * pr)} %")
        cells.append(f"{r0.get('max_abs_diff', float('nan')):.1e}")
        lines.append("| " + " | ".join(cells) + " |")
    if args.official_pruned:
        lines += ["", "Official path on the same dimension-reduced models (speed-up vs its full "
                  "model):", ""]
        lines.append("| shape | " + " | ".join(f"{round(100 * r)} %" for r in RATIOS[1:]) + " |")
        lines.append("|---|" + "---|" * (len(RATIOS) - 1))
        for name in dict.fromkeys(r["shape"] for r in rows):
            rs = [r for r in rows if r["shape"] == name][1:]
            lines.append(f"| {name} | " + " | ".join(
                f"{r['t_base'] / r['t_official_pruned']:.2f}×" for r in rs) + " |")
    lines += ["", "Kept states per layer (AIRE plan):", ""]
    for r in rows:
        lines.append(f"- {r['shape']} {round(100 * r['ratio'])} %: {r['states']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    p.add_argument("--batch", type=int, default=2, help="batch size (CPU: keep it small)")
    p.add_argument("--paper-batch", action="store_true", help="use the papers' batch sizes")
    p.add_argument("--length", type=int, default=None, help="cap the sequence length")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--method", default="auto", choices=[*METHODS, "auto"],
                   help="recurrence kernel of our model (ssm_bridge.scan)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--official-pruned", action="store_true",
                   help="also time the official path on the pruned models")
    args = p.parse_args(argv)
    rows = run(args)
    print(markdown(rows, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
