"""Library progress goes through ``logging`` (module loggers under ``lsbo``); the CLI installs one
handler on stderr, whose level --verbose/--quiet set."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.conftest import run_cli


def tiny(expr_dataset_path: Path, out: Path) -> list[str]:
    return [
        "train", "expr", "--data", str(expr_dataset_path), "--limit", "80", "--preset", "cpu", "--latent-dim", "2",
        "--gru-hidden", "8", "--batch-size", "32", "--epochs", "1", "--threads", "1", "--device", "cpu", "--out", str(out),
    ]


def test_quiet_drops_the_epoch_lines_and_default_keeps_them(expr_dataset_path: Path, tmp_path: Path) -> None:
    loud = run_cli(*tiny(expr_dataset_path, tmp_path / "a"), env={"OMP_NUM_THREADS": "1"})
    quiet = run_cli("--quiet", *tiny(expr_dataset_path, tmp_path / "b"), env={"OMP_NUM_THREADS": "1"})
    assert loud.returncode == quiet.returncode == 0, (loud.stderr, quiet.stderr)
    assert "data: 80 strings accepted" in loud.stderr and "\nepoch 1 train_loss=" in loud.stderr
    assert "strings accepted" not in quiet.stderr and "epoch 1 train_loss=" not in quiet.stderr
    assert "done: 1 epochs" in quiet.stdout


def test_the_library_logs_to_module_loggers_without_printing(
    expr_dataset_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
    single_torch_thread: None,
) -> None:
    from lsbo.models import TrainOptions, train_sequence_model

    with caplog.at_level(logging.INFO, logger="lsbo"):
        train_sequence_model(TrainOptions(
            source="expr", data=expr_dataset_path, limit=80, out_dir=tmp_path, preset="cpu", latent_dim=2,
            gru_hidden=8, batch_size=32, epochs=1, device="cpu", progress=False,
        ))
    by_logger = {record.name for record in caplog.records}
    assert {"lsbo.models.pipeline", "lsbo.train"} <= by_logger
    assert any(record.getMessage().startswith("epoch 1 train_loss=") for record in caplog.records)
    captured = capsys.readouterr()
    assert captured.out == "" and "epoch 1" not in captured.err
