"""The one place the toolkit downloads anything.

Every remote file (full datasets, optional weights) goes through :func:`fetch`: it keeps the file in
the cache directory (``LSBO_CACHE_DIR``, see :mod:`lsbo.settings`), writes it atomically (a partial
download never takes the final name), checks it against the manifest's checksum when one is published
and otherwise records the checksum of the first download beside it and checks every later load
against that record. Without network the error names the file to provide, where to put it and the
``--data PATH`` flag that bypasses the download. Setting ``LSBO_OFFLINE=1`` makes every download
fail that way at once, without touching the network (air-gapped machines, tests of the command line).
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from lsbo.data.manifests import DatasetManifest
from lsbo.errors import DataError, DownloadError
from lsbo.persistence import atomic_write_bytes, atomic_write_text
from lsbo.progress import ProgressCallback
from lsbo.settings import cache_dir

DEFAULT_TIMEOUT_S = 60.0
OFFLINE_ENV = "LSBO_OFFLINE"
_CHUNK_BYTES = 1 << 20

Opener = Callable[..., IO[bytes]]


@dataclass(frozen=True)
class FileCheck:
    """What :func:`check_file` found about a local copy of a dataset."""

    path: Path
    sha256: str
    rows: int
    expected_rows: int | None
    expected_sha256: str | None  # the published or recorded checksum, None if neither exists

    @property
    def rows_match(self) -> bool:
        return self.expected_rows is None or self.rows == self.expected_rows

    @property
    def sha256_match(self) -> bool | None:
        """True/False against a known checksum, None when there is nothing to compare with."""
        return None if self.expected_sha256 is None else self.sha256 == self.expected_sha256


def downloads_dir() -> Path:
    """Directory of downloaded files inside the cache directory."""
    return cache_dir() / "downloads"


def cached_path(manifest: DatasetManifest) -> Path:
    """Where the cached copy of a dataset lives (whether or not it exists yet)."""
    return downloads_dir() / manifest.filename


def checksum_record_path(path: Path) -> Path:
    """The file holding the checksum recorded at the first download of ``path``."""
    return path.with_name(path.name + ".sha256")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def count_rows(path: Path, column: str | None = None, suffix: str | None = None) -> int:
    """Number of rows of a dataset file, counted by the reader ``lsbo data prepare`` and training use
    (:func:`lsbo.data.readers.read_file`), so both report the same total: CSV records, header
    excluded, for ``.csv`` (cells may span lines: the ZINC CSV quotes a newline into every SMILES);
    lines for ``.smi`` and text files. The format follows ``suffix`` (default: the file's own, e.g.
    the final name's suffix for a partial download)."""
    from lsbo.data.readers import read_csv, read_smi, read_txt

    kind = (suffix if suffix is not None else path.suffix).lower()
    if kind == ".csv":
        return len(read_csv(path, column or "smiles")[0])
    if kind == ".smi":
        return len(read_smi(path)[0])
    return len(read_txt(path)[0])


def recorded_sha256(path: Path) -> str | None:
    """The checksum recorded for ``path`` at its first download, if any."""
    record = checksum_record_path(path)
    if not record.is_file():
        return None
    fields = record.read_text(encoding="utf-8", errors="replace").split()
    return fields[0] if fields else None  # an emptied record is no record, not a crash


def record_sha256(path: Path, digest: str) -> None:
    """Record ``digest`` as the checksum of ``path`` (atomically, beside the file)."""
    atomic_write_text(checksum_record_path(path), f"{digest}  {path.name}\n")


def expected_sha256(manifest: DatasetManifest, path: Path) -> str | None:
    """The checksum a copy must have: the published one, else the one recorded at first download."""
    return manifest.sha256 or recorded_sha256(path)


def check_file(manifest: DatasetManifest, path: Path) -> FileCheck:
    """Checksum and row count of a local file, with what the manifest (or the record) expects."""
    if path.is_dir():
        raise DataError(f"dataset path is a directory, expected a file: {path}")
    if not path.is_file():
        raise DataError(f"dataset file not found: {path}")
    return FileCheck(
        path=path,
        sha256=sha256_file(path),
        rows=count_rows(path, manifest.column),
        expected_rows=manifest.rows,
        # Compare with the published checksum, else with the one recorded at the first download.
        expected_sha256=expected_sha256(manifest, cached_path(manifest)),
    )


def offline() -> bool:
    """Whether downloads are switched off (``LSBO_OFFLINE`` set to anything but '', 0, false, no)."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _offline_message(manifest: DatasetManifest, target: Path, reason: str) -> str:
    return (
        f"could not download {manifest.filename} from {manifest.url} ({reason}); "
        f"without network, put {manifest.filename} at {target} or pass data=PATH"
    )


def _stream_to(
    response: IO[bytes], out: BinaryIO, total: int | None, progress: ProgressCallback | None
) -> str:
    """Copy a response body into ``out`` and return its sha256 (computed on the fly)."""
    digest = hashlib.sha256()
    received = 0
    for block in iter(lambda: response.read(_CHUNK_BYTES), b""):
        out.write(block)
        digest.update(block)
        received += len(block)
        if progress is not None:
            progress(received, total)
    return digest.hexdigest()


def download(
    manifest: DatasetManifest,
    target: Path | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    opener: Opener | None = None,
    progress: ProgressCallback | None = None,
) -> Path:
    """Download ``manifest.url`` to ``target`` (default: the cache), check it, record its checksum.

    The body goes to a temporary file in the same directory and takes the final name only after the
    row count and (published) checksum agree, so an interrupted or wrong download never looks cached.
    """
    if manifest.url is None:
        raise DataError(f"dataset {manifest.name!r} has no download address; pass data=PATH", parameter=("data",))
    target = cached_path(manifest) if target is None else target
    if offline():
        raise DownloadError(_offline_message(manifest, target, f"{OFFLINE_ENV} is set"), parameter=("data",))
    open_url = urllib.request.urlopen if opener is None else opener
    url: str = manifest.url
    digests: list[str] = []

    def fetch_body(out: BinaryIO) -> None:
        try:
            with open_url(url, timeout=timeout) as response:
                length = response.headers.get("Content-Length") if hasattr(response, "headers") else None
                total = int(length) if length and str(length).isdigit() else None
                digests.append(_stream_to(response, out, total, progress))
        except (urllib.error.URLError, OSError, ValueError) as err:  # offline, refused, timeout, bad URL
            reason = getattr(err, "reason", None) or err
            raise DownloadError(_offline_message(manifest, target, str(reason)), parameter=("data",)) from err

    def check_body(partial: Path) -> None:
        digest = digests[0]
        if manifest.sha256 is not None and digest != manifest.sha256:
            raise DownloadError(
                f"downloaded {manifest.filename} has sha256 {digest}, expected {manifest.sha256} "
                f"(from {manifest.url}); pass a verified copy with data=PATH", parameter=("data",)
            )
        rows = count_rows(partial, manifest.column, suffix=Path(manifest.filename).suffix)
        if manifest.rows is not None and rows != manifest.rows:
            raise DownloadError(
                f"downloaded {manifest.filename} has {rows} rows, expected {manifest.rows} "
                f"(from {manifest.url}); pass a verified copy with data=PATH", parameter=("data",)
            )

    # The body goes to a temporary file beside the target and takes its name only once checked.
    atomic_write_bytes(target, fetch_body, check=check_body)
    record_sha256(target, digests[0])
    return target


def verify_cached(manifest: DatasetManifest, path: Path) -> Path:
    """Check a cached copy against the published or recorded checksum (recording it if neither exists).

    A copy placed in the cache by hand has no record yet: its checksum is recorded on this first load,
    exactly as for a download, and checked on every later one.
    """
    digest = sha256_file(path)
    expected = expected_sha256(manifest, path)
    if expected is None:
        record_sha256(path, digest)
        return path
    if digest != expected:
        source = "published" if manifest.sha256 else f"recorded in {checksum_record_path(path)}"
        raise DownloadError(
            f"cached {path} has sha256 {digest}, but the {source} checksum is {expected}; "
            f"the file changed since it was first downloaded: delete it to download again, or pass data=PATH", parameter=("data",)
        )
    return path


def fetch(
    manifest: DatasetManifest,
    *,
    data: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    opener: Opener | None = None,
    progress: ProgressCallback | None = None,
) -> Path:
    """A local path to the dataset: ``data`` when given, else the verified cached copy, else a download."""
    if data is not None:
        data = Path(data).expanduser()
        if not data.is_file():
            raise DataError(f"data {data}: file not found", parameter="data")
        return data
    target = cached_path(manifest)
    if target.is_file():
        return verify_cached(manifest, target)
    return download(manifest, target, timeout=timeout, opener=opener, progress=progress)


__all__ = [
    "FileCheck",
    "cached_path",
    "check_file",
    "checksum_record_path",
    "count_rows",
    "download",
    "downloads_dir",
    "fetch",
    "offline",
    "record_sha256",
    "recorded_sha256",
    "sha256_file",
    "verify_cached",
]
