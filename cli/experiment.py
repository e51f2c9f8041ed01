"""``lsbo experiment run|status|tables SPEC.toml``: thin layers over :mod:`lsbo.experiment`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

experiment_app = typer.Typer(help="Experiments from one spec file: models x seeds, BO strategies x trials, tables.", no_args_is_help=True)

STAGES = ("train", "evaluate", "optimize")


def _out_dir(spec_path: Path, out: Optional[Path], name: str) -> Path:
    return out if out is not None else Path("experiments") / name


@experiment_app.command("run")
def run(
    spec_path: Path = typer.Argument(..., help="The experiment spec (TOML; format in lsbo.experiment.spec)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Experiment directory (default experiments/<name>)."),
    workers: int = typer.Option(1, "--workers", help="Cells run in parallel processes (1: in this process)."),
    executor: str = typer.Option("local", "--executor", help="Where cells run (lsbo.executors: local, ray)."),
    stage: Optional[list[str]] = typer.Option(None, "--stage", help="Only these stages (repeatable): train, evaluate, optimize."),
    model: Optional[list[str]] = typer.Option(None, "--model", help="Only the cells of these models (repeatable; the spec's labels)."),
    strategy: Optional[list[str]] = typer.Option(
        None, "--strategy", help="Only the optimisation cells of these strategies (repeatable; the spec's labels, e.g. 'turbo 500 calls')."),
    seed: Optional[list[int]] = typer.Option(None, "--seed", help="Only the cells of these training seeds (repeatable; the spec's seeds)."),
) -> None:
    """Train, evaluate and optimise every cell that is not done yet, then write the tables (of the whole spec)."""
    from lsbo.errors import ConfigError
    from lsbo.experiment import load_spec, run_experiment
    from lsbo.experiment.runner import check_selection

    spec = load_spec(spec_path)
    stages = tuple(stage or STAGES)
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ConfigError(f"--stage {unknown[0]!r}: expected one of {', '.join(STAGES)}")
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    try:
        check_selection(spec, model, strategy, seed)
    except ConfigError as err:  # its message starts with the parameter, model, strategy or seed: the flag's name
        raise ConfigError(f"--{err}") from None
    directory = _out_dir(spec_path, out, spec.name)
    outcome = run_experiment(spec, directory, workers=workers, executor=executor, stages=stages, models=model or None, strategies=strategy or None,
                             seeds=seed or None)
    for name, cells in outcome["ran"].items():
        typer.echo(f"{name}: {len(cells)} cell(s) run" + (f" ({'; '.join(cells)})" if cells else " (all done before)"))
    from lsbo.experiment import Layout

    typer.echo(f"tables: {Layout(directory).tables(spec.name)} (all.md, one .md/.csv per metric, paired_*.csv)")


@experiment_app.command("status")
def status(
    spec_path: Path = typer.Argument(..., help="The experiment spec (TOML)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Experiment directory (default experiments/<name>)."),
) -> None:
    """What is done, partial or missing, cell by cell."""
    from lsbo.experiment import load_spec, status_rows

    spec = load_spec(spec_path)
    rows = status_rows(spec, _out_dir(spec_path, out, spec.name))
    for row in rows:
        where = " ".join(x for x in (row["stage"], row["strategy"], row["model"], f"seed {row['seed']}") if x)
        typer.echo(f"{row['state']:8s} {where}" + (f": {row['detail']}" if row["detail"] else ""))
    done = sum(r["state"] == "done" for r in rows)
    typer.echo(f"{done}/{len(rows)} cells done")


@experiment_app.command("tables")
def tables(
    spec_path: Path = typer.Argument(..., help="The experiment spec (TOML)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Experiment directory (default experiments/<name>)."),
) -> None:
    """Write the tables from the cells that are complete now, running nothing (e.g. while cells still run)."""
    from lsbo.errors import ConfigError
    from lsbo.experiment import Layout, load_spec, write_tables

    spec = load_spec(spec_path)
    directory = _out_dir(spec_path, out, spec.name)
    if not directory.is_dir():
        raise ConfigError(f"--out {directory}: no experiment directory there (lsbo experiment run makes it)")
    write_tables(spec, directory)
    typer.echo(f"tables: {Layout(directory).tables(spec.name)} (all.md, one .md/.csv per metric, paired_*.csv)")


def register(app: typer.Typer) -> None:
    app.add_typer(experiment_app, name="experiment")
