"""Errors and warnings of the MOR core.

Every error subclasses :class:`MORError`, itself a :class:`ValueError`, so a caller can
catch the specific error, any error of the package, or any ``ValueError``.
"""

__all__ = [
    "ArgumentError",
    "EmptySystemError",
    "IllConditionedEigenbasisError",
    "IllConditionedEigenbasisWarning",
    "InputFileError",
    "InputTypeError",
    "MORError",
    "NonFiniteError",
    "NormComputationError",
    "PairingError",
    "PlanMismatchError",
    "PlanTypeError",
    "RatioError",
    "StateDimensionError",
    "UnknownMethodError",
    "UnstableModeWarning",
    "UnstableSystemError",
]


class MORError(ValueError):
    """Base class of every error raised by the ``mor`` package."""


class StateDimensionError(MORError):
    """Shapes of poles, B, C and D disagree."""


class ArgumentError(StateDimensionError):
    """An argument names no valid choice or lies outside its range.

    Like python-control's ``ControlArgument``: an unknown method name or discretisation,
    a discrete-time-only call on a continuous-time system, a ratio outside [0, 1].  The
    message names the value and the valid choices.  It subclasses
    :class:`StateDimensionError` (hence :class:`MORError` and ``ValueError``) because
    these errors were raised as ``StateDimensionError`` before, so code that catches
    that class keeps working.
    """


class NonFiniteError(MORError):
    """An input array holds NaN or infinity."""


class UnstableSystemError(MORError):
    """A mode is not strictly stable (Re λ ≥ 0 in continuous time, |λ̄| ≥ 1 in discrete time)."""


class PairingError(MORError):
    """A mode marked real has a complex pole, B row or C column, or conjugates do not pair up."""


class EmptySystemError(MORError):
    """A system or layer has no modes."""


class RatioError(ArgumentError):
    """A pruning ratio, threshold or budget is outside its valid range."""


class UnknownMethodError(ArgumentError):
    """A selection or norm method name is not registered."""


class PlanMismatchError(MORError):
    """A KeepPlan does not fit the systems it is applied to."""


class InputTypeError(MORError, TypeError):
    """An argument of the Python API, or a field read from a file, has the wrong type.

    The message names the argument and the expected type.  Also a :class:`TypeError`, so
    code that caught the plain ``TypeError`` still does.
    """


class PlanTypeError(PlanMismatchError, InputTypeError):
    """A KeepPlan field (given or read from JSON) has the wrong type, e.g. an index 1.7 or "12"."""


class InputFileError(MORError):
    """A file cannot be read as the input it should be.

    Not a regular file (a directory, FIFO or device), larger than its size limit, not
    UTF-8 text, not valid or too deeply nested JSON, or holding values of the wrong type.
    """


class IllConditionedEigenbasisError(MORError):
    """The eigenvector matrix of A is singular to working precision (defective A)."""


class NormComputationError(MORError):
    """A norm computation failed or did not converge."""


class IllConditionedEigenbasisWarning(UserWarning):
    """The eigenvector matrix of A is badly conditioned; modal results lose accuracy."""


class UnstableModeWarning(UserWarning):
    """A layer holds a mode that is not strictly stable; it is always kept by selection."""
