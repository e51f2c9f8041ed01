"""``budget_accounting="pmo"``: a call is a distinct valid molecule (PMO's oracle), and PMO's metrics.

A fake molecule model decodes latent points to a grid of SMILES that holds invalid strings and
other spellings of the same molecules, so a trial must propose more points than its budget, and
stop when it has scored exactly ``budget`` distinct valid molecules.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rdkit import Chem

from lsbo.bo import BOConfig, run_optimization
from lsbo.bo.acquisition import AcquisitionOptions
from lsbo.bo.metrics import PMO_CHECKPOINTS, pmo_auc
from lsbo.bo.store import EVALUATIONS_FILE, read_records
from lsbo.errors import ConfigError
from lsbo.objectives import build_objective
from lsbo.objectives.base import ItemwiseObjective
from tests.bo.fakes import FakeModel

CHEAP = AcquisitionOptions(num_restarts=1, raw_samples=16, mc_samples=32, max_iterations=10)
# 36 strings: 24 molecules spelt once, 4 spelt twice more, 4 invalid strings
MOLECULES = [
    "CCO", "OCC", "C(C)O", "c1ccccc1", "C1=CC=CC=C1", "c1ccccc1O", "Oc1ccccc1", "CC(=O)O", "OC(C)=O", "CCN", "NCC",
    "CCCC", "CC(C)C", "C1CCCCC1", "CCOC", "COC", "CN", "CCl", "CBr", "CF", "CS", "CC=O", "C=C", "C#N",
    "c1ccncc1", "CC(N)=O", "NC(=O)N", "OCCO", "xx", "C1CC", "c1cc", "((C", "CCCCO", "CCCN", "CCS", "CCF",
]
assert len(MOLECULES) == 36


class FakeMoleculeModel(FakeModel):
    kind = "molecules"

    def __init__(self, strings: list[str] = MOLECULES) -> None:
        super().__init__()
        self.strings = list(strings)


def canonical(smiles: str) -> str:
    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


def distinct_valid_in_order(records: list[dict]) -> list[tuple[str, float]]:
    seen: dict[str, float] = {}
    for record in sorted(records, key=lambda r: (r["iteration"], r["index"])):
        if record["valid"]:
            seen.setdefault(canonical(record["string"]), record["score"])
    return list(seen.items())


def test_a_trial_spends_its_budget_on_distinct_valid_molecules_and_reports_pmo_metrics(tmp_path: Path) -> None:
    config = BOConfig(trials=2, batch_size=4, budget=9, attempts=2, seed=1, acquisition=CHEAP, budget_accounting="pmo")
    out = tmp_path / "run"
    results = run_optimization(FakeMoleculeModel(), build_objective("qed"), out, config, target="qed")
    assert json.loads((out / "run.json").read_text())["budget_accounting"] == "pmo"
    for trial in ("1", "2"):
        records = read_records(out / f"trial_{trial}" / EVALUATIONS_FILE)
        molecules = distinct_valid_in_order(records)
        assert len(molecules) == 9  # exactly the budget, by canonical SMILES
        last_new = max(i for i, r in enumerate(sorted(records, key=lambda r: (r["iteration"], r["index"])))
                       if r["valid"] and canonical(r["string"]) == molecules[-1][0])
        assert last_new >= 8  # the points that cost nothing came before the last call
        summary = results["trials"][trial]
        assert summary["n_calls_pmo"] == 9
        scores = [score for _, score in molecules]
        for n in (1, 10, 100):
            assert summary[f"auc_top{n}_pmo"] == pytest.approx(pmo_auc(scores, top_n=n, budget=9), rel=1e-12)
        for calls in PMO_CHECKPOINTS:  # each beyond the 9 calls made
            assert summary[f"top1_at_{calls}_pmo"] is None
    aggregate = results["aggregate"]
    both = [results["trials"][t]["auc_top10_pmo"] for t in ("1", "2")]
    assert aggregate["auc_top10_pmo_mean"] == pytest.approx(sum(both) / 2)


def test_default_accounting_counts_every_point(tmp_path: Path) -> None:
    config = BOConfig(trials=1, batch_size=4, budget=9, attempts=2, seed=1, acquisition=CHEAP)
    results = run_optimization(FakeMoleculeModel(), build_objective("qed"), tmp_path / "run", config, target="qed")
    records = read_records(tmp_path / "run" / "trial_1" / EVALUATIONS_FILE)
    assert len(records) == 9
    assert results["trials"]["1"]["n_calls_pmo"] == len(distinct_valid_in_order(records))


class Interrupting(ItemwiseObjective):
    name, maximize = "qed", True

    def __init__(self, at: int | None) -> None:
        self.calls, self.at, self.qed = 0, at, build_objective("qed")

    def score(self, string: str) -> float | None:
        self.calls += 1
        if self.at is not None and self.calls == self.at:
            raise KeyboardInterrupt
        return self.qed([string])[0]

    def is_valid(self, string: str) -> bool:  # as qed's: it picks among a point's decodings
        return self.qed.is_valid(string)


def test_an_interrupted_pmo_run_resumes_to_the_same_records(tmp_path: Path) -> None:
    config = BOConfig(trials=1, batch_size=3, budget=7, attempts=2, seed=2, acquisition=CHEAP, budget_accounting="pmo")
    model = FakeMoleculeModel()
    n_training = len(MOLECULES)  # the initial data scores every training string first
    with pytest.raises(KeyboardInterrupt):
        run_optimization(model, Interrupting(n_training + 4), tmp_path / "run", config, target="qed")
    partial = read_records(tmp_path / "run" / "trial_1" / EVALUATIONS_FILE)
    assert partial and len(distinct_valid_in_order(partial)) < 7 and not (tmp_path / "run" / "results.json").exists()
    run_optimization(model, Interrupting(None), tmp_path / "run", config, target="qed", resume=True)
    reference = run_optimization(FakeMoleculeModel(), build_objective("qed"), tmp_path / "ref", config, target="qed")
    resumed = read_records(tmp_path / "run" / "trial_1" / EVALUATIONS_FILE)
    uninterrupted = read_records(tmp_path / "ref" / "trial_1" / EVALUATIONS_FILE)
    key = lambda r: (r["iteration"], r["index"], r["string"])  # noqa: E731
    assert sorted(map(key, resumed)) == sorted(map(key, uninterrupted))
    assert len(distinct_valid_in_order(resumed)) == 7 and reference["trials"]["1"]["n_calls_pmo"] == 7


def test_a_model_that_only_repeats_itself_ends_at_the_iteration_cap(tmp_path: Path) -> None:
    config = BOConfig(trials=1, batch_size=3, budget=3, attempts=1, seed=0, acquisition=CHEAP, budget_accounting="pmo")
    spellings = ["CCO", "OCC", "C(C)O", "C(O)C"] * 9  # one molecule
    results = run_optimization(FakeMoleculeModel(spellings), build_objective("qed"), tmp_path / "run", config, target="qed")
    records = read_records(tmp_path / "run" / "trial_1" / EVALUATIONS_FILE)
    assert max(r["iteration"] for r in records) == config.layout[0] == 20  # MAX_ITERATIONS_FACTOR x 1 batch
    assert len(records) == 3 + 19 * 2  # each batch cut to the calls left: 3, then 2 once the molecule is found
    assert results["trials"]["1"]["n_calls_pmo"] == 1


def test_unknown_accounting_is_refused_naming_the_parameter() -> None:
    with pytest.raises(ConfigError, match="budget_accounting 'tdc': expected one of points, pmo") as caught:
        BOConfig(budget_accounting="tdc").resolved()
    assert caught.value.parameter == "budget_accounting"
