"""``lsbo score`` through the real entry point: one score per input line, from a file or standard input."""

from __future__ import annotations

import subprocess
from pathlib import Path

from lsbo.objectives import build_objective
from tests.conftest import lsbo_executable, run_cli

ZALEPLON = "O=C(C)N(CC)C1=CC=CC(C2=CC=NC3=C(C=NN23)C#N)=C1"
LINES = ["CCO", "not a molecule", "", ZALEPLON, "c1ccccc1O", "C1CC"]


def _parse(stdout: str) -> list[float | None]:
    assert stdout.endswith("\n")
    return [float(value) if value else None for value in stdout[:-1].split("\n")]


def test_scores_a_file_one_line_per_input_empty_for_invalid(tmp_path: Path) -> None:
    path = tmp_path / "in.smi"
    path.write_text("\n".join(LINES) + "\n")
    for target in ("zaleplon_mpo", "sa", "qed", "logp-raw"):
        result = run_cli("score", "--target", target, "--batch-size", "4", str(path))  # two batches
        assert result.returncode == 0, result.stderr
        expected = build_objective(target)(LINES)
        assert _parse(result.stdout) == expected  # full precision: the printed repr round-trips
        assert expected[1] is None and expected[2] is None and expected[5] is None and expected[0] is not None


def test_reads_standard_input_with_dash() -> None:
    result = subprocess.run([*lsbo_executable(), "score", "--target", "celecoxib_rediscovery", "-"],
                            input="CC1=CC=C(C=C1)C1=CC(=NN1C1=CC=C(C=C1)S(N)(=O)=O)C(F)(F)F\nxyz",  # no final newline
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "1.0\n\n"


def test_a_plugin_objective_scores_too(tmp_path: Path) -> None:
    module = tmp_path / "length.py"
    module.write_text(
        "def score(strings: list[str]) -> list[float | None]:\n"
        "    return [float(len(s)) if s != 'bad' else None for s in strings]\n"
        "def fragile(string: str) -> float:\n"
        "    return 1.0 / (len(string) - 1)\n"
    )
    path = tmp_path / "in.txt"
    path.write_text("abc\nbad\nx\n")
    result = run_cli("score", "--target", f"{module}:score", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "3.0\n\n1.0\n" and result.stderr == ""
    # an input the objective raises on is left empty, and said once on stderr
    result = run_cli("score", "--target", f"{module}:fragile", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "0.5\n0.5\n\n"
    assert result.stderr.strip() == (
        "warning: the objective failed on 1 input(s), left empty (first: ZeroDivisionError: float division by zero)")


def test_unknown_target_is_one_line_naming_close_matches(tmp_path: Path) -> None:
    path = tmp_path / "in.smi"
    path.write_text("CCO\n")
    result = run_cli("score", "--target", "zaleplon", str(path))
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --target 'zaleplon'")
    assert "did you mean zaleplon_mpo?" in lines[0]


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    result = run_cli("score", "--target", "qed", str(tmp_path / "absent.smi"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: input file {tmp_path / 'absent.smi'}: no such file"
