"""The built-in objectives by name, registered in :data:`lsbo.components.OBJECTIVES` (``--target NAME``).

Each entry is a factory ``(model or None) -> Objective``: most ignore the model; ``logp-dataset``
standardises with its training-set statistics. A plugin registers its own the same way
(``@OBJECTIVES.register("name")`` on a factory, docs/extending.md). The heavy scorers (RDKit) are
imported by the factory, when the objective is built.
"""

from __future__ import annotations

from typing import Any

from lsbo.components import OBJECTIVES
from lsbo.errors import ObjectiveError
from lsbo.objectives.base import Objective


@OBJECTIVES.register("logp")
def penalized_logp(model: Any = None) -> Objective:
    """Penalized logP standardised with the fixed ZINC250k constants of the literature (:data:`lsbo.objectives.logp.ZINC250K`)."""
    from lsbo.objectives.logp import PenalizedLogP

    return PenalizedLogP()


@OBJECTIVES.register("logp-dataset")
def penalized_logp_dataset(model: Any = None) -> Objective:
    """Penalized logP standardised with the training-set statistics stored with ``model``
    (``model.data_stats["penalized_logp"]``); statistics missing or computed with an older cycle term
    are recomputed from ``model.training_strings()``; without a model it is an error."""
    from lsbo.objectives.logp import PenalizedLogP, penalized_logp_statistics, statistics_are_current

    if model is None:
        raise ObjectiveError(
            "target logp-dataset needs a trained molecule model (its training-set statistics standardise the score)",
            parameter="target",
        )
    stats = (getattr(model, "data_stats", None) or {}).get("penalized_logp")
    if not statistics_are_current(stats):
        stats = penalized_logp_statistics(model.training_strings())
    return PenalizedLogP(stats, name="logp-dataset")


@OBJECTIVES.register("logp-raw")
def raw_penalized_logp(model: Any = None) -> Objective:
    """Penalized logP unstandardised (logP - SA - cycle)."""
    from lsbo.objectives.logp import RawPenalizedLogP

    return RawPenalizedLogP()


@OBJECTIVES.register("expr")
def expression_error(model: Any = None) -> Objective:
    """The expression benchmark (:class:`lsbo.objectives.expressions.ExpressionObjective`)."""
    from lsbo.objectives.expressions import ExpressionObjective

    return ExpressionObjective()


@OBJECTIVES.register("qed")
def qed(model: Any = None) -> Objective:
    """Drug-likeness (:class:`lsbo.objectives.qed.QED`)."""
    from lsbo.objectives.qed import QED

    return QED()
