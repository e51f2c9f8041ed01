"""BO trials as units of work on an :class:`lsbo.executors.Executor` (local processes or Ray tasks).

A trial's seeds depend only on its number, so trials are independent units: each unit loads the model
and objective itself (nothing large is pickled), continues its trial in the run directory with
``run_optimization(..., resume=True, only_trials=[k])`` and returns nothing the directory does not
hold. This process first writes ``run.json`` and the encoded training set (so no two workers compute
it), and after the units ended it reads every trial back and writes the results. A worker that dies
loses at most the evaluation it was scoring; running the same command again resumes every trial
where its files end, so each ``(trial, iteration, index)`` is evaluated once.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lsbo.bo.loop import BOConfig, _selected_trials, prepare_run, run_optimization
from lsbo.executors import Executor
from lsbo.objectives.base import Objective

logger = logging.getLogger(__name__)

#: A picklable zero-argument callable returning ``(model, objective)``, called in each worker.
Loader = Callable[[], tuple[Any, Objective]]


def load_model_and_objective(model_dir: str, device: str, target: str) -> tuple[Any, Objective]:
    """The trained model in ``model_dir`` on ``device`` and the objective named by ``target``."""
    from lsbo.models import load_model
    from lsbo.objectives import build_objective

    model = load_model(model_dir, device=device)
    return model, build_objective(target, model=model)


def run_trial_unit(load: Loader, out_dir: str, config: BOConfig, target: str | None, trial: int) -> int:
    """Run (or continue) trial ``trial`` of the run in ``out_dir``; returns its number once it is complete."""
    model, objective = load()
    run_optimization(model, objective, Path(out_dir), config, target=target, resume=True, only_trials=[trial])
    return trial


def run_trials(
    executor: Executor,
    load: Loader,
    out_dir: Path | str,
    config: BOConfig,
    *,
    target: str | None = None,
    resume: bool = False,
    only_trials: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Run the selected trials of a run as units on ``executor``; returns what :func:`run_optimization` returns.

    Raises:
        BaseException: the first failing unit's error (after every unit ended; their work is on disk).
    """
    selected = _selected_trials(only_trials, config.trials)
    model, objective = load()
    prepare_run(model, objective, out_dir, config, target=target, resume=resume)
    logger.info("running trial(s) %s as units on the %s executor", ", ".join(map(str, selected)), executor.name)
    where = str(Path(out_dir).resolve())  # a worker's working directory need not be ours
    units = [functools.partial(run_trial_unit, load, where, config, target, k) for k in selected]
    executor.map(units)
    return run_optimization(model, objective, Path(out_dir), config, target=target, resume=True, only_trials=selected)


__all__ = ["Loader", "load_model_and_objective", "run_trial_unit", "run_trials"]
