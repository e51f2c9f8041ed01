"""Summaries of an optimisation run in the protocol's terms (docs/protocols.md §4; paper Tables 2 and 3).

Per trial: the three best distinct strings and their scores, the fraction of valid evaluated points
and the average score of the valid ones. Over trials: the overall top three and the mean +- std
(population std, ``ddof=0``) of the per-trial fraction valid and average valid score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lsbo.bo.metrics import aggregate_metrics, is_rediscovery, pmo_metrics, trial_metrics
from lsbo.bo.store import BEST_SO_FAR_PLOT, MOLECULE_GRID, RESULTS_CSV, RESULTS_FILE, TABLE_FILE, write_json_atomic
from lsbo.diagnostics import candidate_warnings, model_warnings
from lsbo.objectives.base import Objective, is_better
from lsbo.persistence import atomic_write_text


def top_distinct(records: Sequence[Mapping[str, Any]], k: int, maximize: bool) -> list[dict[str, Any]]:
    """The ``k`` best valid records with distinct strings (first occurrence kept), best first."""
    best: dict[str, Mapping[str, Any]] = {}
    for record in records:
        if not record.get("valid"):
            continue
        string, score = record["string"], record["score"]
        if string not in best or is_better(score, best[string]["score"], maximize):
            best[string] = record
    ordered = sorted(best.values(), key=lambda r: r["score"], reverse=maximize)[:k]
    return [{"score": r["score"], "string": r["string"], "trial": r["trial"], "iteration": r["iteration"]} for r in ordered]


def summarize_trial(records: Sequence[Mapping[str, Any]], maximize: bool) -> dict[str, Any]:
    valid_scores = [r["score"] for r in records if r.get("valid")]
    return {
        "n_evaluations": len(records),
        "n_valid": len(valid_scores),
        "fraction_valid": len(valid_scores) / len(records) if records else None,
        "average_valid_score": float(np.mean(valid_scores)) if valid_scores else None,
        "top3": top_distinct(records, 3, maximize),
    }


def _mean_std(values: Sequence[float | None]) -> tuple[float | None, float | None]:
    present = [v for v in values if v is not None]
    return (float(np.mean(present)), float(np.std(present))) if present else (None, None)


def summarize_run(
    trials: Mapping[int, Sequence[Mapping[str, Any]]], *, objective: Objective, settings: Mapping[str, Any], training_best: float | None,
    model_evaluation: Mapping[str, Any] | None = None, budget: int | None = None,
    training_strings: set[str] | frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The content of ``results.json``.

    ``warnings`` lists degenerate outcomes (:mod:`lsbo.diagnostics`): candidates collapsed to one or
    a few strings, none valid, or (from the model's ``evaluation.json``, when given) a model that
    reconstructs nothing or whose prior samples are all alike.

    Besides the protocol's summaries, each trial and the aggregate carry the budget metrics of
    :mod:`lsbo.bo.metrics` (``best``, ``best_novel``, ``top10_mean``, ``auc_top10``, ``n_calls``, ``n_duplicates``,
    ``n_distinct_valid``; mean and std over trials) at ``budget`` calls (default: the longest
    trial's), PMO's (:func:`lsbo.bo.metrics.pmo_metrics`) likewise, and each best string says whether it is a training string (``rediscovery``);
    ``top3_novel`` are the best strings that are not.
    """
    budget = budget or max((len(records) for records in trials.values()), default=1) or 1
    per_trial = {
        str(k): summarize_trial(records, objective.maximize)
        | trial_metrics(records, budget=budget, maximize=objective.maximize, training_strings=training_strings)
        | pmo_metrics(records, budget=budget, maximize=objective.maximize, model_kind=settings.get("model_kind"))
        for k, records in sorted(trials.items())
    }
    for summary in per_trial.values():
        for entry in summary["top3"]:
            entry["rediscovery"] = is_rediscovery(entry["string"], training_strings)
    valid_mean, valid_std = _mean_std([t["fraction_valid"] for t in per_trial.values()])
    score_mean, score_std = _mean_std([t["average_valid_score"] for t in per_trial.values()])
    all_records = [r for records in trials.values() for r in records]
    top3 = [entry | {"rediscovery": is_rediscovery(entry["string"], training_strings)}
            for entry in top_distinct(all_records, 3, objective.maximize)]
    novel_records = [r for r in all_records if not is_rediscovery(r.get("string"), training_strings)]
    top3_novel = top_distinct(novel_records, 3, objective.maximize)
    warnings = candidate_warnings(all_records) + [f"{w} (its evaluation.json)" for w in model_warnings(model_evaluation or {})]
    return {
        "target": settings.get("target", objective.name),
        "objective": objective.name,
        "maximize": objective.maximize,
        "n_trials": len(per_trial),
        "settings": dict(settings),
        "best_training_score": training_best,
        "trials": per_trial,
        "aggregate": {
            "top3": top3,
            "top3_novel": top3_novel,  # the best strings that are not training strings
            "fraction_valid_mean": valid_mean, "fraction_valid_std": valid_std,
            "average_score_mean": score_mean, "average_score_std": score_std,
            "top1_per_trial_mean": _mean_std([t["top3"][0]["score"] if t["top3"] else None for t in per_trial.values()])[0],
            "n_valid": sum(t["n_valid"] for t in per_trial.values()),
            "n_distinct_valid": len({r["string"] for r in all_records if r.get("valid")}),
            **aggregate_metrics(list(per_trial.values())),
            "budget": budget,
        },
        "warnings": warnings,
    }


def training_comparison(results: Mapping[str, Any]) -> str:
    """One sentence comparing a run's best string with the best training string (``results.json``)."""
    top = (results.get("aggregate") or {}).get("top3") or []
    training_best = results.get("best_training_score")
    if not top:
        return "no valid string was found, so nothing compares with the training strings"
    best = top[0]
    found = f"best found {best['string']!r} scores {best['score']:.4g}"
    if training_best is None:
        return found + "; the training strings were not scored"
    maximize = bool(results.get("maximize"))
    better = best["score"] > training_best if maximize else best["score"] < training_best
    verdict = "better than" if better else ("as good as" if best["score"] == training_best else "not as good as")
    origin = "it is a training string, so a rediscovery" if best.get("rediscovery") else "it is not a training string"
    return f"{found}, {verdict} the best training string ({training_best:.4g}); {origin}"


def write_outputs(out_dir: Path, results: Mapping[str, Any], trials: Mapping[int, Sequence[Mapping[str, Any]]], *, model_kind: str | None,
                  model_description: str | None = None) -> None:
    """``results.json``, ``results.csv`` (one row per trial), ``table.md``, ``best_so_far.png`` and, for
    molecules, ``top_molecules.png``. ``model_description`` titles the plot (default: the model's folder name)."""
    from lsbo.report import best_so_far_title, bo_table_markdown, draw_molecule_grid, plot_best_so_far, trials_frame

    label = Path(str(results["settings"].get("model_dir") or "model")).name or "model"
    write_json_atomic(out_dir / RESULTS_FILE, results)
    atomic_write_text(out_dir / RESULTS_CSV, trials_frame(results).to_csv(index=False))
    atomic_write_text(out_dir / TABLE_FILE, bo_table_markdown(results, label))
    plot_best_so_far(trials, out_dir / BEST_SO_FAR_PLOT, maximize=results["maximize"], training_best=results["best_training_score"],
                     title=best_so_far_title(results, model_description or label), target=results["target"])
    if model_kind == "molecules" or results["target"] in ("logp", "qed"):
        best = top_distinct([r for records in trials.values() for r in records], 12, results["maximize"])
        draw_molecule_grid([b["string"] for b in best], [b["score"] for b in best], out_dir / MOLECULE_GRID)
