"""Reproduce docs/results.md (issue 13): how far paper-shaped S5 models can be pruned.

    python scripts/results.py --runs runs13 --doc docs/results.md          # 3 tasks × 3 seeds
    python scripts/results.py --runs runs13 --tasks mnist1d --seeds 0      # one model
    python scripts/results.py --quick --runs /tmp/smoke                    # smoke run (tiny)
    python scripts/results.py --runs runs13 --task-seeds digits32=0 \
        --task-methods digits32=aire,last,random --task-finetune-tries digits32=1  # per task

For each task × seed it uses the run directory ``RUNS/TASK_s5_sSEED`` (``mor train TASK
--model s5 --preset paper_cpu --seed SEED --out DIR``), training it when it is missing, and
measures, caching every result in ``DIR/results13.json`` (a rerun computes only what is new):

1. **Validation-chosen ratios**, on a validation set the model never trained on
   (:func:`holdout`): mnist1d (generated) draws 4,000 fresh sequences from the same
   generator with seed ``data seed + 10,000``; digits32 and japanese_vowels (fixed data)
   split the test set into two fixed stratified halves (seed 13): choose on one, report the
   test accuracy on the other. (The validation split ``mor prune --max-drop`` carves from
   the *training* data is optimistic here: the full model scores 100 % on it.) Calibration
   moments still come from the training data (:func:`ssm_bridge.budgets.training_splits`).
   Per method, the largest ratio of 0, 0.1, …, 1 (then refined above the choice) whose
   validation accuracy is within 1 point of the full model's there; the test accuracy of
   that model, measured once.
2. **Fine-tuning.** For aire, last and balanced_truncation: the dimension-reduced model at
   the chosen ratio, then at larger ratios step by step, is fine-tuned
   (:func:`ssm_bridge.finetune.finetune`, a fixed number of steps) on the training split
   only, and kept while its validation accuracy after fine-tuning stays within 1 point (at
   most ``--finetune-tries`` ratios).
3. **In-training compression** (mnist1d, seed 0): the run ``RUNS/mnist1d_s5_s0_intrain``
   (``--reduce-every 1000 --tol 0.02 --reduction balanced``; energy if balanced fails) against
   a model of its final size trained from scratch (``paper_cpu`` with ``state_size`` set
   to the nearest uniform size) and against pruning the large model after training to the
   same per-layer sizes (aire, balanced truncation; without and with fine-tuning).

The tables, the checks of the papers' claims, the command, the seeds and the wall time go to
``--doc`` between ``<!-- results:begin -->`` and ``<!-- results:end -->``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import shlex
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

TASKS = ("digits32", "mnist1d", "japanese_vowels")
SEEDS = (0, 1, 2)
METHODS = ("aire", "last", "balanced_truncation", "uniform_magnitude", "global_hinf", "random",
           "aire_calibrated", "balanced_truncation_calibrated")
FINETUNE_METHODS = ("aire", "last", "balanced_truncation")
INTRAIN = {"task": "mnist1d", "seed": 0, "reduce_every": 1000, "tol": 0.02,
           "reductions": ("balanced", "energy")}
CACHE_NAME = "results13.json"
CACHE_FORMAT = 1
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
NEARLY_EMPTY = 0.1  # a layer keeping at most this fraction of its units is "nearly emptied"
VALIDATION_POLICY = "held-out-2"
"""Version of the held-out validation rule (:func:`holdout`); part of every cache key, so
choices cached under an older rule (a split of the training data) are recomputed."""
FRESH_TASKS = ("mnist1d",)
"""Generated tasks: their validation set is drawn fresh from the task's generator."""
FRESH_SEED_OFFSET = 10_000
"""A fresh validation set is generated with seed ``data seed + FRESH_SEED_OFFSET`` (no run's)."""
HALF_SEED = 13
"""Seed of the permutation that halves a fixed test set (validation half, reported half)."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything that changes a cached result (part of each cache key)."""

    preset: str = "paper_cpu"
    methods: tuple[str, ...] = METHODS
    ratios: tuple[float, ...] = tuple(round(0.1 * i, 10) for i in range(11))
    refine: tuple[float, ...] = (0.025, 0.05, 0.075)
    max_drop: float = 1.0
    finetune_methods: tuple[str, ...] = FINETUNE_METHODS
    finetune_epochs: float = 2.0
    finetune_tries: int = 4
    finetune_step: float = 0.1
    reduce_every: int = INTRAIN["reduce_every"]
    tol: float = INTRAIN["tol"]
    validation: str = VALIDATION_POLICY
    n_fresh_validation: int = 4000

    @classmethod
    def quick(cls) -> Settings:
        """A smoke run: the tiny preset, a coarse grid, a few fine-tuning steps."""
        return cls(preset="tiny", ratios=(0.0, 0.5, 1.0), refine=(0.25,), finetune_epochs=0.5,
                   finetune_tries=2, finetune_step=0.25, reduce_every=2, tol=0.05,
                   n_fresh_validation=64)

    def key(self, *fields: str, extra: Any = None) -> str:
        """A short hash of the named fields and ``extra`` (e.g. the weights' checksum)."""
        data = {f: getattr(self, f) for f in fields}
        text = json.dumps([data, extra], sort_keys=True, default=list)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- cache
class Cache:
    """Results of one run directory, kept in ``DIR/results13.json`` (written atomically)."""

    def __init__(self, rundir: Path) -> None:
        self.path = rundir / CACHE_NAME
        self.data: dict = {"format": CACHE_FORMAT}
        if self.path.is_file():
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict) and loaded.get("format") == CACHE_FORMAT:
                self.data = loaded

    def get(self, section: str, key: str) -> Any:
        return self.data.get(section, {}).get(key)

    def put(self, section: str, key: str, value: Any) -> Any:
        from mor.io import atomic_write_text, json_safe

        self.data.setdefault(section, {})[key] = json_safe(value)
        atomic_write_text(self.path, json.dumps(self.data, indent=1, allow_nan=False) + "\n")
        return self.data[section][key]


# --------------------------------------------------------------------------- runs
def run_dir(runs: Path, task: str, seed: int, suffix: str = "") -> Path:
    return runs / f"{task}_s5_s{seed}{suffix}"


def train_command(task: str, seed: int, out: Path, preset: str, extra: str = "") -> str:
    return (f"mor train {task} --model s5 --preset {preset} --seed {seed} --out {out}"
            + (f" {extra}" if extra else ""))


def ensure_run(rundir: Path, task: str, seed: int, settings: Settings, *,
               progress: bool) -> None:
    """Train ``rundir`` (the ``paper_cpu`` preset, or ``tiny`` with --quick) if missing."""
    from ssm_bridge.train import train

    if (rundir / "model.msgpack").is_file():
        return
    print(f"training {rundir.name} ({settings.preset}) ...", flush=True)
    train(task, model="s5", preset=settings.preset, seed=seed, out=rundir, progress=progress,
          command=train_command(task, seed, rundir, settings.preset))


def load_run(rundir: Path) -> tuple[Any, dict, Any]:
    """Checkpoint, metadata and the task's data (same seed and options) of a run."""
    from ssm_bridge.checkpoint import load_checkpoint
    from ssm_bridge.data import load_task
    from ssm_bridge.train import load_run_metadata

    meta = load_run_metadata(rundir)
    ckpt = load_checkpoint(rundir / "model.msgpack")
    data = load_task(meta["task"], seed=int(meta["data_seed"]), **meta["task_options"])
    return ckpt, meta, data


def run_preset(meta: dict) -> Any:
    """The Preset the run was trained with (from its metadata)."""
    from ssm_bridge.presets import Preset

    names = {f.name for f in dataclasses.fields(Preset)}
    return Preset(**{k: v for k, v in meta["preset_fields"].items() if k in names})


# --------------------------------------------------------------------------- validation
def with_test(data: Any, x: np.ndarray, y: np.ndarray, lengths: np.ndarray) -> Any:
    """``data`` (a TaskData) with its test slot holding ``x, y, lengths`` instead."""
    return dataclasses.replace(data, x_test=x, y_test=y, lengths_test=lengths)


def rows_seen(x: np.ndarray, *others: np.ndarray) -> int:
    """How many rows of ``x`` are byte for byte equal to a row of one of ``others``."""
    seen = {row.tobytes() for arr in others for row in np.ascontiguousarray(arr)}
    return sum(row.tobytes() in seen for row in np.ascontiguousarray(x))


def fresh_validation(data: Any, meta: dict, n: int) -> tuple[Any, Any, dict]:
    """Validation drawn fresh from a generated task's generator; the test set unchanged.

    The task is regenerated with the run's options and the seed ``data seed +``
    :data:`FRESH_SEED_OFFSET` (same templates and settings, new random draws); its first
    ``n`` training sequences are the validation set. Raises if one of them equals a
    sequence of the run's training or test set.
    """
    from ssm_bridge.data import load_task

    seed = int(meta["data_seed"]) + FRESH_SEED_OFFSET
    fresh = load_task(meta["task"], seed=seed, **meta["task_options"])
    k = min(int(n), fresh.n_train)
    x, y, lengths = fresh.x_train[:k], fresh.y_train[:k], fresh.lengths_train[:k]
    same = rows_seen(x, data.x_train, data.x_test)
    if same:
        raise RuntimeError(f"{same} of the fresh validation sequences (generator seed {seed}) "
                           "equal training or test sequences of the run; change "
                           "FRESH_SEED_OFFSET")
    info = {"policy": "fresh", "generator_seed": seed, "data_seed": int(meta["data_seed"]),
            "n_validation": k, "n_test": data.n_test, "test": "the whole test set",
            "equal_to_run_data": same}
    return with_test(data, x, y, lengths), data, info


def split_test_halves(y: np.ndarray, seed: int = HALF_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Two fixed, stratified halves of a test set: (validation, reported) sorted indices.

    A seeded permutation, stably sorted by class, dealt alternately: each class splits
    as evenly as it can (counts differ by at most one); the validation half has
    ``ceil(n / 2)`` examples, the reported half ``floor(n / 2)``.
    """
    y = np.asarray(y)
    perm = np.random.default_rng(seed).permutation(len(y))
    order = perm[np.argsort(y[perm], kind="stable")]
    return np.sort(order[0::2]), np.sort(order[1::2])


def half_validation(data: Any) -> tuple[Any, Any, dict]:
    """Choose on one stratified half of a fixed test set, report on the other."""
    val, test = split_test_halves(data.y_test)

    def pick(i: np.ndarray) -> Any:
        return with_test(data, data.x_test[i], data.y_test[i], data.lengths_test[i])

    info = {"policy": "test_halves", "half_seed": HALF_SEED, "n_validation": len(val),
            "n_test": len(test), "n_test_whole": data.n_test,
            "test": "the other half of the test set",
            "validation_indices": val.tolist(), "test_indices": test.tolist()}
    return pick(val), pick(test), info


def holdout(data: Any, meta: dict, n_fresh: int) -> tuple[Any, Any, dict]:
    """(validation data, reported test data, policy) of a run: none of it trained on.

    Both are ``data`` with its test slot replaced, so fine-tuning on their training split
    (the run's) is judged on the validation examples and reported on the test ones.
    """
    if meta["task"] in FRESH_TASKS:
        return fresh_validation(data, meta, n_fresh)
    return half_validation(data)


class Model:
    """One trained run, with its splits, layers and (lazily) calibration."""

    def __init__(self, rundir: Path, settings: Settings) -> None:
        from ssm_bridge.budgets import training_splits
        from ssm_bridge.extract import extract
        from ssm_bridge.train import model_inputs

        self.rundir, self.settings = rundir, settings
        self.ckpt, self.meta, self.data = load_run(rundir)
        self.v, self.cfg = self.ckpt.variables, self.ckpt.config
        # calibration moments from the training data; choices on data never trained on
        _, self.cal_split = training_splits(self.meta, self.meta["task"], self.data)
        self.val_data, self.test_data, self.validation = holdout(
            self.data, self.meta, settings.n_fresh_validation)
        self.x_val, self.y_val = model_inputs(self.val_data, "test"), self.val_data.y_test
        self.x_test, self.y_test = model_inputs(self.test_data, "test"), self.test_data.y_test
        self.systems = extract(self.v, self.cfg)
        self.batch = int(self.meta["eval_batch_size"])
        self.weights = self.meta["checksums"]["weights"]
        self._calibration: Any = None

    @property
    def calibration(self) -> Any:
        from ssm_bridge.calibration import calibrate

        if self._calibration is None:
            self._calibration = calibrate(self.v, self.cfg, self.cal_split.x)
        return self._calibration

    def plan(self, method: str, ratio: float | None = None, budget: list[int] | None = None):
        from ssm_bridge.calibration import is_calibrated, make_plan

        cal = self.calibration if is_calibrated(method) else None
        if budget is not None:
            import mor

            return mor.prune(self.systems, method, budget=budget)
        return make_plan(self.systems, method, ratio=float(ratio), seed=int(self.meta["seed"]),
                         calibration=cal)

    def reduced(self, plan: Any) -> tuple[dict, Any]:
        from ssm_bridge.apply import apply

        return apply(self.v, self.cfg, plan, mode="remove", calibration=self._calibration)

    def test_accuracy(self, variables: dict, config: Any) -> float:
        from ssm_bridge.evaluate import evaluate

        return float(evaluate(variables, config, self.x_test, self.y_test,
                              batch_size=self.batch).accuracy)


# --------------------------------------------------------------------------- 1. pruning
def _validation_accuracy(m: Model, pairs: list[tuple[str, float]]) -> list[float]:
    """Validation accuracy of each (method, ratio), all in one sweep (one compilation)."""
    from ssm_bridge.sweep import sweep

    if not pairs:
        return []
    plans = [m.plan(meth, r) for meth, r in pairs]
    res = sweep(m.v, m.cfg, m.x_val, m.y_val, plans=plans, batch_size=m.batch,
                calibration=m._calibration)
    return [float(a) for a in res.accuracy]


def _refined_choices(m: Model, full_val: float) -> dict[str, dict]:
    """Per method: the coarse grid's choice, then the grid refined just above it."""
    from ssm_bridge.metrics import largest_ratio_within

    s = m.settings
    grid = [float(r) for r in s.ratios]
    pairs = [(meth, r) for meth in s.methods for r in grid]
    acc = dict(zip(pairs, _validation_accuracy(m, pairs), strict=True))
    coarse = {meth: largest_ratio_within(grid, [acc[meth, r] for r in grid], full_val,
                                         points=s.max_drop) for meth in s.methods}
    extra = [(meth, round(coarse[meth] + d, 10)) for meth in s.methods for d in s.refine
             if coarse[meth] + d < 1 and round(coarse[meth] + d, 10) not in grid]
    acc.update(zip(extra, _validation_accuracy(m, extra), strict=True))
    out = {}
    for meth in s.methods:
        ratios = sorted(r for (mm, r) in acc if mm == meth)
        curve = [acc[meth, r] for r in ratios]
        out[meth] = {"ratio": largest_ratio_within(ratios, curve, full_val, points=s.max_drop),
                     "coarse_ratio": coarse[meth], "ratios": ratios,
                     "validation_accuracy": curve,
                     "coarse_kept_counts": [list(m.plan(meth, r).kept_counts) for r in grid]}
    return out


def prune_section(m: Model) -> dict:
    """Per method: validation curve, chosen ratio, test accuracy there, kept per layer."""
    from ssm_bridge.evaluate import evaluate
    from ssm_bridge.sweep import sweep

    t0 = time.perf_counter()
    full_val = float(evaluate(m.v, m.cfg, m.x_val, m.y_val, batch_size=m.batch).accuracy)
    out = _refined_choices(m, full_val)
    plans = [m.plan(meth, out[meth]["ratio"]) for meth in m.settings.methods]
    test = sweep(m.v, m.cfg, m.x_test, m.y_test, plans=plans, batch_size=m.batch,
                 calibration=m._calibration)
    for meth, plan, acc in zip(m.settings.methods, plans, test.accuracy, strict=True):
        out[meth].update(test_accuracy=float(acc), kept_counts=list(plan.kept_counts),
                                units=list(plan.nunits))
    return {"validation": m.validation, "full_test_accuracy": m.test_accuracy(m.v, m.cfg),
            "full_test_accuracy_recorded": float(m.meta["test_accuracy"]),
            "full_validation_accuracy": full_val, "n_validation": len(m.y_val),
            "n_test": len(m.y_test), "state_sizes": list(m.cfg.state_sizes),
            "methods": out, "time_s": round(time.perf_counter() - t0, 1)}


# --------------------------------------------------------------------------- 2. fine-tuning
def finetune_steps(m: Model) -> int:
    """The fixed fine-tuning budget: ``finetune_epochs`` epochs of the training split."""
    n = m.data.n_train
    return max(1, int(m.settings.finetune_epochs * (n // run_preset(m.meta).batch_size)))


def _finetune_at(m: Model, method: str, ratio: float, ft_data: Any, steps: int) -> dict:
    """Reduce by ``method`` at ``ratio``, fine-tune, and measure validation and test."""
    from ssm_bridge.finetune import finetune

    small, cfg = m.reduced(m.plan(method, ratio))
    res = finetune(small, cfg, ft_data, steps=steps, preset=run_preset(m.meta),
                   seed=int(m.meta["seed"]), progress=False)
    return {"ratio": ratio, "state_sizes": list(cfg.state_sizes),
            "validation_before": res.before["test_accuracy"],
            "validation_after": res.after["test_accuracy"],
            "test_after": m.test_accuracy(res.result.variables, cfg),
            "time_s": round(res.time_s, 1)}


def finetune_section(m: Model, pruning: dict) -> dict:
    """Per method: fine-tune at the chosen ratio and above while validation stays ≤ 1 pt."""
    s = m.settings
    ft_data = m.val_data
    steps = finetune_steps(m)
    floor = pruning["full_validation_accuracy"] - s.max_drop / 100 - 1e-12
    out: dict[str, Any] = {"steps": steps, "methods": {}}
    for meth in s.finetune_methods:
        ratio, tries = float(pruning["methods"][meth]["ratio"]), []
        best = None
        while len(tries) < s.finetune_tries and ratio <= 1.0 + 1e-9:
            tries.append(_finetune_at(m, meth, round(ratio, 10), ft_data, steps))
            if tries[-1]["validation_after"] < floor:
                break
            best = tries[-1]
            ratio += s.finetune_step
        capped = best is tries[-1] and len(tries) == s.finetune_tries
        out["methods"][meth] = {"tries": tries, "best": best, "capped": capped}
    return out


# --------------------------------------------------------------------------- 3. in-training
def ensure_intrain(runs: Path, settings: Settings, *, progress: bool) -> Path | None:
    """The in-training-compressed run (trained here if missing; balanced, else energy)."""
    from ssm_bridge.train import train

    task, seed = INTRAIN["task"], INTRAIN["seed"]
    out = run_dir(runs, task, seed, "_intrain")
    if (out / "model.msgpack").is_file():
        return out
    for reduction in INTRAIN["reductions"]:
        extra = (f"--reduce-every {settings.reduce_every} --tol {settings.tol} "
                 f"--reduction {reduction}")
        print(f"training {out.name} ({reduction}) ...", flush=True)
        try:
            train(task, model="s5", preset=settings.preset, seed=seed, out=out, force=True,
                  progress=progress, reduce_every=settings.reduce_every, tol=settings.tol,
                  reduction=reduction,
                  command=train_command(task, seed, out, settings.preset, extra))
            return out
        except Exception as err:  # as the queue: energy when balanced fails
            print(f"  {reduction} failed: {err}", flush=True)
    return None


def ensure_scratch(runs: Path, size: int, settings: Settings, *, progress: bool) -> Path:
    """A model of uniform state size ``size`` trained from scratch (same preset otherwise)."""
    from ssm_bridge.presets import get_preset
    from ssm_bridge.train import train

    task, seed = INTRAIN["task"], INTRAIN["seed"]
    out = run_dir(runs, task, seed, f"_scratch{size}")
    if not (out / "model.msgpack").is_file():
        print(f"training {out.name} ...", flush=True)
        preset = get_preset(task, settings.preset, model="s5").with_overrides(state_size=size)
        train(task, model="s5", preset=preset, seed=seed, out=out, progress=progress,
              command=f"{train_command(task, seed, out, settings.preset)} (state_size={size})")
    return out


def _post_training(m: Model, sizes: list[int], ft_data: Any, steps: int) -> dict:
    """Prune the large model to ``sizes`` stored modes per layer: aire and balanced."""
    from ssm_bridge.finetune import finetune

    rows = {}
    for meth in ("aire", "balanced_truncation"):
        per_unit = [s.nstates // s.nunits for s in m.systems]
        budget = sizes if meth == "aire" else [k * u for k, u in zip(sizes, per_unit,
                                                                       strict=True)]
        t0 = time.perf_counter()
        try:
            small, cfg = m.reduced(m.plan(meth, budget=budget))
        except Exception as err:  # reported in the table
            rows[meth] = {"error": str(err)}
            continue
        prune_s = time.perf_counter() - t0
        res = finetune(small, cfg, ft_data, steps=steps, preset=run_preset(m.meta),
                       seed=int(m.meta["seed"]), progress=False)
        rows[meth] = {"state_sizes": list(cfg.state_sizes),
                      "test_accuracy": m.test_accuracy(small, cfg), "prune_time_s": prune_s,
                      "test_after_finetune": m.test_accuracy(res.result.variables, cfg),
                      "finetune_time_s": round(res.time_s, 1)}
    return rows


def intrain_section(m: Model, intrain: Path, scratch: Path) -> dict:
    """Compare in-training compression, from-scratch training and post-training pruning."""
    from ssm_bridge.train import load_run_metadata

    mi, ms = load_run_metadata(intrain), load_run_metadata(scratch)
    sizes = [int(k) for k in mi["state_sizes"]]
    ft_data = m.val_data
    return {
        "large": {"test_accuracy": m.meta["test_accuracy"], "wall_time_s": m.meta["wall_time_s"],
                  "state_sizes": list(m.cfg.state_sizes)},
        "intrain": {"test_accuracy": mi["test_accuracy"], "wall_time_s": mi["wall_time_s"],
                    "state_sizes": sizes, "reduction": mi.get("reduction"),
                    "reductions": [{k: r[k] for k in ("step", "state_sizes_after")}
                                   for r in mi.get("reductions", [])],
                    "command": mi.get("command")},
        "scratch": {"test_accuracy": ms["test_accuracy"], "wall_time_s": ms["wall_time_s"],
                    "state_sizes": list(ms["preset_fields"]["state_size"] for _ in sizes),
                    "command": ms.get("command")},
        "post_training": _post_training(m, sizes, ft_data, finetune_steps(m)),
        "finetune_steps": finetune_steps(m),
    }


# --------------------------------------------------------------------------- driver
def analyse_run(rundir: Path, settings: Settings) -> dict:
    """Sections 1 and 2 of one run, from the cache where possible."""
    cache = Cache(rundir)
    meta = json.loads((rundir / "model.meta.json").read_text(encoding="utf-8"))
    weights = meta["checksums"]["weights"]
    held_out = ("validation", "n_fresh_validation")
    k1 = settings.key("methods", "ratios", "refine", "max_drop", *held_out, extra=weights)
    k2 = settings.key("methods", "ratios", "refine", "max_drop", "finetune_methods",
                      "finetune_epochs", "finetune_tries", "finetune_step", *held_out,
                      extra=weights)
    pruning, tuning = cache.get("pruning", k1), cache.get("finetune", k2)
    if pruning is None or tuning is None:
        m = Model(rundir, settings)
        if pruning is None:
            pruning = cache.put("pruning", k1, prune_section(m))
        if tuning is None:
            t0 = time.perf_counter()
            tuning = finetune_section(m, pruning)
            tuning["time_s"] = round(time.perf_counter() - t0, 1)
            tuning = cache.put("finetune", k2, tuning)
    return {"task": meta["task"], "seed": meta["seed"], "run": str(rundir),
            "train_wall_time_s": meta["wall_time_s"], "pruning": pruning, "finetune": tuning}


def analyse_intrain(runs: Path, settings: Settings, *, progress: bool) -> dict | None:
    """Section 3 (mnist1d seed 0), cached in the large run's directory."""
    large = run_dir(runs, INTRAIN["task"], INTRAIN["seed"])
    intrain = ensure_intrain(runs, settings, progress=progress)
    if intrain is None:
        return None
    sizes = json.loads((intrain / "model.meta.json").read_text())["state_sizes"]
    scratch = ensure_scratch(runs, max(1, round(float(np.mean(sizes)))), settings,
                             progress=progress)
    cache = Cache(large)
    weights = [json.loads((d / "model.meta.json").read_text())["checksums"]["weights"]
               for d in (large, intrain, scratch)]
    key = settings.key("finetune_epochs", "validation", "n_fresh_validation", extra=weights)
    found = cache.get("intrain", key)
    if found is None:
        t0 = time.perf_counter()
        found = intrain_section(Model(large, settings), intrain, scratch)
        found["time_s"] = round(time.perf_counter() - t0, 1)
        found = cache.put("intrain", key, found)
    return found


# --------------------------------------------------------------------------- summaries
def step_share(acc: Any) -> float:
    """Largest drop between consecutive ratios / whole drop from ratio 0 to the last one."""
    acc = np.asarray(acc, float)
    total = acc[0] - acc[-1]
    return float(np.max(acc[:-1] - acc[1:]) / total) if total > 0 else float("nan")


def _coarse(rec: dict, meth: str, grid: list[float]) -> list[float]:
    d = rec["pruning"]["methods"][meth]
    lookup = dict(zip(d["ratios"], d["validation_accuracy"], strict=True))
    return [lookup[r] for r in grid]


def _min_kept(d: dict) -> float:
    return float(min(k / n for k, n in zip(d["kept_counts"], d["units"], strict=True)))


def _pm(values: list[float], fmt: str = "{:.2f}") -> str:
    v = np.asarray(values, float)
    return (fmt + " ± " + fmt).format(v.mean(), v.std()) if v.size else "—"


def _seeds(values: list[Any], fmt: str = "{:.2f}") -> str:
    return ", ".join(fmt.format(v) for v in values)


def pruning_table(recs: list[dict], settings: Settings) -> list[str]:
    from mor.io import markdown_table

    full = [100 * r["pruning"]["full_test_accuracy"] for r in recs]
    p0 = recs[0]["pruning"]
    lines = [f"Full model: test accuracy {_seeds(full)} % (seeds "
             f"{_seeds([r['seed'] for r in recs], '{}')}; {_test_words(p0)}); validation: "
             f"{_validation_words(p0)}, never trained on; full model "
             f"{_seeds([100 * r['pruning']['full_validation_accuracy'] for r in recs])} % "
             f"there; stored modes per layer {p0['state_sizes']}.", ""]
    rows = []
    for meth in settings.methods:
        ds = [r["pruning"]["methods"][meth] for r in recs]
        drops = [100 * (r["pruning"]["full_test_accuracy"] - d["test_accuracy"])
                 for r, d in zip(recs, ds, strict=True)]
        rows.append([meth, _pm([d["ratio"] for d in ds]), _seeds([d["ratio"] for d in ds],
                     "{:.3g}"), _seeds([100 * d["test_accuracy"] for d in ds]),
                     _pm(drops), sum(x <= settings.max_drop + 1e-9 for x in drops),
                     _seeds([_min_kept(d) for d in ds])])
    rows.sort(key=lambda row: -float(row[1].split(" ")[0]))
    lines.append(markdown_table(
        ["method", "ratio: mean ± sd", "per seed", "test acc. there (%)",
         "test drop (pt): mean ± sd", "test drop ≤ 1 pt", "smallest kept fraction of a layer"],
        rows))
    return lines


def _validation_words(p: dict) -> str:
    """The validation policy of a pruning record, in words."""
    v, n = p["validation"], p["n_validation"]
    if v["policy"] == "fresh":
        return (f"{n:,} sequences drawn fresh from the task's generator (seed data seed + "
                f"{FRESH_SEED_OFFSET:,}: same templates and settings, none equal to a training "
                f"or test sequence; 1 point = {n / 100:g} examples)")
    return (f"one stratified half of the test set ({n} of {v['n_test_whole']} examples, "
            f"seed {v['half_seed']})")


def _test_words(p: dict) -> str:
    """Which examples the test accuracy is reported on, in words."""
    v, n = p["validation"], p["n_test"]
    if v["policy"] == "fresh":
        return f"the whole test set, n = {n:,}"
    return (f"reported on the other half, n = {n} of {v['n_test_whole']}: one example = "
            f"{100 / n:.2f} pt; {100 * p['full_test_accuracy_recorded']:.2f} % on the whole "
            "test set")


def curve_table(recs: list[dict], settings: Settings) -> list[str]:
    from mor.io import markdown_table

    grid = [float(r) for r in settings.ratios]
    rows = [[meth] + [f"{100 * v:.1f}" for v in np.mean(
        [_coarse(r, meth, grid) for r in recs], axis=0)] for meth in settings.methods]
    return ["", "Validation accuracy (%) against ratio, mean over seeds:", "",
            markdown_table(["method"] + [f"{r:g}" for r in grid], rows)]


def finetune_table(recs: list[dict], settings: Settings) -> list[str]:
    from mor.io import markdown_table

    rows = []
    for meth in settings.finetune_methods:
        ds = [r["finetune"]["methods"][meth] for r in recs]
        best = [(d["best"]["ratio"] if d["best"] else None) for d in ds]
        shown = [("none" if b is None else ("≥ " if d["capped"] else "") + f"{b:.3g}")
                 for b, d in zip(best, ds, strict=True)]
        first = [100 * d["tries"][0]["test_after"] for d in ds]
        at_best = ["—" if d["best"] is None else f"{100 * d['best']['test_after']:.2f}"
                   for d in ds]
        times = [t["time_s"] for d in ds for t in d["tries"]]
        rows.append([meth, _seeds([r["pruning"]["methods"][meth]["ratio"] for r in recs],
                                  "{:.3g}"), ", ".join(shown), ", ".join(at_best),
                     _seeds(first), f"{np.mean(times):.0f} ({len(times)} in all)"])
    steps = recs[0]["finetune"]["steps"]
    return ["", f"With fine-tuning ({steps} steps = {settings.finetune_epochs:g} epochs of the "
            f"training split, judged on the held-out validation set; ratios stepped by "
            f"{settings.finetune_step:g} from the chosen one, at most "
            f"{settings.finetune_tries} tries; '≥': every try passed; 'none': the "
            "validation accuracy fell more than 1 point even at the ratio chosen without "
            "fine-tuning):", "",
            markdown_table(["method", "ratio without", "ratio with fine-tuning, per seed",
                            "test acc. there (%)",
                            "test acc. at the ratio without, after fine-tuning (%)",
                            "fine-tune time per try (s)"], rows)]


def intrain_table(it: dict) -> list[str]:
    from mor.io import markdown_table

    pct = lambda a: "—" if a is None else f"{100 * a:.2f}"  # noqa: E731
    big = it["large"]
    rows = [["large model (trained once, for the post-training rows)", big["state_sizes"],
             pct(big["test_accuracy"]), f"{big['wall_time_s']:.0f}"],
            [f"in-training compression ({(it['intrain']['reduction'] or {}).get('method')})",
             it["intrain"]["state_sizes"], pct(it["intrain"]["test_accuracy"]),
             f"{it['intrain']['wall_time_s']:.0f}"],
            ["same size from scratch (nearest uniform size)", it["scratch"]["state_sizes"],
             pct(it["scratch"]["test_accuracy"]), f"{it['scratch']['wall_time_s']:.0f}"]]
    for meth, d in it["post_training"].items():
        if "error" in d:
            rows.append([f"post-training {meth}", "—", f"failed: {d['error'][:80]}", "—"])
            continue
        t = big["wall_time_s"] + d["prune_time_s"]
        rows.append([f"post-training {meth}", d["state_sizes"], pct(d["test_accuracy"]),
                     f"{t:.0f}"])
        rows.append([f"post-training {meth} + fine-tuning ({it['finetune_steps']} steps)",
                     d["state_sizes"], pct(d["test_after_finetune"]),
                     f"{t + d['finetune_time_s']:.0f}"])
    red = "; ".join(f"step {r['step']}: {r['state_sizes_after']}"
                    for r in it["intrain"]["reductions"])
    return [f"Reductions during training: {red or 'none'}. Command: "
            f"`{it['intrain']['command']}`.", "",
            markdown_table(["model", "stored modes per layer", "test accuracy (%)",
                            "training time (s)"], rows)]


def _verdict(yes: bool, no: bool, known: bool = True) -> str:
    if not known:
        return "cannot tell (no accuracy drop on the grid)"
    return "yes" if yes else ("no" if no else "partly")


def claims_table(records: list[dict], it: dict | None, settings: Settings) -> list[str]:
    """The papers' claims against what these models show (a Markdown table's lines)."""
    from mor.io import markdown_table

    rows = _pruning_claims(records, settings) if records else []
    if it is not None:
        rows.append(_intrain_claim(it))
    return markdown_table(["claim (papers / CompreSSM)", "measured here", "shows?"],
                          rows).splitlines()


def _having(records: list[dict], *methods: str) -> list[dict]:
    """The records whose run analysed every one of ``methods``."""
    return [r for r in records if all(m in r["pruning"]["methods"] for m in methods)]


def _not_run(claim: str, *methods: str) -> list[str]:
    return [claim, "—", f"cannot tell (no model ran {' and '.join(methods)})"]


def _pruning_claims(records: list[dict], settings: Settings) -> list[list[str]]:
    return [_aire_vs_last(records), _step_claim(records, settings), _emptied_claim(records)]


def _aire_vs_last(records: list[dict]) -> list[str]:
    claim = "AIRE prunes more than LAST at equal loss (≤ 1 pt, validation-chosen)"
    records = _having(records, "aire", "last")
    if not records:
        return _not_run(claim, "aire", "last")
    n = len(records)
    a = [r["pruning"]["methods"]["aire"]["ratio"] for r in records]
    la = [r["pruning"]["methods"]["last"]["ratio"] for r in records]
    more, less = sum(x > y for x, y in zip(a, la, strict=True)), sum(
        x < y for x, y in zip(a, la, strict=True))
    ft = [[(r["finetune"]["methods"].get(m, {}).get("best") or {}).get("ratio", 0.0)
           for r in records] for m in ("aire", "last")]
    ft_more = sum(x > y for x, y in zip(*ft, strict=True))
    return [claim,
            f"AIRE larger in {more} of {n} models, equal in {n - more - less}, smaller in "
            f"{less}; mean {np.mean(a):.2f} vs {np.mean(la):.2f}; with fine-tuning AIRE "
            f"larger in {ft_more} of {n} (mean {np.mean(ft[0]):.2f} vs {np.mean(ft[1]):.2f})",
            _verdict(more > n / 2 and less == 0, more <= less)]


def _finite_mean(values: list[float]) -> float:
    """Mean of the finite values (NaN when there are none), without a warning."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else float("nan")


def _step_claim(records: list[dict], settings: Settings) -> list[str]:
    claim = "Step-shaped curve for AIRE (one cliff), smooth for the others"
    if not _having(records, "aire"):
        return _not_run(claim, "aire")
    grid = [float(r) for r in settings.ratios]
    methods = dict.fromkeys(m for r in records for m in r["pruning"]["methods"])
    share = {m: _finite_mean([step_share(_coarse(r, m, grid)) for r in _having(records, m)])
             for m in methods}
    others = _finite_mean([v for m, v in share.items() if m != "aire"])
    return [claim, f"largest single drop between consecutive ratios / whole drop: AIRE "
            f"{share['aire']:.2f}, other methods {others:.2f} (1 = one step)",
            _verdict(share["aire"] >= 0.5 and share["aire"] > others + 0.1,
                     share["aire"] <= others, bool(np.isfinite(share["aire"])))]


def _emptied_claim(records: list[dict]) -> list[str]:
    claim = "Whole layers nearly emptied by AIRE at its ratio"
    records = _having(records, "aire")
    if not records:
        return _not_run(claim, "aire")
    n = len(records)
    empty = [_min_kept(r["pruning"]["methods"]["aire"]) for r in records]
    tuned = [_min_kept_tuned(r, "aire") for r in records]
    hits = sum(e <= NEARLY_EMPTY for e in empty)
    hits_ft = sum(e is not None and e <= NEARLY_EMPTY for e in tuned)
    return [claim,
            f"a layer keeps ≤ {NEARLY_EMPTY:.0%} of its units in {hits} of {n} models "
            f"(smallest kept fraction {min(empty):.2f}–{max(empty):.2f}); with "
            f"fine-tuning, at AIRE's largest ratio, in {hits_ft} of {n} "
            f"(smallest kept fraction {_seeds([e for e in tuned if e is not None])})",
            _verdict(hits > n / 2, hits == 0 and hits_ft == 0)]


def _min_kept_tuned(rec: dict, meth: str) -> float | None:
    """Smallest per-layer kept fraction at ``meth``'s largest ratio with fine-tuning."""
    best = rec["finetune"]["methods"].get(meth, {}).get("best")
    if best is None:
        return None
    full = rec["pruning"]["state_sizes"]
    return float(min(k / f for k, f in zip(best["state_sizes"], full, strict=True)))


def _intrain_claim(it: dict) -> list[str]:
    post = [d for d in it["post_training"].values() if "error" not in d]
    best_post = max([d["test_accuracy"] for d in post], default=float("nan"))
    best_ft = max([d["test_after_finetune"] for d in post], default=float("nan"))
    acc, scratch = it["intrain"]["test_accuracy"], it["scratch"]["test_accuracy"]
    text = (f"in-training {100 * acc:.2f} % vs from scratch {100 * scratch:.2f} %, best "
            f"post-training {100 * best_post:.2f} % ({100 * best_ft:.2f} % fine-tuned)")
    beats = acc > scratch and acc > best_post and acc > best_ft
    return ["In-training compression beats training small and pruning after training", text,
            _verdict(beats, acc <= scratch and acc <= best_ft)]


# --------------------------------------------------------------------------- the document
def _seed_words(tasks: list[str], seeds: dict[str, list[int]]) -> str:
    """"seeds 0, 1, 2", or the seeds of each task when they differ."""
    if len({tuple(seeds[t]) for t in tasks}) <= 1:
        return f"seeds {_seeds(seeds[tasks[0]] if tasks else [], '{}')}"
    return "seeds " + "; ".join(f"{t} {_seeds(seeds[t], '{}')}" for t in tasks)


def task_notes(tasks: list[str], per_task: dict[str, Settings], settings: Settings,
               seeds: dict[str, list[int]], base_seeds: list[int]) -> list[str]:
    """One line per task run with other methods, fine-tuning tries or seeds than the rest."""
    notes = []
    for task in tasks:
        s, parts = per_task[task], []
        if s.methods != settings.methods:
            missing = [m for m in settings.methods if m not in s.methods]
            parts.append(f"methods {', '.join(s.methods)}"
                         + (f" only (not {', '.join(missing)})" if missing else ""))
        if s.finetune_tries != settings.finetune_tries:
            tries = "try" if s.finetune_tries == 1 else "tries"
            parts.append(f"at most {s.finetune_tries} fine-tuning {tries} (the others "
                         f"{settings.finetune_tries})")
        if list(seeds[task]) != list(base_seeds):
            parts.append(f"seeds {_seeds(seeds[task], '{}')} (the others "
                         f"{_seeds(base_seeds, '{}')})")
        if parts:
            notes.append(f"- {task} ran with {'; '.join(parts)}.")
    return notes


def summary_table(records: list[dict], per_task: dict[str, Settings]) -> list[str]:
    """Validation-chosen ratio per method (rows) and task (columns); "—": not run there."""
    from mor.io import markdown_table

    tasks = list(dict.fromkeys(r["task"] for r in records))
    methods = list(dict.fromkeys(m for t in tasks for m in per_task[t].methods))
    rows = []
    for meth in methods:
        cells = [_pm([r["pruning"]["methods"][meth]["ratio"]
                      for r in _having([r for r in records if r["task"] == t], meth)])
                 for t in tasks]
        rows.append([meth, *cells])
    return ["Validation-chosen ratio per task (mean ± sd over that task's seeds; "
            "— : the method was not run on that task):", "",
            markdown_table(["method", *tasks], rows)]


def document(records: list[dict], it: dict | None, settings: Settings, header: dict,
             per_task: dict[str, Settings] | None = None) -> str:
    """The Markdown between the markers of docs/results.md.

    ``per_task`` holds each task's own settings (methods, fine-tuning tries); a task not
    in it uses ``settings``. ``header["seeds"]`` maps each task to its seeds.
    """
    by_task: dict[str, list[dict]] = {}
    for r in records:
        by_task.setdefault(r["task"], []).append(r)
    per_task = {t: (per_task or {}).get(t, settings) for t in [*header["tasks"], *by_task]}
    lines = [f"Command: `{header['command']}`. Tasks {', '.join(header['tasks'])}; "
             f"{_seed_words(header['tasks'], header['seeds'])}; {len(records)} models (S5, "
             f"preset `{settings.preset}`). Wall time of this invocation "
             f"{header['wall_s'] / 60:.1f} min; a cold run costs about "
             f"{header['cold_s'] / 60:.0f} min (recorded training {header['train_s'] / 60:.0f} "
             f"min + analysis {header['analysis_s'] / 60:.0f} min, 2 shared CPU cores).", ""]
    if header["partial"]:
        lines += [f"**Partial**: {header['partial']}", ""]
    if header.get("notes"):
        lines += ["Tasks run with their own settings:", "", *header["notes"], ""]
    for task, recs in by_task.items():
        s = per_task[task]
        lines += [f"### S5 on {task}", "", *pruning_table(recs, s), *curve_table(recs, s),
                  *finetune_table(recs, s), ""]
    if len(by_task) > 1:
        lines += ["### All tasks", "", *summary_table(records, per_task), ""]
    if it is not None:
        lines += [f"### In-training compression ({INTRAIN['task']}, seed {INTRAIN['seed']})",
                  "", *intrain_table(it), ""]
    if records or it is not None:
        lines += ["### The papers' claims on these models", "",
                  *claims_table(records, it, settings), ""]
    return "\n".join(lines)


def write_doc(doc: Path, text: str) -> None:
    from mor.io import atomic_write_text

    body = doc.read_text(encoding="utf-8")
    if BEGIN not in body or END not in body:
        raise SystemExit(f"{doc} has no {BEGIN} … {END} block")
    head, rest = body.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    atomic_write_text(doc, f"{head}{BEGIN}\n{text}\n{END}{tail}")


def cold_cost(records: list[dict], it: dict | None) -> tuple[float, float]:
    """(training, analysis) seconds a run from nothing would take, from the recorded times."""
    train = sum(r["train_wall_time_s"] for r in records)
    analysis = sum(r["pruning"]["time_s"] + r["finetune"]["time_s"] for r in records)
    if it is not None:
        train += it["intrain"]["wall_time_s"] + it["scratch"]["wall_time_s"]
        analysis += it["time_s"]
    return train, analysis


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The options; ``tasks`` becomes a list and the ``--task-*`` ones dicts by task."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", default="runs13", help="folder of the run directories")
    p.add_argument("--tasks", default=",".join(TASKS), help="comma-separated tasks")
    p.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    p.add_argument("--methods", default=None, help="comma-separated (default: all eight)")
    p.add_argument("--finetune-epochs", type=float, default=None)
    p.add_argument("--finetune-tries", type=int, default=None)
    p.add_argument("--task-seeds", action="append", default=[], metavar="TASK=S[,S...]",
                   help="seeds of one task (instead of --seeds); repeatable")
    p.add_argument("--task-methods", action="append", default=[], metavar="TASK=M[,M...]",
                   help="methods of one task (instead of --methods); repeatable")
    p.add_argument("--task-finetune-tries", action="append", default=[], metavar="TASK=N",
                   help="fine-tuning tries of one task (instead of --finetune-tries)")
    p.add_argument("--no-intrain", action="store_true", help="skip the in-training comparison")
    p.add_argument("--quick", action="store_true", help="smoke run: tiny preset, coarse grid")
    p.add_argument("--doc", default=None, help="refresh the tables block of this file")
    p.add_argument("--progress", action="store_true")
    args = p.parse_args(argv)
    args.tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    for name, value in (("task_seeds", _seed_list), ("task_methods", _method_list),
                        ("task_finetune_tries", _tries)):
        setattr(args, name, _overrides(p, args, name, value))
    return args


def _seed_list(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"seeds are integers separated by commas, not {text!r}") from None
    if not seeds:
        raise ValueError("give at least one seed")
    return seeds


def _method_list(text: str) -> tuple[str, ...]:
    from mor.selection import check_methods

    return tuple(check_methods(text))  # unknown names: ArgumentError listing the valid ones


def _tries(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"the number of fine-tuning tries is an integer ≥ 1, not {text!r}")
    return n


def _overrides(p: argparse.ArgumentParser, args: argparse.Namespace, name: str,
               value: Any) -> dict[str, Any]:
    """``{task: value(text)}`` from the repeated ``TASK=text`` items of option ``name``."""
    flag, out = "--" + name.replace("_", "-"), {}
    for item in getattr(args, name):
        task, sep, text = (part.strip() for part in item.partition("="))
        if not sep or not text:
            p.error(f"{flag} {item!r}: expected TASK=VALUE, e.g. {flag} digits32=…")
        if task not in args.tasks:
            p.error(f"{flag} {item!r}: unknown task {task!r}; the tasks of this run (--tasks) "
                    f"are {', '.join(args.tasks)}")
        if task in out:
            p.error(f"{flag}: task {task!r} given twice; give each task once")
        try:
            out[task] = value(text)
        except ValueError as err:
            p.error(f"{flag} {item!r}: {err}")
    return out


def _method_changes(base: Settings, methods: tuple[str, ...]) -> dict[str, Any]:
    """The settings ``--methods`` changes: the methods, and the fine-tuned ones among them."""
    return {"methods": methods,
            "finetune_methods": tuple(m for m in base.finetune_methods if m in methods)}


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings of every task without a ``--task-*`` override."""
    s = Settings.quick() if args.quick else Settings()
    changes: dict[str, Any] = {}
    if args.methods:
        changes.update(_method_changes(s, tuple(m.strip() for m in args.methods.split(",")
                                                if m.strip())))
    if args.finetune_epochs is not None:
        changes["finetune_epochs"] = args.finetune_epochs
    if args.finetune_tries is not None:
        changes["finetune_tries"] = args.finetune_tries
    return dataclasses.replace(s, **changes)


def task_settings(args: argparse.Namespace, settings: Settings) -> dict[str, Settings]:
    """Each task's settings: ``settings`` with its ``--task-*`` overrides.

    A task given ``--task-methods T=M --task-finetune-tries T=N`` gets the very settings (and
    cache keys) that ``--tasks T --methods M --finetune-tries N`` gives it.
    """
    base = Settings.quick() if args.quick else Settings()
    out = {}
    for task in args.tasks:
        changes: dict[str, Any] = {}
        if task in args.task_methods:
            changes.update(_method_changes(base, args.task_methods[task]))
        if task in args.task_finetune_tries:
            changes["finetune_tries"] = args.task_finetune_tries[task]
        out[task] = dataclasses.replace(settings, **changes)
    return out


def task_seeds(args: argparse.Namespace) -> dict[str, list[int]]:
    """Each task's seeds: its ``--task-seeds``, else ``--seeds``."""
    return {task: list(args.task_seeds.get(task, args.seeds)) for task in args.tasks}


def partial_note(tasks: list[str], seeds: dict[str, list[int]]) -> str:
    """Empty for the full 3 tasks × 3 seeds, else which task × seeds this document rests on."""
    if set(tasks) >= set(TASKS) and all(set(seeds[t]) >= set(SEEDS) for t in tasks):
        return ""
    runs = "; ".join(f"{t} × seeds {_seeds(seeds[t], '{}')}" for t in tasks)
    return (f"{runs} only, not the full 3 tasks × 3 seeds; the claims below rest on these "
            "models alone.")


def _analyse(runs: Path, task: str, seed: int, settings: Settings, *, progress: bool,
             t0: float) -> dict:
    """One run, trained if missing, analysed (or read from its cache); prints a line."""
    rundir = run_dir(runs, task, seed)
    ensure_run(rundir, task, seed, settings, progress=progress)
    rec = analyse_run(rundir, settings)
    p = rec["pruning"]
    print(f"{rundir.name}: full {100 * p['full_test_accuracy']:.2f} %, analysis "
          f"{p['time_s'] + rec['finetune']['time_s']:.0f} s "
          f"[{time.perf_counter() - t0:.0f} s]", flush=True)
    return rec


def main(argv: list[str] | None = None) -> int:
    t0 = time.perf_counter()
    args = parse_args(argv)
    settings = settings_from(args)
    per_task, seeds = task_settings(args, settings), task_seeds(args)
    runs, tasks = Path(args.runs), args.tasks
    warnings.simplefilter("ignore")
    records = [_analyse(runs, task, seed, per_task[task], progress=args.progress, t0=t0)
               for task in tasks for seed in seeds[task]]
    it = None
    if (not args.no_intrain and INTRAIN["task"] in tasks
            and INTRAIN["seed"] in seeds[INTRAIN["task"]]):
        it = analyse_intrain(runs, per_task[INTRAIN["task"]], progress=args.progress)
    train_s, analysis_s = cold_cost(records, it)
    command = shlex.join(sys.argv[1:] if argv is None else argv)
    header = {"command": f"python scripts/results.py {command}", "tasks": tasks,
              "seeds": seeds, "wall_s": time.perf_counter() - t0, "train_s": train_s,
              "analysis_s": analysis_s, "cold_s": train_s + analysis_s,
              "partial": partial_note(tasks, seeds),
              "notes": task_notes(tasks, per_task, settings, seeds, args.seeds)}
    text = document(records, it, settings, header, per_task)
    print(text)
    if args.doc:
        write_doc(Path(args.doc), text)
        print(f"refreshed {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
