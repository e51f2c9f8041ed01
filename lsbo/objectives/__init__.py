"""Objectives scored on decoded strings (docs/protocols.md §3): penalized logP, expressions, QED, user functions.

Every objective has ``name``, ``maximize`` and a batch ``__call__(strings) -> list[float | None]``;
:func:`build_objective` makes one from a command-line target.
"""

from __future__ import annotations

from typing import Any

from lsbo.errors import ObjectiveError
from lsbo.objectives.base import BUILTIN_TARGETS, Evaluation, ItemwiseObjective, Objective, evaluate_safely
from lsbo.objectives.user import batched


def build_objective(target: str, *, model: Any | None = None) -> Objective:
    """The objective named by ``target``: ``logp``, ``expr``, ``qed`` or ``module:function``.

    ``logp`` standardises with the training-set statistics stored with ``model``
    (``model.data_stats["penalized_logp"]``); without a model, or a model without them, the statistics
    are computed from ``model.training_strings()`` when available, else it is an error.
    """
    name = target.strip()
    if name == "expr":
        from lsbo.objectives.expressions import ExpressionObjective

        return ExpressionObjective()
    if name == "qed":
        from lsbo.objectives.qed import QED

        return QED()
    if name == "logp":
        from lsbo.objectives.logp import PenalizedLogP, penalized_logp_statistics

        stats = (getattr(model, "data_stats", None) or {}).get("penalized_logp") if model is not None else None
        if stats is None:
            if model is None:
                raise ObjectiveError("--target logp needs a trained molecule model (its training-set statistics standardise the score)")
            stats = penalized_logp_statistics(model.training_strings())
        return PenalizedLogP(stats)
    if ":" in name:
        from lsbo.objectives.user import for_model_kind, load_target

        return for_model_kind(load_target(name), getattr(model, "kind", None))
    raise ObjectiveError(f"--target {target!r}: expected one of {', '.join(BUILTIN_TARGETS)} or module:function")


__all__ = ["BUILTIN_TARGETS", "batched", "Evaluation", "ItemwiseObjective", "Objective", "build_objective", "evaluate_safely"]
