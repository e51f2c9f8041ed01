"""`lsbo prior` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lsbo.regularizers.figure import figure1_curves, sample_sizes_up_to


def test_prior_info_reports_spacing_and_weights(cli) -> None:
    result = cli("prior", "info", "--dim", "10", "--components", "10", "--batch-size", "50", "--weight-batches", "5", "--json", "--device", "cpu")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["min_mean_distance"] >= 6.0
    assert summary["lambda_ks"] > 0 and summary["lambda_cv"] > 0


def test_prior_info_rejects_bad_dimension(cli) -> None:
    result = cli("prior", "info", "--dim", "0")
    assert result.returncode == 2
    assert "--dim" in result.stderr
    assert "Traceback" not in result.stderr


def test_prior_figure_writes_a_png(cli, tmp_path: Path) -> None:
    out = tmp_path / "fig" / "figure1.png"
    result = cli("prior", "figure", "--out", str(out), "--max-samples", "40", "--repeats", "2", "--weight-batches", "5")
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "correlated" in result.stdout


def test_prior_figure_rejects_non_png(cli, tmp_path: Path) -> None:
    result = cli("prior", "figure", "--out", str(tmp_path / "figure.pdf"))
    assert result.returncode == 1 and "PNG" in result.stderr and "Traceback" not in result.stderr


def test_figure1_curves_tell_the_story() -> None:
    """At N=1000 the KS distance cannot separate z2 = z1 from the prior; our loss separates it widely."""
    curves = figure1_curves(sample_sizes_up_to(1000, min_samples=1000), dims=(2,), repeats=5, n_weight_batches=20)
    ks, ours = curves.ks_distance[2], curves.our_loss[2]
    prior_label, correlated_label = "prior N(0, I)", "correlated: z2 = z1 (prior marginals)"
    assert np.median(ks[correlated_label][-1]) < 3 * np.median(ks[prior_label][-1])
    assert np.median(ours[correlated_label][-1]) > 30 * np.median(ours[prior_label][-1])


def test_too_few_samples_names_the_parameter() -> None:
    from lsbo.errors import ConfigError

    with pytest.raises(ConfigError, match="^max_samples must be at least 10, got 5$") as caught:
        sample_sizes_up_to(5)
    assert caught.value.parameter == "max_samples"
