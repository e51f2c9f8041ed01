"""FID and clustering accuracy against direct computations (paper Section 4.1-4.2)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg

from lsbo.images.metrics import (
    _trace_sqrt_product,
    clustering_accuracy,
    feature_statistics,
    fid_from_features,
    fid_key,
    frechet_distance,
    hungarian_mapping,
)


def direct_fid(x: np.ndarray, y: np.ndarray) -> float:
    """The Fréchet distance written out with NumPy/SciPy, independently of the library."""
    mu_x, mu_y = x.mean(0), y.mean(0)
    cov_x, cov_y = np.cov(x.T), np.cov(y.T)
    root = linalg.sqrtm(cov_x @ cov_y).real
    return float(np.sum((mu_x - mu_y) ** 2) + np.trace(cov_x + cov_y - 2 * root))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_frechet_distance_matches_direct_scipy_on_gaussian_features(seed: int) -> None:
    rng = np.random.default_rng(seed)
    dim = 8
    mixing = rng.normal(size=(dim, dim))
    x = rng.normal(size=(400, dim)) @ mixing
    y = rng.normal(loc=0.7, size=(300, dim)) @ (mixing + 0.3 * rng.normal(size=(dim, dim)))
    assert fid_from_features(x, y) == pytest.approx(direct_fid(x, y), rel=1e-6)


def test_frechet_distance_closed_form_for_diagonal_gaussians() -> None:
    # For commuting (diagonal) covariances: ||mu1-mu2||^2 + sum (sqrt(a) - sqrt(b))^2.
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
    var1, var2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)
    assert frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_of_a_set_with_itself_is_zero_even_when_rank_deficient() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(20, 50))  # fewer samples than dimensions: singular covariance
    stats = feature_statistics(x)
    assert frechet_distance(*stats, *stats) == pytest.approx(0.0, abs=1e-3)


def test_symmetric_trace_form_equals_sqrtm_trace() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    s1, s2 = a @ a.T, b @ b.T
    assert _trace_sqrt_product(s1, s2) == pytest.approx(np.trace(linalg.sqrtm(s1 @ s2).real), rel=1e-8)


def test_hungarian_accuracy_is_one_for_a_permuted_perfect_assignment() -> None:
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 10, size=1000)
    permutation = rng.permutation(10)
    clusters = permutation[labels]
    assert clustering_accuracy(clusters, labels) == 1.0
    mapping = hungarian_mapping(clusters, labels)
    assert all(mapping[int(permutation[c])] == c for c in range(10))


def test_hungarian_accuracy_counts_only_the_best_one_to_one_matching() -> None:
    labels = np.array([0, 0, 0, 1, 1, 1])
    clusters = np.array([0, 0, 0, 0, 0, 1])  # cluster 0 is mostly label 0; only one image of label 1 separated
    # Best matching: cluster 0 -> label 0 (3 right), cluster 1 -> label 1 (1 right).
    assert clustering_accuracy(clusters, labels) == pytest.approx(4 / 6)


def test_more_clusters_than_labels_count_unmatched_clusters_as_wrong() -> None:
    labels = np.array([0, 0, 1, 1])
    clusters = np.array([0, 1, 2, 3])
    assert clustering_accuracy(clusters, labels) == pytest.approx(0.5)


def test_fid_key_names_the_extractor() -> None:
    assert fid_key("inception-v3") == "fid[inception-v3]"
