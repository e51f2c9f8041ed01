"""The TuRBO trust region (Eriksson et al., 2019) in the unit cube of the latent search box.

A trust region is a box centred on the best point found so far whose side lengths are
``length`` times the GP's ARD lengthscales (rescaled to geometric mean one), clipped to the unit
cube. After each batch, :func:`update_trust_region` counts a *success* when the batch improved the
best value by more than a relative ``1e-3``, a *failure* otherwise; ``success_tolerance``
consecutive successes double ``length`` (up to ``length_max``), ``failure_tolerance`` consecutive
failures halve it, and a region shorter than ``length_min`` has collapsed and restarts at
``length_init``. As in latent-space TuRBO (LOL-BO, Maus et al., 2022) a restart keeps the data and
re-centres on the best point, instead of TuRBO's fresh initial design: in a latent space the
encoded training set *is* the initial design.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import Tensor

from lsbo.errors import ConfigError

#: A batch is a success when it beats the best value by more than this fraction of its magnitude.
RELATIVE_IMPROVEMENT = 1e-3


@dataclass(frozen=True)
class TrustRegion:
    """Side-length state of one trust region (TuRBO's defaults: 0.8, 0.5**7, 1.6, 3 successes)."""

    dim: int
    batch_size: int
    length: float = 0.8
    length_init: float = 0.8
    length_min: float = 0.5**7
    length_max: float = 1.6
    success_tolerance: int = 3
    failure_tolerance: int | None = None  # None: TuRBO's ceil(max(4 / q, d / q))
    success_counter: int = 0
    failure_counter: int = 0
    best_value: float = -math.inf
    n_restarts: int = 0

    def __post_init__(self) -> None:
        if self.dim < 1 or self.batch_size < 1:
            raise ConfigError(f"trust region: dim and batch_size must be at least 1, got {self.dim} and {self.batch_size}")
        if not 0 < self.length_min < self.length_init <= self.length_max:
            raise ConfigError(
                f"trust region: need 0 < length_min < length_init <= length_max, got {self.length_min}, {self.length_init}, {self.length_max}"
            )
        if self.failure_tolerance is None:
            object.__setattr__(self, "failure_tolerance", math.ceil(max(4.0 / self.batch_size, self.dim / self.batch_size)))

    def as_dict(self) -> dict[str, float | int]:
        return {
            "tr_length": self.length, "tr_successes": self.success_counter, "tr_failures": self.failure_counter,
            "tr_restarts": self.n_restarts, "tr_best": self.best_value,
        }


def is_improvement(batch_best: float, best_value: float) -> bool:
    """Whether ``batch_best`` beats ``best_value`` by more than :data:`RELATIVE_IMPROVEMENT` (maximisation)."""
    if math.isinf(best_value):
        return batch_best > best_value
    return batch_best > best_value + RELATIVE_IMPROVEMENT * abs(best_value)


def update_trust_region(region: TrustRegion, batch_best: float) -> TrustRegion:
    """The region after a batch whose best (maximisation) target is ``batch_best`` (``-inf``: no valid point).

    Returns a new :class:`TrustRegion`; the input is not modified.
    """
    success = is_improvement(batch_best, region.best_value)
    successes = region.success_counter + 1 if success else 0
    failures = 0 if success else region.failure_counter + 1
    length = region.length
    if successes >= region.success_tolerance:
        length, successes = min(2.0 * length, region.length_max), 0
    elif failures >= region.failure_tolerance:  # type: ignore[operator]
        length, failures = length / 2.0, 0
    best = max(region.best_value, batch_best)
    if length < region.length_min:  # collapsed: restart around the best point
        return replace(region, length=region.length_init, success_counter=0, failure_counter=0, best_value=best,
                       n_restarts=region.n_restarts + 1)
    return replace(region, length=length, success_counter=successes, failure_counter=failures, best_value=best)


def region_bounds(center: Tensor, length: float, lengthscales: Tensor | None) -> Tensor:
    """(2, d) bounds in the unit cube of the box with side ``length * w_i`` around ``center`` (d,).

    ``w`` are the lengthscales divided by their geometric mean (all ones without lengthscales), so
    the region's volume is ``length ** d`` before clipping and it is long where the GP varies slowly.
    """
    if lengthscales is None:
        weights = torch.ones_like(center)
    else:
        scales = lengthscales.reshape(-1).to(center)
        weights = scales / torch.exp(torch.log(scales).mean())
    half = weights * length / 2.0
    return torch.stack([(center - half).clamp(0.0, 1.0), (center + half).clamp(0.0, 1.0)])


def lengthscales_of(model: object) -> Tensor | None:
    """The ARD lengthscales (d,) of the first kernel in ``model`` that has them, or ``None``."""
    for module in model.modules():  # type: ignore[attr-defined]
        scales = getattr(module, "lengthscale", None)
        if isinstance(scales, Tensor) and scales.numel() > 1:
            return scales.detach().reshape(-1)
    return None


def perturbation_candidates(center: Tensor, bounds: Tensor, n: int, *, seed: int) -> Tensor:
    """``n`` candidates (n, d) in the unit-cube ``bounds`` (2, d): Sobol points, each perturbing only
    a random subset of the coordinates of ``center`` (each with probability ``min(1, 20 / d)``), as
    TuRBO does so that candidates in high dimension stay near the centre's neighbourhood."""
    dim = center.shape[-1]
    sobol = torch.quasirandom.SobolEngine(dim, scramble=True, seed=seed).draw(n).to(center)
    points = bounds[0] + (bounds[1] - bounds[0]) * sobol
    generator = torch.Generator().manual_seed(seed)
    mask = torch.rand(n, dim, generator=generator).to(center.device) <= min(1.0, 20.0 / dim)
    empty = ~mask.any(dim=1)
    if empty.any():  # every candidate perturbs at least one coordinate
        mask[empty, torch.randint(dim, (int(empty.sum()),), generator=generator).to(center.device)] = True
    return torch.where(mask, points, center.expand(n, dim))
