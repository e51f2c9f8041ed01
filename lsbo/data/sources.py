"""Reading the strings of a dataset: named datasets (``zinc250k`` from the cache or ``--data``, ``expr``
generated or from a file) and user files in three formats.

- ``.smi``: one SMILES per line, the first whitespace-separated field (later fields are names/ids);
- ``.csv``: the ``smiles`` column (case-insensitive), cells stripped of surrounding whitespace;
- ``.txt`` and any other suffix: the whole line, stripped of its line ending and surrounding blanks.

Every row is kept with its 1-based line number in the file: an empty row stays in the source (as an
empty string) so that preparation can report it as a reject instead of silently dropping it.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import importlib.util
import io
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsbo.data.manifests import ALIASES, EXPR, EXPR_DEFAULT_COUNT, EXPR_MAX_PRODUCTIONS, MOSES, ZINC250K, find_manifest
from lsbo.errors import DataError
from lsbo.persistence import atomic_write_text

TEXT_SUFFIXES = (".smi", ".txt", ".csv")


@dataclass
class StringSource:
    """The rows of a dataset in file order.

    ``strings[i]`` came from line ``lines[i]`` (1-based; for a CSV the line its record starts on, for a
    generated set its position). ``origin`` says where the rows came from, for summaries and logs.
    """

    strings: list[str]
    lines: list[int]
    origin: str
    name: str = "custom"  # dataset name ("zinc250k", "expr") or the file stem
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.strings) != len(self.lines):
            raise ValueError(f"{len(self.strings)} strings but {len(self.lines)} line numbers")

    def __len__(self) -> int:
        return len(self.strings)

    def head(self, limit: int | None) -> "StringSource":
        """The first ``limit`` rows (all rows when ``limit`` is None)."""
        if limit is None or limit >= len(self.strings):
            return self
        if limit < 0:
            raise DataError(f"limit must be positive, got {limit}", parameter="limit")
        return StringSource(self.strings[:limit], self.lines[:limit], self.origin, self.name, dict(self.metadata))


def _read_text(path: Path) -> str:
    """A dataset file's text, or a DataError naming the file when it is missing, binary or not UTF-8."""
    if not path.exists():
        raise DataError(f"dataset file not found: {path}")
    if path.is_dir():
        raise DataError(f"dataset path is a directory, expected a file: {path}")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"cannot read dataset file {path}: {err.strerror or err}") from err
    if path.suffix.lower() == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise DataError(f"dataset file {path} is not a readable gzip file: {err}") from err
    if b"\x00" in raw[:65536]:
        raise DataError(f"dataset file {path} looks binary (NUL bytes); expected text (.smi, .txt or .csv)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(f"dataset file {path} is not UTF-8 text (byte {err.start}); expected .smi, .txt or .csv") from err
    return text


def _split_lines(text: str) -> list[str]:
    # str.splitlines also splits on form feeds and other separators; datasets use \n or \r\n only.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final line ending does not start another row
    return lines


def read_smi(path: Path) -> tuple[list[str], list[int]]:
    """Rows of a ``.smi`` file: the first whitespace field of each line ('' for a blank line)."""
    rows = _split_lines(_read_text(path))
    strings = [(line.split() or [""])[0] for line in rows]
    return strings, list(range(1, len(rows) + 1))


def read_txt(path: Path) -> tuple[list[str], list[int]]:
    """Rows of a text file: each whole line, stripped."""
    rows = _split_lines(_read_text(path))
    return [line.strip() for line in rows], list(range(1, len(rows) + 1))


def read_csv(path: Path, column: str = "smiles") -> tuple[list[str], list[int]]:
    """The ``column`` cells of a CSV file (header matched case-insensitively), stripped, with the line
    each record starts on. A record too short to have the column yields '' (reported as empty)."""
    text = _read_text(path)
    # strict: an unclosed quote is an error, not a cell that silently swallows the rest of the file
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(f"CSV file {path} is empty; expected a header with a {column!r} column") from None
    except csv.Error as err:
        raise DataError(f"CSV file {path} is malformed at line {reader.line_num}: {err}") from err
    names = [name.strip().lower() for name in header]
    if column.lower() not in names:
        shown = ", ".join(repr(h) for h in header) or "(none)"
        raise DataError(f"CSV file {path} has no {column!r} column; its columns are: {shown}")
    index = names.index(column.lower())
    strings: list[str] = []
    lines: list[int] = []
    next_line = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            raise DataError(f"CSV file {path} is malformed in the record starting at line {next_line}: {err}") from err
        if record:  # csv yields [] for a blank line; keep it as an empty row
            strings.append(record[index].strip() if index < len(record) else "")
        else:
            strings.append("")
        lines.append(next_line)
        next_line = reader.line_num + 1
    return strings, lines


def read_file(path: Path, column: str = "smiles") -> StringSource:
    """A dataset file by its suffix (``.smi``, ``.csv``; anything else one string per line)."""
    path = Path(path).expanduser()
    suffixes = [s.lower() for s in path.suffixes]
    suffix = suffixes[-2] if len(suffixes) >= 2 and suffixes[-1] == ".gz" else path.suffix.lower()  # x.csv.gz is CSV
    if suffix == ".smi":
        strings, lines = read_smi(path)
    elif suffix == ".csv":
        strings, lines = read_csv(path, column)
    else:
        strings, lines = read_txt(path)
    return StringSource(strings, lines, origin=str(path), name=path.stem)


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
    from lsbo.data.progress import count_progress
    from lsbo.grammar import Grammar

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
        from lsbo.data.progress import download_progress

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


__all__ = ["StringSource", "load_strings", "moses_training_file", "read_csv", "read_file", "read_smi", "read_txt"]
