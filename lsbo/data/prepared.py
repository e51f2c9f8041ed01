"""A prepared dataset and its files: the accepted rows encoded, the rejected ones explained.

A prepared directory holds ``indices.npy`` (production or character indices, compact unsigned
dtype), ``lines.npy`` (source line of each accepted row), ``strings.txt`` (accepted rows, one per
line), ``rejects.csv`` (``line,input,reason,detail``) and ``summary.json``; every file is replaced
atomically through :mod:`lsbo.persistence`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from lsbo.data.checks import Reject
from lsbo.errors import DataError
from lsbo.persistence import atomic_write_bytes, atomic_write_text, write_json


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


def rejects_csv_text(rejects: Sequence[Reject]) -> str:
    """``rejects.csv`` content: header ``line,input,reason,detail``, one row per reject in source order."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["line", "input", "reason", "detail"])
    for r in rejects:
        writer.writerow([r.line, r.input, r.reason, r.detail])
    return buffer.getvalue()


def write_rejects(path: Path, rejects: Sequence[Reject]) -> None:
    """Write :func:`rejects_csv_text` to ``path`` atomically."""
    atomic_write_text(path, rejects_csv_text(rejects))


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
        atomic_write_bytes(out_dir / name, partial(np.save, arr=array))
    atomic_write_text(out_dir / "strings.txt", "".join(s + "\n" for s in prepared.strings))
    write_rejects(out_dir / "rejects.csv", prepared.rejects)
    write_json(out_dir / "summary.json", prepared.summary)


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
