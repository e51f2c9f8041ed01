"""User objectives: any Python callable, or a ``module:function`` target named on the command line.

A callable scores one string (``f(str) -> float | None``) unless it is marked as a batch function
(attribute ``batched = True``, or ``batched=True`` here), in which case it scores a list at once.
Its direction is maximise unless it carries ``maximize = False`` (or ``maximize=False`` here).
An :class:`~lsbo.objectives.base.Objective` subclass or instance may be named as well.
"""

from __future__ import annotations

import importlib.util  # binds importlib too; util is a submodule that "import importlib" does not guarantee
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lsbo.errors import ObjectiveError
from lsbo.objectives.base import BUILTIN_TARGETS, ItemwiseObjective, Objective


class CallableObjective(ItemwiseObjective):
    """Wraps a per-string function ``f(str) -> float | None``."""

    def __init__(self, function: Callable[[str], float | None], *, name: str | None = None, maximize: bool = True) -> None:
        self.function = function
        self.name = name or getattr(function, "__name__", "user")
        self.maximize = maximize

    def score(self, string: str) -> float | None:
        value = self.function(string)
        return None if value is None else float(value)


class BatchCallableObjective(Objective):
    """Wraps a batch function ``f(list[str]) -> list[float | None]``."""

    def __init__(self, function: Callable[[list[str]], Sequence[float | None]], *, name: str | None = None, maximize: bool = True) -> None:
        self.function = function
        self.name = name or getattr(function, "__name__", "user")
        self.maximize = maximize

    def __call__(self, strings: Sequence[str]) -> list[float | None]:
        values = list(self.function(list(strings)))
        if len(values) != len(strings):
            raise ObjectiveError(f"objective {self.name} returned {len(values)} scores for {len(strings)} strings")
        return [None if v is None else float(v) for v in values]


def objective_from_callable(
    function: Callable[..., Any], *, name: str | None = None, maximize: bool | None = None, batched: bool | None = None
) -> Objective:
    """Wrap ``function`` as an objective; ``maximize``/``batched`` default to its attributes (or True/False)."""
    if isinstance(function, Objective):
        return function
    if isinstance(function, type) and issubclass(function, Objective):
        try:
            return function()
        except TypeError as err:
            raise ObjectiveError(f"objective class {function.__name__} cannot be created without arguments: {err}") from None
    if not callable(function):
        raise ObjectiveError(f"objective {name or function!r} is not callable")
    direction = bool(getattr(function, "maximize", True)) if maximize is None else maximize
    is_batch = bool(getattr(function, "batched", False)) if batched is None else batched
    wrapper = BatchCallableObjective if is_batch else CallableObjective
    return wrapper(function, name=name, maximize=direction)


def load_target(target: str) -> Objective:
    """Import ``module:function`` (a module name, or a path to a ``.py`` file) and wrap it.

    Raises :class:`ObjectiveError` with a one-line message when the module does not import or has no
    such attribute.
    """
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise ObjectiveError(f"--target {target!r}: expected {', '.join(BUILTIN_TARGETS)} or module:function")
    try:
        if module_name.endswith(".py") or Path(module_name).is_file():
            path = Path(module_name).resolve()
            if not path.is_file():
                raise ObjectiveError(f"--target {target!r}: no such file {path}")
            spec = importlib.util.spec_from_file_location(f"lsbo_user_objective_{path.stem}", path)
            if spec is None or spec.loader is None:
                raise ObjectiveError(f"--target {target!r}: cannot load {path}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            if "" not in sys.path and str(Path.cwd()) not in sys.path:
                sys.path.insert(0, str(Path.cwd()))  # so a module beside the user's working directory imports
            module = importlib.import_module(module_name)
    except ObjectiveError:
        raise
    except Exception as err:
        raise ObjectiveError(f"--target {target!r}: importing {module_name} failed: {type(err).__name__}: {err}") from None
    function = module
    for part in attribute.split("."):
        if not hasattr(function, part):
            raise ObjectiveError(f"--target {target!r}: {module_name} has no attribute {attribute!r}")
        function = getattr(function, part)
    return objective_from_callable(function, name=attribute.split(".")[-1])
