"""The settings of an optimisation run (:class:`BOConfig`), their validation, and the memory check
that refuses a run whose surrogate or acquisition cannot fit (:func:`check_memory`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import torch

from lsbo.bo.accounting import check_accounting, max_iterations
from lsbo.bo.acquisition import AcquisitionOptions, acquisition_bytes
from lsbo.bo.candidates import MAX_DECODE_ROWS
from lsbo.bo.retraining import RetrainOptions
from lsbo.bo.strategies import check_strategy, check_surrogate
from lsbo.bo.surrogates import SparseTraining, choose_kind
from lsbo.bo_defaults import BATCH_SIZE, ITERATIONS, N_INDUCING, TRIALS
from lsbo.components import STRATEGIES
from lsbo.device import available_memory_bytes
from lsbo.errors import ConfigError
from lsbo.objectives.isolation import IsolationOptions
from lsbo.options import MAX_SEED

#: The most decodings per point: one point's attempts must fit in one decoder batch.
MAX_ATTEMPTS = MAX_DECODE_ROWS


@dataclass(frozen=True)
class BOConfig:
    """Settings of an optimisation run (defaults: the protocol's 5 x 5 x 50, :mod:`lsbo.bo_defaults`).

    ``strategy`` names a registered :class:`lsbo.bo.strategies.Strategy`; ``surrogate`` and
    ``acquisition.name`` left ``None`` take that strategy's defaults (:meth:`resolved`). ``budget``
    is the number of oracle calls per trial (each proposed point is one call, duplicates included;
    with ``budget_accounting="pmo"`` a call is a distinct valid molecule, :mod:`lsbo.bo.accounting`);
    without it a trial is ``iterations`` x ``batch_size`` calls. ``retrain`` turns on weighted
    retraining of the autoencoder (:mod:`lsbo.bo.retraining`). ``novel_only`` spends the calls on
    new strings: a proposed point whose decoded string is a training string or was evaluated earlier
    in the trial is replaced by the strategy's next reserve point that decodes to a new one (strategies
    that offer a reserve: turbo with Thompson sampling); what the reserve cannot replace is kept.
    """

    trials: int = TRIALS
    iterations: int = ITERATIONS
    batch_size: int = BATCH_SIZE
    surrogate: str | None = None
    n_inducing: int = N_INDUCING
    attempts: int | None = None  # decoding attempts per point; None = 500 molecules / 25 otherwise
    seed: int = 0
    heldout_fraction: float = 0.1
    max_train_points: int | None = None  # a random subset of the encoded training set (None = all)
    box: str = "data"  # "data": min/max of the training latents; "prior": the prior's box
    complete: bool = True  # length-aware decoding masks; False = plain Grammar VAE masking (the paper's)
    acquisition: AcquisitionOptions = field(default_factory=AcquisitionOptions)
    sparse_training: SparseTraining = field(default_factory=SparseTraining)
    strategy: str = "protocol"
    budget: int | None = None
    retrain: RetrainOptions | None = None
    local_points: int = 1000  # turbo's local surrogate: points nearest the trust region's centre ...
    local_best: int = 100  # ... plus the best ones
    novel_only: bool = False
    budget_accounting: str = "points"  # what a call is (lsbo.bo.accounting): every point, or PMO's distinct valid molecules
    # objective calls in child processes, N at once, each bounded (default: in this process, unbounded)
    objective_calls: IsolationOptions = field(default_factory=IsolationOptions)

    @property
    def calls_per_trial(self) -> int:
        """Oracle calls of one trial: ``budget``, or ``iterations`` x ``batch_size``."""
        return self.budget if self.budget is not None else self.iterations * self.batch_size

    @property
    def layout(self) -> tuple[int, int]:
        """(most iterations, batch size) of a trial: ``calls_per_trial`` in batches, the last one cut to
        fit (under ``pmo`` accounting, a multiple of that many batches: :mod:`lsbo.bo.accounting`)."""
        return max_iterations(self.budget_accounting, self.calls_per_trial, self.batch_size), self.batch_size

    def resolved(self) -> BOConfig:
        """This configuration with the strategy's default surrogate and acquisition filled in (validated)."""
        self.validate()
        acquisition = replace(self.acquisition, name=check_strategy(self.strategy, self.acquisition.name))
        return replace(self, strategy=STRATEGIES.check(self.strategy), surrogate=check_surrogate(self.strategy, self.surrogate),
                       acquisition=acquisition)

    def _check_retraining_happens(self) -> None:
        """Refuse weighted retraining that would never run.

        A retraining comes after a batch whose calls cross a multiple of ``retrain.every``, and never after
        the last batch (nothing is proposed after it), so ``every`` above the last-but-one batch's end
        retrains nothing: such a run would be plain BO under a "+ WR" label. Refused rather than warned
        about, since the user asked for retraining and the run's results would not be what they name.
        """
        assert self.retrain is not None
        if self.budget_accounting == "pmo":  # batches count what they cost (at most their size): any count below the budget can end one
            latest = self.calls_per_trial - 1
        else:
            latest = (math.ceil(self.calls_per_trial / self.batch_size) - 1) * self.batch_size  # the last batch end before the trial's end
        if self.retrain.every > latest:
            reach = (f"its last retraining point is after {latest} calls, so retrain.every must be at most {latest}" if latest
                     else "it is one batch, after which nothing is proposed; give it more iterations or a larger budget")
            raise ConfigError(
                f"retrain.every {self.retrain.every} never retrains: a trial of {self.calls_per_trial} calls in batches of "
                f"{self.batch_size} retrains only between batches, and {reach}", parameter=("retrain.every",))

    def validate(self) -> None:
        self.objective_calls.validate()
        check_accounting(self.budget_accounting)
        for name in ("trials", "iterations", "batch_size", "n_inducing", "local_points", "local_best"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}", parameter=name)
        if self.budget is not None and self.budget < 1:
            raise ConfigError(f"budget must be at least 1, got {self.budget}", parameter="budget")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise ConfigError(f"seed must be a whole number between 0 and {MAX_SEED} (got {self.seed})", parameter="seed")
        if self.retrain is not None:
            self.retrain.validate()
            self._check_retraining_happens()
        # checked here, before run.json is written: a typo found only at the first fit would leave a
        # run directory that the corrected command could neither start afresh nor resume
        check_strategy(self.strategy, self.acquisition.name)
        check_surrogate(self.strategy, self.surrogate)
        if self.attempts is not None and not 1 <= self.attempts <= MAX_ATTEMPTS:
            raise ConfigError(f"attempts {self.attempts}: must be 1 to {MAX_ATTEMPTS} decodings per point "
                              f"(all of one point's attempts go through the decoder in one batch; the protocol uses 500)",
                              parameter="attempts")
        if self.max_train_points is not None and self.max_train_points < 2:
            raise ConfigError(f"max_train_points {self.max_train_points}: the surrogate needs at least 2 training points",
                              parameter="max_train_points")
        if self.box not in ("data", "prior"):
            raise ConfigError(f"box {self.box!r}: expected data or prior", parameter="box")
        if not 0.0 <= self.heldout_fraction < 1.0:
            raise ConfigError(f"heldout_fraction must be in [0, 1), got {self.heldout_fraction}", parameter="heldout_fraction")
        if self.novel_only:
            acquisition = check_strategy(self.strategy, self.acquisition.name)
            if not STRATEGIES.get(self.strategy).offers_reserve(replace(self, acquisition=replace(self.acquisition, name=acquisition))):
                raise ConfigError(f"novel_only needs points ranked beyond the batch, which strategy {self.strategy} with "
                                  f"acquisition.name {acquisition} does not give (use strategy turbo with acquisition.name ts)",
                                  parameter=("novel_only", "strategy", "acquisition.name"))


def check_memory(config: BOConfig, n_points: int, device: torch.device | str, available: int | None = None) -> None:
    """Refuse a run whose surrogate or acquisition cannot fit in memory, naming the parameter to change.

    The largest sizes come at the last iteration: ``n_points`` training points plus every earlier
    batch. The exact GP holds an n x n kernel matrix (and its Cholesky factor and a copy); the
    sparse GP n x m for m inducing points; batch EI needs :func:`lsbo.bo.acquisition.acquisition_bytes`.
    """
    n_final = n_points + config.calls_per_trial - min(config.batch_size, config.calls_per_trial)
    surrogate_kind = check_surrogate(config.strategy, config.surrogate)
    if surrogate_kind not in ("auto", "exact", "sparse", "local"):
        return  # a plug-in strategy's own surrogate: its memory is not known here
    if surrogate_kind == "local":  # turbo's exact GP on the points near its centre plus the best
        n_final = min(n_final, config.local_points + config.local_best)
    kind = "exact" if surrogate_kind == "local" else choose_kind(surrogate_kind, n_final)
    n_kernel = n_final if kind == "exact" else min(config.n_inducing, n_final)
    surrogate = 3 * 8 * n_final * n_kernel
    # Thompson sampling draws pathwise samples on a few thousand candidates: far below batch EI's needs
    acquisition = 0 if config.acquisition.name == "ts" else acquisition_bytes(config.batch_size, n_kernel, config.acquisition)
    available = available_memory_bytes(device) if available is None else available
    if surrogate + acquisition <= available:
        return
    gib = lambda n: f"{n / 2**30:.3g} GiB"
    if acquisition >= surrogate:
        advice = f"batch_size {config.batch_size} asks batch EI for {gib(acquisition)}"
        remedy, named = "a smaller batch_size", ("batch_size",)
    else:
        advice = f"the {kind} GP on up to {n_final} points needs {gib(surrogate)}"
        remedy = "max_train_points" + (" or surrogate sparse" if kind == "exact" else " or fewer n_inducing")
        named = ("max_train_points", "surrogate" if kind == "exact" else "n_inducing")
    raise ConfigError(f"{advice}, more than the {gib(available)} available on {torch.device(device).type}; use {remedy}",
                      parameter=named)
