"""lsbo.persistence: atomic replacement, validated reads, torn JSONL tails, directory locks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lsbo.persistence import (
    DirectoryLock,
    DirectoryLockedError,
    PersistenceError,
    append_jsonl,
    atomic_write_bytes,
    atomic_write_text,
    read_json,
    read_jsonl,
    write_json,
)


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "a.txt"
    atomic_write_text(target, "one\n")
    atomic_write_text(target, "two\n")
    assert target.read_text() == "two\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.txt"]


def test_failed_write_keeps_old_file_and_removes_temporary(tmp_path):
    target = tmp_path / "a.bin"
    atomic_write_text(target, "old")

    def explode(handle):
        handle.write(b"partial")
        raise OSError(28, "No space left on device")

    with pytest.raises(PersistenceError, match="No space left"):
        atomic_write_bytes(target, explode)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_interrupt_during_write_keeps_old_file(tmp_path):
    target = tmp_path / "a.txt"
    atomic_write_text(target, "old")

    def interrupted(handle):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(target, interrupted)
    assert target.read_text() == "old" and len(list(tmp_path.iterdir())) == 1


def test_json_round_trip_and_refusals(tmp_path):
    path = write_json(tmp_path / "r.json", {"a": [1, 2.5, "x"]})
    assert read_json(path) == {"a": [1, 2.5, "x"]}
    with pytest.raises(PersistenceError, match="r.json"):
        write_json(path, {"a": float("nan")})
    assert read_json(path) == {"a": [1, 2.5, "x"]}  # the refused write changed nothing
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(PersistenceError, match=r"bad\.json is not valid JSON \(line 1"):
        read_json(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[1]")
    with pytest.raises(PersistenceError, match="holds a list, expected a JSON dict"):
        read_json(tmp_path / "list.json", what="run description")
    with pytest.raises(PersistenceError, match="does not exist"):
        read_json(tmp_path / "missing.json")


def test_jsonl_append_read_and_torn_tail(tmp_path):
    path = tmp_path / "e.jsonl"
    assert read_jsonl(path) == []
    append_jsonl(path, {"i": 1})
    append_jsonl(path, {"i": 2})
    with open(path, "ab") as handle:  # a process killed mid-write
        handle.write(b'{"i": 3, "str')
    assert read_jsonl(path) == [{"i": 1}, {"i": 2}]
    append_jsonl(path, {"i": 4})  # starts on its own line; the torn one is now in the middle
    with pytest.raises(PersistenceError, match="line 3: not valid JSON"):
        read_jsonl(path)


def test_jsonl_lines_is_the_one_torn_tail_rule():
    from lsbo.persistence import JsonLine, jsonl_lines

    # blank lines skipped; a bad middle line is yielded with its error; a torn tail is not yielded
    lines = list(jsonl_lines(b'{"i": 1}\n\nbad\n{"i": 2}\n{"i": 3, "str'))
    assert [(line.number, line.value, line.error is None, line.is_tail) for line in lines] == [
        (1, {"i": 1}, True, False), (3, None, False, False), (4, {"i": 2}, True, False),
    ]
    # a whole last line without its newline parses: it is yielded, marked as the tail
    assert list(jsonl_lines(b'{"i": 1}\n7')) == [JsonLine(1, {"i": 1}, None, False), JsonLine(2, 7, None, True)]
    assert list(jsonl_lines(b"")) == []


def test_jsonl_malformed_middle_line_names_it(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text('{"i": 1}\ngarbage\n{"i": 2}\n')
    with pytest.raises(PersistenceError, match=r"e\.jsonl, line 2"):
        read_jsonl(path, what="evaluations")


def test_directory_lock_refuses_second_owner_and_names_holder(tmp_path):
    with DirectoryLock(tmp_path, purpose="lsbo train"):
        with pytest.raises(DirectoryLockedError, match=rf"pid {os.getpid()}: lsbo train"):
            DirectoryLock(tmp_path).acquire()
    with DirectoryLock(tmp_path) as again:  # released: free again
        assert again.held


def test_waiting_for_a_held_lock_logs_the_holder_then_takes_it_once_released(tmp_path):
    import logging
    import threading

    announced = threading.Event()

    class Announce(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage() == f"waiting for pid {os.getpid()}: first to finish with {tmp_path}":
                announced.set()

    handler = Announce()
    logging.getLogger("lsbo.persistence").addHandler(handler)
    logging.getLogger("lsbo.persistence").setLevel(logging.INFO)
    try:
        first = DirectoryLock(tmp_path, purpose="first").acquire()
        second = DirectoryLock(tmp_path, purpose="second")
        waiter = threading.Thread(target=second.acquire, kwargs={"wait": True})
        waiter.start()
        assert announced.wait(timeout=60)  # it waits (instead of refusing) and says for whom
        assert not second.held
        first.release()
        waiter.join(timeout=60)
        assert second.held and "second" in (tmp_path / ".lsbo.lock").read_text()
        second.release()
    finally:
        logging.getLogger("lsbo.persistence").removeHandler(handler)
        logging.getLogger("lsbo.persistence").setLevel(logging.NOTSET)


def test_lock_of_a_killed_process_is_not_stale(tmp_path):
    # A process that takes the lock and dies without releasing it (os._exit skips every cleanup).
    code = (
        "import os, sys; from lsbo.persistence import DirectoryLock; "
        f"DirectoryLock({str(tmp_path)!r}, purpose='doomed').acquire(); os._exit(9)"
    )
    result = subprocess.run([sys.executable, "-c", code], env={**os.environ}, timeout=120)
    assert result.returncode == 9
    assert "doomed" in (tmp_path / ".lsbo.lock").read_text()  # the file is left behind...
    with DirectoryLock(tmp_path, purpose="next"):  # ...but locks again at once
        assert json.dumps("ok")
