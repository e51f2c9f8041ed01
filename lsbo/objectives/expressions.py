"""The symbolic-regression objective of the Grammar VAE expression experiment (docs/protocols.md §3).

An expression ``f`` in one variable ``x`` is scored against the target ``f*(x) = 1/3 + x + sin(x*x)``
on 1000 points ``x = linspace(-10, 10, 1000)``::

    score(f) = log(1 + mean(min((f(x) - f*(x))^2, 1000)))

lower is better; an expression that fails to evaluate, or gives a non-finite value anywhere, scores
``log(1 + 1000)``. Expressions are never passed to ``eval``: the text is parsed with :mod:`ast` and
the tree is checked against a whitelist (numbers, ``x``, ``+ - * /``, unary minus, ``sin``/``exp``)
before it is turned into numpy operations, so text like ``__import__('os')`` is rejected unevaluated.
"""

from __future__ import annotations

import ast
import math
import warnings
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from lsbo.objectives.base import ItemwiseObjective

#: Squared errors are clipped at this value so one wild point cannot dominate the mean.
ERROR_CLIP = 1000.0
#: The score of an expression that cannot be evaluated (or gives inf/NaN): log(1 + 1000).
FAILURE_SCORE = math.log1p(ERROR_CLIP)
#: Expressions longer than this are rejected before parsing (decoded ones have at most 15 productions).
MAX_EXPRESSION_LENGTH = 10_000

_BINARY: dict[type[ast.operator], Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
}
_UNARY: dict[type[ast.unaryop], Callable[[np.ndarray], np.ndarray]] = {ast.USub: np.negative, ast.UAdd: np.positive}
_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"sin": np.sin, "exp": np.exp}
_VARIABLE = "x"

Compiled = Callable[[np.ndarray], np.ndarray]


class ExpressionSyntaxError(ValueError):
    """The text is not an expression of the whitelisted form."""


def target_function(x: np.ndarray) -> np.ndarray:
    """The target of the expression experiment, ``1/3 + x + sin(x*x)``."""
    return 1.0 / 3.0 + x + np.sin(x * x)


def default_points() -> np.ndarray:
    """The 1000 evaluation points ``linspace(-10, 10, 1000)``."""
    return np.linspace(-10.0, 10.0, 1000)


def _compile(node: ast.AST) -> Compiled:
    """Turn a whitelisted AST node into a numpy function of ``x``; raise on anything else."""
    if isinstance(node, ast.Expression):
        return _compile(node.body)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        op, left, right = _BINARY[type(node.op)], _compile(node.left), _compile(node.right)
        return lambda x: op(left(x), right(x))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        unary, operand = _UNARY[type(node.op)], _compile(node.operand)
        return lambda x: unary(operand(x))
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            raise ExpressionSyntaxError(f"function not allowed: {ast.dump(node.func)[:60]}")
        if len(node.args) != 1 or node.keywords:
            raise ExpressionSyntaxError(f"{node.func.id} takes exactly one argument")
        function, argument = _FUNCTIONS[node.func.id], _compile(node.args[0])
        return lambda x: function(argument(x))
    if isinstance(node, ast.Name) and node.id == _VARIABLE:
        return lambda x: x
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        value = float(node.value)
        return lambda x: np.full_like(x, value, dtype=np.float64)
    raise ExpressionSyntaxError(f"not allowed in an expression: {type(node).__name__}")


@lru_cache(maxsize=4096)
def parse_expression(text: str) -> Compiled:
    """Parse ``text`` into a vectorised numpy function of ``x`` (whitelist only, never ``eval``).

    Raises :class:`ExpressionSyntaxError` for anything that is not a plain expression over ``x``.
    """
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionSyntaxError(f"expression longer than {MAX_EXPRESSION_LENGTH} characters")
    try:
        with warnings.catch_warnings():
            # Python warns on the way to some syntax errors (e.g. "invalid decimal literal" for "x + 1in");
            # the error below already says the string does not parse, so the warning would only be noise
            # on stderr for every such candidate of a character decoder.
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
        raise ExpressionSyntaxError(f"cannot parse expression {text!r}: {type(err).__name__}") from None
    try:
        return _compile(tree)
    except RecursionError:
        raise ExpressionSyntaxError("expression nested too deeply") from None


def evaluate_expression(text: str, x: np.ndarray | None = None) -> np.ndarray:
    """Values of the expression at ``x`` (default: the 1000 points); may contain inf/NaN.

    Raises :class:`ExpressionSyntaxError` when the text is not a whitelisted expression.
    """
    points = default_points() if x is None else np.asarray(x, dtype=np.float64)
    function = parse_expression(text)
    with np.errstate(all="ignore"):
        return np.broadcast_to(np.asarray(function(points), dtype=np.float64), points.shape)


def is_evaluable(text: str, x: np.ndarray | None = None) -> bool:
    """Whether ``text`` parses under the whitelist and is finite at every point."""
    try:
        return bool(np.all(np.isfinite(evaluate_expression(text, x))))
    except (ExpressionSyntaxError, RecursionError, OverflowError, MemoryError):
        return False


def expression_score(text: str, x: np.ndarray | None = None) -> float:
    """``log(1 + mean(min((f(x) - f*(x))^2, 1000)))``, or ``log(1001)`` when ``f`` fails."""
    points = default_points() if x is None else np.asarray(x, dtype=np.float64)
    try:
        values = evaluate_expression(text, points)
    except (ExpressionSyntaxError, RecursionError, OverflowError, MemoryError):
        return FAILURE_SCORE
    if not np.all(np.isfinite(values)):
        return FAILURE_SCORE
    with np.errstate(all="ignore"):
        squared = np.minimum((values - target_function(points)) ** 2, ERROR_CLIP)
    return float(np.log1p(np.mean(squared)))


class ExpressionObjective(ItemwiseObjective):
    """log(1 + clipped MSE) against ``1/3 + x + sin(x*x)`` (minimise).

    A string that is not a whitelisted expression at all (e.g. from a character model) is invalid
    (``None``); a valid expression that fails numerically (division by zero, overflow) scores
    :data:`FAILURE_SCORE`, as in the protocol.
    """

    name = "expr"
    maximize = False
    unit = "log(1 + MSE) against 1/3 + x + sin(x*x) on 1000 points (lower is better)"

    def __init__(self, n_points: int = 1000, low: float = -10.0, high: float = 10.0) -> None:
        self.points = np.linspace(low, high, n_points)

    def score(self, string: str) -> float | None:
        if not self.is_valid(string):
            return None
        return expression_score(string, self.points)

    def is_valid(self, string: str) -> bool:
        try:
            parse_expression(string)
        except ExpressionSyntaxError:
            return False
        return True
