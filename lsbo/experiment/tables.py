"""The experiment's tables: one per metric (mean +- std over seeds and trials, beside the paper's rows)
and paired comparisons of the baseline model against each other one (the mean difference with an
interval over training seeds, :func:`paired_differences`), as markdown and csv, built with pandas
from the cells on disk.

Metrics of the optimisation cells (one value per training seed x trial): ``best_1``, ``best_2``,
``best_3`` (the trial's three best distinct scores; the paper's Table 2 gives the three best over
its 5 trials), ``fraction_valid`` and ``average_score`` (Table 3). Metrics of the evaluation cells
(one value per training seed): reconstruction accuracy, prior-sample validity, uniqueness, novelty,
mean KS statistic, covariance error. Standard deviations are sample ones (``ddof = 1``); a cell
with one value shows none. Only complete cells are read: a trial still running counts nowhere.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lsbo.experiment.layout import Layout, evaluation_status
from lsbo.experiment.spec import ExperimentSpec, bo_config
from lsbo.persistence import atomic_write_text, read_json

logger = logging.getLogger(__name__)

#: metric -> (column title, higher is better?; None = the objective's direction)
BO_METRICS: dict[str, tuple[str, bool | None]] = {
    "best_1": ("1st best score", None),
    "best_2": ("2nd best score", None),
    "best_3": ("3rd best score", None),
    "fraction_valid": ("fraction of valid points", True),
    "average_score": ("average valid score", None),
    # the field's budget metrics (lsbo.bo.metrics); the paper reports none of them
    "best_novel": ("best score among strings that are not training strings", None),
    "top10_mean": ("mean of the 10 best distinct scores", None),
    "auc_top10": ("area under the top-10 curve over the budget (PMO's AUC top-10)", None),
}
DIAGNOSTIC_METRICS: dict[str, tuple[str, bool | None]] = {
    "reconstruction_accuracy": ("validation reconstruction accuracy", True),
    "validity": ("valid prior samples", True),
    "uniqueness": ("unique among valid prior samples", True),
    "novelty": ("novel among unique prior samples", True),
    "ks_mean": ("mean KS statistic to the prior", False),
    "covariance_error": ("covariance error to the prior", False),
}


# -- collecting values ----------------------------------------------------------------------------


def bo_values(spec: ExperimentSpec, out: Path) -> tuple[pd.DataFrame, bool | None]:
    """Long frame ``strategy, model, seed, trial, metric, value`` of every complete trial, and the objective's direction."""
    from lsbo.bo.metrics import trial_metrics
    from lsbo.bo.results import summarize_trial
    from lsbo.bo.store import EVALUATIONS_FILE, RUN_FILE, read_records

    layout, rows, maximize = Layout(Path(out)), [], None
    for strategy in spec.strategies:
        expected = bo_config(spec, strategy).calls_per_trial
        for model in spec.models:
            for seed in spec.seeds:
                directory = layout.bo_dir(strategy.label, model.label, seed)
                if not (directory / RUN_FILE).is_file():
                    continue
                maximize = bool(read_json(directory / RUN_FILE, what="optimisation run file")["maximize"])
                training_strings = _training_strings(layout.model_dir(model.label, seed))
                for trial in range(1, spec.trials + 1):
                    path = directory / f"trial_{trial}" / EVALUATIONS_FILE
                    records = read_records(path, repair=False) if path.is_file() else []
                    if len(records) < expected:
                        continue
                    summary = summarize_trial(records, maximize)
                    values = {f"best_{i + 1}": entry["score"] for i, entry in enumerate(summary["top3"])}
                    values.update(fraction_valid=summary["fraction_valid"], average_score=summary["average_valid_score"])
                    budget = trial_metrics(records, budget=expected, maximize=maximize, training_strings=training_strings)
                    values.update({name: budget[name] for name in ("best_novel", "top10_mean", "auc_top10")})
                    for metric, value in values.items():
                        if value is not None:
                            rows.append(dict(strategy=strategy.label, model=model.label, seed=seed, trial=trial, metric=metric, value=float(value)))
    return pd.DataFrame(rows, columns=["strategy", "model", "seed", "trial", "metric", "value"]), maximize


def _training_strings(model_dir: Path) -> frozenset[str]:
    """The strings a model was trained on (its ``train_strings.txt``), for ``best_novel``; empty if absent."""
    from lsbo.models.trained import TRAIN_STRINGS_NAME

    path = model_dir / TRAIN_STRINGS_NAME
    return frozenset(path.read_text(encoding="utf-8").splitlines()) if path.is_file() else frozenset()


def diagnostic_values(spec: ExperimentSpec, out: Path) -> pd.DataFrame:
    """Long frame ``model, seed, metric, value`` of every evaluated model."""
    layout, rows = Layout(Path(out)), []
    for model in spec.models:
        for seed in spec.seeds:
            if evaluation_status(layout, model, seed) != "done":
                continue
            result = read_json(layout.evaluation_file(model.label, seed), what="evaluation")
            for metric in DIAGNOSTIC_METRICS:
                value = result.get(metric)
                if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value):
                    rows.append(dict(model=model.label, seed=seed, metric=metric, value=float(value)))
    return pd.DataFrame(rows, columns=["model", "seed", "metric", "value"])


# -- the paper's numbers --------------------------------------------------------------------------


def paper_value(row: str | None, metric: str, target: str) -> tuple[float | None, float | None]:
    """(mean, std) of the paper's ``row`` for a BO metric (std ``None`` where it reports one value)."""
    from lsbo.paper import PAPER_TABLE2, PAPER_TABLE3, PAPER_TASK_OF_TARGET

    task = PAPER_TASK_OF_TARGET.get(target)
    if row is None or task is None:
        return None, None
    if metric in ("best_1", "best_2", "best_3"):
        return PAPER_TABLE2[row][task][int(metric[-1]) - 1], None
    key = {"fraction_valid": "valid", "average_score": "score"}.get(metric)
    return PAPER_TABLE3[row][task][key] if key else (None, None)


# -- tables -----------------------------------------------------------------------------------------


def _cell(mean: float | None, std: float | None, n: int | None = None, digits: int = 3) -> str:
    if mean is None or (isinstance(mean, float) and np.isnan(mean)):
        return "-"
    text = f"{mean:.{digits}f}"
    if std is not None and not np.isnan(std):
        text += f" ± {std:.{digits}f}"
    return text + (f" (n={n})" if n is not None else "")


def summary_frame(values: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """mean, std (ddof 1) and n of ``value`` per group."""
    if values.empty:
        return pd.DataFrame(columns=[*by, "mean", "std", "n"])
    grouped = values.groupby(by, sort=False)["value"]
    return grouped.agg(mean="mean", std=lambda v: v.std(ddof=1) if len(v) > 1 else np.nan, n="size").reset_index()


def metric_table(spec: ExperimentSpec, values: pd.DataFrame, metric: str, *, bo: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(markdown-ready frame, csv frame) of one metric: a row per model, a column per strategy."""
    chosen = values[values["metric"] == metric]
    by = ["model", "strategy"] if bo else ["model"]
    summary = summary_frame(chosen, by)
    display, csv_rows = [], []
    columns = [s.label for s in spec.strategies] if bo else ["ours"]
    for model in spec.models:
        row: dict[str, Any] = {"model": model.label}
        paper_mean, paper_std = paper_value(model.paper_row, metric, spec.target) if bo else (None, None)
        if bo:
            row["paper row"] = model.paper_row or "-"
            row["paper (5 trials x 5 x 50)"] = _cell(paper_mean, paper_std, digits=2)  # the paper's budget, whatever the columns'
        for column in columns:
            mask = summary["model"] == model.label
            if bo:
                mask &= summary["strategy"] == column
            found = summary[mask]
            if found.empty:
                row[column] = "-"
                continue
            mean, std, n = float(found["mean"].iloc[0]), float(found["std"].iloc[0]), int(found["n"].iloc[0])
            row[column] = _cell(mean, std, n)
            csv_rows.append(dict(metric=metric, model=model.label, strategy=column if bo else "", mean=mean, std=std, n=n,
                                 paper_row=model.paper_row, paper_mean=paper_mean, paper_std=paper_std))
        display.append(row)
    return pd.DataFrame(display), pd.DataFrame(csv_rows)


def per_seed_table(spec: ExperimentSpec, values: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One optimisation metric per training seed: a row per (model, strategy), a column per seed with the
    mean ± std over that seed's complete trials. The paired interval's unit is the seed, so this is
    what it is computed from."""
    chosen = values[values["metric"] == metric]
    rows = []
    for model in spec.models:
        for strategy in spec.strategies:
            row: dict[str, Any] = {"model": model.label, "strategy": strategy.label}
            mine = chosen[(chosen["model"] == model.label) & (chosen["strategy"] == strategy.label)]
            summary = summary_frame(mine, ["seed"]).set_index("seed")
            for seed in spec.seeds:
                if seed in summary.index:
                    found = summary.loc[seed]
                    row[f"seed {seed}"] = _cell(float(found["mean"]), float(found["std"]), int(found["n"]))
                else:
                    row[f"seed {seed}"] = "-"
            rows.append(row)
    return pd.DataFrame(rows)


def paired_differences(
    values: pd.DataFrame, baseline: str, other: str, keys: list[str], *, confidence: float, resamples: int, seed: int = 0,
) -> dict[str, Any]:
    """Mean of ``other - baseline`` over pairs matched on ``keys`` (seed, trial), with an interval whose
    unit is the training seed.

    A seed's trials share one trained model, so they are not independent draws of what a model's recipe
    does: a bootstrap of the pooled pairs leaves the seed-to-seed spread out of the interval, and one that
    resamples seeds and then trials is still too narrow with 2-5 seeds (benchmarks/bootstrap_coverage.py).
    With two or more seeds the estimate is the mean of the per-seed mean differences and the interval is
    Student's t over those seed means (k - 1 degrees of freedom). With one seed it is the mean of the
    trials' differences with a percentile bootstrap over the trials: an interval about that one trained
    model, not about the recipe.

    Returns:
        ``n_pairs``, ``n_seeds``, ``mean_difference``, ``ci_low``, ``ci_high`` (None where undefined)
        and ``interval`` (what the interval is over).
    """
    from scipy import stats

    left = values[values["model"] == baseline].set_index(keys)["value"]
    right = values[values["model"] == other].set_index(keys)["value"]
    joined = pd.concat([left.rename("baseline"), right.rename("other")], axis=1, join="inner")
    differences = (joined["other"] - joined["baseline"]).rename("difference").reset_index()
    per_seed = differences.groupby("seed")["difference"].mean().to_numpy(dtype=float)
    result: dict[str, Any] = {"n_pairs": int(len(differences)), "n_seeds": int(len(per_seed)), "mean_difference": None,
                              "ci_low": None, "ci_high": None, "interval": "-"}
    if len(per_seed) >= 2:
        result["mean_difference"] = float(per_seed.mean())
        result["interval"] = f"t over {len(per_seed)} seeds"
        if np.ptp(per_seed) == 0:  # every seed differs by the same amount: the interval is that point
            result["ci_low"] = result["ci_high"] = float(per_seed[0])
        else:
            interval = stats.ttest_1samp(per_seed, 0.0).confidence_interval(confidence_level=confidence)
            result["ci_low"], result["ci_high"] = float(interval.low), float(interval.high)
    elif len(differences):
        trials = differences["difference"].to_numpy(dtype=float)
        result["mean_difference"] = float(trials.mean())
        if len(trials) > 1:
            result["interval"] = "bootstrap over trials (one seed)"
            if np.ptp(trials) == 0:
                result["ci_low"] = result["ci_high"] = float(trials[0])
            else:
                interval = stats.bootstrap((trials,), np.mean, confidence_level=confidence, n_resamples=resamples,
                                           method="percentile", random_state=np.random.default_rng(seed)).confidence_interval
                result["ci_low"], result["ci_high"] = float(interval.low), float(interval.high)
    return result


#: With one seed, fewer trials than this get no verdict: a percentile bootstrap of 2-4 differences
#: spans little more than their range and would call almost any consistent difference significant.
#: (Student's t over two or more seeds needs no such floor: it widens as the seeds get fewer.)
MIN_PAIRS_FOR_VERDICT = 5


def _verdict(result: dict[str, Any], higher_is_better: bool | None) -> str:
    low, high = result["ci_low"], result["ci_high"]
    if low is None or higher_is_better is None:
        return "-"
    if result["n_seeds"] < 2 and result["n_pairs"] < MIN_PAIRS_FOR_VERDICT:
        return f"too few trials of one seed (< {MIN_PAIRS_FOR_VERDICT})"
    if low > 0 or high < 0:
        other_better = (low > 0) == higher_is_better
        return "other better" if other_better else "baseline better"
    return "indistinguishable"


def compares_strategies(spec: ExperimentSpec) -> bool:
    """One model and several strategies: the paired comparisons are between strategies (each against the first)."""
    return len(spec.models) == 1 and len(spec.strategies) > 1


def paired_table(spec: ExperimentSpec, values: pd.DataFrame, metric: str, *, bo: bool, higher_is_better: bool | None) -> pd.DataFrame:
    chosen = values[values["metric"] == metric]
    keys = ["seed", "trial"] if bo else ["seed"]
    rows = []
    if bo and compares_strategies(spec):
        # trial k of every strategy starts from the same seed-derived state, so (seed, trial) pairs them
        by_strategy = chosen.assign(model=chosen["strategy"])
        first = spec.strategies[0].label
        for strategy in spec.strategies[1:]:
            result = paired_differences(by_strategy, first, strategy.label, keys, confidence=spec.confidence,
                                        resamples=spec.resamples)
            rows.append({"model": spec.models[0].label, "baseline": first, "other": strategy.label,
                         **_paired_columns(spec, result, higher_is_better)})
        return pd.DataFrame(rows)
    for column in (spec.strategies if bo else [None]):  # a paired table per strategy; one for the diagnostics
        subset = chosen[chosen["strategy"] == column.label] if column is not None else chosen
        for model in spec.models:
            if model.label == spec.baseline:
                continue
            result = paired_differences(subset, spec.baseline, model.label, keys, confidence=spec.confidence,
                                        resamples=spec.resamples)
            rows.append({"strategy": column.label if column is not None else "", "baseline": spec.baseline,
                         "other": model.label, **_paired_columns(spec, result, higher_is_better)})
    return pd.DataFrame(rows)


def _paired_columns(spec: ExperimentSpec, result: dict[str, Any], higher_is_better: bool | None) -> dict[str, Any]:
    """The columns of one paired comparison (:func:`paired_differences`' result) in a paired table."""
    return {
        "pairs": result["n_pairs"], "seeds": result["n_seeds"], "mean difference (other - baseline)": result["mean_difference"],
        f"{spec.confidence:.0%} CI low": result["ci_low"], f"{spec.confidence:.0%} CI high": result["ci_high"],
        "interval": result["interval"],
        "verdict": _verdict(result, higher_is_better),
    }


def _markdown(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "(no complete cells yet)\n"
    return frame.to_markdown(index=False, floatfmt=".4g") + "\n"


def write_tables(spec: ExperimentSpec, out: Path) -> list[Path]:
    """Every table of the experiment under ``out/tables/<name>``, plus ``tables/all.md`` with all of them."""
    out = Path(out)
    tables = Layout(out).tables(spec.name)
    bo, maximize = bo_values(spec, out)
    diagnostics = diagnostic_values(spec, out)
    written: list[Path] = []
    optimisation = f"{spec.trials} trial(s) per seed" if spec.strategies else "no optimisation (training and diagnostics only)"
    sections = [f"# Experiment {spec.name} ({spec.path.name})", "",
                f"Target {spec.target}; {len(spec.seeds)} training seed(s) {list(spec.seeds)}, {optimisation}; "
                "cells: mean ± sample std (n = seeds x trials that are complete). Paired comparisons: pairs matched by "
                "(seed, trial); with two or more seeds, the mean over seeds of each seed's mean difference and a "
                f"{spec.confidence:.0%} Student-t interval over those seed means (the training seed is the unit: a seed's "
                "trials share one model); with one seed, a percentile bootstrap over its trials."]
    # A spec without strategies has no BO numbers of its own: its tables are the diagnostics alone,
    # not the paper's BO rows beside empty columns.
    metrics = {**BO_METRICS, **DIAGNOSTIC_METRICS} if spec.strategies else dict(DIAGNOSTIC_METRICS)
    for metric, (title, higher) in metrics.items():
        is_bo = metric in BO_METRICS
        values = bo if is_bo else diagnostics
        display, csv_frame = metric_table(spec, values, metric, bo=is_bo)
        direction = maximize if higher is None else higher
        paired = paired_table(spec, values, metric, bo=is_bo, higher_is_better=direction)
        note = "" if direction is None else (" (higher is better)" if direction else " (lower is better)")
        against = f"each strategy - {spec.strategies[0].label}" if is_bo and compares_strategies(spec) else f"each model - {spec.baseline}"
        text = f"## {title}{note}\n\n{_markdown(display)}\n"
        if is_bo:
            text += f"### per training seed (mean ± std over its trials)\n\n{_markdown(per_seed_table(spec, values, metric))}\n"
        text += f"### paired: {against}\n\n{_markdown(paired)}"
        written += [
            atomic_write_text(tables / f"{metric}.md", text),
            atomic_write_text(tables / f"{metric}.csv", csv_frame.to_csv(index=False)),
            atomic_write_text(tables / f"paired_{metric}.csv", paired.to_csv(index=False)),
        ]
        sections += ["", text]
    values_frame = pd.concat([bo.assign(kind="optimize"), diagnostics.assign(kind="evaluate")], ignore_index=True)
    written.append(atomic_write_text(tables / "values.csv", values_frame.to_csv(index=False)))
    written.append(atomic_write_text(tables / "all.md", "\n".join(sections) + "\n"))
    return written
