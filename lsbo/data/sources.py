"""Reading the strings of a dataset: named datasets (``zinc250k`` from the cache or ``--data``, ``expr``
generated or from a file, ``moses`` from the molsets package) and user files in three formats (read
by :mod:`lsbo.data.readers`, whose names this module re-exports).
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from lsbo.data.manifests import ALIASES, EXPR, EXPR_DEFAULT_COUNT, EXPR_MAX_PRODUCTIONS, MOSES, ZINC250K, find_manifest
from lsbo.data.readers import TEXT_SUFFIXES, StringSource, _split_lines, read_csv, read_file, read_smi, read_txt
from lsbo.errors import DataError
from lsbo.persistence import atomic_write_text


def _generated_cache_path(grammar_text: str, n: int, max_productions: int, seed: int) -> Path:
    import hashlib

    from lsbo.settings import cache_dir

    key = hashlib.sha256(f"{grammar_text}\0{n}\0{max_productions}\0{seed}".encode()).hexdigest()
    return cache_dir() / "generated" / f"expr-{key}.txt"


def generated_expressions_source(
    n: int = EXPR_DEFAULT_COUNT, max_productions: int = EXPR_MAX_PRODUCTIONS, seed: int = 0, progress: bool = False
) -> StringSource:
    """The ``expr`` dataset generated from the built-in expression grammar (cached per grammar text,
    size, budget and seed, since the generator is deterministic)."""

    from lsbo.data.expressions import generate_expressions
    from lsbo.grammar import Grammar
    from lsbo.progress import count_progress

    grammar = Grammar.builtin("expr")
    cached = _generated_cache_path(grammar.text, n, max_productions, seed)
    strings: list[str] | None = None
    if cached.is_file():
        strings = _split_lines(cached.read_text(encoding="utf-8"))
        if len(strings) != n:  # a damaged cache file is regenerated
            strings = None
    if strings is None:
        with count_progress(f"generating {n} expressions", n, enabled=progress) as bar:
            strings = generate_expressions(grammar, n=n, max_productions=max_productions, seed=seed, progress=bar.set)
        cached.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cached, "".join(s + "\n" for s in strings))
    origin = f"generated from the expr grammar (n={n}, max_productions={max_productions}, seed={seed})"
    return StringSource(
        strings,
        list(range(1, len(strings) + 1)),
        origin=origin,
        name="expr",
        metadata={"generated": True, "n": n, "max_productions": max_productions, "seed": seed},
    )


def load_strings(
    source: str | Path,
    data: Path | None = None,
    limit: int | None = None,
    *,
    seed: int = 0,
    progress: bool = False,
) -> StringSource:
    """The rows of a dataset.

    ``source`` is ``"zinc"``/``"zinc250k"`` (the file given by ``data``, else the cached download,
    else a download; offline this fails with a message naming the file and ``--data``), ``"expr"``
    (the file given by ``data``, else 100,000 distinct expressions generated with ``seed``; with a
    ``limit`` only that many are generated), or a path to a ``.smi``/``.txt``/``.csv`` file.
    """
    key = str(source)
    manifest = find_manifest(key)
    if manifest is ZINC250K:
        from lsbo.data.downloads import fetch
        from lsbo.progress import download_progress

        with download_progress(f"downloading {ZINC250K.filename}", enabled=progress and data is None) as callback:
            path = fetch(ZINC250K, data=data, progress=callback)
        loaded = read_file(path, column=ZINC250K.column or "smiles")
        loaded.name = ZINC250K.name
        return loaded.head(limit)
    if manifest is MOSES:
        loaded = read_file(Path(data) if data is not None else moses_training_file(), column=MOSES.column or "SMILES")
        loaded.name = MOSES.name
        return loaded.head(limit)
    if manifest is EXPR:
        if data is not None:
            loaded = read_file(Path(data))
            loaded.name = EXPR.name
            return loaded.head(limit)
        count = EXPR_DEFAULT_COUNT if limit is None else min(limit, EXPR_DEFAULT_COUNT)
        return generated_expressions_source(n=count, seed=seed, progress=progress)
    if data is not None:
        raise DataError(f"data is only used with a named dataset ({', '.join(sorted(ALIASES))}), not with the file {key}",
                        parameter="data")
    path = Path(key).expanduser()
    if not path.exists():
        raise DataError(f"unknown dataset or missing file: {key} (named datasets: {', '.join(sorted(ALIASES))})")
    return read_file(path).head(limit)


def moses_training_file() -> Path:
    """The MOSES training split shipped by the installed ``molsets`` package, checked against its sha256.

    The package is found without importing it (its ``moses`` module imports metrics whose
    dependencies pin old packages); only ``train.csv.gz`` is read, never the test splits.
    """
    spec = importlib.util.find_spec("moses")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    candidates = [Path(location) / "dataset" / "data" / MOSES.filename for location in locations]
    path = next((candidate for candidate in candidates if candidate.is_file()), None)
    if path is None:
        raise DataError(
            "the moses dataset comes with the molsets package, which is not installed: pip install 'lsbo[moses]' "
            "(or pip install --no-deps molsets), or pass --data with a copy of its train.csv(.gz)"
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != MOSES.sha256:
        raise DataError(f"{path} does not match the MOSES training split (sha256 {digest[:12]}..., expected "
                        f"{str(MOSES.sha256)[:12]}...): reinstall molsets or pass --data")
    return path


__all__ = ["TEXT_SUFFIXES", "StringSource", "generated_expressions_source", "load_strings", "moses_training_file", "read_csv",
           "read_file", "read_smi", "read_txt"]
