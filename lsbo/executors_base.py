"""The executor interface (:mod:`lsbo.executors` builds one by name; the local and Ray executors implement it)."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")


class Executor(abc.ABC):
    """Runs independent units of work and returns their results in order."""

    name: str = "executor"

    @abc.abstractmethod
    def map(self, units: Sequence[Callable[[], T]]) -> list[T]:
        """Run every unit and return their results in the order given.

        Raises:
            BaseException: the error of the first failing unit (in unit order), after all units ended.
        """

    def close(self) -> None:
        """Release workers (a no-op for executors that hold none)."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _call(unit: Callable[[], T]) -> T:
    return unit()


def _gather(outcomes: Iterable[tuple[bool, object]]) -> list:
    results, first_error = [], None
    for ok, value in outcomes:
        if ok:
            results.append(value)
        else:
            results.append(None)
            first_error = first_error or value
    if first_error is not None:
        raise first_error  # type: ignore[misc]
    return results
