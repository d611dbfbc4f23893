"""mor: model-order reduction of (deep) diagonal state-space layers.

The MOR core: modal systems, per-unit scores (AIRE energy, LAST H∞, magnitude),
layer-adaptive selection into a :class:`KeepPlan`, modal and balanced truncation,
and exact H2 / H∞ norms and Hankel singular values.  numpy, scipy, python-control and
slycot only: importing ``mor`` never imports JAX.
"""

from mor import scores
from mor.after_update import after_update_balanced_truncation
from mor.exceptions import (
    ArgumentError,
    EmptySystemError,
    IllConditionedEigenbasisError,
    IllConditionedEigenbasisWarning,
    MORError,
    NonFiniteError,
    NormComputationError,
    PairingError,
    PlanMismatchError,
    RatioError,
    StateDimensionError,
    UnknownMethodError,
    UnstableModeWarning,
    UnstableSystemError,
)
from mor.norms import h2_norm, hankel_singular_values, hinf_norm
from mor.plan import BalancedPlan, KeepPlan, load_plan
from mor.reduction import REDUCE_METHODS, ReductionInfo, Reductor, error_bounds, reduce
from mor.selection import METHODS, kept_count, prune
from mor.slicot import BENCHMARKS, load_benchmark
from mor.system_io import load_mat_system, load_stack, load_system, save_stack, save_system
from mor.systems import ModalSystem
from mor.truncation import (
    balanced_singular_perturbation,
    balanced_truncation,
    error_system,
    modal_truncation,
)

__all__ = [
    "BENCHMARKS",
    "METHODS",
    "REDUCE_METHODS",
    "ArgumentError",
    "BalancedPlan",
    "EmptySystemError",
    "IllConditionedEigenbasisError",
    "IllConditionedEigenbasisWarning",
    "KeepPlan",
    "MORError",
    "ModalSystem",
    "NonFiniteError",
    "NormComputationError",
    "PairingError",
    "PlanMismatchError",
    "RatioError",
    "ReductionInfo",
    "Reductor",
    "StateDimensionError",
    "UnknownMethodError",
    "UnstableModeWarning",
    "UnstableSystemError",
    "after_update_balanced_truncation",
    "balanced_singular_perturbation",
    "balanced_truncation",
    "error_bounds",
    "error_system",
    "h2_norm",
    "hankel_singular_values",
    "hinf_norm",
    "kept_count",
    "load_benchmark",
    "load_mat_system",
    "load_plan",
    "load_stack",
    "load_system",
    "modal_truncation",
    "prune",
    "reduce",
    "save_stack",
    "save_system",
    "scores",
]

__version__ = "0.1.0"
