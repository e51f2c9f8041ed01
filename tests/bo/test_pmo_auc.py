"""``pmo_auc`` against PMO's own ``top_auc`` on random call sequences, and its edge cases by hand.

``data/pmo_auc_golden.json`` holds 288 cases, each the value PMO's ``top_auc`` (run by
``benchmarks/pmo_auc_golden.py``) gave for one call sequence: lengths from 1 to past the budget
(budgets 50, 100, 300, 1,000 and 10,000; ``freq_log`` 1, 7, 100 and 200; top-1, 10 and 100; with and
without ``finish``; scores uniform, tied or signed). The sequences are rebuilt here from their seeds
by the script's own :func:`call_sequence`.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from lsbo.bo.metrics import pmo_auc
from lsbo.errors import ConfigError

_SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "pmo_auc_golden.py"
_spec = importlib.util.spec_from_file_location("pmo_auc_golden", _SCRIPT)
assert _spec is not None and _spec.loader is not None
golden_script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden_script)

CASES = json.loads((Path(__file__).parent / "data" / "pmo_auc_golden.json").read_text())["cases"]


def test_fixture_covers_short_exact_and_past_budget_runs() -> None:
    assert len(CASES) >= 200
    relation = {(c["length"] > c["budget"]) - (c["length"] < c["budget"]) for c in CASES}
    assert relation == {-1, 0, 1}
    assert {c["top_n"] for c in CASES} == {1, 10, 100} and {c["finish"] for c in CASES} == {True, False}


def test_matches_pmo_top_auc_on_every_golden_sequence() -> None:
    mismatches = []
    for case in CASES:
        scores = golden_script.call_sequence(case["seed"], case["length"], case["kind"])
        got = pmo_auc(scores, top_n=case["top_n"], freq_log=case["freq_log"], budget=case["budget"], finish=case["finish"])
        if not math.isclose(got, case["auc"], rel_tol=1e-12, abs_tol=1e-12):
            mismatches.append((case, got))
    assert not mismatches, mismatches[:3]


def direct_auc(scores: list[float], top_n: int, freq_log: int, budget: int, finish: bool) -> float:
    """The trapezoid rule written out from the definition (independent of the implementation's heap)."""
    n = len(scores)

    def top(t: int) -> float:
        return float(np.mean(sorted(scores[:t], reverse=True)[:top_n])) if t else 0.0

    points = list(range(freq_log, min(n, budget), freq_log))
    knots = [0, *points, n]
    area = sum((b - a) * (top(b) + top(a)) / 2 for a, b in zip(knots, knots[1:]))
    if finish and n < budget:
        area += (budget - n) * top(n)
    return area / budget


@pytest.mark.parametrize("n", [1, 3, 10, 50, 99, 100, 101, 230])
def test_matches_the_trapezoid_rule_written_out(n: int) -> None:
    rng = np.random.default_rng(n)
    scores = [float(x) for x in rng.random(n)]
    for top_n in (1, 3, 10):
        for finish in (True, False):
            assert pmo_auc(scores, top_n=top_n, freq_log=20, budget=200, finish=finish) == pytest.approx(
                direct_auc(scores, top_n, 20, 200, finish), rel=1e-12)


def test_edge_cases_by_hand() -> None:
    # one molecule of score 1 at budget 4, logged every call: the curve starts from 0, so the first
    # trapezoid is half, and the last value is held to the budget
    assert pmo_auc([1.0], top_n=1, freq_log=1, budget=4) == pytest.approx((0.5 + 3 * 1.0) / 4)
    assert pmo_auc([1.0], top_n=1, freq_log=1, budget=4, finish=False) == pytest.approx(0.5 / 4)
    # a constant run of exactly the budget: everything but the first half-step is the constant
    assert pmo_auc([0.5] * 100, top_n=10, freq_log=10, budget=100) == pytest.approx((100 - 5) * 0.5 / 100)
    # past the budget the last segment still reaches the end of the sequence (PMO's own behaviour)
    assert pmo_auc([1.0] * 120, top_n=1, freq_log=10, budget=100) == pytest.approx((5 + 80 + 30) / 100)
    # fewer molecules than top_n: the mean of those there are
    assert pmo_auc([1.0, 0.0], top_n=10, freq_log=100, budget=2) == pytest.approx(1 * 0.5 / 2)
    assert math.isnan(pmo_auc([]))


def test_bad_arguments_name_the_parameter() -> None:
    for kwargs, name in (({"top_n": 0}, "top_n"), ({"freq_log": 0}, "freq_log"), ({"budget": -1}, "budget"), ({"budget": 2.5}, "budget")):
        with pytest.raises(ConfigError, match=name) as caught:
            pmo_auc([0.5], **kwargs)  # type: ignore[arg-type]
        assert caught.value.parameter == name
