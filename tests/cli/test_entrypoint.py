"""The console script itself: installed, answers --help, turns library errors into one line."""

from __future__ import annotations

from tests.conftest import run_cli


def test_help_lists_usage() -> None:
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: lsbo" in result.stdout


def test_unknown_command_fails_without_traceback() -> None:
    result = run_cli("no-such-command")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
