"""Train the checkpoints bundled in ``ssm_bridge/bundled/`` (CPU presets, a few minutes each).

    python scripts/train_bundled.py                 # all of ssm_bridge.bundled.BUNDLED
    python scripts/train_bundled.py s5_digits       # some of them
    python scripts/train_bundled.py --update-checksums   # no training (see below)

For each name it writes ``NAME.msgpack`` (variables only, no optimiser state),
``NAME.config.json`` and ``NAME.meta.json`` (task, options, seed, preset, test accuracy,
command, wall time, and the SHA-256 checksums of the weights and the config that
``ssm_bridge.load_checkpoint`` verifies) into the package directory, then regenerates
``README.md`` there from the metadata of every bundled checkpoint present.

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
}

SIZE_LIMIT_BYTES = 2 * 1024 * 1024


def train_one(name: str, *, progress: bool) -> dict:
    from ssm_bridge.bundled import bundled_dir
    from ssm_bridge.checkpoint import save_checkpoint
    from ssm_bridge.train import train

    model, task, preset, seed = RECIPES[name]
    command = f"python scripts/train_bundled.py {name}"
    result = train(task, model=model, preset=preset, seed=seed, progress=progress,
                   command=command)
    meta = dict(result.metadata)
    meta["name"] = name
    meta["equivalent_cli"] = (f"mor train {task} --model {model} --preset {preset} "
                              f"--seed {seed} --out DIR")
    directory = bundled_dir()
    path = save_checkpoint(directory / f"{name}.msgpack", result.variables, result.config,
                           metadata=meta)  # writes NAME.meta.json with the checksums
    size = path.stat().st_size
    if size > SIZE_LIMIT_BYTES:
        raise SystemExit(f"{name}: {size} bytes exceeds the {SIZE_LIMIT_BYTES}-byte limit")
    return meta


def update_checksums(name: str) -> dict:
    """Write the checksums of bundled ``name``'s files now into its ``NAME.meta.json``."""
    from mor.plan import atomic_write_text
    from ssm_bridge.bundled import bundled_dir
    from ssm_bridge.checkpoint import checkpoint_checksums

    directory = bundled_dir()
    meta_path = directory / f"{name}.meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["checksums"] = checkpoint_checksums(directory / f"{name}.msgpack")
    atomic_write_text(meta_path, json.dumps(meta, indent=1, allow_nan=False))
    return meta["checksums"]


def write_readme() -> Path:
    from mor.plan import atomic_write_text
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
        "Small S5/S4D models trained on the offline tasks of `ssm_bridge.data` with the CPU",
        "presets of `ssm_bridge.presets`; the default input of `mor demo`. Load one with",
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
        "the equivalent `mor train` command is recorded in each `NAME.meta.json`.",
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
    args = parser.parse_args(argv)
    names = args.names or list(RECIPES)
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        parser.error(f"unknown bundled name(s) {unknown}; choose from {', '.join(RECIPES)}")
    if args.update_checksums:
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
