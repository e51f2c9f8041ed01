"""Penalized logP against golden values for known molecules, in the literature's three forms.

The reference numbers below were computed once, independently of lsbo, with RDKit 2026.09.1 and
networkx 3.6.1 (``Crippen.MolLogP``; ``calculateScore`` of RDKit's Contrib ``SA_Score/sascorer.py``;
the longest cycle of ``networkx.cycle_basis(networkx.Graph(rdmolops.GetAdjacencyMatrix(mol)))``),
the way the public code of the Grammar VAE, JT-VAE, weighted retraining and LOL-BO computes them.
Each test also recomputes them directly from those three libraries, so that a change of library
version shows up as a disagreement with the hard-coded numbers rather than passing silently.
Three molecules (adamantane, julolidine, tropane) are where the cycle basis and RDKit's smallest
rings disagree (SSSR largest rings 6, 6 and 7).
"""

from __future__ import annotations

import networkx as nx
import pytest
from rdkit import Chem
from rdkit.Chem import Crippen, rdmolops

from lsbo.objectives import build_objective, target_unit
from lsbo.objectives.logp import CONSTANT_SETS, PenalizedLogP, penalized_logp_components

# name, SMILES, Crippen logP, SA score, longest cycle of the networkx cycle basis
GOLDEN = [
    ("ethanol", "CCO", -0.0014, 1.9802570386349831, 0),
    ("benzene", "c1ccccc1", 1.6866, 1.0, 6),
    ("naphthalene", "c1ccc2ccccc2c1", 2.8398, 1.0, 6),
    ("cyclooctane", "C1CCCCCCC1", 3.1208, 1.0, 8),
    ("cyclododecane", "C1CCCCCCCCCCC1", 4.6812, 1.0, 12),
    ("aspirin", "CC(=O)Oc1ccccc1C(=O)O", 1.3101, 1.580039750008826, 6),
    ("caffeine", "Cn1cnc2c1c(=O)n(C)c(=O)n2C", -1.0293, 2.29798245679401, 6),
    ("adamantan-1-amine", "NC12CC3CC(CC(C3)C1)C2", 1.9139, 3.899304476916332, 8),
    ("julolidine amine (ZINC subset)", "Nc1cc2c3c(c1)CCC[NH+]3CCC2", 0.6776, 4.330472705767184, 12),
    ("tropane urea (ZINC subset)", "C[NH+]1[C@H]2CC[C@@H]1CN(C(=O)NCCc1cccc(F)c1)CC2", 0.8292, 4.84549299457138, 8),
    ("ZINC subset, line 1", "CCN(Cc1ccc(OC)c(OC)c1)C(=O)c1ccsc1", 3.4276, 2.006268392270501, 6),
    ("ibuprofen", "CC(C)Cc1ccc(cc1)C(C)C(=O)O", 3.0732, 2.1917554204925054, 6),
]

# The fixed constants as published: (logP mean, sd; SA mean, sd; cycle mean, sd).
PUBLISHED = {
    "zinc250k": (2.4570953396190123, 1.434324401111988, 3.0525811293166134, 0.8335207024513095, 0.0485696876403053, 0.2860212110245455),
    "zinc250k-jtvae-train": (2.4577998006008803, 1.4334180962410332, 3.0535377758058795, 0.834614385518919, 0.04829303989345987, 0.28775759686956115),
    "weighted-retraining": (2.45777691, 1.43341767, 3.05352042, 0.83460587, 0.04861121, 0.28746695),
}


def _direct(smiles: str, sascorer) -> tuple[float, float, int]:
    mol = Chem.MolFromSmiles(smiles)
    cycles = nx.cycle_basis(nx.Graph(rdmolops.GetAdjacencyMatrix(mol)))
    return Crippen.MolLogP(mol), sascorer.calculateScore(mol), max((len(c) for c in cycles), default=0)


@pytest.mark.parametrize("name, smiles, logp, sa, longest_cycle", GOLDEN, ids=[row[0] for row in GOLDEN])
def test_components_equal_the_golden_and_the_direct_values(name, smiles, logp, sa, longest_cycle, reference_sascorer) -> None:
    direct = _direct(smiles, reference_sascorer)
    assert direct == pytest.approx((logp, sa, longest_cycle), abs=1e-9)
    components = penalized_logp_components(smiles)
    assert (components.logp, components.sa) == pytest.approx((logp, sa), abs=1e-9)
    assert components.cycle == max(0, longest_cycle - 6)


@pytest.mark.parametrize("name, smiles, logp, sa, longest_cycle", GOLDEN, ids=[row[0] for row in GOLDEN])
def test_the_three_targets_on_golden_molecules(name, smiles, logp, sa, longest_cycle) -> None:
    cycle = max(0, longest_cycle - 6)
    m_logp, s_logp, m_sa, s_sa, m_cycle, s_cycle = PUBLISHED["zinc250k"]
    expected = (logp - m_logp) / s_logp - (sa - m_sa) / s_sa - (cycle - m_cycle) / s_cycle
    assert build_objective("logp")([smiles])[0] == pytest.approx(expected, abs=1e-9)
    assert build_objective("logp-raw")([smiles])[0] == pytest.approx(logp - sa - cycle, abs=1e-9)


def test_known_scores_by_hand() -> None:
    # benzene: logP 1.6866, SA 1, no cycle penalty -> raw 0.6866;
    # standardised: (1.6866 - 2.45710)/1.43432 - (1 - 3.05258)/0.83352 + 0.04857/0.28602
    #             = -0.53719 + 2.46255 + 0.16981 = 2.0952
    assert build_objective("logp-raw")(["c1ccccc1"])[0] == pytest.approx(0.6866, abs=1e-9)
    assert build_objective("logp")(["c1ccccc1"])[0] == pytest.approx(2.0952, abs=1e-4)
    # cyclododecane: a 12-ring, cycle penalty 6 -> raw 4.6812 - 1 - 6
    assert build_objective("logp-raw")(["C1CCCCCCCCCCC1"])[0] == pytest.approx(-2.3188, abs=1e-9)


def test_a_published_score() -> None:
    # The best molecule JT-VAE's Bayesian optimisation found (Jin et al. 2018, first of their best
    # three, 5.30); the penalized-logP function of the authors' later hgraph2graph code prints 5.30
    # for it with the zinc250k constants and the networkx cycle basis.
    best_jtvae = "ClC1=CC=C2C(C=C(C(C)=O)C(C(NC3=CC(NC(NC4=CC(C5=C(C)C=CC=C5)=CC=C4)=O)=CC=C3)=O)=C2)=C1"
    assert round(build_objective("logp")([best_jtvae])[0], 2) == 5.30


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_constant_sets_are_the_published_ones(name: str) -> None:
    c = CONSTANT_SETS[name]
    assert (c.logp_mean, c.logp_std, c.sa_mean, c.sa_std, c.cycle_mean, c.cycle_std) == PUBLISHED[name]
    score = PenalizedLogP(c.as_statistics())(["CCO"])[0]
    m_logp, s_logp, m_sa, s_sa, m_cycle, s_cycle = PUBLISHED[name]
    assert score == pytest.approx((-0.0014 - m_logp) / s_logp - (1.9802570386349831 - m_sa) / s_sa + m_cycle / s_cycle, abs=1e-9)


def test_units_name_the_form_and_the_constant_set() -> None:
    assert "zinc250k" in target_unit("logp") and "fixed" in target_unit("logp")
    assert "training-set" in target_unit("logp-dataset")
    assert "unstandardised" in target_unit("logp-raw")
    assert build_objective("logp").unit == target_unit("logp")
    assert len({target_unit(t) for t in ("logp", "logp-dataset", "logp-raw", "expr", "qed")}) == 5
