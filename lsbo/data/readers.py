"""Reading dataset files in three formats, each row with its 1-based line number.

- ``.smi``: one SMILES per line, the first whitespace-separated field (later fields are names/ids);
- ``.csv``: the ``smiles`` column (case-insensitive), cells stripped of surrounding whitespace;
- ``.txt`` and any other suffix: the whole line, stripped of its line ending and surrounding blanks;
- any of them gzip-compressed, with ``.gz`` after the suffix (``train.csv.gz`` is a CSV).

An empty row stays in the source (as an empty string) so that preparation can report it as a reject
instead of silently dropping it. :mod:`lsbo.data.sources` finds a dataset's file; this module reads one.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsbo.errors import DataError

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
