"""Network reduction benchmark: every method's largest ratio within 1 point, chosen on
validation data carved from the training set (issue 12).

Run: ``.venv/bin/python benchmarks/bench_network_reduction.py [--models s5_digits,...]
[--points 1] [--grid]``

Per bundled checkpoint (or checkpoint path with metadata naming its task): the validation
(20 %) and calibration (10 %) splits of the training data (:mod:`ssm_bridge.budgets`), the
calibration moments (:mod:`ssm_bridge.calibration`), then for every method the ratio of
0, 0.05, …, 0.95 chosen on the validation split (largest within ``--points``) and the test
accuracy of that model — the test set is evaluated once per method, after the choice.
``--grid`` also prints the test accuracy at a coarse grid of ratios (a first reading).

Methods: aire, last, global_magnitude, uniform_magnitude, balanced_truncation, aire_calibrated,
balanced_truncation_calibrated.  Balanced ratios count real states (stored modes for S5
layers whose reduced poles are all complex pairs).  Prints Markdown.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from ssm_bridge import apply, evaluate, extract, sweep
from ssm_bridge.budgets import choose_ratio, training_splits
from ssm_bridge.calibration import calibrate, make_plan
from ssm_bridge.jobs import resolve_checkpoint

METHODS = ("aire", "last", "global_magnitude", "uniform_magnitude", "balanced_truncation",
           "aire_calibrated", "balanced_truncation_calibrated")
RATIOS = tuple(round(0.05 * i, 10) for i in range(20))
GRID = (0.0, 0.25, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)


def run(name: str, points: float, grid: bool) -> None:
    res = resolve_checkpoint(name)
    v, cfg = res.variables, res.config
    systems = extract(v, cfg)
    val, cal_split = training_splits(res.metadata, res.task, None)
    t0 = time.perf_counter()
    cal = calibrate(v, cfg, cal_split.x)
    t_cal = time.perf_counter() - t0
    plans = {(m, r): make_plan(systems, m, ratio=r, calibration=cal)
             for m in METHODS for r in RATIOS}
    choices = choose_ratio(v, cfg, val, list(METHODS), max_drop=points, ratios=RATIOS,
                           plans=plans, calibration=cal)
    full = evaluate(v, cfg, res.x_test, res.y_test)
    print(f"\n### {name} (test accuracy {100 * full.accuracy:.2f} %, state sizes "
          f"{list(cfg.state_sizes)}; validation {len(val.y)}, calibration {len(cal_split.y)} "
          f"training examples, calibration {t_cal:.1f} s)\n")
    print(f"| method | validation-chosen ratio (≤ {points:g} pt) | test accuracy there (%) "
          "| test drop (pt) | state sizes |")
    print("|---|---|---|---|---|")
    rows = []
    for m in METHODS:
        r = choices[m].ratio
        plan = plans[(m, r)]
        small, small_cfg = apply(v, cfg, plan, mode="remove", calibration=cal)
        acc = evaluate(small, small_cfg, res.x_test, res.y_test).accuracy
        rows.append((r, m, acc, small_cfg.state_sizes))
    for r, m, acc, sizes in sorted(rows, key=lambda row: -row[0]):
        print(f"| {m} | {r:g} | {100 * acc:.2f} | {100 * (full.accuracy - acc):+.2f} | "
              f"{list(sizes)} |")
    if grid:
        out = sweep(v, cfg, res.x_test, res.y_test,
                    plans=[make_plan(systems, m, ratio=r, calibration=cal)
                           for m in METHODS for r in GRID], calibration=cal)
        acc = np.asarray(out.accuracy).reshape(len(METHODS), len(GRID))
        print("\n| method | " + " | ".join(f"{r:g}" for r in GRID) + " |")
        print("|---|" + "---|" * len(GRID))
        for m, row in zip(METHODS, acc, strict=True):
            print(f"| {m} | " + " | ".join(f"{100 * a:.1f}" for a in row) + " |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="s5_digits,s5_mnist1d,s4d_digits")
    p.add_argument("--points", type=float, default=1.0)
    p.add_argument("--grid", action="store_true")
    args = p.parse_args()
    warnings.simplefilter("ignore")
    for name in args.models.split(","):
        run(name.strip(), args.points, args.grid)


if __name__ == "__main__":
    main()
