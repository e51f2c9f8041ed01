"""Typed, user-facing errors.

Library code raises a subclass of :class:`LsboError` whenever the cause is something the user gave
(a file, a flag, a string, a checkpoint). Its message says what went wrong and where, in one line;
the command line prints it in red and exits non-zero without a traceback (``--debug`` shows it).
Messages name library parameters; the command line names its flags (``LsboError.parameter``).
"""

from __future__ import annotations


class LsboError(Exception):
    """Base class of every error whose message is meant for the user.

    ``parameter`` is the library name of the option at fault (``learning_rate``) when the message
    starts with it; the command line replaces that name by the option's flag (``--lr``, see
    :func:`lsbo.options.flag_for`), so library messages name parameters and CLI messages name flags.
    A message that names further options mid-sentence gives a tuple of names instead, each of which
    the command line replaces wherever it stands as a whole word (``("batch_size", "surrogate")``).
    """

    def __init__(self, message: str = "", *, parameter: str | tuple[str, ...] | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


class GrammarError(LsboError):
    """A grammar file or grammar text is malformed or unusable."""


class DataError(LsboError):
    """A dataset file is missing, unreadable or of the wrong shape."""


class DownloadError(DataError):
    """A file could not be downloaded or failed its checksum."""


class CheckpointError(LsboError):
    """A checkpoint is corrupt, missing, or does not match the grammar/config it is used with."""


class ConfigError(LsboError):
    """An option or combination of options is invalid."""


class ObjectiveError(LsboError):
    """An objective could not be created (e.g. a `module:function` target that does not import)."""


class ExecutorError(LsboError):
    """Units of work could not run where asked (an unreachable cluster, a worker that died)."""


class InputTypeError(LsboError, TypeError):
    """A library function was given a value of the wrong type (e.g. one string where a list of strings
    is expected); the message names the parameter."""
