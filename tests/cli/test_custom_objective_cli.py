"""A custom objective in either form through ``lsbo optimize`` (#16 item 9)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli

OBJECTIVES = '''
def unmarked(strings):
    return [float(len(s)) for s in strings]

def annotated(strings: list[str]) -> list[float]:
    return [float(len(s)) for s in strings]
'''


def test_batch_objective_unmarked_shows_reasons_and_marked_runs(tiny_expr_model: Path, tmp_path: Path) -> None:
    (tmp_path / "lengths.py").write_text(OBJECTIVES)
    out = tmp_path / "run"

    def optimize(function: str):
        return run_cli("optimize", "--target", f"{tmp_path / 'lengths.py'}:{function}", "--model", str(tiny_expr_model),
                       "--trials", "1", "--iterations", "1", "--batch", "2", "--attempts", "2", "--max-train-points", "40",
                       "--threads", "1", "--device", "cpu", "--out", str(out))

    refused = optimize("unmarked")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    last = refused.stderr.strip().splitlines()[-1]
    assert "only 0 of 40 training strings could be encoded and scored by unmarked" in last
    assert "First reasons: '" in last and last.count("returned a list for one string") == 3
    accepted = optimize("annotated")  # same --out: nothing was scored, so the run starts afresh
    assert accepted.returncode == 0, accepted.stderr[-2000:]
    assert "(ours)" in accepted.stdout
