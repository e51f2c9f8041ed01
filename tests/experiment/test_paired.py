"""The experiment tables' paired comparisons: the training seed as the unit of the interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lsbo.experiment.tables import paired_differences


def _pairs(differences_by_seed: dict[int, list[float]]) -> pd.DataFrame:
    """Values of models A and B whose (seed, trial) differences B - A are the given ones."""
    rows = []
    for seed, differences in differences_by_seed.items():
        for trial, difference in enumerate(differences, start=1):
            rows.append(dict(model="A", seed=seed, trial=trial, value=10.0 + seed + trial))
            rows.append(dict(model="B", seed=seed, trial=trial, value=10.0 + seed + trial + difference))
    return pd.DataFrame(rows)


def _compare(frame: pd.DataFrame, keys: tuple[str, ...] = ("seed", "trial"), confidence: float = 0.95) -> dict:
    return paired_differences(frame, "A", "B", list(keys), confidence=confidence, resamples=20_000)


def test_several_seeds_give_student_t_over_the_seed_means() -> None:
    differences = {0: [0.9, 1.0, 1.4], 1: [0.1, -0.2, 0.4, 0.3], 2: [0.6, 0.5, 0.7]}  # seed 1 has a 4th trial
    result = _compare(_pairs(differences))
    seed_means = np.array([np.mean(v) for v in differences.values()])
    t = stats.t.ppf(0.975, df=2)
    half_width = t * seed_means.std(ddof=1) / np.sqrt(3)
    assert result["n_pairs"] == 10 and result["n_seeds"] == 3 and result["interval"] == "t over 3 seeds"
    assert result["mean_difference"] == pytest.approx(seed_means.mean())  # the seeds weigh the same, not the trials
    assert result["ci_low"] == pytest.approx(seed_means.mean() - half_width)
    assert result["ci_high"] == pytest.approx(seed_means.mean() + half_width)


def test_seeds_that_disagree_are_not_made_certain_by_their_trials() -> None:
    # ten tight pairs in two seeds of opposite sign: pooled as ten independent pairs a bootstrap is sure of
    # a positive difference; over the two seeds nothing can be said
    pairs = _pairs({0: [0.9, 1.0, 1.1, 1.0, 1.0], 1: [-0.1, 0.0, 0.1, 0.0, 0.0]})
    pooled = stats.bootstrap((np.array([0.9, 1.0, 1.1, 1.0, 1.0, -0.1, 0.0, 0.1, 0.0, 0.0]),), np.mean, n_resamples=20_000,
                             method="percentile", random_state=np.random.default_rng(0)).confidence_interval
    assert pooled.low > 0.1
    result = _compare(pairs)
    assert result["mean_difference"] == pytest.approx(0.5)
    assert result["ci_low"] < 0.0 < 1.0 < result["ci_high"]


def test_one_seed_is_a_bootstrap_over_its_trials() -> None:
    trials = [0.3, -0.1, 0.5, 0.2, 0.4, 0.0]
    result = _compare(_pairs({4: trials}), confidence=0.9)
    reference = stats.bootstrap((np.array(trials),), np.mean, confidence_level=0.9, n_resamples=20_000, method="percentile",
                                random_state=np.random.default_rng(0)).confidence_interval
    assert result["interval"] == "bootstrap over trials (one seed)" and result["n_seeds"] == 1
    assert result["mean_difference"] == pytest.approx(np.mean(trials))
    assert (result["ci_low"], result["ci_high"]) == pytest.approx((reference.low, reference.high))


def test_equal_seed_means_give_a_point_and_no_pairs_give_nothing() -> None:
    result = _compare(_pairs({0: [0.25, 0.75], 1: [0.5, 0.5]}))  # binary fractions: the seed means are both 0.5 exactly
    assert result["ci_low"] == result["ci_high"] == 0.5
    empty = _compare(_pairs({0: [0.2]}).query("model == 'A'"))
    assert empty["n_pairs"] == 0 and empty["mean_difference"] is None and empty["ci_low"] is None


def test_the_diagnostics_one_value_per_seed_are_paired_by_seed() -> None:
    values = pd.DataFrame([dict(model=m, seed=s, value=v) for m, s, v in
                           [("A", 0, 0.5), ("A", 1, 0.2), ("A", 2, 0.9), ("B", 0, 0.6), ("B", 1, 0.4), ("B", 2, 1.5)]])
    result = _compare(values, keys=("seed",))
    expected = stats.ttest_rel([0.6, 0.4, 1.5], [0.5, 0.2, 0.9]).confidence_interval(0.95)
    assert result["n_pairs"] == 3 and result["mean_difference"] == pytest.approx(0.3)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx((expected.low, expected.high))
