"""`lsbo images` through the real entry point: missing data, and a tiny train -> evaluate -> resume."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from tests.conftest import run_cli


def test_missing_dataset_gives_one_clear_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("images", "train", "fashion-mnist", "--data", str(empty), "--out", str(tmp_path / "m"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "train-images-idx3-ubyte" in result.stderr and "--data" in result.stderr and str(empty) in result.stderr
    assert not (tmp_path / "m" / "checkpoint.pt").exists()


def test_tiny_train_evaluate_figures_and_resume(tmp_path: Path, tiny_mnist_dir: Path) -> None:
    out = tmp_path / "model"
    common = ["--data", str(tiny_mnist_dir), "--out", str(out), "--limit", "200", "--widths", "4,8,8,8",
              "--batch-size", "50", "--device", "cpu"]
    trained = run_cli("images", "train", "mnist", "--epochs", "1", *common)
    assert trained.returncode == 0, trained.stderr
    assert (out / "checkpoint.pt").is_file() and (out / "config.json").is_file()

    evaluated = run_cli("images", "evaluate", str(out), "-n", "200", "--classifier-epochs", "1", "--device", "cpu")
    assert evaluated.returncode == 0, evaluated.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    extractor = metrics["feature_extractor"]["name"]
    assert extractor.startswith("classifier:mnist@")  # no Inception weights here: labelled fallback
    fids = metrics[f"fid[{extractor}]"]
    assert set(fids) == {"samples", "gmm", "reconstructions", "interpolations"}
    assert all(math.isfinite(v) and v >= 0 for v in fids.values())
    assert 0.0 <= metrics["clustering_accuracy"] <= 1.0
    assert metrics["n_train"] == 200 and metrics["n_fid_images"] == 200
    assert f"fid[{extractor}]" in evaluated.stdout and "33.70" not in evaluated.stdout  # mnist row, not fashion
    for name in ("samples", "components", "reconstructions", "interpolations"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 0

    # An existing model directory is never overwritten silently; --resume continues the epoch count.
    again = run_cli("images", "train", "mnist", "--epochs", "1", *common)
    assert again.returncode == 1 and "--resume" in again.stderr
    other_data = run_cli("images", "train", "mnist", "--epochs", "2", "--resume", *[("100" if v == "200" else v) for v in common])
    assert other_data.returncode == 1 and "limit=200" in other_data.stderr
    resumed = run_cli("images", "train", "mnist", "--epochs", "2", "--resume", *common)
    assert resumed.returncode == 0, resumed.stderr
    with open(out / "metrics.csv") as handle:
        epochs = [int(float(row["epoch"])) for row in csv.DictReader(handle)]
    assert epochs == [1, 2]
