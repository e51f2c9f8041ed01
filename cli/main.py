"""Entry point of the ``lsbo`` console script.

Library errors (:class:`lsbo.errors.LsboError`) become one red line on stderr and exit code 1,
with a parameter the error names replaced by its flag (:func:`cli_message`); ``--debug`` anywhere
on the command line shows the full traceback instead. Ctrl-C prints one yellow line saying what was
kept and how to continue, and exits 130 (the shell's code for SIGINT).
"""

from __future__ import annotations

import importlib
import logging
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
COMMAND_MODULES = ("grammar", "data", "prior", "train", "optimize", "experiment", "images", "score")


def _no_metavar_on_switches() -> None:
    # Typer shows a "<bool>" type beside every switch (--resume, --no-cache, --help), which reads as
    # if the switch took a value; a switch has no value to describe.
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: object) -> str | None:
        return None if self.is_flag and not self.count else shown(self, ctx)  # type: ignore[arg-type]

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_no_metavar_on_switches()


def cli_message(err: Exception, command: str | None = None) -> str:
    """The one-line message of a library error with its parameters named by their flags: the one
    place where ``learning_rate must ...`` becomes ``--lr must ...``.

    ``err.parameter`` is one name, replaced where the message starts with it (elsewhere the word may
    be plain prose: "device cuda: no CUDA device"), or a tuple of names, each replaced wherever it
    stands as a whole word ("batch_size 5000 ...; use a smaller batch_size"), so a message that
    names a second option mid-sentence lists it there. ``command`` is the command word the flags
    belong to (:func:`lsbo.options.flag_for`).
    """
    import re

    from lsbo.options import UNMAPPED_COMMANDS, flag_for

    message = str(err)
    parameter = getattr(err, "parameter", None)
    if command in UNMAPPED_COMMANDS:
        return message
    if isinstance(parameter, str):
        return flag_for(parameter, command) + message[len(parameter):] if parameter and message.startswith(parameter) else message
    for name in parameter or ():
        flag = flag_for(name, command)
        # not inside a longer name, a path or a file name ("/data/", "data.csv")
        message = re.sub(rf"(?<![\w./-]){re.escape(name)}(?![\w/-]|\.\w)", lambda _, flag=flag: flag, message)
    return message


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"lsbo_cli.{name}").register(app)


def _print_version(value: bool) -> None:
    if value:
        from lsbo import __version__

        typer.echo(f"lsbo {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the installed version and exit."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also log debugging detail."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Log warnings only (no per-epoch lines)."),
) -> None:
    """lsbo: train grammar autoencoders and optimise strings in their latent space."""
    install_log_handler(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)


def install_log_handler(level: int = logging.INFO) -> None:
    """Send the library's ``lsbo.*`` loggers to stderr through one handler: rich (on the console the
    progress bars draw on, so lines appear above a running bar) on a terminal, plain lines when
    stderr is a file or a pipe (nothing is wrapped or coloured there). Lines are formatted by
    :class:`lsbo.logs.LineFormatter` (``warning: ...``; the unit's prefix). Installed once per process."""
    from lsbo.logs import LineFormatter

    logger = logging.getLogger("lsbo")
    logger.setLevel(level)
    if any(getattr(handler, "_lsbo_cli", False) for handler in logger.handlers):
        return
    handler: logging.Handler
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        from lsbo.data.progress import shared_console

        handler = RichHandler(console=shared_console(), show_time=False, show_level=False, show_path=False, markup=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LineFormatter())
    handler._lsbo_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.propagate = False


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
        command = next((a for a in args if not a.startswith("-")), None)  # the root options are all switches
        typer.secho(f"error: {cli_message(err, command)}", fg=typer.colors.RED, err=True)
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
