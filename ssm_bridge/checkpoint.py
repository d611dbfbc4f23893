"""Checkpoints: Flax msgpack files and Orbax directories, with the model config and KeepPlan.

Layout on disk
--------------
msgpack (``path`` ends in ``.msgpack``)::

    model.msgpack          flax.serialization.to_bytes(state)  (never pickle)
    model.config.json      the model config (S5Config / S4DConfig)
    model.plan.json        the KeepPlan of a pruned model (optional)

Orbax (any other ``path``: a directory)::

    ckpt/state/            orbax StandardCheckpointer (the state as a nested dict)
    ckpt/config.json
    ckpt/plan.json         (optional)

``state`` may be the ``params`` collection, the variables ``{"params", "batch_stats"}``,
or a full train state (e.g. ``flax.training.train_state.TrainState``, stored through its
state dict).  Every write is atomic: msgpack files go through a temporary file and
``os.replace``; Orbax directories are written under a temporary name and renamed.  The tree
is validated against the config *before* anything is written, so nothing is written for a
tree that does not match its config.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mor.exceptions import PlanMismatchError
from mor.plan import KeepPlan, write_temporary
from ssm_bridge._staging import staged_directory
from ssm_bridge.config import S4DConfig, StackConfig, config_from_json
from ssm_bridge.errors import CheckpointError
from ssm_bridge.layout import validate_tree

__all__ = ["Checkpoint", "find_variables", "load_checkpoint", "save_checkpoint"]

Format = Literal["msgpack", "orbax"]


@dataclass(frozen=True)
class Checkpoint:
    """What :func:`load_checkpoint` returns.

    Attributes
    ----------
    variables : dict
        ``{"params": ..., "batch_stats": ...}`` (numpy arrays), ready for ``model.apply``.
    config : S5Config or S4DConfig
    plan : mor.KeepPlan or None
        The plan of a pruned model, if one was saved.
    state : dict
        Everything that was stored (e.g. a train state's ``step`` and ``opt_state``).
    """

    variables: dict
    config: StackConfig
    plan: KeepPlan | None
    state: dict


def _state_dict(tree: Any) -> dict:
    from flax import serialization

    state = serialization.to_state_dict(tree)
    if not isinstance(state, dict):
        raise CheckpointError(
            f"cannot save a {type(tree).__name__}: expected params, variables or a train state"
        )
    return _to_numpy(state)


def _to_numpy(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {k: _to_numpy(v) for k, v in tree.items()}
    if tree is None:
        return None
    return np.asarray(tree)


def find_variables(state: dict) -> dict:
    """The Flax variables inside a stored state (params, variables or train-state dict)."""
    if not isinstance(state, dict):
        raise CheckpointError(f"a checkpoint holds a dict; got {type(state).__name__}")
    if "params" in state:
        params = state["params"]
        if isinstance(params, dict) and "params" in params:
            return dict(params)
        out = {"params": params}
        if "batch_stats" in state:
            out["batch_stats"] = state["batch_stats"]
        return out
    return {"params": state}


def _sidecars(path: Path, fmt: Format) -> tuple[Path, Path]:
    if fmt == "msgpack":
        stem = path.with_suffix("")
        return stem.with_name(stem.name + ".config.json"), stem.with_name(stem.name + ".plan.json")
    return path / "config.json", path / "plan.json"


def _resolve_format(path: Path, fmt: Format | None, *, reading: bool) -> Format:
    if fmt is not None:
        if fmt not in ("msgpack", "orbax"):
            raise CheckpointError(f"format = {fmt!r}; expected 'msgpack' or 'orbax'")
        return fmt
    if reading and path.is_dir():
        return "orbax"
    if reading and path.is_file():
        return "msgpack"
    return "msgpack" if path.suffix == ".msgpack" else "orbax"


def _check_plan(plan: KeepPlan, config: StackConfig) -> None:
    """A saved plan must describe this model: masked (same units) or removed (kept counts)."""
    if plan.nlayers != config.n_layers:
        raise PlanMismatchError(
            f"the plan is for {plan.nlayers} layers but the model has {config.n_layers}"
        )
    if tuple(plan.nunits) == config.nunits:
        return
    if isinstance(config, S4DConfig):
        return
    if plan.kept_counts != config.state_sizes:
        raise PlanMismatchError(
            f"the plan (units {plan.nunits}, kept {plan.kept_counts}) matches neither the "
            f"model's units {config.nunits} (masked) nor its state sizes "
            f"{config.state_sizes} (removed)"
        )


def save_checkpoint(
    path: str | os.PathLike,
    state: Any,
    config: StackConfig,
    *,
    plan: KeepPlan | None = None,
    format: Format | None = None,
    overwrite: bool = True,
) -> Path:
    """Save ``state`` with its config (and plan), atomically.

    Parameters
    ----------
    path : path-like
        ``*.msgpack`` → a Flax msgpack file with JSON sidecars; anything else → an Orbax
        directory (unless ``format`` says otherwise).
    state : dict or train state
        params, variables, or a train state (anything with a Flax state dict).
    config : S5Config or S4DConfig
    plan : mor.KeepPlan, optional
        The plan that made this model (masked: ``plan.nunits == config.nunits``; removed:
        ``plan.kept_counts == config.state_sizes``).
    format : {"msgpack", "orbax"}, optional
    overwrite : bool
        Replace an existing checkpoint (default True); otherwise raise FileExistsError.

    Returns
    -------
    Path of the checkpoint file or directory.

    Raises
    ------
    LayoutError, NonFiniteParameterError, mor.PlanMismatchError
        The tree does not match the config, holds NaN/inf, or the plan is for another
        model; nothing is written.
    """
    path = Path(path).absolute()
    fmt = _resolve_format(path, format, reading=False)
    payload = _state_dict(state)
    validate_tree(find_variables(payload), config)
    if plan is not None:
        _check_plan(plan, config)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    config_text = config.to_json().encode("utf-8")
    plan_text = None if plan is None else plan.to_json(indent=1).encode("utf-8")
    config_path, plan_path = _sidecars(path, fmt)
    if fmt == "msgpack":
        from flax import serialization

        blob = serialization.msgpack_serialize(payload)
        temps: list[tuple[Path, Path]] = []
        try:
            temps.append((write_temporary(config_path, config_text),
                          config_path))
            if plan_text is not None:
                temps.append((write_temporary(plan_path, plan_text),
                              plan_path))
            temps.append((write_temporary(path, blob), path))
        except BaseException:
            for tmp, _ in temps:
                tmp.unlink(missing_ok=True)
            raise
        for tmp, final in temps:
            os.replace(tmp, final)
        if plan_text is None:
            plan_path.unlink(missing_ok=True)
        return path
    import orbax.checkpoint as ocp

    with staged_directory(path) as tmpdir:
        checkpointer = ocp.Checkpointer(ocp.StandardCheckpointHandler())
        try:
            checkpointer.save(tmpdir / "state", payload)
        finally:
            checkpointer.close()
        (tmpdir / "config.json").write_bytes(config_text)
        if plan_text is not None:
            (tmpdir / "plan.json").write_bytes(plan_text)
    return path


def _read_state(path: Path, fmt: Format) -> dict:
    if fmt == "msgpack":
        from flax import serialization

        try:
            blob = path.read_bytes()
        except OSError as err:
            raise CheckpointError(f"cannot read checkpoint {str(path)!r}: {err}") from err
        try:
            state = serialization.msgpack_restore(blob)
        except Exception as err:  # msgpack raises several unrelated types
            raise CheckpointError(
                f"{str(path)!r} is not a readable Flax msgpack checkpoint (corrupted or "
                f"truncated?): {type(err).__name__}: {err}"
            ) from err
    else:
        import orbax.checkpoint as ocp

        if not (path / "state").is_dir():
            raise CheckpointError(
                f"{str(path)!r} is not an ssm_bridge Orbax checkpoint (no 'state' directory)"
            )
        checkpointer = ocp.Checkpointer(ocp.StandardCheckpointHandler())
        try:
            state = checkpointer.restore(path / "state")
        except Exception as err:
            raise CheckpointError(
                f"cannot restore the Orbax checkpoint {str(path / 'state')!r} (corrupted or "
                f"incomplete?): {type(err).__name__}: {err}"
            ) from err
        finally:
            checkpointer.close()
    if not isinstance(state, dict):
        raise CheckpointError(
            f"{str(path)!r} holds a {type(state).__name__}, not a parameter tree"
        )
    return _to_numpy(state)


def load_checkpoint(
    path: str | os.PathLike,
    *,
    config: StackConfig | None = None,
    format: Format | None = None,
) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (or any Flax msgpack / Orbax one).

    Parameters
    ----------
    path : path-like
        A ``.msgpack`` file or an Orbax checkpoint directory.
    config : S5Config or S4DConfig, optional
        The model config; default: the JSON saved beside the checkpoint.  Give it to load
        a checkpoint written by other code (e.g. the official S5 training scripts).
    format : {"msgpack", "orbax"}, optional
        Default: a directory is Orbax, a file msgpack.

    Returns
    -------
    Checkpoint

    Raises
    ------
    CheckpointError
        Missing, corrupted or truncated files; no config beside the checkpoint and none
        given.
    LayoutError, NonFiniteParameterError, ConfigError, mor.PlanMismatchError
        The stored tree, config or plan do not fit together.
    """
    path = Path(path).absolute()
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {str(path)!r}")
    fmt = _resolve_format(path, format, reading=True)
    state = _read_state(path, fmt)
    config_path, plan_path = _sidecars(path, fmt)
    if config is None:
        if not config_path.is_file():
            raise CheckpointError(
                f"no model config beside the checkpoint ({str(config_path)!r}); pass config="
            )
        config = config_from_json(config_path.read_text(encoding="utf-8"))
    variables = find_variables(state)
    validate_tree(variables, config)
    plan = None
    if plan_path.is_file():
        plan = KeepPlan.load(plan_path)
        _check_plan(plan, config)
    return Checkpoint(variables=variables, config=config, plan=plan, state=state)
