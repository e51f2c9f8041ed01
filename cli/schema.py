"""Command-line options built from the training-options schema (:mod:`lsbo.options`).

A command declares ``regularizer: Optional[Regularizer] = schema_option("regularizer")``: the flag,
the help text with its bounds, and for a choice the type listing its values in ``--help`` (and
refusing any other value before the command runs, in any case: ``GMM`` is ``gmm``) all come from
the one schema.
"""

from __future__ import annotations

import enum
from typing import Any

import typer

from lsbo.options import OPTIONS, choices_help


def choice_type(name: str) -> type[enum.Enum]:
    """A string Enum of the choices of schema option ``name`` (Typer lists and checks them)."""
    option = OPTIONS[name]
    return enum.Enum(name.title().replace("_", ""), {choice: choice for choice in option.choice_names()}, type=str)  # type: ignore[return-value]


def schema_option(name: str, default: Any = None, *extra_flags: str, help: str | None = None) -> Any:
    """The ``typer.Option`` of schema option ``name`` (``help`` replaces the schema's wording)."""
    option = OPTIONS[name]
    if option.kind == "choice":
        return typer.Option(default, option.flag, *extra_flags, help=help or option.help, case_sensitive=False)
    text = choices_help(option) if help is None else choices_help(type(option)(**{**option.__dict__, "help": help}))
    return typer.Option(default, option.flag, *extra_flags, help=text)


#: ``--device`` of every command (:func:`lsbo.device.resolve_device` checks it).
DEVICE_HELP = "auto | cpu | cuda | cuda:N (checked before any work)."


def device_option(help: str = DEVICE_HELP) -> Any:
    """The ``--device`` option (default ``auto``) of a command."""
    return typer.Option("auto", "--device", help=help)


def choice_value(value: Any) -> str | None:
    """The plain string of a choice given on the command line (an Enum member), or None."""
    return None if value is None else str(getattr(value, "value", value))


Model = choice_type("model")
Regularizer = choice_type("regularizer")
Preset = choice_type("preset")
Kind = choice_type("kind")
Monitor = choice_type("monitor")
Init = choice_type("init")
ConvPadding = choice_type("conv_padding")
Decoder = choice_type("decoder")
