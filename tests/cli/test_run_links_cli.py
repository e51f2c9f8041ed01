"""Run and model files replaced by symbolic links are refused, never followed (#36 item 5)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli


def _optimize(model: Path, out: Path, *extra: str) -> list[str]:
    return ["optimize", "--target", "expr", "--model", str(model), "--trials", "1", "--iterations", "2", "--batch", "3",
            "--attempts", "2", "--threads", "1", "--device", "cpu", "--max-train-points", "30", "--out", str(out), *extra]


@pytest.fixture(scope="module")
def finished_run(tiny_expr_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("linked") / "run"
    result = run_cli(*_optimize(tiny_expr_model, out))
    assert result.returncode == 0, result.stderr[-2000:]
    return out


def _copy(run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    return copy


def test_an_evaluations_log_replaced_by_a_link_is_not_appended_to(finished_run: Path, tiny_expr_model: Path, tmp_path: Path) -> None:
    run = _copy(finished_run, tmp_path)
    log = run / "trial_1" / "evaluations.jsonl"
    outside = tmp_path / "outside.jsonl"
    outside.write_text("".join(log.read_text().splitlines(keepends=True)[:2]))  # a partial trial: a resume would append
    before = outside.read_bytes()
    log.unlink()
    log.symlink_to(outside)
    result = run_cli(*_optimize(tiny_expr_model, run, "--resume"))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "evaluations.jsonl is a symbolic link" in result.stderr and result.stderr.strip().count("\n") == 0
    assert outside.read_bytes() == before


def test_a_trial_folder_replaced_by_a_link_is_not_written_into(finished_run: Path, tiny_expr_model: Path, tmp_path: Path) -> None:
    run = _copy(finished_run, tmp_path)
    outside = tmp_path / "outside"
    (run / "trial_1").rename(outside)
    (outside / "evaluations.jsonl").write_text("".join((outside / "evaluations.jsonl").read_text().splitlines(keepends=True)[:2]))
    before = {p.name: p.read_bytes() for p in outside.iterdir()}
    (run / "trial_1").symlink_to(outside, target_is_directory=True)
    result = run_cli(*_optimize(tiny_expr_model, run, "--resume"))
    assert result.returncode == 1 and "trial_1 is a symbolic link" in result.stderr, result.stderr[-2000:]
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == before


def test_a_lock_file_replaced_by_a_link_does_not_truncate_its_target(finished_run: Path, tiny_expr_model: Path, tmp_path: Path) -> None:
    run = _copy(finished_run, tmp_path)
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me\n")
    (run / ".lsbo.lock").unlink(missing_ok=True)
    (run / ".lsbo.lock").symlink_to(outside)
    result = run_cli(*_optimize(tiny_expr_model, run, "--resume"))
    assert result.returncode == 1 and ".lsbo.lock is a symbolic link" in result.stderr, result.stderr[-2000:]
    assert outside.read_text() == "keep me\n"


def test_a_model_checkpoint_replaced_by_a_link_is_not_loaded(tiny_expr_model: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_expr_model, model)
    (model / "checkpoint.pt").rename(tmp_path / "elsewhere.pt")
    (model / "checkpoint.pt").symlink_to(tmp_path / "elsewhere.pt")
    result = run_cli(*_optimize(model, tmp_path / "run"))
    assert result.returncode == 1 and "checkpoint.pt is a symbolic link" in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
