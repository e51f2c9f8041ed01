"""Batch acquisition: choose q latent points per iteration by batch expected improvement (docs/protocols.md §4).

The default acquisition is BoTorch's ``qLogExpectedImprovement`` (Ament et al., 2023), a numerically
robust form of the batch expected improvement used by the Grammar VAE protocol; ``qei`` gives the
plain Monte-Carlo qEI. It is maximised over the unit cube of the search box (the per-dimension min and
max of the training latents, or the prior's box), by multi-start L-BFGS-B from Sobol-sampled raw points,
either sequentially (greedy, one point at a time conditioned on the earlier ones, the default, cheap
for large q) or jointly over all q points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor

from lsbo.bo.cached_posterior import acquisition_model
from lsbo.bo.surrogates import SurrogateFit, dense_linear_algebra
from lsbo.errors import ConfigError
from lsbo.registry import Registry

AcquisitionName = Literal["qlogei", "qei"]


@dataclass(frozen=True)
class AcquisitionOptions:
    """How the acquisition is built and optimised."""

    name: AcquisitionName | None = None  # None: qlogei here; a strategy's own default in lsbo.bo.strategies
    num_restarts: int = 2
    raw_samples: int = 128
    mc_samples: int = 128
    max_iterations: int = 50
    sequential: bool = True


def acquisition_bytes(q: int, n_train: int, options: AcquisitionOptions = AcquisitionOptions()) -> int:
    """A lower bound on the memory (bytes, float64) of maximising batch EI for ``q`` points.

    Each of the ``raw_samples`` starting batches needs the joint posterior of its q points (a q x q
    covariance), their cross-covariance with the ``n_train`` training points and ``mc_samples``
    draws of the q values; sequential greedy optimisation reaches the same sizes at its last point.
    """
    return 8 * options.raw_samples * q * (q + n_train + options.mc_samples)


#: Batch acquisition functions by name: ``(model, best_f, sampler) -> BoTorch acquisition`` (Monte-Carlo,
#: maximised jointly or greedily over q points). A strategy lists the names it accepts
#: (:attr:`lsbo.bo.strategies.Strategy.acquisitions`), some of them its own procedures (turbo's ``ts``).
ACQUISITIONS: Registry[Callable[[Any, float, Any], Any]] = Registry("acquisition", parameter="acquisition.name")


@ACQUISITIONS.register("qlogei")
def q_log_expected_improvement(model: Any, best_f: float, sampler: Any) -> Any:
    from botorch.acquisition.logei import qLogExpectedImprovement

    return qLogExpectedImprovement(model, best_f=best_f, sampler=sampler)


@ACQUISITIONS.register("qei")
def q_expected_improvement(model: Any, best_f: float, sampler: Any) -> Any:
    from botorch.acquisition.monte_carlo import qExpectedImprovement

    return qExpectedImprovement(model, best_f=best_f, sampler=sampler)


def build_acquisition(fit: SurrogateFit, best_f: float, options: AcquisitionOptions, seed: int) -> object:
    """The batch EI acquisition over the surrogate's unit-cube inputs; ``best_f`` in standardised units."""
    from botorch.sampling import SobolQMCNormalSampler

    build = ACQUISITIONS.get(options.name or "qlogei")
    sampler = SobolQMCNormalSampler(sample_shape=torch.Size([options.mc_samples]), seed=seed)
    return build(acquisition_model(fit.model), best_f, sampler)


def propose_batch(fit: SurrogateFit, best_f: float, q: int, options: AcquisitionOptions = AcquisitionOptions(), seed: int = 0) -> Tensor:
    """Maximise batch EI for ``q`` points; returns (q, d) latents inside the surrogate's search box.

    ``best_f`` is the best target seen so far, in the surrogate's (maximisation) units of the scores.
    """
    from botorch.optim import optimize_acqf

    if q < 1:
        raise ConfigError(f"q {q}: the batch size must be at least 1")
    lower = fit.scaling.lower
    unit_box = torch.stack([torch.zeros_like(lower), torch.ones_like(lower)])
    acquisition = build_acquisition(fit, float(fit.scaling.standardize(torch.tensor(best_f))), options, seed)
    # the raw-sample draw is seeded without touching the caller's global random state
    with torch.random.fork_rng(devices=[]), dense_linear_algebra():
        torch.manual_seed(seed)
        candidates, _ = optimize_acqf(
            acquisition,
            bounds=unit_box,
            q=q,
            num_restarts=options.num_restarts,
            raw_samples=options.raw_samples,
            options={"maxiter": options.max_iterations, "seed": seed},
            sequential=options.sequential,
            retry_on_optimization_warning=False,
        )
    return fit.scaling.from_unit(candidates.detach().clamp(0.0, 1.0))
