"""Weighted retraining: rank weights against a direct computation, and a fine-tuning that keeps the
model's regularizer, resumes and yields a loadable model directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lsbo.bo.retraining import RETRAIN_FILE, RetrainOptions, fine_tune, rank_weights, retrain_due
from lsbo.errors import ConfigError


def test_rank_weights_against_direct_computation() -> None:
    targets = np.array([0.3, -1.0, 2.5, 0.3, 7.0, -4.0])
    k = 1e-3
    n = len(targets)
    weights = rank_weights(targets, k)
    # direct: the best (7.0) has rank 0, then 2.5, the two 0.3s (first seen first), -1.0, -4.0
    ranks = {4: 0, 2: 1, 0: 2, 3: 3, 1: 4, 5: 5}
    for index, rank in ranks.items():
        assert weights[index] == pytest.approx(1.0 / (k * n + rank))
    assert np.argmax(weights) == 4 and weights[4] == pytest.approx(1 / (k * n))
    # torch input, and k large makes the weights nearly uniform
    flat = rank_weights(torch.tensor(targets), 1e6)
    assert flat.max() / flat.min() == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ConfigError, match="^k must be positive, got 0.0$"):
        rank_weights(targets, 0.0)


def test_retrain_due_counts_crossings() -> None:
    assert retrain_due(40, 50, 50) and retrain_due(45, 55, 50) and not retrain_due(50, 99, 50) and retrain_due(99, 150, 50)
    with pytest.raises(ConfigError, match="^retrain.every must be at least 1, got 0$"):
        RetrainOptions(every=0).validate()


def test_fine_tune_keeps_the_regularizer_and_is_loadable(tiny_gmm_expr_model_dir: Path, tmp_path: Path) -> None:
    from lsbo.models import load_model

    model = load_model(tiny_gmm_expr_model_dir, device="cpu")
    strings = model.training_strings()[:60] + ["x * x * x", "sin( x ) + 1"]
    targets = np.linspace(0.0, 1.0, len(strings))
    out = tmp_path / "retrain_1"
    before = {k: v.clone() for k, v in model.autoencoder.state_dict().items()}
    fine_tune(model, strings, targets, out, RetrainOptions(every=10, epochs=1, samples_per_epoch=64, batch_size=16), seed=0)
    assert (out / RETRAIN_FILE).is_file()
    tuned = load_model(out, device="cpu")
    after = tuned.autoencoder.state_dict()
    prior_keys = [k for k in before if k.startswith("regularizer.")]
    assert prior_keys, "a GMM-KS model has its prior and eq. 10 weights in the regularizer"
    for key in prior_keys:  # the fixed GMM prior and eq. 10 weights (buffers) are kept
        if key not in dict(model.autoencoder.named_parameters()):
            assert torch.equal(before[key], after[key]), key
    changed = [k for k in before if k.startswith("encoder.") and not torch.equal(before[k], after[k])]
    assert changed, "fine-tuning moved the encoder"
    assert torch.equal(model.autoencoder.state_dict()[changed[0]], before[changed[0]])  # the caller's model is untouched
    assert tuned.training_strings() == model.training_strings() and tuned.config.regularizer == model.config.regularizer
    # finished: a second call returns at once without training
    mtime = (out / "checkpoint.pt").stat().st_mtime_ns
    fine_tune(model, strings, targets, out, RetrainOptions(every=10), seed=0)
    assert (out / "checkpoint.pt").stat().st_mtime_ns == mtime
