"""The main jobs: prune a trained checkpoint, compare every method, and the one-command demo.

Each job mirrors a command of the ``mor`` command line, which is a thin layer over it:

=============================== ==============================================================
Python                          command line
=============================== ==============================================================
:func:`prune_checkpoint`        ``mor prune CHECKPOINT --method aire --ratio 0.6 --out DIR``
:func:`compare_checkpoint`      ``mor compare CHECKPOINT --methods all --ratios 0:1:0.05
                                --out DIR``
:func:`run_demo`                ``mor demo`` (``mor demo --full``: the paper-shaped
                                checkpoints too)
=============================== ==============================================================

One module per step: :mod:`~ssm_bridge.jobs.resolve` (bundled name, path or loaded
checkpoint → model and test set), :mod:`~ssm_bridge.jobs.options` (the options, checked
before any work), :mod:`~ssm_bridge.jobs.validation` (what is computed on the training
data: calibration, validation-chosen ratios), :mod:`~ssm_bridge.jobs.prune`,
:mod:`~ssm_bridge.jobs.compare` and :mod:`~ssm_bridge.jobs.demo` (each computes a result
object), and :mod:`~ssm_bridge.jobs.report` (renders results to Markdown, CSV, JSON and
figures in a staged output folder: an error or Ctrl-C leaves nothing half-written).
"""

from ssm_bridge.errors import JobError as JobError
from ssm_bridge.errors import OutputExistsError as OutputExistsError
from ssm_bridge.jobs.compare import CompareResult as CompareResult
from ssm_bridge.jobs.compare import compare_checkpoint as compare_checkpoint
from ssm_bridge.jobs.demo import DemoResult as DemoResult
from ssm_bridge.jobs.demo import run_demo as run_demo
from ssm_bridge.jobs.options import DEFAULT_RATIOS as DEFAULT_RATIOS
from ssm_bridge.jobs.prune import PruneResult as PruneResult
from ssm_bridge.jobs.prune import prune_checkpoint as prune_checkpoint
from ssm_bridge.jobs.resolve import ResolvedCheckpoint as ResolvedCheckpoint
from ssm_bridge.jobs.resolve import resolve_checkpoint as resolve_checkpoint

__all__ = [
    "DEFAULT_RATIOS",
    "CompareResult",
    "DemoResult",
    "JobError",
    "OutputExistsError",
    "PruneResult",
    "ResolvedCheckpoint",
    "compare_checkpoint",
    "prune_checkpoint",
    "resolve_checkpoint",
    "run_demo",
]
