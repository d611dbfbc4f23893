"""Calibration of a network's layers on training data, for the calibrated methods.

:func:`calibrate` runs the model once over a calibration split of the **training** data
(:func:`ssm_bridge.budgets.training_splits`; never the test set), collects each layer's SSM
input (after the pre-norm, exactly what the layer's recurrence reads) and accumulates, in
float64, the second moments of the layer's states (:class:`mor.calibrated.StateMomentAccumulator`
on the extracted layer, the same recurrence as the forward pass).  The result is what
``aire_calibrated`` and ``balanced_truncation_calibrated`` need
(:func:`mor.calibrated.prune_calibrated`).

:class:`Calibration` is saved beside a KeepPlan as plain arrays in an ``.npz`` (written
atomically, read with ``allow_pickle=False``), so a calibrated plan can be reproduced.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from mor.calibrated import LayerMoments, StateMomentAccumulator
from mor.io import atomic_write_bytes
from ssm_bridge.config import StackConfig
from ssm_bridge.errors import BridgeError, ConfigError

__all__ = ["CALIBRATION_FORMAT", "Calibration", "CalibrationError", "calibrate",
           "check_calibration", "is_calibrated", "layer_inputs", "make_plan"]

CALIBRATION_FORMAT = "ssm_bridge.calibration/1"


class CalibrationError(BridgeError):
    """A calibration file cannot be read, or does not fit the model."""


@dataclass(frozen=True)
class Calibration:
    """Per-layer state moments of a model on a calibration split.

    Attributes
    ----------
    layers : tuple of mor.calibrated.LayerMoments
    examples : int
        Calibration examples run through the model.
    info : dict
        Where they came from (source, indices of the training set, state sizes).
    """

    layers: tuple[LayerMoments, ...]
    examples: int
    info: dict = field(default_factory=dict)

    def save(self, path: str | os.PathLike) -> None:
        """Write an ``.npz`` of plain arrays (atomically)."""
        arrays: dict[str, np.ndarray] = {}
        for layer, m in enumerate(self.layers):
            arrays.update(m.to_arrays(f"layer{layer}_"))
        meta = {"format": CALIBRATION_FORMAT, "nlayers": len(self.layers),
                "examples": int(self.examples), "info": self.info}
        arrays["meta_json"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike) -> Calibration:
        """Read a file written by :meth:`save` (no pickle).

        Raises
        ------
        CalibrationError
            Not such a file (unreadable, another format, missing arrays).
        """
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta_json"]).decode("utf-8"))
                if meta.get("format") != CALIBRATION_FORMAT:
                    raise CalibrationError(
                        f"{os.fspath(path)!r}: format {meta.get('format')!r}; expected "
                        f"{CALIBRATION_FORMAT!r}")
                layers = tuple(LayerMoments.from_arrays(data, f"layer{i}_")
                               for i in range(int(meta["nlayers"])))
        except CalibrationError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise CalibrationError(
                f"{os.fspath(path)!r} is not a calibration file ({err})") from err
        return cls(layers, int(meta["examples"]), dict(meta.get("info", {})))


@partial(jax.jit, static_argnames=("config",))
def _layer_inputs(variables, x, *, config: StackConfig):
    """Per layer, the SSM input u (batch, L, H): what the layer's recurrence reads."""
    from ssm_bridge.models import make_model

    model = make_model(config)
    h = model.apply(variables, x, method=lambda m, v: m.embed(v))
    inputs = []
    for layer in range(config.n_layers):
        u, st = model.apply(variables, h,
                            method=lambda m, v, layer=layer: m.encoder.layers[layer].states(v))
        inputs.append(u)
        h = model.apply(variables, h, u, st,
                        method=lambda m, *a, layer=layer: m.encoder.layers[layer].finish(*a))
    return inputs


def layer_inputs(variables: Mapping[str, Any], config: StackConfig, x) -> list[np.ndarray]:
    """Per layer, the SSM inputs (N, L, H) of the examples ``x`` (one forward pass, float32)."""
    from ssm_bridge._sharding import evaluation_variables

    if config.head != "classification":
        raise ConfigError(f"calibration runs classification models; head={config.head!r}")
    out = _layer_inputs(evaluation_variables(variables, config), jnp.asarray(x, jnp.float32),
                        config=config)
    return [np.asarray(u) for u in out]


def calibrate(
    variables: Mapping[str, Any],
    config: StackConfig,
    x,
    *,
    batch_size: int = 32,
    info: Mapping[str, Any] | None = None,
) -> Calibration:
    """State moments of every layer of a model on calibration inputs ``x``.

    Parameters
    ----------
    variables : dict
        The model's variables (or params).
    config : S5Config or S4DConfig
    x : array_like, shape (N, L, d_input)
        Calibration examples: from the training data (:func:`ssm_bridge.budgets.training_splits`).
    batch_size : int
        Examples per forward pass.
    info : mapping, optional
        Recorded with the result (source, indices).

    Returns
    -------
    Calibration
    """
    from ssm_bridge.extract import extract

    x = np.asarray(x)
    if x.ndim != 3 or x.shape[0] == 0:
        raise CalibrationError(f"calibration inputs have shape {x.shape}; expected (N, L, d)")
    systems = extract(variables, config)
    accs = [StateMomentAccumulator(s) for s in systems]
    size = min(batch_size, x.shape[0])
    for start in range(0, x.shape[0], size):
        chunk = x[start:start + size]
        n = chunk.shape[0]
        if n < size:  # pad the last batch: one compiled shape
            chunk = np.concatenate([chunk, np.zeros((size - n, *chunk.shape[1:]), chunk.dtype)])
        for acc, u in zip(accs, layer_inputs(variables, config, chunk), strict=True):
            acc.add(u[:n])
    meta = {"state_sizes": list(config.state_sizes), **(dict(info) if info else {})}
    return Calibration(tuple(a.result() for a in accs), int(x.shape[0]), meta)


def check_calibration(calibration: Calibration, systems: Sequence) -> None:
    """Raise :class:`CalibrationError` unless the calibration was made for these layers."""
    if len(calibration.layers) != len(systems):
        raise CalibrationError(
            f"the calibration has {len(calibration.layers)} layers; the model has "
            f"{len(systems)}: calibrate this model (ssm_bridge.calibration.calibrate)")


def is_calibrated(method: str) -> bool:
    """Whether ``method`` needs calibration moments (:data:`mor.calibrated.CALIBRATED_METHODS`)."""
    from mor.calibrated import CALIBRATED_METHODS

    return method in CALIBRATED_METHODS


def make_plan(systems, method: str, *, ratio: float | None = None, tol: float | None = None,
              seed: int = 0, compat: str | None = None,
              calibration: Calibration | None = None):
    """One KeepPlan by any method: :func:`mor.prune`, or the calibrated methods.

    Raises
    ------
    CalibrationError
        A calibrated method without a calibration.
    mor.RatioError
        ``tol`` with ``balanced_truncation_calibrated`` (it has no a-priori bound).
    """
    import mor
    from mor.calibrated import prune_calibrated

    if not is_calibrated(method):
        if tol is not None:
            return mor.prune(systems, method, tol=tol, seed=seed)
        return mor.prune(systems, method, ratio=ratio, seed=seed, compat=compat)
    if calibration is None:
        raise CalibrationError(f"{method} needs a calibration (ssm_bridge.calibration.calibrate)")
    check_calibration(calibration, systems)
    if tol is not None:
        if method != "aire_calibrated":
            raise mor.RatioError(
                f"{method} has no a-priori error bound, so no tol form; use a ratio or "
                "max_drop, or balanced_truncation (certified)")
        from mor.budgets import tolerance_keep
        from mor.calibrated import calibrated_energy

        keep = [tolerance_keep(s, calibrated_energy(s, m), tol)
                for s, m in zip(systems, calibration.layers, strict=True)]
        return mor.KeepPlan(method=method, keep=[tuple(int(i) for i in k) for k in keep],
                            nunits=[s.nunits for s in systems])
    return prune_calibrated(systems, method, calibration.layers, ratio)
