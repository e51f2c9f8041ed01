"""``lsbo quickstart`` through the real entry point, shrunk to a few hundred expressions and one epoch."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli


def test_quickstart_trains_optimises_and_prints_the_table(tmp_path: Path) -> None:
    out = tmp_path / "qs"
    result = run_cli("quickstart", "--out", str(out), "--expressions", "300", "--epochs", "1", "--device", "cpu", "--threads", "1")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--resume" not in result.stdout + result.stderr  # nobody asked to resume: nothing said about it
    # the table beside the paper's numbers is printed, and every output is where the message says
    assert "GMM-DAE (paper)" in result.stdout and "(ours)" in result.stdout
    assert (out / "model" / "checkpoint.pt").is_file()
    for name in ("results.json", "table.md", "best_so_far.png", "trial_1/evaluations.jsonl"):
        assert (out / "optimize" / name).is_file(), name
    assert str(out / "optimize" / "results.json") in result.stdout
    evaluations = (out / "optimize" / "trial_1" / "evaluations.jsonl").read_text().splitlines()
    assert len(evaluations) == 20  # 2 iterations x 10 points
    results = json.loads((out / "optimize" / "results.json").read_text())
    assert results["n_trials"] == 1 and not results["maximize"]
    # it says how well the model reconstructs (and warns: one epoch on 300 strings learns nothing) and how BO
    # compares with the best training string
    assert "held-out reconstruction:" in result.stdout
    assert "has not learnt" in result.stderr
    assert "the best training string" in result.stdout
    assert json.loads((out / "model" / "config.json").read_text())["config"]["decoder"] == "autoregressive"
