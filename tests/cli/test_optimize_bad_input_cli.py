"""Bad optimize/quickstart input: one line before anything is written (#16 items 6 and 7, optimize side)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli


def _optimize(model: Path, out: Path, *extra: str) -> list[str]:
    return ["optimize", "--target", "expr", "--model", str(model), "--trials", "1", "--iterations", "1", "--batch", "2",
            "--attempts", "2", "--threads", "1", "--device", "cpu", "--out", str(out), *extra]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--batch", "200000"], "--batch 200000 asks batch EI for"),
        (["--attempts", "1000000000"], "--attempts 1000000000: must be 1 to 5000"),
        (["--max-train-points", "-5"], "--max-train-points -5"),
        (["--threads", "0"], "--threads must be between 1 and 1024 (got 0)"),
    ],
)
def test_sizes_that_cannot_work_are_refused_in_one_line(tiny_expr_model: Path, tmp_path: Path, flags: list[str], message: str) -> None:
    out = tmp_path / "run"
    result = run_cli(*_optimize(tiny_expr_model, out), *flags)  # the later flag wins over the default one
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert message in result.stderr and result.stderr.strip().count("\n") == 0
    assert not out.exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--strategy", "tubro"], "error: --strategy 'tubro': expected one of protocol, turbo (did you mean turbo?)"),
        (["--surrogate", "local"], "error: --surrogate 'local' with --strategy protocol: expected one of auto, exact, sparse"),
        (["--objective-workers", "0"], "error: --objective-workers must be a whole number of at least 1, got 0"),
        (["--retrain-every", "0"], "error: --retrain-every must be at least 1, got 0"),
        (["--batch", "0"], "error: --batch must be at least 1, got 0"),
        (["--novel-only"], "error: --novel-only needs points ranked beyond the batch, which --strategy protocol with "
                           "--acquisition qlogei does not give (use --strategy turbo with --acquisition ts)"),
    ],
)
def test_library_refusals_name_the_flags(tiny_expr_model: Path, tmp_path: Path, flags: list[str], message: str) -> None:
    # the library names its parameters (tests/bo, tests/objectives); the command line shows the flags
    out = tmp_path / "run"
    result = run_cli(*_optimize(tiny_expr_model, out), *flags)
    assert result.returncode == 1 and result.stderr.strip() == message, result.stderr[-2000:]
    assert not out.exists()


def test_a_non_integer_size_is_a_usage_error_not_a_traceback(tiny_expr_model: Path, tmp_path: Path) -> None:
    result = run_cli(*_optimize(tiny_expr_model, tmp_path / "run"), "--attempts", "1e9")
    assert result.returncode == 2 and "--attempts" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["optimize", "quickstart"])
def test_out_naming_an_existing_file_is_refused(tiny_expr_model: Path, tmp_path: Path, command: str) -> None:
    out = tmp_path / "results.txt"
    out.write_text("keep me\n")
    args = _optimize(tiny_expr_model, out) if command == "optimize" else ["quickstart", "--out", str(out), "--threads", "1"]
    result = run_cli(*args)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"--out {out} is a file" in result.stderr and out.read_text() == "keep me\n"


def test_hand_edited_record_is_named_with_file_and_line_on_resume(tiny_expr_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert run_cli(*_optimize(tiny_expr_model, out)).returncode == 0
    log = out / "trial_1" / "evaluations.jsonl"
    lines = log.read_text().splitlines()
    edited = json.loads(lines[1]) | {"iteration": "one"}
    log.write_text("\n".join([lines[0], json.dumps(edited)]) + "\n")
    result = run_cli(*_optimize(tiny_expr_model, out), "--resume")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {log}, line 2: \"iteration\" is \"one\"")
