"""Latent regularization losses as pure functions.

The paper's terms (Section 3):

* :func:`ks_loss` -- eq. 7 (eq. 3 for one component): per latent dimension, the batch is sorted,
  the empirical CDF at the i-th smallest value is i/N (eq. 2), the prior's marginal CDF there is
  eq. 5; the loss is the mean squared difference, averaged over dimensions.
* :func:`covariance_loss` -- eq. 8 (eq. 4): mean over the d*d entries of the squared difference
  between the batch covariance and the prior covariance of eq. 6.
* :func:`estimate_weights` -- eq. 10: lambda^-1 is the mean of each loss over M batches of N prior
  samples, N being the training batch size, so that both weighted terms are about 1 at a match.
* :func:`reconstruction_weight_from_ae` -- the Section 3.3 heuristic for lambda_REC.

And the baselines' terms: the Gaussian KL of the VAE family and the MMD of the Wasserstein
autoencoder with the inverse multiquadric kernel (Tolstikhin et al., 2018).

Every loss is evaluated in at least float32 (half-precision inputs under autocast are promoted),
and stays finite -- value and gradient -- for latents far from every mean. The covariance loss,
which grows with the fourth power of the latents, is evaluated in float64 so that its value stays
finite for latents up to about 1e70.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple, TypeVar, cast

import torch
from torch import Tensor

from lsbo.errors import ConfigError
from lsbo.priors import GMMPrior

__all__ = [
    "LossWeights",
    "covariance_loss",
    "empirical_covariance",
    "estimate_weights",
    "gaussian_kl",
    "imq_mmd",
    "ks_loss",
    "reconstruction_weight_from_ae",
    "WAE_IMQ_SCALES",
]

# Kernel scales of the WAE-MMD penalty: the IMQ kernel is summed over C = s * 2 d sigma^2 for these s.
WAE_IMQ_SCALES: tuple[float, ...] = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


_Loss = TypeVar("_Loss", bound=Callable[..., Tensor])


def _without_autocast(loss: _Loss) -> _Loss:
    """Run a loss outside any autocast region.

    Under mixed precision, matmuls would silently go back to float16, where a covariance of codes
    of size 1e3 already overflows (float16 max 65504); these losses are cheap next to the networks.
    """

    @functools.wraps(loss)
    def wrapper(*args: object, **kwargs: object) -> Tensor:
        first = next((a for a in args if isinstance(a, Tensor)), None)
        device_type = first.device.type if first is not None else "cpu"
        if device_type in ("cuda", "cpu") and torch.is_autocast_enabled(device_type):
            with torch.autocast(device_type=device_type, enabled=False):
                return loss(*args, **kwargs)
        return loss(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _at_least_float32(z: Tensor) -> Tensor:
    """Promote half-precision latents: sorting-based CDF differences of order 1/N need float32."""
    if z.dtype in (torch.float16, torch.bfloat16) or not z.is_floating_point():
        return z.float()
    return z


def _check_batch(z: Tensor, prior: GMMPrior | None = None, minimum: int = 1) -> None:
    if z.dim() != 2:
        raise ValueError(f"expected a batch of latents of shape (N, d), got shape {tuple(z.shape)}")
    if prior is not None and z.shape[1] != prior.dim:
        raise ValueError(f"latents have {z.shape[1]} dimensions but the prior has {prior.dim}")
    if z.shape[0] < minimum:
        raise ValueError(f"the loss needs a batch of at least {minimum} latents, got {z.shape[0]}")


@_without_autocast
def ks_loss(z: Tensor, prior: GMMPrior) -> Tensor:
    """Smoothed Kolmogorov-Smirnov loss of eq. 7 (a scalar).

    (1/d) sum_j (1/N) sum_i (i/N - F_j(z_(i)j))^2, where z_(i)j is the i-th smallest value of
    dimension j in the batch and F_j the prior's marginal CDF (eq. 5). Gradients reach every
    latent through the sorted values.
    """
    _check_batch(z, prior)
    z = _at_least_float32(z)
    n = z.shape[0]
    sorted_z = torch.sort(z, dim=0).values
    empirical = torch.arange(1, n + 1, device=z.device, dtype=z.dtype) / n
    return (prior.marginal_cdf(sorted_z) - empirical[:, None]).square().mean()


def empirical_covariance(z: Tensor) -> Tensor:
    """Unbiased (divide by N - 1) covariance of the rows of ``z``, shape (d, d)."""
    _check_batch(z, minimum=2)
    centred = z - z.mean(dim=0, keepdim=True)
    return centred.T @ centred / (z.shape[0] - 1)


@_without_autocast
def covariance_loss(z: Tensor, prior: GMMPrior) -> Tensor:
    """Covariance-matching loss of eq. 8 (a scalar): mean over d*d entries of (cov(z) - Sigma_GMM)^2.

    The batch covariance is the unbiased estimate (N - 1 in the denominator), so that its
    expectation under the prior is exactly Sigma_GMM of eq. 6.

    The loss grows with the fourth power of the latents, so it is evaluated and returned in float64:
    latents of 1e10 already give a value beyond float32's range, while float64 holds it for latents
    up to about 1e70. (The gradient comes back in the latents' dtype; for float32 latents beyond about
    1e12 it overflows, which the trainer's gradient clipping and divergence check then meet.)
    """
    _check_batch(z, prior, minimum=2)
    z = z.double()
    target = prior.covariance().to(device=z.device, dtype=z.dtype)
    return (empirical_covariance(z) - target).square().mean()


class LossWeights(NamedTuple):
    """Eq. 10 weights: the inverse mean of each loss over batches drawn from the prior."""

    ks: float
    cv: float


@torch.no_grad()
def estimate_weights(
    prior: GMMPrior,
    batch_size: int,
    n_batches: int = 100,
    generator: torch.Generator | None = None,
) -> LossWeights:
    """lambda_KS and lambda_CV of eq. 10 for training batches of ``batch_size`` latents.

    ``n_batches`` (M) batches of ``batch_size`` (N) samples are drawn from the prior (with
    ``generator``, on the prior's device, when given); each weight is one over the mean loss.
    """
    if batch_size < 2:
        raise ConfigError(f"batch size must be at least 2 to estimate the eq. 10 weights, got {batch_size}")
    if n_batches < 1:
        raise ConfigError(f"number of batches for the eq. 10 weights must be at least 1, got {n_batches}")
    ks_total = 0.0
    cv_total = 0.0
    for _ in range(n_batches):
        z, _component = prior.sample(batch_size, generator=generator)
        ks_total += float(ks_loss(z, prior))
        cv_total += float(covariance_loss(z, prior))
    ks_mean, cv_mean = ks_total / n_batches, cv_total / n_batches
    tiny = torch.finfo(torch.float64).tiny
    return LossWeights(ks=1.0 / max(ks_mean, tiny), cv=1.0 / max(cv_mean, tiny))


def reconstruction_weight_from_ae(best_reconstruction_loss: float) -> float:
    """lambda_REC of Section 3.3: the inverse of the best reconstruction loss of a plain autoencoder.

    With it the weighted reconstruction term is about 1 at that quality, like the eq. 10 terms.
    """
    value = float(best_reconstruction_loss)
    if not math.isfinite(value) or value <= 0.0:
        raise ConfigError(
            f"the best reconstruction loss of the reference autoencoder must be positive and finite, got {best_reconstruction_loss}"
        )
    return 1.0 / value


@_without_autocast
def gaussian_kl(mean: Tensor, log_variance: Tensor) -> Tensor:
    """KL(N(mean, diag exp(log_variance)) || N(0, I)), summed over dimensions, averaged over the batch."""
    mean, log_variance = _at_least_float32(mean), _at_least_float32(log_variance)
    per_dim = 0.5 * (mean.square() + log_variance.exp() - 1.0 - log_variance)
    return per_dim.sum(dim=1).mean()


def _squared_distances(a: Tensor, b: Tensor) -> Tensor:
    """Pairwise squared Euclidean distances (|a|^2 + |b|^2 - 2ab, clamped at 0: no sqrt, no NaN gradient)."""
    return (a.square().sum(1)[:, None] + b.square().sum(1)[None, :] - 2.0 * a @ b.T).clamp_min(0.0)


@_without_autocast
def imq_mmd(
    z: Tensor,
    reference: Tensor,
    prior_variance: float = 1.0,
    scales: Sequence[float] = WAE_IMQ_SCALES,
) -> Tensor:
    """Unbiased MMD^2 estimate between ``z`` and ``reference`` samples with inverse multiquadric kernels.

    k_C(x, y) = C / (C + |x - y|^2) with C = s * 2 d sigma^2 for each scale s, summed over scales
    (Wasserstein autoencoders, Tolstikhin et al., 2018). Self-similarities are left out of the
    within-sample means, which makes the estimate unbiased.
    """
    _check_batch(z, minimum=2)
    _check_batch(reference, minimum=2)
    z, reference = _at_least_float32(z), _at_least_float32(reference).to(z.dtype)
    n, m, dim = z.shape[0], reference.shape[0], z.shape[1]
    d_zz, d_rr, d_zr = _squared_distances(z, z), _squared_distances(reference, reference), _squared_distances(z, reference)
    base = 2.0 * dim * prior_variance

    def kernel(squared: Tensor) -> Tensor:
        return cast(Tensor, sum((base * s) / (base * s + squared) for s in scales))

    k_zz, k_rr = kernel(d_zz), kernel(d_rr)
    # Within-sample means leave the diagonal (self-similarity, always len(scales)) out.
    within_z = (k_zz.sum() - k_zz.diagonal().sum()) / (n * (n - 1))
    within_r = (k_rr.sum() - k_rr.diagonal().sum()) / (m * (m - 1))
    total = within_z + within_r - 2.0 * kernel(d_zr).mean()
    return total
