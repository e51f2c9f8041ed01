"""The paired comparisons' interval: seeds resampled first, then the trials within each seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lsbo.experiment.tables import paired_differences, seed_then_trial_bootstrap


def _pairs(differences_by_seed: dict[int, list[float]]) -> pd.DataFrame:
    """Values of two models whose (seed, trial) differences are the given ones (baseline at 0)."""
    rows = []
    for seed, differences in differences_by_seed.items():
        for trial, difference in enumerate(differences, start=1):
            rows.append(dict(model="A", seed=seed, trial=trial, value=0.0))
            rows.append(dict(model="B", seed=seed, trial=trial, value=difference))
    return pd.DataFrame(rows)


def test_two_seeds_of_constant_differences_give_exactly_the_three_possible_means() -> None:
    # seed 0's trials all differ by 1.0, seed 1's by 0.2: a sample holds seed 0 twice (mean 1.0, chance 1/4),
    # once each (0.6, 1/2) or seed 1 twice (0.2, 1/4), whatever the trials drawn
    means = seed_then_trial_bootstrap([np.full(5, 1.0), np.full(5, 0.2)], 40_000, np.random.default_rng(1))
    support, counts = np.unique(np.round(means, 12), return_counts=True)
    assert support.tolist() == [0.2, 0.6, 1.0]
    assert counts / counts.sum() == pytest.approx([0.25, 0.5, 0.25], abs=0.01)


def test_unequal_seeds_are_weighted_by_their_trials() -> None:
    # seed 0: one pair of difference 0; seed 1: three of 4. Both slots seed 0 -> 0, both seed 1 -> 4,
    # one of each -> (0 + 3 * 4) / 4 = 3: the pooled mean of the drawn trials, not the mean of seed means (2)
    means = seed_then_trial_bootstrap([np.zeros(1), np.full(3, 4.0)], 20_000, np.random.default_rng(2))
    assert np.unique(np.round(means, 12)).tolist() == [0.0, 3.0, 4.0]


def test_one_seed_is_the_plain_bootstrap_of_its_trials() -> None:
    values = np.random.default_rng(3).normal(0.5, 1.0, 8)
    means = seed_then_trial_bootstrap([values], 50_000, np.random.default_rng(4))
    reference = stats.bootstrap((values,), np.mean, confidence_level=0.95, n_resamples=50_000, method="percentile",
                                random_state=np.random.default_rng(5)).confidence_interval
    low, high = np.quantile(means, [0.025, 0.975])
    assert low == pytest.approx(reference.low, abs=0.03) and high == pytest.approx(reference.high, abs=0.03)
    assert means.mean() == pytest.approx(values.mean(), abs=0.01)


def test_the_seed_spread_widens_the_interval_that_pooled_pairs_would_give() -> None:
    # ten pairs in two seeds that disagree: pooled as ten independent pairs they look certain of a positive
    # difference; with the seeds resampled the interval reaches each seed's own mean
    pairs = _pairs({0: [0.9, 1.0, 1.1, 1.0, 1.0], 1: [-0.1, 0.0, 0.1, 0.0, 0.0]})
    result = paired_differences(pairs, "A", "B", ["seed", "trial"], confidence=0.95, resamples=20_000)
    assert result["n_pairs"] == 10 and result["n_seeds"] == 2
    assert result["mean_difference"] == pytest.approx(0.5)
    pooled = stats.bootstrap((np.array([0.9, 1.0, 1.1, 1.0, 1.0, -0.1, 0.0, 0.1, 0.0, 0.0]),), np.mean,
                             confidence_level=0.95, n_resamples=20_000, method="percentile",
                             random_state=np.random.default_rng(0)).confidence_interval
    assert pooled.low > 0.1  # the flat bootstrap would call B better than A
    assert result["ci_low"] < 0.05 and result["ci_high"] > 0.95


def test_the_diagnostics_one_value_per_seed_resample_the_seeds() -> None:
    values = pd.DataFrame([dict(model=m, seed=s, value=v) for m, s, v in
                           [("A", 0, 0.0), ("A", 1, 0.0), ("A", 2, 0.0), ("B", 0, 0.1), ("B", 1, 0.2), ("B", 2, 0.6)]])
    result = paired_differences(values, "A", "B", ["seed"], confidence=0.9, resamples=20_000)
    assert result["n_pairs"] == 3 and result["n_seeds"] == 3
    assert result["mean_difference"] == pytest.approx(0.3)
    # the resampled means of three values lie between the smallest and the largest
    assert 0.1 <= result["ci_low"] < result["ci_high"] <= 0.6
