"""The per-row checks of dataset preparation and the report of the rows they reject.

Rows are checked in order and the first failing check gives the reason, one of :data:`REASONS`:
``empty``; ``invalid smiles`` (molecules only: RDKit cannot read it); then the grammar's own reasons
``untokenizable``, ``no parse`` and ``too long`` (longer than the grammar's ``max_length``). A bad row
never aborts a run: it becomes a :class:`Reject` naming its line and reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lsbo.data.sources import StringSource

EMPTY = "empty"
INVALID_SMILES = "invalid smiles"
UNTOKENIZABLE = "untokenizable"
NO_PARSE = "no parse"
TOO_LONG = "too long"
REASONS: tuple[str, ...] = (EMPTY, INVALID_SMILES, UNTOKENIZABLE, NO_PARSE, TOO_LONG)


@dataclass(frozen=True)
class Reject:
    """A row that was not accepted: its 1-based line in the source file, the row, and why."""

    line: int
    input: str
    reason: str  # one of REASONS (or the grammar's category when it reports a new one)
    detail: str = ""  # e.g. "character '%' at position 12"


#: Longest row quoted whole in rejects.csv; a longer one (a megabyte line) is cut, saying how long it was,
#: so the file stays readable (Python's csv module refuses fields over 128 KiB by default).
MAX_SHOWN_INPUT = 1000


def shown_input(text: str) -> str:
    """``text``, or its first :data:`MAX_SHOWN_INPUT` characters and ``... (N characters)``."""
    if len(text) <= MAX_SHOWN_INPUT:
        return text
    return f"{text[:MAX_SHOWN_INPUT]}... ({len(text)} characters)"


def split_reason(reason: str) -> tuple[str, str]:
    """``"too long: 301 > 277"`` -> ``("too long", "301 > 277")``; the category is what is counted."""
    category, _, detail = reason.partition(":")
    return category.strip().lower(), detail.strip()


def silence_rdkit() -> None:
    """Turn off RDKit's per-molecule parse warnings (a rejected row is reported once, by us)."""
    try:
        from rdkit import RDLogger

        RDLogger.DisableLog("rdApp.*")  # type: ignore[attr-defined]
    except ImportError:  # rdkit is a dependency; without it molecules cannot be validated at all
        pass


def invalid_smiles(strings: Sequence[str]) -> list[bool]:
    """For each SMILES, whether RDKit fails to read it (``Chem.MolFromSmiles`` is None)."""
    from rdkit import Chem

    silence_rdkit()
    return [Chem.MolFromSmiles(s) is None for s in strings]


def row_checks(
    strings: Sequence[str], kind: str, too_long: Callable[[str], str | None] | None = None
) -> list[str]:
    """The grammar-independent checks of every row: ``empty``, then ``too_long`` (a cheap size check,
    e.g. :meth:`lsbo.grammar.Grammar.check_length`, run first so that no over-long row reaches RDKit or
    the parser), then (molecules) ``invalid smiles``; '' for a row that passes."""
    reasons = [EMPTY if not s.strip() else "" for s in strings]
    if too_long is not None:
        reasons = [reason or too_long(text) or "" for text, reason in zip(strings, reasons)]
    if kind == "molecules":
        candidates = [i for i, r in enumerate(reasons) if not r]
        for i, bad in zip(candidates, invalid_smiles([strings[i] for i in candidates])):
            if bad:
                reasons[i] = INVALID_SMILES
    return reasons


def collect_rejects(source: "StringSource", reasons: Sequence[str]) -> list[Reject]:
    """The rejected rows of ``source`` in source order: every row whose reason is not '' (the outcome
    of :func:`row_checks` refined by the grammar or the character vocabulary), counted by category."""
    rejects = []
    for text, line, reason in zip(source.strings, source.lines, reasons):
        if reason:
            category, detail = split_reason(reason)
            rejects.append(Reject(line=line, input=shown_input(text), reason=category, detail=detail))
    return rejects


def summarize(total: int, accepted: int, rejects: Sequence[Reject]) -> dict[str, Any]:
    """``total``, ``accepted``, ``rejected`` (count per reason, most frequent first) and the rates."""
    counts = Counter(r.reason for r in rejects)
    return {
        "total": total,
        "accepted": accepted,
        "rejected": dict(sorted(counts.items(), key=lambda item: (-item[1], item[0]))),
        "rejected_total": len(rejects),
        "acceptance": accepted / total if total else 0.0,
    }
