"""``lsbo evaluate`` writes the training curves and warns about a degenerate model (#16 items 11 and 14)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import run_cli


def test_evaluate_writes_training_curves_and_states_its_warnings(tiny_expr_model: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_expr_model, model)  # the session's model stays untouched for the other tests
    result = run_cli("evaluate", str(model), "-n", "40", "--max-reconstruct", "20", "--threads", "1", "--device", "cpu")
    assert result.returncode == 0, result.stderr[-2000:]
    curves = model / "training_curves.png"
    assert curves.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and str(curves) in result.stdout
    from lsbo.diagnostics import model_warnings

    evaluation = json.loads((model / "evaluation.json").read_text())
    assert evaluation["warnings"] == model_warnings(evaluation)
    printed = [line.removeprefix("warning: ") for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert printed == evaluation["warnings"]
    # one epoch on 150 strings with 4 latent dimensions reconstructs none of its 15 validation strings:
    # said in a line of its own, not left to be read off the table
    assert evaluation["reconstruction_accuracy"] == 0 and evaluation["n_reconstructed"] == 15
    assert "the model reconstructs none of its 15 validation strings" in printed
