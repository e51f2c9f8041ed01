"""Entry point of the ``lsbo`` console script.

Library errors (:class:`lsbo.errors.LsboError`) become one red line on stderr and exit code 1;
``--debug`` anywhere on the command line shows the full traceback instead. Ctrl-C prints one yellow
line saying what was kept and how to continue, and exits 130 (the shell's code for SIGINT).
"""

from __future__ import annotations

import importlib
import signal
import sys

import typer

app = typer.Typer(
    name="lsbo",
    help="Latent-space Bayesian optimisation with grammar autoencoders and the GMM-KS regularizer.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command groups, one module each under cli/ (installed as lsbo_cli.<name>), registered in this order.
COMMAND_MODULES = ("grammar", "data", "prior", "train", "optimize", "images")


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"lsbo_cli.{name}").register(app)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    """lsbo: train grammar autoencoders and optimise strings in their latent space."""


_register_all()


#: Commands that continue an interrupted run: with --resume, or (quickstart) by being run again.
RESUMABLE_COMMANDS = {("train",): "rerun with --resume to continue", ("optimize",): "rerun with --resume to continue",
                      ("images", "train"): "rerun with --resume to continue", ("quickstart",): "rerun the same command to continue"}


def interrupted_message(args: list[str]) -> str:
    """The line printed on Ctrl-C for the command named in ``args``."""
    words = [a for a in args if not a.startswith("-")][:2]
    for command, advice in RESUMABLE_COMMANDS.items():
        if tuple(words[: len(command)]) == command:
            return f"interrupted: partial results are kept; {advice}"
    return "interrupted"


def main(argv: list[str] | None = None) -> None:
    """Run the app, turning user-facing library errors into one line and a non-zero exit."""
    from lsbo.errors import LsboError

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    # Typer turns a KeyboardInterrupt inside a command into a silent exit 130 before it reaches the
    # handler below, so Ctrl-C is noted here, where it arrives, and the line printed afterwards.
    interrupted = False

    def on_interrupt(signum: int, frame: object) -> None:
        nonlocal interrupted
        interrupted = True
        raise KeyboardInterrupt

    try:
        previous_handler = signal.signal(signal.SIGINT, on_interrupt)
    except ValueError:  # not the main thread (an embedding application): leave its handling alone
        previous_handler = None
    try:
        app(args=args, prog_name="lsbo")
    except LsboError as err:
        if debug:
            raise
        typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        if debug:
            raise
        interrupted = True
    except SystemExit:
        if not interrupted:
            raise
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGINT, previous_handler)
    if interrupted:
        typer.secho(interrupted_message(args), fg=typer.colors.YELLOW, err=True)
        raise SystemExit(130)


if __name__ == "__main__":
    main()
