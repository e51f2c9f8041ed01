"""Model and run directories have one owner; a run that scored nothing can be started again (#16 items 1-2)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli


def _optimize(model: Path, out: Path, *extra: str) -> list[str]:
    return ["optimize", "--model", str(model), "--trials", "1", "--iterations", "1", "--batch", "2", "--attempts", "2",
            "--threads", "1", "--device", "cpu", "--max-train-points", "60", "--out", str(out), *extra]


def test_second_train_into_an_owned_directory_is_refused_naming_the_holder(tmp_path: Path, lock_holder, expr_dataset_path: Path) -> None:
    out = tmp_path / "model"
    holder = lock_holder(out)
    result = run_cli("train", "expr", "--data", str(expr_dataset_path), "--limit", "50", "--epochs", "1", "--preset", "cpu",
                     "--threads", "1", "--out", str(out))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"pid {holder.pid}" in result.stderr and result.stderr.strip().count("\n") == 0
    assert [p.name for p in out.iterdir()] == [".lsbo.lock"]  # nothing of the refused run was written


def test_refused_train_leaves_no_directory_behind(tmp_path: Path, expr_dataset_path: Path) -> None:
    out = tmp_path / "model"
    result = run_cli("train", "expr", "--data", str(expr_dataset_path), "--latent-dim", "0", "--out", str(out))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert not out.exists()


def test_second_optimize_with_resume_on_a_running_trial_scores_nothing(tiny_expr_model: Path, tmp_path: Path, lock_holder) -> None:
    out = tmp_path / "run"
    holder = lock_holder(out / "trial_1")  # the first `lsbo optimize` is busy with trial 1
    second = run_cli(*_optimize(tiny_expr_model, out, "--target", "expr", "--resume"))
    assert second.returncode == 1 and "Traceback" not in second.stderr
    assert f"pid {holder.pid}" in second.stderr and "trial_1" in second.stderr
    assert not (out / "trial_1" / "evaluations.jsonl").exists() and not (out / "initial_data.pt").exists()


def test_run_that_scored_nothing_is_restarted_by_the_corrected_command(tiny_expr_model: Path, tmp_path: Path) -> None:
    (tmp_path / "objective.py").write_text("def nothing(s):\n    return None\n")
    out = tmp_path / "run"
    failed = run_cli(*_optimize(tiny_expr_model, out, "--target", f"{tmp_path / 'objective.py'}:nothing"))
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert "nothing has been scored" in failed.stderr
    assert "the corrected command may use the same --out, with or without --resume, and starts the run afresh)" in failed.stderr
    assert (out / "run.json").is_file()  # the failure came after the run was described
    # the corrected command with --resume, though its target differs from run.json, is accepted
    resumed = run_cli(*_optimize(tiny_expr_model, out, "--target", "expr", "--resume"))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "scored nothing yet" in resumed.stderr
    assert json.loads((out / "run.json").read_text())["target"] == "expr"
    assert len((out / "trial_1" / "evaluations.jsonl").read_text().splitlines()) == 2
    # once something is scored, a fresh command is refused again: that work is kept
    again = run_cli(*_optimize(tiny_expr_model, out, "--target", "expr"))
    assert again.returncode == 1 and "--resume" in again.stderr
