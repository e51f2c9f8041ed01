"""The latent-space Bayesian-optimisation loop (PROTOCOLS.md §4; paper Section 4.3, Tables 2 and 3).

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

import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from lsbo.bo.acquisition import AcquisitionOptions, acquisition_bytes, propose_batch
from lsbo.bo.candidates import MAX_DECODE_ROWS, decode_candidates, default_attempts
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
from lsbo.bo.surrogates import SparseTraining, box_bounds, choose_kind, fit_surrogate
from lsbo.device import available_memory_bytes
from lsbo.errors import ConfigError, LsboError
from lsbo.objectives.base import Evaluation, ItemwiseObjective, Objective, evaluate_safely
from lsbo.objectives.isolation import IsolationOptions, evaluate_isolated

#: The most decodings per point: one point's attempts must fit in one decoder batch.
MAX_ATTEMPTS = MAX_DECODE_ROWS


@dataclass(frozen=True)
class BOConfig:
    """Settings of an optimisation run (defaults: the protocol's 5 x 5 x 50)."""

    trials: int = 5
    iterations: int = 5
    batch_size: int = 50
    surrogate: str = "auto"
    n_inducing: int = 500
    attempts: int | None = None  # decoding attempts per point; None = 500 molecules / 25 otherwise
    seed: int = 0
    heldout_fraction: float = 0.1
    max_train_points: int | None = None  # a random subset of the encoded training set (None = all)
    box: str = "data"  # "data": min/max of the training latents; "prior": the prior's box
    complete: bool = True  # length-aware decoding masks; False = plain Grammar VAE masking (the paper's)
    acquisition: AcquisitionOptions = field(default_factory=AcquisitionOptions)
    sparse_training: SparseTraining = field(default_factory=SparseTraining)
    # objective calls in child processes, N at once, each bounded (default: in this process, unbounded)
    objective_calls: IsolationOptions = field(default_factory=IsolationOptions)

    def validate(self) -> None:
        self.objective_calls.validate()
        for name in ("trials", "iterations", "batch_size", "n_inducing"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.attempts is not None and not 1 <= self.attempts <= MAX_ATTEMPTS:
            raise ConfigError(f"--attempts {self.attempts}: must be 1 to {MAX_ATTEMPTS} decodings per point "
                              f"(all of one point's attempts go through the decoder in one batch; the protocol uses 500)")
        if self.max_train_points is not None and self.max_train_points < 2:
            raise ConfigError(f"--max-train-points {self.max_train_points}: the surrogate needs at least 2 training points")
        if self.box not in ("data", "prior"):
            raise ConfigError(f"--box {self.box!r}: expected data or prior")
        # checked here, before run.json is written: a typo found only at the first fit would leave a
        # run directory that the corrected command could neither start afresh nor resume
        if self.surrogate not in ("auto", "exact", "sparse"):
            raise ConfigError(f"--surrogate {self.surrogate!r}: expected auto, exact or sparse")
        if self.acquisition.name not in ("qlogei", "qei"):
            raise ConfigError(f"--acquisition {self.acquisition.name!r}: expected qlogei or qei")
        if not 0.0 <= self.heldout_fraction < 1.0:
            raise ConfigError(f"held-out fraction must be in [0, 1), got {self.heldout_fraction}")


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
    """Score in this process, or (``calls.isolated``) each string in a bounded child process."""
    if calls.isolated:
        return evaluate_isolated(objective, strings, workers=calls.workers, timeout=calls.timeout)
    return evaluate_safely(objective, strings)


def prepare_initial_data(
    model: Any, objective: Objective, *, max_points: int | None, seed: int, log: Callable[[str], None],
    calls: IsolationOptions = IsolationOptions(),
) -> InitialData:
    """Encode and score the model's training strings; drop those that fail either step."""
    strings = model.training_strings()
    if max_points is not None and max_points < len(strings):
        chosen = np.sort(np.random.default_rng(seed).choice(len(strings), size=max_points, replace=False))
        strings = [strings[i] for i in chosen]
    log(f"encoding {len(strings)} training strings")
    latents, ok = model.encode(strings)
    latents = latents.detach().float().cpu()
    log(f"scoring {int(np.sum(ok))} encoded strings with {objective.name}")
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
    """Refuse a run whose surrogate or acquisition cannot fit in memory, naming the flag to change.

    The largest sizes come at the last iteration: ``n_points`` training points plus every earlier
    batch. The exact GP holds an n x n kernel matrix (and its Cholesky factor and a copy); the
    sparse GP n x m for m inducing points; batch EI needs :func:`lsbo.bo.acquisition.acquisition_bytes`.
    """
    n_final = n_points + (config.iterations - 1) * config.batch_size
    kind = choose_kind(config.surrogate, n_final)
    n_kernel = n_final if kind == "exact" else min(config.n_inducing, n_final)
    surrogate = 3 * 8 * n_final * n_kernel
    acquisition = acquisition_bytes(config.batch_size, n_kernel, config.acquisition)
    available = available_memory_bytes(device) if available is None else available
    if surrogate + acquisition <= available:
        return
    gib = lambda n: f"{n / 2**30:.3g} GiB"
    if acquisition >= surrogate:
        advice = f"--batch {config.batch_size} asks batch EI for {gib(acquisition)}"
        remedy = "a smaller --batch"
    else:
        advice = f"the {kind} GP on up to {n_final} points needs {gib(surrogate)}"
        remedy = "--max-train-points" + (" or --surrogate sparse" if kind == "exact" else " or fewer --inducing")
    raise ConfigError(f"{advice}, more than the {gib(available)} available on {torch.device(device).type}; use {remedy}")


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
    log: Callable[[str], None]
    on_evaluation: Callable[[dict[str, Any]], None]


def _choose_batch(ctx: RunContext, x: Tensor, y: Tensor, trial: int, iteration: int) -> dict[str, Any]:
    """Fit the surrogate, maximise the acquisition and decode the batch of one iteration."""
    seed = trial_seed(ctx.config.seed, trial) + iteration
    started = time.perf_counter()
    fit = fit_surrogate(
        x.to(ctx.device), y.to(ctx.device), ctx.config.surrogate, bounds=ctx.bounds.to(ctx.device),
        n_inducing=ctx.config.n_inducing, heldout_fraction=ctx.config.heldout_fraction, seed=seed,
        sparse_training=ctx.config.sparse_training,
    )
    fitted = time.perf_counter()
    latents = propose_batch(fit, float(y.max()), ctx.config.batch_size, ctx.config.acquisition, seed=seed)
    proposed = time.perf_counter()
    generator = torch.Generator(device=ctx.model.device).manual_seed(seed)
    decoded = decode_candidates(
        ctx.model, latents.float(), attempts=ctx.attempts, is_valid=ctx.objective.is_valid, generator=generator,
        complete=ctx.config.complete,
    )
    finished = time.perf_counter()
    metrics = fit.metrics() | {
        "acquisition_seconds": round(proposed - fitted, 3),
        "decode_seconds": round(finished - proposed, 3),
        "iteration_seconds": round(finished - started, 3),
    }
    return {
        "trial": trial, "iteration": iteration, "surrogate_metrics": metrics,
        "latents": latents.detach().cpu().tolist(),
        "strings": [c.string for c in decoded],
        "decode_counts": [c.count for c in decoded],
        "valid_attempts": [c.n_valid_attempts for c in decoded],
        "attempts": ctx.attempts,
    }


def run_trial(ctx: RunContext, trial: int, trial_dir: Path | TrialStore) -> list[dict[str, Any]]:
    """Run (or continue) one trial; returns its evaluation records in (iteration, index) order."""
    store = trial_dir if isinstance(trial_dir, TrialStore) else TrialStore(trial_dir, trial)
    store.directory.mkdir(parents=True, exist_ok=True)
    done = {(r["iteration"], r["index"]): r for r in store.read_records(layout=(ctx.config.iterations, ctx.config.batch_size))}
    maximize = ctx.objective.maximize
    x = ctx.initial.latents.to(torch.float64)
    y = to_target(ctx.initial.scores, maximize)
    for iteration in range(1, ctx.config.iterations + 1):
        batch = store.read_candidates(iteration)
        if batch is None:
            batch = _choose_batch(ctx, x, y, trial, iteration)
            store.write_candidates(iteration, batch)
            m = batch["surrogate_metrics"]
            ctx.log(
                f"trial {trial} iteration {iteration}: {m['surrogate']} GP on {m['n_train']} points, "
                f"held-out RMSE {m['test_rmse'] if m['test_rmse'] is None else round(m['test_rmse'], 4)}, "
                f"log-lik {m['test_loglik'] if m['test_loglik'] is None else round(m['test_loglik'], 4)}; "
                f"fit {m['fit_seconds']}s, acquisition {m['acquisition_seconds']}s, decoding {m['decode_seconds']}s"
            )
        pending = [i for i in range(len(batch["latents"])) if (iteration, i) not in done]
        save = functools.partial(_save_evaluation, ctx, store, done, batch, trial, iteration)
        calls = ctx.config.objective_calls
        if calls.isolated:  # each string in a bounded child process; each record saved as its call ends
            evaluate_isolated(ctx.objective, [batch["strings"][i] for i in pending], workers=calls.workers,
                              timeout=calls.timeout, on_result=functools.partial(_save_nth, save, pending))
            pending = []
        # A batch objective (perhaps vectorised) is called once on the iteration's pending strings; an
        # item-wise one is called per string, so each record is on disk as soon as it is scored.
        # evaluate_safely isolates an input that raises in either case.
        chunk = 1 if isinstance(ctx.objective, ItemwiseObjective) else max(1, len(pending))
        for start in range(0, len(pending), chunk):
            indices = pending[start : start + chunk]
            started = time.perf_counter()
            evaluations = evaluate_safely(ctx.objective, [batch["strings"][i] for i in indices])
            seconds = (time.perf_counter() - started) / len(indices)
            for index, evaluation in zip(indices, evaluations):
                save(index, evaluation, seconds)
        new = [done[(iteration, i)] for i in range(len(batch["latents"])) if done[(iteration, i)]["valid"]]
        if new:
            x = torch.cat([x, torch.tensor([r["latent"] for r in new], dtype=torch.float64)])
            y = torch.cat([y, to_target(torch.tensor([r["score"] for r in new], dtype=torch.float64), maximize)])
    return [done[key] for key in sorted(done)]


def _save_evaluation(
    ctx: RunContext, store: TrialStore, done: dict[tuple[int, int], dict[str, Any]], batch: dict[str, Any], trial: int,
    iteration: int, index: int, evaluation: Evaluation, seconds: float | None,
) -> None:
    """Append the record of one evaluation (on disk before anything else hears of it)."""
    record = {
        "trial": trial, "iteration": iteration, "index": index, "string": batch["strings"][index],
        "latent": batch["latents"][index], "score": evaluation.score, "valid": evaluation.valid,
        "error": evaluation.error, "time": time.time(), "seconds": None if seconds is None else round(seconds, 6),
    }
    store.append(record)
    done[(iteration, index)] = record
    ctx.on_evaluation(record)


def _save_nth(save: Callable[..., None], indices: Sequence[int], k: int, evaluation: Evaluation, seconds: float | None) -> None:
    save(indices[k], evaluation, seconds)  # the k-th string scored was candidate indices[k]


def run_optimization(
    model: Any,
    objective: Objective,
    out_dir: Path,
    config: BOConfig = BOConfig(),
    *,
    target: str | None = None,
    resume: bool = False,
    log: Callable[[str], None] = lambda message: None,
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

    selected = check_run(model, out_dir, config, only_trials)
    out_dir = Path(out_dir)
    settings = _settings(model, objective, config, target)
    attempts = settings["attempts"]
    store = RunStore(out_dir)
    purpose = f"lsbo optimize --out {out_dir}"
    trial_locks: list[Any] = []
    try:
        with store.lock(log, purpose):
            store.open(settings, resume, log, purpose=purpose)
            # each trial has one owner: a second process asked to run it is refused before it scores anything
            trial_locks = [store.trial(k).lock(purpose) for k in selected]
            for k in selected:  # a damaged log is reported now, not after the training set is encoded
                store.trial(k).read_records(layout=(config.iterations, config.batch_size))
            initial = _initial_data(store, model, objective, config, log)
        log(f"{len(initial.strings)} training points; best training score {_best(initial.scores, objective.maximize):.4g}")
        ctx = RunContext(
            model=model, objective=objective, config=config, initial=initial,
            bounds=search_box(model, initial.latents, config.box), attempts=attempts,
            device=torch.device(getattr(model, "device", "cpu")), log=log, on_evaluation=on_evaluation,
        )
        trials = {k: run_trial(ctx, k, store.trial(k)) for k in selected}
        with store.lock(log, purpose):
            per_trial = config.iterations * config.batch_size
            for k in sorted(set(range(1, config.trials + 1)) - set(selected)):
                trials[k] = store.trial(k).read_records(repair=False, layout=(config.iterations, config.batch_size))
            pending = [k for k in sorted(trials) if len(trials[k]) < per_trial]
            if pending:
                log(f"trials {', '.join(map(str, selected))} done; waiting for trial(s) {', '.join(map(str, pending))} "
                    "before results.json and table.md are written (the call that completes the last one writes them)")
                return {"complete": False, "pending_trials": pending}
            trials = {k: sorted(records, key=lambda r: (r["iteration"], r["index"])) for k, records in sorted(trials.items())}
            results = summarize_run(trials, objective=objective, settings=settings,
                                    training_best=_best(initial.scores, objective.maximize),
                                    model_evaluation=_model_evaluation(model))
            for warning in results["warnings"]:
                log(f"warning: {warning}")
            write_outputs(out_dir, results, trials, model_kind=getattr(model, "kind", None))
            return results
    finally:
        for lock in trial_locks:
            lock.release()


def prepare_run(
    model: Any, objective: Objective, out_dir: Path | str, config: BOConfig, *, target: str | None = None,
    resume: bool = False, log: Callable[[str], None] = lambda message: None,
) -> InitialData:
    """Open the run (check or write ``run.json``) and load or compute its encoded, scored training set.

    What a process that hands the trials to workers does first, so that none of them computes it.
    """
    check_run(model, out_dir, config)
    store = RunStore(Path(out_dir))
    purpose = f"lsbo optimize --out {out_dir}"
    with store.lock(log, purpose):
        store.open(_settings(model, objective, config, target), resume, log, purpose=purpose)
        return _initial_data(store, model, objective, config, log)


def _settings(model: Any, objective: Objective, config: BOConfig, target: str | None) -> dict[str, Any]:
    """run.json's content."""
    return {
        "target": target or objective.name, "objective": objective.name, "maximize": objective.maximize,
        "model_dir": str(getattr(model, "model_dir", "")), "model_kind": getattr(model, "kind", None),
        **{k: v for k, v in asdict(config).items() if k not in ("acquisition", "sparse_training")},
        "attempts": config.attempts or default_attempts(getattr(model, "kind", "strings")),
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


def _initial_data(store: RunStore, model: Any, objective: Objective, config: BOConfig, log: Callable[[str], None]) -> InitialData:
    """The cached initial data, or computed and saved; a failure says that the run may be restarted."""
    initial = store.load_initial()
    if initial is not None:
        return initial
    try:
        initial = prepare_initial_data(model, objective, max_points=config.max_train_points, seed=config.seed, log=log,
                                       calls=config.objective_calls)
    except LsboError as err:
        if store.scored_anything():
            raise
        # run.json is already written; say that it does not stand in the way of the corrected command
        raise type(err)(f"{err} (nothing has been scored in {store.root}: the corrected command may use the same --out, "
                        "with or without --resume, and starts the run afresh)") from None
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
        raise ConfigError(f"--trial {outside or 'none given'}: trials are numbered 1 to {n_trials} (--trials {n_trials})")
    return sorted(set(only_trials))


def _masking(model: Any, complete: bool) -> str:
    """The decoding mask recorded in run.json (``length-aware``/``plain``; ``none`` for a model without one)."""
    describe = getattr(model, "masking", None)
    return describe(complete) if callable(describe) else "none"


def _best(scores: Tensor | Sequence[float], maximize: bool) -> float:
    values = torch.as_tensor(scores, dtype=torch.float64)
    return float(values.max() if maximize else values.min()) if values.numel() else math.nan
