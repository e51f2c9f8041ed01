"""Budget metrics (best, top-10 mean, PMO-style AUC top-10, calls, duplicates) against direct computation."""

from __future__ import annotations

import random

import numpy as np
import pytest

from lsbo.bo.metrics import aggregate_metrics, auc_top_k, is_rediscovery, top_k_curve, trial_metrics


def _records(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    pool = [f"s{i}" for i in range(25)]  # few strings: many repeats
    records = []
    for _ in range(n):
        if rng.random() < 0.2:
            records.append({"string": None, "score": None, "valid": False})
        else:
            string = rng.choice(pool)
            records.append({"string": string, "score": round(rng.uniform(-3, 3), 3), "valid": True, "duplicate": rng.random() < 0.3})
    return records


def _direct_top_k(records: list[dict], t: int, k: int, maximize: bool) -> float | None:
    best: dict[str, float] = {}
    for r in records[:t]:
        if r["valid"]:
            s = r["score"]
            if r["string"] not in best or (s > best[r["string"]] if maximize else s < best[r["string"]]):
                best[r["string"]] = s
    if not best:
        return None
    return float(np.mean(sorted(best.values(), reverse=maximize)[:k]))


@pytest.mark.parametrize("maximize", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_top_k_curve_and_auc_against_direct_computation(maximize: bool, seed: int) -> None:
    records = [{"string": None, "score": None, "valid": False}] * 3 + _records(120, seed)
    curve = top_k_curve(records, maximize, k=10)
    direct = [_direct_top_k(records, t, 10, maximize) for t in range(1, len(records) + 1)]
    assert curve[:3] == [None, None, None]
    assert curve == pytest.approx(direct)
    budget = 150  # longer than the trial: the last value is carried to the budget
    first = next(v for v in direct if v is not None)
    filled = [first if v is None else v for v in direct] + [direct[-1]] * (budget - len(direct))
    assert auc_top_k(records, budget, maximize) == pytest.approx(sum(filled) / budget)
    # a smaller budget only looks at the first calls
    assert auc_top_k(records, 50, maximize) == pytest.approx(sum(filled[:50]) / 50)


def test_auc_is_in_unit_interval_for_unit_scores_and_equals_the_score_when_constant() -> None:
    records = [{"string": f"s{i}", "score": 0.7, "valid": True} for i in range(30)]
    assert auc_top_k(records, 30, True) == pytest.approx(0.7)
    rising = [{"string": f"s{i}", "score": i / 99, "valid": True} for i in range(100)]
    assert 0.0 <= auc_top_k(rising, 100, True) <= 1.0
    assert auc_top_k([{"string": None, "score": None, "valid": False}], 10, True) is None


def test_trial_metrics_and_aggregate() -> None:
    records = [
        {"string": "a", "score": 1.0, "valid": True},
        {"string": "b", "score": 3.0, "valid": True},
        {"string": "a", "score": 1.0, "valid": True, "duplicate": True},
        {"string": None, "score": None, "valid": False},
    ]
    metrics = trial_metrics(records, budget=4, maximize=False)
    assert metrics["best"] == 1.0 and metrics["top10_mean"] == 2.0
    assert metrics["n_calls"] == 4 and metrics["n_duplicates"] == 1 and metrics["n_distinct_valid"] == 2
    # curve (minimisation): 1, 2, 2, 2 -> mean 7/4
    assert metrics["auc_top10"] == pytest.approx(7 / 4)
    other = dict(metrics, best=3.0)
    aggregate = aggregate_metrics([metrics, other])
    assert aggregate["best_mean"] == 2.0 and aggregate["best_std"] == 1.0 and aggregate["n_calls_std"] == 0.0
    assert is_rediscovery("a", {"a"}) and not is_rediscovery(None, {"a"})


def test_best_novel_leaves_out_training_strings() -> None:
    records = [
        {"string": "target", "score": 0.0, "valid": True},
        {"string": "near", "score": 0.1, "valid": True},
        {"string": "far", "score": 2.0, "valid": True},
    ]
    metrics = trial_metrics(records, budget=3, maximize=False, training_strings={"target"})
    assert metrics["best"] == 0.0 and metrics["best_novel"] == 0.1
    assert trial_metrics(records, budget=3, maximize=False)["best_novel"] == 0.0
    assert trial_metrics(records[:1], budget=3, maximize=False, training_strings={"target"})["best_novel"] is None
    maximised = trial_metrics(records, budget=3, maximize=True, training_strings={"far"})
    assert maximised["best"] == 2.0 and maximised["best_novel"] == 0.1
