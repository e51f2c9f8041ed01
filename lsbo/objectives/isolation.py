"""Bounded objective calls: strings scored in child processes, several at once, each call with a time limit.

An expensive objective (docking-like) may hang, crash the interpreter (a segfault in native code),
call ``sys.exit`` or simply take too long. In-process scoring (:func:`lsbo.objectives.evaluate_safely`)
survives an exception but none of those. :func:`evaluate_isolated` scores the strings in child
processes, at most ``workers`` at a time, each child a chunk of strings in turn, and waits at most
``timeout`` seconds for each call; a child whose call times out is killed, and one that dies costs the
string it was scoring (the rest of its chunk goes to a new child). Whatever happens to a call becomes an invalid
:class:`~lsbo.objectives.base.Evaluation` with its reason, and the caller carries on.

Children are forked where the platform can (Linux, macOS with ``fork``), so the objective need not be
picklable and a child starts in milliseconds; ``start_method="spawn"`` is there for objectives that
must not inherit the parent's state (the objective is then pickled). A batch objective is called on
one string per call: the timeout bounds one string's score.

A forked child inherits the parent's locks as they were: an objective that writes to stderr while
the parent's progress-bar thread held its lock would wait forever, which the timeout turns into an
invalid call.

User objectives (``module:function`` targets and wrapped callables, whose
:attr:`~lsbo.objectives.base.Objective.isolated_by_default` is True) run this way by default, each call
limited to :data:`DEFAULT_TIMEOUT_SECONDS`: user code may exit, crash, hang, close the parent's streams
or fork a copy of the loop, and none of that may end a run without a word or corrupt its records.
Built-in objectives run in the process unless isolation is asked for.
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


#: Seconds one isolated objective call may take when no timeout is given (``math.inf``: no limit).
DEFAULT_TIMEOUT_SECONDS = 600.0


@dataclass(frozen=True)
class IsolationOptions:
    """How objective calls run: ``workers`` child processes at once, each call limited to ``timeout`` seconds.

    ``isolate`` None (the default) runs the calls of a user objective
    (:attr:`~lsbo.objectives.base.Objective.isolated_by_default`) in child processes, and those of any
    objective when ``workers`` is above one or a ``timeout`` is given; True always, False never (the
    calls run in this process, unbounded). ``timeout`` None is :data:`DEFAULT_TIMEOUT_SECONDS` for
    isolated calls; ``math.inf`` means no limit.
    """

    workers: int = 1
    timeout: float | None = None
    isolate: bool | None = None

    def validate(self) -> None:
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise ConfigError(f"objective_calls.workers must be a whole number of at least 1, got {self.workers!r}",
                              parameter="objective_calls.workers")
        number = isinstance(self.timeout, (int, float)) and not isinstance(self.timeout, bool)
        if self.timeout is not None and not (number and not math.isnan(self.timeout) and self.timeout > 0):
            raise ConfigError(f"objective_calls.timeout must be a positive number of seconds (inf: no limit), got {self.timeout!r}",
                              parameter="objective_calls.timeout")
        if self.isolate is False and self.isolated:
            raise ConfigError("with isolation off every call runs in this process, so objective_calls.workers and "
                              "objective_calls.timeout cannot apply; drop them or leave isolation on",
                              parameter=("objective_calls.workers", "objective_calls.timeout"))

    @property
    def isolated(self) -> bool:
        """Whether child processes were asked for explicitly (any worker count above one, or any timeout)."""
        return self.workers > 1 or self.timeout is not None

    def isolated_for(self, objective: Objective) -> bool:
        """Whether ``objective``'s calls run in child processes (the rules of the class docstring)."""
        if self.isolate is not None:
            return self.isolate
        return self.isolated or bool(getattr(objective, "isolated_by_default", False))

    @property
    def timeout_seconds(self) -> float | None:
        """The limit of one isolated call in seconds (None: no limit)."""
        timeout = DEFAULT_TIMEOUT_SECONDS if self.timeout is None else float(self.timeout)
        return None if math.isinf(timeout) else timeout


#: The most strings one child process scores in turn (a crash or a timeout costs the string in flight;
#: the child's remaining strings go to a new one).
MAX_STRINGS_PER_PROCESS = 1000


def _child(writer: Any, objective: Objective, strings: Sequence[str]) -> None:
    """Score ``strings`` in turn, sending ``(score, error, seconds)`` for each as it ends; then end the
    process without cleanup handlers.

    Ctrl-C is the parent's to handle: a terminal sends SIGINT to the whole process group, and a child
    that took it would report its call as failed ("KeyboardInterrupt") before the parent stops, so a
    resumed run would never score that call again. The child ignores it; the parent kills its children.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by the parent around the fork
    _die_with_parent()
    from lsbo.persistence import close_inherited_locks

    close_inherited_locks()  # a child that outlives the parent must not keep its run directory locked
    try:
        for string in strings:
            started = time.perf_counter()
            try:
                evaluation = _evaluate_one(objective, string)  # catches all but Ctrl-C; ends a fork the objective made
            except BaseException as err:
                evaluation = Evaluation(None, _describe(err))
            writer.send((evaluation.score, evaluation.error, time.perf_counter() - started))
        writer.close()
    finally:
        os._exit(0)  # never run the parent's inherited atexit handlers or wait for the objective's threads


def _die_with_parent() -> None:
    """Linux: have the kernel kill this child when its parent dies (a parent killed with SIGKILL cannot
    kill its children, and a hung call would run on). Elsewhere the parent's clean-up is all there is."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before the request: nothing would send the signal
            os._exit(0)
    except (OSError, AttributeError):
        pass


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
    """A child process scoring ``indices`` in turn; ``done`` of them have been reported."""

    indices: list[int]
    process: Any
    reader: Any
    deadline: float | None
    done: int = 0

    @property
    def current(self) -> int:
        return self.indices[self.done]


def strings_per_process(n: int, workers: int) -> int:
    """How many strings one child scores in turn: several, so that scoring a training set does not start a
    process per string (tens of ms each), yet about four chunks per worker, so that workers share uneven calls."""
    return max(1, min(MAX_STRINGS_PER_PROCESS, n // (4 * workers)))


def evaluate_isolated(
    objective: Objective,
    strings: Sequence[str | None],
    *,
    workers: int = 1,
    timeout: float | None = None,
    on_result: Callable[[int, Evaluation, float | None], None] | None = None,
    start_method: str | None = None,
) -> list[Evaluation]:
    """Score the strings in child processes, ``workers`` at once, each call bounded by ``timeout`` seconds.

    Each child scores a chunk of strings in turn (:func:`strings_per_process`) and reports each score as
    it ends. A child that raises nothing but dies (exit, crash) or passes a call's time limit is killed;
    the string it was scoring is invalid with the reason, and the rest of its chunk goes to a new child.

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

    pending: list[int] = []
    for i, s in enumerate(strings):
        if s is None:
            finish(i, Evaluation(None, "no valid string was decoded"), 0.0)
        else:
            pending.append(i)
    size = strings_per_process(len(pending), workers)
    queue: deque[list[int]] = deque(pending[k : k + size] for k in range(0, len(pending), size))
    running: list[_Call] = []

    def deadline() -> float | None:
        return None if timeout is None else time.monotonic() + timeout

    try:
        while queue or running:
            while queue and len(running) < workers:
                indices = queue.popleft()
                reader, writer = context.Pipe(duplex=False)
                chunk = [strings[i] for i in indices]
                process = context.Process(target=_child, args=(writer, objective, chunk), daemon=True)
                # Ctrl-C waits until the child is registered, so the clean-up below always knows of it
                blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
                try:
                    process.start()
                    writer.close()  # the child holds the only write end: its death reads as end-of-file
                    running.append(_Call(indices, process, reader, deadline()))
                finally:
                    signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            deadlines = [c.deadline for c in running if c.deadline is not None]
            wait_seconds = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            wait([c.reader for c in running] + [c.process.sentinel for c in running], timeout=wait_seconds)
            for call in list(running):
                ended = _collect(call, timeout, finish, deadline)
                if ended:
                    running.remove(call)
                    if call.done < len(call.indices):
                        queue.appendleft(call.indices[call.done :])  # the chunk's rest, in a new child
    finally:
        for call in running:  # interrupted (Ctrl-C, an error in on_result): leave no child behind
            _stop(call.process)
            call.reader.close()
    return [r for r in results if r is not None]


def _collect(
    call: _Call, timeout: float | None, finish: Callable[[int, Evaluation, float | None], None], deadline: Callable[[], float | None],
) -> bool:
    """Take the results a child has sent; True once it has ended (all sent, died or timed out; the call in
    flight then has its reason and ``call.done`` counts it)."""
    while call.done < len(call.indices) and call.reader.poll():
        try:
            message = call.reader.recv()
        except (EOFError, OSError):
            break  # died without sending: judged by its exit code below
        except Exception as err:
            message = (None, f"objective result could not be read: {_describe(err)}", None)
        score, error, seconds = message
        finish(call.current, Evaluation(score, error), None if seconds is None else float(seconds))
        call.done += 1
        call.deadline = deadline()  # each call has its own limit
    if call.done == len(call.indices):
        call.process.join(_EXIT_GRACE_SECONDS)
        _stop(call.process)
        call.reader.close()
        return True
    if not call.process.is_alive():
        call.process.join()
        call.reader.close()
        finish(call.current, Evaluation(None, exit_reason(call.process.exitcode)), None)
        call.done += 1
        return True
    if call.deadline is not None and time.monotonic() >= call.deadline:
        _stop(call.process)
        call.reader.close()
        logger.info("objective call %d timed out after %g s; its process was killed", call.current, timeout)
        finish(call.current, Evaluation(None, f"objective call timed out after {timeout:g} s (its process was killed)"), timeout)
        call.done += 1
        return True
    return False


def _stop(process: Any) -> None:
    if process.is_alive():
        process.kill()
    process.join()


__all__ = ["DEFAULT_TIMEOUT_SECONDS", "IsolationOptions", "evaluate_isolated", "exit_reason"]
