"""QED, the quantitative estimate of drug-likeness (Bickerton et al., 2012) via RDKit: a third
molecule objective in [0, 1], higher is better, ``None`` for strings RDKit cannot parse."""

from __future__ import annotations

from lsbo.objectives.base import ItemwiseObjective
from lsbo.objectives.logp import _molecule


class QED(ItemwiseObjective):
    """RDKit's ``QED.qed`` of the molecule (maximise)."""

    name = "qed"
    maximize = True
    unit = "QED drug-likeness (RDKit, 0 to 1)"

    def score(self, string: str) -> float | None:
        from rdkit.Chem import QED as rdkit_qed

        mol = _molecule(string)
        return None if mol is None else float(rdkit_qed.qed(mol))

    def is_valid(self, string: str) -> bool:
        return _molecule(string) is not None
