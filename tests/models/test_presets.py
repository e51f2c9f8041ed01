"""The presets users get: ``auto`` resolves by device, ``cpu`` is the measured CPU configuration, ``paper`` the paper's."""

from __future__ import annotations

import pytest

from lsbo.bo.results import training_comparison
from lsbo.diagnostics import MIN_LEARNT_RECONSTRUCTION, reconstruction_summary
from lsbo.errors import ConfigError
from lsbo.models import model_config
from lsbo.models.config import resolve_preset


@pytest.mark.parametrize("family", ["molecules", "expressions"])
def test_cpu_preset_is_the_autoregressive_padded_configuration_and_paper_keeps_the_reference(family: str) -> None:
    cpu, paper = model_config("cpu", family), model_config("paper", family)
    assert (cpu.decoder, cpu.conv_padding, cpu.rec_weight, cpu.init) == ("autoregressive", "full", 30.0, "glorot")
    assert (paper.decoder, paper.conv_padding, paper.rec_weight) == ("repeat", "valid", 1.0)
    assert cpu.latent_dim == paper.latent_dim  # latent spaces stay comparable with the paper's
    # a flag still overrides the preset
    assert model_config("cpu", family, decoder="repeat", rec_weight=1.0).decoder == "repeat"


def test_auto_preset_is_cpu_without_a_cuda_device() -> None:
    assert resolve_preset("auto", "cpu") == "cpu"
    assert resolve_preset("PAPER", "cpu") == "paper"  # an explicit preset is kept whatever the device
    assert model_config("auto", "expressions", ).preset in ("cpu", "paper")
    with pytest.raises(ConfigError, match="preset 'gpu'"):
        resolve_preset("gpu")


def test_reconstruction_summary_reads_the_best_epoch_and_warns_below_the_threshold() -> None:
    history = [{"epoch": 1, "val_rec_acc": 0.2}, {"epoch": 2, "val_rec_acc": 0.95}, {"epoch": 3, "val_rec_acc": 0.9}]
    assert reconstruction_summary(history, 2) == (0.95, [])
    accuracy, warnings = reconstruction_summary(history, 1)
    assert accuracy == 0.2 < MIN_LEARNT_RECONSTRUCTION and "20.0%" in warnings[0] and "has not learnt" in warnings[0]
    assert reconstruction_summary([{"epoch": 1, "val_loss": 3.0}], 1) == (None, [])  # image models: no such number


def test_training_comparison_says_better_or_not_and_whether_it_is_a_rediscovery() -> None:
    base = {"maximize": False, "best_training_score": 0.4}
    better = training_comparison({**base, "aggregate": {"top3": [{"string": "x", "score": 0.1, "rediscovery": False}]}})
    assert "better than the best training string (0.4)" in better and "not a training string" in better
    worse = training_comparison({**base, "aggregate": {"top3": [{"string": "x * x", "score": 0.7, "rediscovery": True}]}})
    assert "not as good as" in worse and "rediscovery" in worse
    assert "no valid string" in training_comparison({**base, "aggregate": {"top3": []}})
    maximizing = training_comparison({"maximize": True, "best_training_score": 2.0,
                                      "aggregate": {"top3": [{"string": "C", "score": 3.0}]}})
    assert "better than" in maximizing


def test_cpu_presets_shrink_the_batch_for_small_datasets_only() -> None:
    from lsbo.models.config import MIN_BATCH_SIZE, MIN_STEPS_PER_EPOCH, small_data_batch_size

    assert small_data_batch_size(256, 9000) == 256  # the paper's 10k expressions: the preset's batch
    assert small_data_batch_size(256, 1047) == 1047 // MIN_STEPS_PER_EPOCH == 32  # a small user grammar
    assert small_data_batch_size(256, 100) == MIN_BATCH_SIZE
