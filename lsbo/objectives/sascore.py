"""The synthetic-accessibility score of Ertl & Schuffenhauer (2009), TDC's and PMO's ``SA`` oracle.

It is RDKit's contributed ``sascorer`` (``Contrib/SA_Score``, shipped in the RDKit wheel with its
fragment table ``fpscores.pkl.gz``), the same function penalized logP uses
(:func:`lsbo.objectives.logp.penalized_logp_components`). 1 means easy to make, 10 hard; lower is
better, so the objective minimises. ``None`` for a string RDKit cannot parse.
"""

from __future__ import annotations

from lsbo.objectives.base import ItemwiseObjective
from lsbo.objectives.logp import _molecule, _sascorer

UNIT = "synthetic accessibility (Ertl & Schuffenhauer; 1 easy to 10 hard)"


class SAScore(ItemwiseObjective):
    """RDKit Contrib ``sascorer.calculateScore`` of the molecule (minimise)."""

    name = "sa"
    maximize = False
    unit = UNIT

    def score(self, string: str) -> float | None:
        mol = _molecule(string)
        return None if mol is None else float(_sascorer().calculateScore(mol))

    def is_valid(self, string: str) -> bool:
        return _molecule(string) is not None
