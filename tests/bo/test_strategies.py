"""The strategy interface, the TuRBO trust region and the warm-started surrogates."""

from __future__ import annotations

import math

import pytest
import torch

from lsbo.bo.strategies import (
    STRATEGY_NAMES,
    Observations,
    ProtocolStrategy,
    build_strategy,
    check_strategy,
    distinct_argmax,
    local_subset,
)
from lsbo.bo.surrogates import WarmFitOptions, WarmSurrogate, prediction_rmse
from lsbo.bo.trust_region import TrustRegion, perturbation_candidates, region_bounds, update_trust_region
from lsbo.errors import ConfigError

# -- trust region ------------------------------------------------------------------------------


def test_trust_region_grows_after_successes() -> None:
    region = TrustRegion(dim=4, batch_size=10, length=0.4, best_value=1.0)
    for step in range(region.success_tolerance):
        assert region.length == 0.4
        region = update_trust_region(region, 2.0 + step)
    assert region.length == pytest.approx(0.8) and region.success_counter == 0 and region.best_value == 4.0
    # capped at length_max
    for step in range(10 * region.success_tolerance):
        region = update_trust_region(region, 10.0 + step)
    assert region.length == region.length_max


def test_trust_region_shrinks_after_failures_and_restarts_when_collapsed() -> None:
    region = TrustRegion(dim=20, batch_size=5, best_value=1.0)
    assert region.failure_tolerance == math.ceil(max(4 / 5, 20 / 5))  # TuRBO's rule
    for _ in range(region.failure_tolerance - 1):
        region = update_trust_region(region, 1.0)  # equal is not an improvement
    assert region.length == 0.8 and region.failure_counter == region.failure_tolerance - 1
    region = update_trust_region(region, -math.inf)  # a batch without a valid point is a failure
    assert region.length == pytest.approx(0.4) and region.failure_counter == 0
    halvings = 0
    while region.n_restarts == 0:
        for _ in range(region.failure_tolerance):
            region = update_trust_region(region, 0.5)
        halvings += 1
    # 0.8 / 2**k < 0.5**7 first at k = 7; then the region restarts at its initial length, best kept
    assert halvings + 1 == 7
    assert region.length == region.length_init and region.best_value == 1.0 and region.failure_counter == 0


def test_a_small_improvement_is_not_a_success() -> None:
    region = TrustRegion(dim=2, batch_size=1, best_value=100.0)
    assert update_trust_region(region, 100.05).success_counter == 0  # < 1e-3 relative
    assert update_trust_region(region, 100.2).success_counter == 1


def test_region_bounds_follow_lengthscales_and_stay_in_the_cube() -> None:
    center = torch.tensor([0.5, 0.5, 0.95], dtype=torch.float64)
    scales = torch.tensor([1.0, 2.0, 1.0], dtype=torch.float64)
    bounds = region_bounds(center, 0.4, scales)
    weights = scales / scales.prod() ** (1 / 3)
    expected_half = weights * 0.2
    assert torch.allclose(bounds[1, :2] - center[:2], expected_half[:2])
    assert bounds[1, 2] == 1.0 and bounds[0].min() >= 0.0
    candidates = perturbation_candidates(center, bounds, 500, seed=0)
    assert ((candidates >= bounds[0]) & (candidates <= bounds[1])).all()
    assert ((candidates != center).any(dim=1)).all()  # every candidate perturbs some coordinate


def test_distinct_argmax_and_local_subset() -> None:
    values = torch.tensor([[0.0, 5.0, 1.0], [0.0, 9.0, 3.0], [7.0, 8.0, 2.0]])
    assert distinct_argmax(values).tolist() == [1, 2, 0]
    u = torch.tensor([[0.5, 0.5], [0.9, 0.9], [0.52, 0.5], [0.0, 0.0]])
    y = torch.tensor([0.0, 0.0, 0.0, 9.0])
    chosen = local_subset(u, y, u[0], torch.ones(2), n_near=2, n_best=1)
    assert sorted(chosen.tolist()) == [0, 2, 3]


# -- registry ----------------------------------------------------------------------------------


def test_registry_and_acquisition_checks() -> None:
    assert STRATEGY_NAMES == ("protocol", "turbo")
    assert check_strategy("turbo") == "ts" and check_strategy("protocol") == "qlogei"
    with pytest.raises(ConfigError, match="^strategy 'tubro'") as caught:
        check_strategy("tubro")
    assert caught.value.parameter == "strategy"
    with pytest.raises(ConfigError, match="^acquisition.name 'ts' with strategy protocol") as caught:
        build_strategy("protocol", acquisition="ts")
    assert caught.value.parameter == ("acquisition.name", "strategy")
    with pytest.raises(ConfigError, match="^surrogate 'global'"):
        build_strategy("turbo", surrogate="global")


def _quadratic(x: torch.Tensor) -> torch.Tensor:
    return -((x - 0.3) ** 2).sum(-1)


@pytest.mark.parametrize("acquisition", ["ts", "qlogei"])
def test_turbo_proposes_inside_its_region_and_replays_its_state(single_torch_thread: None, acquisition: str) -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(120, 4, generator=generator, dtype=torch.float64) * 2 - 1
    y = _quadratic(x)
    bounds = torch.stack([-torch.ones(4), torch.ones(4)]).to(torch.float64)
    options = dict(acquisition=acquisition, surrogate="local", local_points=80, local_best=10, batch_size=5, n_candidates=300,
                   fit_options=WarmFitOptions(exact_cold_iterations=30, exact_warm_iterations=10))
    strategy = build_strategy("turbo", **options)
    strategy.start(Observations(x, y, bounds))
    batches = []
    for iteration in range(3):
        proposal = strategy.propose(Observations(x, y, bounds), 5, seed=iteration)
        assert proposal.latents.shape == (5, 4) and len(torch.unique(proposal.latents, dim=0)) == 5
        # inside the box, and inside the region of side <= length * max weight around the best point
        assert ((proposal.latents >= -1) & (proposal.latents <= 1)).all()
        assert proposal.metrics["warm_started"] == (iteration > 0)
        new_y = _quadratic(proposal.latents)
        strategy.observe(proposal.latents, new_y)
        batches.append((proposal.latents, new_y))
        x, y = torch.cat([x, proposal.latents]), torch.cat([y, new_y])
    replayed = build_strategy("turbo", **options)
    replayed.start(Observations(x[:120], y[:120], bounds))
    for latents, new_y in batches:
        replayed.observe(latents, new_y)
    assert replayed.state() == strategy.state()


def test_protocol_strategy_is_the_protocol_fit_and_acquisition(single_torch_thread: None) -> None:
    from lsbo.bo.acquisition import AcquisitionOptions, propose_batch
    from lsbo.bo.surrogates import fit_surrogate

    generator = torch.Generator().manual_seed(1)
    x = torch.rand(40, 3, generator=generator, dtype=torch.float64)
    y = _quadratic(x)
    bounds = torch.stack([torch.zeros(3), torch.ones(3)]).to(torch.float64)
    small = AcquisitionOptions(num_restarts=1, raw_samples=16, mc_samples=16, max_iterations=5)
    proposal = ProtocolStrategy(acquisition="qlogei", acquisition_options=small).propose(Observations(x, y, bounds), 2, seed=3)
    fit = fit_surrogate(x, y, "auto", bounds=bounds, seed=3)
    direct = propose_batch(fit, float(y.max()), 2, small, seed=3)
    assert torch.equal(proposal.latents, direct)


# -- warm-started surrogates -------------------------------------------------------------------


def _synthetic(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 5, generator=generator, dtype=torch.float64) * 2 - 1
    clean = torch.sin(3 * x[:, 0]) + torch.cos(2 * x[:, 1]) * x[:, 2] + 0.5 * x[:, 3:].sum(-1)
    return x, clean + 0.05 * torch.randn(n, generator=generator, dtype=torch.float64), clean


@pytest.mark.parametrize("kind", ["exact", "sparse"])
def test_warm_started_fit_matches_cold_fit_heldout_rmse(single_torch_thread: None, kind: str) -> None:
    """A refit after adding points, warm-started with a fifth of the optimiser budget, reaches the
    held-out RMSE of a cold fit with the full budget within 5%."""
    x, y, clean = _synthetic(420, seed=0)
    bounds = torch.stack([-torch.ones(5), torch.ones(5)]).to(torch.float64)
    options = WarmFitOptions(exact_cold_iterations=100, exact_warm_iterations=20, sparse_cold_steps=400, sparse_warm_steps=80,
                             batch_size=128)
    test_x, test_clean = x[320:], clean[320:]
    warm = WarmSurrogate(kind, n_inducing=48, options=options)
    warm.fit(x[:260], y[:260], bounds, seed=1)
    warm_model, warm_metrics = warm.fit(x[:320], y[:320], bounds, seed=2)
    cold_model, cold_metrics = WarmSurrogate(kind, n_inducing=48, options=options, warm=False).fit(x[:320], y[:320], bounds, seed=2)
    assert warm_metrics["warm_started"] and not cold_metrics["warm_started"]
    assert warm_metrics["optimizer_budget"] * 5 == cold_metrics["optimizer_budget"]
    warm_rmse, cold_rmse = prediction_rmse(warm_model, test_x, test_clean), prediction_rmse(cold_model, test_x, test_clean)
    assert cold_rmse < 0.5  # the fit learnt the function (its standard deviation is about 0.9)
    assert warm_rmse <= 1.05 * cold_rmse, (warm_rmse, cold_rmse)


def test_pathwise_thompson_sampling_picks_distinct_candidates_near_the_optimum(single_torch_thread: None) -> None:
    from lsbo.bo.strategies import PATHWISE_ABOVE, thompson_batch

    x, y, _ = _synthetic(150, seed=3)
    y = _quadratic(x)
    bounds = torch.stack([-torch.ones(5), torch.ones(5)]).to(torch.float64)
    model, _ = WarmSurrogate("exact", options=WarmFitOptions(exact_cold_iterations=30)).fit(x, y, bounds, seed=0)
    candidates = torch.rand(PATHWISE_ABOVE + 200, 5, generator=torch.Generator().manual_seed(4), dtype=torch.float64) * 2 - 1
    chosen = thompson_batch(model, candidates, 8, seed=0)
    assert chosen.shape == (8, 5) and len(torch.unique(chosen, dim=0)) == 8
    assert all((candidates == row).all(dim=1).any() for row in chosen)
    # posterior samples of a well-fitted quadratic prefer candidates far better than a typical one
    assert _quadratic(chosen).mean() > torch.quantile(_quadratic(candidates), 0.9)
