"""``lsbo optimize`` through the real entry point, on a tiny expression model trained for the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli


def test_optimize_writes_outputs_and_resume_adds_nothing(tiny_expr_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["optimize", "--target", "expr", "--model", str(tiny_expr_model), "--trials", "1", "--iterations", "2",
            "--batch", "3", "--attempts", "3", "--threads", "1", "--device", "cpu", "--out", str(out)]
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "GMM-DAE (paper)" in result.stdout and "(ours)" in result.stdout
    # the loop's progress lines come through the command line's one log handler, on stderr
    assert "encoding 150 training strings" in result.stderr and "training points; best training score" in result.stderr
    assert "trial 1 iteration 2:" in result.stderr and "held-out RMSE" in result.stderr
    for name in ("results.json", "table.md", "best_so_far.png", "trial_1/evaluations.jsonl", "trial_1/candidates_2.json"):
        assert (out / name).is_file(), name
    lines = (out / "trial_1" / "evaluations.jsonl").read_text().splitlines()
    assert len(lines) == 6
    results = json.loads((out / "results.json").read_text())
    assert results["n_trials"] == 1 and results["trials"]["1"]["n_evaluations"] == 6 and not results["maximize"]

    settings = json.loads((out / "run.json").read_text())
    assert settings["complete"] is True and settings["masking"] == "length-aware"

    again = run_cli(*args)
    assert again.returncode == 1 and "--resume" in again.stderr and "Traceback" not in again.stderr
    other_decoding = run_cli(*args, "--resume", "--plain-masking")  # would mix two decodings in one run
    assert other_decoding.returncode == 1 and "complete differ" in other_decoding.stderr, other_decoding.stderr[-2000:]
    resumed = run_cli(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert (out / "trial_1" / "evaluations.jsonl").read_text().splitlines() == lines


def test_trials_in_separate_calls_then_the_last_prints_the_table(tiny_expr_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["optimize", "--target", "expr", "--model", str(tiny_expr_model), "--trials", "2", "--iterations", "1",
            "--batch", "2", "--attempts", "2", "--threads", "1", "--device", "cpu", "--out", str(out)]
    second = run_cli(*args, "--trial", "2")
    assert second.returncode == 0, second.stderr[-2000:]
    assert "still running or not started: 1" in second.stdout and not (out / "results.json").exists()
    outside = run_cli(*args, "--trial", "3", "--resume")
    assert outside.returncode == 1 and "Traceback" not in outside.stderr
    assert "error: --trial [3]: trials are numbered 1 to 2 (a run of 2 trials)" in outside.stderr
    first = run_cli(*args, "--trial", "1", "--resume")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "GMM-DAE (paper)" in first.stdout
    assert json.loads((out / "results.json").read_text())["n_trials"] == 2


def test_bad_target_is_one_red_line(tiny_expr_model: Path, tmp_path: Path) -> None:
    # (other malformed targets are covered by tests/objectives without a subprocess)
    result = run_cli("optimize", "--target", "nonsense_module_xyz:f", "--model", str(tiny_expr_model), "--out", str(tmp_path / "o"))
    assert result.returncode == 1
    assert "error: --target 'nonsense_module_xyz:f': importing nonsense_module_xyz failed" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


def test_missing_model_is_one_line_error(tmp_path: Path) -> None:
    result = run_cli("optimize", "--target", "expr", "--model", str(tmp_path / "nope"), "--out", str(tmp_path / "o"))
    assert result.returncode == 1 and "Traceback" not in result.stderr and result.stderr.strip().count("\n") == 0


HANGING_OBJECTIVE = '''
import os, time

from lsbo.objectives.expressions import expression_score


def hang_when_told(string):
    if os.environ.get("HANG_OBJECTIVE") == "1":
        time.sleep(600)  # far past --objective-timeout: the call must be killed, not awaited
    return expression_score(string)


hang_when_told.maximize = False
'''


def test_objective_timeout_records_hung_calls_and_resume_does_not_hang(tiny_expr_model: Path, tmp_path: Path) -> None:
    (tmp_path / "hanging.py").write_text(HANGING_OBJECTIVE)
    out = tmp_path / "run"
    args = ["optimize", "--target", f"{tmp_path / 'hanging.py'}:hang_when_told", "--model", str(tiny_expr_model),
            "--trials", "2", "--iterations", "1", "--batch", "2", "--attempts", "2", "--threads", "1", "--device", "cpu",
            "--out", str(out)]
    first = run_cli(*args, "--trial", "1", timeout=300)  # scores the training set and trial 1 normally
    assert first.returncode == 0, first.stderr[-2000:]
    hang = {"HANG_OBJECTIVE": "1"}
    bounded = run_cli(*args, "--trial", "2", "--resume", "--objective-timeout", "0.5", "--objective-workers", "2",
                      env=hang, timeout=300)
    assert bounded.returncode == 0, bounded.stderr[-2000:]
    records = [json.loads(line) for line in (out / "trial_2" / "evaluations.jsonl").read_text().splitlines()]
    called = [r for r in records if not r.get("duplicate")]  # a string seen before reuses its score, no call
    assert len(records) == 2 and called and all(not r["valid"] and "timed out after 0.5 s" in r["error"] for r in called)
    assert json.loads((out / "results.json").read_text())["n_trials"] == 2  # the run completed
    # resuming without any timeout must not call the hung candidates again (it would never return)
    again = run_cli(*args, "--resume", env=hang, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert [json.loads(line) for line in (out / "trial_2" / "evaluations.jsonl").read_text().splitlines()] == records


def test_bad_executor_flags_are_one_line_errors(tiny_expr_model: Path, tmp_path: Path) -> None:
    base = ["optimize", "--target", "expr", "--model", str(tiny_expr_model), "--out", str(tmp_path / "o")]
    unknown = run_cli(*base, "--executor", "dask")
    assert unknown.returncode == 2 and "--executor" in unknown.stderr and "'local', 'ray'" in unknown.stderr, unknown.stderr
    misplaced = run_cli(*base, "--ray-address", "h:1")
    assert misplaced.returncode == 1 and "--ray-address needs --executor ray" in misplaced.stderr
    assert "Traceback" not in misplaced.stderr and not (tmp_path / "o").exists()


def test_trials_on_a_local_ray_through_the_cli(tiny_expr_model: Path, tmp_path: Path) -> None:
    # (that Ray's records equal one process's, and survive a killed worker, is tests/test_executors_ray.py)
    pytest.importorskip("ray", reason="the ray executor needs the distributed extra: pip install 'lsbo[distributed]'")
    out = tmp_path / "ray"
    on_ray = run_cli("optimize", "--target", "expr", "--model", str(tiny_expr_model), "--trials", "2", "--iterations", "1",
                     "--batch", "2", "--attempts", "2", "--threads", "1", "--device", "cpu", "--out", str(out),
                     "--executor", "ray", "--workers", "2")
    assert on_ray.returncode == 0, on_ray.stderr[-2000:]
    assert "GMM-DAE (paper)" in on_ray.stdout
    results = json.loads((out / "results.json").read_text())
    assert [results["trials"][k]["n_evaluations"] for k in ("1", "2")] == [2, 2]


def test_trials_on_local_worker_processes_with_a_relative_objective_file(tiny_expr_model: Path, tmp_path: Path) -> None:
    (tmp_path / "hanging.py").write_text(HANGING_OBJECTIVE)  # does not hang without HANG_OBJECTIVE=1
    result = run_cli("optimize", "--target", "hanging.py:hang_when_told", "--model", str(tiny_expr_model), "--trials", "2",
                     "--iterations", "1", "--batch", "2", "--attempts", "2", "--threads", "1", "--device", "cpu",
                     "--out", "run", "--workers", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert [results["trials"][k]["n_evaluations"] for k in ("1", "2")] == [2, 2]
    assert json.loads((tmp_path / "run" / "run.json").read_text())["target"] == "hanging.py:hang_when_told"
