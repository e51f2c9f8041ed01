"""benchmarks/decoder_speed.py, which RESULTS.md's decoder timings rest on: it decodes what it says."""

from __future__ import annotations

import sys

import pytest


def test_decoder_speed_decodes_points_times_attempts_with_both_decoders(benchmark_script, monkeypatch, capsys) -> None:
    script = benchmark_script("decoder_speed")
    monkeypatch.setattr(sys, "argv", ["decoder_speed.py", "--grammar", "expr", "--points", "3", "--attempts", "4"])
    script.main()
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| repeat") or line.startswith("| autoregressive")]
    assert [row.split(" | ")[2] for row in rows] == ["3", "12", "3", "12"]  # points, then points x attempts


def test_decoder_speed_refuses_non_positive_counts(benchmark_script, monkeypatch) -> None:
    script = benchmark_script("decoder_speed")
    monkeypatch.setattr(sys, "argv", ["decoder_speed.py", "--attempts", "0"])
    with pytest.raises(SystemExit):
        script.main()
