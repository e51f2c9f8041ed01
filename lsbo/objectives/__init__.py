"""Objectives scored on decoded strings (docs/protocols.md §3): penalized logP, expressions, QED, user functions.

Every objective has ``name``, ``maximize`` and a batch ``__call__(strings) -> list[float | None]``;
:func:`build_objective` makes one from a command-line target.
"""

from __future__ import annotations

from typing import Any

from lsbo.errors import ObjectiveError
from lsbo.objectives.base import BUILTIN_TARGETS, Evaluation, ItemwiseObjective, Objective, evaluate_safely
from lsbo.objectives.user import batched
from lsbo.registry import close_matches


def build_objective(target: str, *, model: Any | None = None) -> Objective:
    """The objective named by ``target``: ``logp``, ``logp-dataset``, ``logp-raw``, ``expr``, ``qed``, a PMO task
    or ``sa`` (:data:`lsbo.objectives.pmo.PMO_TASKS`), or ``module:function``.

    ``logp`` is penalized logP standardised with the fixed ZINC250k constants of the literature
    (:data:`lsbo.objectives.logp.ZINC250K`), ``logp-raw`` is it unstandardised, and
    ``logp-dataset`` standardises with the training-set statistics stored with ``model``
    (``model.data_stats["penalized_logp"]``); statistics missing or computed with an older cycle
    term are recomputed from ``model.training_strings()``, and without a model it is an error.
    """
    name = target.strip()
    if name == "expr":
        from lsbo.objectives.expressions import ExpressionObjective

        return ExpressionObjective()
    if name == "qed":
        from lsbo.objectives.qed import QED

        return QED()
    if name == "logp":
        from lsbo.objectives.logp import PenalizedLogP

        return PenalizedLogP()
    if name == "logp-raw":
        from lsbo.objectives.logp import RawPenalizedLogP

        return RawPenalizedLogP()
    if name == "logp-dataset":
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
    from lsbo.objectives.pmo import PMO_TASKS

    if name in PMO_TASKS:  # PMO's oracles and sa (docs/objectives.md)
        return PMO_TASKS.get(name)()
    if ":" in name:
        from lsbo.objectives.user import for_model_kind, load_target

        return for_model_kind(load_target(name), getattr(model, "kind", None))
    known = (*BUILTIN_TARGETS, *PMO_TASKS.names())
    near = close_matches(name, known)
    hint = f" (did you mean {', '.join(near)}?)" if near else ""
    raise ObjectiveError(f"target {target!r}: expected one of {', '.join(known)} or module:function{hint}", parameter="target")


def target_unit(target: str) -> str:
    """The unit of a target's scores, by name, without building the objective (for tables)."""
    name = target.strip()
    if name in ("logp", "logp-dataset", "logp-raw"):
        from lsbo.objectives.logp import UNITS

        return UNITS[name]
    if name == "expr":
        from lsbo.objectives.expressions import ExpressionObjective

        return ExpressionObjective.unit
    if name == "qed":
        from lsbo.objectives.qed import QED

        return QED.unit
    from lsbo.objectives.pmo import PMO_TASKS

    if name in PMO_TASKS:  # an objective class, or a partial of one: its unit without building it
        entry: Any = PMO_TASKS.get(name)
        return str(getattr(entry, "func", entry).unit)
    return f"score of {name}, in its own unit"


__all__ = ["BUILTIN_TARGETS", "batched", "Evaluation", "ItemwiseObjective", "Objective", "build_objective", "evaluate_safely", "target_unit"]
