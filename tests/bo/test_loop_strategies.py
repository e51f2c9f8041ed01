"""The loop with a budget, the turbo strategy and resumption of its state, on the tiny fake model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lsbo.bo import BOConfig, run_optimization
from lsbo.bo.acquisition import AcquisitionOptions
from lsbo.bo.loop import EVALUATIONS_FILE, read_records
from lsbo.bo.retraining import RetrainOptions
from lsbo.objectives import build_objective
from tests.bo.fakes import FakeModel
from tests.bo.test_loop import InterruptingObjective

CHEAP = AcquisitionOptions(num_restarts=1, raw_samples=16, mc_samples=32, max_iterations=10)


def test_a_budget_cuts_the_last_batch_and_counts_every_call(tmp_path: Path) -> None:
    config = BOConfig(trials=1, iterations=99, batch_size=3, attempts=4, seed=1, acquisition=CHEAP, budget=7)
    results = run_optimization(FakeModel(), build_objective("expr"), tmp_path / "run", config, target="expr")
    records = read_records(tmp_path / "run" / "trial_1" / EVALUATIONS_FILE)
    assert [sum(r["iteration"] == i for r in records) for i in (1, 2, 3)] == [3, 3, 1] and len(records) == 7
    trial = results["trials"]["1"]
    assert trial["n_calls"] == 7 and results["aggregate"]["budget"] == 7
    assert trial["n_duplicates"] == sum(r["duplicate"] for r in records)
    assert trial["best"] == min(r["score"] for r in records if r["valid"])
    top = results["aggregate"]["top3"][0]
    # the fake model decodes only training strings: every best string is a rediscovery, and says so
    assert top["rediscovery"] is True and "yes: a rediscovery" in (tmp_path / "run" / "table.md").read_text()


def test_turbo_resumed_mid_batch_continues_with_the_uninterrupted_trust_region(tmp_path: Path) -> None:
    config = BOConfig(trials=1, iterations=4, batch_size=3, attempts=4, seed=2, strategy="turbo", surrogate="local",
                      local_points=20, local_best=5)
    reference = tmp_path / "reference"
    run_optimization(FakeModel(), build_objective("expr"), reference, config, target="expr")
    # interrupt (like Ctrl-C) while scoring the first new string of the first batch after iteration 2 that has one
    scored = [r for r in read_records(reference / "trial_1" / EVALUATIONS_FILE) if not r["duplicate"]]
    target = next(n for n, r in enumerate(scored) if r["iteration"] >= 3)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):  # the 36 training strings are scored first
        run_optimization(FakeModel(), InterruptingObjective(36 + target + 1), out, config, target="expr")
    assert len(read_records(out / "trial_1" / EVALUATIONS_FILE)) < 12
    run_optimization(FakeModel(), InterruptingObjective(None), out, config, target="expr", resume=True)
    keys = [(r["iteration"], r["index"]) for r in read_records(out / "trial_1" / EVALUATIONS_FILE)]
    assert len(keys) == len(set(keys)) == 12
    for iteration in (2, 3, 4):  # the trust region replayed from the records is the uninterrupted run's
        mine = json.loads((out / "trial_1" / f"candidates_{iteration}.json").read_text())["surrogate_metrics"]
        theirs = json.loads((reference / "trial_1" / f"candidates_{iteration}.json").read_text())["surrogate_metrics"]
        for key in ("tr_length", "tr_successes", "tr_failures", "tr_restarts"):
            assert mine[key] == theirs[key], (iteration, key)
    assert json.loads((out / "run.json").read_text())["surrogate"] == "local"  # as configured


def test_a_complete_trial_is_not_replayed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # e.g. the process that collects the results after its workers ran the trials: replaying a finished
    # trial would rebuild the strategy and redo every retraining round's re-encoding for nothing
    import lsbo.bo.trial as trial_module

    config = BOConfig(trials=2, iterations=2, batch_size=3, attempts=4, seed=3, strategy="turbo", surrogate="local",
                      local_points=20, local_best=5)
    first = run_optimization(FakeModel(), build_objective("expr"), tmp_path / "run", config, target="expr")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a complete trial was replayed")

    monkeypatch.setattr(trial_module, "strategy_for", refuse)
    monkeypatch.setattr(trial_module, "_retrain", refuse)
    again = run_optimization(FakeModel(), build_objective("expr"), tmp_path / "run", config, target="expr", resume=True)
    assert again["trials"] == first["trials"] and again["aggregate"] == first["aggregate"]


@pytest.mark.parametrize("strategy", ["protocol", "turbo"])
def test_a_resumed_trial_re_encodes_only_the_last_retraining_rounds_latent_space(
    strategy: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Replaying stored batches through several retraining rounds re-encoded the training set once per
    # round (about 20 s each on the 100k expressions), although only the last round's latents are used.
    import shutil

    import lsbo.bo.trial as trial_module
    import lsbo.models

    def fine_tune(model: object, strings: list, targets: list, out_dir: Path, options: object, *, seed: int) -> Path:
        Path(out_dir).mkdir(parents=True, exist_ok=True)  # the fake model has nothing to train
        return Path(out_dir)

    monkeypatch.setattr(trial_module, "fine_tune", fine_tune)
    monkeypatch.setattr(lsbo.models, "load_model", lambda model_dir, device=None: FakeModel(model_dir))
    encoded: list[int] = []
    encode_round = trial_module._encode_round

    def counting(ctx: object, data: object, pending: trial_module.PendingEncoding, number: int) -> object:
        encoded.append(pending.round_)
        return encode_round(ctx, data, pending, number)  # type: ignore[arg-type]

    monkeypatch.setattr(trial_module, "_encode_round", counting)
    settings = {"acquisition": CHEAP} if strategy == "protocol" else {"surrogate": "local", "local_points": 20, "local_best": 5}
    config = BOConfig(trials=1, iterations=7, batch_size=3, attempts=4, seed=4, strategy=strategy,
                      retrain=RetrainOptions(every=6), **settings)  # type: ignore[arg-type]
    reference = tmp_path / "reference"
    run_optimization(FakeModel(), build_objective("expr"), reference, config, target="expr")
    assert encoded == [1, 2, 3]  # a round after every second batch (not after the last), each re-encoded once
    # a run killed after iteration 5's batch was scored, before iteration 6 was proposed: rounds 1-2 are
    # done, and iteration 5's batch, in round 2's latent space, must reach the strategy after its re-encoding
    out = tmp_path / "run"
    shutil.copytree(reference, out)
    trial = out / "trial_1"
    lines = (trial / EVALUATIONS_FILE).read_text().splitlines(keepends=True)
    (trial / EVALUATIONS_FILE).write_text("".join(lines[:15]))
    shutil.rmtree(trial / "retrain_3")
    for name in ("candidates_6.json", "candidates_7.json", "results.json", "table.md"):
        for path in [trial / name, out / name]:
            path.unlink(missing_ok=True)
    encoded.clear()
    run_optimization(FakeModel(), build_objective("expr"), out, config, target="expr", resume=True)
    assert encoded == [2, 3]  # round 1 only replayed stored batches: its latents were never needed
    for iteration in (6, 7):  # the proposals after the replay are the uninterrupted run's
        mine = json.loads((trial / f"candidates_{iteration}.json").read_text())
        theirs = json.loads((reference / "trial_1" / f"candidates_{iteration}.json").read_text())
        # the protocol refits its GP from scratch, so its proposals are the same points; turbo's warm-started
        # GP restarts cold after a resume (lsbo.bo.strategies), so for it the trust region is what must match
        if strategy == "protocol":
            assert mine["latents"] == theirs["latents"], iteration
        else:
            for key in ("tr_length", "tr_successes", "tr_failures"):
                assert mine["surrogate_metrics"][key] == theirs["surrogate_metrics"][key], (iteration, key)
        assert mine["surrogate_metrics"]["n_train"] == theirs["surrogate_metrics"]["n_train"], iteration
        assert Path(mine["model_dir"]).name == Path(theirs["model_dir"]).name == f"retrain_{(iteration - 1) // 2}"

    def without_clock(path: Path) -> list[dict]:
        return [{k: v for k, v in r.items() if k not in ("time", "seconds")} for r in read_records(path)]

    mine, theirs = without_clock(trial / EVALUATIONS_FILE), without_clock(reference / "trial_1" / EVALUATIONS_FILE)
    assert len(mine) == len(theirs) == 21 and mine[:15] == theirs[:15]
    assert strategy != "protocol" or mine == theirs


def test_resuming_with_another_strategy_or_budget_is_refused(tmp_path: Path) -> None:
    from lsbo.errors import ConfigError

    config = BOConfig(trials=1, iterations=1, batch_size=2, attempts=2, seed=0, acquisition=CHEAP)
    run_optimization(FakeModel(), build_objective("expr"), tmp_path / "run", config, target="expr")
    for changed in (BOConfig(**{**config.__dict__, "strategy": "turbo", "acquisition": AcquisitionOptions()}),
                    BOConfig(**{**config.__dict__, "budget": 5})):
        with pytest.raises(ConfigError, match="differ"):
            run_optimization(FakeModel(), build_objective("expr"), tmp_path / "run", changed, target="expr", resume=True)


def test_a_new_strategy_is_one_registered_class(tmp_path: Path) -> None:
    import torch

    from lsbo.bo.strategies import STRATEGIES, Observations, Proposal, Strategy, register_strategy

    @register_strategy
    class UniformInTheBox(Strategy):
        """Uniform random points in the search box, and a count of the batches it was shown."""

        name = "uniform-test"
        acquisitions = ("none",)
        surrogates = ("none",)

        def start(self, initial: Observations) -> None:
            self.batches_seen = 0

        def propose(self, observations: Observations, q: int, seed: int) -> Proposal:
            generator = torch.Generator().manual_seed(seed)
            lower, upper = observations.bounds
            latents = lower + (upper - lower) * torch.rand(q, lower.shape[0], generator=generator, dtype=torch.float64)
            return Proposal(latents, {"surrogate": "none", "n_train": 0, "fit_seconds": 0.0, "acquisition_seconds": 0.0,
                                      "batches_seen": self.batches_seen})

        def observe(self, x: torch.Tensor, y: torch.Tensor) -> None:
            self.batches_seen += 1

    try:
        config = BOConfig(trials=1, iterations=3, batch_size=2, attempts=2, seed=0, strategy="uniform-test")
        results = run_optimization(FakeModel(), build_objective("expr"), tmp_path / "run", config, target="expr")
        assert results["trials"]["1"]["n_calls"] == 6 and results["settings"]["strategy"] == "uniform-test"
        seen = [json.loads((tmp_path / "run" / "trial_1" / f"candidates_{i}.json").read_text())["surrogate_metrics"]["batches_seen"]
                for i in (1, 2, 3)]
        assert seen == [0, 1, 2]  # observe() was called after each scored batch
    finally:
        STRATEGIES.remove("uniform-test")


@pytest.mark.parametrize(("changes", "message"), [
    ({"strategy": "tubro"}, "strategy 'tubro': expected one of protocol, turbo"),
    ({"budget": 0}, "budget must be at least 1"),
    ({"strategy": "turbo", "acquisition": AcquisitionOptions(name="qei2")}, "acquisition.name 'qei2' with strategy turbo"),
    ({"acquisition": AcquisitionOptions(name="ts")}, "acquisition.name 'ts' with strategy protocol"),
    ({"strategy": "turbo", "surrogate": "global"}, "surrogate 'global' with strategy turbo"),
    ({"surrogate": "local"}, "surrogate 'local' with strategy protocol"),
    ({"retrain": RetrainOptions(every=0)}, "retrain.every must be at least 1"),
    ({"retrain": RetrainOptions(every=5, rank_k=-1.0)}, "retrain.rank_k must be positive"),
    ({"strategy": "turbo", "local_points": 0}, "local_points must be at least 1"),
    ({"n_inducing": 0}, "n_inducing must be at least 1"),
    ({"novel_only": True}, "novel_only needs points ranked beyond the batch, which strategy protocol with acquisition.name qlogei"),
    ({"novel_only": True, "strategy": "turbo", "acquisition": AcquisitionOptions(name="qei")},
     "novel_only needs points ranked beyond the batch, which strategy turbo with acquisition.name qei does not give"),
])
def test_bad_settings_are_one_line_errors_naming_the_parameter(changes: dict, message: str) -> None:
    from lsbo.errors import ConfigError

    with pytest.raises(ConfigError, match="^" + re.escape(message)) as caught:
        BOConfig(**changes).resolved()
    leading = caught.value.parameter if isinstance(caught.value.parameter, str) else caught.value.parameter[0]
    assert message.startswith(leading + " ")


def test_resolved_fills_in_the_strategy_defaults() -> None:
    turbo = BOConfig(strategy="turbo").resolved()
    assert (turbo.surrogate, turbo.acquisition.name) == ("auto", "ts")
    protocol = BOConfig().resolved()
    assert (protocol.surrogate, protocol.acquisition.name) == ("auto", "qlogei")
    assert BOConfig(budget=120, batch_size=50).layout == (3, 50) and BOConfig(iterations=5, batch_size=50).layout == (5, 50)


class HalfKnownModel(FakeModel):
    """The fake grid model trained on every other one of its 36 strings: the other 18 are new strings
    between them (the search box, the training latents' box, is the whole grid)."""

    def training_strings(self) -> list[str]:
        return list(self.strings[::2])

    def encode(self, strings):
        z, ok = super().encode(strings)
        known = set(self.strings[::2])
        return z, ok & [s in known for s in strings]


def test_novel_only_spends_the_calls_on_new_strings(tmp_path: Path) -> None:
    known = set(FakeModel().strings[::2])
    runs = {}
    for novel_only in (False, True):
        config = BOConfig(trials=1, batch_size=4, budget=16, attempts=2, seed=3, strategy="turbo", surrogate="exact",
                          novel_only=novel_only)
        out = tmp_path / f"novel-{novel_only}"
        run_optimization(HalfKnownModel(), build_objective("expr"), out, config, target="expr")
        records = read_records(out / "trial_1" / EVALUATIONS_FILE)
        batches = [json.loads((out / "trial_1" / f"candidates_{i}.json").read_text()) for i in range(1, 5)]
        runs[novel_only] = (records, batches)
        assert len(records) == 16
    plain_records, plain_batches = runs[False]
    novel_records, novel_batches = runs[True]
    wasted = lambda records: sum(1 for r in records if r["string"] in known or r["duplicate"])  # noqa: E731
    assert wasted(plain_records) > 0  # without the option the trust region re-finds known strings
    # with it, a call goes to a known string only where the reserve had nothing new to offer, and says so
    unreplaced = sum(b["surrogate_metrics"]["novel_unreplaced"] for b in novel_batches)
    assert wasted(novel_records) == unreplaced < wasted(plain_records)
    assert sum(b["surrogate_metrics"]["novel_replaced"] for b in novel_batches) > 0
    assert all("novel_replaced" not in b["surrogate_metrics"] for b in plain_batches)
    # the stored batch is the one evaluated: each record's string and latent are its candidate's
    for record in novel_records:
        batch = novel_batches[record["iteration"] - 1]
        assert record["string"] == batch["strings"][record["index"]] and record["latent"] == batch["latents"][record["index"]]


def test_replace_known_takes_the_first_new_reserve_points_in_order() -> None:
    import torch

    from lsbo.bo.loop import replace_known

    class Candidate:
        def __init__(self, string):
            self.string = string

    names = {0: "a", 1: "b", 2: None, 3: "c", 4: "a", 5: "d", 6: "e"}  # latent row value -> decoded string
    decode = lambda latents: [Candidate(names[int(v)]) for v in latents[:, 0]]  # noqa: E731
    latents = torch.tensor([[0.0], [1.0], [2.0], [4.0]])  # strings a (known), b, None, a (known)
    reserve = torch.tensor([[4.0], [3.0], [1.0], [5.0], [6.0]])  # a (known), c, b (in the batch), d, e
    chosen, decoded, counts = replace_known(latents.clone(), decode(latents), reserve, {"a"}.__contains__, decode)
    assert [c.string for c in decoded] == ["c", "b", None, "d"]  # the invalid point is kept: it is a call either way
    assert chosen[:, 0].tolist() == [3.0, 1.0, 2.0, 5.0]
    assert counts == {"novel_replaced": 2, "novel_unreplaced": 0, "reserve_decoded": 4}
    _, decoded, counts = replace_known(latents.clone(), decode(latents), reserve[:1], {"a"}.__contains__, decode)
    assert [c.string for c in decoded] == ["a", "b", None, "a"] and counts["novel_unreplaced"] == 2
