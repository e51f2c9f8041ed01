"""Gaussian-process surrogates of the objective over the latent space (PROTOCOLS.md §4).

Two surrogates share one interface: an exact GP (BoTorch ``SingleTaskGP``) for small data, and a
sparse variational GP (BoTorch ``SingleTaskVariationalGP``; Hensman et al., 2013) with inducing
points, trained by minibatch Adam on the evidence lower bound, which scales to the full encoded
training set (the Grammar VAE protocol uses 500 inducing points). Both are fitted in a scaled
space: inputs mapped to the unit cube of the search box, outcomes standardised to zero mean and
unit variance, and always in the *maximisation* direction (callers negate minimisation targets).
A random 10% of the points is held out and the test RMSE and mean predictive log-likelihood are
reported in the objective's own units, as the protocol asks.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import Tensor

from lsbo.errors import ConfigError

SurrogateKind = Literal["auto", "exact", "sparse"]
#: ``auto`` uses the exact GP up to this many training points (its cost grows as n^3) and the sparse GP above.
EXACT_GP_MAX_POINTS = 1000
#: Boxes narrower than this in a dimension are widened, so unit-cube scaling never divides by ~0.
MIN_BOX_WIDTH = 1e-6


@dataclass(frozen=True)
class Scaling:
    """Affine maps between latent/score units and the GP's unit-cube/standardised units."""

    lower: Tensor  # (d,) lower corner of the search box
    upper: Tensor  # (d,) upper corner
    y_mean: float
    y_std: float

    def to_unit(self, x: Tensor) -> Tensor:
        return (x - self.lower) / (self.upper - self.lower)

    def from_unit(self, u: Tensor) -> Tensor:
        return self.lower + u * (self.upper - self.lower)

    def standardize(self, y: Tensor) -> Tensor:
        return (y - self.y_mean) / self.y_std

    def unstandardize(self, y: Tensor) -> Tensor:
        return y * self.y_std + self.y_mean


def dense_linear_algebra() -> Any:
    """GPyTorch context that uses Cholesky factorisations up to the exact-GP size limit.

    GPyTorch switches to iterative solvers (CG/Lanczos) above 800 points by default; for the exact GP
    sizes used here a Cholesky factor is both faster and more accurate.
    """
    import gpytorch

    return gpytorch.settings.max_cholesky_size(4 * EXACT_GP_MAX_POINTS)


def box_bounds(latents: Tensor) -> Tensor:
    """The search box of the protocol: per-dimension min and max of ``latents``, shape (2, d)."""
    lower, upper = latents.min(dim=0).values, latents.max(dim=0).values
    narrow = (upper - lower) < MIN_BOX_WIDTH
    lower = torch.where(narrow, lower - MIN_BOX_WIDTH, lower)
    upper = torch.where(narrow, upper + MIN_BOX_WIDTH, upper)
    return torch.stack([lower, upper])


def fit_scaling(y: Tensor, bounds: Tensor) -> Scaling:
    """Scaling for targets ``y`` (n,) inside ``bounds`` (2, d)."""
    std = float(y.std()) if y.numel() > 1 else 1.0
    return Scaling(lower=bounds[0], upper=bounds[1], y_mean=float(y.mean()), y_std=std if std > 0 else 1.0)


def choose_kind(kind: SurrogateKind, n_points: int) -> Literal["exact", "sparse"]:
    """Resolve ``auto`` by data size."""
    if kind == "auto":
        return "exact" if n_points <= EXACT_GP_MAX_POINTS else "sparse"
    if kind not in ("exact", "sparse"):
        raise ConfigError(f"--surrogate {kind!r}: expected auto, exact or sparse")
    return kind


def heldout_split(n_points: int, fraction: float, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Random (train, held-out) index tensors; at least one training point, none held out if n < 10."""
    order = torch.randperm(n_points, generator=generator)
    n_heldout = int(round(n_points * fraction)) if n_points >= 10 else 0
    return order[n_heldout:], order[:n_heldout]


def fit_exact_gp(u: Tensor, y: Tensor) -> Any:
    """Exact GP on unit-cube inputs ``u`` (n, d) and standardised targets ``y`` (n,), type-II ML."""
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from gpytorch.mlls import ExactMarginalLogLikelihood

    model = SingleTaskGP(u, y.unsqueeze(-1), outcome_transform=None)
    with dense_linear_algebra():
        # a bounded number of L-BFGS steps: hyperparameters barely move after ~100 on these data
        fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model), optimizer_kwargs={"options": {"maxiter": 100}})
    return model.eval()


def initial_inducing_points(u: Tensor, n_inducing: int, generator: torch.Generator) -> Tensor:
    """A random subset of the training inputs (all of them if there are fewer)."""
    chosen = torch.randperm(u.shape[0], generator=generator)[: min(n_inducing, u.shape[0])]
    return u[chosen.to(u.device)].clone()


@dataclass(frozen=True)
class SparseTraining:
    """Minibatch Adam settings of the sparse GP's ELBO fit."""

    epochs: int = 10
    batch_size: int = 1024
    learning_rate: float = 0.02
    #: a lower bound on optimizer steps, so small data sets still get a converged fit
    min_steps: int = 200


def fit_sparse_gp(
    u: Tensor, y: Tensor, *, n_inducing: int = 500, training: SparseTraining = SparseTraining(), generator: torch.Generator
) -> Any:
    """Sparse variational GP on ``u`` (n, d), ``y`` (n,): inducing points learnt with the ELBO by Adam."""
    from botorch.models import SingleTaskVariationalGP
    from gpytorch.mlls import VariationalELBO

    n = u.shape[0]
    model = SingleTaskVariationalGP(
        u, y.unsqueeze(-1), inducing_points=initial_inducing_points(u, n_inducing, generator), learn_inducing_points=True
    )
    model.train()
    elbo = VariationalELBO(model.likelihood, model.model, num_data=n)
    optimizer = torch.optim.Adam(model.parameters(), lr=training.learning_rate)
    batch = min(training.batch_size, n)
    steps_per_epoch = math.ceil(n / batch)
    epochs = max(training.epochs, math.ceil(training.min_steps / steps_per_epoch))
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator).to(u.device)
        for start in range(0, n, batch):
            index = order[start : start + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = -elbo(model.model(u[index]), y[index])
            loss.backward()
            optimizer.step()
    return model.eval()


@dataclass
class SurrogateFit:
    """A fitted surrogate with its scaling and held-out quality."""

    model: Any  # a BoTorch Model over unit-cube inputs predicting standardised, maximised targets
    scaling: Scaling
    kind: str
    n_train: int
    n_heldout: int
    test_rmse: float | None
    test_loglik: float | None
    fit_seconds: float
    extra: dict[str, float] = field(default_factory=dict)

    def metrics(self) -> dict[str, Any]:
        return {
            "surrogate": self.kind, "n_train": self.n_train, "n_heldout": self.n_heldout,
            "test_rmse": self.test_rmse, "test_loglik": self.test_loglik, "fit_seconds": round(self.fit_seconds, 3),
        }


def heldout_metrics(model: Any, u_test: Tensor, y_test: Tensor, scaling: Scaling) -> tuple[float, float]:
    """Test RMSE and mean Gaussian predictive log-likelihood (with noise) in the targets' units."""
    with torch.no_grad(), dense_linear_algebra():
        posterior = model.posterior(u_test, observation_noise=True)
        mean = posterior.mean.squeeze(-1)
        variance = posterior.variance.squeeze(-1).clamp_min(1e-12)
    mean_units = scaling.unstandardize(mean)
    rmse = float(torch.sqrt(torch.mean((mean_units - y_test) ** 2)))
    z = scaling.standardize(y_test)
    loglik = -0.5 * (math.log(2 * math.pi) + torch.log(variance) + (z - mean) ** 2 / variance) - math.log(scaling.y_std)
    return rmse, float(loglik.mean())


def fit_surrogate(
    x: Tensor,
    y: Tensor,
    kind: SurrogateKind = "auto",
    *,
    bounds: Tensor | None = None,
    n_inducing: int = 500,
    heldout_fraction: float = 0.1,
    seed: int = 0,
    sparse_training: SparseTraining = SparseTraining(),
) -> SurrogateFit:
    """Fit a GP to latents ``x`` (n, d) and targets ``y`` (n,) in the maximisation direction.

    ``bounds`` (2, d) is the search box (default: the box of ``x``). A random ``heldout_fraction`` of
    the points is left out of the fit and used for the reported test RMSE/log-likelihood (in the
    units of ``y``). Everything runs in float64 on the device of ``x``.
    """
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ConfigError(f"surrogate data must be (n, d) latents and (n,) targets, got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.shape[0] < 2:
        raise ConfigError("a surrogate needs at least 2 scored points")
    start = time.perf_counter()
    x, y = x.to(torch.float64), y.to(device=x.device, dtype=torch.float64)
    bounds = box_bounds(x) if bounds is None else bounds.to(device=x.device, dtype=torch.float64)
    generator = torch.Generator().manual_seed(seed)
    train_index, test_index = heldout_split(x.shape[0], heldout_fraction, generator)
    train_index, test_index = train_index.to(x.device), test_index.to(x.device)
    scaling = fit_scaling(y[train_index], bounds)
    u, z = scaling.to_unit(x), scaling.standardize(y)
    resolved = choose_kind(kind, len(train_index))
    # GPyTorch/BoTorch draw from torch's global generator (parameter initialisation, restarts of the
    # hyperparameter fit); fork and seed it so the same seed gives the same surrogate whatever ran before.
    devices = [x.device] if x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        if resolved == "exact":
            model = fit_exact_gp(u[train_index], z[train_index])
        else:
            model = fit_sparse_gp(u[train_index], z[train_index], n_inducing=n_inducing, training=sparse_training, generator=generator)
    rmse = loglik = None
    if len(test_index):
        rmse, loglik = heldout_metrics(model, u[test_index], y[test_index], scaling)
    return SurrogateFit(
        model=model, scaling=scaling, kind=resolved, n_train=len(train_index), n_heldout=len(test_index),
        test_rmse=rmse, test_loglik=loglik, fit_seconds=time.perf_counter() - start,
    )
