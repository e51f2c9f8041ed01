"""Reading an evaluated image model's metrics back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lsbo.errors import CheckpointError
from lsbo.images.evaluate import METRICS_JSON, load_metrics


def test_metrics_are_read_back(tmp_path: Path) -> None:
    metrics = {"feature_extractor": {"name": "classifier", "kind": "classifier"}, "clustering_accuracy": 0.5}
    (tmp_path / METRICS_JSON).write_text(json.dumps(metrics), encoding="utf-8")
    assert load_metrics(tmp_path) == metrics


@pytest.mark.parametrize("text", ['{"feature_extractor": {"na', '{"clustering_accuracy": 0.5}', "[]"])
def test_damaged_metrics_file_is_named_in_one_line(tmp_path: Path, text: str) -> None:
    (tmp_path / METRICS_JSON).write_text(text, encoding="utf-8")
    with pytest.raises(CheckpointError, match=METRICS_JSON):
        load_metrics(tmp_path)
