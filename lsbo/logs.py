"""How lsbo's log lines look, and which unit of work they belong to.

Library modules log to their module loggers (``logging.getLogger(__name__)``, all under ``lsbo``)
and install no handler; the command line installs one (:func:`lsbo_cli.main.install_log_handler`),
and a spawned worker of an experiment installs a plain one. Both format records with
:class:`LineFormatter`: the message itself, after ``"warning: "`` or ``"error: "`` for those levels,
after the prefixes of the enclosing :func:`log_context` blocks, so that lines of units running
side by side (``optimize gmm expr seed 1: trial 2 iteration 3: ...``) say which unit they come from.
The prefix lives in a :mod:`contextvars` variable, not in the messages, so a library function logs
the same record whoever calls it, and ``caplog`` in tests sees the plain message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_PREFIX: ContextVar[str] = ContextVar("lsbo_log_prefix", default="")


@contextmanager
def log_context(prefix: str) -> Iterator[None]:
    """Prefix every lsbo log line formatted by :class:`LineFormatter` inside the block with ``prefix: ``."""
    token = _PREFIX.set(f"{_PREFIX.get()}{prefix}: ")
    try:
        yield
    finally:
        _PREFIX.reset(token)


def current_prefix() -> str:
    """The prefix of the enclosing :func:`log_context` blocks (``""`` outside any)."""
    return _PREFIX.get()


class LineFormatter(logging.Formatter):
    """``[context: ]message``, with ``warning: `` / ``error: `` before the message of warnings and errors."""

    def format(self, record: logging.LogRecord) -> str:
        level = f"{record.levelname.lower()}: " if record.levelno >= logging.WARNING else ""
        text = f"{current_prefix()}{level}{record.getMessage()}"
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        return text


__all__ = ["LineFormatter", "current_prefix", "log_context"]
