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
def test_bad_targets_are_one_line_errors_naming_the_parameter(target: str, message: str) -> None:
    with pytest.raises(ObjectiveError, match=f"^target '{target}': .*{message}") as caught:
        build_objective(target)
    assert caught.value.parameter == "target"


def test_direction_check_is_one_function() -> None:
    from lsbo.objectives.base import is_better

    assert is_better(2.0, 1.0, maximize=True) and not is_better(1.0, 2.0, maximize=True)
    assert is_better(1.0, 2.0, maximize=False) and not is_better(2.0, 2.0, maximize=False)
    minimising = build_objective("expr")
    assert minimising.better(0.1, 0.5) and not minimising.better(0.5, 0.1)


BATCH_FORMS = textwrap.dedent(
    """
    from __future__ import annotations
    from collections.abc import Sequence
    import lsbo.objectives

    def per_string(s):
        return float(len(s))

    def per_string_annotated(s: str) -> float:
        return float(len(s))

    def annotated_list(strings: list[str]) -> list[float]:
        return [float(len(s)) for s in strings]

    def annotated_sequence(strings: Sequence[str]):
        return [float(len(s)) for s in strings]

    @lsbo.objectives.batched
    def decorated(strings):
        return [float(len(s)) for s in strings]

    def marked_per_string(strings: list[str]):  # the attribute wins over the annotation
        return float(len(strings))
    marked_per_string.batched = False

    def unmarked_batch(strings):  # the README's shape, without saying so
        return [float(len(s)) for s in strings]
    """
)


@pytest.mark.parametrize(
    ("name", "is_batch"),
    [("per_string", False), ("per_string_annotated", False), ("annotated_list", True), ("annotated_sequence", True),
     ("decorated", True), ("marked_per_string", False), ("unmarked_batch", False)],
)
def test_batch_and_per_string_forms_are_recognised_by_the_documented_rules(tmp_path, name: str, is_batch: bool) -> None:
    from lsbo.objectives.base import ItemwiseObjective

    module = tmp_path / "forms.py"
    module.write_text(BATCH_FORMS)
    objective = build_objective(f"{module}:{name}")
    assert isinstance(objective, ItemwiseObjective) is not is_batch
    if name != "unmarked_batch":
        assert [r.score for r in evaluate_safely(objective, ["ab", "abcd"])] == [2.0, 4.0]


def test_an_unmarked_batch_function_is_told_how_to_declare_itself(tmp_path) -> None:
    module = tmp_path / "forms.py"
    module.write_text(BATCH_FORMS)
    results = evaluate_safely(build_objective(f"{module}:unmarked_batch"), ["ab"])
    assert not results[0].valid
    assert "returned a list for one string" in results[0].error and "@lsbo.objectives.batched" in results[0].error


class _MoleculeModel:
    kind = "molecules"
    data_stats: dict = {}


@pytest.mark.parametrize("form", ["per_string", "decorated"])
def test_user_objective_on_a_molecule_model_never_calls_invalid_smiles_valid(tmp_path, form: str) -> None:
    module = tmp_path / "forms.py"
    module.write_text(BATCH_FORMS)
    objective = build_objective(f"{module}:{form}", model=_MoleculeModel())
    results = evaluate_safely(objective, ["CCO", "C1CC", "c1ccccc1", "XYZ"])
    assert [r.valid for r in results] == [True, False, True, False]  # unclosed ring, not SMILES at all
    assert results[0].score == 3.0 and results[2].score == 8.0
    assert not objective.is_valid("C1CC") and objective.is_valid("CCO")
    if form == "per_string":
        assert "not a valid SMILES" in results[1].error
    # on a model of another kind, the same function scores every string it is given
    assert evaluate_safely(build_objective(f"{module}:{form}"), ["C1CC"])[0].score == 4.0
