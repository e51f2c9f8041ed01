"""benchmarks/bootstrap_coverage.py, whose coverage table in RESULTS.md justified the tables' interval: its
three intervals on data where each can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

# two seeds whose five trials all differ by 1.0 and by 0.2
DIFFERENCES = np.array([[1.0] * 5, [0.2] * 5])


@pytest.fixture()
def coverage_script(benchmark_script):
    return benchmark_script("bootstrap_coverage")


def test_seeds_then_trials_reaches_each_seed_alone(coverage_script) -> None:
    # a resample holds seed 0 twice (mean 1.0, chance 1/4), one of each (0.6) or seed 1 twice (0.2, 1/4):
    # the 2.5% and 97.5% quantiles are the two seeds' own means
    low, high = coverage_script.seeds_then_trials_bootstrap(DIFFERENCES, 20_000, 0.95, np.random.default_rng(0))
    assert (low, high) == pytest.approx((0.2, 1.0))


def test_pooled_pairs_stay_inside_the_seeds(coverage_script) -> None:
    # ten independent draws from five 1.0s and five 0.2s almost never come out all of one kind
    low, high = coverage_script.pooled_bootstrap(DIFFERENCES, 20_000, 0.95, np.random.default_rng(0))
    assert 0.2 < low < 0.6 < high < 1.0


def test_the_tables_interval_is_student_t_over_the_two_seed_means(coverage_script) -> None:
    expected = stats.ttest_1samp([1.0, 0.2], 0.0).confidence_interval(0.95)
    low, high = coverage_script.tables_interval(DIFFERENCES, 1000, 0.95)
    assert (low, high) == pytest.approx((expected.low, expected.high))
    assert low < -4.0 and high > 5.0  # t with one degree of freedom: 12.7 standard errors each side
