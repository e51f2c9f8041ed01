"""The objective interface: a name, a direction and a batch score function.

An objective scores strings decoded from the latent space (docs/protocols.md §3). Its contract is tiny
(GuacaMol-like): ``name``, ``maximize`` and ``__call__(strings) -> list[float | None]`` where ``None``
marks an input that has no score (an invalid molecule, say). :func:`evaluate_safely` wraps any
objective so that one input that raises becomes ``None`` with its message recorded while the other
inputs are still scored: a long optimisation run never dies on one bad string.
"""

from __future__ import annotations

import math
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def __getattr__(name: str) -> object:
    # The targets build_objective knows by name (anything else must be module:function): the
    # registry's names, read when asked for (a plugin loaded since has added its own).
    if name == "BUILTIN_TARGETS":
        from lsbo.components import OBJECTIVES

        return OBJECTIVES.names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_better(a: float, b: float, maximize: bool) -> bool:
    """Whether score ``a`` is strictly better than ``b`` in the given direction (the one direction check)."""
    return a > b if maximize else a < b


class Objective(ABC):
    """A batch score function over strings.

    Subclasses set :attr:`name`, :attr:`maximize` and :attr:`unit` and implement :meth:`__call__`. ``None`` in the
    output means "no score" (the input is invalid for this objective).
    """

    name: str = "objective"
    maximize: bool = True
    #: Whether its calls run in child processes unless told otherwise (:class:`lsbo.objectives.isolation.IsolationOptions`):
    #: True for user code (:mod:`lsbo.objectives.user`), which may exit, crash, hang or fork; built-in objectives are trusted.
    isolated_by_default: bool = False
    #: What the numbers are (printed beside every table of scores; units are never mixed in one).
    unit: str = "score of a user objective"

    @abstractmethod
    def __call__(self, strings: Sequence[str]) -> list[float | None]:
        """Score every string; ``None`` for inputs without a score."""

    def is_valid(self, string: str) -> bool:
        """A cheap validity check used to pick among decoded candidates (default: every string)."""
        return True

    def better(self, a: float, b: float) -> bool:
        """Whether score ``a`` is strictly better than ``b`` in this objective's direction."""
        return is_better(a, b, self.maximize)

    def __repr__(self) -> str:
        direction = "maximize" if self.maximize else "minimize"
        return f"{type(self).__name__}(name={self.name!r}, {direction})"


class ItemwiseObjective(Objective):
    """An objective defined one string at a time: implement :meth:`score`."""

    @abstractmethod
    def score(self, string: str) -> float | None:
        """The score of one string, or ``None`` when it has none."""

    def __call__(self, strings: Sequence[str]) -> list[float | None]:
        return [self.score(s) for s in strings]


@dataclass(frozen=True)
class Evaluation:
    """The outcome of scoring one input: a finite score, or ``None`` and the reason."""

    score: float | None
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.score is not None


#: The reason recorded for an input the objective gave no score (``None``: an invalid input, expected).
NO_SCORE = "objective returned no score (invalid input)"


#: The largest score magnitude kept: the surrogate standardises scores (squares of their spread summed
#: over up to ~1e8 points must stay finite in float64, whose largest value is 1.8e308).
MAX_SCORE_MAGNITUDE = 1e150


def score_type_problem(value: object) -> str | None:
    """Why ``value`` is not a score even though :func:`float` would take it (text, a truth value), or None.

    ``float("1.5")`` is 1.5 and ``float(True)`` is 1.0, so a function returning the text ``'1.5'`` or a
    boolean would otherwise be scored; either is a bug in the objective, reported rather than guessed at.
    """
    if isinstance(value, (str, bytes, bytearray)):
        return f"returned the text {value!r}, a non-number (return a float, not text)"
    if isinstance(value, (bool, np.bool_)):
        return f"returned {value!r}, a truth value, not a score (return a float)"
    return None


def _checked(value: object) -> Evaluation:
    """Turn one raw objective output into an :class:`Evaluation` (text, non-numbers, NaN and magnitudes
    beyond :data:`MAX_SCORE_MAGNITUDE` are errors)."""
    if value is None:
        return Evaluation(None, NO_SCORE)
    problem = score_type_problem(value)
    if problem is not None:
        return Evaluation(None, f"objective {problem}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return Evaluation(None, f"objective returned a non-number: {value!r}"[:300])
    if not math.isfinite(number):
        return Evaluation(None, f"objective returned a non-finite score: {number}")
    if abs(number) > MAX_SCORE_MAGNITUDE:
        return Evaluation(None, f"objective returned {number:g}, beyond the +/-{MAX_SCORE_MAGNITUDE:g} a surrogate can standardise")
    return Evaluation(number)


def _describe(err: BaseException) -> str:
    message = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {message}" if message else type(err).__name__


def end_if_forked(caller_pid: int) -> None:
    """End this process at once if it is not ``caller_pid``: a copy made by an objective that called
    ``os.fork`` and returned in both processes. The copy would carry on running lsbo (scoring, writing
    every record a second time, forking again at each call); nothing of it is wanted."""
    if os.getpid() != caller_pid:
        line = (f"warning: the objective forked process {os.getpid()} from {caller_pid}, and the copy returned "
                "into lsbo; it was ended (only the original scores and writes)\n")
        try:
            os.write(2, line.encode("utf-8", "replace"))
        finally:
            os._exit(0)


def _evaluate_one(objective: Objective, string: str) -> Evaluation:
    """One string's evaluation; whatever the objective raises becomes its reason, Ctrl-C excepted.

    ``SystemExit`` and other ``BaseException`` subclasses are the objective's too (a ``sys.exit`` in a
    helper, a library's own base exception): they end this call, not the run.
    """
    pid = os.getpid()
    try:
        if isinstance(objective, ItemwiseObjective):
            value = objective.score(string)
            end_if_forked(pid)
            return _checked(value)
        outputs = objective([string])
        end_if_forked(pid)
        if len(outputs) != 1:
            return Evaluation(None, f"objective returned {len(outputs)} scores for 1 input")
        return _checked(outputs[0])
    except KeyboardInterrupt:
        raise
    except SystemExit as err:
        end_if_forked(pid)
        return Evaluation(None, f"objective called sys.exit({err.code!r})")
    except BaseException as err:
        end_if_forked(pid)
        return Evaluation(None, _describe(err))


def evaluate_safely(objective: Objective, strings: Sequence[str | None]) -> list[Evaluation]:
    """Score ``strings`` with ``objective``, recording failures per input instead of raising.

    ``None`` inputs (nothing was decoded) get no score. A batch objective is called once on the
    whole batch; if that raises or returns the wrong number of scores it is called again one input
    at a time, so only the inputs that fail are lost. ``KeyboardInterrupt`` is not caught.
    """
    results: list[Evaluation | None] = [None] * len(strings)
    todo = [i for i, s in enumerate(strings) if s is not None]
    for i, s in enumerate(strings):
        if s is None:
            results[i] = Evaluation(None, "no valid string was decoded")
    if todo and not isinstance(objective, ItemwiseObjective):
        pid = os.getpid()
        try:
            outputs = objective([strings[i] for i in todo])  # type: ignore[misc]
        except KeyboardInterrupt:
            raise
        except BaseException:  # scored again one by one below, where each input gets its own reason
            outputs = None
        end_if_forked(pid)
        if outputs is not None and len(outputs) == len(todo):
            for i, value in zip(todo, outputs):
                results[i] = _checked(value)
            todo = []
    for i in todo:
        results[i] = _evaluate_one(objective, strings[i])  # type: ignore[arg-type]
    return [r for r in results if r is not None]
