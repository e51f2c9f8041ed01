"""Ctrl-C through the real entry point: the continue line, exit 130, nothing scored lost (#16 item 3)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli

# An objective that presses Ctrl-C on its own process at its 64th call: the 60 training strings are
# scored, then three BO evaluations are written, and the fourth is interrupted (no timing involved).
INTERRUPTING_OBJECTIVE = """
import os, signal
from lsbo.objectives.expressions import expression_score
calls = 0
def score(s):
    global calls
    calls += 1
    if calls == 64 and os.environ.get("LSBO_TEST_INTERRUPT") == "1":
        os.kill(os.getpid(), signal.SIGINT)
    return expression_score(s)
score.maximize = False
"""


def test_ctrl_c_prints_the_resume_line_exits_130_and_resume_finishes(tiny_expr_model: Path, tmp_path: Path) -> None:
    objective = tmp_path / "interrupting.py"
    objective.write_text(INTERRUPTING_OBJECTIVE)
    out = tmp_path / "run"
    args = ["optimize", "--target", f"{objective}:score", "--model", str(tiny_expr_model), "--trials", "1",
            "--iterations", "2", "--batch", "3", "--attempts", "2", "--max-train-points", "60", "--threads", "1",
            "--device", "cpu", "--out", str(out)]
    interrupted = run_cli(*args, env={"LSBO_TEST_INTERRUPT": "1"})
    assert interrupted.returncode == 130, interrupted.stderr[-2000:]
    assert "interrupted: partial results are kept; rerun with --resume to continue" in interrupted.stderr
    assert "Traceback" not in interrupted.stderr
    evaluations = out / "trial_1" / "evaluations.jsonl"
    assert len(evaluations.read_text().splitlines()) == 3 and not list(out.rglob("*.tmp"))
    resumed = run_cli(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert len(evaluations.read_text().splitlines()) == 6


def test_ctrl_c_in_a_command_without_resume_says_only_interrupted() -> None:
    from lsbo_cli.main import interrupted_message

    assert interrupted_message(["grammar", "info", "zinc"]) == "interrupted"
    assert "--resume" in interrupted_message(["--debug", "images", "train", "mnist"])
    assert "same command" in interrupted_message(["quickstart"])
