"""ks_loss / covariance_loss / eq. 10 weights against direct NumPy/SciPy computations of eqs. 5-8,
and the baselines' KL and MMD against their definitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from lsbo.errors import ConfigError
from lsbo.priors import GMMPrior
from lsbo.regularizers import (
    covariance_loss,
    estimate_weights,
    gaussian_kl,
    imq_mmd,
    ks_loss,
    reconstruction_weight_from_ae,
)


def numpy_ks(z: np.ndarray, means: np.ndarray, stds: np.ndarray, weights: np.ndarray) -> float:
    """Eq. 7 written out: per dimension, sorted batch, i/N vs eq. 5, mean squared difference."""
    n, d = z.shape
    per_dim = []
    for j in range(d):
        column = np.sort(z[:, j])
        empirical = np.arange(1, n + 1) / n
        model = sum(weights[k] * stats.norm.cdf(column, means[k, j], stds[k, j]) for k in range(len(weights)))
        per_dim.append(np.mean((empirical - model) ** 2))
    return float(np.mean(per_dim))


def numpy_cv(z: np.ndarray, means: np.ndarray, stds: np.ndarray, weights: np.ndarray) -> float:
    """Eq. 8 with eq. 6 written out."""
    mu_bar = weights @ means
    sigma = sum(
        weights[k] * (np.diag(stds[k] ** 2) + np.outer(means[k] - mu_bar, means[k] - mu_bar)) for k in range(len(weights))
    )
    return float(np.mean((np.cov(z.T, ddof=1) - sigma) ** 2))


PRIORS = {
    "standard normal K=1": lambda: GMMPrior.standard_normal(5, dtype=torch.float64),
    "K=1 shifted, diagonal std": lambda: GMMPrior(
        torch.tensor([[1.0, -2.0, 0.5, 0.0, 3.0]], dtype=torch.float64), torch.tensor([[0.5, 1.0, 2.0, 1.5, 0.7]], dtype=torch.float64)
    ),
    "K=4 unequal weights": lambda: GMMPrior(
        torch.randn(4, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 3.0,
        torch.rand(4, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64) + 0.3,
        torch.tensor([0.1, 0.4, 0.2, 0.3], dtype=torch.float64),
    ),
}


@pytest.mark.parametrize("name", list(PRIORS))
def test_ks_and_cv_match_direct_computation(name: str) -> None:
    prior = PRIORS[name]()
    args = (prior.means.numpy(), prior.stds.numpy(), prior.weights.numpy())
    for seed in range(3):
        z = torch.randn(64, 5, generator=torch.Generator().manual_seed(10 + seed), dtype=torch.float64) * 2.0 + 0.3
        assert float(ks_loss(z, prior)) == pytest.approx(numpy_ks(z.numpy(), *args), rel=1e-10)
        assert float(covariance_loss(z, prior)) == pytest.approx(numpy_cv(z.numpy(), *args), rel=1e-10)


def test_float32_losses_agree_with_float64() -> None:
    prior64 = PRIORS["K=4 unequal weights"]()
    prior32 = GMMPrior(prior64.means.float(), prior64.stds.float(), prior64.weights.float())
    z = torch.randn(100, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    assert float(ks_loss(z.float(), prior32)) == pytest.approx(float(ks_loss(z, prior64)), rel=1e-4)
    assert float(covariance_loss(z.float(), prior32)) == pytest.approx(float(covariance_loss(z, prior64)), rel=1e-4)
    half = ks_loss(z.half(), prior32)
    assert half.dtype == torch.float32 and torch.isfinite(half)


def test_eq10_weights_make_prior_batches_score_one() -> None:
    prior = GMMPrior.sobol(16, 10)
    batch, seeds = 100, 6
    ks_means, cv_means = [], []
    for seed in range(seeds):
        weights = estimate_weights(prior, batch, n_batches=100, generator=torch.Generator().manual_seed(seed))
        fresh = torch.Generator().manual_seed(1000 + seed)
        ks_values, cv_values = [], []
        for _ in range(60):
            z, _ = prior.sample(batch, generator=fresh)
            ks_values.append(weights.ks * float(ks_loss(z, prior)))
            cv_values.append(weights.cv * float(covariance_loss(z, prior)))
        ks_means.append(np.mean(ks_values))
        cv_means.append(np.mean(cv_values))
        # Each seed on its own: estimate and evaluation both average finitely many noisy batches.
        assert 0.7 < ks_means[-1] < 1.3 and 0.7 < cv_means[-1] < 1.3
    assert np.mean(ks_means) == pytest.approx(1.0, abs=0.1)
    assert np.mean(cv_means) == pytest.approx(1.0, abs=0.1)


def test_perfectly_correlated_batch_has_small_ks_and_large_cv() -> None:
    """Figure 1's claim: prior marginals, wrong correlations -> KS term ~1, CV term >> 1."""
    dim, batch = 8, 500
    prior = GMMPrior.standard_normal(dim)
    weights = estimate_weights(prior, batch, n_batches=50, generator=torch.Generator().manual_seed(0))
    first = torch.randn(batch, 1, generator=torch.Generator().manual_seed(1))
    correlated = first.expand(batch, dim).contiguous()
    reference, _ = prior.sample(batch, generator=torch.Generator().manual_seed(2))
    ks_corr, cv_corr = weights.ks * float(ks_loss(correlated, prior)), weights.cv * float(covariance_loss(correlated, prior))
    ks_ref, cv_ref = weights.ks * float(ks_loss(reference, prior)), weights.cv * float(covariance_loss(reference, prior))
    assert ks_corr < 5.0 and ks_ref < 5.0  # marginals match: the KS term alone cannot tell them apart
    assert cv_ref < 5.0
    assert cv_corr > 50.0 * max(cv_ref, 1.0)


@pytest.mark.parametrize("scale", [1.0, 1e2, 1e4])
def test_far_latents_give_finite_values_and_gradients(scale: float) -> None:
    prior = GMMPrior.sobol(7, 5)
    z = (torch.randn(40, 7, generator=torch.Generator().manual_seed(3)) * scale).requires_grad_(True)
    total = ks_loss(z, prior) + covariance_loss(z, prior)
    total.backward()
    assert torch.isfinite(total) and torch.isfinite(z.grad).all()
    assert z.grad.abs().sum() > 0  # the covariance term still pulls far-away codes back


def test_ks_gradient_moves_latents_towards_the_prior() -> None:
    prior = GMMPrior.standard_normal(3)
    z = (torch.randn(200, 3, generator=torch.Generator().manual_seed(4)) + 1.0).requires_grad_(True)
    ks_loss(z, prior).backward()
    assert (z.grad.sum(0) > 0).all()  # gradient descent lowers the shifted codes


def test_estimate_weights_is_seeded_and_validates() -> None:
    prior = GMMPrior.sobol(4, 3)
    a = estimate_weights(prior, 32, 10, torch.Generator().manual_seed(5))
    b = estimate_weights(prior, 32, 10, torch.Generator().manual_seed(5))
    assert a == b and a.ks > 0 and a.cv > 0
    with pytest.raises(ConfigError):
        estimate_weights(prior, 1)


def test_reconstruction_weight_is_inverse_loss() -> None:
    assert reconstruction_weight_from_ae(5e-4) == pytest.approx(2000.0)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ConfigError):
            reconstruction_weight_from_ae(bad)


def test_gaussian_kl_matches_torch_distributions() -> None:
    mean = torch.randn(16, 4, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    log_variance = torch.randn(16, 4, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    q = torch.distributions.Normal(mean, (0.5 * log_variance).exp())
    p = torch.distributions.Normal(torch.zeros_like(mean), torch.ones_like(mean))
    expected = torch.distributions.kl_divergence(q, p).sum(1).mean()
    assert float(gaussian_kl(mean, log_variance)) == pytest.approx(float(expected), rel=1e-12)


def test_imq_mmd_matches_direct_sum_and_separates_distributions() -> None:
    x = np.random.default_rng(0).normal(size=(20, 3))
    y = np.random.default_rng(1).normal(size=(25, 3))
    scales = (0.5, 1.0, 2.0)
    expected = 0.0
    for s in scales:
        c = 2 * 3 * 1.0 * s
        k = lambda a, b, c=c: c / (c + ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
        kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
        expected += (kxx.sum() - np.trace(kxx)) / (20 * 19) + (kyy.sum() - np.trace(kyy)) / (25 * 24) - 2 * kxy.mean()
    value = imq_mmd(torch.from_numpy(x), torch.from_numpy(y), scales=scales)
    assert float(value) == pytest.approx(expected, rel=1e-10)
    same = imq_mmd(torch.randn(200, 3), torch.randn(200, 3))
    shifted = imq_mmd(torch.randn(200, 3) + 2.0, torch.randn(200, 3))
    assert float(shifted) > 10 * abs(float(same))


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(min_value=2, max_value=40),
    d=st.integers(min_value=1, max_value=4),
    k=st.integers(min_value=1, max_value=3),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_ks_loss_is_a_bounded_function_of_the_batch_as_a_set(n: int, d: int, k: int, seed: int) -> None:
    """Eq. 7 depends on the batch only through its marginal order statistics, and lies in [0, 1]."""
    generator = torch.Generator().manual_seed(seed)
    prior = GMMPrior(torch.randn(k, d, generator=generator, dtype=torch.float64) * 4.0, 1.0)
    z = torch.randn(n, d, generator=generator, dtype=torch.float64) * 3.0
    shuffled = z[torch.randperm(n, generator=generator)]
    value = float(ks_loss(z, prior))
    assert 0.0 <= value <= 1.0
    assert float(ks_loss(shuffled, prior)) == pytest.approx(value, rel=1e-12, abs=1e-15)
    assert float(covariance_loss(shuffled, prior)) == pytest.approx(float(covariance_loss(z, prior)), rel=1e-9)
