"""Preparing a dataset for training: validate every row, encode the valid ones as leftmost
derivations (production index sequences, the input of the grammar autoencoders of the paper's
Section 4.2), and report every rejected row with its line and reason.

Rows are checked in order and the first failing check gives the reason, one of :data:`REASONS`:
``empty``; ``invalid smiles`` (molecules only: RDKit cannot read it); then the grammar's own reasons
``untokenizable``, ``no parse`` and ``too long`` (longer than the grammar's ``max_length``). A bad row
never aborts a run.

Encoding runs in chunks over worker processes, each rebuilding the grammar from its text. Results are
cached in ``cache_dir()/prepared/<key>.npz`` where the key is a sha256 of everything the result depends
on (grammar text, tokenizer, max_length, kind and the strings): the same data with the same grammar is
encoded once. Finished chunks are cached too until the whole dataset is done, so an interrupted run
resumes where it stopped.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import pickle
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from lsbo.data.progress import count_progress
from lsbo.data.sources import StringSource
from lsbo.errors import ConfigError, DataError
from lsbo.settings import cache_dir

if TYPE_CHECKING:
    from lsbo.data.chars import CharVocabulary
    from lsbo.grammar import Grammar

Kind = Literal["molecules", "expressions", "strings"]
KINDS: tuple[str, ...] = ("molecules", "expressions", "strings")

EMPTY = "empty"
INVALID_SMILES = "invalid smiles"
UNTOKENIZABLE = "untokenizable"
NO_PARSE = "no parse"
TOO_LONG = "too long"
REASONS: tuple[str, ...] = (EMPTY, INVALID_SMILES, UNTOKENIZABLE, NO_PARSE, TOO_LONG)

# Bump when the cached arrays change meaning, so stale caches are never read.
CACHE_FORMAT = "lsbo-prepared-v1"
DEFAULT_CHUNK_SIZE = 2000
# Below this many rows, worker start-up costs more than it saves: encode in this process.
MIN_ROWS_FOR_WORKERS = 4000


@dataclass(frozen=True)
class Reject:
    """A row that was not accepted: its 1-based line in the source file, the row, and why."""

    line: int
    input: str
    reason: str  # one of REASONS (or the grammar's category when it reports a new one)
    detail: str = ""  # e.g. "character '%' at position 12"


@dataclass
class PreparedDataset:
    """The accepted rows, encoded, and the rejected ones, explained."""

    strings: list[str]  # accepted rows, source order
    indices: np.ndarray  # int64 (N_ok, T): production indices padded with the padding production
    lines: list[int]  # source line of each accepted row
    rejects: list[Reject]
    summary: dict[str, Any]
    from_cache: bool = False

    def __len__(self) -> int:
        return len(self.strings)


@dataclass
class _ChunkResult:
    """Per-row outcome of one chunk: ok flags, reasons ('' when ok) and the indices of the ok rows."""

    ok: np.ndarray  # bool (n,)
    reasons: list[str]
    indices: np.ndarray  # compact unsigned ints (n_ok, T)


def split_reason(reason: str) -> tuple[str, str]:
    """``"too long: 301 > 277"`` -> ``("too long", "301 > 277")``; the category is what is counted."""
    category, _, detail = reason.partition(":")
    return category.strip().lower(), detail.strip()


def compact_dtype(n_productions: int) -> np.dtype:
    """Smallest unsigned integer dtype holding every production index (for caches and output files)."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if n_productions - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


# --- the grammar in worker processes -------------------------------------------------------------


def picklable_grammar(grammar: "Grammar") -> bool:
    """Whether ``grammar`` can travel to a worker process. :class:`lsbo.grammar.Grammar` pickles as its
    text and tokenizer choice and is rebuilt in the worker; a grammar with a locally defined tokenizer
    function cannot, and is encoded in this process instead."""
    try:
        pickle.dumps(grammar)
    except Exception:
        return False
    return True


def tokenizer_identity(grammar: "Grammar") -> str:
    """A stable description of the grammar's tokenizer for the cache key."""
    tokenizer = getattr(grammar, "tokenizer", None)
    name = getattr(tokenizer, "name", None)
    if name not in (None, "custom"):
        return str(name)
    target = getattr(tokenizer, "_function", tokenizer)
    module = getattr(target, "__module__", "")
    qualname = getattr(target, "__qualname__", type(target).__qualname__)
    return f"custom:{module}.{qualname}"


_WORKER_GRAMMAR: "Grammar | None" = None


def _init_worker(grammar: "Grammar") -> None:
    # Under spawn, ``grammar`` arrives pickled and is rebuilt from its text here; under fork it is
    # the parent's object, inherited without copying.
    global _WORKER_GRAMMAR
    _silence_rdkit()
    _WORKER_GRAMMAR = grammar


def _encode_in_worker(strings: list[str], kind: str) -> _ChunkResult:
    assert _WORKER_GRAMMAR is not None, "worker initialiser did not run"
    return encode_chunk(strings, _WORKER_GRAMMAR, kind)


# --- per-row checks ------------------------------------------------------------------------------


def _silence_rdkit() -> None:
    try:
        from rdkit import RDLogger

        RDLogger.DisableLog("rdApp.*")
    except ImportError:  # rdkit is a dependency; without it molecules cannot be validated at all
        pass


def invalid_smiles(strings: Sequence[str]) -> list[bool]:
    """For each SMILES, whether RDKit fails to read it (``Chem.MolFromSmiles`` is None)."""
    from rdkit import Chem

    _silence_rdkit()
    return [Chem.MolFromSmiles(s) is None for s in strings]


def encode_chunk(strings: Sequence[str], grammar: "Grammar", kind: str) -> _ChunkResult:
    """Check and encode one chunk of rows; never raises on a bad row."""
    n = len(strings)
    reasons = row_checks(strings, kind)
    candidates = [i for i, r in enumerate(reasons) if not r]
    dtype = compact_dtype(grammar.n_productions)
    ok = np.zeros(n, dtype=np.bool_)
    if not candidates:
        return _ChunkResult(ok, reasons, np.zeros((0, grammar.max_length), dtype=dtype))
    result = grammar.encode([strings[i] for i in candidates])
    for position, i in enumerate(candidates):
        if bool(result.ok[position]):
            ok[i] = True
        else:
            reasons[i] = result.reasons[position] or NO_PARSE
    accepted_rows = np.asarray(result.ok, dtype=np.bool_)
    indices = np.asarray(result.indices)[accepted_rows].astype(dtype)
    return _ChunkResult(ok, reasons, indices)


# --- caching -------------------------------------------------------------------------------------


def prepared_cache_dir() -> Path:
    return cache_dir() / "prepared"


def grammar_key(grammar: "Grammar", kind: str) -> "hashlib._Hash":
    """A sha256 object already holding everything but the strings."""
    digest = hashlib.sha256()
    for part in (CACHE_FORMAT, grammar.text, tokenizer_identity(grammar), str(grammar.max_length), kind):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest


def strings_key(base: "hashlib._Hash", strings: Sequence[str]) -> str:
    digest = base.copy()
    for text in strings:
        digest.update(text.encode("utf-8", errors="surrogatepass"))
        digest.update(b"\n")
    digest.update(str(len(strings)).encode())
    return digest.hexdigest()


def _save_npz(path: Path, result: _ChunkResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + f".tmp-{os.getpid()}.npz")
    np.savez(tmp, ok=result.ok, reasons=np.asarray(result.reasons, dtype=np.str_), indices=result.indices)
    os.replace(tmp, path)


def _load_npz(path: Path, expected_rows: int) -> _ChunkResult | None:
    """A cached result, or None when it is missing or unreadable (a corrupt cache is recomputed)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            ok = data["ok"].astype(np.bool_)
            reasons = [str(r) for r in data["reasons"].tolist()]
            indices = data["indices"]
    except Exception:
        return None
    if len(ok) != expected_rows or len(reasons) != expected_rows or len(indices) != int(ok.sum()):
        return None
    return _ChunkResult(ok, reasons, indices)


# --- the pipeline --------------------------------------------------------------------------------


def _chunks(n: int, size: int) -> list[tuple[int, int]]:
    return [(start, min(start + size, n)) for start in range(0, n, size)]


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def worker_start_method() -> str:
    """``fork`` where the platform has it: workers inherit the already-built grammar and imported
    modules (a spawned worker re-imports torch, nltk and RDKit, seconds per worker, which costs more
    than encoding a ZINC-sized set). Elsewhere ``spawn``, where the grammar is rebuilt from its text.
    ``LSBO_WORKER_START`` overrides the choice."""
    import multiprocessing

    chosen = os.environ.get("LSBO_WORKER_START")
    available = multiprocessing.get_all_start_methods()
    if chosen:
        if chosen not in available:
            raise ConfigError(f"LSBO_WORKER_START={chosen!r} is not available here; choose one of {', '.join(available)}")
        return chosen
    return "fork" if "fork" in available else "spawn"


def _run_chunks(
    strings: Sequence[str],
    grammar: "Grammar",
    kind: str,
    bounds: list[tuple[int, int]],
    todo: list[int],
    workers: int,
    on_done: Callable[[int, _ChunkResult], None],
) -> None:
    """Encode the chunks numbered in ``todo``, calling ``on_done(chunk, result)`` as each finishes."""
    if workers <= 1 or len(todo) <= 1 or not picklable_grammar(grammar):
        for chunk in todo:
            start, stop = bounds[chunk]
            on_done(chunk, encode_chunk(strings[start:stop], grammar, kind))
        return
    import multiprocessing

    context = multiprocessing.get_context(worker_start_method())
    with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=context, initializer=_init_worker, initargs=(grammar,)) as pool:
        futures = {
            pool.submit(_encode_in_worker, list(strings[bounds[c][0] : bounds[c][1]]), kind): c for c in todo
        }
        from concurrent.futures import as_completed

        for future in as_completed(futures):
            on_done(futures[future], future.result())


def encode_rows(
    strings: Sequence[str],
    grammar: "Grammar",
    kind: str,
    *,
    workers: int | None = None,
    cache: bool = True,
    progress: bool = True,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> tuple[_ChunkResult, bool]:
    """Check and encode every row (cached); returns the per-row result and whether it came from the cache."""
    base = grammar_key(grammar, kind)
    key = strings_key(base, strings)
    final_path = prepared_cache_dir() / f"{key}.npz"
    if cache:
        cached = _load_npz(final_path, len(strings))
        if cached is not None:
            return cached, True
    workers = default_workers() if workers is None else max(1, int(workers))
    if len(strings) < MIN_ROWS_FOR_WORKERS:
        workers = 1
    bounds = _chunks(len(strings), chunk_size)
    chunk_keys = [strings_key(base, strings[a:b]) for a, b in bounds]
    chunk_paths = [prepared_cache_dir() / "chunks" / f"{k}.npz" for k in chunk_keys]
    results: dict[int, _ChunkResult] = {}
    if cache:
        for chunk, path in enumerate(chunk_paths):
            found = _load_npz(path, bounds[chunk][1] - bounds[chunk][0])
            if found is not None:
                results[chunk] = found
    todo = [c for c in range(len(bounds)) if c not in results]
    with count_progress(f"encoding {len(strings)} rows", len(strings), enabled=progress) as bar:
        bar.advance(sum(bounds[c][1] - bounds[c][0] for c in results))

        def on_done(chunk: int, result: _ChunkResult) -> None:
            results[chunk] = result
            if cache:  # keep finished work, so an interrupted run resumes from here
                _save_npz(chunk_paths[chunk], result)
            bar.advance(bounds[chunk][1] - bounds[chunk][0])

        _run_chunks(strings, grammar, kind, bounds, todo, workers, on_done)
    ordered = [results[c] for c in range(len(bounds))]
    dtype = compact_dtype(grammar.n_productions)
    merged = _ChunkResult(
        ok=np.concatenate([r.ok for r in ordered]) if ordered else np.zeros(0, dtype=np.bool_),
        reasons=[reason for r in ordered for reason in r.reasons],
        indices=np.concatenate([r.indices for r in ordered]).astype(dtype)
        if ordered
        else np.zeros((0, grammar.max_length), dtype=dtype),
    )
    if cache:
        _save_npz(final_path, merged)
        for path in chunk_paths:
            path.unlink(missing_ok=True)
    return merged, False


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
    if kind not in KINDS:
        raise ConfigError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
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


def row_checks(strings: Sequence[str], kind: str) -> list[str]:
    """The grammar-independent checks of every row: ``empty``, then (molecules) ``invalid smiles``;
    '' for a row that passes."""
    reasons = [EMPTY if not s.strip() else "" for s in strings]
    if kind == "molecules":
        candidates = [i for i, r in enumerate(reasons) if not r]
        for i, bad in zip(candidates, invalid_smiles([strings[i] for i in candidates])):
            if bad:
                reasons[i] = INVALID_SMILES
    return reasons


def collect_rejects(source: StringSource, reasons: Sequence[str]) -> list[Reject]:
    """The rejected rows of ``source`` in source order: every row whose reason is not '' (the outcome
    of :func:`row_checks` refined by the grammar or the character vocabulary), counted by category."""
    rejects = []
    for text, line, reason in zip(source.strings, source.lines, reasons):
        if reason:
            category, detail = split_reason(reason)
            rejects.append(Reject(line=line, input=text, reason=category, detail=detail))
    return rejects


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

    if kind not in KINDS:
        raise ConfigError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
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
        _atomic_write_text(Path(out_dir) / "vocabulary.json", json.dumps(vocabulary.to_dict(), indent=2) + "\n")
    return prepared, vocabulary


# --- choosing a grammar and kind for a source ------------------------------------------------------

_KIND_OF_BUILTIN = {"zinc": "molecules", "expr": "expressions"}


def default_grammar_name(source: str) -> str | None:
    """The built-in grammar a source is encoded with when none is given: ``zinc`` for the ZINC
    dataset and SMILES files (``.smi``, ``.csv``), ``expr`` for the expression dataset, else None."""
    key = str(source).lower()
    if key in ("zinc", "zinc250k"):
        return "zinc"
    if key == "expr":
        return "expr"
    if Path(key).suffix in (".smi", ".csv"):
        return "zinc"
    return None


def resolve_grammar(spec: str | None, source: str, tokenizer: str | None = None) -> "Grammar":
    """The grammar named by ``spec`` (see :meth:`lsbo.grammar.Grammar.resolve`), or the source's default.

    ``tokenizer`` (the ``--tokenizer`` flag) applies to grammar files only: a built-in grammar brings
    its own, and a flag that would change it is refused rather than silently used.
    """
    from lsbo.grammar import Grammar

    name = spec if spec is not None else default_grammar_name(source)
    if name is None:
        raise ConfigError(f"no default grammar for {source}; pass --grammar zinc|expr|FILE")
    if tokenizer is not None and name in Grammar.builtin_names():
        raise ConfigError("--tokenizer applies to grammar files; built-in grammars have their own tokenizer")
    return Grammar.resolve(name, tokenizer=tokenizer)


def default_source_kind(source: str) -> str:
    """The kind of a source's rows by the source alone: ``molecules`` for ZINC and SMILES files,
    ``expressions`` for the expression dataset, else ``strings`` (used when no grammar is involved)."""
    return _KIND_OF_BUILTIN.get(default_grammar_name(source) or "", "strings")


def default_kind(grammar: "Grammar") -> str:
    """``molecules`` for the SMILES grammar, ``expressions`` for the expression grammar, else ``strings``."""
    from lsbo.grammar import Grammar

    kind = _KIND_OF_BUILTIN.get(grammar.name)
    if kind is None:
        return "strings"
    try:  # a user grammar that only shares a built-in's name is not assumed to be SMILES/expressions
        return kind if Grammar.builtin(grammar.name).text == grammar.text else "strings"
    except Exception:
        return "strings"


# --- output files --------------------------------------------------------------------------------


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_rejects(path: Path, rejects: Sequence[Reject]) -> None:
    """``rejects.csv``: header ``line,input,reason,detail``, one row per reject in source order."""
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "input", "reason", "detail"])
        for r in rejects:
            writer.writerow([r.line, r.input, r.reason, r.detail])
    os.replace(tmp, path)


def write_prepared(prepared: PreparedDataset, out_dir: Path, compact: np.dtype | None = None) -> None:
    """Write ``indices.npy`` (production indices, compact unsigned dtype), ``lines.npy``,
    ``strings.txt`` (accepted rows), ``rejects.csv`` and ``summary.json`` into ``out_dir``."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(f"cannot create output directory {out_dir}: {err.strerror or err}") from err
    if any("\n" in s or "\r" in s for s in prepared.strings):
        raise DataError("accepted strings contain line breaks and cannot be written one per line to strings.txt")
    indices = prepared.indices if compact is None else prepared.indices.astype(compact)
    for name, array in (("indices.npy", indices), ("lines.npy", np.asarray(prepared.lines, dtype=np.int64))):
        tmp = out_dir / f".{name}.tmp-{os.getpid()}.npy"
        np.save(tmp, array)
        os.replace(tmp, out_dir / name)
    _atomic_write_text(out_dir / "strings.txt", "".join(s + "\n" for s in prepared.strings))
    write_rejects(out_dir / "rejects.csv", prepared.rejects)
    _atomic_write_text(out_dir / "summary.json", json.dumps(prepared.summary, indent=2) + "\n")


def load_prepared(out_dir: Path) -> PreparedDataset:
    """Read back a directory written by :func:`write_prepared` (DataError naming a missing/bad file)."""
    out_dir = Path(out_dir)
    try:
        indices = np.load(out_dir / "indices.npy", allow_pickle=False).astype(np.int64)
        lines_path = out_dir / "lines.npy"
        strings = (out_dir / "strings.txt").read_text(encoding="utf-8").split("\n")[:-1]
        summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
        with open(out_dir / "rejects.csv", newline="", encoding="utf-8") as handle:
            rejects = [
                Reject(int(row["line"]), row["input"], row["reason"], row.get("detail") or "")
                for row in csv.DictReader(handle)
            ]
        lines = np.load(lines_path, allow_pickle=False).tolist() if lines_path.is_file() else list(range(1, len(strings) + 1))
    except FileNotFoundError as err:
        raise DataError(f"prepared dataset in {out_dir} is incomplete: {Path(err.filename).name} is missing") from err
    except (ValueError, KeyError, json.JSONDecodeError, OSError) as err:
        raise DataError(f"prepared dataset in {out_dir} is unreadable: {err}") from err
    if len(strings) != len(indices) or len(lines) != len(strings):
        raise DataError(
            f"prepared dataset in {out_dir} is inconsistent: {len(strings)} strings, {len(indices)} index rows, {len(lines)} lines"
        )
    return PreparedDataset(strings=strings, indices=indices, lines=lines, rejects=rejects, summary=summary)


__all__ = [
    "KINDS",
    "REASONS",
    "PreparedDataset",
    "Reject",
    "collect_rejects",
    "default_grammar_name",
    "default_kind",
    "default_source_kind",
    "encode_chunk",
    "encode_rows",
    "invalid_smiles",
    "load_prepared",
    "prepare_characters",
    "prepare_dataset",
    "row_checks",
    "resolve_grammar",
    "split_reason",
    "summarize",
    "write_prepared",
]
