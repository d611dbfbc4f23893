"""Sweep benchmark: 10 methods × 20 ratios in one batched pass vs one evaluation per plan.

Run: ``.venv/bin/python benchmarks/bench_sweep.py [--model random|s5_digits|...] [--repeats 3]``

Both paths evaluate the same 200 KeepPlans on the same test set and must give the same
accuracies (checked).  ``--model random`` is a random S5 stack on random data (shape from
``--layers``, ``--d-model``, ``--state``, ``--length``, ``--examples``); a bundled
checkpoint name runs on its own test set.  The naive path is what a user would write:
``apply(mode="mask")`` then ``evaluate`` per plan, with the evaluation step compiled once
and reused.  Compile time is excluded from both (one warm-up each); each time is the best
of ``--repeats``.

Also printed: the *sharing bound*, (plans × layers) / (distinct mask prefixes summed over
layers).  It is the speed-up the sweep would get from sharing alone if every layer
evaluation cost the same in both paths: the layers are nonlinear, so every distinct prefix
is a different network from that layer on and must be computed.  Prints a Markdown table.
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


def random_problem(args):
    config = S5Config(d_model=args.d_model, n_layers=args.layers, state_sizes=args.state,
                      d_input=1, n_classes=args.classes, bidirectional=True,
                      dt_min=0.001, dt_max=0.1)
    variables = random_variables(config, seed=0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.examples, args.length, 1)).astype(np.float32)
    y = np.argmax(log_probabilities(variables, config, x, batch_size=args.batch), axis=-1)
    return variables, config, x, y


def bundled_problem(name):
    from ssm_bridge.bundled import load_bundled

    ckpt, data = load_bundled(name)
    return ckpt.variables, ckpt.config, data.x_test, data.y_test


def best_time(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="random",
                        help="'random' or a bundled checkpoint (s5_digits, s5_mnist1d, ...)")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--d-model", type=int, default=16)
    parser.add_argument("--state", type=int, default=8, help="stored modes per layer (P)")
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--examples", type=int, default=256)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    if args.model == "random":
        variables, config, x, y = random_problem(args)
    else:
        variables, config, x, y = bundled_problem(args.model)
    ratios = tuple(np.round(np.arange(20) * 0.05, 10))

    t0 = time.perf_counter()
    plans = make_plans(extract(variables, config), SWEEP_METHODS, ratios)
    t_plans = time.perf_counter() - t0

    def naive():
        return [evaluate(apply(variables, config, p)[0], config, x, y, batch_size=args.batch)
                for p in plans]

    def batched():
        return sweep(variables, config, x, y, plans=plans, batch_size=args.batch,
                     progress=False)

    # warm-up (compilation) of both paths
    evaluate(apply(variables, config, plans[0])[0], config, x, y, batch_size=args.batch)
    batched()
    t_naive, naive_results = best_time(naive, args.repeats)
    t_sweep, result = best_time(batched, args.repeats)

    same = np.array_equal(result.accuracy, [r.accuracy for r in naive_results])
    bound = len(plans) * config.n_layers / sum(result.distinct)
    kind = type(config).__name__.removesuffix("Config")
    print(f"{args.model} {kind} stack: {config.n_layers} layers, H = {config.d_model}, "
          f"P = {config.state_sizes} ({'bi' if config.bidirectional else 'uni'}directional), "
          f"L = {x.shape[1]}, {x.shape[0]} examples, batch {args.batch}; {len(plans)} plans "
          f"(10 methods × 20 ratios); best of {args.repeats}; jax {jax.__version__} on "
          f"{jax.devices()[0].platform} ({platform.processor() or platform.machine()})")
    print(f"distinct mask prefixes per layer: {result.distinct}; sharing bound "
          f"{bound:.1f}×; plan making (extract + mor.prune × {len(plans)}): {t_plans:.2f} s "
          "(both paths need it, not timed)")
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
