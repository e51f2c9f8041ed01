"""Bounded objective calls inside the loop, and trials as executor units (lsbo.bo.parallel), on the fake model."""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

import pytest

from lsbo.bo import BOConfig, run_optimization
from lsbo.bo.loop import EVALUATIONS_FILE, prepare_run, read_records
from lsbo.bo.parallel import run_trials
from lsbo.errors import ExecutorError
from lsbo.executors import LocalExecutor
from lsbo.objectives.base import ItemwiseObjective
from lsbo.objectives.expressions import expression_score
from lsbo.objectives.isolation import IsolationOptions
from tests.bo.fakes import FakeModel
from tests.bo.test_loop import CHEAP

CONFIG = BOConfig(trials=2, iterations=2, batch_size=3, attempts=4, seed=3, acquisition=CHEAP)


class FlaggedObjective(ItemwiseObjective):
    """The expression objective, which misbehaves once a flag file exists (after the initial data is scored).

    ``hang``: every call sleeps far past any timeout of these tests. ``die``: the first call to remove the
    flag ends its whole process at once, as a killed worker would.
    """

    name = "expr"
    maximize = False

    def __init__(self, flag: str, behaviour: str) -> None:
        self.flag = flag
        self.behaviour = behaviour

    def score(self, string: str) -> float | None:
        if self.behaviour == "hang" and os.path.exists(self.flag):
            time.sleep(60)
        if self.behaviour == "die":
            try:
                os.remove(self.flag)
            except FileNotFoundError:
                pass
            else:
                os._exit(1)
        return expression_score(string)


def fake_loader(flag: str, behaviour: str) -> tuple[FakeModel, FlaggedObjective]:
    return FakeModel(), FlaggedObjective(flag, behaviour)


def evaluation_fields(out: Path, trials=(1, 2)) -> list[tuple]:
    """What a trial evaluated, without when or how long (those differ between any two runs)."""
    rows = []
    for trial in trials:
        for r in read_records(out / f"trial_{trial}" / EVALUATIONS_FILE):
            rows.append((r["trial"], r["iteration"], r["index"], r["string"], tuple(r["latent"]), r["score"], r["error"]))
    return sorted(rows)


def test_hanging_calls_time_out_are_recorded_and_resume_does_not_call_them_again(tmp_path: Path) -> None:
    out, flag = tmp_path / "run", str(tmp_path / "hang")
    config = BOConfig(trials=1, iterations=2, batch_size=3, attempts=4, seed=3, acquisition=CHEAP,
                      objective_calls=IsolationOptions(workers=2, timeout=0.5))
    model, objective = fake_loader(flag, "hang")
    prepare_run(model, objective, out, config, target="expr")  # the training strings score normally
    Path(flag).touch()  # from now on every call hangs
    results = run_optimization(model, objective, out, config, target="expr", resume=True)
    records = read_records(out / "trial_1" / EVALUATIONS_FILE)
    assert len(records) == 6 and results["trials"]["1"]["n_evaluations"] == 6
    called = [r for r in records if not r.get("duplicate")]  # a string seen before reuses its score, no call
    assert called and all(not r["valid"] and "timed out after 0.5 s" in r["error"] for r in called)
    assert (out / "results.json").is_file()
    # a resume finds every hung candidate recorded: it calls the objective on none of them
    run_optimization(model, objective, out, config, target="expr", resume=True)
    assert read_records(out / "trial_1" / EVALUATIONS_FILE) == records


def test_parallel_isolated_calls_give_the_records_of_in_process_scoring(tmp_path: Path) -> None:
    isolated = BOConfig(**{**CONFIG.__dict__, "trials": 1, "objective_calls": IsolationOptions(workers=2, timeout=30.0)})
    in_process = BOConfig(**{**CONFIG.__dict__, "trials": 1})
    objective = FlaggedObjective(str(tmp_path / "never"), "hang")
    run_optimization(FakeModel(), objective, tmp_path / "isolated", isolated, target="expr")
    run_optimization(FakeModel(), objective, tmp_path / "in-process", in_process, target="expr")
    assert evaluation_fields(tmp_path / "isolated", [1]) == evaluation_fields(tmp_path / "in-process", [1])


def test_trials_on_worker_processes_equal_one_process_and_survive_a_killed_worker(tmp_path: Path) -> None:
    flag = str(tmp_path / "die")
    reference = tmp_path / "reference"
    run_optimization(*fake_loader(flag, "die"), reference, CONFIG, target="expr")

    out = tmp_path / "run"
    load = functools.partial(fake_loader, flag, "die")
    prepare_run(*load(), out, CONFIG, target="expr")
    Path(flag).touch()  # the first worker call to see it ends its worker mid-trial
    with pytest.raises(ExecutorError, match="worker process died.*run the same command again"):
        run_trials(LocalExecutor(workers=2, threads_per_worker=1), load, out, CONFIG, target="expr", resume=True)
    assert not (out / "results.json").exists()
    # the command again (here with in-process units, which resume the same files)
    results = run_trials(LocalExecutor(workers=1), load, out, CONFIG, target="expr", resume=True)
    keys = [row[:3] for row in evaluation_fields(out)]
    assert len(keys) == len(set(keys)) == 2 * 2 * 3  # each evaluation exactly once
    assert evaluation_fields(out) == evaluation_fields(reference)
    assert results["trials"]["2"]["n_evaluations"] == 6 and (out / "results.json").is_file()
