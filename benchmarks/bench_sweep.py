"""Sweep benchmark: 10 methods × 20 ratios in one batched pass vs one evaluation per plan.

Run: ``.venv/bin/python benchmarks/bench_sweep.py [--layers 2 --d-model 16 --state 8 ...]``

Both paths evaluate the same 200 KeepPlans of a random S5 stack on the same random test
set and must give the same accuracies (checked).  The naive path is what a user would
write: ``apply(mode="mask")`` then ``evaluate`` per plan, with the evaluation step
compiled once and reused.  Compile time is excluded from both (one warm-up each).
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import platform
import time

import jax
import numpy as np

from ssm_bridge import (
    SWEEP_METHODS,
    S5Config,
    apply,
    evaluate,
    extract,
    log_probabilities,
    make_plans,
    random_variables,
    sweep,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--d-model", type=int, default=16)
    parser.add_argument("--state", type=int, default=8, help="stored modes per layer (P)")
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--examples", type=int, default=256)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--classes", type=int, default=10)
    args = parser.parse_args()

    config = S5Config(d_model=args.d_model, n_layers=args.layers, state_sizes=args.state,
                      d_input=1, n_classes=args.classes, bidirectional=True,
                      dt_min=0.001, dt_max=0.1)
    variables = random_variables(config, seed=0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.examples, args.length, 1)).astype(np.float32)
    y = np.argmax(log_probabilities(variables, config, x, batch_size=args.batch), axis=-1)
    ratios = tuple(np.round(np.arange(20) * 0.05, 10))

    t0 = time.perf_counter()
    plans = make_plans(extract(variables, config), SWEEP_METHODS, ratios)
    t_plans = time.perf_counter() - t0

    # warm-up (compilation) of both paths
    evaluate(apply(variables, config, plans[0])[0], config, x, y, batch_size=args.batch)
    sweep(variables, config, x, y, plans=plans, batch_size=args.batch, progress=False)

    t0 = time.perf_counter()
    naive = [evaluate(apply(variables, config, p)[0], config, x, y, batch_size=args.batch)
             for p in plans]
    t_naive = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = sweep(variables, config, x, y, plans=plans, batch_size=args.batch, progress=False)
    t_sweep = time.perf_counter() - t0

    same = np.array_equal(result.accuracy, [r.accuracy for r in naive])
    print(f"S5 stack: {args.layers} layers, H = {args.d_model}, P = {args.state} (bidirectional, "
          f"conj_sym), L = {args.length}, {args.examples} examples, batch {args.batch}; "
          f"{len(plans)} plans (10 methods × 20 ratios); jax {jax.__version__} on "
          f"{jax.devices()[0].platform} ({platform.processor() or platform.machine()})")
    print(f"distinct mask prefixes per layer: {result.distinct}; plan making (extract + "
          f"mor.prune × {len(plans)}): {t_plans:.2f} s (both paths need it, not timed)")
    print()
    print("| path | time (s) | per plan (ms) | speed-up |")
    print("|---|---|---|---|")
    print(f"| naive: apply(mask) + evaluate per plan | {t_naive:.2f} | "
          f"{1e3 * t_naive / len(plans):.1f} | 1.0× |")
    print(f"| batched sweep (one pass) | {t_sweep:.2f} | {1e3 * t_sweep / len(plans):.1f} | "
          f"{t_naive / t_sweep:.1f}× |")
    print()
    print(f"same accuracies: {same}")
    if not same:
        raise SystemExit("the sweep and the naive loop disagree")


if __name__ == "__main__":
    main()
