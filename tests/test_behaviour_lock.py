"""Behaviour lock: a fixed-seed ``lsbo train`` + ``lsbo optimize`` gives the recorded evaluations, and
every recorded model directory loads and decodes as it did (tests/fixtures/behaviour.py says how the
fixtures were made and how to regenerate them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures import behaviour


@pytest.fixture(scope="module")
def locked_model(tmp_path_factory: pytest.TempPathFactory, expr_dataset_path: Path) -> Path:
    return behaviour.train(tmp_path_factory.mktemp("lock") / "model", expr_dataset_path)


@pytest.mark.parametrize("strategy", behaviour.STRATEGIES)
def test_train_and_optimize_give_the_recorded_evaluations(locked_model: Path, tmp_path: Path, strategy: str) -> None:
    expected = json.loads(behaviour.EVALUATIONS_FIXTURE.read_text(encoding="utf-8"))[strategy]
    actual = behaviour.optimize(locked_model, tmp_path / "run", strategy)
    assert len(expected) == 6  # 1 trial x 2 iterations x 3 points: the fixture holds the whole run
    assert behaviour.differences(expected, actual, strategy) == []


def test_differences_sees_a_changed_string_and_a_changed_number() -> None:
    record = {"string": "x + 1", "latent": [0.5, -1.0], "score": 2.0, "valid": True, "error": None}
    assert behaviour.differences(record, dict(record)) == []
    assert behaviour.differences(record, {**record, "latent": [0.5, -1.0 + 1e-12]}) == []
    assert behaviour.differences(record, {**record, "string": "x + 2"}) == [".string: 'x + 2' != 'x + 1'"]
    assert behaviour.differences(record, {**record, "score": 2.0 + 1e-6}) != []
    assert behaviour.differences(record, {**record, "valid": 1}) != []  # a bool stays a bool
    assert behaviour.differences(record, {**record, "extra": 1}) != []


@pytest.mark.parametrize("name", [*behaviour.MODELS, *behaviour.FROZEN_MODELS])
def test_recorded_model_loads_and_decodes_unchanged(name: str, single_torch_thread: None) -> None:
    model_dir = behaviour.MODELS_FIXTURE / name
    expected = json.loads((model_dir / behaviour.DECODINGS_NAME).read_text(encoding="utf-8"))
    assert set(expected) == {"greedy", "greedy_plain", "sampled_seed0"}
    assert all(len(strings) == len(behaviour.LATENTS) for strings in expected.values())
    assert behaviour.decodings(model_dir) == expected
