"""Trained S5/S4D checkpoints shipped with the package: small ones and paper-shaped ones.

Each bundled model ``NAME`` is three files in this package directory::

    NAME.msgpack        Flax msgpack of the trained variables (never pickle)
    NAME.config.json    its S5Config / S4DConfig
    NAME.meta.json      task, task options, seed, preset, test accuracy, the command that
                        made it, wall time (see README.md here)

They are made by ``scripts/train_bundled.py`` (``cpu`` and ``paper_cpu`` presets of
:mod:`ssm_bridge.presets`);
``README.md`` in this directory records the exact command, wall time and test accuracy.

Examples
--------
>>> from ssm_bridge.bundled import BUNDLED, load_bundled
>>> ckpt, data = load_bundled("s5_digits")                       # doctest: +SKIP
>>> ssm_bridge.evaluate(ckpt.variables, ckpt.config, data.x_test, data.y_test)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ssm_bridge.errors import CheckpointError

if TYPE_CHECKING:  # pragma: no cover
    from ssm_bridge.checkpoint import Checkpoint
    from ssm_bridge.data import TaskData

__all__ = [
    "BUNDLED",
    "PAPER_SHAPED",
    "BundledCheckpointMissingError",
    "UnknownBundledError",
    "bundled_checkpoint_path",
    "bundled_dir",
    "bundled_metadata",
    "load_bundled",
]

#: Names of the bundled checkpoints.
#: Names of the bundled paper-shaped checkpoints (preset ``paper_cpu``: at least 4 layers,
#: H ≥ 64, P ≥ 128 real states per S5 layer / H·N ≥ 128 modes per S4D layer; issue 13).
#: ``mor demo --full`` reads this list.
PAPER_SHAPED: tuple[str, ...] = ("s5_mnist1d_paper", "s4d_mnist1d_paper")
#: Names of the bundled checkpoints: the small ``cpu``-preset ones, then :data:`PAPER_SHAPED`.
BUNDLED: tuple[str, ...] = ("s5_digits", "s5_mnist1d", "s4d_digits", *PAPER_SHAPED)

_DIR = Path(__file__).resolve().parent


class UnknownBundledError(CheckpointError):
    """The name is not one of :data:`BUNDLED`."""


class BundledCheckpointMissingError(CheckpointError):
    """A bundled checkpoint's files are not installed (not yet trained, or package data
    missing from the installation)."""


def bundled_dir() -> Path:
    """The directory holding the bundled checkpoint files."""
    return _DIR


def _check_name(name: str) -> str:
    if not isinstance(name, str) or name not in BUNDLED:
        raise UnknownBundledError(
            f"unknown bundled checkpoint {name!r}; bundled: {', '.join(BUNDLED)}"
        )
    return name


def _require(path: Path, name: str) -> Path:
    if not path.is_file():
        raise BundledCheckpointMissingError(
            f"bundled checkpoint {name!r}: {path.name} is missing from {path.parent}; "
            "regenerate it with `python scripts/train_bundled.py` or reinstall the package "
            "(the files are package data)"
        )
    return path


def bundled_checkpoint_path(name: str) -> Path:
    """Path of the ``.msgpack`` file of bundled checkpoint ``name``.

    Parameters
    ----------
    name : str
        One of :data:`BUNDLED`.

    Returns
    -------
    pathlib.Path
        ``<package>/ssm_bridge/bundled/<name>.msgpack`` (its ``.config.json`` lies beside it).

    Raises
    ------
    UnknownBundledError
        For a name not in :data:`BUNDLED`.
    BundledCheckpointMissingError
        If the checkpoint or its config file is not there.
    """
    _check_name(name)
    _require(_DIR / f"{name}.config.json", name)
    return _require(_DIR / f"{name}.msgpack", name)


def bundled_metadata(name: str) -> dict[str, Any]:
    """What made bundled checkpoint ``name`` and how well it does.

    Returns
    -------
    dict
        At least ``name, model, task, task_options, seed, data_seed, preset, test_accuracy,
        test_loss, n_test, eval_batch_size, command, wall_time_s`` (``task_options`` are
        the keyword arguments of :func:`ssm_bridge.data.load_task` besides the seed, split
        sizes included; ``load_task(task, seed=data_seed, **task_options)`` regenerates the
        data).

    Raises
    ------
    UnknownBundledError, BundledCheckpointMissingError
    """
    _check_name(name)
    path = _require(_DIR / f"{name}.meta.json", name)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise CheckpointError(f"bundled metadata {str(path)!r} is unreadable: {err}") from err
    if not isinstance(meta, dict):
        raise CheckpointError(f"bundled metadata {str(path)!r} is not a JSON object")
    return meta


def load_bundled(name: str) -> tuple[Checkpoint, TaskData]:
    """Load bundled checkpoint ``name`` and its task's data (same task, seed and options).

    Evaluating the returned checkpoint on ``data.x_test, data.y_test`` gives exactly
    ``bundled_metadata(name)["test_accuracy"]``.

    Returns
    -------
    (ssm_bridge.Checkpoint, ssm_bridge.data.TaskData)

    Raises
    ------
    UnknownBundledError, BundledCheckpointMissingError, CheckpointError
    """
    from ssm_bridge.checkpoint import load_checkpoint
    from ssm_bridge.data import load_task

    path = bundled_checkpoint_path(name)
    meta = bundled_metadata(name)
    ckpt = load_checkpoint(path)
    data = load_task(meta["task"], seed=int(meta["data_seed"]), **meta.get("task_options", {}))
    return ckpt, data
