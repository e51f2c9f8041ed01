"""The expression objective: the protocol's formula, failure score and the safe evaluator."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lsbo.objectives import build_objective
from lsbo.objectives.expressions import (
    FAILURE_SCORE,
    ExpressionSyntaxError,
    evaluate_expression,
    expression_score,
    is_evaluable,
    parse_expression,
)


def test_target_expression_scores_zero() -> None:
    objective = build_objective("expr")
    assert not objective.maximize
    assert objective(["1 / 3 + x + sin( x * x )"]) == [pytest.approx(0.0, abs=1e-12)]


def test_score_matches_direct_formula() -> None:
    x = np.linspace(-10, 10, 1000)
    target = 1 / 3 + x + np.sin(x * x)
    for text, values in [("x * x", x * x), ("sin( x ) + 3", np.sin(x) + 3), ("exp( x )", np.exp(x))]:
        expected = math.log(1 + np.mean(np.minimum((values - target) ** 2, 1000)))
        assert expression_score(text) == pytest.approx(expected)


def test_failures_score_log_1001() -> None:
    assert pytest.approx(math.log(1001)) == FAILURE_SCORE
    objective = build_objective("expr")
    # division by zero everywhere -> inf
    assert objective(["x / ( x * 0 )"]) == [pytest.approx(FAILURE_SCORE)]
    assert objective(["exp( exp( exp( x ) ) )"]) == [pytest.approx(FAILURE_SCORE)]  # overflow -> inf


def test_unparseable_text_is_invalid_not_scored() -> None:
    objective = build_objective("expr")
    assert objective(["x + + ", "sin("]) == [None, None]
    assert expression_score("x + +") == pytest.approx(FAILURE_SCORE)


def test_text_python_warns_about_is_rejected_without_a_warning() -> None:
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # every warning is recorded, none turned into an error
        with pytest.raises(ExpressionSyntaxError, match="cannot parse"):
            parse_expression("x + 1in")  # Python: "invalid decimal literal" on the way to its SyntaxError
        assert build_objective("expr")(["x + 2in"]) == [None]
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize(
    "malicious",
    ["__import__('os').system('touch /tmp/lsbo_pwned')", "x.__class__", "open('f')", "lambda: 1", "[x]", "x ** 2", "'a'", "True + x", "y"],
)
def test_malicious_or_foreign_text_is_rejected_unevaluated(malicious: str, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ExpressionSyntaxError):
        parse_expression(malicious)
    assert build_objective("expr")([malicious]) == [None]
    assert not (tmp_path / "f").exists()


def test_constants_broadcast_and_evaluability() -> None:
    values = evaluate_expression("1 + 2")
    assert values.shape == (1000,) and np.all(values == 3)
    assert is_evaluable("sin( x ) * 2") and not is_evaluable("1 / ( x - x )")
