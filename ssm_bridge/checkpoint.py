"""Checkpoints: Flax msgpack files and Orbax directories, with the model config and KeepPlan.

Layout on disk
--------------
msgpack (``path`` ends in ``.msgpack``)::

    model.msgpack          flax.serialization.to_bytes(state)  (never pickle)
    model.config.json      the model config (S5Config / S4DConfig)
    model.plan.json        the KeepPlan of a pruned model (optional)
    model.meta.json        metadata: SHA-256 checksums, task, recorded accuracy, ...

Orbax (any other ``path``: a directory)::

    ckpt/state/            orbax StandardCheckpointer (the state as a nested dict)
    ckpt/config.json
    ckpt/plan.json         (optional)
    ckpt/meta.json

``state`` may be the ``params`` collection, the variables ``{"params", "batch_stats"}``,
or a full train state (e.g. ``flax.training.train_state.TrainState``, stored through its
state dict).  Every write is atomic: msgpack files go through a temporary file and
``os.replace``; Orbax directories are written under a temporary name and renamed.  The tree
is validated against the config *before* anything is written, so nothing is written for a
tree that does not match its config.

Integrity
---------
:func:`save_checkpoint` records in the metadata the SHA-256 of the weights (the msgpack
file's bytes; for Orbax, every file under ``state/`` with its relative path), of the
canonical config (its JSON object with sorted keys and no whitespace, so re-indenting the
file changes nothing but editing ``conj_sym`` does) and of the plan.  :func:`load_checkpoint`
recomputes them and raises :class:`ChecksumMismatchError` when one differs, or warns
(:class:`ChecksumMismatchWarning`) with ``verify=False``.  A checkpoint whose metadata
records no checksums (written by other code or an older version) loads unverified.

Every file read is checked to be a regular file (a FIFO or ``/dev/zero`` is refused at
once) of at most :data:`MAX_CHECKPOINT_BYTES` (weights) or ``mor._files.MAX_JSON_BYTES``
(JSON sidecars).
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mor._files import check_path, parse_json, read_regular_file
from mor.exceptions import PlanMismatchError
from mor.io import write_temporary
from mor.plan import BalancedPlan, KeepPlan, plan_from_dict
from ssm_bridge._staging import staged_directory
from ssm_bridge.config import S4DConfig, StackConfig, config_from_dict
from ssm_bridge.errors import (
    CheckpointError,
    CheckpointTypeError,
    ChecksumMismatchError,
    ChecksumMismatchWarning,
    ConfigError,
    ConfigTypeError,
)
from ssm_bridge.layout import validate_tree

__all__ = [
    "MAX_CHECKPOINT_BYTES",
    "METADATA_NAMES",
    "Checkpoint",
    "checkpoint_checksums",
    "find_variables",
    "load_checkpoint",
    "read_metadata",
    "save_checkpoint",
]

Format = Literal["msgpack", "orbax"]

#: Size limit of a msgpack checkpoint file, and of all files of an Orbax ``state/`` together.
MAX_CHECKPOINT_BYTES = 8 * 1024**3
#: Size limit of a JSON sidecar (config, plan, metadata).
MAX_SIDECAR_BYTES = 64 * 1024**2
#: Metadata file names looked for beside a checkpoint, in order (``stem``: the msgpack file's
#: stem, or the Orbax directory's name).  :func:`save_checkpoint` writes the first
#: (msgpack) or ``meta.json`` (Orbax).
METADATA_NAMES = ("{stem}.meta.json", "{stem}.metadata.json", "metadata.json", "meta.json")
CHECKSUM_ALGORITHM = "sha256"
_CHECKSUM_PARTS = ("weights", "config", "plan")


@dataclass(frozen=True)
class Checkpoint:
    """What :func:`load_checkpoint` returns.

    Attributes
    ----------
    variables : dict
        ``{"params": ..., "batch_stats": ...}`` (numpy arrays), ready for ``model.apply``.
    config : S5Config or S4DConfig
    plan : mor.KeepPlan, mor.BalancedPlan or None
        The plan of a pruned model, if one was saved.
    state : dict
        Everything that was stored (e.g. a train state's ``step`` and ``opt_state``).
    metadata : dict
        The metadata JSON beside the checkpoint (checksums, task, recorded accuracy, ...),
        validated; empty when there is none.
    """

    variables: dict
    config: StackConfig
    plan: KeepPlan | BalancedPlan | None
    state: dict
    metadata: dict = field(default_factory=dict)


# ---------------------------------------------------------------------- trees
def _state_dict(tree: Any) -> dict:
    from flax import serialization

    state = serialization.to_state_dict(tree)
    if not isinstance(state, dict):
        raise CheckpointTypeError(
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
        raise CheckpointTypeError(f"a checkpoint holds a dict; got {type(state).__name__}")
    if "params" in state:
        params = state["params"]
        if isinstance(params, dict) and "params" in params:
            return dict(params)
        out = {"params": params}
        if "batch_stats" in state:
            out["batch_stats"] = state["batch_stats"]
        return out
    return {"params": state}


# ---------------------------------------------------------------------- paths and arguments
def _sidecars(path: Path, fmt: Format) -> tuple[Path, Path, Path]:
    """(config, plan, metadata) paths that :func:`save_checkpoint` writes for ``path``."""
    if fmt == "msgpack":
        stem = path.with_suffix("")
        return (stem.with_name(stem.name + ".config.json"),
                stem.with_name(stem.name + ".plan.json"),
                stem.with_name(stem.name + ".meta.json"))
    return path / "config.json", path / "plan.json", path / "meta.json"


def _resolve_format(path: Path, fmt: Any, *, reading: bool) -> Format:
    if fmt is not None:
        if not isinstance(fmt, str):
            raise CheckpointTypeError(f"format is a {type(fmt).__name__}; expected 'msgpack' "
                                      "or 'orbax'")
        if fmt not in ("msgpack", "orbax"):
            raise CheckpointError(f"format = {fmt!r}; expected 'msgpack' or 'orbax'")
        return fmt
    if reading:  # a directory is Orbax; anything else is read (and checked) as msgpack
        return "orbax" if path.is_dir() else "msgpack"
    return "msgpack" if path.suffix == ".msgpack" else "orbax"


def _check_config(config: Any) -> StackConfig:
    if not isinstance(config, StackConfig):
        raise ConfigTypeError(
            f"config is a {type(config).__name__}; expected an S5Config or S4DConfig"
        )
    return config


def _check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise CheckpointTypeError(f"{name} = {value!r}; expected True or False")
    return bool(value)


def _check_plan(plan: KeepPlan | BalancedPlan, config: StackConfig) -> None:
    """A saved plan must describe this model: masked (same units) or removed (kept counts)."""
    if plan.nlayers != config.n_layers:
        raise PlanMismatchError(
            f"the plan is for {plan.nlayers} layers but the model has {config.n_layers}"
        )
    if plan.kind == "balanced":
        # removed model of a balanced plan: order r (real states) per layer is stored as one
        # mode per conjugate pair or real pole, r/2 to r modes (S4D: per channel, padded)
        fits = isinstance(config, S4DConfig) or all(
            -(-r // 2) <= size <= r
            for r, size in zip(plan.kept_counts, config.state_sizes, strict=True))
        if not fits:
            raise PlanMismatchError(
                f"the balanced plan (orders {plan.kept_counts}) does not match the model's "
                f"state sizes {config.state_sizes}: a layer of order r stores r/2 to r modes"
            )
        return
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


# ---------------------------------------------------------------------- checksums
def _json_digest(data: Any) -> str:
    """SHA-256 of the canonical JSON of ``data`` (sorted keys, no whitespace)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _orbax_digest(state_dir: Path) -> str:
    """SHA-256 over every file under an Orbax ``state/`` directory: relative path, size, bytes."""
    digest = hashlib.sha256()
    total = 0
    for root, dirs, files in os.walk(state_dir, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            file = Path(root) / name
            left = MAX_CHECKPOINT_BYTES - total
            data = read_regular_file(file, max_bytes=max(left, 0), what="Orbax checkpoint file",
                                     error=CheckpointError)
            total += len(data)
            rel = file.relative_to(state_dir).as_posix().encode("utf-8")
            digest.update(len(rel).to_bytes(8, "little") + rel)
            digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


def _checksums(weights: str, config_data: dict | None, plan_data: dict | None) -> dict:
    """The ``checksums`` metadata entry; ``"plan": None`` records that there was no plan."""
    return {
        "algorithm": CHECKSUM_ALGORITHM,
        "weights": weights,
        "config": None if config_data is None else _json_digest(config_data),
        "plan": None if plan_data is None else _json_digest(plan_data),
    }


def checkpoint_checksums(path: str | os.PathLike, *, format: Format | None = None) -> dict:
    """The SHA-256 checksums :func:`save_checkpoint` records, computed from the files now.

    Parameters
    ----------
    path : path-like
        A ``.msgpack`` file or an Orbax checkpoint directory.
    format : {"msgpack", "orbax"}, optional

    Returns
    -------
    dict
        ``{"algorithm": "sha256", "weights": hex, "config": hex, "plan": hex or None}``:
        the weights file (Orbax: every file under ``state/``), the canonical config JSON
        and the canonical plan JSON (None: no plan file).

    Raises
    ------
    CheckpointError, ConfigError
        A file is missing, not a regular file, over its size limit or not valid JSON.
    """
    path = check_path(path, error=CheckpointTypeError).absolute()
    fmt = _resolve_format(path, format, reading=True)
    weights = _weights_digest(path, fmt)
    config_path, plan_path, _ = _sidecars(path, fmt)
    return _checksums(weights, _read_sidecar(config_path, "model config", ConfigError),
                      _read_sidecar(plan_path, "KeepPlan file", PlanMismatchError))


def _weights_digest(path: Path, fmt: Format) -> str:
    if fmt == "msgpack":
        return hashlib.sha256(_read_weights(path)).hexdigest()
    return _orbax_digest(_orbax_state_dir(path))


def _verify(
    path: Path,
    recorded: dict,
    actual: dict,
    meta_path: Path,
    *,
    verify: bool,
    config_given: bool,
) -> None:
    """Compare recorded and actual checksums; raise (verify) or warn on a difference."""
    changed = []
    for part in _CHECKSUM_PARTS:
        if part not in recorded or (part == "config" and config_given):
            continue  # not recorded, or a config the caller chose
        want, have = recorded[part], actual.get(part)
        if want == have:
            continue
        if have is None:
            changed.append(f"the {part} file is missing")
        elif want is None:
            changed.append(f"a {part} file was added")
        else:
            changed.append(f"the {part} changed (sha256 {have[:12]}…, recorded {want[:12]}…)")
    if not changed:
        return
    message = (
        f"checkpoint {str(path)!r} does not match the checksums recorded in "
        f"{str(meta_path)!r}: {'; '.join(changed)}.  It would evaluate a different model than "
        "the one saved (and its recorded accuracy); restore the original files"
    )
    if verify:
        raise ChecksumMismatchError(message + ", or load it anyway with verify=False "
                                    "(--no-verify on the command line)")
    warnings.warn(message + "; loading it anyway because verify=False",
                  ChecksumMismatchWarning, stacklevel=3)


# ---------------------------------------------------------------------- metadata
def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_hex_digest(value: Any) -> bool:
    return (isinstance(value, str) and len(value) == 64
            and all(c in "0123456789abcdef" for c in value))


#: Known metadata fields: (check, what it must be).  Other fields are free-form.
_METADATA_FIELDS: dict[str, tuple[Any, str]] = {
    "task": (lambda v: isinstance(v, str) and bool(v), "a task name (str)"),
    "seed": (lambda v: _is_int(v) and v >= 0, "a non-negative integer"),
    "data_seed": (lambda v: _is_int(v) and v >= 0, "a non-negative integer"),
    "task_options": (lambda v: isinstance(v, dict), "an object of task options"),
    "options": (lambda v: isinstance(v, dict), "an object of task options"),
    "data_options": (lambda v: isinstance(v, dict), "an object of task options"),
    "test_accuracy": (lambda v: _is_real(v) and 0.0 <= v <= 1.0, "a number in [0, 1]"),
    "test_loss": (lambda v: _is_real(v) and not math.isnan(v), "a number"),
    "n_test": (lambda v: _is_int(v) and v >= 0, "a non-negative integer"),
    "n_train": (lambda v: _is_int(v) and v >= 0, "a non-negative integer"),
    "epochs": (lambda v: _is_int(v) and v >= 0, "a non-negative integer"),
    "steps": (lambda v: _is_int(v) and v >= 0, "a non-negative integer"),
    "eval_batch_size": (lambda v: _is_int(v) and v >= 1, "a positive integer"),
}


def _validate_metadata(meta: Any, where: str) -> dict:
    """``meta`` if its known fields have the right types; CheckpointError naming the field."""
    if not isinstance(meta, dict):
        raise CheckpointError(f"the metadata {where} is not a JSON object")
    for key, (ok, expected) in _METADATA_FIELDS.items():
        if key in meta and meta[key] is not None and not ok(meta[key]):
            raise CheckpointError(
                f"the metadata {where} has {key!r} = {meta[key]!r} "
                f"({type(meta[key]).__name__}); expected {expected}"
            )
    if "checksums" in meta:
        sums = meta["checksums"]
        if (not isinstance(sums, dict) or sums.get("algorithm") != CHECKSUM_ALGORITHM
                or set(sums) - {"algorithm", *_CHECKSUM_PARTS} or "weights" not in sums
                or not _is_hex_digest(sums["weights"])
                or not all(v is None or _is_hex_digest(v)
                           for k, v in sums.items() if k in ("config", "plan"))):
            raise CheckpointError(
                f"the metadata {where} has invalid 'checksums' {sums!r}; expected "
                "{'algorithm': 'sha256', 'weights': <64 hex digits>, 'config': <hex or null>, "
                "'plan': <hex or null>} as save_checkpoint writes them"
            )
    return meta


def _metadata_path(path: Path) -> Path | None:
    is_dir = path.is_dir()
    stem = path.name if is_dir else path.with_suffix("").name
    folder = path if is_dir else path.parent
    for pattern in METADATA_NAMES:
        candidate = folder / pattern.format(stem=stem)
        if os.path.lexists(candidate):
            return candidate
    return None


def _read_metadata_at(path: Path) -> tuple[Path | None, dict]:
    meta_path = _metadata_path(path)
    if meta_path is None:
        return None, {}
    where = repr(str(meta_path))
    data = read_regular_file(meta_path, max_bytes=MAX_SIDECAR_BYTES, what="checkpoint metadata",
                             error=CheckpointError)
    meta = parse_json(data, what=f"the metadata {where}", error=CheckpointError,
                      allow_nan=True)
    return meta_path, _validate_metadata(meta, where)


def read_metadata(path: str | os.PathLike) -> dict:
    """The metadata JSON beside a checkpoint, validated (``{}`` when there is none).

    Looks for :data:`METADATA_NAMES` beside a ``.msgpack`` file (``X.msgpack`` →
    ``X.meta.json``, ...) or inside an Orbax directory.  Free-form fields are kept as they
    are; the known ones must have the right type: ``seed``/``data_seed`` non-negative
    integers (not ``"0"``), ``test_accuracy`` a number in [0, 1] (not ``"0.9"``), ``task`` a
    string, task options an object, ``checksums`` as :func:`save_checkpoint` writes them.

    Raises
    ------
    CheckpointError
        The metadata file is not a regular file, over its size limit, not UTF-8, not valid
        JSON, not an object, or a known field has the wrong type (named in the message).
    """
    path = check_path(path, error=CheckpointTypeError).absolute()
    return _read_metadata_at(path)[1]


def _metadata_text(metadata: Any, checksums: dict) -> bytes:
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, Mapping):
        raise CheckpointTypeError(
            f"metadata is a {type(metadata).__name__}; expected a dict (JSON object)"
        )
    meta = {**dict(metadata), "checksums": checksums}
    try:
        text = json.dumps(meta, indent=1, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"metadata cannot be written as strict JSON: {err}") from err
    _validate_metadata(json.loads(text), "to save")
    return text.encode("utf-8")


# ---------------------------------------------------------------------- reading files
def _read_weights(path: Path) -> bytes:
    return read_regular_file(path, max_bytes=MAX_CHECKPOINT_BYTES, what="checkpoint",
                             error=CheckpointError)


def _orbax_state_dir(path: Path) -> Path:
    state_dir = path / "state"
    if not state_dir.is_dir():
        raise CheckpointError(
            f"{str(path)!r} is not an ssm_bridge Orbax checkpoint (no 'state' directory)"
        )
    return state_dir


def _read_sidecar(path: Path, what: str, error: type[Exception]) -> dict | None:
    """A JSON sidecar as a dict (None when absent); ``error`` for anything unreadable."""
    if not os.path.lexists(path):
        return None
    data = read_regular_file(path, max_bytes=MAX_SIDECAR_BYTES, what=what, error=error)
    value = parse_json(data, what=f"{what} {str(path)!r}", error=error)
    if not isinstance(value, dict):
        raise error(f"{what} {str(path)!r} is not a JSON object")
    return value


def _parse_msgpack(blob: bytes, path: Path) -> Any:
    from flax import serialization

    try:
        return serialization.msgpack_restore(blob)
    except Exception as err:  # msgpack raises several unrelated types
        raise CheckpointError(
            f"{str(path)!r} is not a readable Flax msgpack checkpoint (corrupted or "
            f"truncated?): {type(err).__name__}: {err}"
        ) from err


def _restore_orbax(path: Path) -> Any:
    import orbax.checkpoint as ocp

    checkpointer = ocp.Checkpointer(ocp.StandardCheckpointHandler())
    try:
        return checkpointer.restore(path / "state")
    except Exception as err:
        raise CheckpointError(
            f"cannot restore the Orbax checkpoint {str(path / 'state')!r} (corrupted or "
            f"incomplete?): {type(err).__name__}: {err}"
        ) from err
    finally:
        checkpointer.close()


# ---------------------------------------------------------------------- save
def save_checkpoint(
    path: str | os.PathLike,
    state: Any,
    config: StackConfig,
    *,
    plan: KeepPlan | BalancedPlan | None = None,
    format: Format | None = None,
    overwrite: bool = True,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Save ``state`` with its config, plan and metadata (with checksums), atomically.

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
    metadata : dict, optional
        Written as ``X.meta.json`` (Orbax: ``meta.json``) with a ``checksums`` entry
        added: the SHA-256 of the weights, the canonical config and the plan, which
        :func:`load_checkpoint` verifies.  Put the task, its options, the data seed and the
        recorded ``test_accuracy`` here (strict JSON).  It replaces any metadata file of
        that name beside an overwritten checkpoint.

    Returns
    -------
    Path of the checkpoint file or directory.

    Raises
    ------
    LayoutError, NonFiniteParameterError, mor.PlanMismatchError
        The tree does not match the config, holds NaN/inf, or the plan is for another
        model; nothing is written.
    CheckpointTypeError, ConfigTypeError
        An argument of the wrong type; nothing is written.
    """
    path = check_path(path, error=CheckpointTypeError).absolute()
    config = _check_config(config)
    overwrite = _check_flag(overwrite, "overwrite")
    if plan is not None and not isinstance(plan, KeepPlan | BalancedPlan):
        raise CheckpointTypeError(
            f"plan is a {type(plan).__name__}; expected a mor.KeepPlan or mor.BalancedPlan")
    fmt = _resolve_format(path, format, reading=False)
    payload = _state_dict(state)
    validate_tree(find_variables(payload), config)
    if plan is not None:
        _check_plan(plan, config)
    _metadata_text(metadata, _checksums("0" * 64, None, None))  # refuse bad metadata early
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    config_text = config.to_json().encode("utf-8")
    plan_text = None if plan is None else plan.to_json(indent=1).encode("utf-8")
    config_data = json.loads(config_text)
    plan_data = None if plan_text is None else json.loads(plan_text)
    config_path, plan_path, meta_path = _sidecars(path, fmt)
    if fmt == "msgpack":
        from flax import serialization

        blob = serialization.msgpack_serialize(payload)
        sums = _checksums(hashlib.sha256(blob).hexdigest(), config_data, plan_data)
        files = [(config_path, config_text), (path, blob),
                 (meta_path, _metadata_text(metadata, sums))]
        if plan_text is not None:
            files.append((plan_path, plan_text))
        temps: list[tuple[Path, Path]] = []
        try:
            for final, data in files:
                temps.append((write_temporary(final, data), final))
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
        sums = _checksums(_orbax_digest(tmpdir / "state"), config_data, plan_data)
        (tmpdir / "config.json").write_bytes(config_text)
        if plan_text is not None:
            (tmpdir / "plan.json").write_bytes(plan_text)
        (tmpdir / "meta.json").write_bytes(_metadata_text(metadata, sums))
    return path


# ---------------------------------------------------------------------- load
def load_checkpoint(
    path: str | os.PathLike,
    *,
    config: StackConfig | None = None,
    format: Format | None = None,
    verify: bool = True,
) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (or any Flax msgpack / Orbax one).

    Parameters
    ----------
    path : path-like
        A ``.msgpack`` file or an Orbax checkpoint directory.
    config : S5Config or S4DConfig, optional
        The model config; default: the JSON saved beside the checkpoint.  Give it to load
        a checkpoint written by other code (e.g. the official S5 training scripts).  A
        config given here is not checked against the recorded config checksum.
    format : {"msgpack", "orbax"}, optional
        Default: a directory is Orbax, anything else msgpack.
    verify : bool
        Check the weights, config and plan against the SHA-256 checksums recorded in the
        metadata beside the checkpoint (when it records them).  With ``verify=False`` a
        mismatch issues a :class:`ChecksumMismatchWarning` instead of raising.

    Returns
    -------
    Checkpoint

    Raises
    ------
    ChecksumMismatchError
        The weights, config or plan changed since the checkpoint was saved (``verify``).
    CheckpointError
        Missing, corrupted or truncated files; a directory given as a msgpack file, a FIFO
        or device, a file over :data:`MAX_CHECKPOINT_BYTES`; invalid metadata; no config
        beside the checkpoint and none given.
    CheckpointTypeError, ConfigTypeError
        An argument of the wrong type.
    LayoutError, NonFiniteParameterError, ConfigError, mor.PlanMismatchError
        The stored tree, config or plan do not fit together.

    Warns
    -----
    ChecksumMismatchWarning
        As ``ChecksumMismatchError``, with ``verify=False``.
    """
    path = check_path(path, error=CheckpointTypeError).absolute()
    if config is not None:
        config = _check_config(config)
    verify = _check_flag(verify, "verify")
    if not os.path.lexists(path):
        raise CheckpointError(f"no checkpoint at {str(path)!r}")
    fmt = _resolve_format(path, format, reading=True)
    blob = _read_weights(path) if fmt == "msgpack" else None
    if fmt == "orbax":
        _orbax_state_dir(path)
    config_path, plan_path, _ = _sidecars(path, fmt)
    config_data = None
    if config is None:
        config_data = _read_sidecar(config_path, "model config", ConfigError)
        if config_data is None:
            raise CheckpointError(
                f"no model config beside the checkpoint ({str(config_path)!r}); pass config="
            )
        config = config_from_dict(config_data)
    plan_data = _read_sidecar(plan_path, "KeepPlan file", PlanMismatchError)
    meta_path, metadata = _read_metadata_at(path)
    state = _parse_msgpack(blob, path) if blob is not None else _restore_orbax(path)
    recorded = metadata.get("checksums")
    if recorded is not None and meta_path is not None:  # before the tree is trusted
        weights = (hashlib.sha256(blob).hexdigest() if blob is not None
                   else _orbax_digest(path / "state"))
        config_sum = _json_digest(config_data) if config_data is not None else None
        actual = {"weights": weights, "config": config_sum,
                  "plan": None if plan_data is None else _json_digest(plan_data)}
        _verify(path, recorded, actual, meta_path, verify=verify,
                config_given=config_data is None)
    if not isinstance(state, dict):
        raise CheckpointError(
            f"{str(path)!r} holds a {type(state).__name__}, not a parameter tree"
        )
    state = _to_numpy(state)
    variables = find_variables(state)
    validate_tree(variables, config)
    plan = None
    if plan_data is not None:
        plan = plan_from_dict(plan_data)
        _check_plan(plan, config)
    return Checkpoint(variables=variables, config=config, plan=plan, state=state,
                      metadata=metadata)
