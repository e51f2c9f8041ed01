"""Image metrics of the paper's Section 4.1-4.2: Fréchet distance (FID) and clustering accuracy.

FID (Heusel et al., 2017) is the Fréchet distance between two Gaussians fitted to features of real
and generated images::

    d^2 = ||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^{1/2})

It is only comparable between numbers computed with the same feature extractor, so every value this
package reports carries the extractor's name (``fid[inception-v3]``, ``fid[classifier:...]``).

Clustering accuracy (Section 4.2): each test image is assigned to the prior component of highest
responsibility; components are matched to class labels by the Hungarian algorithm on the
contingency table, and the accuracy is the fraction of images whose matched label is right.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg
from scipy.optimize import linear_sum_assignment

from lsbo.errors import ConfigError

# The four FIDs of Table 1 (Samp., GMM, Rec., Inter.), under the keys used in metrics.json.
FID_KINDS = ("samples", "gmm", "reconstructions", "interpolations")


def fid_key(extractor_name: str) -> str:
    """The label under which FIDs computed with ``extractor_name`` are stored."""
    return f"fid[{extractor_name}]"


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (F,) and unbiased covariance (F, F) of a feature matrix (N, F), in float64."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ConfigError(f"need at least two feature vectors of shape (N, F) for FID, got {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    The matrix square root of ``sigma1 @ sigma2`` can come out non-finite when the product is
    (near) singular, e.g. with fewer samples than feature dimensions; then ``eps`` is added to both
    diagonals, as the reference FID code does. Round-off gives the root a tiny imaginary part, which
    is dropped; where it is large (the reference code raises), the trace is computed from the
    equivalent symmetric form instead (:func:`_trace_sqrt_product`).
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise ConfigError(f"FID statistics disagree in shape: {mu1.shape}, {sigma1.shape} vs {mu2.shape}, {sigma2.shape}")
    diff = mu1 - mu2
    with warnings.catch_warnings():
        # A singular product is expected with few samples; it is handled just below.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    trace_covmean: float
    if np.iscomplexobj(covmean) and float(np.max(np.abs(np.diagonal(covmean).imag))) > 1e-3:
        # sqrtm lost its way on a (near) singular, non-symmetric product (the reference code gives
        # up here); the trace is also that of the symmetric PSD root, computed stably instead.
        trace_covmean = _trace_sqrt_product(sigma1, sigma2)
    else:
        trace_covmean = float(np.trace(covmean.real))
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_covmean)
    # Round-off can push a distance of two identical sets a hair below zero.
    return max(value, 0.0)


def _trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """Tr((S1 S2)^{1/2}) = Tr((S1^{1/2} S2 S1^{1/2})^{1/2}): the same eigenvalues, but of a symmetric
    positive semi-definite matrix, so eigh applies and round-off cannot make them complex."""
    values, vectors = np.linalg.eigh(sigma1)
    root1 = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    inner = root1 @ sigma2 @ root1
    return float(np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2.0), 0.0, None)).sum())


def fid_from_features(real: np.ndarray, generated: np.ndarray) -> float:
    """FID between two feature matrices (N1, F) and (N2, F)."""
    return frechet_distance(*feature_statistics(real), *feature_statistics(generated))


def contingency_table(assignments: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Counts (n_clusters, n_labels): row k, column c = images of cluster k with label c."""
    assignments = np.asarray(assignments, dtype=np.int64).ravel()
    labels = np.asarray(labels, dtype=np.int64).ravel()
    if assignments.shape != labels.shape:
        raise ConfigError(f"{assignments.size} cluster assignments for {labels.size} labels")
    if assignments.size and (assignments.min() < 0 or labels.min() < 0):
        raise ConfigError("cluster assignments and labels must be non-negative integers")
    table = np.zeros((int(assignments.max(initial=-1)) + 1, int(labels.max(initial=-1)) + 1), dtype=np.int64)
    np.add.at(table, (assignments, labels), 1)
    return table


def hungarian_mapping(assignments: np.ndarray, labels: np.ndarray) -> dict[int, int]:
    """The one-to-one cluster -> label map that maximises the number of correct images.

    With more clusters than labels, the unmatched clusters count as wrong (the usual convention).
    """
    table = contingency_table(assignments, labels)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return {int(r): int(c) for r, c in zip(rows, cols)}


def clustering_accuracy(assignments: np.ndarray, labels: np.ndarray) -> float:
    """Unsupervised clustering accuracy (Section 4.2) under the Hungarian matching."""
    labels = np.asarray(labels, dtype=np.int64).ravel()
    if labels.size == 0:
        raise ConfigError("clustering accuracy needs at least one labelled image")
    table = contingency_table(assignments, labels)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / labels.size)
