"""The run store: validated reads of evaluation logs and candidate batches, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from lsbo.bo.store import InitialData, RunStore, append_record, read_records
from lsbo.errors import ConfigError

RECORD = {"trial": 1, "iteration": 1, "index": 0, "string": "x", "latent": [0.0, 1.0], "score": 1.5, "valid": True}


def test_a_malformed_line_before_the_end_is_an_error_not_a_truncation(tmp_path: Path) -> None:
    path = tmp_path / "evaluations.jsonl"
    append_record(path, RECORD)
    with open(path, "a") as handle:
        handle.write("{not json}\n")
    append_record(path, RECORD | {"index": 1})
    before = path.read_bytes()
    with pytest.raises(ConfigError, match=r"evaluations.jsonl, line 2: not valid JSON"):
        read_records(path)
    assert path.read_bytes() == before  # nothing after the bad line was thrown away


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"iteration": "one"}, '"iteration" is "one", expected a whole number'),
        ({"index": -1}, '"index" is -1'),
        ({"valid": "yes"}, '"valid" is "yes"'),
        ({"score": "high"}, '"score" is "high" on a valid record'),
        ({"valid": False}, '"score" is 1.5 on an invalid record'),
        ({"latent": "0,1"}, '"latent" is not a list of numbers'),
    ],
)
def test_a_hand_edited_record_of_the_wrong_type_is_named_with_its_line(tmp_path: Path, change: dict, message: str) -> None:
    path = tmp_path / "evaluations.jsonl"
    append_record(path, RECORD)
    append_record(path, RECORD | {"index": 1} | change)
    with pytest.raises(ConfigError, match=r"line 2: ") as caught:
        read_records(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_settings_candidates_and_initial_data_round_trip_atomically(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "run")
    assert store.read_settings() is None and store.load_initial() is None
    store.write_settings({"target": "expr", "seed": 0})
    store.check_settings({"target": "expr", "seed": 0}, resume=True)
    with pytest.raises(ConfigError, match="seed differ"):
        store.check_settings({"target": "expr", "seed": 1}, resume=True)
    trial = store.trial(2)
    assert trial.read_candidates(1) is None
    trial.write_candidates(1, {"latents": [[0.0]], "strings": ["x"], "surrogate_metrics": {"test_rmse": float("nan")}})
    assert trial.read_candidates(1)["surrogate_metrics"]["test_rmse"] is None  # JSON has no NaN
    initial = InitialData(["a", "b"], torch.zeros(2, 3), torch.tensor([1.0, 2.0], dtype=torch.float64))
    store.save_initial(initial)
    loaded = store.load_initial()
    assert loaded.strings == ["a", "b"] and torch.equal(loaded.scores, initial.scores)
    names = sorted(p.name for p in (tmp_path / "run").rglob("*"))
    assert not [n for n in names if n.endswith(".tmp")]
    assert json.loads((tmp_path / "run" / "run.json").read_text()) == {"target": "expr", "seed": 0}
