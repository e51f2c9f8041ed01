"""The field's per-trial metrics of an optimisation run at a budget of oracle calls.

A trial's *calls* are its evaluation records in the order they were made: one per proposed point,
whether its decoding failed (no string), its string was seen before (not re-scored: the known score
is reused and the record is flagged ``duplicate``) or it was scored. All scores are in the
objective's own units and "best" follows its direction.

Definitions (``k = 10``; "found by call t" = the valid records among calls 1..t, strings distinct):

* ``best`` — the best score found.
* ``top10_mean`` — the mean of the ``k`` best distinct scores found (fewer if fewer were found).
* ``auc_top10`` — the area under the top-k curve over the budget, normalised by the budget ``B``
  (the PMO benchmark's AUC top-10, Gao et al., 2022)::

      auc = (1 / B) * sum_{t=1..B} top_k(t)

  where ``top_k(t)`` is the mean of the ``k`` best distinct scores found by call ``t``. As in PMO,
  a trial that stopped before ``B`` calls carries its last value to ``B``. Two choices differ from
  PMO's code, which works on scores in [0, 1] logged every 100 calls: the curve is taken at every
  call (PMO's trapezoids over 100-call steps approximate this sum), and the calls before the
  first valid score take the first value found (PMO scores them 0, its worst score, which has no
  analogue for an unbounded objective). For objectives with scores in [0, 1] the AUC lies in
  [0, 1]; in general it is the budget-average of the top-k mean, in score units, and higher is
  better only for maximised objectives.
* ``best_novel`` — the best score among the strings that are not training strings of the model
  (``training_strings``): a rediscovered training string is not a discovery, and on a dataset that
  holds the optimum (the 100k expressions hold the target itself) ``best`` alone says nothing.
  Equal to ``best`` when no training strings are given.
* ``n_calls`` — the number of calls; ``n_duplicates`` — calls whose string was seen before
  earlier in the trial (not scored again); ``n_distinct_valid`` — distinct strings with a score.

PMO's own metrics (:func:`pmo_metrics`) count calls as PMO does, distinct valid molecules by
canonical SMILES (:mod:`lsbo.bo.accounting`): ``n_calls_pmo``; ``auc_top{1,10,100}_pmo``
(:func:`pmo_auc` at the run's budget); ``top{1,10,100}_at_{C}_pmo``, the best, top-10 mean and
top-100 mean of the first ``C`` such calls for ``C`` in :data:`PMO_CHECKPOINTS` (``None`` for a
``C`` beyond the calls made). They are PMO's numbers when the run spends its budget as PMO does
(``budget_accounting="pmo"``), and are defined for maximised objectives only (``None`` otherwise).
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: How many of the best distinct scores the top-k metrics average (PMO's top-10).
TOP_K = 10
METRIC_NAMES = ("best", "best_novel", "top10_mean", "auc_top10", "n_calls", "n_duplicates", "n_distinct_valid")
#: PMO's top-n sizes and the numbers of calls at which it reports them (its ``log_result``).
PMO_TOP_N = (1, 10, 100)
PMO_CHECKPOINTS = (100, 500, 1000, 3000, 5000, 10000)
PMO_METRIC_NAMES = (
    "n_calls_pmo", *(f"auc_top{n}_pmo" for n in PMO_TOP_N),
    *(f"top{n}_at_{calls}_pmo" for calls in PMO_CHECKPOINTS for n in PMO_TOP_N),
)


def _oriented(score: float, maximize: bool) -> float:
    """Scores in the maximisation direction, so "better" is always "larger"."""
    return score if maximize else -score


def top_k_curve(records: Sequence[Mapping[str, Any]], maximize: bool, k: int = TOP_K) -> list[float | None]:
    """``top_k(t)`` for t = 1..len(records): the mean of the ``k`` best distinct valid scores among the
    first t records (``None`` before the first valid one), in the objective's units."""
    best_of: dict[str, float] = {}  # string -> its best oriented score
    top: list[float] = []  # ascending oriented scores of the current top k strings
    curve: list[float | None] = []
    for record in records:
        if record.get("valid") and record.get("string") is not None:
            string, value = record["string"], _oriented(float(record["score"]), maximize)
            previous = best_of.get(string)
            if previous is None or value > previous:
                best_of[string] = value
                if previous is not None and previous in top:
                    top.remove(previous)  # the same string improved: it is in the top once
                bisect.insort(top, value)
                if len(top) > k:
                    top.pop(0)
        curve.append(_oriented(sum(top) / len(top), maximize) if top else None)
    return curve


def auc_top_k(records: Sequence[Mapping[str, Any]], budget: int, maximize: bool, k: int = TOP_K) -> float | None:
    """The budget-normalised area under the top-k curve (module docstring); ``None`` without a valid score.

    Records beyond ``budget`` are ignored; a trial shorter than ``budget`` carries its last value.
    """
    if budget < 1:
        raise ValueError(f"budget must be at least 1, got {budget}")
    curve = top_k_curve(records[:budget], maximize, k)
    first = next((value for value in curve if value is not None), None)
    if first is None:
        return None
    filled = [first if value is None else value for value in curve]
    filled += [filled[-1]] * (budget - len(filled))
    return float(sum(filled) / budget)


def distinct_valid(records: Sequence[Mapping[str, Any]], maximize: bool) -> dict[str, float]:
    """Each distinct valid string's best score."""
    best: dict[str, float] = {}
    for record in records:
        if record.get("valid") and record.get("string") is not None:
            string, score = record["string"], float(record["score"])
            if string not in best or _oriented(score, maximize) > _oriented(best[string], maximize):
                best[string] = score
    return best


def trial_metrics(
    records: Sequence[Mapping[str, Any]], *, budget: int, maximize: bool, k: int = TOP_K,
    training_strings: set[str] | frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """``best``, ``best_novel``, ``top10_mean``, ``auc_top10``, ``n_calls``, ``n_duplicates``, ``n_distinct_valid`` of one trial."""
    found = distinct_valid(records, maximize)
    scores = sorted(found.values(), key=lambda s: _oriented(s, maximize), reverse=True)
    novel = [score for string, score in found.items() if string not in training_strings]
    return {
        "best": scores[0] if scores else None,
        "best_novel": max(novel, key=lambda s: _oriented(s, maximize)) if novel else None,
        "top10_mean": float(np.mean(scores[:k])) if scores else None,
        "auc_top10": auc_top_k(records, budget, maximize, k),
        "n_calls": len(records),
        "n_duplicates": sum(1 for r in records if r.get("duplicate")),
        "n_distinct_valid": len(scores),
        "budget": budget,
    }


def aggregate_metrics(per_trial: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    """Mean and population std (``ddof=0``) over trials of each metric, as ``NAME_mean``/``NAME_std``."""
    aggregate: dict[str, float | None] = {}
    for name in (*METRIC_NAMES, *PMO_METRIC_NAMES):
        values = [float(t[name]) for t in per_trial if t.get(name) is not None and not math.isnan(float(t[name]))]
        aggregate[f"{name}_mean"] = float(np.mean(values)) if values else None
        aggregate[f"{name}_std"] = float(np.std(values)) if values else None
    return aggregate


def is_rediscovery(string: str | None, training_strings: set[str] | frozenset[str]) -> bool:
    """Whether a best string is itself one of the model's training strings."""
    return string is not None and string in training_strings


def pmo_auc(scores: Sequence[float], top_n: int = 10, freq_log: int = 100, budget: int = 10000, finish: bool = True) -> float:
    """PMO's AUC top-``top_n`` (Gao et al., 2022; ``top_auc`` of its ``main/optimizer.py``), exactly.

    ``scores`` are the scores of the distinct valid molecules in the order they were first called
    (PMO's oracle buffer in call order; higher is better). With ``n = len(scores)`` and ``T(t)`` the
    mean of the ``top_n`` best of the first ``t`` scores (of all of them if fewer):

    - a trapezoid every ``freq_log`` calls, at ``t = freq_log, 2 freq_log, ...`` strictly below
      ``min(n, budget)``, starting from 0 at ``t = 0``: ``freq_log * (T(t) + T(t - freq_log)) / 2``;
    - one last trapezoid from the last of those points ``c`` (0 if none) to ``n``:
      ``(n - c) * (T(n) + T(c)) / 2``;
    - with ``finish`` and ``n < budget``, ``T(n)`` held from ``n`` to ``budget``;

    the sum divided by ``budget``. As in PMO's code, a sequence longer than ``budget`` is not cut:
    its last trapezoid reaches ``n`` and uses the top of all ``n`` scores (PMO's own oracle stops at
    ``budget + 1`` molecules). An empty sequence gives NaN, as PMO's mean of no scores does.
    """
    from lsbo.errors import ConfigError

    for name, setting in (("top_n", top_n), ("freq_log", freq_log), ("budget", budget)):
        if isinstance(setting, bool) or not isinstance(setting, int) or setting < 1:
            raise ConfigError(f"{name} must be a positive integer, got {setting!r}", parameter=name)
    values = [float(score) for score in scores]
    n = len(values)
    if n == 0:
        return math.nan
    best: list[float] = []  # min-heap of the top_n largest scores so far

    def top_mean() -> float:
        return float(np.mean(sorted(best, reverse=True)))  # PMO's order of summation

    total: float = 0.0
    previous: float = 0.0  # PMO's curve starts from 0 at call 0
    called = seen = 0
    for checkpoint in range(freq_log, min(n, budget), freq_log):
        for value in values[seen:checkpoint]:
            (heapq.heappush if len(best) < top_n else heapq.heappushpop)(best, value)
        seen = checkpoint
        now = top_mean()
        total += freq_log * (now + previous) / 2
        previous, called = now, checkpoint
    for value in values[seen:]:
        (heapq.heappush if len(best) < top_n else heapq.heappushpop)(best, value)
    now = top_mean()
    total += (n - called) * (now + previous) / 2
    if finish and n < budget:
        total += (budget - n) * now
    return total / budget


def pmo_metrics(records: Sequence[Mapping[str, Any]], *, budget: int, maximize: bool, model_kind: str | None) -> dict[str, Any]:
    """PMO's AUCs and top-n values of one trial (module docstring); ``records`` in call order."""
    from lsbo.bo.accounting import pmo_call_scores

    scores = pmo_call_scores(records, model_kind)
    metrics: dict[str, Any] = {"n_calls_pmo": len(scores)}
    for n in PMO_TOP_N:
        metrics[f"auc_top{n}_pmo"] = pmo_auc(scores, top_n=n, budget=budget) if maximize and scores else None
    for calls in PMO_CHECKPOINTS:
        best_first = sorted(scores[:calls], reverse=True) if maximize and len(scores) >= calls else []
        for n in PMO_TOP_N:
            metrics[f"top{n}_at_{calls}_pmo"] = float(np.mean(best_first[:n])) if best_first else None
    return metrics
