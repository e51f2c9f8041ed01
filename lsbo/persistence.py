"""File persistence: atomic writes, validated reads, append-only logs and directory ownership.

Every file lsbo writes goes through this module, so one set of guarantees holds everywhere:

* a replaced file (checkpoint, ``config.json``, ``results.json``, a table) is written to a temporary
  file in the same directory, flushed, fsync'ed and moved over the old one with :func:`os.replace`,
  so a process killed at any moment (or a full disk) leaves the old file or the new one, never half
  of each, and never a stray temporary file;
* an append-only log (``evaluations.jsonl``) gets whole lines only, each flushed and fsync'ed before
  the call returns, and a reader tolerates a torn last line (the write that was in flight);
* a directory that a long run owns (a model or optimisation directory) is held with
  :class:`DirectoryLock`, an advisory ``flock`` the kernel releases when the holder dies, so a second
  process is refused with a message naming the holder and a crashed one never leaves a stale lock;
* a file that is a symbolic link is never read, appended to or locked through (:func:`refuse_link`):
  a run or model file replaced by a link would otherwise send lsbo's reads and appends outside the
  directory it owns (replacing a file, :func:`atomic_write_bytes`, swaps the link itself, never its
  target).
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from lsbo.errors import LsboError

LOCK_NAME = ".lsbo.lock"

logger = logging.getLogger(__name__)


class PersistenceError(LsboError):
    """A file could not be written or read back as expected (disk full, malformed content, ...)."""


class DirectoryLockedError(PersistenceError):
    """Another live process owns the directory."""


def refuse_link(path: Path | str, what: str = "file") -> None:
    """Refuse a ``path`` that is a symbolic link (a :class:`PersistenceError` naming it and its target).

    lsbo's run and model files are its own; one replaced by a link (to a file outside the directory,
    say) is not followed, since appending to it or reading it would act on whatever it points at.
    """
    if os.path.islink(path):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        raise PersistenceError(f"{what} {path} is a symbolic link (to {target}); lsbo does not follow links in the "
                               "directories it writes: replace it by the file itself")


def refuse_linked_dirs(root: Path | str, path: Path | str, *, is_folder: bool = False) -> Path:
    """``path`` (below ``root``), refused when any folder between ``root`` and it (``path`` too, when
    ``is_folder``) is a symbolic link.

    ``root`` itself may be a link (the user chose it); the folders lsbo makes inside it may not, since
    a folder replaced by a link would send every file written into it outside ``root``.
    """
    root, path = Path(root), Path(path)
    current = root
    parts = path.relative_to(root).parts
    for part in parts if is_folder else parts[:-1]:
        current = current / part
        refuse_link(current, "folder")
    return path


# --------------------------------------------------------------------------------------------------
# atomic replacement


def atomic_write_bytes(
    path: Path | str, write: Callable[[BinaryIO], Any], *, check: Callable[[Path], Any] | None = None
) -> Path:
    """Call ``write(fileobj)`` on a temporary file beside ``path``, fsync it and rename it over ``path``.

    Args:
        path: the file to create or replace; its directory is created when missing.
        write: a function writing the whole content to the binary file object it is given.
        check: called with the temporary file's path once it is complete, before the rename; an
            exception it raises leaves ``path`` untouched (e.g. a download whose row count is wrong).

    Returns:
        ``path``.

    Raises:
        PersistenceError: when the file cannot be written (e.g. the disk is full); the old file, if
            any, is untouched and no temporary file remains.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise PersistenceError(f"cannot write {path}: {err.strerror or err}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if check is not None:
            check(Path(tmp_name))
        os.replace(tmp_name, path)
    except BaseException as err:
        # Never leave a stray temporary file behind, whatever interrupted the write.
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        if isinstance(err, OSError):
            raise PersistenceError(f"cannot write {path}: {err.strerror or err}") from None
        raise
    _fsync_directory(path.parent)
    return path


def atomic_write_text(path: Path | str, text: str) -> Path:
    """Atomically replace a text file with ``text`` (UTF-8)."""
    data = text.encode("utf-8")
    return atomic_write_bytes(path, lambda handle: handle.write(data))


def write_json(path: Path | str, payload: Any, *, indent: int | None = 2, sort_keys: bool = False) -> Path:
    """Atomically replace ``path`` with ``payload`` as JSON (non-finite floats are refused)."""
    try:
        text = json.dumps(payload, indent=indent, allow_nan=False, sort_keys=sort_keys)
    except ValueError as err:
        raise PersistenceError(f"cannot write {path}: {err}") from None
    return atomic_write_text(path, text + "\n")


def save_figure(figure: Any, path: Path | str, *, dpi: int = 120) -> Path:
    """Atomically write a matplotlib figure; the format follows the suffix (``.png``, ``.pdf``, ...)."""
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    return atomic_write_bytes(path, lambda handle: figure.savefig(handle, format=fmt, dpi=dpi))


def _fsync_directory(directory: Path) -> None:
    # The rename itself is durable only once the directory entry is flushed (POSIX); not every
    # platform allows opening a directory, in which case the rename is still atomic, just not synced.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------------
# validated reads


def read_json(path: Path | str, *, expect: type | tuple[type, ...] | None = dict, what: str = "file") -> Any:
    """Read a JSON file, failing with one line naming the file when it is missing or malformed.

    Args:
        path: the file.
        expect: the type the top-level value must have (``None`` accepts any).
        what: what the file is, for the message (e.g. ``"run description"``).

    Raises:
        PersistenceError: missing, unreadable, not JSON, or of the wrong top-level type.
    """
    path = Path(path)
    refuse_link(path, what)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PersistenceError(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as err:
        raise PersistenceError(f"{what} {path} cannot be read: {err}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise PersistenceError(f"{what} {path} is not valid JSON (line {err.lineno}: {err.msg})") from None
    if expect is not None and not isinstance(value, expect):
        names = " or ".join(t.__name__ for t in (expect if isinstance(expect, tuple) else (expect,)))
        raise PersistenceError(f"{what} {path} holds a {type(value).__name__}, expected a JSON {names}")
    return value


# --------------------------------------------------------------------------------------------------
# append-only JSON lines


def append_jsonl(path: Path | str, record: Any, *, separators: tuple[str, str] | None = None) -> None:
    """Append one JSON record as a whole line, flushed and fsync'ed before returning.

    ``separators`` is passed to :func:`json.dumps` (e.g. ``(",", ":")`` for compact lines).

    A torn line left by a process killed mid-write is completed with a newline first, so the new
    record always starts on its own line (:func:`read_jsonl` then skips the torn one).
    """
    path = Path(path)
    try:
        line = json.dumps(record, allow_nan=False, separators=separators)
    except ValueError as err:
        raise PersistenceError(f"cannot append to {path}: {err}") from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        refuse_link(path)
        # O_NOFOLLOW as well: a link made between the check and the open is refused by the kernel
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "ab+") as handle:
            prefix = b""
            if handle.tell() > 0:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    prefix = b"\n"
            handle.write(prefix + line.encode("utf-8") + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as err:
        raise PersistenceError(f"cannot append to {path}: {err.strerror or err}") from None


@dataclass(frozen=True)
class JsonLine:
    """One non-blank line of a JSON-lines file, as :func:`jsonl_lines` yields it.

    ``value`` is the parsed JSON, or None with ``error`` saying why the line does not parse;
    ``is_tail`` marks the piece after the last newline (a write that may have been in flight).
    """

    number: int
    value: Any
    error: str | None
    is_tail: bool


def jsonl_lines(raw: bytes) -> Iterator[JsonLine]:
    """The non-blank lines of a JSON-lines file's content ``raw``, parsed, in file order.

    The torn-tail rule lives here, once: a final piece without its newline that does not parse is
    the write that was in flight when a process died, and is not yielded. Any other line that does
    not parse is yielded with its ``error``, for the caller to refuse in its own words.
    """
    pieces = raw.split(b"\n")
    for number, piece in enumerate(pieces, start=1):
        is_tail = number == len(pieces)  # the piece after the last newline ("" when the file ends cleanly)
        if not piece.strip():
            continue
        try:
            value, error = json.loads(piece.decode("utf-8")), None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            if is_tail:
                return
            value, error = None, str(err)
        yield JsonLine(number, value, error, is_tail)


def read_jsonl_bytes(path: Path | str, *, what: str = "file") -> bytes | None:
    """The content of a JSON-lines file (None when it does not exist)."""
    path = Path(path)
    refuse_link(path, what)
    if not path.exists():
        return None
    try:
        return path.read_bytes()
    except OSError as err:
        raise PersistenceError(f"{what} {path} cannot be read: {err.strerror or err}") from None


def read_jsonl(path: Path | str, *, what: str = "file") -> list[Any]:
    """Read a JSON-lines file written by :func:`append_jsonl`.

    Blank lines are skipped, and so is a torn final line (:func:`jsonl_lines`). Any other malformed
    line is an error naming the file and line, since silently dropping it would lose or repeat work.

    Returns:
        The records in file order; ``[]`` when the file does not exist.
    """
    raw = read_jsonl_bytes(path, what=what)
    records = []
    for line in jsonl_lines(raw or b""):
        if line.error is not None:
            raise PersistenceError(f"{what} {path}, line {line.number}: not valid JSON ({line.error})")
        records.append(line.value)
    return records


# --------------------------------------------------------------------------------------------------
# directory ownership


#: File descriptors of the locks this process holds (:func:`close_inherited_locks`).
_HELD_LOCK_FDS: set[int] = set()


def close_inherited_locks() -> None:
    """In a forked child: close the descriptors of the parent's directory locks it inherited.

    A ``flock`` lives as long as any descriptor of its open file refers to it, so a child that outlived
    its parent (a hung objective call) would otherwise keep the parent's run directory locked, and the
    resumed run would be refused as "in use". Closing the child's copies leaves the parent's lock held.
    """
    for fd in list(_HELD_LOCK_FDS):
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD_LOCK_FDS.clear()


class DirectoryLock:
    """Exclusive ownership of a directory by one process, for as long as the lock is held.

    The lock is an advisory ``flock`` on ``DIR/.lsbo.lock``, which holds the owner's pid and command
    for the refusal message. The kernel drops the lock when the owning process exits in any way
    (including ``kill -9``), so a stale lock file never blocks a later run: it is simply re-locked.

    Example:
        >>> with DirectoryLock(out_dir, purpose="lsbo train"):
        ...     train(...)
    """

    def __init__(self, directory: Path | str, *, purpose: str = "lsbo") -> None:
        self.directory = Path(directory)
        self.purpose = purpose
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        return self.directory / LOCK_NAME

    def acquire(self, *, wait: bool = False) -> "DirectoryLock":
        """Take the lock, or raise :class:`DirectoryLockedError` naming the live holder.

        Args:
            wait: wait for a held lock instead of refusing it: one line naming the holder is logged,
                then the call blocks until the holder releases the lock or exits (for short critical
                sections that several processes share).
        """
        if self._fd is not None:
            return self
        if self.directory.exists() and not self.directory.is_dir():
            raise PersistenceError(f"{self.directory} is a file, not a directory")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            refuse_link(self.path, "lock file")
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as err:
            raise PersistenceError(f"cannot lock {self.directory}: {err.strerror or err}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                if not wait or err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                logger.info("waiting for %s to finish with %s", _read_holder(fd), self.directory)
                fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as err:
            holder = _read_holder(fd)
            os.close(fd)
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise DirectoryLockedError(
                    f"{self.directory} is in use by another process ({holder}); wait for it to finish, "
                    f"stop it, or use another directory"
                ) from None
            raise PersistenceError(f"cannot lock {self.directory}: {err.strerror or err}") from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}: {self.purpose}\n".encode())
        self._fd = fd
        _HELD_LOCK_FDS.add(fd)
        return self

    def release(self) -> None:
        """Give the lock up (the lock file stays; it means nothing once unlocked)."""
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            _HELD_LOCK_FDS.discard(self._fd)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> "DirectoryLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 200).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "holder unknown"


@contextmanager
def owned_directory(directory: Path | str, *, purpose: str = "lsbo") -> Iterator[DirectoryLock]:
    """Hold :class:`DirectoryLock` on ``directory`` for the ``with`` block.

    When the block fails and the directory did not exist before, it is removed again if nothing
    but the lock file was put in it, so a refused command (a bad flag found inside) leaves no trace.
    """
    directory = Path(directory)
    existed = directory.exists()
    lock = DirectoryLock(directory, purpose=purpose).acquire()
    try:
        yield lock
    except BaseException:
        if not existed:
            try:
                if [p.name for p in directory.iterdir()] == [LOCK_NAME]:
                    lock.path.unlink()
                    directory.rmdir()
            except OSError:
                pass  # something else appeared meanwhile: leave it
        raise
    finally:
        lock.release()

