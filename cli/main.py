"""Entry point of the ``lsbo`` console script.

Library errors (:class:`lsbo.errors.LsboError`) become one red line on stderr and exit code 1;
``--debug`` anywhere on the command line shows the full traceback instead.
"""

from __future__ import annotations

import importlib
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
COMMAND_MODULES = ("grammar", "data", "prior", "train", "optimize", "experiment", "images")


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"lsbo_cli.{name}").register(app)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    """lsbo: train grammar autoencoders and optimise strings in their latent space."""


_register_all()


def main(argv: list[str] | None = None) -> None:
    """Run the app, turning user-facing library errors into one line and a non-zero exit."""
    from lsbo.errors import LsboError

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
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
        typer.secho("interrupted: partial results are kept; rerun with --resume to continue", fg=typer.colors.YELLOW, err=True)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
