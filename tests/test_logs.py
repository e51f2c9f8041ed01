"""lsbo.logs: the one line format of the library's log records, and the unit prefixes."""

from __future__ import annotations

import logging

from lsbo.logs import LineFormatter, current_prefix, log_context


def record(level: int, message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("lsbo.bo.loop", level, __file__, 1, message, args, None)


def test_lines_are_the_message_with_warnings_marked() -> None:
    formatter = LineFormatter()
    assert formatter.format(record(logging.INFO, "%d training points", 5)) == "5 training points"
    assert formatter.format(record(logging.WARNING, "the search collapsed")) == "warning: the search collapsed"
    assert formatter.format(record(logging.ERROR, "gone")) == "error: gone"


def test_nested_contexts_prefix_the_lines_inside_them_only() -> None:
    formatter = LineFormatter()
    with log_context("optimize gmm expr seed 1"):
        with log_context("trial 2"):
            assert formatter.format(record(logging.INFO, "done")) == "optimize gmm expr seed 1: trial 2: done"
        assert formatter.format(record(logging.WARNING, "odd")) == "optimize gmm expr seed 1: warning: odd"
    assert current_prefix() == "" and formatter.format(record(logging.INFO, "done")) == "done"
