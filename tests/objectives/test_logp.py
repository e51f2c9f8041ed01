"""Penalized logP against direct RDKit computations on known molecules."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import Crippen, rdmolops

from lsbo.errors import ObjectiveError
from lsbo.objectives import build_objective
from lsbo.objectives.logp import (
    PenalizedLogP,
    largest_ring_size,
    penalized_logp_components,
    penalized_logp_statistics,
)

MOLECULES = ["c1ccccc1", "C1CCCCCCC1", "CCN(Cc1ccc(OC)c(OC)c1)C(=O)c1ccsc1", "CC(=O)Oc1ccccc1C(=O)O", "CCO"]


@pytest.mark.parametrize("smiles", MOLECULES)
def test_components_match_direct_rdkit(smiles: str, reference_sascorer) -> None:
    mol = Chem.MolFromSmiles(smiles)
    components = penalized_logp_components(smiles)
    assert components is not None
    assert components.logp == pytest.approx(Crippen.MolLogP(mol))
    assert components.sa == pytest.approx(reference_sascorer.calculateScore(mol))
    cycles = nx.cycle_basis(nx.Graph(rdmolops.GetAdjacencyMatrix(mol)))
    assert components.cycle == max(0, max((len(c) for c in cycles), default=0) - 6)


def test_cycle_penalty_on_known_rings() -> None:
    assert penalized_logp_components("c1ccccc1").cycle == 0  # benzene: 6-ring, no penalty
    assert penalized_logp_components("C1CCCCCCC1").cycle == 2  # cyclooctane: 8 - 6
    assert penalized_logp_components("CCCC").cycle == 0  # acyclic
    # naphthalene: two fused 6-rings; the cycle basis has 6-rings, not the 10-atom perimeter
    assert largest_ring_size(Chem.MolFromSmiles("c1ccc2ccccc2c1")) == 6
    # adamantane: RDKit's smallest rings are 6-rings, networkx's cycle basis (the literature's) has an 8-cycle
    assert largest_ring_size(Chem.MolFromSmiles("NC12CC3CC(CC(C3)C1)C2")) == 8


def test_invalid_smiles_has_no_components_and_no_score() -> None:
    assert penalized_logp_components("C1CC") is None  # unclosed ring
    assert penalized_logp_components("") is None
    objective = PenalizedLogP({"logp_mean": 0, "logp_std": 1, "sa_mean": 0, "sa_std": 1, "cycle_mean": 0, "cycle_std": 1})
    assert objective(["C1CC", "c1ccccc1"])[0] is None
    assert not objective.is_valid("C1CC") and objective.is_valid("CCO")
    assert build_objective("logp-raw")(["C1CC"]) == [None]


def test_statistics_and_standardisation_arithmetic() -> None:
    stats = penalized_logp_statistics(MOLECULES + ["not a molecule"])
    rows = np.array([[c.logp, c.sa, c.cycle] for c in map(penalized_logp_components, MOLECULES)])
    assert stats["n_molecules"] == len(MOLECULES)
    assert stats["logp_mean"] == pytest.approx(rows[:, 0].mean())
    assert stats["sa_std"] == pytest.approx(rows[:, 1].std())
    assert stats["cycle_mean"] == pytest.approx(rows[:, 2].mean())
    objective = PenalizedLogP(stats)
    c = penalized_logp_components("C1CCCCCCC1")
    expected = (
        (c.logp - rows[:, 0].mean()) / rows[:, 0].std()
        - (c.sa - rows[:, 1].mean()) / rows[:, 1].std()
        - (c.cycle - rows[:, 2].mean()) / rows[:, 2].std()
    )
    assert objective(["C1CCCCCCC1"])[0] == pytest.approx(expected)
    assert objective.maximize


def test_zero_spread_component_gets_unit_std() -> None:
    stats = penalized_logp_statistics(["CCO", "CCCO"])  # no rings: cycle std would be 0
    assert stats["cycle_std"] == 1.0 and math.isfinite(PenalizedLogP(stats)(["CCO"])[0])


def test_bad_statistics_and_missing_model_are_one_line_errors() -> None:
    with pytest.raises(ObjectiveError, match="missing"):
        PenalizedLogP({"logp_mean": 0.0})
    with pytest.raises(ObjectiveError, match="^target logp-dataset needs a trained molecule model"):
        build_objective("logp-dataset")
    with pytest.raises(ObjectiveError, match="none of the given SMILES"):
        penalized_logp_statistics(["((("])


def test_logp_dataset_uses_current_model_statistics() -> None:
    stats = {"logp_mean": 1, "logp_std": 2, "sa_mean": 3, "sa_std": 4, "cycle_mean": 0, "cycle_std": 1}

    class FakeModel:
        data_stats = {"penalized_logp": {**stats, "ring_definition": "networkx-cycle-basis"}}

    objective = build_objective("logp-dataset", model=FakeModel())
    c = penalized_logp_components("CCO")
    assert objective.name == "logp-dataset"
    assert objective(["CCO"])[0] == pytest.approx((c.logp - 1) / 2 - (c.sa - 3) / 4 - c.cycle)


def test_logp_dataset_recomputes_statistics_of_the_older_ring_term() -> None:
    class OldModel:  # statistics stored before the cycle term followed networkx (no ring_definition)
        data_stats = {"penalized_logp": {"logp_mean": 1, "logp_std": 2, "sa_mean": 3, "sa_std": 4, "cycle_mean": 0, "cycle_std": 1}}

        def training_strings(self):
            return MOLECULES

    objective = build_objective("logp-dataset", model=OldModel())
    assert objective.stats == {k: v for k, v in penalized_logp_statistics(MOLECULES).items() if k in objective.stats}
