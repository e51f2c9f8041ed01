"""Gaussian-process surrogates of the objective over the latent space (docs/protocols.md §4).

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
        raise ConfigError(f"kind {kind!r}: expected auto, exact or sparse")
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


# ---------------------------------------------------------------------------------------------
# Surrogates that do not start over (the ``turbo`` strategy; the protocol keeps the fits above).
#
# These models take *latents* as inputs and *targets* as outputs: BoTorch's ``Normalize`` (fixed to
# the search box) and ``Standardize`` transforms do the scaling that :class:`Scaling` does by hand
# above. Each refit starts from the previous fit's hyperparameters (and, for the variational GP, its
# inducing points and variational distribution), so a refit after adding one batch needs a fraction
# of a cold fit's optimiser steps.

#: State-dict entries that belong to the data, not to the fit: a warm start never copies them.
DATA_STATE_PREFIXES = ("input_transform.", "outcome_transform.")


@dataclass(frozen=True)
class WarmFitOptions:
    """Optimiser budgets of cold and warm-started fits.

    ``exact_*`` are L-BFGS-B iterations of the exact GP's marginal likelihood; ``sparse_*`` are Adam
    steps of the variational GP's ELBO over minibatches of ``batch_size`` points.
    """

    exact_cold_iterations: int = 100
    exact_warm_iterations: int = 25
    sparse_cold_steps: int = 600
    sparse_warm_steps: int = 100
    batch_size: int = 1024
    learning_rate: float = 0.02


def transforms(bounds: Tensor) -> tuple[Any, Any]:
    """BoTorch ``Normalize`` to the unit cube of ``bounds`` (2, d) and ``Standardize`` of one outcome."""
    from botorch.models.transforms.input import Normalize
    from botorch.models.transforms.outcome import Standardize

    return Normalize(d=bounds.shape[-1], bounds=bounds), Standardize(m=1)


def build_exact_gp(x: Tensor, y: Tensor, bounds: Tensor) -> Any:
    """A ``SingleTaskGP`` over latents ``x`` (n, d) with targets ``y`` (n,), scaled by BoTorch transforms."""
    from botorch.models import SingleTaskGP

    normalize, standardize = transforms(bounds)
    return SingleTaskGP(x, y.unsqueeze(-1), input_transform=normalize, outcome_transform=standardize)


def build_variational_gp(x: Tensor, y: Tensor, bounds: Tensor, *, n_inducing: int, generator: torch.Generator) -> Any:
    """A ``SingleTaskVariationalGP`` with ``n_inducing`` learnt inducing points (a random subset to start)."""
    import warnings

    from botorch.models import SingleTaskVariationalGP

    normalize, standardize = transforms(bounds)
    unit = (x - bounds[0]) / (bounds[1] - bounds[0])  # the inducing points live in the transformed space
    with warnings.catch_warnings():
        # BoTorch warns that transforms with learnable parameters would drift over minibatches; these
        # are fixed (the box is given, the outcome statistics are taken once here) and the minibatches
        # of fit_variational are drawn from the already-transformed training data
        warnings.filterwarnings("ignore", message="Using an (input|outcome) transform with `SingleTaskVariationalGP`")
        return SingleTaskVariationalGP(
            x, y.unsqueeze(-1), inducing_points=initial_inducing_points(unit, n_inducing, generator), learn_inducing_points=True,
            input_transform=normalize, outcome_transform=standardize,
        )


def warm_start(model: Any, previous: Any | None) -> int:
    """Copy ``previous``'s fitted state into ``model`` where names and shapes agree; returns how many tensors.

    The transforms' statistics are the new data's and are never copied (see ``DATA_STATE_PREFIXES``).
    For a variational GP the GPyTorch model (kernel, mean, inducing points, variational distribution)
    and the likelihood are copied module by module: BoTorch's own ``load_state_dict`` of the wrapper
    re-derives training targets, which a ``SingleTaskVariationalGP`` does not keep.
    """
    from botorch.models import ApproximateGPyTorchModel

    if previous is None:
        return 0
    variational = isinstance(model, ApproximateGPyTorchModel)
    pairs = [(model.model, previous.model), (model.likelihood, previous.likelihood)] if variational else [(model, previous)]
    total = 0
    for target, source in pairs:
        current = target.state_dict()
        copied = {
            name: value for name, value in source.state_dict().items()
            if not name.startswith(DATA_STATE_PREFIXES) and name in current and current[name].shape == value.shape
        }
        target.load_state_dict(copied, strict=False)
        total += len(copied)
    return total


def fit_exact(model: Any, iterations: int) -> Any:
    """Type-II maximum likelihood by L-BFGS-B (``fit_gpytorch_mll``), one attempt from the current state."""
    from botorch.fit import fit_gpytorch_mll
    from gpytorch.mlls import ExactMarginalLogLikelihood

    with dense_linear_algebra():
        # one attempt: BoTorch's retries re-sample the hyperparameters from their priors, which would
        # throw the warm start away whenever L-BFGS stops at its iteration limit
        fit_gpytorch_mll(
            ExactMarginalLogLikelihood(model.likelihood, model), optimizer_kwargs={"options": {"maxiter": iterations}},
            max_attempts=1, warning_handler=lambda warning: True,
        )
    return model.eval()


def fit_variational(model: Any, steps: int, options: WarmFitOptions, generator: torch.Generator) -> Any:
    """ELBO by Adam over minibatches (``fit_gpytorch_mll`` with a data loader), ``steps`` steps."""
    from botorch.fit import fit_gpytorch_mll
    from botorch.optim.stopping import ExpMAStoppingCriterion
    from gpytorch.mlls import VariationalELBO
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

    inner = model.model  # the GPyTorch ApproximateGP; its train_inputs/targets are already transformed
    u, z = inner.train_inputs[0], inner.train_targets
    # whole minibatches are indexed at once (batch_size=None): per-point collation costs more than the step
    batches = BatchSampler(RandomSampler(range(len(z)), generator=generator), min(options.batch_size, len(z)), drop_last=False)
    loader = DataLoader(TensorDataset(u, z), batch_size=None, sampler=batches)
    model.train()
    elbo = VariationalELBO(model.likelihood, inner, num_data=len(z))
    fit_gpytorch_mll(
        elbo, data_loader=loader, max_attempts=1, warning_handler=lambda warning: True,
        optimizer_kwargs={
            "step_limit": steps,
            "optimizer": lambda parameters: torch.optim.Adam(parameters, lr=options.learning_rate),
            "stopping_criterion": ExpMAStoppingCriterion(maxiter=steps),
        },
    )
    return model.eval()


@dataclass
class WarmSurrogate:
    """A GP refitted on growing data, each fit warm-started from the last.

    ``kind`` is ``exact`` (``SingleTaskGP``) or ``sparse`` (``SingleTaskVariationalGP`` with
    ``n_inducing`` points). The fitted model predicts targets from latents directly (its transforms
    hold the box and the outcome statistics). ``warm=False`` makes every fit cold, for comparison.
    """

    kind: Literal["exact", "sparse"]
    n_inducing: int = 500
    options: WarmFitOptions = field(default_factory=WarmFitOptions)
    warm: bool = True
    model: Any = None
    n_fits: int = 0

    def fit(self, x: Tensor, y: Tensor, bounds: Tensor, *, seed: int) -> tuple[Any, dict[str, Any]]:
        """Fit to latents ``x`` (n, d) and maximisation targets ``y`` (n,) in ``bounds`` (2, d); returns
        (model, metrics) with the fit's seconds, optimiser budget and whether it was warm-started."""
        if x.ndim != 2 or y.shape != (x.shape[0],) or x.shape[0] < 2:
            raise ConfigError(f"surrogate data must be (n >= 2, d) latents and (n,) targets, got {tuple(x.shape)} and {tuple(y.shape)}")
        started = time.perf_counter()
        x = x.to(torch.float64)
        y, bounds = y.to(device=x.device, dtype=torch.float64), bounds.to(device=x.device, dtype=torch.float64)
        generator = torch.Generator().manual_seed(seed)
        devices = [x.device] if x.device.type == "cuda" else []
        previous = self.model if self.warm else None
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            if self.kind == "exact":
                model = build_exact_gp(x, y, bounds)
                copied = warm_start(model, previous)
                budget = self.options.exact_warm_iterations if copied else self.options.exact_cold_iterations
                model = fit_exact(model, budget)
            else:
                model = build_variational_gp(x, y, bounds, n_inducing=self.n_inducing, generator=generator)
                copied = warm_start(model, previous)
                budget = self.options.sparse_warm_steps if copied else self.options.sparse_cold_steps
                model = fit_variational(model, budget, self.options, generator)
        self.model, self.n_fits = model, self.n_fits + 1
        return model, {
            "surrogate": self.kind, "n_train": int(x.shape[0]), "warm_started": bool(copied), "optimizer_budget": budget,
            "fit_seconds": round(time.perf_counter() - started, 3),
        }


def prediction_rmse(model: Any, x: Tensor, y: Tensor) -> float:
    """Root mean squared error of ``model``'s posterior mean at ``x`` (n, d) against ``y`` (n,)."""
    with torch.no_grad(), dense_linear_algebra():
        mean = model.posterior(x.to(torch.float64)).mean.squeeze(-1)
    return float(torch.sqrt(torch.mean((mean - y.to(mean)) ** 2)))
