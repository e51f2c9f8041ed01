"""User objectives that misbehave: each bad call is an invalid record with its reason, never a silent end,
a traceback, a hang or doubled records (#36 items 6, 7 and 8).

The objective scores the model's training strings normally (so the run starts) and misbehaves on every
string the optimisation proposes that is not one of them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lsbo.objectives.isolation import DEFAULT_TIMEOUT_SECONDS, IsolationOptions
from lsbo.objectives.user import load_target
from tests.conftest import run_cli

OBJECTIVE = '''
import os, sys, time

KNOWN = set(open({training!r}, encoding="utf-8").read().splitlines())


class Stop(BaseException):
    pass


def misbehaving(string):
    if string in KNOWN:
        return float(len(string))
    mode = {mode!r}
    if mode == "sys_exit":
        sys.exit(3)
    if mode == "os_exit":
        os._exit(4)
    if mode == "crash":
        import ctypes
        ctypes.string_at(0)  # a segmentation fault
    if mode == "hang":
        while True:
            time.sleep(60)
    if mode == "base_exception":
        raise Stop("stop")
    if mode == "close_stdout":
        sys.stdout.close()
        return 1.0
    if mode == "huge":
        return 1e308
    if mode == "text":
        return "1.5"
    if mode == "fork":
        os.fork()  # the copy returns too
        return float(len(string))
    raise AssertionError(mode)
'''

CALLS = 6  # 2 iterations x 3


def _run(model: Path, tmp_path: Path, mode: str, *extra: str) -> tuple[object, list[dict]]:
    module = tmp_path / f"objective_{mode}.py"
    module.write_text(OBJECTIVE.format(training=str(model / "train_strings.txt"), mode=mode))
    out = tmp_path / "run"
    result = run_cli("optimize", "--target", f"{module}:misbehaving", "--model", str(model), "--trials", "1", "--iterations", "2",
                     "--batch", "3", "--attempts", "2", "--max-train-points", "30", "--threads", "1", "--device", "cpu",
                     "--out", str(out), *extra, timeout=300)
    log = out / "trial_1" / "evaluations.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
    return result, records


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("os_exit", "objective process exited with code 4 before returning a score"),  # isolated by default
        ("close_stdout", None),  # the child's stdout, not lsbo's: the run prints its table
        ("huge", "objective returned 1e+308, beyond the +/-1e+150 a surrogate can standardise"),
        ("text", "misbehaving returned the text '1.5', a non-number"),
    ],
)
def test_a_misbehaving_call_is_an_invalid_record_and_the_run_goes_on(tiny_expr_model: Path, tmp_path: Path, mode: str,
                                                                      reason: str | None) -> None:
    # (every other way a call can end: tests/objectives/test_isolation.py)
    result, records = _run(tiny_expr_model, tmp_path, mode)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "(ours)" in result.stdout  # the table, printed on lsbo's own stdout
    assert len(records) == CALLS
    if reason is not None:
        assert any(reason in (r["error"] or "") for r in records)
        assert not any(r["valid"] for r in records if r["string"] is not None and not r["duplicate"])


def test_in_this_process_sys_exit_and_base_exceptions_are_invalid_records_too(tiny_expr_model: Path, tmp_path: Path) -> None:
    result, records = _run(tiny_expr_model, tmp_path, "base_exception", "--no-objective-isolation")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert len(records) == CALLS and any("Stop: stop" in (r["error"] or "") for r in records)


@pytest.mark.parametrize("isolation", ["--objective-isolation", "--no-objective-isolation"])
def test_an_objective_that_forks_writes_each_record_once(tiny_expr_model: Path, tmp_path: Path, isolation: str) -> None:
    result, records = _run(tiny_expr_model, tmp_path, "fork", isolation)
    assert result.returncode == 0, result.stderr[-3000:]
    keys = [(r["iteration"], r["index"]) for r in records]
    assert len(records) == CALLS and len(set(keys)) == CALLS
    assert "the copy returned into lsbo; it was ended" in result.stderr


def test_a_hanging_call_is_ended_by_the_timeout(tiny_expr_model: Path, tmp_path: Path) -> None:
    # the call never returns, so the outcome does not depend on how long the limit is
    result, records = _run(tiny_expr_model, tmp_path, "hang", "--objective-timeout", "0.5", "--budget", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(records) == 1 and "timed out after 0.5 s" in records[0]["error"]


def test_user_objectives_are_isolated_with_a_timeout_by_default(tmp_path: Path) -> None:
    module = tmp_path / "plain.py"
    module.write_text("def f(s):\n    return 1.0\n")
    objective = load_target(f"{module}:f")
    defaults = IsolationOptions()
    assert defaults.isolated_for(objective) and defaults.timeout_seconds == DEFAULT_TIMEOUT_SECONDS
    from lsbo.objectives import build_objective

    assert not defaults.isolated_for(build_objective("expr"))  # the built-in ones are trusted
    assert IsolationOptions(timeout=float("inf")).timeout_seconds is None


def test_a_text_direction_is_refused(tiny_expr_model: Path, tmp_path: Path) -> None:
    module = tmp_path / "direction.py"
    module.write_text("def f(s):\n    return float(len(s))\nf.maximize = 'False'\n")
    out = tmp_path / "run"
    result = run_cli("optimize", "--target", f"{module}:f", "--model", str(tiny_expr_model), "--out", str(out), "--device", "cpu")
    assert result.returncode == 1 and result.stderr.strip() == "error: objective 'f': maximize is 'False' (str); set it to True or False"
    assert not out.exists()
