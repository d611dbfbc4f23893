"""Errors raised by ``ssm_bridge``.

Every error subclasses :class:`mor.MORError` (itself a :class:`ValueError`), so a caller can
catch the specific error, any toolkit error, or any ``ValueError``.  Plans made for another
model raise :class:`mor.PlanMismatchError`; NaN/inf parameters raise
:class:`NonFiniteParameterError`, which is also a :class:`mor.NonFiniteError`.  Arguments of
the wrong type raise :class:`BridgeTypeError` (or :class:`ConfigTypeError`), which are also
:class:`TypeError`, so code catching the plain ``TypeError`` keeps working.
"""

from __future__ import annotations

from mor.exceptions import InputTypeError, MORError, NonFiniteError, StateDimensionError

__all__ = [
    "BridgeError",
    "BridgeTypeError",
    "CheckpointError",
    "CheckpointTypeError",
    "ChecksumMismatchError",
    "ChecksumMismatchWarning",
    "ConfigError",
    "ConfigTypeError",
    "JobError",
    "LayoutError",
    "NonFiniteParameterError",
    "OutputExistsError",
    "UnrepresentableLayerError",
]


class BridgeError(MORError):
    """Base class of every error raised by ``ssm_bridge``."""


class ConfigError(BridgeError):
    """A model configuration is invalid (a field out of range, an unknown option)."""


class LayoutError(BridgeError, StateDimensionError):
    """A parameter tree is not the S5/S4D stack its config describes (missing or misshaped)."""


class NonFiniteParameterError(BridgeError, NonFiniteError):
    """A parameter holds NaN or inf."""


class UnrepresentableLayerError(BridgeError):
    """A reduced layer has a pole its S5/S4D parameterisation cannot hold.

    E.g. a pole at 0 under zero-order hold, at −1 under the bilinear map, or on or outside
    the unit circle when ``clip_eigs`` clips ``Re λ``; the message names the layer and mode.
    """


class CheckpointError(BridgeError):
    """A checkpoint file or directory cannot be read (corrupted, truncated, wrong format)."""


class ChecksumMismatchError(CheckpointError):
    """A checkpoint's weights, config or plan differ from the SHA-256 its metadata records.

    The file changed (a flipped byte, an edited ``conj_sym``) since it was saved; loading it
    would evaluate a different model than the recorded accuracy describes.
    """


class ChecksumMismatchWarning(UserWarning):
    """Like :class:`ChecksumMismatchError`, issued instead of it when ``verify=False``."""


class BridgeTypeError(BridgeError, InputTypeError):
    """An argument of the ``ssm_bridge`` API has the wrong type (also a ``TypeError``)."""


class ConfigTypeError(ConfigError, BridgeTypeError):
    """A config field has the wrong type, e.g. ``"d_model": "32"`` or ``"dt_min": "0.001"``."""


class CheckpointTypeError(CheckpointError, BridgeTypeError):
    """An argument of ``save_checkpoint`` / ``load_checkpoint`` has the wrong type."""


class JobError(BridgeError):
    """Invalid input to a job of :mod:`ssm_bridge.jobs` (checkpoint kind, task, data, option)."""


class OutputExistsError(JobError):
    """A job's output directory exists and ``force`` was not given (or mor did not write it)."""
