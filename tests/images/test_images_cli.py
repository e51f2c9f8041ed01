"""`lsbo images` through the real entry point: missing data, and a tiny train -> evaluate -> resume."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from lsbo.errors import CheckpointError, ConfigError
from lsbo.images.training import train_image_model
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
    config = json.loads((out / "config.json").read_text())
    assert metrics["n_train"] == config["data"]["n_train"] < 200 and metrics["n_ex_post_codes"] == 200
    assert metrics["n_fid_images"] == 200
    assert f"fid[{extractor}]" in evaluated.stdout and "33.70" not in evaluated.stdout  # mnist row, not fashion
    for name in ("samples", "components", "reconstructions", "interpolations"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 0

    # A model directory is never overwritten silently, and --resume needs the same network and data
    # (checked in-process: the refusals happen before any data is read).
    kwargs = dict(data_dir=tiny_mnist_dir, limit=200, widths=(4, 8, 8, 8), batch_size=50, device="cpu", epochs=2, progress=False)
    with pytest.raises(ConfigError, match="already holds a trained model: pass resume to continue it, or another out_dir$"):
        train_image_model("mnist", out, **kwargs)
    with pytest.raises(CheckpointError, match="limit=200"):
        train_image_model("mnist", out, resume=True, **{**kwargs, "limit": 100})
    with pytest.raises(CheckpointError, match="latent_dim"):
        train_image_model("mnist", out, resume=True, latent_dim=4, **kwargs)

    # --resume continues the epoch count where the checkpoint stopped.
    resumed = run_cli("images", "train", "mnist", "--epochs", "2", "--resume", *common)
    assert resumed.returncode == 0, resumed.stderr
    with open(out / "metrics.csv") as handle:
        epochs = [int(float(row["epoch"])) for row in csv.DictReader(handle)]
    assert epochs == [1, 2]

