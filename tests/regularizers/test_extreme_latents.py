"""Issue 16, item 10: the covariance loss stays finite for latents of 1e18-1e30 (its value is of the
order of the latents to the fourth power, beyond float32), and the prior does not assign a NaN code
to a component."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lsbo.priors import GMMPrior
from lsbo.regularizers import covariance_loss


def direct_float64(z: np.ndarray, prior: GMMPrior) -> float:
    """Eq. 8 straight from its definition in NumPy float64: mean((cov(z) - Sigma_GMM)^2)."""
    difference = np.cov(z, rowvar=False, ddof=1) - prior.covariance().double().numpy()
    return float(np.mean(difference**2))


@pytest.mark.parametrize("scale", [1.0, 1e6, 1e18, 1e24, 1e30])
def test_covariance_loss_is_finite_and_exact_for_huge_float32_latents(scale: float) -> None:
    prior = GMMPrior.sobol(6, 4)
    z = torch.randn(50, 6, generator=torch.Generator().manual_seed(7)) * scale  # float32, as a model emits
    assert torch.isfinite(z).all()
    value = covariance_loss(z, prior)
    assert value.dtype == torch.float64 and torch.isfinite(value)
    assert float(value) == pytest.approx(direct_float64(z.double().numpy(), prior), rel=1e-9)


def test_covariance_loss_keeps_its_gradient_for_far_latents() -> None:
    prior = GMMPrior.sobol(6, 4)
    z = (torch.randn(50, 6, generator=torch.Generator().manual_seed(8)) * 1e3).requires_grad_(True)
    covariance_loss(z, prior).backward()
    assert z.grad.dtype == torch.float32 and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0


def test_assign_gives_minus_one_for_non_finite_rows() -> None:
    prior = GMMPrior.sobol(3, 5)
    z, _component = prior.sample(6, generator=torch.Generator().manual_seed(0))
    z[1, 0] = float("nan")
    z[4] = float("inf")
    z[5, 2] = float("-inf")
    assigned = prior.assign(z)
    assert assigned[[1, 4, 5]].tolist() == [-1, -1, -1]
    finite = [0, 2, 3]
    assert assigned[finite].tolist() == prior.component_log_prob(z[finite]).argmax(dim=1).tolist()

