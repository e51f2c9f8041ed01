"""Bounded objective calls: each string scored in its own process, several at once, with a time limit.

An expensive objective (docking-like) may hang, crash the interpreter (a segfault in native code),
call ``sys.exit`` or simply take too long. In-process scoring (:func:`lsbo.objectives.evaluate_safely`)
survives an exception but none of those. :func:`evaluate_isolated` scores every string in a child
process of its own, at most ``workers`` at a time, and waits at most ``timeout`` seconds for each; a
call that times out is killed. Whatever happens to a call becomes an invalid
:class:`~lsbo.objectives.base.Evaluation` with its reason, and the caller carries on.

Children are forked where the platform can (Linux, macOS with ``fork``), so the objective need not be
picklable and a child starts in milliseconds; ``start_method="spawn"`` is there for objectives that
must not inherit the parent's state (the objective is then pickled). A batch objective is called on
one string per call: the timeout bounds one string's score.

A forked child inherits the parent's locks as they were: an objective that writes to stderr while
the parent's progress-bar thread held its lock would wait forever, which the timeout turns into an
invalid call. Give ``--objective-timeout`` whenever the objective is not known to be well behaved.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any

from lsbo.errors import ConfigError
from lsbo.objectives.base import Evaluation, Objective, _describe, _evaluate_one

logger = logging.getLogger(__name__)

#: How long a child that has sent its result may take to exit before it is killed (it never has work left).
_EXIT_GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class IsolationOptions:
    """How objective calls run: ``workers`` child processes at once, each call limited to ``timeout`` seconds.

    The defaults (one worker, no timeout) mean in-process scoring, as without this module.
    """

    workers: int = 1
    timeout: float | None = None

    def validate(self) -> None:
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise ConfigError(f"objective_calls.workers must be a whole number of at least 1, got {self.workers!r}",
                              parameter="objective_calls.workers")
        number = isinstance(self.timeout, (int, float)) and not isinstance(self.timeout, bool)
        if self.timeout is not None and not (number and math.isfinite(self.timeout) and self.timeout > 0):
            raise ConfigError(f"objective_calls.timeout must be a positive number of seconds, got {self.timeout!r}",
                              parameter="objective_calls.timeout")

    @property
    def isolated(self) -> bool:
        """Whether calls run in child processes (any worker count above one, or any timeout)."""
        return self.workers > 1 or self.timeout is not None


def _child(writer: Any, objective: Objective, string: str) -> None:
    """Score one string and send ``(score, error, seconds)``; ends the process without cleanup handlers."""
    started = time.perf_counter()
    try:
        evaluation = _evaluate_one(objective, string)  # catches every Exception of the objective
    except SystemExit as err:
        evaluation = Evaluation(None, f"objective called sys.exit({err.code!r})")
    except BaseException as err:
        evaluation = Evaluation(None, _describe(err))
    try:
        writer.send((evaluation.score, evaluation.error, time.perf_counter() - started))
        writer.close()
    finally:
        os._exit(0)  # never run the parent's inherited atexit handlers or wait for the objective's threads


def exit_reason(exitcode: int | None) -> str:
    """Why a child ended without a result, from its exit code (negative: the signal that killed it)."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"objective process was killed by {name}"
    return f"objective process exited with code {exitcode} before returning a score"


@dataclass
class _Call:
    index: int
    process: Any
    reader: Any
    deadline: float | None


def evaluate_isolated(
    objective: Objective,
    strings: Sequence[str | None],
    *,
    workers: int = 1,
    timeout: float | None = None,
    on_result: Callable[[int, Evaluation, float | None], None] | None = None,
    start_method: str | None = None,
) -> list[Evaluation]:
    """Score each string in its own child process, ``workers`` at once, each bounded by ``timeout`` seconds.

    Args:
        objective: scores one string per call (``score`` of an item-wise objective, else ``objective([s])``).
        strings: the n inputs; ``None`` (nothing decoded) gets no score and no process.
        workers: child processes running at once (at least 1).
        timeout: seconds one call may take before its process is killed (``None``: no limit).
        on_result: called as ``on_result(index, evaluation, seconds)`` as each call ends, in the order they
            end, so a caller can persist each score at once (``seconds``: the call's own duration, ``None``
            when the process died without saying).
        start_method: a :mod:`multiprocessing` start method; default ``fork`` where available, else ``spawn``.

    Returns:
        n evaluations in input order; a call that raised, exited, crashed or timed out is invalid with its reason.
    """
    IsolationOptions(workers=workers, timeout=timeout).validate()
    method = start_method or ("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    context: Any = multiprocessing.get_context(method)
    results: list[Evaluation | None] = [None] * len(strings)

    def finish(index: int, evaluation: Evaluation, seconds: float | None) -> None:
        results[index] = evaluation
        if on_result is not None:
            on_result(index, evaluation, seconds)

    queue: deque[int] = deque()
    for i, s in enumerate(strings):
        if s is None:
            finish(i, Evaluation(None, "no valid string was decoded"), 0.0)
        else:
            queue.append(i)
    running: dict[int, _Call] = {}
    try:
        while queue or running:
            while queue and len(running) < workers:
                index = queue.popleft()
                reader, writer = context.Pipe(duplex=False)
                process = context.Process(target=_child, args=(writer, objective, strings[index]), daemon=True)
                process.start()
                writer.close()  # the child holds the only write end: its death reads as end-of-file
                deadline = None if timeout is None else time.monotonic() + timeout
                running[index] = _Call(index, process, reader, deadline)
            deadlines = [c.deadline for c in running.values() if c.deadline is not None]
            wait_seconds = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            wait([c.reader for c in running.values()] + [c.process.sentinel for c in running.values()], timeout=wait_seconds)
            for call in list(running.values()):
                outcome = _collect(call, timeout)
                if outcome is not None:
                    del running[call.index]
                    finish(call.index, *outcome)
    finally:
        for call in running.values():  # interrupted (Ctrl-C, an error in on_result): leave no child behind
            _stop(call.process)
            call.reader.close()
    return [r for r in results if r is not None]


def _collect(call: _Call, timeout: float | None) -> tuple[Evaluation, float | None] | None:
    """The outcome of a call that has ended (a result, a death or a timeout), or ``None`` while it runs."""
    message = None
    if call.reader.poll():
        try:
            message = call.reader.recv()
        except (EOFError, OSError):
            message = None  # died without sending: judged by its exit code below
        except Exception as err:
            message = (None, f"objective result could not be read: {_describe(err)}", None)
    if message is not None:
        score, error, seconds = message
        call.process.join(_EXIT_GRACE_SECONDS)
        _stop(call.process)
        call.reader.close()
        return Evaluation(score, error), None if seconds is None else float(seconds)
    if not call.process.is_alive():
        call.process.join()
        call.reader.close()
        return Evaluation(None, exit_reason(call.process.exitcode)), None
    if call.deadline is not None and time.monotonic() >= call.deadline:
        _stop(call.process)
        call.reader.close()
        logger.info("objective call %d timed out after %g s; its process was killed", call.index, timeout)
        return Evaluation(None, f"objective call timed out after {timeout:g} s (its process was killed)"), timeout
    return None


def _stop(process: Any) -> None:
    if process.is_alive():
        process.kill()
    process.join()


__all__ = ["IsolationOptions", "evaluate_isolated", "exit_reason"]
