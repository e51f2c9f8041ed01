"""Gaussian-mixture latent priors (paper, Section 3.2, equations 5 and 6).

A :class:`GMMPrior` is a K-component mixture in R^d with diagonal covariances,

    p(z) = sum_k p_k N(z; mu_k, diag(sigma_k^2)),

and provides what the regularizer of :mod:`lsbo.regularizers` and the rest of the toolkit need:
samples, the marginal CDFs of every latent dimension (eq. 5), the mixture covariance by the law of
total variance (eq. 6), log-densities, component responsibilities and hard assignments (used for
clustering, paper Section 4.2).

The prior is an :class:`torch.nn.Module` whose parameters are *buffers* (means, stds, weights), so it
moves with ``.to(device)`` and is saved and restored with the ``state_dict`` of any model that holds
it. :meth:`GMMPrior.to_dict` / :meth:`GMMPrior.from_dict` give a JSON-able form.

Placement of the means (:meth:`GMMPrior.sobol`) follows the public reference implementation of the
paper (docs/protocols.md §1): K quasi-random Sobol points mapped to standard normals through the
inverse normal CDF, each normalised to unit length, then all scaled by 2 repeatedly until the
smallest pairwise distance reaches ``min_distance`` (6 by default).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from lsbo.errors import ConfigError

__all__ = ["GMMPrior", "sobol_means", "max_chunk_rows"]

# Largest number of elements of an intermediate (rows x K x d) tensor materialised at once; the
# evaluations below loop over row chunks so that memory stays bounded for large N * K * d.
_CHUNK_ELEMENTS = 1 << 22


def max_chunk_rows(n_components: int, dim: int, budget: int | None = None) -> int:
    """Rows of a batch that fit one (rows, K, d) intermediate tensor within ``budget`` elements."""
    budget = _CHUNK_ELEMENTS if budget is None else budget
    return max(1, budget // max(1, n_components * dim))


def sobol_means(
    dim: int,
    n_components: int,
    min_distance: float = 6.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> Tensor:
    """Mixture means placed as in the paper's reference implementation (docs/protocols.md §1).

    ``n_components`` scrambled Sobol points in (0, 1)^dim are mapped to standard normals with the
    inverse normal CDF (scrambling keeps the unscrambled sequence's first point, the origin, which
    maps to -inf, out of the set), normalised to unit length, and the whole set is doubled until the
    smallest pairwise distance is at least ``min_distance``. A single component sits at the origin,
    so ``sobol(d, 1)`` is the standard normal prior.
    """
    if dim < 1:
        raise ConfigError(f"prior dimension must be at least 1, got {dim}")
    if n_components < 1:
        raise ConfigError(f"number of mixture components must be at least 1, got {n_components}")
    if not (min_distance > 0 and math.isfinite(min_distance)):
        raise ConfigError(f"min_distance must be a positive number, got {min_distance}", parameter="min_distance")
    if n_components == 1:
        return torch.zeros(1, dim, dtype=dtype)
    engine = torch.quasirandom.SobolEngine(dimension=dim, scramble=True, seed=seed)
    uniform = engine.draw(n_components, dtype=torch.float64)
    # Clamp away from {0, 1}: the inverse CDF is infinite there.
    eps = torch.finfo(torch.float64).eps
    points = torch.special.ndtri(uniform.clamp(eps, 1.0 - eps))
    points = points / points.norm(dim=1, keepdim=True).clamp_min(eps)
    closest = torch.pdist(points).min().item()
    if closest <= 0.0:
        raise ConfigError(
            f"cannot place {n_components} distinct means in {dim} dimension(s) (two Sobol points coincide after normalisation)"
        )
    # Doubling preserves directions, so the number of doublings is known in closed form; the loop
    # keeps the reference's "multiply by 2 until" rule exact under floating point.
    while closest < min_distance:
        points = points * 2.0
        closest *= 2.0
    return points.to(dtype)


def _as_component_stds(stds: Tensor | float | Sequence[float], n_components: int, dim: int, like: Tensor) -> Tensor:
    """Broadcast a scalar, per-component (K,) or diagonal (K, d) std specification to (K, d)."""
    stds_t = torch.as_tensor(stds, dtype=like.dtype, device=like.device)
    if stds_t.dim() == 0:
        stds_t = stds_t.expand(n_components, dim)
    elif stds_t.dim() == 1 and stds_t.shape[0] == n_components:
        stds_t = stds_t[:, None].expand(n_components, dim)
    elif stds_t.shape != (n_components, dim):
        raise ConfigError(
            f"prior stds must be a scalar, shape ({n_components},) or ({n_components}, {dim}); got shape {tuple(stds_t.shape)}"
        )
    if not bool(torch.isfinite(stds_t).all()) or bool((stds_t <= 0).any()):
        raise ConfigError("prior stds must be finite and positive")
    return stds_t.clone().contiguous()


def _as_weights(weights: Tensor | Sequence[float] | None, n_components: int, like: Tensor) -> Tensor:
    """Mixture weights normalised to sum to one (equal weights when ``None``)."""
    if weights is None:
        return torch.full((n_components,), 1.0 / n_components, dtype=like.dtype, device=like.device)
    weights_t = torch.as_tensor(weights, dtype=like.dtype, device=like.device).flatten()
    if weights_t.shape[0] != n_components:
        raise ConfigError(f"prior weights must have {n_components} entries (one per mean), got {weights_t.shape[0]}")
    if not bool(torch.isfinite(weights_t).all()) or bool((weights_t <= 0).any()):
        raise ConfigError("prior weights must be finite and positive")
    return (weights_t / weights_t.sum()).contiguous()


class MixtureShape:
    """The sizes of a mixture that keeps its means as ``means`` (K, d)."""

    means: Tensor

    @property
    def dim(self) -> int:
        """Latent dimension d."""
        return int(self.means.shape[1])

    @property
    def n_components(self) -> int:
        """Number of mixture components K."""
        return int(self.means.shape[0])


class GMMPrior(MixtureShape, nn.Module):
    """A Gaussian mixture with diagonal covariances: the latent prior of the paper (Section 3.2).

    Args:
        means: (K, d) component means.
        stds: component standard deviations: a scalar (shared isotropic), (K,) (isotropic per
            component) or (K, d) (diagonal).
        weights: (K,) positive mixture weights, normalised to sum to one; equal when omitted.

    All three are stored as buffers with the dtype of ``means`` (floating point required).
    """

    means: Tensor
    stds: Tensor
    weights: Tensor

    def __init__(
        self,
        means: Tensor | Sequence[Sequence[float]],
        stds: Tensor | float | Sequence[float] = 1.0,
        weights: Tensor | Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        means_t = torch.as_tensor(means)
        if not means_t.is_floating_point():
            means_t = means_t.to(torch.get_default_dtype())
        if means_t.dim() != 2 or means_t.shape[0] < 1 or means_t.shape[1] < 1:
            raise ConfigError(f"prior means must have shape (K, d) with K, d >= 1; got shape {tuple(means_t.shape)}")
        if not bool(torch.isfinite(means_t).all()):
            raise ConfigError("prior means must be finite")
        n_components, dim = means_t.shape
        self.register_buffer("means", means_t.clone().contiguous())
        self.register_buffer("stds", _as_component_stds(stds, n_components, dim, means_t))
        self.register_buffer("weights", _as_weights(weights, n_components, means_t))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def sobol(
        cls,
        dim: int,
        n_components: int,
        min_distance: float = 6.0,
        std: float = 1.0,
        *,
        seed: int = 0,
        dtype: torch.dtype | None = None,
    ) -> "GMMPrior":
        """Equal-weight isotropic mixture with Sobol-placed means (see :func:`sobol_means`)."""
        means = sobol_means(dim, n_components, min_distance=min_distance, seed=seed)
        return cls(means.to(dtype or torch.get_default_dtype()), std)

    @classmethod
    def standard_normal(cls, dim: int, *, dtype: torch.dtype | None = None) -> "GMMPrior":
        """The one-component prior N(0, I) of the VAE family."""
        if dim < 1:
            raise ConfigError(f"prior dimension must be at least 1, got {dim}")
        return cls(torch.zeros(1, dim, dtype=dtype or torch.get_default_dtype()), 1.0)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "GMMPrior":
        """Inverse of :meth:`to_dict` (``ConfigError`` naming the missing or malformed field)."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"prior description must be a mapping with means/stds/weights, got {type(data).__name__}")
        for key in ("means", "stds", "weights"):
            if key not in data:
                raise ConfigError(f"prior description lacks the field {key!r}")
        try:
            means = torch.tensor(data["means"], dtype=torch.float64)
            stds = torch.tensor(data["stds"], dtype=torch.float64)
            weights = torch.tensor(data["weights"], dtype=torch.float64)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"prior description has non-numeric or ragged arrays: {err}") from None
        dtype = getattr(torch, str(data.get("dtype", "float32")).removeprefix("torch."), None)
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise ConfigError(f"prior description has an unknown dtype {data.get('dtype')!r}")
        return cls(means.to(dtype), stds.to(dtype), weights.to(dtype))

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Tensor], prefix: str = "") -> "GMMPrior":
        """Build a prior from (a prefixed part of) a ``state_dict`` holding its three buffers."""
        try:
            return cls(state[prefix + "means"], state[prefix + "stds"], state[prefix + "weights"])
        except KeyError as err:
            raise ConfigError(f"state dict lacks the prior buffer {err.args[0]!r}") from None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description (means, per-dimension stds, weights, dtype)."""
        return {
            "means": self.means.detach().cpu().tolist(),
            "stds": self.stds.detach().cpu().tolist(),
            "weights": self.weights.detach().cpu().tolist(),
            "dtype": str(self.means.dtype).removeprefix("torch."),
        }

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):  # type: ignore[override]
        # A saved prior may have a different number of components than the freshly constructed
        # one being loaded into (e.g. an explicit prior given at training time); take its shapes.
        for name in ("means", "stds", "weights"):
            key = prefix + name
            if key in state_dict and isinstance(state_dict[key], Tensor):
                current = getattr(self, name)
                if current.shape != state_dict[key].shape:
                    setattr(self, name, torch.empty_like(state_dict[key], dtype=current.dtype, device=current.device))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)

    # ------------------------------------------------------------------ shape (dim, n_components: MixtureShape)
    def extra_repr(self) -> str:
        return f"n_components={self.n_components}, dim={self.dim}"

    # ------------------------------------------------------------------ moments
    def mean(self) -> Tensor:
        """Mixture mean sum_k p_k mu_k, shape (d,)."""
        return self.weights @ self.means

    def covariance(self) -> Tensor:
        """Mixture covariance, eq. 6: sum_k p_k Sigma_k + sum_k p_k (mu_k - mu_bar)(mu_k - mu_bar)^T.

        ``mu_bar`` is the *weighted* mean sum_k p_k mu_k, which makes this the exact covariance of
        the mixture (law of total variance); the paper writes the unweighted mean, which is the same
        for the equal weights it uses.
        """
        centred = self.means - self.mean()
        between = (centred * self.weights[:, None]).T @ centred
        within = torch.diag(self.weights @ self.stds.square())
        return within + between

    # ------------------------------------------------------------------ marginals
    def marginal_cdf(self, z: Tensor) -> Tensor:
        """Marginal CDFs of every dimension at once, eq. 5: F_j(z) = sum_k p_k Phi((z_j - mu_kj) / sigma_kj).

        ``z`` has shape (N, d); the result too. On eq. 3/5: the paper divides by [Sigma]_jj, a
        variance; the CDF of N(mu, s^2) standardises by the *standard deviation* s, which is what is
        done here. The two agree for the paper's unit-variance components and differ otherwise.
        Evaluation is chunked over rows, with a hand-written backward that is chunked the same way,
        so memory stays bounded for large N * K * d. Far from every mean the CDF saturates at 0 or 1
        and its gradient underflows to exactly 0 (never NaN).
        """
        # Contiguous rows: a batch sorted along dim 0 comes back column-major, which makes the
        # broadcast (n, K, d) arithmetic below an order of magnitude slower.
        z = self._check_latents(z).contiguous()
        return _MixtureMarginalCDF.apply(z, self.means.to(z.dtype), self.stds.to(z.dtype), self.weights.to(z.dtype))

    def marginal_pdf(self, z: Tensor) -> Tensor:
        """Marginal densities of every dimension, shape (N, d) (the derivative of :meth:`marginal_cdf`)."""
        z = self._check_latents(z).contiguous()
        return _mixture_marginal_pdf(z, self.means.to(z.dtype), self.stds.to(z.dtype), self.weights.to(z.dtype))

    # ------------------------------------------------------------------ densities
    def component_log_prob(self, z: Tensor) -> Tensor:
        """log p_k + log N(z; mu_k, diag sigma_k^2) for every row and component, shape (N, K)."""
        z = self._check_latents(z).contiguous()
        means, stds = self.means.to(z.dtype), self.stds.to(z.dtype)
        log_norm = -0.5 * self.dim * math.log(2.0 * math.pi) - stds.log().sum(dim=1)  # (K,)
        log_weights = self.weights.to(z.dtype).log()
        rows = max_chunk_rows(self.n_components, self.dim)
        pieces = []
        for start in range(0, z.shape[0], rows):
            standardised = (z[start : start + rows, None, :] - means) / stds  # (n, K, d)
            pieces.append(-0.5 * standardised.square().sum(dim=-1) + log_norm + log_weights)
        if not pieces:
            return z.new_zeros(0, self.n_components)
        return torch.cat(pieces, dim=0)

    def log_prob(self, z: Tensor) -> Tensor:
        """Mixture log-density log p(z), shape (N,), by a log-sum-exp over components (finite far away)."""
        return torch.logsumexp(self.component_log_prob(z), dim=1)

    def responsibilities(self, z: Tensor) -> Tensor:
        """Posterior component probabilities p(k | z), shape (N, K), computed in log space."""
        return torch.softmax(self.component_log_prob(z), dim=1)

    def assign(self, z: Tensor) -> Tensor:
        """Most likely component of every row (the clustering of paper Section 4.2), shape (N,).

        A row with a NaN or infinite coordinate belongs to no component and gets -1 (an argmax over
        its NaN or all ``-inf`` log-probabilities would name component 0).
        """
        log_prob = self.component_log_prob(z)
        finite_rows = torch.isfinite(self._check_latents(z)).all(dim=1)
        return torch.where(finite_rows, log_prob.argmax(dim=1), torch.full_like(finite_rows, -1, dtype=torch.long))

    # ------------------------------------------------------------------ sampling
    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """Draw ``n`` points: returns ``(z (n, d), component (n,))`` on the prior's device.

        ``generator`` makes the draw reproducible; the random numbers are drawn on the generator's
        device (so a CPU generator gives the same draw whichever device the prior is on) and the
        result is moved to the prior's device.
        """
        if n < 0:
            raise ConfigError(f"number of samples must be non-negative, got {n}")
        if n == 0:
            return self.means.new_zeros(0, self.dim), torch.zeros(0, dtype=torch.long, device=self.means.device)
        draw_device = generator.device if generator is not None else self.means.device
        component = torch.multinomial(self.weights.to(draw_device), n, replacement=True, generator=generator)
        noise = torch.randn(n, self.dim, generator=generator, device=draw_device, dtype=self.means.dtype)
        component, noise = component.to(self.means.device), noise.to(self.means.device)
        return self.means[component] + self.stds[component] * noise, component

    def sample_component(self, n: int, component: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` points (n, d) from component ``component`` alone (the paper's Figure 3 rows).

        Drawn on the generator's device and moved to the prior's, as :meth:`sample`.
        """
        if not 0 <= component < self.n_components:
            raise ConfigError(f"component {component}: the prior has components 0..{self.n_components - 1}")
        if n < 0:
            raise ConfigError(f"number of samples must be non-negative, got {n}")
        draw_device = generator.device if generator is not None else self.means.device
        noise = torch.randn(n, self.dim, generator=generator, device=draw_device, dtype=self.means.dtype)
        return self.means[component] + self.stds[component] * noise.to(self.means.device)

    # ------------------------------------------------------------------ helpers
    def _check_latents(self, z: Tensor) -> Tensor:
        if z.dim() != 2 or z.shape[1] != self.dim:
            raise ValueError(f"expected latents of shape (N, {self.dim}), got {tuple(z.shape)}")
        if not z.is_floating_point():
            z = z.to(self.means.dtype)
        return z


def _mixture_marginal_cdf(z: Tensor, means: Tensor, stds: Tensor, weights: Tensor) -> Tensor:
    """sum_k w_k Phi((z_j - mu_kj) / s_kj) for (N, d) z, chunked over rows (no autograd graph kept)."""
    rows = max_chunk_rows(means.shape[0], means.shape[1])
    out = torch.empty_like(z)
    for start in range(0, z.shape[0], rows):
        standardised = (z[start : start + rows, None, :] - means) / stds  # (n, K, d)
        out[start : start + rows] = torch.einsum("k,nkd->nd", weights, torch.special.ndtr(standardised))
    return out


_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _mixture_marginal_pdf(z: Tensor, means: Tensor, stds: Tensor, weights: Tensor) -> Tensor:
    """sum_k w_k phi((z_j - mu_kj) / s_kj) / s_kj for (N, d) z, chunked over rows."""
    rows = max_chunk_rows(means.shape[0], means.shape[1])
    out = torch.empty_like(z)
    for start in range(0, z.shape[0], rows):
        standardised = (z[start : start + rows, None, :] - means) / stds
        # exp(-x^2/2) underflows to 0 far from the means: the density (and gradient) is 0, not NaN.
        density = torch.exp(-0.5 * standardised.square()) * _INV_SQRT_2PI / stds
        out[start : start + rows] = torch.einsum("k,nkd->nd", weights, density)
    return out


class _MixtureMarginalCDF(torch.autograd.Function):
    """Marginal mixture CDF with a row-chunked backward (gradient w.r.t. z only).

    Autograd through the plain expression would keep every (N, K, d) intermediate alive until the
    backward pass; this function keeps only ``z`` and recomputes the density chunk by chunk.
    """

    @staticmethod
    def forward(ctx: Any, z: Tensor, means: Tensor, stds: Tensor, weights: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(z, means, stds, weights)
        return _mixture_marginal_cdf(z, means, stds, weights)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, None, None, None]:  # type: ignore[override]
        z, means, stds, weights = ctx.saved_tensors
        grad_z = None
        if ctx.needs_input_grad[0]:
            grad_z = grad_output * _mixture_marginal_pdf(z, means, stds, weights)
        return grad_z, None, None, None
