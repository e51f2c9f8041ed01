"""Penalized logP, the molecule objective of the Grammar VAE line of work (docs/protocols.md §3).

For a valid molecule the three components are

- ``logp``: Wildman-Crippen logP (RDKit ``Crippen.MolLogP``),
- ``sa``: the synthetic-accessibility score of Ertl & Schuffenhauer (RDKit Contrib ``sascorer``;
  1 = easy, 10 = hard),
- ``cycle``: ``max(0, L - 6)`` where ``L`` is the length of the longest cycle in the cycle basis
  networkx computes for the molecular graph (``networkx.cycle_basis`` of the graph of RDKit's
  adjacency matrix; 0 without rings). This is how the public code of the Grammar VAE, JT-VAE,
  weighted-retraining and LOL-BO computes it; it is not always RDKit's largest SSSR ring (bridged
  systems such as adamantane have an 8-cycle in that basis), see ``docs/objectives.md``.

Three targets are built from them (:func:`lsbo.objectives.build_objective`):

- ``logp`` (the default, the unit of the paper's Tables 2 and 3 and of the works it compares
  against): ``(logp - m_logp)/s_logp - (sa - m_sa)/s_sa - (cycle - m_cycle)/s_cycle`` with the
  fixed ZINC250k constants :data:`ZINC250K` (:data:`CONSTANT_SETS` holds the other published sets);
- ``logp-dataset``: the same with the mean and standard deviation over the model's own training
  set (:func:`penalized_logp_statistics`, stored with the model as ``data_stats["penalized_logp"]``);
- ``logp-raw``: ``logp - sa - cycle`` unstandardised (the unit of JT-VAE's and later tables).

Higher is better for all three. Their numbers are in different units and never share a table.
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Any

import numpy as np

from lsbo.components import DATASET_STATISTICS
from lsbo.errors import ObjectiveError
from lsbo.objectives.base import ItemwiseObjective

STATISTIC_KEYS = ("logp_mean", "logp_std", "sa_mean", "sa_std", "cycle_mean", "cycle_std")


@lru_cache(maxsize=1)
def _sascorer() -> ModuleType:
    """Load RDKit's Contrib ``sascorer`` module from the installed RDKit (it ships with the wheel)."""
    from rdkit.Chem import RDConfig

    path = os.path.join(RDConfig.RDContribDir, "SA_Score", "sascorer.py")
    if not os.path.isfile(path):
        raise ObjectiveError(f"penalized logP needs RDKit's Contrib SA_Score/sascorer.py, not found at {path}")
    spec = importlib.util.spec_from_file_location("lsbo_rdkit_sascorer", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _molecule(smiles: str) -> Any | None:
    """RDKit molecule of ``smiles``, or ``None`` when RDKit rejects it (quietly)."""
    from rdkit import Chem, RDLogger

    if not smiles:
        return None
    RDLogger.DisableLog("rdApp.*")
    try:
        return Chem.MolFromSmiles(smiles)
    finally:
        RDLogger.EnableLog("rdApp.*")


def largest_ring_size(mol: Any) -> int:
    """Length of the longest cycle in networkx's cycle basis of the molecular graph; 0 when acyclic.

    The basis is ``networkx.cycle_basis`` of the undirected graph of RDKit's adjacency matrix
    (atoms in RDKit's order), as in the public code of the Grammar VAE and the works after it.
    """
    import networkx as nx
    from rdkit.Chem import rdmolops

    cycles = nx.cycle_basis(nx.from_numpy_array(rdmolops.GetAdjacencyMatrix(mol)))
    return max((len(cycle) for cycle in cycles), default=0)


@dataclass(frozen=True)
class StandardisationConstants:
    """Fixed means and standard deviations of the three components (a published set)."""

    name: str
    logp_mean: float
    logp_std: float
    sa_mean: float
    sa_std: float
    cycle_mean: float
    cycle_std: float
    source: str

    def as_statistics(self) -> dict[str, float]:
        return {key: float(getattr(self, key)) for key in STATISTIC_KEYS}


# The sets as they appear in public code (their code standardises -SA and -cycle, so it writes the
# SA and cycle means with a minus sign; here they are the means of SA and cycle themselves).
ZINC250K = StandardisationConstants(
    "zinc250k", 2.4570953396190123, 1.434324401111988, 3.0525811293166134, 0.8335207024513095,
    0.0485696876403053, 0.2860212110245455,
    source="statistics of the full ZINC250k file of Kusner et al. 2017 (250k_rndm_zinc_drugs_clean.smi), "
    "the file over which the Grammar VAE code computes them at run time; hard-coded in this form by "
    "You et al. 2018 (GCPN) and the graph-generation works after it",
)
ZINC250K_JTVAE_TRAIN = StandardisationConstants(
    "zinc250k-jtvae-train", 2.4577998006008803, 1.4334180962410332, 3.0535377758058795, 0.834614385518919,
    0.04829303989345987, 0.28775759686956115,
    source="statistics of the JT-VAE training split of ZINC250k (zinc/train.txt), over which JT-VAE's "
    "Bayesian-optimisation scripts compute them at run time",
)
WEIGHTED_RETRAINING = StandardisationConstants(
    "weighted-retraining", 2.45777691, 1.43341767, 3.05352042, 0.83460587, 0.04861121, 0.28746695,
    source="the eight-digit constants hard-coded by weighted retraining (Tripp et al. 2020) and copied by "
    "LOL-BO (Maus et al. 2022); within 3e-4 of zinc250k-jtvae-train, identical to neither set",
)
CONSTANT_SETS: dict[str, StandardisationConstants] = {
    c.name: c for c in (ZINC250K, ZINC250K_JTVAE_TRAIN, WEIGHTED_RETRAINING)
}

#: Units of the three penalized-logP targets (the names ``table.md`` prints).
UNITS = {
    "logp": f"penalized logP standardised with the fixed ZINC250k constants '{ZINC250K.name}' (docs/objectives.md)",
    "logp-dataset": "penalized logP standardised with the model's training-set statistics",
    "logp-raw": "penalized logP unstandardised (logP - SA - cycle)",
}
RING_DEFINITION = "networkx-cycle-basis"


@dataclass(frozen=True)
class PenalizedLogPComponents:
    """The unstandardised components of penalized logP for one molecule."""

    logp: float
    sa: float
    cycle: float

    @property
    def raw_score(self) -> float:
        """``logp - sa - cycle`` without standardisation (the unit other works report)."""
        return self.logp - self.sa - self.cycle


def penalized_logp_components(smiles: str) -> PenalizedLogPComponents | None:
    """logP, SA score and cycle penalty of ``smiles``; ``None`` if RDKit cannot parse it."""
    from rdkit.Chem import Crippen

    mol = _molecule(smiles)
    if mol is None:
        return None
    return PenalizedLogPComponents(
        logp=float(Crippen.MolLogP(mol)),
        sa=float(_sascorer().calculateScore(mol)),
        cycle=float(max(0, largest_ring_size(mol) - 6)),
    )


@DATASET_STATISTICS.register("penalized_logp")
def penalized_logp_statistics(smiles: Sequence[str]) -> dict[str, float]:
    """Mean and (population) standard deviation of each component over the valid molecules.

    Returns ``{logp_mean, logp_std, sa_mean, sa_std, cycle_mean, cycle_std, n_molecules}`` and
    ``ring_definition`` (how the cycle term was computed, so that statistics stored with an older
    model, computed with RDKit's SSSR rings, are recognised). A component with zero spread (e.g. no
    macrocycle in a small set) gets std 1.0 so standardisation never divides by 0.
    """
    components = [c for c in (penalized_logp_components(s) for s in smiles) if c is not None]
    if not components:
        raise ObjectiveError("penalized logP statistics: none of the given SMILES is a valid molecule")
    table = np.array([[c.logp, c.sa, c.cycle] for c in components], dtype=np.float64)
    means, stds = table.mean(axis=0), table.std(axis=0)
    stds = np.where(stds > 0, stds, 1.0)
    return {
        "logp_mean": float(means[0]), "logp_std": float(stds[0]),
        "sa_mean": float(means[1]), "sa_std": float(stds[1]),
        "cycle_mean": float(means[2]), "cycle_std": float(stds[2]),
        "n_molecules": float(len(components)),
        "ring_definition": RING_DEFINITION,
    }


def statistics_are_current(stats: Mapping[str, Any] | None) -> bool:
    """Whether stored statistics were computed with this module's cycle term."""
    return bool(stats) and stats.get("ring_definition") == RING_DEFINITION


def standardized_score(components: PenalizedLogPComponents, stats: Mapping[str, float]) -> float:
    """``logP_std - SA_std - cycle_std`` with the means and standard deviations ``stats``."""
    return (
        (components.logp - stats["logp_mean"]) / stats["logp_std"]
        - (components.sa - stats["sa_mean"]) / stats["sa_std"]
        - (components.cycle - stats["cycle_mean"]) / stats["cycle_std"]
    )


class PenalizedLogP(ItemwiseObjective):
    """Standardised penalized logP (maximise); ``None`` for strings RDKit cannot parse.

    Args:
        stats: the six means and standard deviations (:data:`STATISTIC_KEYS`); default the fixed
            :data:`ZINC250K` constants.
        name: the target's name, ``logp`` (fixed constants) or ``logp-dataset`` (training-set
            statistics); it selects :attr:`unit`.
    """

    name = "logp"
    maximize = True

    def __init__(self, stats: Mapping[str, float] | None = None, *, name: str = "logp") -> None:
        stats = ZINC250K.as_statistics() if stats is None else stats
        missing = [k for k in STATISTIC_KEYS if k not in stats]
        if missing:
            raise ObjectiveError(f"penalized logP statistics are missing {', '.join(missing)}")
        bad = [k for k in STATISTIC_KEYS if not math.isfinite(float(stats[k])) or (k.endswith("_std") and float(stats[k]) <= 0)]
        if bad:
            raise ObjectiveError(f"penalized logP statistics have invalid values for {', '.join(bad)}")
        if name not in ("logp", "logp-dataset"):
            raise ObjectiveError(f"penalized logP: name {name!r} is neither logp nor logp-dataset")
        self.stats = {k: float(stats[k]) for k in STATISTIC_KEYS}
        self.name = name
        self.unit = UNITS[name]

    def score(self, string: str) -> float | None:
        components = penalized_logp_components(string)
        return None if components is None else standardized_score(components, self.stats)

    def is_valid(self, string: str) -> bool:
        return _molecule(string) is not None


class RawPenalizedLogP(ItemwiseObjective):
    """Unstandardised penalized logP ``logp - sa - cycle`` (maximise); ``None`` for invalid SMILES."""

    name = "logp-raw"
    maximize = True
    unit = UNITS["logp-raw"]

    def score(self, string: str) -> float | None:
        components = penalized_logp_components(string)
        return None if components is None else components.raw_score

    def is_valid(self, string: str) -> bool:
        return _molecule(string) is not None
