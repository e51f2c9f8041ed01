"""One trial of latent-space BO (docs/protocols.md §4): the initial data, and the iterations of
(propose, decode, score, observe) with novelty replacement and weighted-retraining rounds, resumable
batch by batch from the trial's directory (:func:`run_trial`). The run around the trials is
:mod:`lsbo.bo.loop`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from lsbo.bo.accounting import CallCounter
from lsbo.bo.candidates import decode_candidates
from lsbo.bo.config import BOConfig
from lsbo.bo.retraining import fine_tune, retrain_due
from lsbo.bo.store import InitialData, TrialStore
from lsbo.bo.strategies import Observations, Strategy, check_strategy
from lsbo.bo.surrogates import box_bounds
from lsbo.components import STRATEGIES
from lsbo.errors import ConfigError
from lsbo.objectives.base import Evaluation, ItemwiseObjective, Objective, evaluate_safely
from lsbo.objectives.isolation import IsolationOptions, evaluate_isolated

logger = logging.getLogger(__name__)


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


# ---------------------------------------------------------------------------------------------
# the iterations of a trial


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
    return STRATEGIES.get(config.strategy).from_config(config)


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
