"""Rendering of job results: Markdown, CSV, JSON and figures, written into staged folders.

Each ``write_*`` takes a result object (:class:`~ssm_bridge.jobs.prune.PruneResult`,
:class:`~ssm_bridge.jobs.compare.CompareResult`, :class:`~ssm_bridge.jobs.demo.DemoResult`)
and writes its files into an existing folder, normally the temporary one of
:func:`staged`: it is renamed onto the output only when everything is written, so an error
(or Ctrl-C) leaves nothing half-written.  Each output folder holds the marker file
``.mor-output.json``; an existing one is replaced only with ``force=True`` and only if mor
wrote it, and never when it is the current or home directory, the filesystem root, or a
folder holding the input (:mod:`ssm_bridge._staging`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mor.io import atomic_write_text, json_safe, markdown_table
from ssm_bridge._staging import check_output_dir, staged_directory
from ssm_bridge.errors import OutputExistsError

if TYPE_CHECKING:  # pragma: no cover
    from ssm_bridge.jobs.compare import CompareResult
    from ssm_bridge.jobs.demo import DemoResult
    from ssm_bridge.jobs.prune import PruneResult

__all__ = [
    "advice_markdown",
    "certificate_markdown",
    "compare_markdown",
    "compare_record",
    "demo_markdown",
    "demo_summary_rows",
    "linear_verdict",
    "recommendation_markdown",
    "staged",
    "validation_markdown",
    "write_compare",
    "write_demo",
    "write_json",
    "write_prune",
]

_VERDICT = {True: "yes", False: "NO", None: "unknown"}


# ---------------------------------------------------------------------- files
@contextmanager
def staged(out: Path, force: bool, inputs: Sequence[Path] = (),
           command: str | None = None) -> Iterator[Path]:
    """Yield a temporary directory beside ``out``; rename it to ``out`` when the block ends.

    The directory holds the marker ``.mor-output.json`` recording ``command``; the output is
    checked again just before the rename (it may have appeared meanwhile).
    """
    def recheck() -> None:
        check_output_dir(out, force=force, inputs=inputs, error=OutputExistsError)

    with staged_directory(out, before_replace=recheck, command=command) as tmp:
        yield tmp


def moved(result: Any, out: Path) -> Any:
    """A written result whose folder was renamed to ``out``."""
    return replace(result, out_dir=out, report_path=out / "report.md")


def write_json(path: Path, data: Any) -> None:
    """``data`` as indented JSON (NaN and infinity as null), written atomically."""
    atomic_write_text(path, json.dumps(json_safe(data), indent=1, allow_nan=False) + "\n")


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f} %"


# ---------------------------------------------------------------------- certificates
def certificate_markdown(report: Any) -> str:
    """A certificate report as Markdown: one row per (layer, bound), exact norms beside it."""
    rows = []
    for lc in report.layers:
        for b in lc.bounds:
            exact = lc.exact_hinf if b.norm == "hinf" else lc.exact_h2
            holds = "n/a" if b.value is None else {True: "yes", False: "**NO**",
                                                   None: "unknown"}[b.holds]
            rows.append([lc.layer, f"{lc.npruned}/{lc.nunits}", b.name, b.norm, b.value, exact,
                         None if not b.value or exact is None else exact / b.value,
                         "yes" if b.valid else "no (published form)", holds])
    header = ["layer", "pruned units", "bound", "norm", "bound value", "exact error",
              "exact / bound", "proved here", "holds"]
    summary = report.summary()
    verdict = {True: "every proved bound holds", False: "a proved bound FAILS",
               None: "unknown (a norm computation failed)"}[summary["all_valid_bounds_hold"]]
    return (f"Certificate of `{report.method}` at ratio {report.ratio} (achieved "
            f"{report.achieved_ratio:.3f}): {verdict}. Bounds marked 'no' are the papers' "
            "published forms, which are not proved for these layers; they are shown for "
            "comparison.\n\n" + markdown_table(header, rows))


# ---------------------------------------------------------------------- prune
def selection_lines(selection: Mapping[str, Any]) -> list[str]:
    """How the ratio was chosen (empty when it was given)."""
    if selection.get("by") == "max_drop":
        return ["", f"Ratio chosen on a validation split of the training data "
                f"({selection['validation_examples']} examples, "
                f"{selection['validation_source']}): the largest ratio whose validation "
                f"accuracy is within {selection['max_drop_points']:g} point(s) of the full "
                f"model's ({100 * selection['validation_full_accuracy']:.2f} %). The test set "
                "was evaluated once, on the chosen model."]
    if selection.get("by") == "tol":
        errs = selection.get("certified_hinf_error_per_layer", [])
        shown = ", ".join("n/a" if e is None else f"{e:.3g}" for e in errs)
        return ["", f"Error budget: per layer, pruned while the certified H∞ error stays ≤ "
                f"{selection['tol']:g}; certified errors per layer: {shown}."]
    return []


def advice_markdown(advice: Mapping[str, Any]) -> list[str]:
    """The prune report's closing section: whether the budget holds, and what to run next."""
    if not advice:
        return []
    lines = ["## What to do next", ""]
    drop, points = advice["drop_points"], advice["points"]
    if not advice["over_budget"]:
        return [*lines, f"The test accuracy fell by {drop:.2f} points, within the {points:g} "
                "point(s) allowed: this model is ready to use.", ""]
    lines.append(f"**The test accuracy fell by {drop:.2f} points, more than the {points:g} "
                 "point(s) allowed.** The certificates bound each layer's error, not the "
                 "accuracy.")
    if advice.get("suggested_ratio") is not None:
        lines.append(f"The largest ratio within {points:g} point(s) for {advice['method']} "
                     f"is {advice['suggested_ratio']:g} (chosen on "
                     f"{advice['validation_examples']} validation examples of the training "
                     "data).")
    elif advice.get("reason"):
        lines.append(f"No ratio could be suggested: {advice['reason']}.")
    return [*lines, "", "```bash", *advice.get("commands", []), "```", ""]


def prune_markdown(result: PruneResult) -> str:
    """``report.md`` of a prune: what was kept, accuracy before and after, certificates."""
    rec, plan = result.record, result.plan
    compat = rec["compat"]
    rows = [["full", f"{result.accuracy_before * 100:.2f}", f"{result.loss_before:.4f}",
             str(list(result.state_sizes_before)), rec["before"]["params"]],
            [f"{rec['method']} @ {rec['ratio']:g}", f"{result.accuracy_after * 100:.2f}",
             f"{result.loss_after:.4f}", str(list(result.state_sizes_after)),
             rec["after"]["params"]]]
    kept = ('real states (balanced truncation)' if plan.kind == 'balanced'
            else 'state units')
    text = [
        f"# Pruned checkpoint: {rec['checkpoint']}, {rec['method']} at ratio {rec['ratio']:g}"
        + ("" if compat is None else f" (compat={compat}: the released code's rules)"),
        "",
        f"Model: {result.description}.",
        f"Kept {sum(plan.kept_counts)} of {sum(plan.nunits)} {kept} (achieved ratio "
        f"{plan.achieved_ratio:.3f}); kept per layer {list(plan.kept_counts)}.",
        *selection_lines(result.selection),
        "",
        markdown_table(["model", "test accuracy (%)", "test loss", "stored modes per layer",
                        "parameters"], rows),
        "", "## Certificates per layer", "", certificate_markdown(result.certificate), "",
        "## Files", "",
        "- `model.msgpack`, `model.config.json`: the dimension-reduced checkpoint "
        "(`ssm_bridge.load_checkpoint`)",
        "- `model.plan.json`: its KeepPlan (`mor.KeepPlan.load`)",
        "- `certificates.json`, `certificates.md`: the certificate report",
        "- `accuracy.json`: accuracy and loss before and after",
        "",
        *advice_markdown(result.advice),
    ]
    return "\n".join(text) + "\n"


def write_prune(result: PruneResult, folder: Path) -> tuple[str, ...]:
    """The pruned checkpoint, its certificates, accuracy and report into ``folder``.

    Returns the names of the files in ``folder``.
    """
    from ssm_bridge.checkpoint import save_checkpoint

    save_checkpoint(folder / "model.msgpack", result.variables, result.config,
                    plan=result.plan, metadata=result.checkpoint_metadata)
    atomic_write_text(folder / "certificates.json", result.certificate.to_json() + "\n")
    atomic_write_text(folder / "certificates.md",
                      certificate_markdown(result.certificate) + "\n")
    if result.calibration is not None:  # beside the plan: the calibrated plan is reproducible
        result.calibration.save(folder / "model.calibration.npz")
    write_json(folder / "accuracy.json", result.record)
    atomic_write_text(folder / "report.md", prune_markdown(result))
    return tuple(sorted(p.name for p in folder.iterdir()))


# ---------------------------------------------------------------------- compare: figures
def _expanded(sys: Any, keep: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Poles with conjugates written out, and whether each is kept."""
    kept = np.zeros(sys.nunits, dtype=bool)
    kept[list(keep)] = True
    poles, flags = [], []
    for p, is_pair, k in zip(sys.poles, sys.pair, kept, strict=True):
        poles.append(p)
        flags.append(k)
        if is_pair:
            poles.append(np.conj(p))
            flags.append(k)
    return np.asarray(poles), np.asarray(flags, dtype=bool)


def _certificate_panels(result: CompareResult) -> dict[str, dict[str, list]]:
    """Per modal certificate report: exact H∞ errors and the bounds, per layer."""
    ref = result.details.reference_ratio
    panels = {}
    for m, rep in result.details.certificates.items():
        if rep.kind == "balanced":  # one bound (2 Σ σ), in the Markdown table only
            continue
        series: dict[str, list] = {"exact H∞ error": [lc.exact_hinf for lc in rep.layers]}
        for bname in ("modal_triangle", "aire_eq19", "last_eq4_published"):
            label = bname + ("" if all(lc.bound(bname).valid for lc in rep.layers
                                       if lc.npruned) else " (published form)")
            # a layer with nothing pruned has no bound (its error is 0): left out
            series[label] = [lc.bound(bname).value if lc.npruned else None
                             for lc in rep.layers]
        panels[f"{m} at ratio {ref:g}"] = series
    return panels


def _unit_figures(result: CompareResult, target: Path, title: str) -> dict[str, str]:
    """The kept-fraction, pole and energy figures; returns {file: what it shows}."""
    from ssm_bridge import plots

    d, ext, ref = result.details, result.details.figure_format, result.details.reference_ratio
    files = {}
    plots.kept_fraction(target / f"kept_fraction.{ext}", list(result.ratios), d.kept_fraction,
                        title=f"Kept fraction per layer: {title}", fmt=ext)
    files[f"kept_fraction.{ext}"] = "kept fraction per layer against the global ratio"
    for m in d.kept_fraction:
        plan = result.plan(m, ref)
        name = f"poles_{m}.{ext}"
        plots.poles(target / name, [_expanded(s, k) for s, k in zip(d.systems, plan.keep,
                                                                    strict=True)],
                    title=f"Poles λ̄ kept and pruned by {m} at ratio {ref:g}: {title}",
                    units=list(zip(plan.kept_counts, plan.nunits, strict=True)), fmt=ext)
        files[name] = f"kept and pruned poles, {m} at ratio {ref:g}"
    plots.sorted_energies(target / f"energies.{ext}", d.energies,
                          result.plan(d.energy_method, ref).kept_counts,
                          title=f"Sorted unit energies and the {d.energy_method} cut at ratio "
                                f"{ref:g}: {title}", fmt=ext)
    files[f"energies.{ext}"] = f"per-layer sorted energies with the {d.energy_method} cut"
    return files


def _compare_figures(result: CompareResult, target: Path) -> dict[str, str]:
    """Every figure of a compare report; returns {file: what it shows}."""
    from ssm_bridge import plots

    d, ext = result.details, result.details.figure_format
    title = f"{result.label} ({result.task or 'given data'})"
    plots.accuracy_vs_ratio(target / f"accuracy_vs_ratio.{ext}", list(result.ratios),
                            {m: result.accuracy[i] for i, m in enumerate(result.methods)},
                            result.full_accuracy,
                            title=f"Accuracy against pruning ratio: {title}", points=d.points,
                            largest=result.largest_ratio, fmt=ext)
    files = {f"accuracy_vs_ratio.{ext}": "accuracy against pruning ratio per method",
             **_unit_figures(result, target, title)}
    panels = _certificate_panels(result)
    plots.certificates(target / f"certificates.{ext}", panels,
                       title=f"Certificate bounds against exact errors per layer: {title}",
                       scales={name: d.layer_norms for name in panels}, fmt=ext)
    files[f"certificates.{ext}"] = ("proved bounds (filled) and published, unproved forms "
                                    "(hollow) against exact H∞ errors per layer, absolute "
                                    "and relative to the layer's ‖G‖∞")
    shown = d.speed.shown
    plots.speedup(target / f"speedup.{ext}", [s["ratio"] for s in shown],
                  [s["speedup"] for s in shown],
                  labels=[str(s["state_sizes"]) for s in shown],
                  spread=([s["speedup_min"] for s in shown], [s["speedup_max"] for s in shown]),
                  unchanged=[s["padding_swallows_saving"] for s in shown],
                  title=f"Forward-pass speed-up ({d.speed.method}, batch {d.speed.batch}, "
                        f"within {d.points:g} point): {result.label}", fmt=ext,
                  empty_note=d.speed.note)
    files[f"speedup.{ext}"] = ("inference speed-up of dimension-reduced models at ratios "
                               "within the accuracy budget, with the run-to-run range")
    return files


# ---------------------------------------------------------------------- compare: data files
def _accuracy_csv(result: CompareResult) -> str:
    """``accuracy.csv``: one row per (method, ratio)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["method", "ratio", "achieved_ratio", "kept_units", "total_units",
                     "accuracy", "loss"])
    for i, m in enumerate(result.methods):
        for j, r in enumerate(result.ratios):
            p = result.plan(m, r)
            writer.writerow([m, repr(r), repr(p.achieved_ratio), sum(p.kept_counts),
                             sum(p.nunits), repr(float(result.accuracy[i, j])),
                             repr(float(result.loss[i, j]))])
    return buf.getvalue()


def compare_record(result: CompareResult) -> dict[str, Any]:
    """Every number of a compare report (``results.json``)."""
    d, methods, ratios = result.details, list(result.methods), list(result.ratios)
    ref = d.reference_ratio
    return {
        "checkpoint": result.label, "task": result.task, "model": d.model_config,
        "test_examples": d.test_examples,
        "full": {"accuracy": result.full_accuracy, "loss": result.full_loss},
        "methods": methods, "compat": d.compat, "skipped_methods": result.skipped,
        "ratios": ratios,
        "accuracy": {m: result.accuracy[i] for i, m in enumerate(methods)},
        "loss": {m: result.loss[i] for i, m in enumerate(methods)},
        "achieved_ratio": {m: [result.plan(m, r).achieved_ratio for r in ratios]
                           for m in methods},
        "points": d.points, "largest_ratio_within": result.largest_ratio,
        "validation": result.validation, "kept_fraction": d.kept_fraction,
        "reference_ratio": ref,
        "kept_per_layer_at_reference": {m: list(result.plan(m, ref).kept_counts)
                                        for m in methods},
        "certificates": {m: rep.to_dict() for m, rep in d.certificates.items()},
        "speedup": d.speed.rows, "speedup_largest_within_budget": d.speed.extra,
        "speedup_note": d.speed.note, "recommendation": result.recommendation,
        "seconds": d.seconds, "metadata": d.metadata,
    }


def write_compare(result: CompareResult, target: Path) -> CompareResult:
    """The compare report of ``result`` written into the existing folder ``target``.

    Returns ``result`` with ``out_dir``, ``report_path`` and ``files`` filled in.
    """
    files = _compare_figures(result, target)
    atomic_write_text(target / "accuracy.csv", _accuracy_csv(result))
    files["accuracy.csv"] = "accuracy and loss of every (method, ratio)"
    write_json(target / "results.json", compare_record(result))
    files["results.json"] = "every number of this report"
    ref = result.details.reference_ratio
    for m, rep in result.details.certificates.items():
        atomic_write_text(target / f"certificates_{m}.json", rep.to_json() + "\n")
        files[f"certificates_{m}.json"] = f"certificate report of {m} at ratio {ref:g}"
    files["report.md"] = "this report"
    atomic_write_text(target / "report.md", compare_markdown(result, files))
    return replace(result, out_dir=target, report_path=target / "report.md",
                   files=tuple(sorted(files)))


# ---------------------------------------------------------------------- compare: Markdown
def _accuracy_section(result: CompareResult) -> list[str]:
    ext, points = result.details.figure_format, result.details.points
    return [
        "## Accuracy against pruning ratio (aire-prune Fig. 4, last Fig. 2)",
        "",
        f"![accuracy against pruning ratio](accuracy_vs_ratio.{ext})",
        "",
        "Left: the whole range; right: a zoom on the band within "
        f"{points:g} point of the full model (shaded), where the choice is made, with each "
        "method's largest ratio in it (★). Methods whose curves coincide are drawn once and "
        "named together (`a = b`).",
        "",
        markdown_table(["method"] + [f"{r:g}" for r in result.ratios],
                       [[m] + [f"{100 * a:.1f}" for a in result.accuracy[i]]
                        for i, m in enumerate(result.methods)]),
        "",
        "Test accuracy (%) per method (rows) and pruning ratio (columns); ratio 0 (nothing "
        "pruned) and the reference ratio of the figures below are always evaluated.",
        "",
    ]


def _largest_section(result: CompareResult) -> list[str]:
    points, largest = result.details.points, result.largest_ratio
    rows = []
    for m in sorted(result.methods, key=lambda m: -largest[m]):
        plan = result.plan(m, largest[m])
        rows.append([m, f"{largest[m]:g}", f"{plan.achieved_ratio:.3f}",
                     f"{100 * result.accuracy_at(m, largest[m]):.2f}",
                     str(list(plan.kept_counts))])
    lines = [f"## Largest ratio within {points:g} point of the full model (Table 1 of both "
             "papers)", "",
             markdown_table(["method", "largest ratio", "achieved ratio", "accuracy there (%)",
                             "kept units per layer"], rows), ""]
    for m, why in result.skipped.items():
        lines += [f"- `{m}` is not in this sweep: it {why}.", ""]
    if "aire" in largest and "last" in largest:
        a, b = largest["aire"], largest["last"]
        verdict = ("AIRE prunes more than LAST" if a > b else
                   "LAST prunes more than AIRE" if b > a else "AIRE and LAST tie")
        lines += [f"On this model at this grid, {verdict} within {points:g} point "
                  f"({a:g} vs {b:g}).", ""]
    return lines


def _fraction_lines(result: CompareResult) -> list[str]:
    """Per method of the kept-fraction figure: from which ratio a layer keeps one unit."""
    lines = []
    for m in result.details.kept_fraction:
        plans = [result.plan(m, r) for r in result.ratios]
        empty = [r for r, p in zip(result.ratios, plans, strict=True)
                 if any(k == 1 and n > 1 for k, n in zip(p.kept_counts, p.nunits, strict=True))]
        first = f"from ratio {min(empty):g} on" if empty else "at no ratio of the grid"
        lines.append(f"- `{m}`: some layer is cut down to its last unit {first} (a layer is "
                     "never emptied: one unit per layer is always kept).")
    return lines


def _unit_sections(result: CompareResult) -> list[str]:
    d, ext = result.details, result.details.figure_format
    ref = d.reference_ratio
    return [
        "## Kept fraction per layer (aire-prune Fig. 5)", "",
        f"![kept fraction per layer](kept_fraction.{ext})", "",
        *_fraction_lines(result),
        "",
        f"## Kept and pruned poles at ratio {ref:g} (last Fig. 4)", "",
        *[f"![poles poles_{m}.{ext}](poles_{m}.{ext})" for m in d.kept_fraction],
        "",
        "Discrete-time poles λ̄ = exp(λΔ) of each layer (conjugates drawn), with the unit "
        "circle; o kept, x pruned. Titles count units (a conjugate pair is one unit, as in the "
        "tables) and, in brackets, the poles drawn.",
        "",
        f"## Sorted energies and the {d.energy_method} cut at ratio {ref:g}", "",
        f"![sorted energies](energies.{ext})", "",
        "Energy of each unit (H2² of the mode, aire-prune eq. 8) sorted per layer; the dashed "
        f"line is where {d.energy_method} cuts (it keeps each layer's highest-energy prefix).",
        "",
        f"## Certificates at ratio {ref:g}", "",
        f"![certificates](certificates.{ext})", "",
        "Filled markers are bounds proved for these layers; hollow grey markers are the "
        "papers' published forms, which are not proved here (estimates, not guarantees); "
        "black stars are the exact errors. The lower row divides everything by the layer's "
        "own ‖G‖∞.",
        "",
        *[line for rep in d.certificates.values() for line in (certificate_markdown(rep), "")],
    ]


def _speed_cells(s: Mapping[str, Any]) -> list[Any]:
    speed = f"{s['speedup']:.2f}×"
    if s["padding_swallows_saving"]:
        speed = f"none: padding (clock {speed})"
    timed = [f"{1e3 * s['seconds_full']:.2f}", f"{1e3 * s['seconds_reduced']:.2f}", speed,
             f"{s['speedup_min']:.2f}–{s['speedup_max']:.2f}×"]
    return [s["method"], f"{s['ratio']:g}", str(s["state_sizes"]),
            str(s["computed_sizes"]), s["params"], *timed,
            f"{100 * s['accuracy_masked']:.2f}"]


def _speed_section(result: CompareResult) -> list[str]:
    speed = result.details.speed
    lines = ["## Inference speed-up of the dimension-reduced models", ""]
    if speed.shown:
        lines += [
            f"![speed-up](speedup.{result.details.figure_format})",
            "",
            markdown_table(["method", "ratio", "stored modes per layer", "computed per layer",
                            "parameters", "full (ms)", "reduced (ms)", "speed-up (median)",
                            "run-to-run range", "accuracy (%)"],
                           [_speed_cells(s) for s in speed.shown]),
            "",
            f"Wall time of the jitted forward pass on a batch of {speed.batch} test examples "
            "(compilation excluded) of the model with the pruned states removed "
            "(`ssm_bridge.apply(mode='remove')`), against the full model, timed in turn in each "
            "of the repeats on this machine: the median speed-up and its range over the "
            "repeats. Only ratios whose accuracy is within the budget are shown. The scan "
            "computes padded state sizes (`computed per layer`); where they do not change, the "
            "computation is the same and there is no saving, whatever the clock says.",
            "",
        ]
    return [*lines, speed.note, ""] if speed.note else lines


def validation_markdown(validation: Mapping[str, Any], points: float) -> str:
    """The section of the ratio chosen per method on validation data ("" when none)."""
    if not validation:
        return ""
    if "skipped" in validation:
        return (f"## Ratio chosen on validation data\n\nNot computed: "
                f"{validation['skipped']}\n")
    rows = [[m, f"{r:g}", f"{100 * validation['test_accuracy_at_chosen'][m]:.2f}"]
            for m, r in sorted(validation["chosen_ratio"].items(), key=lambda kv: -kv[1])]
    return "\n".join([
        "## Ratio chosen on validation data (what `mor prune --max-drop` would pick)",
        "",
        f"Per method, the largest ratio whose accuracy on a validation split of the TRAINING "
        f"data ({validation['examples']} examples, {validation['source']}) stays within "
        f"{points:g} point(s) of the full model's ({100 * validation['full_accuracy']:.2f} %), "
        "and the test accuracy there (from the test curve above; the choice never looks at "
        "the test set).",
        "",
        markdown_table(["method", "validation-chosen ratio", "test accuracy there (%)"], rows),
        "",
    ])


def recommendation_markdown(recommendation: Mapping[str, Any] | None) -> list[str]:
    """The report's last section: the recommended command."""
    if not recommendation:
        return []
    return ["## What to do next", "", recommendation["text"], "", "```bash",
            *recommendation["commands"], "```"]


def compare_markdown(result: CompareResult, files: Mapping[str, str]) -> str:
    """``report.md`` of a compare; ``files`` maps each file written to what it holds."""
    d = result.details
    lines = [
        f"# Pruning report: {result.label}",
        "",
        f"Model: {d.description}. Full model: test accuracy **{_pct(result.full_accuracy)}**, "
        f"loss {result.full_loss:.4f}. Every (method, ratio) below was evaluated on the whole "
        "test set by the fast sweep (`ssm_bridge.sweep`: masked states, one pass over the "
        "data); the pruning ratio is the fraction of state units (conjugate pairs) removed "
        "from the stack, at least one unit per layer kept (MATH.md §3).",
        "",
        *_accuracy_section(result),
        *_largest_section(result),
        *_unit_sections(result),
        *_speed_section(result),
        validation_markdown(result.validation, d.points),
        "## Files", "",
        *[f"- `{name}`: {what}" for name, what in sorted(files.items())],
        "",
        *recommendation_markdown(result.recommendation),
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- demo
def demo_summary_rows(result: DemoResult) -> tuple[list[str], list[list[Any]]]:
    """The demo's headline table: per checkpoint, full accuracy and AIRE/LAST Table 1 ratios."""
    header = ["checkpoint", "task", "full acc. (%)", "aire: max ratio", "last: max ratio",
              "best method", "its max ratio"]
    rows = []
    for name, c in result.compares.items():
        best = max(c.largest_ratio, key=lambda m: (c.largest_ratio[m], m == "aire"))
        rows.append([name, c.task, f"{100 * c.full_accuracy:.2f}",
                     c.largest_ratio.get("aire"), c.largest_ratio.get("last"), best,
                     c.largest_ratio[best]])
    return header, rows


def linear_verdict(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Per ratio, which method has the smallest exact H∞ error, and whether balanced
    truncation beats the modal methods there (Markdown lines, empty when one method)."""
    by_ratio: dict[float, dict[str, float]] = {}
    for r in rows:
        if r.get("exact_hinf") is not None:
            by_ratio.setdefault(r["ratio"], {})[r["method"]] = r["exact_hinf"]
    lines = []
    for ratio, errors in by_ratio.items():
        modal = {m: e for m, e in errors.items() if m != "balanced_truncation"}
        if "balanced_truncation" not in errors or not modal:
            continue
        bt, best = errors["balanced_truncation"], min(modal, key=modal.get)
        if bt < modal[best]:
            lines.append(f"- ratio {ratio:g}: balanced truncation beats the best modal method "
                         f"({best}) by a factor {modal[best] / bt:.3g} in exact H∞ error.")
        else:
            lines.append(f"- ratio {ratio:g}: the modal method {best} beats balanced "
                         f"truncation by a factor {bt / modal[best]:.3g} (it keeps whole modes).")
    return [*lines, ""] if lines else []


def full_mode_note(result: DemoResult) -> str:
    """What ``mor demo --full`` adds (or added) to this demo."""
    names = ", ".join(result.paper_shaped) or "none is installed yet"
    if result.full:
        return (f"`mor demo --full`: the paper-shaped checkpoints ({names}) were compared "
                "too.")
    return ("`mor demo --full` also compares the paper-shaped bundled checkpoints (S5 and S4D "
            f"models of the papers' shapes: {names}); it takes longer.")


def _verify_section(result: DemoResult) -> list[str]:
    benchmark, rows = result.benchmark, result.verify_rows
    return [
        f"## Certified reduction of the SLICOT benchmark `{benchmark}` "
        f"({result.benchmark_states} states, continuous time)",
        "",
        markdown_table(["method", "ratio", "kept states", "exact ‖G − G_r‖∞",
                        "exact ‖G − G_r‖₂", "tightest proved bound", "bound",
                        "proved bounds hold"],
                       [[r["method"], r["ratio"], f"{r['kept_states']}/{r['states']}",
                         r["exact_hinf"], r["exact_h2"], r["best_bound"], r["best_bound_name"],
                         _VERDICT[r["all_proved_bounds_hold"]]] for r in rows]),
        "",
        *linear_verdict(rows),
        f"Full certificates: `verify_{benchmark}.md`, `verify_{benchmark}.json` (the same as "
        f"`mor verify {benchmark} --method METHOD --ratios ...`).",
        "",
        f"Next, for a linear system: `mor reduce {benchmark} --tol EPS --out model.mat --plots "
        "figs/` writes the smallest balanced-truncation model certified within EPS and its "
        "error plots (docs/tutorial_control.md).",
        "",
    ]


def demo_markdown(result: DemoResult) -> str:
    """The demo's ``report.md``: the summary table, links, the benchmark's certificates."""
    header, rows = demo_summary_rows(result)
    lines = [
        "# `mor demo`: the main job on the bundled checkpoints",
        "",
        "Every bundled checkpoint was pruned by every modal method at every ratio of the grid "
        "and evaluated on its whole test set; each has a full report (figures, tables, "
        "certificates, speed-up) in its own folder. The largest ratio is the largest pruning "
        "ratio whose accuracy stays within 1 point of the full model (the papers' Table 1).",
        "",
        markdown_table(header, rows),
        "",
        *[f"- [{name}]({name}/report.md)" for name in result.compares],
        "",
    ]
    if result.missing:
        lines += [f"Not run (checkpoint file absent): {', '.join(result.missing)}.", ""]
    lines += [full_mode_note(result), "", *_verify_section(result)]
    return "\n".join(lines)


def write_demo(result: DemoResult, folder: Path) -> None:
    """The demo's summary and the benchmark's certificates into ``folder`` (the compare
    reports are already in its sub-folders)."""
    benchmark = result.benchmark
    write_json(folder / f"verify_{benchmark}.json", {
        "benchmark": benchmark, "states": result.benchmark_states, "rows": result.verify_rows,
        "reports": [r.to_dict() for r in result.verify_reports]})
    atomic_write_text(folder / f"verify_{benchmark}.md", "\n\n".join(
        certificate_markdown(r) for r in result.verify_reports) + "\n")
    atomic_write_text(folder / "report.md", demo_markdown(result))
