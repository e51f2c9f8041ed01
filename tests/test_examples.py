"""The examples run as written (shortened by their own flags) and say what they promise."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_custom_grammar_example_trains_keeps_its_model_and_reports_reconstruction(tmp_path: Path) -> None:
    out = tmp_path / "custom"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "custom_grammar.py"), "--out", str(out), "--epochs", "1"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "held-out reconstruction:" in result.stdout and "prior samples:" in result.stdout
    assert (out / "model" / "checkpoint.pt").is_file()  # kept where --out says, not in a temporary folder
    config = json.loads((out / "model" / "config.json").read_text())["config"]
    assert config["batch_size"] == 4048 // 32 and config["decoder"] == "autoregressive"  # cpu preset, small-data batch
