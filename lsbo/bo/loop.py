"""The latent-space Bayesian-optimisation loop (docs/protocols.md §4; paper Section 4.3, Tables 2 and 3).

Every training string is encoded (latent means) and scored; those points seed a GP surrogate. Each
iteration fits the surrogate, picks a batch of q latent points by batch expected improvement inside
the search box, decodes each point by repeated stochastic decoding, scores the strings and adds the
valid ones to the data. Trials are independent and seeded.

Persistence is what makes long runs safe: the run directory (its layout, atomic writes and validated
reads are :mod:`lsbo.bo.store`) keeps the settings, the encoded training set (computed once), each
iteration's batch (written before any of it is scored) and one fsync'ed line per evaluation. A
resumed run re-reads them, so it re-scores nothing and never scores a point twice: each
``(trial, iteration, index)`` appears exactly once in the final files.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from lsbo.bo.accounting import CallCounter, check_accounting, max_iterations, trial_complete
from lsbo.bo.acquisition import AcquisitionOptions, acquisition_bytes
from lsbo.bo.candidates import MAX_DECODE_ROWS, decode_candidates, default_attempts
from lsbo.bo.retraining import RetrainOptions, fine_tune, retrain_due
from lsbo.bo.store import (  # noqa: F401 - re-exported: the store's names were the loop's before the split
    EVALUATIONS_FILE,
    INITIAL_DATA_FILE,
    RESUME_KEYS,
    RUN_FILE,
    InitialData,
    RunStore,
    TrialStore,
    append_record,
    read_json,
    read_records,
    write_json_atomic,
)
from lsbo.bo.strategies import STRATEGIES, Observations, Strategy, check_strategy, check_surrogate
from lsbo.bo.surrogates import SparseTraining, box_bounds, choose_kind
from lsbo.device import available_memory_bytes
from lsbo.errors import ConfigError, LsboError
from lsbo.objectives.base import Evaluation, ItemwiseObjective, Objective, evaluate_safely
from lsbo.objectives.isolation import IsolationOptions, evaluate_isolated

logger = logging.getLogger(__name__)

#: The most decodings per point: one point's attempts must fit in one decoder batch.
MAX_ATTEMPTS = MAX_DECODE_ROWS


@dataclass(frozen=True)
class BOConfig:
    """Settings of an optimisation run (defaults: the protocol's 5 x 5 x 50).

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

    trials: int = 5
    iterations: int = 5
    batch_size: int = 50
    surrogate: str | None = None
    n_inducing: int = 500
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
        return replace(self, surrogate=check_surrogate(self.strategy, self.surrogate), acquisition=acquisition)

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
        from lsbo.options import MAX_SEED

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
            if not STRATEGIES[self.strategy].offers_reserve(replace(self, acquisition=replace(self.acquisition, name=acquisition))):
                raise ConfigError(f"novel_only needs points ranked beyond the batch, which strategy {self.strategy} with "
                                  f"acquisition.name {acquisition} does not give (use strategy turbo with acquisition.name ts)",
                                  parameter=("novel_only", "strategy", "acquisition.name"))


# ---------------------------------------------------------------------------------------------
# small pure steps


def to_target(scores: Tensor, maximize: bool) -> Tensor:
    """The GP target: BoTorch maximises, so minimisation scores are negated."""
    return scores if maximize else -scores


def trial_seed(seed: int, trial: int) -> int:
    """Independent, reproducible seed of trial ``trial`` (1-based)."""
    return seed * 1_000_003 + trial * 7919


def search_box(model: Any, latents: Tensor, box: str) -> Tensor:
    """(2, d) bounds: the training latents' box, or the prior's (means -/+ 3 std over components)."""
    if box == "data":
        return box_bounds(latents.to(torch.float64))
    prior = model.prior
    means = getattr(prior, "means", None)
    stds = getattr(prior, "stds", None)
    if means is None:  # a standard-normal prior
        d = latents.shape[1]
        return torch.stack([torch.full((d,), -3.0), torch.full((d,), 3.0)]).to(torch.float64)
    means = means.detach().cpu().to(torch.float64)
    spread = 3.0 * (stds.detach().cpu().to(torch.float64) if stds is not None else torch.ones(1, dtype=torch.float64))
    spread = spread.reshape(-1, 1) if spread.ndim == 1 else spread
    return torch.stack([(means - spread).min(dim=0).values, (means + spread).max(dim=0).values])


#: How many per-string reasons a refusal shows when too few training strings could be scored.
SHOWN_REASONS = 3


def score_strings(objective: Objective, strings: Sequence[str | None], calls: IsolationOptions) -> list[Evaluation]:
    """Score in this process, or (``calls.isolated_for(objective)``: user objectives by default) each
    string in a bounded child process."""
    if calls.isolated_for(objective):
        return evaluate_isolated(objective, strings, workers=calls.workers, timeout=calls.timeout_seconds)
    return evaluate_safely(objective, strings)


def prepare_initial_data(
    model: Any, objective: Objective, *, max_points: int | None, seed: int,
    calls: IsolationOptions = IsolationOptions(),
) -> InitialData:
    """Encode and score the model's training strings; drop those that fail either step."""
    strings = model.training_strings()
    if max_points is not None and max_points < len(strings):
        chosen = np.sort(np.random.default_rng(seed).choice(len(strings), size=max_points, replace=False))
        strings = [strings[i] for i in chosen]
    logger.info("encoding %d training strings", len(strings))
    latents, ok = model.encode(strings)
    latents = latents.detach().float().cpu()
    logger.info("scoring %d encoded strings with %s", int(np.sum(ok)), objective.name)
    keep: list[int] = []
    scores: list[float] = []
    reasons: list[str] = []  # why each dropped string was dropped, in order, for the refusal below
    for i, evaluation in enumerate(score_strings(objective, [s if good else None for s, good in zip(strings, ok)], calls)):
        if not ok[i]:
            reasons.append(f"{strings[i]!r}: the model cannot encode it")
        elif not bool(torch.isfinite(latents[i]).all()):
            reasons.append(f"{strings[i]!r}: its latent point is not finite")
        elif not evaluation.valid:
            reasons.append(f"{strings[i]!r}: {evaluation.error}")
        else:
            keep.append(i)
            scores.append(float(evaluation.score))  # type: ignore[arg-type]
    if len(keep) < 2:
        shown = "; ".join(reason[:300] for reason in reasons[:SHOWN_REASONS])
        raise ConfigError(f"only {len(keep)} of {len(strings)} training strings could be encoded and scored by "
                          f"{objective.name}; need at least 2. First reasons: {shown}")
    return InitialData([strings[i] for i in keep], latents[keep], torch.tensor(scores, dtype=torch.float64))


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


# ---------------------------------------------------------------------------------------------
# the loop


@dataclass
class RunContext:
    """Everything one trial needs, shared across trials."""

    model: Any
    objective: Objective
    config: BOConfig
    initial: InitialData
    bounds: Tensor
    attempts: int
    device: torch.device
    on_evaluation: Callable[[dict[str, Any]], None]
    training_strings: frozenset[str] = frozenset()  # what novel_only treats as known besides the trial's own


def strategy_for(config: BOConfig) -> Strategy:
    """A fresh instance of the configured strategy for one trial (``config`` resolved)."""
    check_strategy(config.strategy, config.acquisition.name)
    return STRATEGIES[config.strategy].from_config(config)


@dataclass
class TrialData:
    """What a trial has learnt so far, in the latent space of its current model.

    ``x`` (n, d) and ``y`` (n,) are the GP's points and maximisation targets (training set first);
    ``known`` maps every string evaluated so far in the trial to its score (``None``: it has none),
    so a repeated string is not scored again (as in the PMO benchmark, whose oracle-call buffer holds
    the optimiser's own calls: a training string decoded for the first time is scored).
    """

    model: Any
    x: Tensor
    y: Tensor
    bounds: Tensor
    known: dict[str, float | None]
    evaluated: list[str] = field(default_factory=list)  # distinct valid evaluated strings, first-seen order


def _choose_batch(ctx: RunContext, strategy: Strategy, data: TrialData, trial: int, iteration: int, q: int) -> dict[str, Any]:
    """Let the strategy propose ``q`` latents and decode them: the batch of one iteration."""
    seed = trial_seed(ctx.config.seed, trial) + iteration
    started = time.perf_counter()
    observations = Observations(data.x, data.y, data.bounds)
    proposal = strategy.propose(observations, q, seed)
    proposed = time.perf_counter()
    model = data.model
    generator = torch.Generator(device=model.device).manual_seed(seed)
    def decode(latents: Tensor) -> list[Any]:
        return decode_candidates(model, latents.float(), attempts=ctx.attempts, is_valid=ctx.objective.is_valid,
                                 generator=generator, complete=ctx.config.complete)

    latents, decoded = proposal.latents.clone(), decode(proposal.latents)
    replacement: dict[str, int] = {}
    if ctx.config.novel_only:
        def known(string: str) -> bool:  # no copy of the 100k training strings per iteration
            return string in ctx.training_strings or string in data.known

        latents, decoded, replacement = replace_known(latents, decoded, proposal.reserve, known, decode)
    finished = time.perf_counter()
    metrics = proposal.metrics | replacement | {
        "decode_seconds": round(finished - proposed, 3),
        "iteration_seconds": round(finished - started, 3),
    }
    return {
        "trial": trial, "iteration": iteration, "strategy": strategy.name, "model_dir": str(getattr(model, "model_dir", "")),
        "surrogate_metrics": metrics,
        "latents": latents.tolist(),
        "strings": [c.string for c in decoded],
        "decode_counts": [c.count for c in decoded],
        "valid_attempts": [c.n_valid_attempts for c in decoded],
        "attempts": ctx.attempts,
    }


def replace_known(
    latents: Tensor, decoded: list[Any], reserve: Tensor | None, known: Callable[[str], bool],
    decode: Callable[[Tensor], list[Any]],
) -> tuple[Tensor, list[Any], dict[str, int]]:
    """Replace the points whose decoded strings are ``known(string)`` (or repeat an earlier point of the batch).

    ``latents`` (q, d) and their ``decoded`` candidates (with ``.string``); ``reserve`` (m, d) are
    further points in order of preference, decoded a chunk at a time (as many as there are points
    left to replace) by ``decode``. A reserve point replaces the first point still to replace when its
    string is valid and new; points without a string are kept (they are calls either way). Returns the
    batch and ``{"novel_replaced", "novel_unreplaced", "reserve_decoded"}``.
    """
    taken: set[str] = set()
    slots = []
    for index, candidate in enumerate(decoded):
        if candidate.string is None:
            continue
        if known(candidate.string) or candidate.string in taken:
            slots.append(index)
        else:
            taken.add(candidate.string)
    replaced, used = 0, 0
    pool = reserve if reserve is not None else latents[:0]
    while slots and used < len(pool):
        chunk = pool[used : used + len(slots)]
        used += len(chunk)
        for latent, candidate in zip(chunk, decode(chunk)):
            if not slots:
                break
            if candidate.string is not None and not known(candidate.string) and candidate.string not in taken:
                index = slots.pop(0)
                latents[index], decoded[index] = latent.to(latents.dtype), candidate
                taken.add(candidate.string)
                replaced += 1
    return latents, decoded, {"novel_replaced": replaced, "novel_unreplaced": len(slots), "reserve_decoded": used}


def _log_batch(trial: int, iteration: int, metrics: dict[str, Any]) -> None:
    def shown(value: Any) -> Any:
        return value if value is None else round(value, 4)

    region = f", trust region {metrics['tr_length']:.3g}" if "tr_length" in metrics else ""
    if metrics.get("test_rmse") is None:  # e.g. turbo, whose local GP is fitted on every point: nothing to check it on
        check = "no held-out points to check it on"
    else:
        check = f"held-out RMSE {shown(metrics['test_rmse'])}, log-lik {shown(metrics.get('test_loglik'))}"
    logger.info(
        f"trial {trial} iteration {iteration}: {metrics['surrogate']} GP on {metrics['n_train']} points, "
        f"{check}{region}; "
        f"fit {metrics['fit_seconds']}s, acquisition {metrics['acquisition_seconds']}s, decoding {metrics['decode_seconds']}s"
    )


def _evaluate_batch(
    ctx: RunContext, store: TrialStore, batch: dict[str, Any], trial: int, iteration: int, data: TrialData,
    done: dict[tuple[int, int], dict[str, Any]],
) -> None:
    """Score the batch's pending points, appending each record as it is made.

    A string seen before (earlier in the trial, this batch included) is not scored again: its known score is reused and the record says ``"duplicate": true``. A batch
    objective (perhaps vectorised) is called once on the iteration's new strings; an item-wise one
    per string, so each record is on disk as soon as it is scored. ``evaluate_safely`` isolates an
    input that raises in either case.
    """
    pending = [i for i in range(len(batch["latents"])) if (iteration, i) not in done]
    calls = ctx.config.objective_calls
    # several isolated calls at once (--objective-workers) score the whole pending batch in parallel; one at a
    # time, each record is on disk as soon as its string is scored, in child processes or not
    one_by_one = isinstance(ctx.objective, ItemwiseObjective) and calls.workers == 1
    chunk = 1 if one_by_one else max(1, len(pending))
    for start in range(0, len(pending), chunk):
        indices = pending[start : start + chunk]
        strings = [batch["strings"][i] for i in indices]
        fresh = list(dict.fromkeys(s for s in strings if s is not None and s not in data.known))
        started = time.perf_counter()
        scored = dict(zip(fresh, score_strings(ctx.objective, fresh, calls))) if fresh else {}
        seconds = (time.perf_counter() - started) / max(1, len(fresh))
        no_string = evaluate_safely(ctx.objective, [None])[0] if None in strings else None
        for index, string in zip(indices, strings):
            duplicate = string is not None and string not in scored and string in data.known
            if string is None:
                score, error = None, no_string.error  # type: ignore[union-attr]
            elif duplicate:
                score, error = data.known[string], None if data.known[string] is not None else "seen before, without a score"
            else:
                evaluation = scored.pop(string)  # a second copy in this batch is a duplicate of the first
                score, error = evaluation.score, evaluation.error
            record = {
                "trial": trial, "iteration": iteration, "index": index, "string": string,
                "latent": batch["latents"][index], "score": score, "valid": score is not None, "error": error,
                "duplicate": duplicate, "time": time.time(), "seconds": 0.0 if duplicate or string is None else round(seconds, 6),
            }
            store.append(record)
            done[(iteration, index)] = record
            _remember(data, record)
            ctx.on_evaluation(record)


def _remember(data: TrialData, record: dict[str, Any]) -> None:
    string = record["string"]
    if string is not None and string not in data.known:
        data.known[string] = record["score"]
        if record["valid"]:
            data.evaluated.append(string)


@dataclass
class PendingEncoding:
    """A retraining round whose latent space is not computed yet: the fine-tuned model's encoding of
    ``strings`` (with maximisation ``targets``) as they stood at the round, plus the replayed batches
    observed since, each (new_x (m, d), new_y (m,)) as recorded (points of the new latent space: they
    were proposed in it before the interruption)."""

    round_: int
    strings: list[str]
    targets: list[float]
    observed: list[tuple[Tensor, Tensor]] = field(default_factory=list)


def _retrain(ctx: RunContext, data: TrialData, store: TrialStore, trial: int, round_: int) -> tuple[TrialData, PendingEncoding]:
    """Fine-tune the trial's model on the training strings plus the evaluated ones (rank weights).

    Returns the trial data with the new model and what re-encoding its latent space needs. The
    re-encoding itself (:func:`_encode_round`) waits until a batch must be proposed: a resumed trial
    replays stored batches through several rounds, and only the last round's latent space is used
    (re-encoding the 100k expressions takes about 20 s per round).
    """
    from lsbo.models import load_model

    retrain = ctx.config.retrain
    assert retrain is not None
    maximize = ctx.objective.maximize
    scores = dict(zip(ctx.initial.strings, ctx.initial.scores.tolist())) | {s: data.known[s] for s in data.evaluated}
    strings = list(scores)  # distinct: training strings first, then the evaluated ones not among them
    targets = [float(scores[s]) if maximize else -float(scores[s]) for s in strings]  # type: ignore[arg-type]
    out_dir = store.directory / f"retrain_{round_}"
    fine_tune(data.model, strings, targets, out_dir, retrain, seed=trial_seed(ctx.config.seed, trial) + 100_000 * round_)
    return replace(data, model=load_model(out_dir, device=ctx.device)), PendingEncoding(round_, strings, targets)


def _encode_round(ctx: RunContext, data: TrialData, pending: PendingEncoding, trial: int) -> TrialData:
    """The trial data in the latent space of ``data.model`` (a retrained model): ``pending``'s strings
    re-encoded, then the batches observed since the round appended, as the uninterrupted run had them."""
    model, strings, targets = data.model, pending.strings, pending.targets
    latents, ok = model.encode(strings)
    usable = np.asarray(ok, dtype=bool) & torch.isfinite(latents).all(dim=1).cpu().numpy()
    keep = np.flatnonzero(usable).tolist()
    x = latents[keep].detach().to(ctx.device, torch.float64)
    y = torch.tensor([targets[i] for i in keep], dtype=torch.float64, device=ctx.device)
    n_training = len(set(ctx.initial.strings))  # the first entries of `strings`
    n_initial = sum(1 for i in keep if i < n_training)
    bounds = search_box(model, x[:n_initial].float().cpu(), ctx.config.box).to(ctx.device)
    logger.info(f"trial {trial}: retrained model {pending.round_} ({model.model_dir}); "
                f"{len(keep)} of {len(strings)} strings re-encoded")
    return replace(data, x=x, y=y, bounds=bounds)


def run_trial(ctx: RunContext, trial: int, trial_dir: Path | TrialStore) -> list[dict[str, Any]]:
    """Run (or continue) one trial; returns its evaluation records in (iteration, index) order.

    A trial is iterations of (propose, decode, score, observe) until it has made
    ``config.calls_per_trial`` calls, the last batch cut to the calls left. A resumed trial replays
    the stored batches and records through the same steps without proposing or scoring them again,
    so the strategy's state, the retraining rounds and the data are those of the uninterrupted run.
    """
    store = trial_dir if isinstance(trial_dir, TrialStore) else TrialStore(trial_dir, trial)
    store.directory.mkdir(parents=True, exist_ok=True)
    done = {(r["iteration"], r["index"]): r for r in store.read_records(layout=ctx.config.layout)}
    config, maximize = ctx.config, ctx.objective.maximize
    stored = CallCounter(config.budget_accounting, getattr(ctx.model, "kind", None))
    stored.add(done[key] for key in sorted(done))
    if stored.calls >= config.calls_per_trial:
        # Complete: nothing to propose, so no state to rebuild. Replaying would redo every retraining
        # round's re-encoding of the training set (minutes on the 100k expressions), e.g. in the process
        # that collects the results after its workers ran the trials. Its batch files are still read, so
        # that a damaged one is reported as on any resume.
        for iteration in sorted({key[0] for key in done}):
            store.read_candidates(iteration)
        return [done[key] for key in sorted(done)]
    device = ctx.device  # the data stay on the model's device across iterations
    data = TrialData(
        model=ctx.model, x=ctx.initial.latents.to(device, torch.float64), y=to_target(ctx.initial.scores, maximize).to(device),
        bounds=ctx.bounds.to(device), known={},
    )
    strategy = strategy_for(config)
    strategy.start(Observations(data.x, data.y, data.bounds))
    pending: PendingEncoding | None = None  # the last retraining round, until its latent space is needed
    calls, iteration = 0, 0
    counter = CallCounter(config.budget_accounting, getattr(ctx.model, "kind", None))  # counted again as replayed
    while calls < config.calls_per_trial and iteration < config.layout[0]:
        iteration += 1
        batch = store.read_candidates(iteration)
        if batch is None:
            if pending is not None:  # the strategy starts over in the new latent space, then sees the batches since
                data = _encode_round(ctx, data, pending, trial)
                strategy.start(Observations(data.x, data.y, data.bounds))
                for seen_x, seen_y in pending.observed:
                    data.x, data.y = torch.cat([data.x, seen_x]), torch.cat([data.y, seen_y])
                    strategy.observe(seen_x, seen_y)
                pending = None
            batch = _choose_batch(ctx, strategy, data, trial, iteration, min(config.batch_size, config.calls_per_trial - calls))
            store.write_candidates(iteration, batch)
            _log_batch(trial, iteration, batch["surrogate_metrics"])
        else:  # a replayed batch: the records already made join the data as they did then
            for i in range(len(batch["latents"])):
                if (iteration, i) in done:
                    _remember(data, done[(iteration, i)])
        _evaluate_batch(ctx, store, batch, trial, iteration, data, done)
        new = [done[(iteration, i)] for i in range(len(batch["latents"])) if done[(iteration, i)]["valid"]]
        new_x = torch.tensor([r["latent"] for r in new], dtype=torch.float64, device=device).reshape(len(new), data.x.shape[1])
        new_y = to_target(torch.tensor([r["score"] for r in new], dtype=torch.float64, device=device), maximize)
        if pending is None:
            data.x, data.y = torch.cat([data.x, new_x]), torch.cat([data.y, new_y])
            strategy.observe(new_x, new_y)
        else:  # a replayed batch after a round not yet re-encoded: it joins once the latent space is there
            pending.observed.append((new_x, new_y))
        counter.add(done[(iteration, i)] for i in range(len(batch["latents"])))
        before, calls = calls, counter.calls
        if config.retrain is not None and calls < config.calls_per_trial and retrain_due(before, calls, config.retrain.every):
            # a new latent space: the strategy starts over in it when the next batch is proposed
            data, pending = _retrain(ctx, data, store, trial, calls // config.retrain.every)
    return [done[key] for key in sorted(done)]


def run_optimization(
    model: Any,
    objective: Objective,
    out_dir: Path,
    config: BOConfig = BOConfig(),
    *,
    target: str | None = None,
    resume: bool = False,
    on_evaluation: Callable[[dict[str, Any]], None] = lambda record: None,
    only_trials: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Run ``config.trials`` seeded trials into ``out_dir`` and write the results; returns results.json's content.

    ``on_evaluation`` is called after each evaluation is on disk (for progress bars). ``only_trials``
    runs just those trials (1-based), e.g. one per process in parallel into the same ``out_dir`` (all
    but the first with ``resume``): trial k's seeds depend only on k, so its evaluations are those of
    a run of all trials in one process. The results are written by whichever call finds every trial
    complete; until then the return value is ``{"complete": False, "pending_trials": [...]}``.
    """
    from lsbo.bo.results import summarize_run, write_outputs

    config = config.resolved()
    selected = check_run(model, out_dir, config, only_trials)
    out_dir = Path(out_dir)
    settings = _settings(model, objective, config, target)
    attempts = settings["attempts"]
    store = RunStore(out_dir)
    purpose = f"lsbo optimize --out {out_dir}"
    trial_locks: list[Any] = []
    try:
        with store.lock(purpose):
            store.open(settings, resume, purpose=purpose)
            # each trial has one owner: a second process asked to run it is refused before it scores anything
            trial_locks = [store.trial(k).lock(purpose) for k in selected]
            for k in selected:  # a damaged log is reported now, not after the training set is encoded
                store.trial(k).read_records(layout=config.layout)
            initial = _initial_data(store, model, objective, config)
        logger.info("%d training points; best training score %.4g", len(initial.strings), _best(initial.scores, objective.maximize))
        ctx = RunContext(
            model=model, objective=objective, config=config, initial=initial,
            bounds=search_box(model, initial.latents, config.box), attempts=attempts,
            device=torch.device(getattr(model, "device", "cpu")), on_evaluation=on_evaluation,
            training_strings=frozenset(_training_strings(model, initial)) if config.novel_only else frozenset(),
        )
        trials = {k: run_trial(ctx, k, store.trial(k)) for k in selected}
        with store.lock(purpose):
            per_trial = config.calls_per_trial
            for k in sorted(set(range(1, config.trials + 1)) - set(selected)):
                trials[k] = store.trial(k).read_records(repair=False, layout=config.layout)
            pending = [k for k in sorted(trials) if not trial_complete(trials[k], config, store.trial(k), getattr(model, "kind", None))]
            if pending:
                logger.info(f"trials {', '.join(map(str, selected))} done; waiting for trial(s) {', '.join(map(str, pending))} "
                            "before results.json and table.md are written (the call that completes the last one writes them)")
                return {"complete": False, "pending_trials": pending}
            trials = {k: sorted(records, key=lambda r: (r["iteration"], r["index"])) for k, records in sorted(trials.items())}
            results = summarize_run(trials, objective=objective, settings=settings,
                                    training_best=_best(initial.scores, objective.maximize),
                                    model_evaluation=_model_evaluation(model), budget=per_trial,
                                    training_strings=_training_strings(model, initial))
            for warning in results["warnings"]:
                logger.warning(warning)
            from lsbo.report import model_description

            write_outputs(out_dir, results, trials, model_kind=getattr(model, "kind", None), model_description=model_description(model))
            return results
    finally:
        for lock in trial_locks:
            lock.release()


def prepare_run(
    model: Any, objective: Objective, out_dir: Path | str, config: BOConfig, *, target: str | None = None,
    resume: bool = False,
) -> InitialData:
    """Open the run (check or write ``run.json``) and load or compute its encoded, scored training set.

    What a process that hands the trials to workers does first, so that none of them computes it.
    """
    config = config.resolved()  # as run_optimization does: the units' settings must equal these
    check_run(model, out_dir, config)
    store = RunStore(Path(out_dir))
    purpose = f"lsbo optimize --out {out_dir}"
    with store.lock(purpose):
        store.open(_settings(model, objective, config, target), resume, purpose=purpose)
        return _initial_data(store, model, objective, config)


def _settings(model: Any, objective: Objective, config: BOConfig, target: str | None) -> dict[str, Any]:
    """run.json's content."""
    return {
        "target": target or objective.name, "objective": objective.name, "maximize": objective.maximize,
        "model_dir": str(getattr(model, "model_dir", "")), "model_kind": getattr(model, "kind", None),
        **{k: v for k, v in asdict(config).items() if k not in ("acquisition", "sparse_training")},
        "attempts": config.attempts or default_attempts(getattr(model, "kind", "strings"), _reads_previous(model)),
        "acquisition": asdict(config.acquisition), "sparse_training": asdict(config.sparse_training),
        "masking": _masking(model, config.complete),
    }


def check_run(model: Any, out_dir: Path | str, config: BOConfig, only_trials: Sequence[int] | None = None) -> list[int]:
    """Every check that needs no computation, before anything is written; returns the trials to run.

    The settings themselves, the trial numbers, that ``out_dir`` can be a directory, and that the
    run's largest surrogate and acquisition fit in the memory of the model's device.
    """
    config.validate()
    selected = _selected_trials(only_trials, config.trials)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"out_dir {out_dir} is a file, not a directory: name a new or existing run directory",
                          parameter="out_dir")
    n_strings = len(model.training_strings())
    check_memory(config, min(n_strings, config.max_train_points or n_strings), getattr(model, "device", "cpu"))
    return selected


def _initial_data(store: RunStore, model: Any, objective: Objective, config: BOConfig) -> InitialData:
    """The cached initial data, or computed and saved; a failure says that the run may be restarted."""
    initial = store.load_initial()
    if initial is not None:
        return initial
    try:
        initial = prepare_initial_data(model, objective, max_points=config.max_train_points, seed=config.seed,
                                       calls=config.objective_calls)
    except LsboError as err:
        if store.scored_anything():
            raise
        # run.json is already written; say that it does not stand in the way of the corrected command
        # (the names said mid-sentence join the error's own; a single leading name stays as it is)
        named = err.parameter if isinstance(err.parameter, str) else (*(err.parameter or ()), "out_dir", "resume")
        raise type(err)(f"{err} (nothing has been scored in {store.root}: the corrected command may use the same out_dir, "
                        "with or without resume, and starts the run afresh)", parameter=named) from None
    store.save_initial(initial)
    return initial


def _model_evaluation(model: Any) -> dict[str, Any] | None:
    """The model's ``evaluation.json`` (``lsbo evaluate``), if it has a readable one."""
    from lsbo.persistence import PersistenceError
    from lsbo.persistence import read_json as read_json_file

    path = Path(str(getattr(model, "model_dir", ""))) / "evaluation.json"
    try:
        return read_json_file(path, what="model evaluation") if path.is_file() else None
    except PersistenceError:
        return None  # it only adds warnings; a damaged one is lsbo evaluate's to report


def _selected_trials(only_trials: Sequence[int] | None, n_trials: int) -> list[int]:
    if only_trials is None:
        return list(range(1, n_trials + 1))
    outside = [k for k in only_trials if not 1 <= k <= n_trials]
    if outside or not only_trials:
        raise ConfigError(f"only_trials {outside or 'none given'}: trials are numbered 1 to {n_trials} (a run of {n_trials} trials)",
                          parameter="only_trials")
    return sorted(set(only_trials))


def _training_strings(model: Any, initial: InitialData) -> set[str]:
    """Every string the model was trained on (for rediscoveries), or the encoded ones if it cannot say."""
    try:
        return set(model.training_strings())
    except (AttributeError, LsboError):
        return set(initial.strings)


def _masking(model: Any, complete: bool) -> str:
    """The decoding mask recorded in run.json (``length-aware``/``plain``; ``none`` for a model without one)."""
    describe = getattr(model, "masking", None)
    return describe(complete) if callable(describe) else "none"


def _best(scores: Tensor | Sequence[float], maximize: bool) -> float:
    values = torch.as_tensor(scores, dtype=torch.float64)
    return float(values.max() if maximize else values.min()) if values.numel() else math.nan


def _reads_previous(model: Any) -> bool:
    """Whether the model's decoder reads the symbols it has chosen (lsbo.models.decoders)."""
    decoder = getattr(getattr(model, "autoencoder", None), "decoder", None)
    return bool(getattr(decoder, "reads_previous", False))
