"""Ex-post density estimation on learned latents (Ghosh et al., 2020; paper Section 4.1, "GMM" column).

After training, a Gaussian mixture is fitted to the latent codes of the training data with
scikit-learn's EM implementation; sampling from it (instead of the prior) is the "GMM" sampling of
Table 1. Sampling itself is done in torch, on the device and in the dtype of the fitted latents,
so that a ``torch.Generator`` makes it reproducible like every other draw in lsbo.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from lsbo.errors import ConfigError
from lsbo.priors import MixtureShape

__all__ = ["ExPostGMM", "fit_ex_post_gmm"]

_COVARIANCE_TYPES = ("full", "diag", "spherical", "tied")


class ExPostGMM(MixtureShape):
    """A fitted Gaussian mixture with full covariances: ``sample``, ``log_prob``, ``to_dict``.

    Attributes:
        weights: (K,) mixture weights.
        means: (K, d) component means.
        covariances: (K, d, d) component covariances.
    """

    def __init__(self, weights: Tensor, means: Tensor, covariances: Tensor) -> None:
        self.weights = weights
        self.means = means
        self.covariances = covariances
        self._cholesky = torch.linalg.cholesky(covariances)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` draws, shape (n, d), on the device of the fitted latents.

        Random numbers are drawn on ``generator``'s device (when given) and moved, so one CPU
        generator reproduces the same draw wherever the mixture lives.
        """
        draw_device = generator.device if generator is not None else self.means.device
        component = torch.multinomial(self.weights.to(draw_device), n, replacement=True, generator=generator)
        noise = torch.randn(n, self.dim, 1, generator=generator, device=draw_device, dtype=self.means.dtype)
        component, noise = component.to(self.means.device), noise.to(self.means.device)
        return self.means[component] + (self._cholesky[component] @ noise).squeeze(-1)

    def log_prob(self, z: Tensor) -> Tensor:
        """Mixture log-density, shape (N,)."""
        dist = torch.distributions.MultivariateNormal(self.means, scale_tril=self._cholesky)
        per_component = dist.log_prob(z.to(self.means.dtype)[:, None, :]) + self.weights.log()
        return torch.logsumexp(per_component, dim=1)

    def to(self, device: torch.device | str) -> "ExPostGMM":
        return ExPostGMM(self.weights.to(device), self.means.to(device), self.covariances.to(device))

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights": self.weights.cpu().tolist(),
            "means": self.means.cpu().tolist(),
            "covariances": self.covariances.cpu().tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ExPostGMM":
        try:
            return cls(
                torch.tensor(data["weights"]), torch.tensor(data["means"]), torch.tensor(data["covariances"])
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ConfigError(f"malformed ex-post GMM description: {err}") from None


def _full_covariances(covariances: np.ndarray, covariance_type: str, n_components: int, dim: int) -> np.ndarray:
    """scikit-learn's per-type covariance arrays as (K, d, d) matrices."""
    if covariance_type == "full":
        return covariances
    if covariance_type == "tied":
        return np.broadcast_to(covariances, (n_components, dim, dim)).copy()
    if covariance_type == "diag":
        return np.stack([np.diag(row) for row in covariances])
    return np.stack([np.eye(dim) * value for value in covariances])  # spherical


def fit_ex_post_gmm(
    latents: Tensor,
    n_components: int = 10,
    *,
    covariance_type: str = "full",
    seed: int = 0,
    max_iter: int = 200,
    reg_covar: float = 1e-6,
) -> ExPostGMM:
    """Fit a ``n_components`` Gaussian mixture to ``latents`` (N, d) by EM (scikit-learn).

    The result lives on the device and in the dtype of ``latents``.
    """
    from sklearn.mixture import GaussianMixture

    if covariance_type not in _COVARIANCE_TYPES:
        raise ConfigError(f"covariance type {covariance_type!r} is not one of {', '.join(_COVARIANCE_TYPES)}")
    if latents.dim() != 2:
        raise ConfigError(f"ex-post density needs latents of shape (N, d), got {tuple(latents.shape)}")
    n, dim = latents.shape
    if n_components < 1 or n < max(2, n_components):
        raise ConfigError(f"cannot fit {n_components} mixture components to {n} latent codes")
    data = latents.detach().to("cpu", torch.float64).numpy()
    if not np.isfinite(data).all():
        raise ConfigError("ex-post density: the latent codes contain NaN or infinite values")
    mixture = GaussianMixture(
        n_components=n_components,
        covariance_type=covariance_type,
        random_state=seed,
        max_iter=max_iter,
        reg_covar=reg_covar,
    ).fit(data)
    covariances = _full_covariances(mixture.covariances_, covariance_type, n_components, dim)
    dtype = latents.dtype if latents.is_floating_point() else torch.get_default_dtype()

    def tensor(array: np.ndarray) -> Tensor:
        return torch.as_tensor(np.ascontiguousarray(array), dtype=torch.float64).to(device=latents.device, dtype=dtype)

    return ExPostGMM(tensor(mixture.weights_), tensor(mixture.means_), tensor(covariances))
