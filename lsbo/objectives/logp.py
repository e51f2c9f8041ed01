"""Penalized logP, the molecule objective of the Grammar VAE experiments (docs/protocols.md §3).

For a valid molecule the three components are

- ``logp``: Wildman-Crippen logP (RDKit ``Crippen.MolLogP``),
- ``sa``: the synthetic-accessibility score of Ertl & Schuffenhauer (RDKit Contrib ``sascorer``;
  1 = easy, 10 = hard),
- ``cycle``: ``max(0, largest ring size - 6)`` over RDKit's smallest set of smallest rings (the
  cycle basis of the molecular graph), which penalises macrocycles.

Each is standardised by the mean and standard deviation over the model's training set, and the
score is ``(logp - mu_logp)/sd_logp - (sa - mu_sa)/sd_sa - (cycle - mu_cycle)/sd_cycle``; higher is
better. This is the unit of the paper's Tables 2 and 3. The statistics are computed at training time
by :func:`penalized_logp_statistics` and stored with the model as ``data_stats["penalized_logp"]``.
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
    """Size of the largest ring in RDKit's ring perception (SSSR); 0 for acyclic molecules."""
    rings = mol.GetRingInfo().AtomRings()
    return max((len(ring) for ring in rings), default=0)


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


def penalized_logp_statistics(smiles: Sequence[str]) -> dict[str, float]:
    """Mean and (population) standard deviation of each component over the valid molecules.

    Returns ``{logp_mean, logp_std, sa_mean, sa_std, cycle_mean, cycle_std}``. A component with zero
    spread (e.g. no macrocycle in a small set) gets std 1.0 so standardisation never divides by 0.
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
    }


def standardized_score(components: PenalizedLogPComponents, stats: Mapping[str, float]) -> float:
    """``logP_std - SA_std - cycle_std`` with the training-set statistics ``stats``."""
    return (
        (components.logp - stats["logp_mean"]) / stats["logp_std"]
        - (components.sa - stats["sa_mean"]) / stats["sa_std"]
        - (components.cycle - stats["cycle_mean"]) / stats["cycle_std"]
    )


class PenalizedLogP(ItemwiseObjective):
    """Standardised penalized logP (maximise); ``None`` for strings RDKit cannot parse."""

    name = "logp"
    maximize = True

    def __init__(self, stats: Mapping[str, float]) -> None:
        missing = [k for k in STATISTIC_KEYS if k not in stats]
        if missing:
            raise ObjectiveError(f"penalized logP statistics are missing {', '.join(missing)}")
        bad = [k for k in STATISTIC_KEYS if not math.isfinite(float(stats[k])) or (k.endswith("_std") and float(stats[k]) <= 0)]
        if bad:
            raise ObjectiveError(f"penalized logP statistics have invalid values for {', '.join(bad)}")
        self.stats = {k: float(stats[k]) for k in STATISTIC_KEYS}

    def score(self, string: str) -> float | None:
        components = penalized_logp_components(string)
        return None if components is None else standardized_score(components, self.stats)

    def is_valid(self, string: str) -> bool:
        return _molecule(string) is not None
