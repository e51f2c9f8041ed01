"""lsbo.objectives.isolation: every way a call can end becomes a score or a reason, never a hang or a crash."""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import time

import pytest

from lsbo.errors import ConfigError
from lsbo.objectives import evaluate_safely
from lsbo.objectives.isolation import IsolationOptions, evaluate_isolated, exit_reason, strings_per_process
from lsbo.objectives.user import objective_from_callable


def _misbehaving(string: str) -> float | None:
    """A per-string objective whose input says how it ends."""
    if string == "sleep":
        time.sleep(60)  # far past any timeout used below: the call must be killed, not awaited
    if string == "raise":
        raise ValueError("bad molecule")
    if string == "exit":
        sys.exit(3)
    if string == "segfault":
        faulthandler.disable()  # pytest's handler, inherited by the fork, would print the whole stack
        os.kill(os.getpid(), signal.SIGSEGV)
    if string == "none":
        return None
    return float(len(string))


def _pid(string: str) -> float:
    return float(os.getpid())


def _batch_length(strings: list[str]) -> list[float]:
    return [float(len(s)) for s in strings]


_batch_length.batched = True  # type: ignore[attr-defined]


def test_every_failure_is_recorded_with_its_reason_and_the_rest_is_scored():
    objective = objective_from_callable(_misbehaving)
    strings = ["ab", "sleep", "raise", "exit", "segfault", None, "none", "abcd"]
    seen = []
    evaluations = evaluate_isolated(objective, strings, workers=2, timeout=0.5,
                                    on_result=lambda i, e, seconds: seen.append(i))
    assert [e.score for e in evaluations] == [2.0, None, None, None, None, None, None, 4.0]
    reasons = [e.error for e in evaluations]
    assert "timed out after 0.5 s" in reasons[1]
    assert reasons[2] == "ValueError: bad molecule"
    assert reasons[3] == "objective called sys.exit(3)"
    assert reasons[4] == "objective process was killed by SIGSEGV"
    assert reasons[5] == "no valid string was decoded"
    assert reasons[6] == "objective returned no score (invalid input)"
    assert sorted(seen) == list(range(len(strings)))  # each call reported exactly once


def test_scores_equal_in_process_scoring_and_come_from_child_processes():
    strings = ["a", "abc", "abcdef", "ab"]
    isolated = evaluate_isolated(objective_from_callable(_batch_length), strings, workers=3)
    assert isolated == evaluate_safely(objective_from_callable(_batch_length), strings)
    pids = {e.score for e in evaluate_isolated(objective_from_callable(_pid), strings, workers=2)}
    assert float(os.getpid()) not in pids


def test_a_timed_out_child_is_gone_afterwards():
    evaluations = evaluate_isolated(objective_from_callable(_pid), ["x"], timeout=30.0)
    child = int(evaluations[0].score)
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # reaped: not even a zombie remains
    [slept] = evaluate_isolated(objective_from_callable(_misbehaving), ["sleep"], timeout=0.3)
    assert not slept.valid and "timed out" in slept.error


def test_a_child_scores_a_chunk_and_a_death_costs_only_the_string_in_flight():
    # one worker, 12 strings: children of 3 strings each (strings_per_process); a death mid-chunk ends
    # that call only, and the chunk's remaining strings go to a new child
    strings = ["a", "exit", "abc", "ab", "segfault", "abcd", "raise", "abcde", "x", "xy", "xyz", "wxyz"]
    assert strings_per_process(len(strings), 1) == 3
    evaluations = evaluate_isolated(objective_from_callable(_misbehaving), strings, timeout=30.0)
    assert [e.score for e in evaluations] == [1.0, None, 3.0, 2.0, None, 4.0, None, 5.0, 1.0, 2.0, 3.0, 4.0]
    assert evaluations[1].error == "objective called sys.exit(3)"
    assert evaluations[4].error == "objective process was killed by SIGSEGV"
    pids = [e.score for e in evaluate_isolated(objective_from_callable(_pid), ["p"] * 12)]
    assert len(set(pids)) == 4 and os.getpid() not in pids  # 4 children of 3 strings, none of them this process


def test_a_fork_made_by_the_objective_never_returns_into_the_caller(tmp_path):
    marker = tmp_path / "returned"

    def forking(string: str) -> float:
        os.fork()
        return 1.0

    # in this process: the copy is ended before evaluate_safely returns in it (else it would run the test on)
    [evaluation] = evaluate_safely(objective_from_callable(forking), ["s"])
    marker.open("a").write(f"{os.getpid()}\n")
    assert evaluation.score == 1.0 and marker.read_text() == f"{os.getpid()}\n"


@pytest.mark.parametrize(("value", "reason"), [("1.5", "the text '1.5'"), (True, "a truth value"), (1e308, "beyond the +/-1e+150")])
def test_values_that_are_not_usable_scores_are_refused(value, reason):
    from lsbo.objectives.base import _checked

    assert not _checked(value).valid and reason in _checked(value).error
    [evaluation] = evaluate_safely(objective_from_callable(lambda s: value), ["s"])
    assert not evaluation.valid and reason in evaluation.error


def test_sys_exit_and_base_exceptions_in_this_process_are_reasons():
    class Stop(BaseException):
        pass

    def stopping(string: str) -> float:
        if string == "exit":
            sys.exit(5)
        raise Stop("halt")

    evaluations = evaluate_safely(objective_from_callable(stopping), ["exit", "stop"])
    assert [e.error for e in evaluations] == ["objective called sys.exit(5)", "Stop: halt"]


def test_exit_reason_names_signals_and_codes():
    assert exit_reason(-signal.SIGKILL) == "objective process was killed by SIGKILL"
    assert exit_reason(2) == "objective process exited with code 2 before returning a score"


@pytest.mark.parametrize(
    ("options", "parameter"),
    [(IsolationOptions(workers=0), "objective_calls.workers"), (IsolationOptions(workers=True), "objective_calls.workers"),
     (IsolationOptions(timeout=0), "objective_calls.timeout"), (IsolationOptions(timeout=float("nan")), "objective_calls.timeout")],
)
def test_bad_options_name_the_parameter(options, parameter):
    with pytest.raises(ConfigError, match=f"^{parameter} must be") as caught:
        options.validate()
    assert caught.value.parameter == parameter


def test_isolated_only_when_asked():
    assert not IsolationOptions().isolated
    assert IsolationOptions(workers=2).isolated and IsolationOptions(timeout=5).isolated


def test_a_child_holds_none_of_the_parents_directory_locks(tmp_path):
    from lsbo.persistence import DirectoryLock

    with DirectoryLock(tmp_path / "run") as lock:
        fd = lock._fd

        def lock_closed(string: str) -> float:
            try:
                os.fstat(fd)
            except OSError:
                return 1.0  # closed here: a child that outlived this process would not keep the run locked
            return 0.0

        [evaluation] = evaluate_isolated(objective_from_callable(lock_closed), ["s"])
        assert evaluation.score == 1.0
        os.fstat(fd)  # still open, and the lock still held, in this process
