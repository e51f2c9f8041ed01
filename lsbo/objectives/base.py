"""The objective interface: a name, a direction and a batch score function.

An objective scores strings decoded from the latent space (docs/protocols.md §3). Its contract is tiny
(GuacaMol-like): ``name``, ``maximize`` and ``__call__(strings) -> list[float | None]`` where ``None``
marks an input that has no score (an invalid molecule, say). :func:`evaluate_safely` wraps any
objective so that one input that raises becomes ``None`` with its message recorded while the other
inputs are still scored: a long optimisation run never dies on one bad string.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass


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


def _checked(value: object) -> Evaluation:
    """Turn one raw objective output into an :class:`Evaluation` (non-numbers and NaN are errors)."""
    if value is None:
        return Evaluation(None, NO_SCORE)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return Evaluation(None, f"objective returned a non-number: {value!r}")
    if not math.isfinite(number):
        return Evaluation(None, f"objective returned a non-finite score: {number}")
    return Evaluation(number)


def _describe(err: BaseException) -> str:
    message = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {message}" if message else type(err).__name__


def _evaluate_one(objective: Objective, string: str) -> Evaluation:
    try:
        if isinstance(objective, ItemwiseObjective):
            return _checked(objective.score(string))
        outputs = objective([string])
        if len(outputs) != 1:
            return Evaluation(None, f"objective returned {len(outputs)} scores for 1 input")
        return _checked(outputs[0])
    except Exception as err:
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
        try:
            outputs = objective([strings[i] for i in todo])  # type: ignore[misc]
        except Exception:
            outputs = None
        if outputs is not None and len(outputs) == len(todo):
            for i, value in zip(todo, outputs):
                results[i] = _checked(value)
            todo = []
    for i in todo:
        results[i] = _evaluate_one(objective, strings[i])  # type: ignore[arg-type]
    return [r for r in results if r is not None]
