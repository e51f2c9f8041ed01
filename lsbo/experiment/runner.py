"""Running an experiment spec: train what is missing, evaluate and optimise what is missing, report.

An experiment directory holds one folder per cell, each owned by the pipeline that fills it::

    models/<model>/seed_<s>/               lsbo train (checkpoint every epoch; resumed)
    evaluations/<model>/seed_<s>.json      latent diagnostics of that model (lsbo.evaluate)
    bo/<strategy>/<model>/seed_<s>/        lsbo optimize, all trials (every evaluation on disk; resumed)
    tables/<experiment>/                   one table per metric (markdown + csv), paired comparisons

so a killed experiment loses at most the epoch or the evaluation in flight, and a rerun recomputes
nothing that is on disk. Two specs whose models agree (label and options) can share one directory,
e.g. one that trains and evaluates every regularizer and one that adds the optimisation of some of
them. Each cell also records the options it was made with
(``experiment_cell.json``); a spec changed under an existing cell is refused rather than mixed.

Cells are independent units of work and run through :mod:`lsbo.executors`: first every training,
then every evaluation and optimisation (which need the trained models), in ``workers`` processes.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lsbo.errors import CheckpointError, ConfigError
from lsbo.experiment.layout import Layout, evaluation_status, slug
from lsbo.experiment.spec import ExperimentSpec, ModelSpec, StrategySpec, bo_config
from lsbo.logs import LineFormatter, log_context
from lsbo.persistence import read_json, write_json

logger = logging.getLogger(__name__)

__all__ = ["CELL_FILE", "Layout", "bo_config", "bo_status", "evaluation_status", "run_experiment", "slug", "status_rows"]

CELL_FILE = "experiment_cell.json"
# -- what each cell is made with ------------------------------------------------------------------


def train_options(spec: ExperimentSpec, model: ModelSpec, seed: int, out_dir: Path) -> Any:
    from lsbo.models import TrainOptions

    options = dict(model.options)
    return TrainOptions(
        source=spec.source, data=spec.data, limit=spec.limit, out_dir=out_dir, seed=seed, resume=True, progress=False,
        device=spec.device, threads=spec.threads, regularizer_options=dict(options.pop("regularizer_options", {})),
        **options,
    )


def _cell_record(kind: str, spec: ExperimentSpec, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "source": spec.source, "data": str(spec.data), "limit": spec.limit, **fields}


def _check_cell(directory: Path, record: dict[str, Any]) -> bool:
    """Whether ``directory`` holds a cell record; a record that disagrees with ``record`` (the spec was
    changed under it) is a ConfigError."""
    path = directory / CELL_FILE
    if not path.is_file():
        return False
    stored = read_json(path, what="experiment cell record")
    if stored != _plain(record):
        changed = sorted(k for k in set(stored) | set(record) if stored.get(k) != _plain(record).get(k))
        raise ConfigError(
            f"{directory} was made with other settings ({', '.join(changed)} differ from the spec); "
            "restore the spec or use another output directory"
        )
    return True


def _claim_cell(directory: Path, record: dict[str, Any]) -> None:
    """Write the cell's record, or check that an existing one agrees (a changed spec is refused)."""
    if not _check_cell(directory, record):
        write_json(directory / CELL_FILE, _plain(record))


def _plain(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


# -- status --------------------------------------------------------------------------------------


def planned_epochs(spec: ExperimentSpec, model: ModelSpec) -> int:
    from lsbo.data.manifests import manifest_for_source, preset_family
    from lsbo.models.config import model_config

    if model.options.get("epochs") is not None:
        return int(model.options["epochs"])
    family = preset_family(manifest_for_source(spec.source), 0)  # the dataset registry's family
    return model_config(model.options.get("preset", "cpu"), family).epochs


def training_status(spec: ExperimentSpec, layout: Layout, model: ModelSpec, seed: int) -> tuple[str, str]:
    """``("done" | "partial" | "missing", detail)`` of one training cell."""
    from lsbo.checkpoint import CHECKPOINT_NAME, load_checkpoint

    path = layout.model_dir(model.label, seed) / CHECKPOINT_NAME
    planned = planned_epochs(spec, model)
    if not path.is_file():
        return "missing", f"0/{planned} epochs"
    try:
        trainer = load_checkpoint(path, map_location="cpu")["trainer"]
    except (CheckpointError, KeyError):
        return "partial", "unreadable checkpoint (training will report it)"
    epochs = int(trainer["epoch"])
    if trainer.get("stopped_early") or epochs >= planned:
        return "done", f"{epochs}/{planned} epochs" + (" (early stopping)" if trainer.get("stopped_early") else "")
    return "partial", f"{epochs}/{planned} epochs"


def bo_status(spec: ExperimentSpec, layout: Layout, strategy: StrategySpec, model: ModelSpec, seed: int) -> tuple[str, list[int]]:
    """``(state, evaluations per trial)`` of one optimisation cell (all its trials)."""
    from lsbo.bo.store import EVALUATIONS_FILE, read_records

    config = bo_config(spec, strategy)
    expected = config.calls_per_trial
    directory = layout.bo_dir(strategy.label, model.label, seed)
    counts = []
    for trial in range(1, spec.trials + 1):
        path = directory / f"trial_{trial}" / EVALUATIONS_FILE
        counts.append(len(read_records(path, repair=False)) if path.is_file() else 0)
    state = "done" if all(c >= expected for c in counts) else "partial" if any(counts) else "missing"
    return state, counts


def status_rows(spec: ExperimentSpec, out: Path) -> list[dict[str, Any]]:
    """One row per cell: stage, model, seed, strategy, state and detail (what ``lsbo experiment status`` prints)."""
    layout = Layout(Path(out))
    rows = []
    for model in spec.models:
        for seed in spec.seeds:
            state, detail = training_status(spec, layout, model, seed)
            rows.append(dict(stage="train", model=model.label, seed=seed, strategy="", state=state, detail=detail))
    for model in spec.models:
        for seed in spec.seeds:
            rows.append(dict(stage="evaluate", model=model.label, seed=seed, strategy="",
                             state=evaluation_status(layout, model, seed), detail=""))
    for strategy in spec.strategies:
        config = bo_config(spec, strategy)
        for model in spec.models:
            for seed in spec.seeds:
                state, counts = bo_status(spec, layout, strategy, model, seed)
                detail = ", ".join(f"trial {k}: {c}/{config.calls_per_trial}" for k, c in enumerate(counts, 1))
                rows.append(dict(stage="optimize", model=model.label, seed=seed, strategy=strategy.label, state=state, detail=detail))
    return rows


# -- the units of work (module-level, so that spawned workers can run them) -------------------------


def _prepare_unit(threads: int | None) -> None:
    """Per-unit setup: torch threads, and in a spawned worker (no handler yet) log lines on stderr."""
    package_logger = logging.getLogger("lsbo")
    if not package_logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(LineFormatter())
        package_logger.addHandler(handler)
        package_logger.setLevel(logging.INFO)
    from lsbo.device import set_threads

    set_threads(threads)


def train_cell(spec: ExperimentSpec, out: Path, label: str, seed: int) -> str:
    """Train (or resume) one model for one seed."""
    from lsbo.models import train_sequence_model

    _prepare_unit(spec.threads)
    model = spec.model(label)
    directory = Layout(Path(out)).model_dir(label, seed)
    directory.mkdir(parents=True, exist_ok=True)
    _claim_cell(directory, _cell_record("train", spec, model=model.label, seed=seed, options=model.options))
    logger.info("train %s seed %d -> %s", label, seed, directory)
    train_sequence_model(train_options(spec, model, seed, directory))
    return str(directory)


def evaluate_cell(spec: ExperimentSpec, out: Path, label: str, seed: int) -> str:
    """Latent diagnostics of one trained model: reconstruction, prior-sample validity, KS, covariance."""
    from lsbo.evaluate import evaluate_model

    _prepare_unit(spec.threads)
    layout = Layout(Path(out))
    settings = {k: spec.evaluation[k] for k in ("max_reconstruct",) if k in spec.evaluation}
    result = evaluate_model(
        layout.model_dir(label, seed), n_samples=int(spec.evaluation.get("samples", 1000)), device=spec.device,
        seed=seed, write=False, **settings,
    )
    # the spec's label under its own key: the evaluation's "model" names the architecture (grammar, char)
    result = {"label": label, "training_seed": seed, "evaluation": dict(spec.evaluation), **result}
    write_json(layout.evaluation_file(label, seed), _plain(result))
    return str(layout.evaluation_file(label, seed))


def optimize_cell(spec: ExperimentSpec, out: Path, strategy_label: str, label: str, seed: int) -> str:
    """Every trial of one (strategy, model, seed) cell, continuing what is on disk."""
    from lsbo.bo import run_optimization
    from lsbo.models import load_model
    from lsbo.objectives import build_objective

    _prepare_unit(spec.bo_threads)
    layout = Layout(Path(out))
    strategy = next(s for s in spec.strategies if s.label == strategy_label)
    config = bo_config(spec, strategy)
    directory = layout.bo_dir(strategy.label, label, seed)
    directory.mkdir(parents=True, exist_ok=True)
    _claim_cell(directory, _cell_record("optimize", spec, model=label, seed=seed, target=spec.target,
                                        strategy=strategy.name, options=strategy.options, trials=spec.trials,
                                        bo_seed=spec.bo_seed))
    model = load_model(layout.model_dir(label, seed), device=spec.bo_device)
    objective = build_objective(spec.target, model=model)
    with log_context(f"optimize {strategy.label} {label} seed {seed}"):
        run_optimization(model, objective, directory, config, target=spec.target, resume=True)
    return str(directory)


# -- the whole experiment ----------------------------------------------------------------------


def check_selection(
    spec: ExperimentSpec, models: Sequence[str] | None, strategies: Sequence[str] | None, seeds: Sequence[int] | None = None,
) -> None:
    """Refuse a model or strategy label, or a training seed, that ``spec`` does not have (a
    :class:`ConfigError` naming the parameter, ``model``, ``strategy`` or ``seed``, and the spec's values)."""
    for parameter, chosen, known in (("model", models, [m.label for m in spec.models]),
                                     ("strategy", strategies, [s.label for s in spec.strategies])):
        unknown = [label for label in chosen or () if label not in known]
        if unknown:
            raise ConfigError(f"{parameter} {unknown[0]!r} is not in {spec.path} (its {parameter} labels: "
                              f"{', '.join(known) or 'none'})", parameter=parameter)
    unknown_seeds = [seed for seed in seeds or () if seed not in spec.seeds]
    if unknown_seeds:
        raise ConfigError(f"seed {unknown_seeds[0]} is not in {spec.path} (its training seeds: "
                          f"{', '.join(str(seed) for seed in spec.seeds)})", parameter="seed")


def run_experiment(
    spec: ExperimentSpec, out: Path, *, workers: int = 1, executor: str = "local", stages: tuple[str, ...] = ("train", "evaluate", "optimize"),
    models: Sequence[str] | None = None, strategies: Sequence[str] | None = None, seeds: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Run every missing cell of ``spec`` into ``out`` and write the tables; returns what ran.

    ``stages`` limits the run (e.g. ``("train",)`` to train everything first on one machine);
    ``models`` (labels) limits every stage to those models, ``strategies`` (labels) the optimisation
    to those strategies, e.g. to run the cheap column of a table first, and ``seeds`` every stage to
    those training seeds (e.g. to spread the seeds over machines or sittings). The tables are always
    those of the whole spec, written from whatever is complete.
    """
    check_selection(spec, models, strategies, seeds)
    chosen_models = [m for m in spec.models if models is None or m.label in models]
    chosen_strategies = [s for s in spec.strategies if strategies is None or s.label in strategies]
    chosen_seeds = [seed for seed in spec.seeds if seeds is None or seed in seeds]
    from lsbo.executors import build_executor
    from lsbo.experiment.tables import write_tables

    out = Path(out)
    layout = Layout(out)
    # A finished model is not trained again, so its record is checked here: evaluating or optimising a model
    # made with other options under this spec's label would mix two experiments in one table.
    for model in chosen_models:
        for seed in chosen_seeds:
            _check_cell(layout.model_dir(model.label, seed),
                        _cell_record("train", spec, model=model.label, seed=seed, options=model.options))
    ran: dict[str, list[str]] = {"train": [], "evaluate": [], "optimize": []}
    # the executor first: one refused (an unknown name, no Ray) leaves no directory behind
    with build_executor(executor, workers=workers, threads_per_worker=spec.threads) as pool:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / f"spec_{slug(spec.name)}.json", _plain({
            "spec": str(spec.path), "name": spec.name, "models": [m.__dict__ for m in spec.models],
            "strategies": [s.__dict__ for s in spec.strategies], "seeds": spec.seeds, "trials": spec.trials, "target": spec.target}))
        if "train" in stages:
            units = []
            for model in chosen_models:
                for seed in chosen_seeds:
                    if training_status(spec, layout, model, seed)[0] != "done":
                        units.append(functools.partial(train_cell, spec, out, model.label, seed))
                        ran["train"].append(f"{model.label} seed {seed}")
            _run(pool, units, "training")
        second: list[Callable[[], Any]] = []
        trained = {(m.label, s) for m in chosen_models for s in chosen_seeds if training_status(spec, layout, m, s)[0] == "done"}
        if "evaluate" in stages:
            for model in chosen_models:
                for seed in chosen_seeds:
                    if (model.label, seed) in trained and evaluation_status(layout, model, seed) != "done":
                        second.append(functools.partial(evaluate_cell, spec, out, model.label, seed))
                        ran["evaluate"].append(f"{model.label} seed {seed}")
        if "optimize" in stages:
            for strategy in chosen_strategies:
                for model in chosen_models:
                    for seed in chosen_seeds:
                        if (model.label, seed) in trained and bo_status(spec, layout, strategy, model, seed)[0] != "done":
                            second.append(functools.partial(optimize_cell, spec, out, strategy.label, model.label, seed))
                            ran["optimize"].append(f"{strategy.label} {model.label} seed {seed}")
        _run(pool, second, "evaluation and optimisation")
    written = write_tables(spec, out)
    return {"ran": ran, "tables": [str(p) for p in written]}


def _run(pool: Any, units: Sequence[Callable[[], Any]], what: str) -> None:
    if units:
        logger.info("%d %s cell(s) to run", len(units), what)
        pool.map(units)
