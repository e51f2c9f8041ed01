"""``lsbo optimize --strategy turbo --budget ...`` (and with weighted retraining) through the real entry
point on a tiny expression model: killed mid-run like a SIGKILL, resumed, every evaluation exactly once."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.conftest import run_cli

# An item-wise objective (the expression score) that counts its calls in a file and, when the run's
# evaluations log has reached KILL_AT lines, ends the process at once (os._exit: no cleanup, no
# flushing, as a SIGKILL would) while scoring the next point. Deterministic: no sleeps, no timing.
OBJECTIVE = '''
import multiprocessing
import os
import signal
from pathlib import Path

from lsbo.objectives.expressions import expression_score


def score(string):
    counter = Path(os.environ["LSBO_TEST_CALLS"])
    counter.write_text(str(int(counter.read_text() or "0") + 1) if counter.exists() else "1")
    kill_at = os.environ.get("LSBO_TEST_KILL_AT")
    log = Path(os.environ["LSBO_TEST_LOG"])
    if kill_at and log.exists() and len(log.read_text().splitlines()) >= int(kill_at):
        parent = multiprocessing.parent_process()
        if parent is not None:  # an isolated call (the default for a user objective): kill the lsbo process itself
            os.kill(parent.pid, signal.SIGKILL)
        os._exit(137)
    return expression_score(string)


score.maximize = False
'''


@pytest.fixture(scope="module")
def tiny_gmm_model(tmp_path_factory: pytest.TempPathFactory, expr_dataset_path: Path) -> Path:
    model_dir = tmp_path_factory.mktemp("model") / "expr-gmm"
    result = run_cli(
        "train", "expr", "--data", str(expr_dataset_path), "--limit", "150", "--epochs", "1", "--preset", "cpu",
        "--latent-dim", "4", "--gru-hidden", "16", "--components", "2", "--threads", "1", "--device", "cpu",
        "--out", str(model_dir),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return model_dir


def _records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "trial_1" / "evaluations.jsonl").read_text().splitlines()]


def _kill_and_resume(model: Path, tmp_path: Path, extra: list[str], kill_at: int) -> tuple[Path, list[dict], int]:
    objective = tmp_path / "killing_objective.py"
    objective.write_text(OBJECTIVE)
    out = tmp_path / "run"
    args = ["optimize", "--target", f"{objective}:score", "--model", str(model), "--strategy", "turbo", "--budget", "100",
            "--batch", "10", "--trials", "1", "--attempts", "2", "--max-train-points", "100", "--threads", "1",
            "--device", "cpu", "--out", str(out), *extra]
    calls = tmp_path / "calls.txt"
    env = {"LSBO_TEST_CALLS": str(calls), "LSBO_TEST_LOG": str(out / "trial_1" / "evaluations.jsonl")}
    killed = run_cli(*args, env=env | {"LSBO_TEST_KILL_AT": str(kill_at)})
    assert killed.returncode in (137, -signal.SIGKILL), killed.stderr[-2000:]  # in process, or killed from its isolated call
    before = _records(out)
    assert len(before) == kill_at and not (out / "results.json").exists()
    calls_before = int(calls.read_text())
    resumed = run_cli(*args, "--resume", env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    records = _records(out)
    assert records[:kill_at] == before  # nothing written before the kill changed
    keys = [(r["iteration"], r["index"]) for r in records]
    assert len(records) == 100 and len(set(keys)) == 100  # every call exactly once
    # the resumed process scored only what was missing: the initial data is cached, repeats are not scored
    # (the call in flight when the process was killed was never recorded, so it is made again)
    after = records[kill_at:]
    assert int(calls.read_text()) - calls_before == sum(1 for r in after if r["string"] is not None and not r["duplicate"])
    return out, records, int(calls.read_text())


def _check_results(out: Path, records: list[dict]) -> None:
    results = json.loads((out / "results.json").read_text())
    trial = results["trials"]["1"]
    valid = {r["string"]: r["score"] for r in records if r["valid"]}
    assert trial["n_calls"] == 100 and trial["n_duplicates"] == sum(r["duplicate"] for r in records)
    assert trial["best"] == min(valid.values())
    model_dir = Path(results["settings"]["model_dir"])
    training = set((model_dir / "train_strings.txt").read_text().splitlines())
    novel = [score for string, score in valid.items() if string not in training]
    assert trial["best_novel"] == (min(novel) if novel else None)
    assert trial["top10_mean"] == pytest.approx(sum(sorted(valid.values())[:10]) / min(10, len(valid)))
    assert trial["auc_top10"] >= trial["top10_mean"]  # minimisation: the top-10 curve only falls
    for name in ("best", "top10_mean", "auc_top10", "n_calls", "n_duplicates"):
        assert results["aggregate"][f"{name}_mean"] == pytest.approx(trial[name]) and results["aggregate"][f"{name}_std"] == 0.0
    assert results["settings"]["strategy"] == "turbo" and results["settings"]["acquisition"]["name"] == "ts"
    assert "Budget metrics at 100 calls" in (out / "table.md").read_text()


def test_turbo_with_a_budget_killed_and_resumed(tiny_gmm_model: Path, tmp_path: Path) -> None:
    out, records, _ = _kill_and_resume(tiny_gmm_model, tmp_path, [], kill_at=25)
    assert max(r["iteration"] for r in records) == 10
    batch = json.loads((out / "trial_1" / "candidates_3.json").read_text())
    assert batch["strategy"] == "turbo" and "tr_length" in batch["surrogate_metrics"]
    _check_results(out, records)


def test_turbo_with_weighted_retraining_killed_after_a_retraining_and_resumed(tiny_gmm_model: Path, tmp_path: Path) -> None:
    out, records, _ = _kill_and_resume(
        tiny_gmm_model, tmp_path, ["--retrain-every", "50", "--retrain-samples", "64"], kill_at=55,
    )
    retrained = out / "trial_1" / "retrain_1"
    assert (retrained / "retrain.json").is_file() and (retrained / "checkpoint.pt").is_file()
    assert not (out / "trial_1" / "retrain_2").exists()  # a retraining at the end of the budget would be wasted
    # batches up to 50 calls were decoded by the original model, the later ones by the fine-tuned one
    models = [json.loads((out / "trial_1" / f"candidates_{i}.json").read_text())["model_dir"] for i in range(1, 11)]
    assert set(models[:5]) == {str(tiny_gmm_model)} and set(models[5:]) == {str(retrained)}
    retrain = json.loads((retrained / "retrain.json").read_text())
    assert retrain["rank_k"] == 1e-3 and retrain["samples_per_epoch"] == 64
    _check_results(out, records)


def test_bad_new_flags_are_one_line_errors_before_anything_is_written(tiny_gmm_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    base = ["optimize", "--target", "expr", "--model", str(tiny_gmm_model), "--out", str(out)]
    for extra, message in (
        # the other values are checked by BOConfig.resolved (tests/bo/test_loop_strategies.py)
        (["--strategy", "tubro"], "--strategy 'tubro'"),
        (["--acquisition", "ts"], "--acquisition 'ts' with --strategy protocol"),
        (["--retrain-every", "5", "--rank-k", "0"], "--rank-k must be positive"),
        (["--rank-k", "0.1"], "--rank-k need(s) --retrain-every"),
    ):
        result = run_cli(*base, *extra)
        assert result.returncode == 1 and message in result.stderr, (extra, result.stderr[-1000:])
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert not out.exists()
