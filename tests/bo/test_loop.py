"""The BO loop on a tiny fake model: outputs, seeding, interruption and resumption."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import pytest

from lsbo.bo import BOConfig, run_optimization
from lsbo.bo.acquisition import AcquisitionOptions
from lsbo.bo.loop import EVALUATIONS_FILE, append_record, read_records
from lsbo.errors import ConfigError
from lsbo.objectives import build_objective
from lsbo.objectives.base import ItemwiseObjective, Objective
from lsbo.objectives.expressions import expression_score
from tests.bo.fakes import FakeModel

# a cheap acquisition optimiser keeps these tests fast; the loop logic is what is tested here
CHEAP = AcquisitionOptions(num_restarts=1, raw_samples=16, mc_samples=32, max_iterations=10)
CONFIG = BOConfig(trials=2, iterations=2, batch_size=3, attempts=4, seed=3, acquisition=CHEAP)


class InterruptingObjective(ItemwiseObjective):
    """The expression objective, but raises KeyboardInterrupt on its k-th call (like Ctrl-C)."""

    name = "expr"
    maximize = False

    def __init__(self, interrupt_at: int | None) -> None:
        self.calls = 0
        self.interrupt_at = interrupt_at

    def score(self, string: str) -> float | None:
        self.calls += 1
        if self.interrupt_at is not None and self.calls == self.interrupt_at:
            raise KeyboardInterrupt
        return expression_score(string)


def _keys(out: Path) -> list[tuple[int, int, int]]:
    keys = []
    for path in sorted(out.glob("trial_*/" + EVALUATIONS_FILE)):
        keys += [(r["trial"], r["iteration"], r["index"]) for r in read_records(path)]
    return keys


def test_run_writes_every_output_with_consistent_records(tmp_path: Path) -> None:
    results = run_optimization(FakeModel(), build_objective("expr"), tmp_path / "run", CONFIG, target="expr")
    out = tmp_path / "run"
    for name in ("results.json", "table.md", "best_so_far.png", "run.json", "initial_data.pt"):
        assert (out / name).is_file(), name
    keys = _keys(out)
    assert sorted(keys) == [(t, i, j) for t in (1, 2) for i in (1, 2) for j in range(3)]
    records = read_records(out / "trial_1" / EVALUATIONS_FILE)
    for record in records:
        assert set(record) >= {"string", "latent", "score", "valid", "iteration", "time"}
        assert len(record["latent"]) == 2
        assert record["score"] == pytest.approx(expression_score(record["string"]))  # scored by the objective
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["aggregate"]["top3"] == results["aggregate"]["top3"]
    top = results["aggregate"]["top3"]
    assert [t["score"] for t in top] == sorted(t["score"] for t in top)  # minimisation: best (lowest) first
    assert results["trials"]["1"]["fraction_valid"] == 1.0
    batch = json.loads((out / "trial_1" / "candidates_1.json").read_text())
    assert batch["surrogate_metrics"]["surrogate"] == "exact" and batch["surrogate_metrics"]["test_rmse"] is not None
    assert "GMM-DAE (paper)" in (out / "table.md").read_text()


def test_interrupted_run_resumes_with_each_evaluation_exactly_once(tmp_path: Path) -> None:
    out = tmp_path / "run"
    model = FakeModel()
    # the initial data scores the 36 training strings first; interrupt at the 5th BO evaluation
    with pytest.raises(KeyboardInterrupt):
        run_optimization(model, InterruptingObjective(36 + 5), out, CONFIG, target="expr")
    partial = _keys(out)
    assert len(partial) == 4 and not (out / "results.json").exists()
    # a torn half line, as if killed during a write, must be dropped, not duplicated
    with open(out / "trial_1" / EVALUATIONS_FILE, "a") as handle:
        handle.write('{"trial": 1, "iteration": 2, "ind')
    with pytest.raises(ConfigError, match="already holds an optimisation run; pass resume to continue it or choose another out_dir$"):
        run_optimization(model, InterruptingObjective(None), out, CONFIG, target="expr")
    resumed = InterruptingObjective(None)
    run_optimization(model, resumed, out, CONFIG, target="expr", resume=True)
    keys = _keys(out)
    assert len(keys) == len(set(keys)) == 2 * 2 * 3
    # initial data was cached; only the missing points were scored, each new string once
    records = [r for path in sorted(out.glob("trial_*/" + EVALUATIONS_FILE)) for r in read_records(path)]
    after = [r for r in records if (r["trial"], r["iteration"], r["index"]) not in set(partial)]
    assert resumed.calls == sum(1 for r in after if r["string"] is not None and not r["duplicate"])
    for trial in (1, 2):  # a string repeated within a trial carries the first score and the duplicate flag
        mine = [r for r in records if r["trial"] == trial]
        seen: dict[str, float] = {}
        for r in mine:
            assert r["duplicate"] == (r["string"] in seen)
            assert r["score"] == seen.setdefault(r["string"], r["score"])
    # an uninterrupted run with the same seed chooses the same strings
    reference = run_optimization(FakeModel(), build_objective("expr"), tmp_path / "ref", CONFIG, target="expr")
    assert reference["aggregate"]["top3"] == json.loads((out / "results.json").read_text())["aggregate"]["top3"]


def test_trials_run_separately_match_one_run_and_the_last_writes_the_results(tmp_path: Path) -> None:
    out = tmp_path / "run"
    # trial 2 first, as a second process might finish it first; trial 1 not started yet
    partial = run_optimization(FakeModel(), build_objective("expr"), out, CONFIG, target="expr", only_trials=[2])
    assert partial == {"complete": False, "pending_trials": [1]}
    assert not (out / "results.json").exists() and not (out / "trial_1").exists()
    # a half-written line of a trial still running elsewhere is read past, not truncated
    (out / "trial_1").mkdir()
    (out / "trial_1" / EVALUATIONS_FILE).write_text('{"trial": 1, "iter')
    assert run_optimization(FakeModel(), build_objective("expr"), out, CONFIG, target="expr", resume=True,
                            only_trials=[2])["pending_trials"] == [1]
    assert (out / "trial_1" / EVALUATIONS_FILE).read_text() == '{"trial": 1, "iter'
    (out / "trial_1" / EVALUATIONS_FILE).unlink()
    results = run_optimization(FakeModel(), build_objective("expr"), out, CONFIG, target="expr", resume=True, only_trials=[1])
    reference = run_optimization(FakeModel(), build_objective("expr"), tmp_path / "ref", CONFIG, target="expr")
    assert results["aggregate"] == reference["aggregate"] and (out / "table.md").is_file()
    for trial in (1, 2):
        strings = [r["string"] for r in read_records(out / f"trial_{trial}" / EVALUATIONS_FILE)]
        assert strings == [r["string"] for r in read_records(tmp_path / "ref" / f"trial_{trial}" / EVALUATIONS_FILE)]


@pytest.mark.parametrize("only", [[3], [0], []])
def test_trial_outside_the_run_is_refused(tmp_path: Path, only: list[int]) -> None:
    with pytest.raises(ConfigError, match=r"^only_trials .*: trials are numbered 1 to 2 \(a run of 2 trials\)$"):
        run_optimization(FakeModel(), build_objective("expr"), tmp_path / "run", CONFIG, target="expr", only_trials=only)
    assert not (tmp_path / "run").exists()


def test_resume_with_different_settings_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    small = BOConfig(trials=1, iterations=1, batch_size=2, attempts=2, acquisition=CHEAP)
    run_optimization(FakeModel(), build_objective("expr"), out, small, target="expr")
    with pytest.raises(ConfigError, match="batch_size"):
        run_optimization(FakeModel(), build_objective("expr"), out, BOConfig(trials=1, iterations=1, batch_size=3, attempts=2, acquisition=CHEAP), target="expr", resume=True)


def test_objective_raising_on_one_input_is_recorded_and_run_goes_on(tmp_path: Path) -> None:
    from lsbo.objectives.user import objective_from_callable

    def picky(s: str) -> float:
        if "sin" in s:
            raise ValueError("no sines please")
        return float(len(s))

    results = run_optimization(FakeModel(), objective_from_callable(picky), tmp_path / "run", BOConfig(trials=1, iterations=2, batch_size=4, attempts=3, acquisition=CHEAP), target="user")
    records = read_records(tmp_path / "run" / "trial_1" / EVALUATIONS_FILE)
    assert len(records) == 8
    for record in records:
        if "sin" in record["string"]:
            assert record["score"] is None and not record["valid"] and "no sines please" in record["error"]
        else:
            assert record["score"] == len(record["string"])
    assert results["trials"]["1"]["n_evaluations"] == 8


class CountingBatchObjective(Objective):
    """A batch objective (not item-wise) that records the size of every call."""

    name = "expr"
    maximize = False

    def __init__(self) -> None:
        self.call_sizes: list[int] = []

    def __call__(self, strings: Sequence[str]) -> list[float | None]:
        self.call_sizes.append(len(strings))
        return [expression_score(s) for s in strings]


def test_batch_objective_is_called_once_per_iteration(tmp_path: Path) -> None:
    objective = CountingBatchObjective()
    config = BOConfig(trials=1, iterations=2, batch_size=3, attempts=4, seed=3, acquisition=CHEAP)
    run_optimization(FakeModel(), objective, tmp_path / "run", config, target="expr")
    # the first call scores the training strings; then one call per iteration on its strings not seen before
    records = read_records(tmp_path / "run" / "trial_1" / EVALUATIONS_FILE)
    new_per_iteration = [sum(1 for r in records if r["iteration"] == i and not r["duplicate"]) for i in (1, 2)]
    assert objective.call_sizes[1:] == [n for n in new_per_iteration if n]
    assert [r["score"] for r in records] == pytest.approx([expression_score(r["string"]) for r in records])


def test_torn_last_line_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    record = {"trial": 1, "iteration": 1, "index": 0, "string": "x", "latent": [0.0], "score": 1.0, "valid": True}
    append_record(path, record)
    with open(path, "a") as handle:
        handle.write('{"trial": 1, "ite')
    assert read_records(path) == [record]
    assert path.read_text() == json.dumps(record, separators=(",", ":")) + "\n"


def test_prior_box_covers_every_component_three_stds() -> None:
    import torch

    from lsbo.bo.loop import search_box

    class Prior:
        means = torch.tensor([[-6.0, 0.0], [6.0, 2.0]])
        stds = torch.ones(2, 2)

    model = FakeModel()
    model.prior = Prior()
    box = search_box(model, torch.zeros(3, 2), "prior")
    assert torch.allclose(box, torch.tensor([[-9.0, -3.0], [9.0, 5.0]], dtype=torch.float64))
    assert torch.allclose(search_box(model, torch.tensor([[0.0, 1.0], [2.0, 3.0]]), "data"), torch.tensor([[0.0, 1.0], [2.0, 3.0]], dtype=torch.float64))


def test_plain_masking_reaches_the_decoder_and_is_recorded(tmp_path: Path) -> None:
    out = tmp_path / "run"
    plain = BOConfig(trials=1, iterations=1, batch_size=2, attempts=2, acquisition=CHEAP, complete=False)
    model = FakeModel()
    run_optimization(model, build_objective("expr"), out, plain, target="expr")
    assert model.decode_calls > 0 and model.last_complete is False
    settings = json.loads((out / "run.json").read_text())
    assert settings["complete"] is False and settings["masking"] == "none"  # the fake has no mask to name
    with pytest.raises(ConfigError, match="complete"):
        run_optimization(FakeModel(), build_objective("expr"), out, BOConfig(trials=1, iterations=1, batch_size=2, attempts=2, acquisition=CHEAP), target="expr", resume=True)


@pytest.mark.parametrize(
    ("config", "flag"),
    [
        (BOConfig(trials=1, iterations=1, batch_size=2, attempts=2, surrogate="exakt", acquisition=CHEAP), "^surrogate 'exakt' with strategy protocol"),
        (BOConfig(trials=1, iterations=1, batch_size=2, attempts=2, acquisition=AcquisitionOptions(name="ei")), "^acquisition.name 'ei' with strategy protocol"),  # type: ignore[arg-type]
    ],
)
def test_unknown_surrogate_or_acquisition_is_refused_before_the_run_directory_is_written(
    tmp_path: Path, config: BOConfig, flag: str
) -> None:
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match=flag):
        run_optimization(FakeModel(), build_objective("expr"), out, config, target="expr")
    assert not (out / "run.json").exists()


@pytest.mark.parametrize("damaged", ["run.json", "trial_1/candidates_1.json"])
def test_damaged_run_file_on_resume_is_named_in_one_line(tmp_path: Path, damaged: str) -> None:
    out = tmp_path / "run"
    small = BOConfig(trials=1, iterations=1, batch_size=2, attempts=2, acquisition=CHEAP)
    run_optimization(FakeModel(), build_objective("expr"), out, small, target="expr")
    (out / damaged).write_text('{"target": "ex', encoding="utf-8")
    with pytest.raises(ConfigError, match=damaged.split("/")[-1]):
        run_optimization(FakeModel(), build_objective("expr"), out, small, target="expr", resume=True)


@pytest.mark.parametrize(
    ("damaged", "content", "message"),
    [
        ("run.json", "[1, 2]", "not a run description"),
        ("trial_1/candidates_1.json", '{"latents": [[0.0, 0.0]]}', "missing strings, surrogate_metrics"),
        ("trial_1/" + EVALUATIONS_FILE, '{"trial": 1, "iteration": 1}\n', "line 1: not an evaluation record"),
    ],
)
def test_valid_json_of_the_wrong_shape_on_resume_is_named_in_one_line(
    tmp_path: Path, damaged: str, content: str, message: str
) -> None:
    out = tmp_path / "run"
    small = BOConfig(trials=1, iterations=1, batch_size=2, attempts=2, acquisition=CHEAP)
    run_optimization(FakeModel(), build_objective("expr"), out, small, target="expr")
    (out / damaged).write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        run_optimization(FakeModel(), build_objective("expr"), out, small, target="expr", resume=True)
    assert damaged.split("/")[-1] in str(caught.value) and "\n" not in str(caught.value)


def test_run_that_scored_nothing_starts_afresh_with_new_settings(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from lsbo.objectives.user import objective_from_callable

    out = tmp_path / "run"
    small = BOConfig(trials=1, iterations=1, batch_size=2, attempts=2, acquisition=CHEAP)
    with pytest.raises(ConfigError, match="nothing has been scored .*: the corrected command may use the same out_dir, "
                                          r"with or without resume, and starts the run afresh\)$") as caught:
        run_optimization(FakeModel(), objective_from_callable(lambda s: None, name="nothing"), out, small, target="nothing")
    assert caught.value.parameter == ("out_dir", "resume")  # the command line names --out and --resume
    assert (out / "run.json").is_file()
    other = BOConfig(trials=1, iterations=1, batch_size=3, attempts=2, acquisition=CHEAP)
    with caplog.at_level(logging.INFO, logger="lsbo"):
        run_optimization(FakeModel(), build_objective("expr"), out, other, target="expr")  # no --resume
    assert any("scored nothing yet" in record.getMessage() for record in caplog.records if record.name == "lsbo.bo.store")
    assert json.loads((out / "run.json").read_text())["batch_size"] == 3 and len(_keys(out)) == 3


@pytest.mark.parametrize("failing_write", [1, 3, 5, 7])  # odd: file syncs (even ones sync the directory)
def test_disk_full_is_one_line_and_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing_write: int) -> None:
    import errno

    import lsbo.persistence
    from lsbo.persistence import PersistenceError

    real_fsync = lsbo.persistence.os.fsync
    calls = {"n": 0}

    def fsync(fd: int) -> None:  # the disk fills up at the n-th sync: run.json, initial data, candidates, an evaluation
        calls["n"] += 1
        if calls["n"] == failing_write:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(lsbo.persistence.os, "fsync", fsync)
    out = tmp_path / "run"
    small = BOConfig(trials=1, iterations=1, batch_size=2, attempts=2, acquisition=CHEAP)
    with pytest.raises(PersistenceError, match="No space left on device") as caught:
        run_optimization(FakeModel(), build_objective("expr"), out, small, target="expr")
    assert "\n" not in str(caught.value)
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_memory_check_names_the_parameter_that_asks_too_much() -> None:
    from lsbo.bo.loop import check_memory

    check_memory(BOConfig(batch_size=50), 1000, "cpu", available=2**30)  # the protocol's sizes fit in 1 GiB
    with pytest.raises(ConfigError, match=r"^batch_size 5000 asks batch EI for 2[0-9.]+ GiB, more than the 16 GiB .*; use a smaller batch_size$") as caught:
        check_memory(BOConfig(batch_size=5000), 1000, "cpu", available=16 * 2**30)
    assert caught.value.parameter == ("batch_size",)
    with pytest.raises(ConfigError, match=r"exact GP on up to 200200 points .*; use max_train_points or surrogate sparse$") as caught:
        check_memory(BOConfig(surrogate="exact"), 200_000, "cpu", available=16 * 2**30)
    assert caught.value.parameter == ("max_train_points", "surrogate")


def test_records_that_do_not_belong_to_the_run_are_named(tmp_path: Path) -> None:
    out = tmp_path / "run"
    small = BOConfig(trials=1, iterations=1, batch_size=2, attempts=2, acquisition=CHEAP)
    run_optimization(FakeModel(), build_objective("expr"), out, small, target="expr")
    log = out / "trial_1" / EVALUATIONS_FILE
    first, second = log.read_text().splitlines()
    for edited, message in [
        (second.replace('"index":1', '"index":0'), "line 2: iteration 1, index 0 is recorded twice"),
        (second.replace('"iteration":1', '"iteration":7'), "line 2: \"iteration\" is 7, beyond the run's 1 iteration"),
        (second.replace('"trial":1', '"trial":2'), "line 2: \"trial\" is 2 in the log of trial 1"),
    ]:
        log.write_text(first + "\n" + edited + "\n")
        with pytest.raises(ConfigError, match=message):
            run_optimization(FakeModel(), build_objective("expr"), out, small, target="expr", resume=True)


class CollapsedModel(FakeModel):
    """Decodes every latent point to one string, as a collapsed decoder would."""

    def decode(self, z, sample=False, generator=None, complete=True, repeats=1):
        self.decode_calls += 1
        return ["x + x"] * (len(z) * repeats)


def test_collapsed_search_is_warned_about_in_results_and_table(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from lsbo.logs import LineFormatter

    out = tmp_path / "run"
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "evaluation.json").write_text(json.dumps({"reconstruction_accuracy": 0.0, "n_reconstructed": 30}))
    small = BOConfig(trials=1, iterations=2, batch_size=3, attempts=2, acquisition=CHEAP)
    with caplog.at_level(logging.INFO, logger="lsbo"):
        results = run_optimization(CollapsedModel(tmp_path / "model"), build_objective("expr"), out, small, target="expr")
    assert results["warnings"] == [
        "every valid candidate (6 of 6) is the same string 'x + x': the search collapsed to one point of the latent space",
        "the model reconstructs none of its 30 validation strings (its evaluation.json)",
    ]
    table = (out / "table.md").read_text()
    assert all(f"> **Warning:** {w}" in table for w in results["warnings"])
    warned = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert [record.getMessage() for record in warned] == results["warnings"]
    assert LineFormatter().format(warned[0]).startswith("warning: every valid candidate")
    import pandas as pd

    frame = pd.read_csv(out / "results.csv")
    assert list(frame["trial"]) == [1] and frame.loc[0, "n_evaluations"] == 6 and frame.loc[0, "top1_string"] == "x + x"
    assert "best training string (ours)" in table
