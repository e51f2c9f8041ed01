"""Safe evaluation of objectives and user objectives (callables and module:function targets)."""

from __future__ import annotations

import textwrap

import pytest

from lsbo.errors import ObjectiveError
from lsbo.objectives import Objective, build_objective, evaluate_safely
from lsbo.objectives.user import objective_from_callable


def test_one_raising_input_becomes_none_with_its_message() -> None:
    def length_unless_bad(s: str) -> float:
        if s == "bad":
            raise ValueError("cannot score 'bad'")
        return float(len(s))

    results = evaluate_safely(objective_from_callable(length_unless_bad), ["ab", "bad", "abcd", None])
    assert [r.score for r in results] == [2.0, None, 4.0, None]
    assert results[1].error == "ValueError: cannot score 'bad'"
    assert results[3].error == "no valid string was decoded" and results[0].error is None


def test_batch_objective_falls_back_per_item() -> None:
    calls: list[list[str]] = []

    def batch(strings: list[str]) -> list[float]:
        calls.append(list(strings))
        if "bad" in strings:
            raise RuntimeError("batch poisoned")
        return [1.0] * len(strings)

    objective = objective_from_callable(batch, batched=True, maximize=False)
    results = evaluate_safely(objective, ["a", "bad", "c"])
    assert [r.score for r in results] == [1.0, None, 1.0]
    assert calls[0] == ["a", "bad", "c"] and ["bad"] in calls
    assert not objective.maximize


def test_non_finite_and_non_numeric_scores_are_invalid() -> None:
    class Weird(Objective):
        name = "weird"

        def __call__(self, strings):
            return [float("nan"), "abc", 3]

    results = evaluate_safely(Weird(), ["a", "b", "c"])
    assert [r.valid for r in results] == [False, False, True]
    assert "non-finite" in results[0].error and "non-number" in results[1].error


def test_keyboard_interrupt_is_not_swallowed() -> None:
    def interrupt(s: str) -> float:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evaluate_safely(objective_from_callable(interrupt), ["a"])


def test_module_function_target_from_file_and_module(tmp_path, monkeypatch) -> None:
    module = tmp_path / "my_objectives.py"
    module.write_text(textwrap.dedent(
        """
        def count_c(s):
            return s.count("C")
        count_c.maximize = False

        def batch_len(strings):
            return [len(s) for s in strings]
        batch_len.batched = True
        """
    ))
    monkeypatch.syspath_prepend(str(tmp_path))
    objective = build_objective("my_objectives:count_c")
    assert objective.name == "count_c" and not objective.maximize
    assert objective(["CCO", "O"]) == [2.0, 0.0]
    by_path = build_objective(f"{module}:batch_len")
    assert by_path(["abc"]) == [3.0] and by_path.maximize


@pytest.mark.parametrize(
    ("target", "message"),
    [("no_such_module_xyz:f", "importing no_such_module_xyz failed"), ("json:no_such_function", "has no attribute"), ("banana", "expected one of")],
)
def test_bad_targets_are_one_line_errors(target: str, message: str) -> None:
    with pytest.raises(ObjectiveError, match=message):
        build_objective(target)


def test_direction_check_is_one_function() -> None:
    from lsbo.objectives.base import is_better

    assert is_better(2.0, 1.0, maximize=True) and not is_better(1.0, 2.0, maximize=True)
    assert is_better(1.0, 2.0, maximize=False) and not is_better(2.0, 2.0, maximize=False)
    minimising = build_objective("expr")
    assert minimising.better(0.1, 0.5) and not minimising.better(0.5, 0.1)
