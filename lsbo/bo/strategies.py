"""Search strategies: how one BO iteration turns the scored points into the next batch of latents.

The interface is one small class (like :class:`lsbo.objectives.Objective`): a :class:`Strategy`
has a ``name``, the ``acquisitions`` it accepts, and

* :meth:`Strategy.start` — called once per trial with the initial data (the encoded, scored
  training set), before any proposal;
* :meth:`Strategy.propose` — ``(observations, q, seed) -> Proposal``: fit whatever surrogate it
  needs and return ``q`` latent points ``(q, d)`` with the per-iteration metrics to record;
* :meth:`Strategy.observe` — called after each batch is scored with the latents and targets of
  its valid points, in the order proposed.

A strategy that can rank more points than it was asked for says so with :meth:`Strategy.offers_reserve`
and returns them as :attr:`Proposal.reserve`: with ``novel_only`` the loop replaces each point whose
decoded string is already known (a training string, or one evaluated earlier in the trial) by the
next reserve point that decodes to a new one, so no oracle call re-finds a known string.

Targets are always in the *maximisation* direction (the loop negates minimisation scores). A
strategy is deterministic given its inputs and seeds, and its state must be a function of the
observed data: a resumed run rebuilds it by calling :meth:`start` and then :meth:`observe` for each
completed batch (the stored candidates are not proposed again), so nothing but the evaluations
needs to be persisted. (A warm-started surrogate restarts cold after a resume; that changes the
speed of the next fit, never which evaluations exist.)

A new method is one subclass registered with :func:`register_strategy` (with
:meth:`Strategy.from_config` if it reads settings of the run); the CLI's ``--strategy`` choices are
the registry's names, :data:`STRATEGY_NAMES`.

Built in:

* ``protocol`` — the Grammar VAE protocol (docs/protocols.md §4): a GP over the whole box refitted from
  scratch each iteration (:func:`lsbo.bo.surrogates.fit_surrogate`) and batch (log-)EI maximised
  over the box (:func:`lsbo.bo.acquisition.propose_batch`). Kept exactly, for the paper's tables.
* ``turbo`` — a TuRBO trust region (:mod:`lsbo.bo.trust_region`) centred on the best point, a
  warm-started GP (a global exact/sparse one, or a local exact GP on the points nearest the centre
  plus the best ``k``) and batches by Thompson sampling over candidates in the region
  (``ts``) or by batch log-EI restricted to the region (``qlogei``/``qei``).
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor

from lsbo.bo.acquisition import AcquisitionOptions, propose_batch
from lsbo.bo.cached_posterior import acquisition_model
from lsbo.bo.surrogates import SparseTraining, WarmFitOptions, WarmSurrogate, dense_linear_algebra, fit_surrogate
from lsbo.bo.trust_region import (
    TrustRegion,
    lengthscales_of,
    perturbation_candidates,
    region_bounds,
    update_trust_region,
)
from lsbo.errors import ConfigError


@dataclass(frozen=True)
class Observations:
    """The scored points a strategy proposes from.

    Attributes:
        x: ``(n, d)`` float64 latents of every point scored so far (training set first), on the device.
        y: ``(n,)`` float64 targets in the maximisation direction.
        bounds: ``(2, d)`` float64 search box (lower, upper corners).
    """

    x: Tensor
    y: Tensor
    bounds: Tensor


@dataclass
class Proposal:
    """A batch of latents ``(q, d)`` (float64, CPU) and the metrics of the iteration that chose it.

    ``metrics`` holds at least ``surrogate``, ``n_train``, ``fit_seconds`` and ``acquisition_seconds``
    (what the loop logs and the candidate files record), plus whatever the strategy adds.
    """

    latents: Tensor
    metrics: dict[str, Any] = field(default_factory=dict)
    #: ``(m, d)`` further latents in the strategy's order of preference (float64, CPU), or None
    reserve: Tensor | None = None


class Strategy(ABC):
    """How the next batch is chosen. Subclasses set :attr:`name` and :attr:`acquisitions` and
    implement :meth:`propose`; :meth:`start` and :meth:`observe` are for strategies with state."""

    name: ClassVar[str] = "strategy"
    #: acquisition names this strategy accepts; the first is its default
    acquisitions: ClassVar[tuple[str, ...]] = ()
    #: surrogate names this strategy accepts (``--surrogate``); the first is its default
    surrogates: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_config(cls, config: Any) -> Strategy:
        """An instance for one trial from a resolved :class:`lsbo.bo.BOConfig` (its ``acquisition``,
        ``surrogate`` and the other fields a strategy may read); by default ``cls()``."""
        return cls()

    @classmethod
    def offers_reserve(cls, config: Any) -> bool:
        """Whether :meth:`propose` returns a :attr:`Proposal.reserve` under the resolved ``config``
        (what ``novel_only`` needs); by default no."""
        return False

    def start(self, initial: Observations) -> None:
        """Reset the strategy's state for a new trial whose initial data is ``initial``."""

    @abstractmethod
    def propose(self, observations: Observations, q: int, seed: int) -> Proposal:
        """Choose ``q`` latent points from ``observations``; ``seed`` seeds every random draw."""

    def observe(self, x: Tensor, y: Tensor) -> None:
        """Take in a scored batch: latents ``x`` (m, d) and targets ``y`` (m,) of its valid points (m may be 0)."""

    def state(self) -> dict[str, Any]:
        """A JSON-serialisable summary of the strategy's state (recorded with each batch)."""
        return {}


STRATEGIES: dict[str, type[Strategy]] = {}


def register_strategy(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator: make ``cls`` available as ``--strategy cls.name``."""
    if cls.name in STRATEGIES:
        raise ValueError(f"strategy {cls.name!r} is already registered")
    STRATEGIES[cls.name] = cls
    return cls


def check_strategy(name: str, acquisition: str | None = None) -> str:
    """The acquisition ``name`` runs with (its default for ``None``); a one-line error naming the parameter otherwise."""
    if name not in STRATEGIES:
        raise ConfigError(f"strategy {name!r}: expected one of {', '.join(STRATEGIES)}", parameter="strategy")
    return _strategy_choice(name, "acquisition.name", STRATEGIES[name].acquisitions, acquisition)


def check_surrogate(name: str, surrogate: str | None = None) -> str:
    """The surrogate strategy ``name`` runs with (its default for ``None``); a one-line error naming the parameter otherwise."""
    check_strategy(name)
    return _strategy_choice(name, "surrogate", STRATEGIES[name].surrogates, surrogate)


def _strategy_choice(name: str, parameter: str, accepted: tuple[str, ...], value: str | None) -> str:
    # A strategy lists the values it accepts for a setting, its default first.
    if value is None:
        return accepted[0]
    if value not in accepted:
        raise ConfigError(f"{parameter} {value!r} with strategy {name}: expected one of {', '.join(accepted)}",
                          parameter=(parameter, "strategy"))
    return value


def build_strategy(name: str, **options: Any) -> Strategy:
    """An instance of the registered strategy ``name`` with its keyword ``options``."""
    check_strategy(name, options.get("acquisition"))
    if "surrogate" in options:
        check_surrogate(name, options["surrogate"])
    return STRATEGIES[name](**options)


# ---------------------------------------------------------------------------------------------
# protocol


@register_strategy
class ProtocolStrategy(Strategy):
    """The Grammar VAE protocol: a fresh GP over the box and batch EI over the box, every iteration."""

    name = "protocol"
    acquisitions = ("qlogei", "qei")
    surrogates = ("auto", "exact", "sparse")

    def __init__(
        self, *, acquisition: str = "qlogei", surrogate: str = "auto", n_inducing: int = 500, heldout_fraction: float = 0.1,
        sparse_training: SparseTraining = SparseTraining(), acquisition_options: AcquisitionOptions | None = None,
    ) -> None:
        base = acquisition_options or AcquisitionOptions()
        self.acquisition = AcquisitionOptions(**{**base.__dict__, "name": acquisition})
        self.surrogate, self.n_inducing, self.heldout_fraction = surrogate, n_inducing, heldout_fraction
        self.sparse_training = sparse_training

    @classmethod
    def from_config(cls, config: Any) -> ProtocolStrategy:
        return cls(
            acquisition=config.acquisition.name, surrogate=config.surrogate, n_inducing=config.n_inducing,
            heldout_fraction=config.heldout_fraction, sparse_training=config.sparse_training,
            acquisition_options=config.acquisition,
        )

    def propose(self, observations: Observations, q: int, seed: int) -> Proposal:
        x, y = observations.x, observations.y
        fit = fit_surrogate(
            x, y, self.surrogate, bounds=observations.bounds, n_inducing=self.n_inducing,
            heldout_fraction=self.heldout_fraction, seed=seed, sparse_training=self.sparse_training,
        )
        fitted = time.perf_counter()
        latents = propose_batch(fit, float(y.max()), q, self.acquisition, seed=seed)
        return Proposal(latents.detach().cpu(), fit.metrics() | {"acquisition_seconds": round(time.perf_counter() - fitted, 3)})


# ---------------------------------------------------------------------------------------------
# turbo

#: Above this many candidates Thompson samples are drawn as pathwise (Matheron) functions instead of
#: a joint posterior sample (whose cost grows as the cube of the candidate count).
PATHWISE_ABOVE = 1000
#: With ``novel_only``, Thompson sampling draws ``q`` further points from each of this many regions
#: of doubling side (2, 4, ... times the trust region's, at most its maximum): the reserve from which
#: points whose strings are already known are replaced, nearest region first. A region that has
#: shrunk around a known optimum decodes to known strings only; the wider ones reach new strings.
NOVEL_RESERVE_BLOCKS = 6


def default_candidate_count(dim: int) -> int:
    """TuRBO's candidate-set size: ``min(5000, max(2000, 200 d))``."""
    return min(5000, max(2000, 200 * dim))


def local_subset(u: Tensor, y: Tensor, center: Tensor, weights: Tensor, n_near: int, n_best: int) -> Tensor:
    """Indices of the ``n_near`` points nearest ``center`` in the region's scaled max-norm
    (``max_i |u_i - c_i| / w_i``, the metric whose balls are trust regions) plus the ``n_best``
    highest ``y``; ``u`` (n, d) unit-cube inputs, ``y`` (n,), ``center`` and ``weights`` (d,)."""
    distance = ((u - center).abs() / weights).amax(dim=-1)
    near = torch.topk(distance, min(n_near, len(y)), largest=False).indices
    best = torch.topk(y, min(n_best, len(y))).indices
    return torch.unique(torch.cat([near, best]))


def distinct_argmax(values: Tensor) -> Tensor:
    """For each row of ``values`` (q, N) the index of its largest entry not taken by an earlier row; (q,)."""
    order = torch.argsort(values, dim=-1, descending=True)
    taken: set[int] = set()
    chosen = []
    for row in order.tolist():
        pick = next(i for i in row if i not in taken)
        taken.add(pick)
        chosen.append(pick)
    return torch.tensor(chosen, device=values.device)


def thompson_batch(model: Any, candidates: Tensor, q: int, *, seed: int) -> Tensor:
    """``q`` distinct candidates (q, d) chosen by Thompson sampling from ``candidates`` (N, d), N >= q.

    Each batch point is the maximiser of one posterior sample over the candidate set: a joint
    sample (BoTorch ``MaxPosteriorSampling`` without replacement) for up to :data:`PATHWISE_ABOVE`
    candidates, pathwise samples (``draw_matheron_paths``, linear in N) above.
    """
    from botorch.generation.sampling import MaxPosteriorSampling
    from botorch.sampling.pathwise import draw_matheron_paths

    devices = [candidates.device] if candidates.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch.no_grad(), dense_linear_algebra():
        torch.manual_seed(seed)
        if candidates.shape[0] <= PATHWISE_ABOVE:
            return MaxPosteriorSampling(model, replacement=False)(candidates, num_samples=q)
        paths = draw_matheron_paths(model, sample_shape=torch.Size([q]))
        values = paths(candidates).reshape(q, candidates.shape[0])
        return candidates[distinct_argmax(values)]


@register_strategy
class TurboStrategy(Strategy):
    """TuRBO-1 in the latent space (Eriksson et al., 2019; Maus et al., 2022).

    Args:
        acquisition: ``ts`` (Thompson sampling over candidates in the region) or batch ``qlogei``/``qei``
            maximised inside the region.
        surrogate: a global ``auto`` (the default: exact up to 1000 points, sparse above), ``exact`` or
            ``sparse`` GP, or ``local`` (an exact GP on the ``local_points`` points nearest the centre
            plus the ``local_best`` best, re-chosen each iteration).
        n_inducing: inducing points of a sparse global GP.
        n_candidates: Thompson-sampling candidates (None: :func:`default_candidate_count`).
        warm: warm-start each refit from the previous one.
        fit_options: optimiser budgets of cold and warm fits.
        acquisition_options: restarts/raw samples of the EI optimisation.
        success_tolerance: the initial trust region's setting (:class:`~lsbo.bo.trust_region.TrustRegion`).
        failure_tolerance: the same (None: TuRBO's rule; ``dim`` is set at :meth:`start`).
        length_init: the same.
        batch_size: the same (None: 1).
        reserve_blocks: with Thompson sampling, also draw ``q`` points from each of ``reserve_blocks``
            regions of doubling side and return them as :attr:`Proposal.reserve` (0: none; ``novel_only``
            sets :data:`NOVEL_RESERVE_BLOCKS`).
    """

    name = "turbo"
    acquisitions = ("ts", "qlogei", "qei")
    # auto (a global GP, exact up to 1000 points, sparse above) is the default: on 20k encoded
    # expressions the warm-started global sparse GP was both faster and more accurate near the best
    # point than the local exact one (benchmarks/RESULTS.md, issue 11)
    surrogates = ("auto", "local", "exact", "sparse")

    def __init__(
        self, *, acquisition: str = "ts", surrogate: str = "auto", n_inducing: int = 500, local_points: int = 1000,
        local_best: int = 100, n_candidates: int | None = None, warm: bool = True,
        fit_options: WarmFitOptions = WarmFitOptions(), acquisition_options: AcquisitionOptions | None = None,
        success_tolerance: int = 3, failure_tolerance: int | None = None, length_init: float = 0.8,
        batch_size: int | None = None, reserve_blocks: int = 0,
    ) -> None:
        check_surrogate(self.name, surrogate)
        if reserve_blocks < 0:
            raise ConfigError(f"turbo reserve_blocks must be at least 0, got {reserve_blocks}", parameter="reserve_blocks")
        self.reserve_blocks = reserve_blocks
        for flag, value in (("local points", local_points), ("local best", local_best), ("candidates", n_candidates or 1)):
            if value < 1:
                raise ConfigError(f"turbo {flag} must be at least 1, got {value}")
        self.acquisition, self.surrogate_kind = acquisition, surrogate
        self.local_points, self.local_best, self.n_candidates = local_points, local_best, n_candidates
        self.acquisition_options = acquisition_options or AcquisitionOptions()
        self.region_settings = {"success_tolerance": success_tolerance, "failure_tolerance": failure_tolerance,
                                "length": length_init, "length_init": length_init}
        self.batch_size = batch_size
        self.n_inducing, self.warm, self.fit_options = n_inducing, warm, fit_options
        self.region: TrustRegion | None = None
        self._weights: Tensor | None = None
        self._surrogate: WarmSurrogate | None = None

    @classmethod
    def from_config(cls, config: Any) -> TurboStrategy:
        return cls(
            acquisition=config.acquisition.name, surrogate=config.surrogate, n_inducing=config.n_inducing,
            acquisition_options=config.acquisition, batch_size=config.batch_size, local_points=config.local_points,
            local_best=config.local_best, reserve_blocks=NOVEL_RESERVE_BLOCKS if getattr(config, "novel_only", False) else 0,
        )

    @classmethod
    def offers_reserve(cls, config: Any) -> bool:
        return check_strategy(cls.name, config.acquisition.name) == "ts"  # EI batches are optimised jointly: no ranking beyond q

    def start(self, initial: Observations) -> None:
        dim = initial.x.shape[-1]
        self.region = TrustRegion(dim=dim, batch_size=self.batch_size or 1, best_value=float(initial.y.max()), **self.region_settings)
        self._weights, self._surrogate = None, None

    def observe(self, x: Tensor, y: Tensor) -> None:
        if self.region is None:
            raise RuntimeError("TurboStrategy.observe before start")
        self.region = update_trust_region(self.region, float(y.max()) if y.numel() else -math.inf)

    def state(self) -> dict[str, Any]:
        return self.region.as_dict() if self.region is not None else {}

    def _surrogate_for(self, n_points: int) -> WarmSurrogate:
        kind = "exact" if self.surrogate_kind == "local" else self.surrogate_kind
        if kind == "auto":
            from lsbo.bo.surrogates import choose_kind

            kind = choose_kind("auto", n_points)
        if self._surrogate is None or self._surrogate.kind != kind:
            self._surrogate = WarmSurrogate(kind, n_inducing=self.n_inducing, options=self.fit_options, warm=self.warm)
        return self._surrogate

    def propose(self, observations: Observations, q: int, seed: int) -> Proposal:
        if self.region is None:
            self.start(observations)
        assert self.region is not None
        x, y, bounds = observations.x, observations.y, observations.bounds
        lower, width = bounds[0], bounds[1] - bounds[0]
        u = (x - lower) / width
        center = u[torch.argmax(y)]
        fit_x, fit_y = x, y
        if self.surrogate_kind == "local":
            weights = self._weights if self._weights is not None else torch.ones_like(center)
            chosen = local_subset(u, y, center, weights, self.local_points, self.local_best)
            fit_x, fit_y = x[chosen], y[chosen]
        surrogate = self._surrogate_for(len(fit_y))
        model, metrics = surrogate.fit(fit_x, fit_y, bounds, seed=seed)
        fitted = time.perf_counter()
        scales = lengthscales_of(model)
        if scales is not None:
            self._weights = scales / torch.exp(torch.log(scales).mean())
        region_unit = region_bounds(center, self.region.length, scales)
        region_box = lower + width * region_unit  # (2, d) in latent units: the model normalises itself
        reserve = None
        if self.acquisition == "ts":
            n_candidates = max(q, self.n_candidates or default_candidate_count(x.shape[-1]))
            candidates = lower + width * perturbation_candidates(center, region_unit, n_candidates, seed=seed)
            latents = thompson_batch(model, candidates, q, seed=seed)
            blocks = []  # the batch above is the one a run without a reserve draws
            for k in range(1, self.reserve_blocks + 1):
                # iteration seeds are consecutive integers: seed * 1009 + k is none of them (k < 1009)
                block_seed = seed * 1009 + k
                wider = region_bounds(center, min(self.region.length * 2**k, self.region.length_max), scales)
                pool = lower + width * perturbation_candidates(center, wider, n_candidates, seed=block_seed)
                blocks.append(thompson_batch(model, pool, q, seed=block_seed))
            if blocks:
                reserve = torch.cat(blocks).detach().to("cpu", torch.float64)
        else:
            latents = self._ei_batch(model, float(y.max()), region_box, q, seed)
        metrics |= {"acquisition_seconds": round(time.perf_counter() - fitted, 3), "test_rmse": None, "test_loglik": None,
                    "n_heldout": 0, **self.region.as_dict()}
        return Proposal(latents.detach().to("cpu", torch.float64), metrics, reserve=reserve)

    def _ei_batch(self, model: Any, best_f: float, box: Tensor, q: int, seed: int) -> Tensor:
        from botorch.acquisition.logei import qLogExpectedImprovement
        from botorch.acquisition.monte_carlo import qExpectedImprovement
        from botorch.optim import optimize_acqf
        from botorch.sampling import SobolQMCNormalSampler

        options = self.acquisition_options
        sampler = SobolQMCNormalSampler(sample_shape=torch.Size([options.mc_samples]), seed=seed)
        kind = qLogExpectedImprovement if self.acquisition == "qlogei" else qExpectedImprovement
        # best_f in target units: the model untransforms
        acquisition = kind(acquisition_model(model), best_f=best_f, sampler=sampler)
        with torch.random.fork_rng(devices=[]), dense_linear_algebra():
            torch.manual_seed(seed)
            candidates, _ = optimize_acqf(
                acquisition, bounds=box, q=q, num_restarts=options.num_restarts, raw_samples=options.raw_samples,
                options={"maxiter": options.max_iterations, "seed": seed}, sequential=options.sequential,
                retry_on_optimization_warning=False,
            )
        return candidates


#: The registered strategies' names, for ``--strategy`` choices and experiment specs.
STRATEGY_NAMES: tuple[str, ...] = tuple(STRATEGIES)
