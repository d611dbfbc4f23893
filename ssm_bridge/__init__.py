"""ssm_bridge: S5 and S4D stacks (JAX/Flax) in and out of the ``mor`` core.

- :func:`extract`: parameter tree → one :class:`mor.ModalSystem` per layer, discretised
  exactly as the forward pass;
- :func:`apply`: KeepPlan → masked tree (same shapes) or a dimension-reduced tree and config;
- :func:`save_checkpoint` / :func:`load_checkpoint`: Flax msgpack or Orbax, with the config
  and KeepPlan as JSON beside them (never pickle, atomic writes);
- :func:`evaluate`: jitted, batched, sharded over all visible devices;
- :func:`sweep`: many plans (methods × ratios) in one pass over the data.

This is the only package of the toolkit that imports JAX and Flax.
"""

from ssm_bridge.apply import apply as apply
from ssm_bridge.apply import plan_masks as plan_masks
from ssm_bridge.checkpoint import Checkpoint as Checkpoint
from ssm_bridge.checkpoint import load_checkpoint as load_checkpoint
from ssm_bridge.checkpoint import save_checkpoint as save_checkpoint
from ssm_bridge.config import S4DConfig as S4DConfig
from ssm_bridge.config import S5Config as S5Config
from ssm_bridge.config import StackConfig as StackConfig
from ssm_bridge.config import config_from_dict as config_from_dict
from ssm_bridge.config import load_config as load_config
from ssm_bridge.errors import BridgeError as BridgeError
from ssm_bridge.errors import CheckpointError as CheckpointError
from ssm_bridge.errors import ConfigError as ConfigError
from ssm_bridge.errors import LayoutError as LayoutError
from ssm_bridge.errors import NonFiniteParameterError as NonFiniteParameterError
from ssm_bridge.evaluate import EvalResult as EvalResult
from ssm_bridge.evaluate import evaluate as evaluate
from ssm_bridge.evaluate import log_probabilities as log_probabilities
from ssm_bridge.extract import extract as extract
from ssm_bridge.layout import config_from_tree as config_from_tree
from ssm_bridge.layout import infer_config_fields as infer_config_fields
from ssm_bridge.layout import validate_tree as validate_tree
from ssm_bridge.models import S4DModel as S4DModel
from ssm_bridge.models import S5Model as S5Model
from ssm_bridge.models import init_variables as init_variables
from ssm_bridge.models import make_model as make_model
from ssm_bridge.models import random_variables as random_variables
from ssm_bridge.sweep import SWEEP_METHODS as SWEEP_METHODS
from ssm_bridge.sweep import SweepResult as SweepResult
from ssm_bridge.sweep import make_plans as make_plans
from ssm_bridge.sweep import sweep as sweep

__all__ = [
    "SWEEP_METHODS",
    "BridgeError",
    "Checkpoint",
    "CheckpointError",
    "ConfigError",
    "EvalResult",
    "LayoutError",
    "NonFiniteParameterError",
    "S4DConfig",
    "S4DModel",
    "S5Config",
    "S5Model",
    "StackConfig",
    "SweepResult",
    "apply",
    "config_from_dict",
    "config_from_tree",
    "evaluate",
    "extract",
    "infer_config_fields",
    "init_variables",
    "load_checkpoint",
    "load_config",
    "log_probabilities",
    "make_model",
    "make_plans",
    "plan_masks",
    "random_variables",
    "save_checkpoint",
    "sweep",
    "validate_tree",
]
