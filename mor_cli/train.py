"""``mor train``: train an S5/S4D model on a bundled task and save a checkpoint.

Train an S5 or S4D classification stack on a bundled task (digits, digits32, mnist1d,
listops) with a preset (tiny: a few steps; cpu: minutes on a laptop; paper: the papers'
sizes, for a GPU) and write DIR/model.msgpack with its config and metadata (test accuracy
included).

    mor train TASK --model s5|s4d --preset tiny|cpu|paper|paper_cpu --seed N --out DIR
                   [--force] [--epochs N] [--no-progress] [--reduce-every N --tol TAU]
    mor train TASK --from CHECKPOINT [--steps N] --out DIR   (fine-tune, ssm_bridge.finetune)

DIR receives ``model.msgpack`` (the train state), ``model.config.json`` and
``model.meta.json`` (task, options, seed, preset, test accuracy, wall time, command). It is
written under a temporary name and renamed when complete; an existing DIR is refused unless
``--force``.
"""

from __future__ import annotations

import argparse

from mor.io import markdown_table
from mor_cli._common import add_output_dir_arguments, add_seed_argument

__all__ = ["add_arguments", "print_finetune", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``mor train``."""
    p.add_argument("task", help="task name: digits, digits32, mnist1d, listops or "
                   "japanese_vowels (needs the 'timeseries' extra)")
    p.add_argument("--model", default="s5", help="s5 (default) or s4d")
    p.add_argument("--preset", default="cpu",
                   help="tiny, cpu (default), paper (GPU) or paper_cpu (the papers' shape, "
                   "<= ~20 min on 2 CPU cores)")
    add_seed_argument(p, "data and training")
    add_output_dir_arguments(p, "run directory")
    p.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--from", dest="from_checkpoint", default=None, metavar="CHECKPOINT",
                   help="fine-tune CHECKPOINT (e.g. a pruned model) on TASK's training split "
                   "instead of training from scratch, with the optimiser settings recorded "
                   "with it (else the cpu preset's); --preset/--epochs do not apply")
    p.add_argument("--steps", type=int, default=None,
                   help="with --from: optimiser steps (default: one epoch)")
    p.add_argument("--reduce-every", type=int, default=None, metavar="N",
                   help="in-training compression: every N steps reduce each layer (needs --tol)")
    p.add_argument("--tol", type=float, default=None,
                   help="with --reduce-every: discarded energy share per layer, in [0, 1)")
    p.add_argument("--reduction", default="energy", choices=["energy", "balanced"],
                   help="with --reduce-every: 'energy' (modal truncation by unit energy, "
                   "default) or 'balanced' (balanced truncation, discarded Hankel energy)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ssm_bridge._staging import check_output_dir
    from ssm_bridge.presets import get_preset
    from ssm_bridge.train import check_epochs, train

    preset = get_preset(args.task, args.preset, model=args.model)  # clear error if unknown
    check_epochs(args.epochs)
    check_output_dir(args.out, force=args.force)  # before any work
    if args.from_checkpoint is not None:
        return _run_finetune(args)
    out = Path(args.out)
    command = (f"mor train {args.task} --model {args.model} --preset {args.preset} "
               f"--seed {args.seed} --out {args.out}"
               + (f" --epochs {args.epochs}" if args.epochs else "")
               + (f" --reduce-every {args.reduce_every} --tol {args.tol} "
                  f"--reduction {args.reduction}" if args.reduce_every is not None else ""))
    print(f"training {args.model} on {args.task} (preset {args.preset}, seed {args.seed}): "
          f"H={preset.d_model}, {preset.n_layers} layers, {preset.state_size} stored modes, "
          f"{args.epochs or preset.epochs} epochs", flush=True)
    result = train(args.task, model=args.model, preset=preset, seed=args.seed,
                   epochs=args.epochs, out=out, force=args.force,
                   progress=False if args.no_progress else None, command=command,
                   reduce_every=args.reduce_every, tol=args.tol, reduction=args.reduction)
    meta = result.metadata
    for r in meta.get("reductions", []):
        print(f"step {r['step']}: stored modes per layer {r['state_sizes_before']} -> "
              f"{r['state_sizes_after']}")
    print(f"test accuracy {100 * meta['test_accuracy']:.2f} % on {meta['n_test']} examples "
          f"(loss {meta['test_loss']:.4f}); {meta['steps']} steps in {meta['wall_time_s']:.1f} s")
    print(f"checkpoint: {result.path / 'model.msgpack'}")
    return 0


def _run_finetune(args: argparse.Namespace) -> int:
    """``mor train TASK --from CHECKPOINT``: fine-tune and print accuracy before/after."""
    from ssm_bridge.finetune import finetune_checkpoint

    command = (f"mor train {args.task} --from {args.from_checkpoint} --seed {args.seed} "
               f"--out {args.out}" + (f" --steps {args.steps}" if args.steps else ""))
    res = finetune_checkpoint(args.from_checkpoint, args.steps, args.out, task=args.task,
                              seed=args.seed, force=args.force,
                              progress=False if args.no_progress else None, command=command)
    print_finetune(res)
    return 0


def print_finetune(res) -> None:
    """Accuracy and loss before and after fine-tuning, the steps and the time they took."""
    b, a = res.before, res.after
    rows = [[name, f"{100 * d['test_accuracy']:.2f}", f"{d['test_loss']:.4f}",
             f"{d['train_loss']:.4f}"] for name, d in (("before", b), ("after", a))]
    print(markdown_table(["fine-tuning", "test accuracy (%)", "test loss", "train loss"], rows,
                         padded=True))
    print(f"fine-tuned {res.steps} steps on the training split in {res.time_s:.1f} s; "
          f"stored modes per layer {list(res.result.config.state_sizes)}")
    print(f"checkpoint: {res.path / 'model.msgpack'}")
