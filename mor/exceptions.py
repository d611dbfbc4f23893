"""Errors and warnings of the MOR core.

Every error subclasses :class:`MORError`, itself a :class:`ValueError`, so a caller can
catch the specific error, any error of the package, or any ``ValueError``.
"""

__all__ = [
    "EmptySystemError",
    "IllConditionedEigenbasisError",
    "IllConditionedEigenbasisWarning",
    "MORError",
    "NonFiniteError",
    "NormComputationError",
    "PairingError",
    "PlanMismatchError",
    "RatioError",
    "StateDimensionError",
    "UnknownMethodError",
    "UnstableSystemError",
]


class MORError(ValueError):
    """Base class of every error raised by the ``mor`` package."""


class StateDimensionError(MORError):
    """Shapes of poles, B, C and D disagree."""


class NonFiniteError(MORError):
    """An input array holds NaN or infinity."""


class UnstableSystemError(MORError):
    """A mode is not strictly stable (Re λ ≥ 0 in continuous time, |λ̄| ≥ 1 in discrete time)."""


class PairingError(MORError):
    """A mode marked real has a complex pole, B row or C column, or conjugates do not pair up."""


class EmptySystemError(MORError):
    """A system or layer has no modes."""


class RatioError(MORError):
    """A pruning ratio, threshold or budget is outside its valid range."""


class UnknownMethodError(MORError):
    """A selection or norm method name is not registered."""


class PlanMismatchError(MORError):
    """A KeepPlan does not fit the systems it is applied to."""


class IllConditionedEigenbasisError(MORError):
    """The eigenvector matrix of A is singular to working precision (defective A)."""


class NormComputationError(MORError):
    """A norm computation failed or did not converge."""


class IllConditionedEigenbasisWarning(UserWarning):
    """The eigenvector matrix of A is badly conditioned; modal results lose accuracy."""
