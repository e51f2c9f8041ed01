"""User objectives: any Python callable, or a ``module:function`` target named on the command line.

A plain function has one of two forms, recognised by these rules in this order (never by calling it
to see what happens):

1. its ``batched`` attribute, when it has one: ``True`` for the batch form. :func:`batched` is a
   decorator that sets it (``batched=`` of :func:`objective_from_callable` overrides it);
2. else the annotation of its first parameter: ``str`` for the per-string form; ``list[str]``,
   ``Sequence[str]``, ``Iterable[str]`` or ``tuple[str, ...]`` for the batch form;
3. else (no annotation) the per-string form.

The per-string form is ``f(string) -> float | None``; the batch form is
``f(strings: list[str]) -> list[float | None]`` (one score per string, in order). A per-string
function that returns a list is told how to declare the batch form, in the reason recorded for
every string. The direction is maximise unless the function carries ``maximize = False`` (or
``maximize=False`` here). An :class:`~lsbo.objectives.base.Objective` subclass or instance may be
named as well.

On a molecule model a user objective only ever sees strings RDKit can parse: validity comes from
the molecule parser, so a string that is not a molecule is invalid whatever the function returns.
"""

from __future__ import annotations

import collections.abc
import importlib.util  # binds importlib too; util is a submodule that "import importlib" does not guarantee
import inspect
import sys
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from lsbo.errors import ObjectiveError
from lsbo.objectives.base import BUILTIN_TARGETS, ItemwiseObjective, Objective, score_type_problem
from lsbo.objectives.logp import _molecule


def _score(name: str, value: Any) -> float | None:
    """One value a user function returned, as a score (text and truth values are refused, not converted)."""
    if value is None:
        return None
    problem = score_type_problem(value)
    if problem is not None:
        raise ObjectiveError(f"{name} {problem}")
    return float(value)


class CallableObjective(ItemwiseObjective):
    """Wraps a per-string function ``f(str) -> float | None``."""

    isolated_by_default = True

    def __init__(self, function: Callable[[str], float | None], *, name: str | None = None, maximize: bool = True) -> None:
        self.function = function
        self.name = name or getattr(function, "__name__", "user")
        self.maximize = maximize

    def score(self, string: str) -> float | None:
        value = self.function(string)
        if isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) >= 1:  # a batch function called per string
            raise ObjectiveError(
                f"{self.name} returned a {type(value).__name__} for one string: it is taken as a per-string function; "
                f"declare the batch form with @lsbo.objectives.batched, {self.name}.batched = True, or a list[str] "
                "annotation on its parameter"
            )
        return _score(self.name, value)


class BatchCallableObjective(Objective):
    """Wraps a batch function ``f(list[str]) -> list[float | None]``."""

    isolated_by_default = True

    def __init__(self, function: Callable[[list[str]], Sequence[float | None]], *, name: str | None = None, maximize: bool = True) -> None:
        self.function = function
        self.name = name or getattr(function, "__name__", "user")
        self.maximize = maximize

    def __call__(self, strings: Sequence[str]) -> list[float | None]:
        values = list(self.function(list(strings)))
        if len(values) != len(strings):
            raise ObjectiveError(f"objective {self.name} returned {len(values)} scores for {len(strings)} strings")
        return [_score(self.name, v) for v in values]


F = TypeVar("F", bound=Callable[..., Any])

#: Parameter annotations that declare the batch form (their origin, for generics like ``list[str]``).
BATCH_ANNOTATIONS = (list, tuple, collections.abc.Sequence, collections.abc.Iterable, collections.abc.Collection)
BATCH_ANNOTATION_NAMES = ("list", "List", "tuple", "Tuple", "Sequence", "Iterable", "Collection")


def batched(function: F) -> F:
    """Mark ``function`` as a batch objective: it takes a list of strings and returns one score each."""
    function.batched = True  # type: ignore[attr-defined]
    return function


def is_batch_function(function: Callable[..., Any]) -> bool:
    """Which form a plain function has, by the rules in the module docstring."""
    if hasattr(function, "batched"):
        return bool(function.batched)  # type: ignore[attr-defined]
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return False
    if not parameters or parameters[0].annotation is inspect.Parameter.empty:
        return False
    annotation = parameters[0].annotation
    try:  # resolve a string annotation (from __future__ import annotations) in the function's module
        annotation = typing.get_type_hints(function).get(parameters[0].name, annotation)
    except Exception:
        pass
    if isinstance(annotation, str):
        return annotation.replace("typing.", "").replace("collections.abc.", "").split("[")[0].strip() in BATCH_ANNOTATION_NAMES
    origin = typing.get_origin(annotation) or annotation
    return isinstance(origin, type) and issubclass(origin, BATCH_ANNOTATIONS) and origin is not str


class ParsedMoleculesOnly(Objective):
    """A batch objective on a molecule model: strings RDKit cannot parse get no score, unseen by it."""

    def __init__(self, inner: Objective) -> None:
        self.inner = inner
        self.name = inner.name
        self.maximize = inner.maximize
        self.isolated_by_default = inner.isolated_by_default

    def is_valid(self, string: str) -> bool:
        return _molecule(string) is not None and self.inner.is_valid(string)

    def __call__(self, strings: Sequence[str]) -> list[float | None]:
        parsed = [_molecule(s) is not None for s in strings]
        scores = iter(self.inner([s for s, ok in zip(strings, parsed) if ok]) if any(parsed) else [])
        return [next(scores) if ok else None for ok in parsed]


class ParsedMoleculesOnlyItemwise(ItemwiseObjective):
    """A per-string objective on a molecule model: a string RDKit cannot parse is invalid, with that reason."""

    def __init__(self, inner: ItemwiseObjective) -> None:
        self.inner = inner
        self.name = inner.name
        self.maximize = inner.maximize
        self.isolated_by_default = inner.isolated_by_default

    def is_valid(self, string: str) -> bool:
        return _molecule(string) is not None and self.inner.is_valid(string)

    def score(self, string: str) -> float | None:
        if _molecule(string) is None:
            raise ObjectiveError("not a valid SMILES (RDKit cannot parse it)")
        return self.inner.score(string)


def for_model_kind(objective: Objective, kind: str | None) -> Objective:
    """``objective`` as used on a model of ``kind``: on molecules, validity is RDKit's (see the module docstring)."""
    if kind != "molecules" or isinstance(objective, (ParsedMoleculesOnly, ParsedMoleculesOnlyItemwise)):
        return objective
    if isinstance(objective, ItemwiseObjective):
        return ParsedMoleculesOnlyItemwise(objective)
    return ParsedMoleculesOnly(objective)


def objective_from_callable(
    function: Callable[..., Any], *, name: str | None = None, maximize: bool | None = None, batched: bool | None = None
) -> Objective:
    """Wrap ``function`` as an objective; ``maximize`` defaults to its attribute (or True), the form
    (``batched``) to :func:`is_batch_function`."""
    if isinstance(function, Objective):
        return function
    if isinstance(function, type) and issubclass(function, Objective):
        try:
            return function()
        except TypeError as err:
            raise ObjectiveError(f"objective class {function.__name__} cannot be created without arguments: {err}") from None
    if not callable(function):
        raise ObjectiveError(f"objective {name or function!r} is not callable")
    direction = getattr(function, "maximize", True) if maximize is None else maximize
    if not isinstance(direction, (bool, np.bool_)):  # bool("False") is True: text would silently maximise
        raise ObjectiveError(f"objective {name or getattr(function, '__name__', function)!r}: maximize is {direction!r} "
                             f"({type(direction).__name__}); set it to True or False")
    direction = bool(direction)
    is_batch = is_batch_function(function) if batched is None else batched
    wrapper = BatchCallableObjective if is_batch else CallableObjective
    return wrapper(function, name=name, maximize=direction)


def load_target(target: str) -> Objective:
    """Import ``module:function`` (a module name, or a path to a ``.py`` file) and wrap it.

    Raises :class:`ObjectiveError` with a one-line message when the module does not import or has no
    such attribute.
    """
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise ObjectiveError(f"target {target!r}: expected {', '.join(BUILTIN_TARGETS)} or module:function", parameter="target")
    try:
        if module_name.endswith(".py") or Path(module_name).is_file():
            path = Path(module_name).resolve()
            if not path.is_file():
                raise ObjectiveError(f"target {target!r}: no such file {path}", parameter="target")
            spec = importlib.util.spec_from_file_location(f"lsbo_user_objective_{path.stem}", path)
            if spec is None or spec.loader is None:
                raise ObjectiveError(f"target {target!r}: cannot load {path}", parameter="target")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            if "" not in sys.path and str(Path.cwd()) not in sys.path:
                sys.path.insert(0, str(Path.cwd()))  # so a module beside the user's working directory imports
            module = importlib.import_module(module_name)
    except ObjectiveError:
        raise
    except Exception as err:
        raise ObjectiveError(f"target {target!r}: importing {module_name} failed: {type(err).__name__}: {err}",
                             parameter="target") from None
    function = module
    for part in attribute.split("."):
        if not hasattr(function, part):
            raise ObjectiveError(f"target {target!r}: {module_name} has no attribute {attribute!r}", parameter="target")
        function = getattr(function, part)
    objective = objective_from_callable(function, name=attribute.split(".")[-1])
    objective.isolated_by_default = True  # user code, an Objective subclass included
    if not isinstance(objective.maximize, (bool, np.bool_)):
        raise ObjectiveError(f"target {target!r}: maximize is {objective.maximize!r} ({type(objective.maximize).__name__}); "
                             "set it to True or False", parameter="target")
    return objective
