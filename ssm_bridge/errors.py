"""Errors raised by ``ssm_bridge``.

Every error subclasses :class:`mor.MORError` (itself a :class:`ValueError`), so a caller can
catch the specific error, any toolkit error, or any ``ValueError``.  Plans made for another
model raise :class:`mor.PlanMismatchError`; NaN/inf parameters raise
:class:`NonFiniteParameterError`, which is also a :class:`mor.NonFiniteError`.
"""

from __future__ import annotations

from mor.exceptions import MORError, NonFiniteError, StateDimensionError

__all__ = [
    "BridgeError",
    "CheckpointError",
    "ConfigError",
    "LayoutError",
    "NonFiniteParameterError",
]


class BridgeError(MORError):
    """Base class of every error raised by ``ssm_bridge``."""


class ConfigError(BridgeError):
    """A model configuration is invalid (a field out of range, an unknown option)."""


class LayoutError(BridgeError, StateDimensionError):
    """A parameter tree is not the S5/S4D stack its config describes (missing or misshaped)."""


class NonFiniteParameterError(BridgeError, NonFiniteError):
    """A parameter holds NaN or inf."""


class CheckpointError(BridgeError):
    """A checkpoint file or directory cannot be read (corrupted, truncated, wrong format)."""
