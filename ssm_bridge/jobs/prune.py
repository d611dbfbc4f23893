"""``mor prune``: one method at one budget → the dimension-reduced model and its certificates.

:func:`run_prune` computes a :class:`PruneResult` (plan, reduced model, accuracy before and
after, certificate report, how the ratio was chosen, the advice when accuracy fell too far);
:func:`prune_checkpoint` runs it on a checkpoint and writes it through
:func:`ssm_bridge.jobs.report.write_prune`.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from mor.plan import KeepPlan
from ssm_bridge._staging import check_output_dir
from ssm_bridge.checkpoint import Checkpoint
from ssm_bridge.config import StackConfig
from ssm_bridge.errors import OutputExistsError
from ssm_bridge.jobs import report
from ssm_bridge.jobs.options import DEFAULT_RATIOS, PruneOptions, options_from
from ssm_bridge.jobs.resolve import (
    ResolvedCheckpoint,
    check_batch_memory,
    check_data_fits,
    input_paths,
    resolve_checkpoint,
    task_options,
)
from ssm_bridge.jobs.validation import calibration_for, choose_on_validation

__all__ = ["PruneResult", "count_params", "prune_checkpoint", "run_prune"]


@dataclass(frozen=True)
class PruneResult:
    """The dimension-reduced model of :func:`prune_checkpoint`, what was measured on it, and
    (once written) where its files are.

    Attributes
    ----------
    out_dir : Path or None
        None until written.
    checkpoint_path : Path or None
        The dimension-reduced checkpoint (``model.msgpack``; the KeepPlan is
        ``model.plan.json`` beside it, the config ``model.config.json``).
    plan : KeepPlan
    accuracy_before, loss_before, state_sizes_before : float, float, tuple of int
        Test accuracy (fraction), test loss and stored modes per layer of the full model.
    accuracy_after, loss_after, state_sizes_after : float, float, tuple of int
        The same of the reduced model.
    certificate : verification.CertificateReport
    files : tuple of str
        Every file written, relative to ``out_dir``.
    selection : dict
        How the ratio was chosen (and the validation curve).
    advice : dict
        The accuracy check against ``points``: ``drop_points``, ``over_budget``, and when
        over it ``suggested_ratio`` (largest within ``points`` on validation data) and
        ``commands``.
    record : dict
        Every number of ``accuracy.json``.
    variables, config
        The dimension-reduced model.
    calibration : Calibration or None
    description : str
        The full model in one line.
    checkpoint_metadata : dict
        Metadata of the pruned checkpoint (source, method, ratio, its test accuracy, how to
        rebuild its test set).
    """

    out_dir: Path | None
    checkpoint_path: Path | None
    plan: KeepPlan
    accuracy_before: float
    loss_before: float
    state_sizes_before: tuple[int, ...]
    accuracy_after: float
    loss_after: float
    state_sizes_after: tuple[int, ...]
    certificate: Any
    files: tuple[str, ...]
    selection: dict = field(default_factory=dict)
    advice: dict = field(default_factory=dict)
    record: dict = field(default_factory=dict)
    variables: dict = field(default_factory=dict, repr=False)
    config: StackConfig | None = None
    calibration: Any = field(default=None, repr=False)
    description: str = ""
    checkpoint_metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _Job:
    """One prune: the checkpoint, its layers, the method and the checked options."""

    res: ResolvedCheckpoint
    systems: list
    method: str
    options: PruneOptions
    calibration: Any


def count_params(tree: Any) -> int:
    """Number of parameters of a variables tree (its ``params`` collection)."""
    import jax

    return int(sum(np.size(a) for a in jax.tree_util.tree_leaves(tree.get("params", tree))))


def _within_drop(job: _Job, max_drop: float) -> tuple[float, dict[str, Any]]:
    """(ratio, selection record) chosen on the validation split of the training data."""
    choice = choose_on_validation(job.res, job.systems, [job.method], DEFAULT_RATIOS,
                                  max_drop=max_drop, options=job.options,
                                  calibration=job.calibration)[job.method]
    return choice.ratio, {"by": "max_drop", **choice.to_dict()}


def _accuracy_advice(job: _Job, acc_before: float, acc_after: float,
                     selection: dict[str, Any]) -> dict[str, Any]:
    """The accuracy drop against ``points``; when over it, the ratio and commands that fit.

    The suggested ratio is chosen on a validation split of the training data (never the
    test set), as ``max_drop`` chooses it.
    """
    from ssm_bridge.budgets import NoTrainingDataError

    points = job.options.points
    if points is None:
        return {}
    drop = 100.0 * (acc_before - acc_after)
    advice: dict[str, Any] = {"method": job.method, "points": points, "drop_points": drop,
                              "over_budget": drop > points}
    if not advice["over_budget"]:
        return advice
    base = f"mor prune {shlex.quote(job.res.label)} --method {job.method}"
    commands = []
    if selection.get("by") == "max_drop":
        advice["reason"] = (
            "the ratio was chosen on validation data and the test set drops further; ask for "
            "a smaller --max-drop, or fine-tune the pruned model (--finetune STEPS)")
        commands.append(f"{base} --max-drop {points / 2:g} --out DIR")
    else:
        try:
            ratio, sel = _within_drop(job, points)
        except NoTrainingDataError as err:
            advice["reason"] = str(err).rstrip(".")
        else:
            advice["suggested_ratio"] = ratio
            advice["validation_examples"] = sel.get("validation_examples")
            commands.append(f"{base} --ratio {ratio:g} --out DIR")
        commands.append(f"{base} --max-drop {points:g} --out DIR")
    advice["commands"] = commands
    return advice


def _certified_errors(certificate: Any) -> list[float | None]:
    """Per layer, the smallest proved H∞ bound of the report (None if there is none)."""
    out = []
    for lc in certificate.layers:
        values = [b.value for b in lc.bounds if b.valid and b.norm == "hinf"
                  and b.value is not None]
        out.append(min(values) if values else None)
    return out


def _choose_plan(job: _Job, ratio: float | None) -> tuple[KeepPlan, float, dict[str, Any]]:
    """(plan, ratio, selection record) under the one budget the options give."""
    from ssm_bridge.calibration import make_plan

    opts = job.options
    selection: dict[str, Any] = {"by": "ratio"}
    if opts.max_drop is not None:
        ratio, selection = _within_drop(job, opts.max_drop)
    plan = make_plan(job.systems, job.method, ratio=None if opts.tol is not None else ratio,
                     tol=opts.tol, seed=opts.seed, compat=opts.compat,
                     calibration=job.calibration)
    if opts.tol is not None:
        ratio, selection = plan.achieved_ratio, {"by": "tol", "tol": opts.tol}
    return plan, ratio, selection


def _pruned_metadata(job: _Job, ratio: float, after: Any) -> dict:
    """Metadata of the pruned checkpoint: where it came from and its recorded accuracy."""
    res = job.res
    meta = {"format": "ssm_bridge.prune/1", "source": res.label, "method": job.method,
            "ratio": ratio, "test_accuracy": float(after.accuracy),
            "test_loss": float(after.loss), "n_test": int(after.count),
            "eval_batch_size": int(job.options.batch_size)}
    if job.options.data is None and res.task:  # the test set is the task's: how to rebuild it
        source = res.metadata
        meta.update(task=res.task, task_options=task_options(source),
                    data_seed=int(source.get("data_seed", source.get("seed", 0))))
    return meta


def _record(job: _Job, ratio: float, plan: KeepPlan, measured: dict[str, Any]) -> dict:
    """The numbers of ``accuracy.json``; ``measured`` holds those after ``achieved_ratio``."""
    res = job.res
    head = {"checkpoint": res.label, "task": res.task, "method": job.method, "ratio": ratio,
            "compat": job.options.compat, "achieved_ratio": plan.achieved_ratio}
    return {**head, **measured, "metadata": res.metadata}


def run_prune(res: ResolvedCheckpoint, method: str, ratio: float | None,
              options: PruneOptions) -> PruneResult:
    """Prune ``res`` by ``method`` at ``ratio`` (or the options' budget) and measure it.

    ``method``, ``ratio`` and ``options`` are checked (:meth:`PruneOptions.checked`).
    Nothing is written; :func:`ssm_bridge.jobs.report.write_prune` writes the result.
    """
    from ssm_bridge.apply import apply
    from ssm_bridge.evaluate import evaluate
    from ssm_bridge.extract import extract
    from verification import certify

    systems = extract(res.variables, res.config)
    calibration = calibration_for(res, options.data, [method], options.batch_size)
    job = _Job(res, systems, method, options, calibration)
    plan, ratio, selection = _choose_plan(job, ratio)
    small, small_cfg = apply(res.variables, res.config, plan, mode="remove",
                             calibration=calibration)
    before = evaluate(res.variables, res.config, res.x_test, res.y_test,
                      batch_size=options.batch_size)
    after = evaluate(small, small_cfg, res.x_test, res.y_test, batch_size=options.batch_size)
    advice = _accuracy_advice(job, before.accuracy, after.accuracy, selection)
    certificate = certify(systems, plan,
                          calibration=None if calibration is None else calibration.layers)
    if options.tol is not None:
        selection["certified_hinf_error_per_layer"] = _certified_errors(certificate)
    measured = {
        "test_examples": before.count,
        "before": {"accuracy": before.accuracy, "loss": before.loss,
                   "state_sizes": list(res.config.state_sizes),
                   "params": count_params(res.variables)},
        "after": {"accuracy": after.accuracy, "loss": after.loss,
                  "state_sizes": list(small_cfg.state_sizes), "params": count_params(small)},
        "kept_units": list(plan.kept_counts), "units": list(plan.nunits),
        "certificates_hold": certificate.all_valid_bounds_hold,
        "selection": selection, "advice": advice}
    return PruneResult(
        None, None, plan, before.accuracy, before.loss, tuple(res.config.state_sizes),
        after.accuracy, after.loss, tuple(small_cfg.state_sizes), certificate, (),
        selection, advice, _record(job, ratio, plan, measured), small, small_cfg,
        calibration, res.describe(), _pruned_metadata(job, ratio, after))


def prune_checkpoint(
    checkpoint: str | os.PathLike | Checkpoint,
    method: str = "aire",
    ratio: float | None = None,
    out_dir: str | os.PathLike = "pruned",
    **options: Any,
) -> PruneResult:
    """Prune a checkpoint's states by ``method`` at ``ratio`` and write the smaller model.

    Writes into ``out_dir``: ``model.msgpack`` (the dimension-reduced checkpoint, with
    ``model.config.json`` and its KeepPlan ``model.plan.json``), ``certificates.json`` and
    ``certificates.md`` (per layer: every bound next to the exact H∞ / H2 error of the
    truncation, :func:`verification.certify`), ``accuracy.json`` (test accuracy and loss
    before and after) and ``report.md``.

    Parameters
    ----------
    checkpoint : str, path-like or Checkpoint
        Bundled name or checkpoint path (see :func:`~ssm_bridge.jobs.resolve_checkpoint`).
    method : str
        A method of ``mor.METHODS`` (or a calibrated one).  ``"balanced_truncation"``
        balances each layer's after-update triple and writes the re-diagonalised layers
        back (same D; :mod:`ssm_bridge.balanced`); its certificate is ``2 Σ σ`` per layer.
    ratio : float, optional
        Pruning ratio in [0, 1]: the fraction of state units removed (MATH.md §3).
        Default 0.6 when neither ``max_drop`` nor ``tol`` is given; give at most one of the
        three.
    out_dir : path-like
        Created; an existing directory is replaced only with ``force=True`` and only if mor
        wrote it (it holds ``.mor-output.json``).  Checked before any work.
    **options
        :class:`~ssm_bridge.jobs.options.PruneOptions`: ``force``, ``data``, ``task``,
        ``seed`` (of the ``random`` method), ``batch_size``, ``verify`` (the pruned
        checkpoint's ``model.meta.json`` records its own checksums, its test accuracy and
        the task to rebuild the test set), ``compat`` (``"released"``: select as the
        released LAST / AIRE-Prune code does, recorded in the KeepPlan and the report),
        ``command``; ``max_drop`` (accuracy budget in points: the ratio is the largest of
        ``DEFAULT_RATIOS`` whose accuracy on a validation split carved from the
        **training** data stays within it, :mod:`ssm_bridge.budgets`; the test set is
        evaluated once, on the chosen model), ``tol`` (per layer, remove as much as keeps
        the layer's certified H∞ error ≤ ``tol``) and ``points`` (default 1: when the test
        accuracy falls by more, ``PruneResult.advice`` and the report's last section name
        the largest ratio within ``points`` on validation data and the commands that get
        it; None: no check).

    Returns
    -------
    PruneResult

    Raises
    ------
    OutputExistsError, JobError, mor.UnknownMethodError, mor.RatioError, CheckpointError
        Nothing is written.
    ssm_bridge._staging.OutputNotWritableError
        The output location cannot be written (checked first, nothing is computed).
    """
    opts = options_from(PruneOptions, "prune_checkpoint", options)
    method, ratio, opts = opts.checked(method, ratio)
    inputs = input_paths(checkpoint)
    out = check_output_dir(out_dir, force=opts.force, inputs=inputs, error=OutputExistsError)
    res = resolve_checkpoint(checkpoint, data=opts.data, task=opts.task, verify=opts.verify)
    check_data_fits(res)
    check_batch_memory(res, opts.batch_size)
    result = run_prune(res, method, ratio, opts)
    with report.staged(out, opts.force, inputs, opts.command) as tmp:
        files = report.write_prune(result, tmp)
    return replace(result, out_dir=out, checkpoint_path=out / "model.msgpack", files=files)
