"""Train the checkpoints bundled in ``ssm_bridge/bundled/`` (CPU presets, minutes each).

    python scripts/train_bundled.py                 # all of ssm_bridge.bundled.BUNDLED
    python scripts/train_bundled.py s5_digits       # some of them
    python scripts/train_bundled.py s5_mnist1d_paper --from-run runs/s5_mnist1d_paper
    python scripts/train_bundled.py --update-checksums   # no training (see below)

For each name it writes ``NAME.msgpack`` (variables only, no optimiser state),
``NAME.config.json`` and ``NAME.meta.json`` (task, options, seed, preset, test accuracy,
command, wall time, and the SHA-256 checksums of the weights and the config that
``ssm_bridge.load_checkpoint`` verifies) into the package directory, then regenerates
``README.md`` there from the metadata of every bundled checkpoint present.

``--from-run DIR`` trains nothing: it bundles the run directory ``DIR`` that ``mor train``
wrote with the name's recipe (model, task, preset and seed must match its metadata),
after checking that its variables evaluate to its recorded test accuracy exactly.  The
metadata keeps the run's own ``command`` (the one that made the weights) and adds
``bundled_by`` (this script's command) and ``source_run``.  The paper-shaped recipes
(``*_paper``, preset ``paper_cpu``: 10–20 minutes of training each) are bundled this way.

``--update-checksums`` trains nothing: it recomputes the checksums of the files present
(``ssm_bridge.checkpoint.checkpoint_checksums``) and writes them into each ``NAME.meta.json``,
leaving the weights and every other metadata field unchanged.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

#: name → (model, task, preset, seed)
RECIPES: dict[str, tuple[str, str, str, int]] = {
    "s5_digits": ("s5", "digits", "cpu", 0),
    "s5_mnist1d": ("s5", "mnist1d", "cpu", 0),
    "s4d_digits": ("s4d", "digits", "cpu", 0),
    "s5_mnist1d_paper": ("s5", "mnist1d", "paper_cpu", 0),
    "s4d_mnist1d_paper": ("s4d", "mnist1d", "paper_cpu", 0),
}

SIZE_LIMIT_BYTES = 3_000_000  # issue 13: paper-shaped checkpoints bundled at ≤ ~3 MB


def _equivalent_cli(name: str) -> str:
    model, task, preset, seed = RECIPES[name]
    return f"mor train {task} --model {model} --preset {preset} --seed {seed} --out DIR"


def _save_bundled(name: str, variables: dict, config, meta: dict) -> dict:
    """Write ``NAME.msgpack`` (variables only) and its sidecars, refusing oversize files."""
    from ssm_bridge.bundled import bundled_dir
    from ssm_bridge.checkpoint import save_checkpoint

    meta = {**meta, "name": name, "equivalent_cli": _equivalent_cli(name)}
    meta.pop("checksums", None)  # save_checkpoint records those of the files it writes
    path = save_checkpoint(bundled_dir() / f"{name}.msgpack", variables, config,
                           metadata=meta)  # writes NAME.meta.json with the checksums
    size = path.stat().st_size
    if size > SIZE_LIMIT_BYTES:
        for suffix in (".msgpack", ".config.json", ".meta.json"):
            path.with_name(f"{name}{suffix}").unlink(missing_ok=True)
        raise SystemExit(f"{name}: {size} bytes exceeds the {SIZE_LIMIT_BYTES}-byte limit")
    return meta


def train_one(name: str, *, progress: bool) -> dict:
    from ssm_bridge.train import train

    model, task, preset, seed = RECIPES[name]
    command = f"python scripts/train_bundled.py {name}"
    result = train(task, model=model, preset=preset, seed=seed, progress=progress,
                   command=command)
    return _save_bundled(name, result.variables, result.config, dict(result.metadata))


def _check_run_matches(name: str, meta: dict, run: Path) -> None:
    """Refuse a run whose model, task, preset or seed is not the recipe of ``name``."""
    model, task, preset, seed = RECIPES[name]
    found = (meta.get("model"), meta.get("task"), meta.get("preset"), meta.get("seed"))
    if found != (model, task, preset, seed):
        raise SystemExit(
            f"{run}: its metadata says (model, task, preset, seed) = {found}, but the "
            f"recipe of {name} is {(model, task, preset, seed)}; bundle a run of "
            f"`{_equivalent_cli(name)}`")


def bundle_run(name: str, run: str | Path) -> dict:
    """Bundle the run directory ``run`` (``mor train ... --out run``) as ``name``.

    Its variables must evaluate to the test accuracy its metadata records, exactly (the
    bundled test asserts that), on the data its metadata names.
    """
    from ssm_bridge.checkpoint import load_checkpoint
    from ssm_bridge.data import load_task
    from ssm_bridge.evaluate import evaluate
    from ssm_bridge.train import load_run_metadata, model_inputs

    run = Path(run)
    meta = load_run_metadata(run)
    _check_run_matches(name, meta, run)
    ckpt = load_checkpoint(run / "model.msgpack")  # verifies the run's checksums
    data = load_task(meta["task"], seed=int(meta["data_seed"]), **meta["task_options"])
    res = evaluate(ckpt.variables, ckpt.config, model_inputs(data, "test"), data.y_test,
                   batch_size=int(meta["eval_batch_size"]))
    if res.accuracy != meta["test_accuracy"]:
        raise SystemExit(f"{run}: evaluates to test accuracy {res.accuracy!r}, not the "
                         f"recorded {meta['test_accuracy']!r}; retrain it")
    meta["source_run"] = str(run)
    meta["bundled_by"] = f"python scripts/train_bundled.py {name} --from-run {run}"
    return _save_bundled(name, ckpt.variables, ckpt.config, meta)


def update_checksums(name: str) -> dict:
    """Write the checksums of bundled ``name``'s files now into its ``NAME.meta.json``."""
    from mor.io import atomic_write_text
    from ssm_bridge.bundled import bundled_dir
    from ssm_bridge.checkpoint import checkpoint_checksums

    directory = bundled_dir()
    meta_path = directory / f"{name}.meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["checksums"] = checkpoint_checksums(directory / f"{name}.msgpack")
    atomic_write_text(meta_path, json.dumps(meta, indent=1, allow_nan=False))
    return meta["checksums"]


def write_readme() -> Path:
    from mor.io import atomic_write_text
    from ssm_bridge.bundled import BUNDLED, bundled_dir

    directory = bundled_dir()
    rows = []
    for name in BUNDLED:
        meta_path = directory / f"{name}.meta.json"
        if not meta_path.is_file():
            continue
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        p = meta["preset_fields"]
        size = (directory / f"{name}.msgpack").stat().st_size
        modes = f"{p['state_size']} stored modes"
        if meta["model"] == "s4d":
            modes += f" per channel ({p['d_model'] * p['state_size']} units per layer)"
        if p.get("bidirectional"):
            modes += ", bidirectional"
        rows.append(
            f"| `{name}` | {meta['model'].upper()} | {meta['task']} | "
            f"H={p['d_model']}, {p['n_layers']} layers, {modes} | "
            f"{meta['preset']} | {meta['seed']} | {meta['epochs']} | "
            f"{100 * meta['test_accuracy']:.2f} % ({meta['n_test']}) | "
            f"{meta['wall_time_s']:.0f} s | {size / 1024:.0f} KiB | `{meta['command']}` |"
        )
    text = "\n".join([
        "# Bundled trained checkpoints",
        "",
        "S5/S4D models trained on the offline tasks of `ssm_bridge.data` with the presets of",
        "`ssm_bridge.presets`: small ones (`cpu` preset, 2 layers; the default input of",
        "`mor demo`) and paper-shaped ones (`*_paper`, preset `paper_cpu`: 4 layers, H = 96,",
        "P ≥ 128 states per layer; `ssm_bridge.bundled.PAPER_SHAPED`). Load one with",
        "`ssm_bridge.bundled.load_bundled(name)` (checkpoint + its task's data, same seed and",
        "options); evaluating it on that test set gives exactly the accuracy below.",
        "",
        "Each model is `NAME.msgpack` (Flax msgpack of the variables, no optimiser state),",
        "`NAME.config.json` (its S5Config/S4DConfig) and `NAME.meta.json` (task, options,",
        "seed, preset, test accuracy, training history, wall time, library versions).",
        "",
        "| name | model | task | size | preset | seed | epochs | test accuracy (n) | "
        "wall time | file | command |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Wall times: 2 CPU cores shared with other jobs, so indicative only. Regenerate all",
        "with `python scripts/train_bundled.py` (the same command per name re-trains one);",
        "the equivalent `mor train` command is recorded in each `NAME.meta.json`. The",
        "paper-shaped ones were trained by the `mor train` command shown (its run directory",
        "then bundled by `python scripts/train_bundled.py NAME --from-run DIR`, recorded as",
        "`bundled_by`); the variables are stored without the optimiser state.",
        "",
    ])
    out = directory / "README.md"
    atomic_write_text(out, text)
    for path in directory.iterdir():  # temp-file writers create 0600 files; package data
        if path.suffix in (".md", ".json", ".msgpack"):  # should be world-readable
            path.chmod(0o644)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"subset of {', '.join(RECIPES)}")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--readme-only", action="store_true")
    parser.add_argument("--update-checksums", action="store_true",
                        help="no training: record the checksums of the files present")
    parser.add_argument("--from-run", default=None, metavar="DIR",
                        help="no training: bundle this run directory (one name only)")
    args = parser.parse_args(argv)
    names = args.names or list(RECIPES)
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        parser.error(f"unknown bundled name(s) {unknown}; choose from {', '.join(RECIPES)}")
    if args.from_run is not None and len(args.names) != 1:
        parser.error("--from-run bundles one run: name exactly one checkpoint")
    if args.from_run is not None:
        meta = bundle_run(names[0], args.from_run)
        print(f"{names[0]}: test accuracy {100 * meta['test_accuracy']:.2f} % (from "
              f"{args.from_run})", flush=True)
    elif args.update_checksums:
        for name in names:
            sums = update_checksums(name)
            print(f"{name}: weights sha256 {sums['weights']}, config sha256 {sums['config']}")
    elif not args.readme_only:
        for name in names:
            meta = train_one(name, progress=not args.no_progress)
            print(f"{name}: test accuracy {100 * meta['test_accuracy']:.2f} % "
                  f"({meta['wall_time_s']:.0f} s)", flush=True)
    print(f"wrote {write_readme()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
