"""Reproduce docs/results.md: train CPU presets on several tasks × seeds, sweep every method.

    python scripts/results.py                     # default grid, outputs under out/results/
    python scripts/results.py --doc docs/results.md   # also refresh the tables in the doc

For each (task, model, seed) it trains the ``cpu`` preset (``ssm_bridge.train.train``; a run
directory already present is reused), evaluates the full model on the test set, and runs
``ssm_bridge.sweep`` over the ten modal methods (``ssm_bridge.SWEEP_METHODS``) × ratios
0, 0.05, …, 1 on the test set. Per method it reports the largest ratio within 1 point of
the full model (``ssm_bridge.metrics.largest_ratio_within``), mean ± standard deviation and
range over the seeds, plus three checks of the papers' claims:

- AIRE vs LAST: per seed, which keeps accuracy within 1 point to the larger ratio;
- step shape: the largest accuracy drop between two consecutive ratios, as a share of the
  whole drop from ratio 0 to ratio 1 (≈ 1: one step; ≈ 0.05: a smooth ramp);
- whole layers emptied: the smallest ratio at which a method leaves a layer at its minimum
  of one unit, and the per-layer kept fraction at the method's within-1-point ratio.

Checkpoints and raw sweeps go to ``--out`` (default ``out/results``, gitignored).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

DEFAULT_RUNS = ("digits:s5", "mnist1d:s5", "listops:s5", "digits:s4d")
RATIOS = tuple(round(0.05 * i, 2) for i in range(21))
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def run_one(task: str, model: str, seed: int, out: Path, *, progress: bool) -> dict:
    """Train (or reuse) one run and sweep it; the raw sweep is cached as sweep.json."""
    import ssm_bridge as sb
    from ssm_bridge.data import load_task
    from ssm_bridge.train import load_run_metadata, model_inputs, train

    rundir = out / f"{task}_{model}_s{seed}"
    if not (rundir / "model.msgpack").is_file():
        cmd = f"mor train {task} --model {model} --preset cpu --seed {seed} --out {rundir}"
        train(task, model=model, preset="cpu", seed=seed, out=rundir, progress=progress,
              command=cmd)
    cache = rundir / "sweep.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    meta = load_run_metadata(rundir)
    ckpt = sb.load_checkpoint(rundir / "model.msgpack")
    data = load_task(meta["task"], seed=meta["data_seed"], **meta["task_options"])
    x, y = model_inputs(data, "test"), data.y_test
    full = sb.evaluate(ckpt.variables, ckpt.config, x, y, batch_size=meta["eval_batch_size"])
    t0 = time.perf_counter()
    res = sb.sweep(ckpt.variables, ckpt.config, x, y, methods=sb.SWEEP_METHODS, ratios=RATIOS,
                   seed=seed, progress=progress)
    sweep_s = time.perf_counter() - t0
    nr = len(RATIOS)
    kept = {m: [list(res.plans[i * nr + j].kept_counts) for j in range(nr)]
            for i, m in enumerate(res.methods)}
    record = {
        "task": task, "model": model, "seed": seed,
        "train_wall_time_s": meta["wall_time_s"], "sweep_time_s": round(sweep_s, 2),
        "full_accuracy": full.accuracy, "n_test": full.count,
        "nunits": list(ckpt.config.nunits),
        "methods": list(res.methods), "ratios": list(res.ratios),
        "accuracy": res.grid("accuracy").tolist(), "loss": res.grid("loss").tolist(),
        "kept_counts": kept,
    }
    from mor.plan import atomic_write_text

    atomic_write_text(cache, json.dumps(record, indent=1))
    return record


def step_share(ratios, acc) -> float:
    """Largest drop between consecutive ratios / total drop from ratio 0 to the last one."""
    acc = np.asarray(acc, float)
    total = acc[0] - acc[-1]
    if total <= 0:
        return float("nan")
    return float(np.max(acc[:-1] - acc[1:]) / total)


def summarize(records: list[dict]) -> dict:
    from ssm_bridge.metrics import largest_ratio_within

    groups: dict[str, list[dict]] = {}
    for r in records:
        groups.setdefault(f"{r['task']}:{r['model']}", []).append(r)
    out = {}
    for key, recs in groups.items():
        methods = recs[0]["methods"]
        ratios = recs[0]["ratios"]
        per_method = {}
        for i, m in enumerate(methods):
            lr = [largest_ratio_within(ratios, r["accuracy"][i], r["full_accuracy"])
                  for r in recs]
            shares = [step_share(ratios, r["accuracy"][i]) for r in recs]
            first_empty = []
            kept_at = []
            for r, best in zip(recs, lr, strict=True):
                counts = np.asarray(r["kept_counts"][m])       # (ratios, layers)
                empty = np.nonzero((counts <= 1).any(axis=1))[0]
                first_empty.append(float(ratios[empty[0]]) if empty.size else None)
                j = ratios.index(best)
                kept_at.append((counts[j] / np.asarray(r["nunits"])).round(3).tolist())
            per_method[m] = {
                "largest_ratio": lr, "mean": float(np.mean(lr)), "std": float(np.std(lr)),
                "min": float(np.min(lr)), "max": float(np.max(lr)),
                "step_share": shares, "first_ratio_with_a_layer_at_one_unit": first_empty,
                "kept_fraction_per_layer_at_largest_ratio": kept_at,
                "mean_curve": np.mean([r["accuracy"][i] for r in recs], axis=0).tolist(),
                "mean_kept_fraction": np.mean(
                    [np.asarray(r["kept_counts"][m]) / np.asarray(r["nunits"]) for r in recs],
                    axis=0).tolist(),                          # (ratios, layers)
            }
        a, la = per_method["aire"]["largest_ratio"], per_method["last"]["largest_ratio"]
        out[key] = {
            "seeds": [r["seed"] for r in recs],
            "full_accuracy": [r["full_accuracy"] for r in recs],
            "n_test": recs[0]["n_test"], "nunits": recs[0]["nunits"], "ratios": ratios,
            "train_wall_time_s": [r["train_wall_time_s"] for r in recs],
            "sweep_time_s": [r["sweep_time_s"] for r in recs],
            "methods": per_method,
            "aire_vs_last": {"aire_larger": sum(x > y for x, y in zip(a, la, strict=True)),
                             "equal": sum(x == y for x, y in zip(a, la, strict=True)),
                             "last_larger": sum(x < y for x, y in zip(a, la, strict=True))},
        }
    return out


def tables(summary: dict) -> str:
    lines: list[str] = []
    for key, s in summary.items():
        task, model = key.split(":")
        full = 100 * np.asarray(s["full_accuracy"])
        lines += [
            f"### {model.upper()} on {task} (seeds {', '.join(map(str, s['seeds']))})",
            "",
            f"Full model: {full.mean():.2f} ± {full.std():.2f} % test accuracy "
            f"(n = {s['n_test']}; per seed {', '.join(f'{v:.2f}' for v in full)}); units per "
            f"layer {s['nunits']}; training {np.mean(s['train_wall_time_s']):.0f} s, sweep "
            f"{np.mean(s['sweep_time_s']):.0f} s per seed (2 shared CPU cores).",
            "",
            "| method | largest ratio within 1 pt: mean ± sd | range | per seed | "
            "step share (mean) | first ratio with a layer at 1 unit |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        order = sorted(s["methods"], key=lambda m: -s["methods"][m]["mean"])
        for m in order:
            d = s["methods"][m]
            fe = [("—" if v is None else f"{v:.2f}") for v in
                  d["first_ratio_with_a_layer_at_one_unit"]]
            share = np.nanmean(d["step_share"]) if np.any(np.isfinite(d["step_share"])) \
                else float("nan")
            lines.append(
                f"| {m} | {d['mean']:.2f} ± {d['std']:.2f} | {d['min']:.2f}–{d['max']:.2f} | "
                f"{', '.join(f'{v:.2f}' for v in d['largest_ratio'])} | {share:.2f} | "
                f"{', '.join(fe)} |"
            )
        av = s["aire_vs_last"]
        lines += ["", f"AIRE vs LAST (per seed): AIRE larger {av['aire_larger']}, equal "
                  f"{av['equal']}, LAST larger {av['last_larger']}.", ""]
        lines += ["Mean accuracy (%) against ratio, AIRE / LAST / global_hinf / uniform_hinf:",
                  "", "| ratio | " + " | ".join(f"{r:.2f}" for r in s["ratios"][::2]) + " |",
                  "|---|" + "---:|" * len(s["ratios"][::2])]
        for m in ("aire", "last", "global_hinf", "uniform_hinf"):
            curve = 100 * np.asarray(s["methods"][m]["mean_curve"])[::2]
            lines.append(f"| {m} | " + " | ".join(f"{v:.1f}" for v in curve) + " |")
        kept = s["methods"]["aire"]["kept_fraction_per_layer_at_largest_ratio"]
        lines += ["", "AIRE kept fraction per layer at its within-1-point ratio, per seed: "
                  + "; ".join(str(k) for k in kept) + ".", ""]
        lines += ["Kept fraction per layer (mean over seeds; layer 0 / layer 1 / …) against "
                  "the global ratio:", "",
                  "| method | " + " | ".join(f"{r:.1f}" for r in s["ratios"][2:20:4]) + " |",
                  "|---|" + "---:|" * len(s["ratios"][2:20:4])]
        for m in ("aire", "last", "global_energy", "uniform_energy"):
            kf = np.asarray(s["methods"][m]["mean_kept_fraction"])[2:20:4]
            lines.append(f"| {m} | " + " | ".join(
                " / ".join(f"{v:.2f}" for v in row) for row in kf) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="*", default=list(DEFAULT_RUNS),
                        help="task:model pairs (default: %(default)s)")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--out", default="out/results")
    parser.add_argument("--doc", default=None, help="refresh the tables block of this file")
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = []
    t0 = time.perf_counter()
    for spec in args.runs:
        task, model = spec.split(":")
        for seed in args.seeds:
            rec = run_one(task, model, seed, out, progress=args.progress)
            records.append(rec)
            print(f"{task}:{model} seed {seed}: full {100 * rec['full_accuracy']:.2f} %, "
                  f"train {rec['train_wall_time_s']:.0f} s, sweep {rec['sweep_time_s']:.0f} s "
                  f"[{time.perf_counter() - t0:.0f} s]", flush=True)
    summary = summarize(records)
    from mor.plan import atomic_write_text

    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1))
    text = tables(summary)
    atomic_write_text(out / "tables.md", text + "\n")
    print(text)
    if args.doc:
        doc = Path(args.doc)
        body = doc.read_text(encoding="utf-8")
        if BEGIN not in body or END not in body:
            raise SystemExit(f"{doc} has no {BEGIN} … {END} block")
        head, rest = body.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        atomic_write_text(doc, f"{head}{BEGIN}\n{text}\n{END}{tail}")
        print(f"refreshed {doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
