"""Preparing a dataset for training: validate every row, encode the valid ones as leftmost
derivations (production index sequences, the input of the grammar autoencoders of the paper's
Section 4.2), and report every rejected row with its line and reason.

The steps live in their own modules: :mod:`lsbo.data.checks` (the per-row checks and the reject
report), :mod:`lsbo.data.encoding` (chunked, cached, multi-process encoding) and
:mod:`lsbo.data.prepared` (the :class:`PreparedDataset` and its files). This module puts them
together for grammars (:func:`prepare_dataset`) and characters (:func:`prepare_characters`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from lsbo.data.checks import NO_PARSE, REASONS, Reject, collect_rejects, row_checks, split_reason, summarize
from lsbo.data.encoding import compact_dtype, encode_chunk, encode_rows, prepared_cache_dir
from lsbo.data.prepared import PreparedDataset, load_prepared, write_prepared
from lsbo.data.resolve import KINDS, check_kind
from lsbo.data.sources import StringSource
from lsbo.persistence import write_json

if TYPE_CHECKING:
    from lsbo.data.chars import CharVocabulary
    from lsbo.grammar import Grammar

Kind = Literal["molecules", "expressions", "strings"]


def prepare_dataset(
    source: StringSource,
    grammar: "Grammar",
    *,
    kind: Kind,
    out_dir: Path | None = None,
    workers: int | None = None,
    cache: bool = True,
    progress: bool = True,
) -> PreparedDataset:
    """Validate and encode every row of ``source`` with ``grammar``; write the outputs to ``out_dir``.

    ``kind`` is ``"molecules"`` (rows are also checked with RDKit), ``"expressions"`` or ``"strings"``.
    ``workers`` defaults to the number of CPUs (at most 8); small inputs are encoded in this process.
    With ``out_dir`` the files ``indices.npy``, ``strings.txt``, ``rejects.csv`` (line, input, reason,
    detail) and ``summary.json`` are written there (see :func:`write_prepared`).
    """
    check_kind(kind)
    result, from_cache = encode_rows(source.strings, grammar, kind, workers=workers, cache=cache, progress=progress)
    accepted_strings = [s for s, ok in zip(source.strings, result.ok) if ok]
    accepted_lines = [line for line, ok in zip(source.lines, result.ok) if ok]
    rejects = collect_rejects(source, [("" if ok else reason or NO_PARSE) for ok, reason in zip(result.ok, result.reasons)])
    summary = summarize(len(source), len(accepted_strings), rejects)
    summary.update(
        {
            "origin": source.origin,
            "dataset": source.name,
            "grammar": grammar.name,
            "kind": kind,
            "max_length": int(grammar.max_length),
            "n_productions": int(grammar.n_productions),
            "cache": "hit" if from_cache else ("miss" if cache else "off"),
        }
    )
    prepared = PreparedDataset(
        strings=accepted_strings,
        indices=result.indices.astype(np.int64),
        lines=accepted_lines,
        rejects=rejects,
        summary=summary,
        from_cache=from_cache,
    )
    if out_dir is not None:
        write_prepared(prepared, Path(out_dir), compact=compact_dtype(grammar.n_productions))
    return prepared


def prepare_characters(
    source: StringSource,
    *,
    kind: Kind,
    vocabulary: "CharVocabulary | None" = None,
    max_length: int | None = None,
    out_dir: Path | None = None,
) -> tuple[PreparedDataset, "CharVocabulary"]:
    """The character-level counterpart of :func:`prepare_dataset` (the CVAE baseline): the same row
    checks and reject report, with characters instead of productions.

    Without ``vocabulary`` one is built from the rows that pass the checks (``max_length`` = the longest
    unless given); rows longer than ``max_length`` or with unknown characters are rejected as
    ``too long`` / ``untokenizable``. ``indices`` are character indices (0 = padding). With ``out_dir``
    the same files as :func:`write_prepared` are written, plus ``vocabulary.json``.
    """
    from lsbo.data.chars import CharVocabulary

    check_kind(kind)
    reasons = row_checks(source.strings, kind)
    candidates = [i for i, r in enumerate(reasons) if not r]
    if vocabulary is None:
        vocabulary = CharVocabulary.build([source.strings[i] for i in candidates], max_length=max_length)
    for i, reason in zip(candidates, vocabulary.reasons([source.strings[i] for i in candidates])):
        if reason is not None:
            reasons[i] = reason
    accepted = [i for i, r in enumerate(reasons) if not r]
    indices, ok = vocabulary.encode([source.strings[i] for i in accepted])
    assert ok.all(), "vocabulary.reasons and vocabulary.encode disagree"
    rejects = collect_rejects(source, reasons)
    summary = summarize(len(source), len(accepted), rejects)
    summary.update(
        {
            "origin": source.origin,
            "dataset": source.name,
            "grammar": None,
            "codec": "characters",
            "kind": kind,
            "max_length": vocabulary.max_length,
            "vocabulary_size": vocabulary.size,
            "cache": "off",
        }
    )
    prepared = PreparedDataset(
        strings=[source.strings[i] for i in accepted],
        indices=indices,
        lines=[source.lines[i] for i in accepted],
        rejects=rejects,
        summary=summary,
    )
    if out_dir is not None:
        write_prepared(prepared, Path(out_dir), compact=compact_dtype(vocabulary.size))
        write_json(Path(out_dir) / "vocabulary.json", vocabulary.to_dict())
    return prepared, vocabulary


__all__ = [
    "KINDS",
    "REASONS",
    "PreparedDataset",
    "Reject",
    "collect_rejects",
    "encode_chunk",
    "encode_rows",
    "load_prepared",
    "prepare_characters",
    "prepare_dataset",
    "prepared_cache_dir",
    "row_checks",
    "split_reason",
    "summarize",
    "write_prepared",
]
