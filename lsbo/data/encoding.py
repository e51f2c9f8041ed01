"""Encoding rows as leftmost derivations, in chunks over worker processes, with a result cache.

Encoding runs in chunks over worker processes, each holding the grammar (inherited under ``fork``,
rebuilt from its text under ``spawn``). Results are cached in ``cache_dir()/prepared/<key>.npz``
where the key is a sha256 of everything the result depends on (grammar text, tokenizer, max_length,
kind and the strings): the same data with the same grammar is encoded once. Finished chunks are
cached too until the whole dataset is done, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lsbo.data.checks import NO_PARSE, row_checks, silence_rdkit
from lsbo.errors import ConfigError
from lsbo.persistence import atomic_write_bytes
from lsbo.progress import count_progress
from lsbo.settings import cache_dir

if TYPE_CHECKING:
    from lsbo.grammar import Grammar

# Bump when the cached arrays change meaning, so stale caches are never read.
CACHE_FORMAT = "lsbo-prepared-v1"
DEFAULT_CHUNK_SIZE = 2000
# Below this many rows, worker start-up costs more than it saves: encode in this process.
MIN_ROWS_FOR_WORKERS = 4000


@dataclass
class ChunkResult:
    """Per-row outcome of one chunk: ok flags, reasons ('' when ok) and the indices of the ok rows."""

    ok: np.ndarray  # bool (n,)
    reasons: list[str]
    indices: np.ndarray  # compact unsigned ints (n_ok, T)


def compact_dtype(n_productions: int) -> np.dtype:
    """Smallest unsigned integer dtype holding every production index (for caches and output files)."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if n_productions - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def encode_chunk(strings: Sequence[str], grammar: "Grammar", kind: str) -> ChunkResult:
    """Check and encode one chunk of rows; never raises on a bad row."""
    n = len(strings)
    reasons = row_checks(strings, kind, too_long=grammar.check_length)
    candidates = [i for i, r in enumerate(reasons) if not r]
    dtype = compact_dtype(grammar.n_productions)
    ok = np.zeros(n, dtype=np.bool_)
    if not candidates:
        return ChunkResult(ok, reasons, np.zeros((0, grammar.max_length), dtype=dtype))
    result = grammar.encode([strings[i] for i in candidates])
    for position, i in enumerate(candidates):
        if bool(result.ok[position]):
            ok[i] = True
        else:
            reasons[i] = result.reasons[position] or NO_PARSE
    accepted_rows = np.asarray(result.ok, dtype=np.bool_)
    indices = np.asarray(result.indices)[accepted_rows].astype(dtype)
    return ChunkResult(ok, reasons, indices)


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


_WORKER_GRAMMAR: "Grammar | None" = None


def _init_worker(grammar: "Grammar") -> None:
    # Under spawn, ``grammar`` arrives pickled and is rebuilt from its text here; under fork it is
    # the parent's object, inherited without copying.
    global _WORKER_GRAMMAR
    silence_rdkit()
    _WORKER_GRAMMAR = grammar


def _encode_in_worker(strings: list[str], kind: str) -> ChunkResult:
    assert _WORKER_GRAMMAR is not None, "worker initialiser did not run"
    return encode_chunk(strings, _WORKER_GRAMMAR, kind)


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


def _chunks(n: int, size: int) -> list[tuple[int, int]]:
    return [(start, min(start + size, n)) for start in range(0, n, size)]


def _run_chunks(
    strings: Sequence[str],
    grammar: "Grammar",
    kind: str,
    bounds: list[tuple[int, int]],
    todo: list[int],
    workers: int,
    on_done: Callable[[int, ChunkResult], None],
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
        for future in as_completed(futures):
            on_done(futures[future], future.result())


# --- the cache -----------------------------------------------------------------------------------


def prepared_cache_dir() -> Path:
    return cache_dir() / "prepared"


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


def save_chunk_result(path: Path, result: ChunkResult) -> None:
    """Write ``result`` to ``path`` (an ``.npz``) atomically."""
    atomic_write_bytes(
        path,
        lambda handle: np.savez(handle, ok=result.ok, reasons=np.asarray(result.reasons, dtype=np.str_), indices=result.indices),
    )


def load_chunk_result(path: Path, expected_rows: int) -> ChunkResult | None:
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
    return ChunkResult(ok, reasons, indices)


# --- the whole dataset ---------------------------------------------------------------------------


def encode_rows(
    strings: Sequence[str],
    grammar: "Grammar",
    kind: str,
    *,
    workers: int | None = None,
    cache: bool = True,
    progress: bool = True,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> tuple[ChunkResult, bool]:
    """Check and encode every row (cached); returns the per-row result and whether it came from the cache."""
    base = grammar_key(grammar, kind)
    key = strings_key(base, strings)
    final_path = prepared_cache_dir() / f"{key}.npz"
    if cache:
        cached = load_chunk_result(final_path, len(strings))
        if cached is not None:
            return cached, True
    workers = default_workers() if workers is None else max(1, int(workers))
    if len(strings) < MIN_ROWS_FOR_WORKERS:
        workers = 1
    bounds = _chunks(len(strings), chunk_size)
    chunk_keys = [strings_key(base, strings[a:b]) for a, b in bounds]
    chunk_paths = [prepared_cache_dir() / "chunks" / f"{k}.npz" for k in chunk_keys]
    results: dict[int, ChunkResult] = {}
    if cache:
        for chunk, path in enumerate(chunk_paths):
            found = load_chunk_result(path, bounds[chunk][1] - bounds[chunk][0])
            if found is not None:
                results[chunk] = found
    todo = [c for c in range(len(bounds)) if c not in results]
    with count_progress(f"encoding {len(strings)} rows", len(strings), enabled=progress) as bar:
        bar.advance(sum(bounds[c][1] - bounds[c][0] for c in results))

        def on_done(chunk: int, result: ChunkResult) -> None:
            results[chunk] = result
            if cache:  # keep finished work, so an interrupted run resumes from here
                save_chunk_result(chunk_paths[chunk], result)
            bar.advance(bounds[chunk][1] - bounds[chunk][0])

        _run_chunks(strings, grammar, kind, bounds, todo, workers, on_done)
    ordered = [results[c] for c in range(len(bounds))]
    dtype = compact_dtype(grammar.n_productions)
    merged = ChunkResult(
        ok=np.concatenate([r.ok for r in ordered]) if ordered else np.zeros(0, dtype=np.bool_),
        reasons=[reason for r in ordered for reason in r.reasons],
        indices=np.concatenate([r.indices for r in ordered]).astype(dtype)
        if ordered
        else np.zeros((0, grammar.max_length), dtype=dtype),
    )
    if cache:
        save_chunk_result(final_path, merged)
        for path in chunk_paths:
            path.unlink(missing_ok=True)
    return merged, False
