"""Ctrl-C through the real entry point: the continue line, exit 130, nothing scored lost (#16 item 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli

# An objective that presses Ctrl-C on the lsbo process at its 64th call: the 60 training strings are
# scored, then three BO evaluations are written, and the fourth is interrupted (no timing involved).
# In this process (--no-objective-isolation) it signals itself; isolated (the default for a user
# objective) it signals its parent and never returns, so its call is never recorded. The calls are
# counted in a file, since isolated calls run in child processes.
INTERRUPTING_OBJECTIVE = """
import os, signal, time
from lsbo.objectives.expressions import expression_score
def score(s):
    with open(os.environ["LSBO_TEST_COUNTER"], "a") as counter:
        counter.write("x")
    calls = os.path.getsize(os.environ["LSBO_TEST_COUNTER"])
    if calls == 64 and os.environ.get("LSBO_TEST_INTERRUPT") == "1":
        if os.environ["LSBO_TEST_ISOLATED"] == "1":
            os.kill(os.getppid(), signal.SIGINT)
            time.sleep(3600)  # killed by the interrupted parent long before
        os.kill(os.getpid(), signal.SIGINT)
    return expression_score(s)
score.maximize = False
"""


@pytest.mark.parametrize("isolated", [True, False])
def test_ctrl_c_prints_the_resume_line_exits_130_and_resume_finishes(tiny_expr_model: Path, tmp_path: Path, isolated: bool) -> None:
    objective = tmp_path / "interrupting.py"
    objective.write_text(INTERRUPTING_OBJECTIVE)
    out = tmp_path / "run"
    args = ["optimize", "--target", f"{objective}:score", "--model", str(tiny_expr_model), "--trials", "1",
            "--iterations", "2", "--batch", "3", "--attempts", "2", "--max-train-points", "60", "--threads", "1",
            "--device", "cpu", "--out", str(out), "--objective-isolation" if isolated else "--no-objective-isolation"]
    counter = {"LSBO_TEST_COUNTER": str(tmp_path / "calls"), "LSBO_TEST_ISOLATED": "1" if isolated else "0"}
    interrupted = run_cli(*args, env={"LSBO_TEST_INTERRUPT": "1", **counter})
    assert interrupted.returncode == 130, interrupted.stderr[-2000:]
    assert "interrupted: partial results are kept; rerun with --resume to continue" in interrupted.stderr
    assert "Traceback" not in interrupted.stderr
    evaluations = out / "trial_1" / "evaluations.jsonl"
    assert len(evaluations.read_text().splitlines()) == 3 and not list(out.rglob("*.tmp"))
    resumed = run_cli(*args, "--resume", env=counter)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert len(evaluations.read_text().splitlines()) == 6


def test_ctrl_c_in_a_command_without_resume_says_only_interrupted() -> None:
    from lsbo_cli.main import interrupted_message

    assert interrupted_message(["grammar", "info", "zinc"]) == "interrupted"
    assert "--resume" in interrupted_message(["--debug", "images", "train", "mnist"])
    assert "same command" in interrupted_message(["quickstart"])
