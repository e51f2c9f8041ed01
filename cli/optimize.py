"""``lsbo optimize`` and ``lsbo quickstart``: thin layers over :mod:`lsbo.bo` (heavy imports inside)."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any, Optional

import typer

from lsbo import bo_defaults
from lsbo.components import STRATEGIES
from lsbo.executors import EXECUTOR_NAMES
from lsbo_cli.schema import device_option, schema_option

#: ``--executor`` choices (a usage error names the flag and lists them)
ExecutorName = enum.Enum("ExecutorName", {name: name for name in EXECUTOR_NAMES}, type=str)


def _run_with_progress(
    model: Any, objective: Any, out: Path, config: Any, *, target: str, resume: bool, only_trials: Optional[list[int]] = None
) -> dict[str, Any]:
    """Run the loop with a progress bar over evaluations; the library's log lines print above it (both on stderr)."""
    from lsbo.bo import run_optimization
    from lsbo.bo.loop import check_run
    from lsbo.progress import StatusBar

    check_run(model, out, config, only_trials)  # a refusal is one line, not one under a started progress bar
    total = len(only_trials or range(config.trials)) * config.calls_per_trial
    with StatusBar("optimize", total) as bar:

        def on_evaluation(record: dict[str, Any]) -> None:
            score = record["score"]
            shown = "invalid" if score is None else f"{score:.4g}"
            bar.step(f"trial {record['trial']} it {record['iteration']}: {shown}")

        results = run_optimization(model, objective, out, config, target=target, resume=resume,
                                   on_evaluation=on_evaluation, only_trials=only_trials)
    return results


def _run_on_executor(
    name: str, workers: int, address: Optional[str], model_dir: Path, device: str, target: str, out: Path, config: Any,
    *, resume: bool, only_trials: Optional[list[int]], threads: Optional[int],
) -> dict[str, Any]:
    """Trials as units on the named executor; each worker loads the model and objective itself."""
    import functools

    from lsbo.bo.parallel import load_model_and_objective, run_trials
    from lsbo.executors import build_executor

    module, sep, attribute = target.partition(":")
    # a worker's working directory need not be ours; run.json keeps the target as given
    where = f"{Path(module).resolve()}:{attribute}" if sep and Path(module).is_file() else target
    load = functools.partial(load_model_and_objective, str(model_dir.resolve()), device, where)
    options = {"address": address} if address is not None else {}
    with build_executor(name, workers=workers, threads_per_worker=threads or 1, **options) as executor:
        return run_trials(executor, load, out, config, target=target, resume=resume, only_trials=only_trials)


def optimize(
    target: str = typer.Option(..., "--target", help="logp (penalized logP, fixed ZINC250k constants) | logp-dataset (training-set standardised) | logp-raw (logP - SA - cycle) | expr | qed | sa | a PMO task such as zaleplon_mpo (docs/objectives.md) | module:function (or path.py:function)."),
    model_dir: Path = typer.Option(..., "--model", help="A trained model directory (lsbo train --out)."),
    out: Path = typer.Option(..., "--out", help="Run directory: trial_k/evaluations.jsonl, results.json, table.md, plots."),
    trials: int = typer.Option(bo_defaults.TRIALS, "--trials", help="Independent seeded trials."),
    iterations: int = typer.Option(bo_defaults.ITERATIONS, "--iterations", help="BO iterations per trial."),
    batch: int = typer.Option(bo_defaults.BATCH_SIZE, "--batch", help="Points chosen per iteration (q)."),
    strategy: str = typer.Option("protocol", "--strategy", help=f"Search strategy: {' | '.join(STRATEGIES.names())} (lsbo.components.STRATEGIES, plugins' included): protocol is the paper's global batch EI, turbo a trust region with Thompson sampling."),
    budget: Optional[int] = typer.Option(None, "--budget", help="Oracle calls per trial (default: --iterations x --batch); the last batch is cut to fit."),
    budget_accounting: str = typer.Option("points", "--budget-accounting", help="What an oracle call is: points (every proposed point, the default) | pmo (PMO's: a distinct valid molecule by canonical SMILES; invalid strings and repeats cost nothing)."),
    surrogate: Optional[str] = typer.Option(None, "--surrogate", help="protocol: auto (exact up to 1000 points, else sparse, the default) | exact | sparse; turbo: auto (the default, as for protocol) | local (exact GP on the points nearest the trust region's centre plus the best) | exact | sparse."),
    inducing: int = typer.Option(bo_defaults.N_INDUCING, "--inducing", help="Inducing points of the sparse GP."),
    attempts: Optional[int] = typer.Option(None, "--attempts", help="Stochastic decodings per point (default: one greedy decoding for an autoregressive decoder; 500 molecules, 25 otherwise for the paper's)."),
    acquisition: Optional[str] = typer.Option(None, "--acquisition", help="protocol: qlogei (default) | qei; turbo: ts (Thompson sampling, default) | qlogei | qei in the trust region."),
    retrain_every: Optional[int] = typer.Option(None, "--retrain-every", help="Weighted retraining: fine-tune the autoencoder every N oracle calls (Tripp et al. 2020)."),
    rank_k: Optional[float] = typer.Option(None, "--rank-k", help=f"Rank-weighting k of --retrain-every: weights 1/(k N + rank) (default {bo_defaults.RANK_K:g})."),
    retrain_epochs: Optional[int] = typer.Option(None, "--retrain-epochs", help=f"Epochs of each fine-tuning with --retrain-every (default {bo_defaults.RETRAIN_EPOCHS})."),
    retrain_samples: Optional[int] = typer.Option(None, "--retrain-samples", help="Weighted draws per fine-tuning epoch with --retrain-every (default: as many as there are strings)."),
    novel_only: bool = typer.Option(
        False, "--novel-only",
        help="Spend calls on new strings only: a point that decodes to a training string or to one evaluated before in the "
        "trial is replaced by the strategy's next candidate that decodes to a new one (turbo with --acquisition ts).",
    ),
    box: str = typer.Option("data", "--box", help="Search box: data (min/max of training latents) | prior."),
    max_train_points: Optional[int] = typer.Option(None, "--max-train-points", help="Use a random subset of the encoded training set."),
    device: str = device_option(),
    seed: int = typer.Option(0, "--seed", help="Base seed; trial k uses a seed derived from it."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run in --out."),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for torch (default: torch's; 1 is often fastest on a busy machine)."),
    trial: Optional[list[int]] = typer.Option(
        None, "--trial",
        help="Run only this trial (repeatable), e.g. one process per trial into the same --out, all but the first with "
        "--resume; the call that finds every trial complete writes results.json and table.md.",
    ),
    plain_masking: bool = typer.Option(
        False, "--plain-masking",
        help="Decode candidates with the plain Grammar VAE masking (the paper's protocol) instead of length-aware masking.",
    ),
    objective_workers: int = typer.Option(
        1, "--objective-workers", help="Score each candidate in its own process, this many at once (for slow objectives).",
    ),
    objective_timeout: Optional[float] = typer.Option(
        None, "--objective-timeout",
        help="Seconds one objective call may take; a call past it (or one that crashes) is killed and recorded invalid "
        "(default 600 for a user objective or with --objective-isolation; inf: no limit).",
    ),
    objective_isolation: Optional[bool] = typer.Option(
        None, "--objective-isolation/--no-objective-isolation",
        help="Score each call in a child process of its own, so that an objective that exits, crashes, hangs or forks "
        "costs one invalid call (default: on for module:function targets, off for the built-in ones).",
    ),
    executor: ExecutorName = typer.Option(
        "local", "--executor", help="Where trials run: local (processes on this machine) | ray (a local Ray or --ray-address).",
    ),
    workers: int = typer.Option(1, "--workers", help="Trials running at once (1 with --executor local: in this process)."),
    ray_address: Optional[str] = typer.Option(
        None, "--ray-address", help="A running Ray cluster (HOST:PORT, ray://HOST:PORT or auto); default: start a local Ray.",
    ),
) -> None:
    """Bayesian optimisation in a trained model's latent space (docs/protocols.md §4)."""
    from lsbo.bo import BOConfig
    from lsbo.bo.acquisition import AcquisitionOptions
    from lsbo.bo.retraining import RetrainOptions
    from lsbo.device import set_threads
    from lsbo.errors import ConfigError
    from lsbo.models import load_model
    from lsbo.objectives import build_objective
    from lsbo.objectives.isolation import IsolationOptions

    set_threads(threads)
    # every flag is checked before the model is loaded (and long before anything is written)
    executor_name = ExecutorName(executor).value
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    if ray_address is not None and executor_name != "ray":
        raise ConfigError("--ray-address needs --executor ray")
    if retrain_every is None:
        given = [flag for flag, value in (("--rank-k", rank_k), ("--retrain-epochs", retrain_epochs),
                                          ("--retrain-samples", retrain_samples)) if value is not None]
        if given:
            raise ConfigError(f"{', '.join(given)} need(s) --retrain-every (weighted retraining is off without it)")
    retrain = None
    if retrain_every is not None:
        given = {"rank_k": rank_k, "epochs": retrain_epochs, "samples_per_epoch": retrain_samples}
        retrain = RetrainOptions(every=retrain_every, **{name: value for name, value in given.items() if value is not None})
    config = BOConfig(
        trials=trials, iterations=iterations, batch_size=batch, surrogate=surrogate, n_inducing=inducing, attempts=attempts,
        seed=seed, max_train_points=max_train_points, box=box, acquisition=AcquisitionOptions(name=acquisition),  # type: ignore[arg-type]
        complete=not plain_masking, strategy=strategy, budget=budget, retrain=retrain, novel_only=novel_only,
        budget_accounting=budget_accounting,
        objective_calls=IsolationOptions(workers=objective_workers, timeout=objective_timeout, isolate=objective_isolation),
    ).resolved()
    model = load_model(model_dir, device=device)
    objective = build_objective(target, model=model)
    if executor_name == "local" and workers == 1:
        results = _run_with_progress(model, objective, out, config, target=target, resume=resume, only_trials=trial)
    else:
        results = _run_on_executor(executor_name, workers, ray_address, model_dir, device, target, out, config,
                                   resume=resume, only_trials=trial, threads=threads)
    if results.get("complete") is False:
        typer.echo(f"trial(s) {', '.join(map(str, sorted(set(trial or []))))} done in {out}; still running or not started: "
                   f"{', '.join(map(str, results['pending_trials']))}. The call that completes the last trial writes the "
                   f"results (or run this command again without --trial, with --resume).")
        return
    typer.echo((out / "table.md").read_text(encoding="utf-8"))
    typer.echo(f"results: {out / 'results.json'}; table: {out / 'table.md'}; plot: {out / 'best_so_far.png'}; "
               f"evaluations: {out}/trial_*/evaluations.jsonl")


def quickstart(
    out: Path = typer.Option(Path("lsbo-quickstart"), "--out", help="Where the model and the optimisation run go."),
    device: str = device_option(),
    n_expressions: int = typer.Option(10000, "--expressions", help="Expressions generated for training (at least 1)."),
    epochs: Optional[int] = schema_option("epochs", help="Training epochs of the cpu-preset model (default: the preset's)."),
    seed: int = schema_option("seed", 0),
    threads: Optional[int] = schema_option("threads"),
) -> None:
    """Train a small expression model on locally generated data and run one short BO trial (no download)."""
    from lsbo.bo import BOConfig
    from lsbo.device import set_threads
    from lsbo.errors import ConfigError
    from lsbo.models import TrainOptions, load_model, train_sequence_model
    from lsbo.models.pipeline import check_train_options
    from lsbo.objectives import build_objective

    if out.exists() and not out.is_dir():
        raise ConfigError(f"out_dir {out} is a file, not a directory", parameter="out_dir")
    model_dir, run_dir = out / "model", out / "optimize"
    # Every training value is checked before anything is written (--expressions is the training --limit).
    options = check_train_options(TrainOptions(
        source="expr", out_dir=model_dir, preset="cpu", epochs=epochs, limit=n_expressions, seed=seed, device=device,
        threads=threads,
    ))
    set_threads(threads)
    typer.echo(f"1/2 training a cpu-preset GMM-KS grammar model (autoregressive decoder) on {n_expressions} generated "
               f"expressions -> {model_dir}")
    if (model_dir / "checkpoint.pt").exists():
        typer.echo(f"    {model_dir} already holds a model: reusing it")
    else:
        from lsbo.diagnostics import reconstruction_summary

        trained = train_sequence_model(options)
        accuracy, warnings = reconstruction_summary(trained.history, trained.best_epoch)
        if accuracy is not None:
            typer.echo(f"    held-out reconstruction: {accuracy:.1%} of the validation expressions come back exactly "
                       f"(epoch {trained.best_epoch})")
        for warning in warnings:
            typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    typer.echo(f"2/2 one BO trial (2 iterations x 10 points, exact GP on 1000 encoded expressions) -> {run_dir}")
    model = load_model(model_dir, device=device)
    config = BOConfig(trials=1, iterations=2, batch_size=10, seed=seed, max_train_points=1000)
    _run_with_progress(model, build_objective("expr", model=model), run_dir, config, target="expr", resume=True)
    typer.echo((run_dir / "table.md").read_text(encoding="utf-8"))
    from lsbo.bo.results import training_comparison
    from lsbo.bo.store import RESULTS_FILE
    from lsbo.persistence import read_json

    typer.echo(training_comparison(read_json(run_dir / RESULTS_FILE)))
    typer.echo(f"model: {model_dir}; results: {run_dir / 'results.json'}; table: {run_dir / 'table.md'}; "
               f"plot: {run_dir / 'best_so_far.png'}; next: lsbo optimize --target expr --model {model_dir} --out RUN")


def register(app: typer.Typer) -> None:
    app.command("optimize")(optimize)
    app.command("quickstart")(quickstart)
