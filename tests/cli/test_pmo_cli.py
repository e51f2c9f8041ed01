"""``lsbo optimize --budget-accounting`` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli


def test_unknown_accounting_is_one_line_naming_the_flag(tmp_path: Path) -> None:
    result = run_cli("optimize", "--target", "qed", "--model", str(tmp_path / "none"), "--out", str(tmp_path / "run"),
                     "--budget-accounting", "tdc")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: --budget-accounting 'tdc': expected one of points, pmo"


def test_pmo_accounting_runs_end_to_end_and_writes_pmo_metrics(tiny_expr_model: Path, tmp_path: Path) -> None:
    objective = tmp_path / "length.py"
    objective.write_text("def score(s: str) -> float:\n    return float(len(s))\n")  # maximised
    out = tmp_path / "run"
    result = run_cli("optimize", "--target", f"{objective}:score", "--model", str(tiny_expr_model), "--out", str(out),
                     "--trials", "1", "--budget", "5", "--batch", "3", "--attempts", "2", "--budget-accounting", "pmo",
                     "--threads", "1")
    assert result.returncode == 0, result.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    assert results["settings"]["budget_accounting"] == "pmo"
    trial = results["trials"]["1"]
    records = [json.loads(line) for line in (out / "trial_1" / "evaluations.jsonl").read_text().splitlines()]
    distinct = {r["string"] for r in records if r["valid"]}
    assert trial["n_calls_pmo"] == len(distinct) and (len(distinct) == 5 or max(r["iteration"] for r in records) == 40)
    assert trial["auc_top10_pmo"] is not None and trial["auc_top10_pmo"] > 0
    assert results["aggregate"]["auc_top1_pmo_mean"] == trial["auc_top1_pmo"]
