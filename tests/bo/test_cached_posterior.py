"""The cached sparse-GP posterior against GPyTorch's own evaluation of the same fitted model."""

from __future__ import annotations

import pytest
import torch

from lsbo.bo.cached_posterior import CachedVariationalGP, acquisition_model
from lsbo.bo.surrogates import SparseTraining, SurrogateFit, WarmFitOptions, WarmSurrogate, fit_surrogate


def _data(n: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.sin(x[:, 0]) + x[:, 1] ** 2 + 0.05 * torch.randn(n, generator=g, dtype=torch.float64)
    return x, y


def _sparse_fit(seed: int = 0) -> SurrogateFit:
    x, y = _data(300, 3, seed)
    # few steps: the check is of the algebra, so a partly fitted S (not the identity) is what it needs
    return fit_surrogate(x, y, "sparse", n_inducing=25, seed=seed, sparse_training=SparseTraining(epochs=2, batch_size=100, min_steps=40))


def _assert_same_posterior(original: object, cached: CachedVariationalGP, inputs: torch.Tensor, noise: bool) -> None:
    with torch.no_grad():
        expected = original.posterior(inputs, observation_noise=noise)  # type: ignore[attr-defined]
        got = cached.posterior(inputs, observation_noise=noise)
    torch.testing.assert_close(got.mean, expected.mean, rtol=0, atol=1e-9)
    torch.testing.assert_close(got.distribution.covariance_matrix, expected.distribution.covariance_matrix, rtol=0, atol=1e-9)


@pytest.mark.parametrize("noise", [False, True])
def test_protocol_sparse_gp_posterior_is_gpytorchs_for_batched_joint_inputs(noise: bool) -> None:
    fit = _sparse_fit()
    cached = CachedVariationalGP(fit.model)
    # the shapes batch EI uses: raw samples x q points, restarts x q points, one point
    g = torch.Generator().manual_seed(1)
    for shape in ((16, 4, 3), (2, 7, 3), (1, 3)):
        _assert_same_posterior(fit.model, cached, torch.rand(*shape, generator=g, dtype=torch.float64), noise)


def test_turbo_sparse_gp_with_input_and_outcome_transforms() -> None:
    x, y = _data(300, 3, seed=2)
    bounds = torch.stack([x.min(0).values, x.max(0).values])
    surrogate = WarmSurrogate("sparse", n_inducing=25, options=WarmFitOptions(sparse_cold_steps=40, batch_size=100))
    model, _ = surrogate.fit(x, y, bounds, seed=0)
    cached = acquisition_model(model)
    assert isinstance(cached, CachedVariationalGP)
    # inputs in latent units (the model normalises them) and predictions in target units (it unstandardises)
    inputs = bounds[0] + (bounds[1] - bounds[0]) * torch.rand(8, 5, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    _assert_same_posterior(model, cached, inputs, noise=False)


def test_acquisition_values_and_gradients_match() -> None:
    """What L-BFGS sees: the same qLogEI value and gradient from both models, pending points included."""
    from botorch.acquisition.logei import qLogExpectedImprovement
    from botorch.sampling import SobolQMCNormalSampler

    fit = _sparse_fit(seed=4)
    pending = torch.rand(3, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    values, gradients = [], []
    for model in (fit.model, acquisition_model(fit.model)):
        acquisition = qLogExpectedImprovement(model, best_f=1.0, sampler=SobolQMCNormalSampler(torch.Size([64]), seed=0), X_pending=pending)
        points = torch.rand(6, 2, 3, generator=torch.Generator().manual_seed(6), dtype=torch.float64).requires_grad_(True)
        value = acquisition(points)
        value.sum().backward()
        values.append(value.detach())
        gradients.append(points.grad)
    torch.testing.assert_close(values[1], values[0], rtol=0, atol=1e-8)
    torch.testing.assert_close(gradients[1], gradients[0], rtol=1e-6, atol=1e-8)


def test_other_models_pass_through_and_wrong_models_are_refused() -> None:
    x, y = _data(40, 2, seed=7)
    exact = fit_surrogate(x, y, "exact", seed=0).model
    assert acquisition_model(exact) is exact
    with pytest.raises(TypeError, match="fitted"):
        CachedVariationalGP(exact)
