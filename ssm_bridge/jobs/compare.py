"""``mor compare``: every method at every ratio of a grid, on one checkpoint.

:func:`run_compare` computes a :class:`CompareResult`: the accuracy and loss of every
(method, ratio) (one fast sweep, :mod:`ssm_bridge.sweep`), the largest ratio within the
accuracy budget (the papers' Table 1), the ratio chosen on validation data, certificates and
per-unit data at the reference ratio, and timed dimension-reduced models.
:func:`compare_checkpoint` runs it on a checkpoint and writes the report through
:func:`ssm_bridge.jobs.report.write_compare`.
"""

from __future__ import annotations

import inspect
import os
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

import mor
from mor.exceptions import MORError
from mor.plan import KeepPlan
from mor.selection import check_ratios, method_kind
from ssm_bridge._staging import check_output_dir
from ssm_bridge.checkpoint import Checkpoint
from ssm_bridge.config import S4DConfig, StackConfig
from ssm_bridge.errors import OutputExistsError
from ssm_bridge.evaluate import forward_call, time_forward
from ssm_bridge.jobs import report
from ssm_bridge.jobs.options import CompareOptions, check_reference_ratio, options_from
from ssm_bridge.jobs.prune import count_params
from ssm_bridge.jobs.resolve import (
    ResolvedCheckpoint,
    check_batch_memory,
    check_data_fits,
    input_paths,
    resolve_checkpoint,
)
from ssm_bridge.jobs.validation import calibration_for, choose_on_validation
from ssm_bridge.sweep import SweepResult

__all__ = [
    "CompareDetails",
    "CompareResult",
    "SpeedTiming",
    "compare_checkpoint",
    "compare_grid",
    "compare_into",
    "computed_state_sizes",
    "recommend",
    "run_compare",
]


# ---------------------------------------------------------------------- grid
def compare_grid(ratios: Sequence[float], reference_ratio: float) -> list[float]:
    """The ratios a compare evaluates: ``ratios`` plus 0 (the full model) and the reference.

    Ratio 0 is the reference of the "largest ratio within" table (which is 0 when no ratio
    stays within the tolerance); the reference ratio is where the pole, energy and
    certificate figures are drawn.  Both are evaluated, never replaced by a nearby ratio.
    """
    return check_ratios([*ratios, 0.0, check_reference_ratio(reference_ratio)])


def _nearest(ratios: Sequence[float], target: float) -> float:
    return float(min(ratios, key=lambda r: (abs(r - target), r)))


@dataclass(frozen=True)
class SpeedTiming:
    """The timed dimension-reduced models of one method against the full one (see
    :func:`_speed`).

    Attributes
    ----------
    method : str
    batch : int
        Examples per timed forward call.
    rows : list of dict
        One per requested ratio (nearest on the grid).
    extra : list of dict
        The method's largest ratio within the budget, when above 0 and not requested.
    note : str
        What the report says about the ratios not shown (empty when nothing).
    """

    method: str
    batch: int
    rows: list[dict]
    extra: list[dict]
    note: str

    @property
    def shown(self) -> list[dict]:
        """The rows within the accuracy budget, by ratio (those the report shows)."""
        return sorted([s for s in [*self.rows, *self.extra] if s["within_budget"]],
                      key=lambda s: s["ratio"])


@dataclass(frozen=True)
class CompareDetails:
    """What the report shows beyond the grid: model, per-unit data, certificates, timings.

    Attributes
    ----------
    description : str
        The model in one line.
    model_config : dict
        Its config as JSON data.
    test_examples : int
    compat : str or None
    points : float
        Accuracy budget (points) of the "largest ratio within" table.
    reference_ratio : float
        Ratio of the pole, energy and certificate figures.
    systems : tuple of ModalSystem
        The checkpoint's layers.
    kept_fraction : dict method → ndarray (len(ratios), n_layers)
        Kept fraction per layer of the plans of up to two modal methods (aire and last).
    energy_method : str
    energies : list of ndarray
        Per layer, the energy of each unit (``mor.scores.energy``).
    layer_norms : list of float or None
        Per layer, ``‖G‖∞`` (None when it cannot be computed).
    certificates : dict method → CertificateReport
        At the reference ratio.
    speed : SpeedTiming
    seconds : dict
        Wall time of the sweep and of the certificates.
    metadata : dict
        The checkpoint's metadata.
    figure_format : {"png", "pdf", "svg"}
    """

    description: str
    model_config: dict
    test_examples: int
    compat: str | None
    points: float
    reference_ratio: float
    systems: tuple
    kept_fraction: dict[str, np.ndarray]
    energy_method: str
    energies: list
    layer_norms: list
    certificates: dict[str, Any]
    speed: SpeedTiming
    seconds: dict[str, float]
    metadata: dict
    figure_format: str = "png"


@dataclass(frozen=True)
class CompareResult:
    """What :func:`compare_checkpoint` measured and (once written) where.

    Attributes
    ----------
    out_dir : Path or None
        None until written.
    report_path : Path or None
        ``report.md``.
    label, task : str
    full_accuracy, full_loss : float
        The unpruned model on the test set (:func:`ssm_bridge.evaluate`).
    methods : tuple of str
        Methods swept.
    ratios : tuple of float
        The ratios evaluated: those asked for, plus 0 (the full model, the reference of the
        "largest ratio" table) and the reference ratio, ascending.
    accuracy, loss : ndarray, shape (len(methods), len(ratios))
    plans : tuple of KeepPlan
        Method-major, as the grid.
    largest_ratio : dict method → float
        Largest ratio within ``points`` of the full model (the papers' Table 1).
    speedup : list of dict
        Per measured ratio: state sizes, times (s) and speed-up of the removed model.
    skipped : dict method → reason
    files : tuple of str
    validation : dict
        Per method, the ratio chosen on validation data and the test accuracy there.
    recommendation : dict
        The method, ratio and ``mor prune`` command the report ends with (:func:`recommend`).
    grid : SweepResult or None
        The sweep (:meth:`plan` reads it).
    details : CompareDetails or None
        Everything else the report shows.
    """

    out_dir: Path | None
    report_path: Path | None
    label: str
    task: str | None
    full_accuracy: float
    full_loss: float
    methods: tuple[str, ...]
    ratios: tuple[float, ...]
    accuracy: np.ndarray
    loss: np.ndarray
    plans: tuple[KeepPlan, ...]
    largest_ratio: dict[str, float]
    speedup: list[dict]
    skipped: dict[str, str]
    files: tuple[str, ...]
    validation: dict = field(default_factory=dict)
    recommendation: dict = field(default_factory=dict)
    grid: SweepResult | None = field(default=None, repr=False)
    details: CompareDetails | None = field(default=None, repr=False)

    def plan(self, method: str, ratio: float) -> KeepPlan:
        """The plan evaluated for (method, ratio) (:meth:`SweepResult.plan`)."""
        return self.grid.plan(method, ratio)

    def accuracy_at(self, method: str, ratio: float) -> float:
        """Test accuracy of (method, ratio), a point of the grid."""
        return float(self.accuracy[self.methods.index(method), self.ratios.index(ratio)])


@dataclass(frozen=True)
class _Compare:
    """One compare under way: inputs, layers and what is measured so far."""

    res: ResolvedCheckpoint
    options: CompareOptions
    systems: list
    calibration: Any
    grid: SweepResult
    full: Any
    largest: dict[str, float]


def _sweep(res: ResolvedCheckpoint, options: CompareOptions, systems: list, calibration: Any,
           swept: list[str], ratios: list[float]) -> SweepResult:
    """Every (method, ratio) of the grid evaluated on the test set in one sweep."""
    from ssm_bridge.calibration import make_plan
    from ssm_bridge.sweep import sweep

    plans = [make_plan(systems, m, ratio=r, seed=options.seed, compat=options.compat,
                       calibration=calibration) for m in swept for r in ratios]
    result = sweep(res.variables, res.config, res.x_test, res.y_test, plans=plans,
                   batch_size=options.batch_size, progress=options.progress,
                   calibration=calibration)
    return replace(result, methods=tuple(swept), ratios=tuple(ratios))


def _validation(job: _Compare) -> dict[str, Any]:
    """Per method, the ratio chosen on the validation split of the training data.

    The test-set accuracy at that ratio is read from the test grid already evaluated: the
    choice itself never looks at the test set.
    """
    from ssm_bridge.budgets import NoTrainingDataError

    grid, points = job.grid, job.options.points
    try:
        choices = choose_on_validation(job.res, job.systems, grid.methods, grid.ratios,
                                       max_drop=points, options=job.options,
                                       calibration=job.calibration)
    except NoTrainingDataError as err:
        return {"skipped": str(err)}
    first = next(iter(choices.values()))
    acc = grid.grid("accuracy")
    return {
        "examples": first.examples, "source": first.source, "points": points,
        "full_accuracy": first.full_accuracy,
        "chosen_ratio": {m: c.ratio for m, c in choices.items()},
        "validation_accuracy": {m: list(c.accuracy) for m, c in choices.items()},
        "test_accuracy_at_chosen": {
            m: float(acc[i, grid.ratios.index(choices[m].ratio)])
            for i, m in enumerate(grid.methods)},
    }


# ---------------------------------------------------------------------- speed-up
def computed_state_sizes(config: StackConfig) -> list[int]:
    """Per layer, the state count the forward pass actually computes.

    S5 pads each layer's stored modes with inert ones to a multiple of the scan's
    ``pad_multiple`` (:func:`ssm_bridge.scan.s5_state_features`, 8 by default), so removing
    5 of 16 modes still computes 16; S4D computes ``d_model × N`` (every channel is padded to
    the layer's largest kept count, :mod:`ssm_bridge.apply`).
    """
    from ssm_bridge import scan

    if isinstance(config, S4DConfig):
        return [config.d_model * n for n in config.state_sizes]
    pad = inspect.signature(scan.s5_state_features).parameters["pad_multiple"].default
    return [pad * -(-n // pad) for n in config.state_sizes]


def _speed_row(job: _Compare, method: str, ratio: float, reduced: tuple[dict, StackConfig],
               full_runs: np.ndarray, runs: np.ndarray) -> dict[str, Any]:
    """One timed removal model against the full one (paired runs)."""
    small, small_cfg = reduced
    plan = job.grid.plan(method, ratio)
    accuracy = float(job.grid.grid("accuracy")[job.grid.methods.index(method),
                                                job.grid.ratios.index(ratio)])
    per_run = full_runs / runs  # paired: timed in turn within each repeat
    computed = computed_state_sizes(small_cfg)
    full_sizes = computed_state_sizes(job.res.config)
    return {
        "method": method, "ratio": ratio, "achieved_ratio": plan.achieved_ratio,
        "state_sizes": list(small_cfg.state_sizes), "computed_sizes": computed,
        "computed_sizes_full": full_sizes, "params": count_params(small),
        "seconds_full": float(np.median(full_runs)), "seconds_reduced": float(np.median(runs)),
        "speedup": float(np.median(full_runs) / np.median(runs)),
        "speedup_min": float(per_run.min()), "speedup_max": float(per_run.max()),
        "repeats": int(runs.size), "accuracy_masked": accuracy,
        "within_budget": bool(accuracy >= job.full.accuracy - job.options.points / 100.0
                              - 1e-12),
        "padding_swallows_saving": computed == full_sizes,
    }


def _speed_note(method: str, rows: list[dict], points: float) -> str:
    """What the report says about the timed ratios it does not show."""
    notes = []
    dropped = [f"{s['ratio']:g}" for s in rows if not s["within_budget"]]
    if dropped:
        notes.append(f"Not shown: ratio {', '.join(dropped)} of {method}, whose accuracy is "
                     f"more than {points:g} point below the full model's (a speed-up there is "
                     "not one to use; the timings are in results.json).")
    if not any(s["within_budget"] for s in rows):
        notes.append(f"No ratio above 0 keeps {method} within {points:g} point, so there is no "
                     "speed-up to show.")
    same = [f"{s['ratio']:g}" for s in rows if s["within_budget"] and
            s["padding_swallows_saving"]]
    if same:
        notes.append(f"At ratio {', '.join(same)} the removed model computes the same padded "
                     f"state sizes as the full one ({rows[0]['computed_sizes_full']} per "
                     "layer): padding swallows the saving, so whatever the clock says is "
                     "noise.")
    return " ".join(notes)


def _speed(job: _Compare, method: str) -> SpeedTiming:
    """Timed removal models: the requested ratios, and the largest ratio within the budget.

    Every model is timed in turn with the full one in each repeat (paired runs,
    :func:`ssm_bridge.evaluate.time_forward`), so each row has the median speed-up and its
    run-to-run range.  Each row says whether its accuracy is within ``points`` of the full
    model (``within_budget``: only those are shown in the report) and whether padding
    leaves the computed state sizes unchanged (``padding_swallows_saving``).
    """
    from ssm_bridge.apply import apply

    res, ratios = job.res, job.grid.ratios
    x_batch = res.x_test[: min(len(res.x_test), job.options.batch_size)]
    requested = sorted({_nearest(ratios, s) for s in job.options.speedup_ratios})
    largest = job.largest[method]
    extra = [largest] if largest > 0 and largest not in requested else []
    wanted = [*requested, *extra]
    reduced = [apply(res.variables, res.config, job.grid.plan(method, r), mode="remove")
               for r in wanted]
    calls = [forward_call(v, cfg, x_batch) for v, cfg in [(res.variables, res.config),
                                                         *reduced]] if wanted else []
    runs = [np.asarray(t, dtype=float) for t in time_forward(calls,
                                                             repeats=job.options.repeats)]
    rows = [_speed_row(job, method, r, small, runs[0], runs[1 + k])
            for k, (r, small) in enumerate(zip(wanted, reduced, strict=True))]
    return SpeedTiming(method, len(x_batch), rows[:len(requested)], rows[len(requested):],
                       _speed_note(method, rows, job.options.points))


# ---------------------------------------------------------------------- per-unit data
def _layer_hinf(system: mor.ModalSystem) -> float | None:
    """‖G‖∞ of one layer (None when it cannot be computed, e.g. an unstable layer)."""
    try:
        return float(mor.hinf_norm(system))
    except MORError:
        return None


def _figure_methods(swept: Sequence[str]) -> tuple[list[str], str]:
    """(methods of the kept-fraction, pole and certificate figures, method of the energies)."""
    modal = [m for m in swept if method_kind(m) == "modal"]
    shown = [m for m in ("aire", "last") if m in swept] or modal[:2]
    return shown, "aire" if "aire" in swept else modal[0]


def _certificates(job: _Compare, methods: Sequence[str]) -> dict[str, Any]:
    """Certificate reports at the reference ratio: the figures' methods and balanced ones."""
    from verification import certify

    ref = job.options.reference_ratio
    balanced = [m for m in job.grid.methods if method_kind(m) == "balanced"]
    layers = None if job.calibration is None else job.calibration.layers
    return {m: certify(job.systems, job.grid.plan(m, ref), calibration=layers)
            for m in [*methods, *balanced]}


def _details(job: _Compare, sweep_seconds: float) -> CompareDetails:
    """Per-unit data, certificates and timings at the reference ratio."""
    import json

    res, opts = job.res, job.options
    shown, energy_method = _figure_methods(job.grid.methods)
    fractions = {m: np.array([job.grid.plan(m, r).kept_fraction for r in job.grid.ratios])
                 for m in shown}
    t1 = time.perf_counter()
    certificates = _certificates(job, shown)
    cert_seconds = time.perf_counter() - t1
    speed_method = "aire" if "aire" in job.grid.methods else energy_method
    return CompareDetails(
        description=res.describe(), model_config=json.loads(res.config.to_json()),
        test_examples=job.full.count, compat=opts.compat, points=opts.points,
        reference_ratio=float(opts.reference_ratio), systems=tuple(job.systems),
        kept_fraction=fractions, energy_method=energy_method,
        energies=[mor.scores.energy(s) for s in job.systems],
        layer_norms=[_layer_hinf(s) for s in job.systems], certificates=certificates,
        speed=_speed(job, speed_method),
        seconds={"evaluate_and_sweep": sweep_seconds, "certify": cert_seconds},
        metadata=res.metadata, figure_format=opts.figure_format)


# ---------------------------------------------------------------------- recommendation
def recommend(label: str, methods: Sequence[str], largest: Mapping[str, float],
              validation: Mapping[str, Any], points: float) -> dict[str, Any]:
    """The method and ratio to use next, and the command that makes that model.

    The method with the largest ratio within ``points`` on validation data of the training
    set when there is some (then on the test set; ties: aire, then last, then the order
    given; ``random`` only if nothing else prunes), and its validation-chosen ratio (the
    test-set choice is optimistic).

    Returns
    -------
    dict
        ``method``, ``ratio``, ``test_ratio``, ``ratio_source``, ``commands``, ``text``.
    """
    prefer = {"aire": 0, "last": 1}
    candidates = [m for m in methods if m != "random"] or list(methods)
    on_validation = (validation or {}).get("chosen_ratio", {})
    best = max(candidates, key=lambda m: (on_validation.get(m, 0.0), largest[m],
                                          -prefer.get(m, 2), -list(methods).index(m)))
    test_ratio = float(largest[best])
    chosen = on_validation.get(best)
    ratio, source = (float(chosen), "validation") if chosen is not None else (test_ratio, "test")
    base = f"mor prune {shlex.quote(label)} --method {best}"
    if test_ratio <= 0:
        return {"method": best, "ratio": 0.0, "test_ratio": 0.0, "ratio_source": source,
                "commands": [f"{base} --ratio 0.1 --finetune 200 --out pruned/",
                             f"mor compare {shlex.quote(label)} --points {2 * points:g} "
                             "--out report/"],
                "text": f"No method prunes this model within {points:g} point. Prune a little "
                        "and fine-tune, or allow more points:"}
    text = (f"Use **{best}**: it prunes the most within {points:g} point (ratio "
            f"{test_ratio:g} on the test set")
    text += (f"; {ratio:g} chosen on validation data of the training set, which is what "
             "`--max-drop` picks and what to trust)." if source == "validation"
             else "; no validation data to confirm it, so the ratio is optimistic).")
    commands = [f"{base} --ratio {ratio:g} --out pruned/"]
    if source == "validation":
        commands.append(f"{base} --max-drop {points:g} --out pruned/")
    return {"method": best, "ratio": ratio, "test_ratio": test_ratio, "ratio_source": source,
            "commands": commands, "text": text}


# ---------------------------------------------------------------------- the job
def run_compare(res: ResolvedCheckpoint, options: CompareOptions) -> CompareResult:
    """Evaluate every method of ``options`` at every ratio on ``res``; nothing is written.

    ``options`` are checked (:meth:`CompareOptions.checked`).
    """
    from ssm_bridge.evaluate import evaluate
    from ssm_bridge.extract import extract
    from ssm_bridge.metrics import largest_ratio_within

    check_data_fits(res)
    swept, skipped = options.swept_methods()
    ratios = compare_grid(options.ratios, options.reference_ratio)
    t0 = time.perf_counter()
    full = evaluate(res.variables, res.config, res.x_test, res.y_test,
                    batch_size=options.batch_size)
    systems = extract(res.variables, res.config)
    calibration = calibration_for(res, options.data, swept, options.batch_size)
    grid = _sweep(res, options, systems, calibration, swept, ratios)
    acc = grid.grid("accuracy")
    sweep_seconds = time.perf_counter() - t0
    largest = {m: largest_ratio_within(ratios, acc[i], full.accuracy, points=options.points)
               for i, m in enumerate(swept)}
    job = _Compare(res, options, systems, calibration, grid, full, largest)
    validation = _validation(job)
    details = _details(job, sweep_seconds)
    return CompareResult(
        out_dir=None, report_path=None, label=res.label, task=res.task,
        full_accuracy=full.accuracy, full_loss=full.loss, methods=tuple(swept),
        ratios=tuple(ratios), accuracy=acc, loss=grid.grid("loss"), plans=tuple(grid.plans),
        largest_ratio=largest, speedup=details.speed.rows, skipped=skipped, files=(),
        validation=validation,
        recommendation=recommend(res.label, swept, largest, validation, options.points),
        grid=grid, details=details)


def compare_into(res: ResolvedCheckpoint, target: Path, *,
                 options: CompareOptions) -> CompareResult:
    """:func:`run_compare` of ``res``, its report written into the existing folder ``target``."""
    return report.write_compare(run_compare(res, options), target)


def compare_checkpoint(
    checkpoint: str | os.PathLike | Checkpoint,
    out_dir: str | os.PathLike = "compare",
    **options: Any,
) -> CompareResult:
    """Evaluate every method at every ratio and write the report (Markdown, PNG, CSV, JSON).

    Parameters
    ----------
    checkpoint : str, path-like or Checkpoint
        Bundled name or checkpoint path (see :func:`~ssm_bridge.jobs.resolve_checkpoint`).
    out_dir : path-like
        Created; an existing directory is replaced only with ``force=True`` and only if mor
        wrote it (it holds ``.mor-output.json``).  Checked before any work.
    **options
        :class:`~ssm_bridge.jobs.options.CompareOptions`: ``methods`` ("all" or names of
        ``mor.METHODS``; balanced truncation is swept like the others and needs a modal
        method beside it for the per-unit figures), ``ratios`` (in [0, 1], at most
        ``MAX_RATIOS``; ratio 0 and ``reference_ratio`` are always evaluated too),
        ``reference_ratio`` (in (0, 1], of the pole, energy and certificate figures),
        ``speedup_ratios`` (nearest on the grid, where the removed model is timed),
        ``points`` (tolerance of the "largest ratio within" table, accuracy points),
        ``repeats`` (timed calls per model), ``progress``, ``figure_format`` ("png",
        "pdf" or "svg"), and those of every job: ``force``, ``data``, ``task``, ``seed``,
        ``batch_size``, ``verify``, ``compat`` (``"released"``: aire and last select as the
        released LAST / AIRE-Prune code does; the other methods are listed as not swept)
        and ``command``.

    Returns
    -------
    CompareResult

    Raises
    ------
    OutputExistsError, JobError, mor.UnknownMethodError, mor.RatioError, CheckpointError
        Raised before any work; nothing is written.
    ssm_bridge._staging.OutputNotWritableError
        The output location cannot be written (checked first).
    """
    opts = options_from(CompareOptions, "compare_checkpoint", options).checked()
    inputs = input_paths(checkpoint)
    out = check_output_dir(out_dir, force=opts.force, inputs=inputs, error=OutputExistsError)
    res = resolve_checkpoint(checkpoint, data=opts.data, task=opts.task, verify=opts.verify)
    check_data_fits(res)
    check_batch_memory(res, opts.batch_size)
    with report.staged(out, opts.force, inputs, opts.command) as tmp:
        result = compare_into(res, tmp, options=opts)
    return report.moved(result, out)
