"""``lsbo experiment run`` end to end on a tiny spec: trained, interrupted, resumed without recomputation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_cli

SPEC = """
[experiment]
name = "tiny"

[dataset]
source = "expr"
data = "{data}"
limit = 200
target = "expr"

[training]
seeds = [0, 1]
preset = "cpu"
epochs = 1
batch_size = 64
threads = 1
device = "cpu"

[[model]]
label = "GMM-KS"
regularizer = "gmm"
paper_row = "GMM-DAE (paper)"

[[model]]
label = "GRAE"
regularizer = "rae"
paper_row = "GRAE"

[bo]
trials = 1

[[bo.strategy]]
name = "protocol"
iterations = 2
batch = 5
attempts = 3
max_train_points = 60
surrogate = "exact"
raw_samples = 16
optimizer_iterations = 10

[evaluation]
samples = 20
max_reconstruct = 20
"""


def _mtimes(paths: list[Path]) -> dict[Path, int]:
    return {path: path.stat().st_mtime_ns for path in paths}


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_tiny_experiment_runs_is_interrupted_and_resumes_without_recomputing(tmp_path: Path, expr_dataset_path: Path) -> None:
    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC.format(data=expr_dataset_path))
    out = tmp_path / "experiment"

    # 1. Training only (an experiment stopped after its first stage): seed 1 first (--seed), then the rest.
    seed_1 = run_cli("experiment", "run", str(spec), "--out", str(out), "--stage", "train", "--seed", "1")
    assert seed_1.returncode == 0, seed_1.stderr
    assert "train: 2 cell(s) run (GMM-KS seed 1; GRAE seed 1)" in seed_1.stdout
    assert sorted(p.relative_to(out).as_posix() for p in out.glob("models/*/seed_*/checkpoint.pt")) == [
        "models/GMM-KS/seed_1/checkpoint.pt", "models/GRAE/seed_1/checkpoint.pt",
    ]
    first = run_cli("experiment", "run", str(spec), "--out", str(out), "--stage", "train")
    assert first.returncode == 0, first.stderr
    assert "train: 2 cell(s) run (GMM-KS seed 0; GRAE seed 0)" in first.stdout
    checkpoints = sorted(out.glob("models/*/seed_*/checkpoint.pt"))
    assert [p.relative_to(out).as_posix() for p in checkpoints] == [
        "models/GMM-KS/seed_0/checkpoint.pt", "models/GMM-KS/seed_1/checkpoint.pt",
        "models/GRAE/seed_0/checkpoint.pt", "models/GRAE/seed_1/checkpoint.pt",
    ]
    status = run_cli("experiment", "status", str(spec), "--out", str(out))
    assert status.returncode == 0, status.stderr
    assert status.stdout.count("done     train") == 4
    assert status.stdout.count("missing  optimize") == 4
    assert "4/12 cells done" in status.stdout

    # 2. One model's cells first (--model, --strategy), then the rest: no training again, every
    #    evaluation and optimisation cell once.
    trained = _mtimes(checkpoints)
    only = run_cli("experiment", "run", str(spec), "--out", str(out), "--model", "GRAE", "--strategy", "protocol 2x5")
    assert only.returncode == 0, only.stderr
    assert "evaluate: 2 cell(s) run (GRAE seed 0; GRAE seed 1)" in only.stdout
    assert "optimize: 2 cell(s) run (protocol 2x5 GRAE seed 0; protocol 2x5 GRAE seed 1)" in only.stdout
    assert not (out / "bo" / "protocol_2x5" / "GMM-KS").exists() and not (out / "evaluations" / "GMM-KS").exists()
    diagnostics = json.loads((out / "evaluations" / "GRAE" / "seed_1.json").read_text())
    assert (diagnostics["label"], diagnostics["model"], diagnostics["training_seed"]) == ("GRAE", "grammar", 1)
    assert "GMM-KS" in (out / "tables" / "tiny" / "best_1.md").read_text()  # the tables are the whole spec's
    second = run_cli("experiment", "run", str(spec), "--out", str(out))
    assert second.returncode == 0, second.stderr
    assert "train: 0 cell(s) run" in second.stdout
    assert "evaluate: 2 cell(s) run (GMM-KS seed 0; GMM-KS seed 1)" in second.stdout
    assert "optimize: 2 cell(s) run (protocol 2x5 GMM-KS seed 0; protocol 2x5 GMM-KS seed 1)" in second.stdout
    # the loop's log lines say which cell they belong to (lsbo.logs.log_context, the CLI's handler)
    assert "optimize protocol 2x5 GMM-KS seed 0: trial 1 iteration 1: " in second.stderr
    assert _mtimes(checkpoints) == trained
    evaluations = sorted(out.glob("bo/*/*/seed_*/trial_1/evaluations.jsonl"))
    assert len(evaluations) == 4 and all(len(_records(p)) == 10 for p in evaluations)

    # 3. What a kill in the middle of a trial leaves: 6 of 10 evaluations and a torn last line; a
    #    diagnostics file not yet written; no tables.
    killed = out / "bo" / "protocol_2x5" / "GRAE" / "seed_1" / "trial_1" / "evaluations.jsonl"
    before = killed.read_text().splitlines()
    killed.write_text("\n".join(before[:6]) + "\n" + before[6][:20])
    (out / "evaluations" / "GRAE" / "seed_1.json").unlink()
    for table in (out / "tables" / "tiny").iterdir():
        table.unlink()
    untouched = [p for p in evaluations if p != killed] + sorted(out.glob("evaluations/*/*.json"))
    untouched += sorted(killed.parent.glob("candidates_*.json"))  # both batches were chosen before the kill
    kept = _mtimes(untouched)
    status = run_cli("experiment", "status", str(spec), "--out", str(out))
    assert "partial  optimize protocol 2x5 GRAE seed 1: trial 1: 6/10" in status.stdout
    assert "missing  evaluate GRAE seed 1" in status.stdout

    # resumed with the two remaining cells in two worker processes (lsbo.executors)
    third = run_cli("experiment", "run", str(spec), "--out", str(out), "--workers", "2")
    assert third.returncode == 0, third.stderr
    assert "train: 0 cell(s) run" in third.stdout
    assert "evaluate: 1 cell(s) run (GRAE seed 1)" in third.stdout
    assert "optimize: 1 cell(s) run (protocol 2x5 GRAE seed 1)" in third.stdout
    assert any(line.startswith("optimize protocol 2x5 GRAE seed 1: ") and "training points; best training score" in line
               for line in third.stderr.splitlines())  # logged by the worker process through its own handler
    assert _mtimes(checkpoints) == trained and _mtimes(untouched) == kept
    resumed = killed.read_text().splitlines()
    assert resumed[:6] == before[:6]  # the evaluations on disk were kept, not redone
    assert sorted((r["iteration"], r["index"]) for r in map(json.loads, resumed)) == [(i, j) for i in (1, 2) for j in range(5)]

    # 4. The table: mean +- sample std over the two training seeds, from the evaluations themselves.
    table = pd.read_csv(out / "tables" / "tiny" / "best_1.csv")
    for label in ("GMM-KS", "GRAE"):
        bests = [min(r["score"] for r in _records(out / "bo" / "protocol_2x5" / label / f"seed_{s}" / "trial_1" / "evaluations.jsonl") if r["valid"])
                 for s in (0, 1)]
        row = table[table["model"] == label].iloc[0]
        assert row["n"] == 2
        assert row["mean"] == pytest.approx(np.mean(bests))
        assert row["std"] == pytest.approx(np.std(bests, ddof=1))
        assert row["paper_mean"] == pytest.approx({"GMM-KS": 0.03, "GRAE": 0.39}[label])
    # the budget metrics beside them: the best string that is not one of the model's training strings
    novel = pd.read_csv(out / "tables" / "tiny" / "best_novel.csv")
    for label in ("GMM-KS", "GRAE"):
        bests = []
        for s in (0, 1):
            trained_on = set((out / "models" / label / f"seed_{s}" / "train_strings.txt").read_text().splitlines())
            records = _records(out / "bo" / "protocol_2x5" / label / f"seed_{s}" / "trial_1" / "evaluations.jsonl")
            scores = [r["score"] for r in records if r["valid"] and r["string"] not in trained_on]
            bests.append(min(scores) if scores else np.nan)
        row = novel[novel["model"] == label].iloc[0]
        assert row["mean"] == pytest.approx(np.nanmean(bests)) and np.isnan(row["paper_mean"])
    assert {"top10_mean.csv", "auc_top10.csv"} <= {p.name for p in (out / "tables" / "tiny").iterdir()}
    markdown = (out / "tables" / "tiny" / "best_1.md").read_text()
    assert "| GMM-DAE (paper) |" in markdown and "± " in markdown and "(n=2)" in markdown
    paired = pd.read_csv(out / "tables" / "tiny" / "paired_best_1.csv")
    assert list(paired["other"]) == ["GRAE"] and list(paired["pairs"]) == [2]
    diagnostics = pd.read_csv(out / "tables" / "tiny" / "reconstruction_accuracy.csv")
    assert list(diagnostics["n"]) == [2, 2]

    # 5. The spec changed under finished models: refused before anything runs, naming the model directory.
    changed = tmp_path / "changed.toml"
    changed.write_text(SPEC.format(data=expr_dataset_path).replace('regularizer = "rae"', 'regularizer = "rae"\nrec_weight = 2.0'))
    before_refusal = _mtimes(checkpoints + sorted(out.glob("evaluations/*/*.json")))
    refused = run_cli("experiment", "run", str(changed), "--out", str(out), "--stage", "evaluate", "--model", "GRAE")
    assert refused.returncode == 1, refused.stderr
    message = refused.stderr.strip()
    assert len(message.splitlines()) == 1 and str(out / "models" / "GRAE" / "seed_0") in message
    assert "was made with other settings (options differ from the spec)" in message
    assert _mtimes(checkpoints + sorted(out.glob("evaluations/*/*.json"))) == before_refusal
