"""GMMPrior against direct NumPy/SciPy computations of eqs. 5 and 6, placement, clustering, I/O."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.special import logsumexp

import lsbo.priors as priors_module
from lsbo.errors import ConfigError
from lsbo.priors import GMMPrior, sobol_means


@pytest.fixture
def unequal_prior() -> GMMPrior:
    """Three components in 4-D with diagonal stds and unequal weights, in float64."""
    generator = torch.Generator().manual_seed(3)
    means = torch.randn(3, 4, generator=generator, dtype=torch.float64) * 2.0
    stds = torch.rand(3, 4, generator=generator, dtype=torch.float64) + 0.5
    return GMMPrior(means, stds, torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64))


def test_sobol_placement_keeps_min_distance_and_unit_directions() -> None:
    prior = GMMPrior.sobol(10, 10)
    means = prior.means.numpy()
    distances = [np.linalg.norm(means[i] - means[j]) for i in range(10) for j in range(i + 1, 10)]
    assert min(distances) >= 6.0
    norms = np.linalg.norm(means, axis=1)
    # All means are the same power of two times a unit vector, and doubling stopped as soon as possible.
    assert np.allclose(norms, norms[0])
    assert np.log2(norms[0]) == pytest.approx(round(np.log2(norms[0])))
    assert min(distances) / 2.0 < 6.0
    assert torch.equal(prior.weights, torch.full((10,), 0.1))
    assert torch.equal(prior.stds, torch.ones(10, 10))


def test_sobol_is_seeded_and_single_component_is_standard_normal() -> None:
    assert torch.equal(sobol_means(5, 7, seed=1), sobol_means(5, 7, seed=1))
    assert not torch.equal(sobol_means(5, 7, seed=1), sobol_means(5, 7, seed=2))
    assert torch.equal(GMMPrior.sobol(3, 1).means, GMMPrior.standard_normal(3).means)
    assert float(torch.pdist(sobol_means(4, 6, min_distance=20.0)).min()) >= 20.0


def test_marginal_cdf_matches_scipy(unequal_prior: GMMPrior) -> None:
    z = torch.randn(50, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 3.0
    expected = np.zeros((50, 4))
    for k in range(3):
        expected += unequal_prior.weights[k].item() * stats.norm.cdf(
            z.numpy(), loc=unequal_prior.means[k].numpy(), scale=unequal_prior.stds[k].numpy()
        )
    assert np.allclose(unequal_prior.marginal_cdf(z).numpy(), expected, atol=1e-12)


def test_marginal_cdf_gradient_is_the_marginal_density(unequal_prior: GMMPrior) -> None:
    z = torch.randn(20, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64, requires_grad=True)
    unequal_prior.marginal_cdf(z).sum().backward()
    expected = np.zeros((20, 4))
    for k in range(3):
        expected += unequal_prior.weights[k].item() * stats.norm.pdf(
            z.detach().numpy(), loc=unequal_prior.means[k].numpy(), scale=unequal_prior.stds[k].numpy()
        )
    assert np.allclose(z.grad.numpy(), expected, atol=1e-12)


def test_chunked_evaluation_equals_one_shot(monkeypatch: pytest.MonkeyPatch, unequal_prior: GMMPrior) -> None:
    z = torch.randn(37, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    whole_cdf, whole_log = unequal_prior.marginal_cdf(z), unequal_prior.component_log_prob(z)
    monkeypatch.setattr(priors_module, "_CHUNK_ELEMENTS", 3 * 4 * 5)  # 5 rows per chunk
    assert priors_module.max_chunk_rows(3, 4) == 5
    assert torch.allclose(unequal_prior.marginal_cdf(z), whole_cdf)
    assert torch.allclose(unequal_prior.component_log_prob(z), whole_log)
    # The hand-written backward is chunked the same way and still gives the marginal density.
    z.requires_grad_(True)
    unequal_prior.marginal_cdf(z).sum().backward()
    assert torch.allclose(z.grad, unequal_prior.marginal_pdf(z.detach()))
    monkeypatch.undo()
    assert torch.allclose(z.grad, unequal_prior.marginal_pdf(z.detach()))


def test_covariance_is_eq6_with_weighted_mean(unequal_prior: GMMPrior) -> None:
    p = unequal_prior.weights.numpy()
    mu = unequal_prior.means.numpy()
    sd = unequal_prior.stds.numpy()
    mu_bar = p @ mu
    expected = sum(p[k] * np.diag(sd[k] ** 2) + p[k] * np.outer(mu[k] - mu_bar, mu[k] - mu_bar) for k in range(3))
    assert np.allclose(unequal_prior.covariance().numpy(), expected)
    z, _ = unequal_prior.sample(200_000, generator=torch.Generator().manual_seed(4))
    assert np.allclose(np.cov(z.numpy().T), expected, atol=0.1)


def test_log_prob_and_responsibilities_match_scipy(unequal_prior: GMMPrior) -> None:
    z = torch.randn(30, 4, generator=torch.Generator().manual_seed(5), dtype=torch.float64) * 2.0
    per_component = np.stack(
        [
            np.log(unequal_prior.weights[k].item())
            + stats.multivariate_normal(unequal_prior.means[k].numpy(), np.diag(unequal_prior.stds[k].numpy() ** 2)).logpdf(z.numpy())
            for k in range(3)
        ],
        axis=1,
    )
    assert np.allclose(unequal_prior.log_prob(z).numpy(), logsumexp(per_component, axis=1))
    expected_resp = np.exp(per_component - logsumexp(per_component, axis=1, keepdims=True))
    assert np.allclose(unequal_prior.responsibilities(z).numpy(), expected_resp)
    assert torch.equal(unequal_prior.assign(z), torch.from_numpy(per_component.argmax(axis=1)))


def test_assign_recovers_components_of_prior_samples() -> None:
    prior = GMMPrior.sobol(10, 10)
    z, component = prior.sample(2000, generator=torch.Generator().manual_seed(6))
    assert (prior.assign(z) == component).float().mean().item() > 0.95


def test_sample_is_reproducible_and_follows_weights(unequal_prior: GMMPrior) -> None:
    a = unequal_prior.sample(5000, generator=torch.Generator().manual_seed(7))
    b = unequal_prior.sample(5000, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    counts = torch.bincount(a[1], minlength=3).double() / 5000
    assert torch.allclose(counts, unequal_prior.weights, atol=0.03)
    assert a[0].dtype == torch.float64


def test_sample_component_draws_from_that_component_only(unequal_prior: GMMPrior) -> None:
    for k in range(unequal_prior.n_components):
        z = unequal_prior.sample_component(4000, k, generator=torch.Generator().manual_seed(k))
        assert z.shape == (4000, unequal_prior.dim)
        assert torch.allclose(z.mean(0), unequal_prior.means[k], atol=4 * float(unequal_prior.stds[k].max()) / 4000**0.5)
        assert torch.allclose(z.std(0), unequal_prior.stds[k].expand(unequal_prior.dim), rtol=0.06)
    with pytest.raises(ConfigError, match="components 0..2"):
        unequal_prior.sample_component(3, 3)


def test_far_away_latents_stay_finite() -> None:
    prior = GMMPrior.sobol(6, 5)
    z = torch.tensor([[1e4] * 6, [-1e4] * 6, [1e4, -1e4, 0, 0, 3, 1e4]], requires_grad=True)
    cdf = prior.marginal_cdf(z)
    (cdf.sum() + prior.log_prob(z).sum()).backward()
    assert torch.isfinite(cdf).all() and torch.isfinite(z.grad).all()
    assert torch.isfinite(prior.log_prob(z)).all()
    resp = prior.responsibilities(z)
    assert torch.isfinite(resp).all() and torch.allclose(resp.sum(1), torch.ones(3))


def test_state_dict_round_trip_restores_a_different_prior() -> None:
    saved = GMMPrior(torch.randn(4, 3), torch.rand(4, 3) + 0.5, torch.tensor([1.0, 2.0, 3.0, 4.0]))
    fresh = GMMPrior.standard_normal(3)
    fresh.load_state_dict(saved.state_dict())
    assert fresh.n_components == 4
    for name in ("means", "stds", "weights"):
        assert torch.equal(getattr(fresh, name), getattr(saved, name))
    rebuilt = GMMPrior.from_state_dict({"p." + k: v for k, v in saved.state_dict().items()}, prefix="p.")
    assert torch.equal(rebuilt.means, saved.means)


def test_dict_round_trip_is_json_able(unequal_prior: GMMPrior) -> None:
    restored = GMMPrior.from_dict(json.loads(json.dumps(unequal_prior.to_dict())))
    assert restored.means.dtype == torch.float64
    assert torch.equal(restored.means, unequal_prior.means)
    assert torch.equal(restored.stds, unequal_prior.stds)
    assert torch.allclose(restored.weights, unequal_prior.weights)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"means": [[0.0, 0.0]], "stds": -1.0}, "stds"),
        ({"means": [[0.0, 0.0], [1.0, 1.0]], "weights": [1.0]}, "weights"),
        ({"means": [0.0, 1.0]}, "shape"),
        ({"means": [[0.0, 0.0], [1.0, 1.0]], "stds": [1.0, 1.0, 1.0]}, "stds"),
    ],
)
def test_invalid_parameters_are_config_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        GMMPrior(**kwargs)


def test_from_dict_names_the_missing_field() -> None:
    with pytest.raises(ConfigError, match="stds"):
        GMMPrior.from_dict({"means": [[0.0]], "weights": [1.0]})


def test_isotropic_per_component_stds_broadcast() -> None:
    prior = GMMPrior(torch.zeros(2, 3), torch.tensor([1.0, 2.0]))
    assert torch.equal(prior.stds, torch.tensor([[1.0] * 3, [2.0] * 3]))
