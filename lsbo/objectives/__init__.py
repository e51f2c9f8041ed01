"""Objectives scored on decoded strings (docs/protocols.md §3): penalized logP, expressions, QED, user functions.

Every objective has ``name``, ``maximize`` and a batch ``__call__(strings) -> list[float | None]``;
:func:`build_objective` makes one from a command-line target.
"""

from __future__ import annotations

from typing import Any

from lsbo.components import OBJECTIVES
from lsbo.errors import LsboError, ObjectiveError
from lsbo.objectives.base import BUILTIN_TARGETS, Evaluation, ItemwiseObjective, Objective, evaluate_safely
from lsbo.objectives.user import batched
from lsbo.registry import PLUGIN_HINT, close_matches


def build_objective(target: str, *, model: Any | None = None) -> Objective:
    """The objective named by ``target``: a registered name (:data:`lsbo.components.OBJECTIVES`: ``logp``,
    ``logp-dataset``, ``logp-raw``, ``expr``, ``qed`` and the plugins'; :mod:`lsbo.objectives.builtin`),
    a PMO task or ``sa`` (:data:`lsbo.objectives.pmo.PMO_TASKS`), or ``module:function``; ``model`` is
    handed to the named objective's factory (``logp-dataset`` standardises with its training-set statistics)."""
    name = target.strip()
    if name in OBJECTIVES:
        return OBJECTIVES.get(name)(model)
    from lsbo.objectives.pmo import PMO_TASKS

    if name in PMO_TASKS:  # PMO's oracles and sa (docs/objectives.md)
        return PMO_TASKS.get(name)()
    if ":" in name:
        from lsbo.objectives.user import for_model_kind, load_target

        return for_model_kind(load_target(name), getattr(model, "kind", None))
    known = (*OBJECTIVES.names(), *PMO_TASKS.names())
    near = close_matches(name, known)
    hint = f" (did you mean {', '.join(near)}?)" if near else PLUGIN_HINT
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
    if name in OBJECTIVES:  # a plugin's: its unit, if its factory needs no model
        try:
            return str(OBJECTIVES.get(name)(None).unit)
        except LsboError:
            pass
    return f"score of {name}, in its own unit"


__all__ = ["BUILTIN_TARGETS", "batched", "Evaluation", "ItemwiseObjective", "Objective", "build_objective", "evaluate_safely", "target_unit"]
