"""``lsbo score``: score strings with any target, one score per input line (thin layer over :mod:`lsbo.objectives`)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Optional

import typer


def _batches(lines: IO[str], size: int) -> Iterator[list[str]]:
    """The input's lines without their line ends, ``size`` at a time (so a pipe is scored as it arrives)."""
    batch: list[str] = []
    for line in lines:
        batch.append(line.rstrip("\r\n"))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def score(
    file: str = typer.Argument(..., metavar="FILE", help="Strings to score, one a line (SMILES for molecule targets); - reads standard input."),
    target: str = typer.Option(..., "--target", help="Any target lsbo optimize takes: logp | logp-dataset | logp-raw | expr | qed | sa | a PMO task (docs/objectives.md) | module:function (or path.py:function)."),
    model_dir: Optional[Path] = typer.Option(None, "--model", help="A trained model directory, for targets that need one (logp-dataset standardises with its training set)."),
    batch_size: int = typer.Option(1000, "--batch-size", min=1, help="Lines given to the objective per call."),
) -> None:
    """One score per input line on standard output, in the input's order; an empty line where the
    input has no score (not a valid molecule, or the objective failed on it)."""
    from lsbo.errors import DataError
    from lsbo.objectives import build_objective, evaluate_safely
    from lsbo.objectives.base import NO_SCORE

    model = None
    if model_dir is not None:
        from lsbo.models import load_model

        model = load_model(model_dir, device="cpu")
    objective = build_objective(target, model=model)  # an unknown target fails here, before any input is read
    if file == "-":
        handle: IO[str] = sys.stdin
    else:
        path = Path(file)
        if not path.is_file():
            raise DataError(f"input file {file}: no such file")
        handle = path.open(encoding="utf-8")
    out = sys.stdout
    failed, first_failure = 0, ""
    try:
        for batch in _batches(handle, batch_size):
            evaluations = evaluate_safely(objective, batch)
            out.write("".join(("" if e.score is None else repr(e.score)) + "\n" for e in evaluations))
            out.flush()
            # an input without a score is expected (not a molecule); one the objective raised on is worth a word
            raised = [e.error for e in evaluations if e.error not in (None, NO_SCORE)]
            failed, first_failure = failed + len(raised), first_failure or (raised[0] if raised else "")
    except UnicodeDecodeError as err:
        raise DataError(f"input file {file}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    finally:
        if handle is not sys.stdin:
            handle.close()
    if failed:
        typer.secho(f"warning: the objective failed on {failed} input(s), left empty (first: {first_failure})",
                    fg=typer.colors.YELLOW, err=True)


def register(app: typer.Typer) -> None:
    app.command("score")(score)
