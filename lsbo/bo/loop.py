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

The run is this module; a trial's iterations are :mod:`lsbo.bo.trial`, the settings :mod:`lsbo.bo.config`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from lsbo.bo.accounting import trial_complete
from lsbo.bo.candidates import default_attempts
from lsbo.bo.config import MAX_ATTEMPTS, BOConfig, check_memory  # noqa: F401 - the loop's names before the split
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
from lsbo.bo.trial import (  # noqa: F401 - the loop's names before the split
    RunContext,
    TrialData,
    prepare_initial_data,
    replace_known,
    run_trial,
    score_strings,
    search_box,
    strategy_for,
    to_target,
    trial_seed,
)
from lsbo.errors import ConfigError, LsboError
from lsbo.objectives.base import Objective

logger = logging.getLogger(__name__)


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
