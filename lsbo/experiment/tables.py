"""The experiment's tables: one per metric (mean +- std over seeds and trials, beside the paper's rows)
and paired comparisons of the baseline model against each other one (bootstrap interval of the
mean difference, resampling the training seeds and then the trials within them), as markdown and
csv, built with pandas from the cells on disk.

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

from lsbo.experiment.runner import Layout, bo_config, evaluation_status
from lsbo.experiment.spec import ExperimentSpec
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


def seed_then_trial_bootstrap(groups: list[np.ndarray], resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Pooled means of two-stage bootstrap samples: the training seeds drawn with replacement, then the
    values of each drawn seed drawn with replacement.

    A seed's trials share one trained model, so they are not independent draws of what a regularizer
    does; resampling the seeds first puts the seed-to-seed spread into the interval, which a bootstrap
    of the pooled pairs leaves out. With one seed this is the plain bootstrap of its values.

    Args:
        groups: one 1-d array per training seed (its trials' values; sizes may differ).
        resamples: the number of bootstrap samples.
        rng: the random generator.

    Returns:
        ``(resamples,)`` means of each sample's values (weighted by count, as the pooled mean is).
    """
    n_groups = len(groups)
    sizes = np.array([len(values) for values in groups])
    chosen = rng.integers(n_groups, size=(resamples, n_groups))  # (resamples, slots): the seed in each slot
    totals = np.zeros(resamples)
    for slot in range(n_groups):
        for group, values in enumerate(groups):
            here = np.flatnonzero(chosen[:, slot] == group)
            if len(here):  # each drawn copy of a seed gets its own resample of that seed's values
                draws = rng.integers(len(values), size=(len(here), len(values)))
                totals[here] += values[draws].sum(axis=1)
    return totals / sizes[chosen].sum(axis=1)


def paired_differences(
    values: pd.DataFrame, baseline: str, other: str, keys: list[str], *, confidence: float, resamples: int, seed: int = 0,
) -> dict[str, Any]:
    """Mean of ``other - baseline`` over matched keys (seed, trial) with a percentile bootstrap interval
    that resamples the training seeds and then the trials within them (:func:`seed_then_trial_bootstrap`)."""
    left = values[values["model"] == baseline].set_index(keys)["value"]
    right = values[values["model"] == other].set_index(keys)["value"]
    joined = pd.concat([left.rename("baseline"), right.rename("other")], axis=1, join="inner")
    differences = (joined["other"] - joined["baseline"]).rename("difference").reset_index()
    result: dict[str, Any] = {"n_pairs": int(len(differences)), "n_seeds": int(differences["seed"].nunique()),
                              "mean_difference": None, "ci_low": None, "ci_high": None}
    if len(differences) == 0:
        return result
    pooled = differences["difference"].to_numpy(dtype=float)
    result["mean_difference"] = float(pooled.mean())
    if len(pooled) > 1:
        if np.ptp(pooled) == 0:  # every pair differs by the same amount: the interval is that point
            result["ci_low"] = result["ci_high"] = float(pooled[0])
        else:
            groups = [group.to_numpy(dtype=float) for _, group in differences.groupby("seed")["difference"]]
            means = seed_then_trial_bootstrap(groups, resamples, np.random.default_rng(seed))
            low, high = np.quantile(means, [(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0])
            result["ci_low"], result["ci_high"] = float(low), float(high)
    return result


#: Fewer matched pairs than this get no verdict: a percentile bootstrap of 2-4 differences spans
#: little more than their range and would call almost any consistent difference significant.
MIN_PAIRS_FOR_VERDICT = 5


def _verdict(result: dict[str, Any], higher_is_better: bool | None) -> str:
    low, high = result["ci_low"], result["ci_high"]
    if low is None or higher_is_better is None:
        return "-"
    if result["n_pairs"] < MIN_PAIRS_FOR_VERDICT:
        return f"too few pairs (< {MIN_PAIRS_FOR_VERDICT})"
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
                "cells: mean ± sample std (n = seeds x trials that are complete). Paired comparisons: mean difference "
                f"over the matched (seed, trial) pairs with a {spec.confidence:.0%} percentile-bootstrap interval that "
                "resamples the training seeds, then the trials within each."]
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
        text = f"## {title}{note}\n\n{_markdown(display)}\n### paired: {against}\n\n{_markdown(paired)}"
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
