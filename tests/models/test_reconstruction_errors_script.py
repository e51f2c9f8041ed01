"""benchmarks/reconstruction_errors.py, on which RESULTS.md's account of the plain autoencoder's missing 80% rests:
its token comparison and its code-distance scale against direct computations."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture()
def script(benchmark_script):
    return benchmark_script("reconstruction_errors")


def test_token_differences_of_substitutions_and_length_changes(script) -> None:
    assert script.token_differences(["x", "+", "1"], ["x", "+", "1"]) == []
    assert script.token_differences(["x", "*", "1"], ["1", "*", "1"]) == [(0, "x", "1")]
    assert script.token_differences(["x", "+", "1"], ["x"]) == [(1, "+", "<end>"), (2, "1", "<end>")]
    assert script.token_differences(["x"], ["x", "+", "2"]) == [(1, "<end>", "+"), (2, "<end>", "2")]


def test_nearest_other_distance_matches_a_direct_computation(script) -> None:
    generator = torch.Generator().manual_seed(0)
    codes = torch.randn(7, 3, generator=generator)
    codes[5] = codes[2]  # a duplicate: its nearest other is at distance 0
    found = script.nearest_other_distance(codes)
    for i in range(len(codes)):
        others = [float((codes[i] - codes[j]).norm()) for j in range(len(codes)) if j != i]
        assert float(found[i]) == pytest.approx(min(others), abs=1e-5)
    assert float(found[2]) == pytest.approx(0.0, abs=1e-5) and float(found[5]) == pytest.approx(0.0, abs=1e-5)
