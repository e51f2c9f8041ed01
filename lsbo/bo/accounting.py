"""What an oracle call is: how a trial's budget is spent (``BOConfig.budget_accounting``).

- ``points`` (the default): every proposed point is a call, whether its decoding failed, its string
  was seen before, or it was scored.
- ``pmo``: PMO's accounting (``Oracle.score_smi`` of ``wenhao-gao/mol_opt``): a call is a *distinct
  valid* molecule, by canonical SMILES (another spelling of a molecule scored before is a repeat);
  invalid strings and repeats cost nothing. A trial then proposes until ``budget`` distinct valid
  molecules are scored, or until it has proposed :data:`MAX_ITERATIONS_FACTOR` times the batches
  the budget would take under ``points`` (a model that only repeats itself ends short of the budget;
  its results say how many calls it made).

For a model that is not a molecule model, ``pmo`` counts distinct valid strings as they are.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from lsbo.errors import ConfigError

ACCOUNTINGS = ("points", "pmo")
#: A ``pmo`` trial proposes at most this many times ``ceil(budget / batch_size)`` batches.
MAX_ITERATIONS_FACTOR = 20


def check_accounting(name: str) -> str:
    if name not in ACCOUNTINGS:
        raise ConfigError(f"budget_accounting {name!r}: expected one of {', '.join(ACCOUNTINGS)}", parameter="budget_accounting")
    return name


def max_iterations(accounting: str, budget: int, batch_size: int) -> int:
    """The most batches a trial proposes."""
    batches = math.ceil(budget / batch_size)
    return batches * MAX_ITERATIONS_FACTOR if accounting == "pmo" else batches


def canonical(string: str, model_kind: str | None) -> str:
    """The identity of a string for PMO's accounting: RDKit's canonical SMILES of a molecule."""
    if model_kind != "molecules":
        return string
    from rdkit import Chem

    from lsbo.objectives.logp import _molecule

    mol = _molecule(string)
    return string if mol is None else Chem.MolToSmiles(mol)


class CallCounter:
    """The calls a trial has spent, record by record (records in call order)."""

    def __init__(self, accounting: str, model_kind: str | None) -> None:
        self.accounting = check_accounting(accounting)
        self.model_kind = model_kind
        self.points = 0
        self.molecules: dict[str, float] = {}  # canonical string -> its first score, in call order

    def add(self, records: Iterable[Mapping[str, Any]]) -> None:
        for record in records:
            self.points += 1
            if record.get("valid") and record.get("string") is not None:
                key = canonical(record["string"], self.model_kind)
                self.molecules.setdefault(key, float(record["score"]))

    @property
    def calls(self) -> int:
        return len(self.molecules) if self.accounting == "pmo" else self.points


def pmo_call_scores(records: Iterable[Mapping[str, Any]], model_kind: str | None) -> list[float]:
    """The scores of the distinct valid molecules in the order they were first called (PMO's buffer)."""
    counter = CallCounter("pmo", model_kind)
    counter.add(records)
    return list(counter.molecules.values())


def trial_complete(records: Iterable[Mapping[str, Any]], config: Any, trial_store: Any, model_kind: str | None) -> bool:
    """Whether a trial's ``records`` (a :class:`lsbo.bo.loop.BOConfig` ``config``) finish it: its
    budget spent, or its last possible batch (``config.layout``) proposed and every point of it scored."""
    ordered = sorted(records, key=lambda r: (r["iteration"], r["index"]))
    counter = CallCounter(config.budget_accounting, model_kind)
    counter.add(ordered)
    if counter.calls >= config.calls_per_trial:
        return True
    last = config.layout[0]
    batch = trial_store.read_candidates(last)
    return batch is not None and sum(1 for r in ordered if r["iteration"] == last) >= len(batch["latents"])
