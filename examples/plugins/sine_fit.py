"""An objective as a plugin: how closely an expression in ``x`` follows ``sin(x)`` (lower is better).

    lsbo --plugin examples/plugins/sine_fit.py optimize --target sine-fit --model EXPR_MODEL --out RUN

The score is ``log(1 + mean((f(x) - sin(x))^2))`` over 200 points of [-5, 5], squared errors clipped
at 1000; a string that is not an expression has no score (``None``, recorded invalid) and one that
fails numerically (overflow, division by zero) scores ``log(1001)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lsbo.components import OBJECTIVES
from lsbo.objectives import ItemwiseObjective, Objective
from lsbo.objectives.expressions import ExpressionSyntaxError, evaluate_expression, parse_expression

CLIP = 1000.0


class SineFit(ItemwiseObjective):
    name = "sine-fit"
    maximize = False
    unit = "log(1 + MSE) against sin(x) on 200 points of [-5, 5] (lower is better)"

    def __init__(self) -> None:
        self.points = np.linspace(-5.0, 5.0, 200)  # (200,)

    def score(self, string: str) -> float | None:
        try:
            parse_expression(string)
        except ExpressionSyntaxError:
            return None
        values = evaluate_expression(string, self.points)  # (200,), may hold inf/NaN
        if not np.all(np.isfinite(values)):
            return float(np.log1p(CLIP))
        with np.errstate(all="ignore"):
            return float(np.log1p(np.mean(np.minimum((values - np.sin(self.points)) ** 2, CLIP))))


@OBJECTIVES.register("sine-fit")
def sine_fit(model: Any = None) -> Objective:  # the factory: --target sine-fit (the model is not needed)
    return SineFit()
