"""``mor train``: train an S5 or S4D stack on a bundled task and write a checkpoint.

    mor train TASK --model s5|s4d --preset tiny|cpu|paper --seed N --out DIR [--force]
                   [--epochs N] [--no-progress]

DIR receives ``model.msgpack`` (the train state), ``model.config.json`` and
``model.meta.json`` (task, options, seed, preset, test accuracy, wall time, command). It is
written under a temporary name and renamed when complete; an existing DIR is refused unless
``--force``.
"""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train an S5/S4D model on a bundled task and save a checkpoint",
        description="Train an S5 or S4D classification stack on a bundled task (digits, "
        "digits32, mnist1d, listops) with a preset (tiny: a few steps; cpu: minutes on a "
        "laptop; paper: the papers' sizes, for a GPU) and write DIR/model.msgpack with its "
        "config and metadata (test accuracy included).",
    )
    p.add_argument("task", help="task name: digits, digits32, mnist1d or listops")
    p.add_argument("--model", default="s5", help="s5 (default) or s4d")
    p.add_argument("--preset", default="cpu", help="tiny, cpu (default) or paper")
    p.add_argument("--seed", type=int, default=0, help="seed of data and training (default 0)")
    p.add_argument("--out", required=True, help="run directory to create")
    p.add_argument("--force", action="store_true", help="replace an existing --out directory")
    p.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ssm_bridge.presets import get_preset
    from ssm_bridge.train import TrainError, train

    preset = get_preset(args.task, args.preset, model=args.model)  # clear error if unknown
    if args.epochs is not None and args.epochs < 1:
        raise TrainError(f"--epochs {args.epochs}: expected a positive integer")
    if args.seed < 0:
        raise TrainError(f"--seed {args.seed}: expected a non-negative integer")
    out = Path(args.out)
    if out.exists() and not args.force:
        raise FileExistsError(f"{out} exists; choose another --out or pass --force")
    command = (f"mor train {args.task} --model {args.model} --preset {args.preset} "
               f"--seed {args.seed} --out {args.out}"
               + (f" --epochs {args.epochs}" if args.epochs else ""))
    print(f"training {args.model} on {args.task} (preset {args.preset}, seed {args.seed}): "
          f"H={preset.d_model}, {preset.n_layers} layers, {preset.state_size} stored modes, "
          f"{args.epochs or preset.epochs} epochs", flush=True)
    result = train(args.task, model=args.model, preset=preset, seed=args.seed,
                   epochs=args.epochs, out=out, force=args.force,
                   progress=False if args.no_progress else None, command=command)
    meta = result.metadata
    print(f"test accuracy {100 * meta['test_accuracy']:.2f} % on {meta['n_test']} examples "
          f"(loss {meta['test_loss']:.4f}); {meta['steps']} steps in {meta['wall_time_s']:.1f} s")
    print(f"checkpoint: {result.path / 'model.msgpack'}")
    return 0
