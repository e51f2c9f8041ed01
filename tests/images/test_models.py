"""The convolutional autoencoder of docs/protocols.md §5 with the regularizers plugged in."""

from __future__ import annotations

import pytest
import torch

from lsbo.errors import ConfigError
from lsbo.images.models import PAPER_WIDTHS, ImageModelConfig, build_image_model


def test_paper_preset_follows_protocols_section_5() -> None:
    fashion = ImageModelConfig.from_preset("fashion-mnist", "paper")
    assert (fashion.latent_dim, fashion.n_components, fashion.image_size, fashion.channels) == (10, 10, 32, 1)
    assert fashion.widths == PAPER_WIDTHS and fashion.batch_size == 100 and fashion.epochs == 100
    assert fashion.learning_rate == pytest.approx(2e-4) and fashion.rec_weight == pytest.approx(1 / 5e-4)
    celeba = ImageModelConfig.from_preset("celeba", "paper")
    assert (celeba.latent_dim, celeba.n_components, celeba.image_size) == (64, 20, 64)
    assert ImageModelConfig.from_preset("svhn", "paper").latent_dim == 100


@pytest.mark.parametrize("regularizer", ["gmm", "vae", "cvvae", "rae", "wae", "ae"])
def test_every_regularizer_trains_one_step(regularizer: str) -> None:
    torch.manual_seed(0)
    config = ImageModelConfig.from_preset("mnist", "cpu", regularizer=regularizer, widths=(4, 8, 8, 8), batch_size=16)
    model = build_image_model(config, generator=torch.Generator().manual_seed(0))
    images = torch.rand(16, 1, 32, 32)
    losses = model.compute_losses((images, torch.zeros(16, dtype=torch.long)))
    assert torch.isfinite(losses.total) and "rec" in losses.terms
    assert model.encoder(images).shape == (16, model.regularizer.n_encoder_outputs * config.latent_dim)
    losses.total.backward()
    assert all(p.grad is not None for p in model.encoder.parameters())
    model.eval()
    decoded = model.decode(torch.randn(3, config.latent_dim))
    assert decoded.shape == (3, 1, 32, 32) and float(decoded.min()) >= 0.0 and float(decoded.max()) <= 1.0


def test_celeba_sized_decoder_starts_at_4x4() -> None:
    config = ImageModelConfig.from_preset("celeba", "cpu", widths=(4, 8, 8, 8), regularizer="ae")
    model = build_image_model(config).eval()
    assert model.decoder.side == 4
    assert model.reconstruct(torch.rand(2, 3, 64, 64)).shape == (2, 3, 64, 64)


def test_unknown_preset_and_bad_widths_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="preset 'huge'"):
        ImageModelConfig.from_preset("mnist", "huge")
    with pytest.raises(ConfigError, match="widths"):
        ImageModelConfig.from_preset("mnist", "cpu", widths=(8, 8))


def test_config_round_trips_through_a_dict() -> None:
    config = ImageModelConfig.from_preset("mnist", "cpu", regularizer_options={"use_ks": False})
    assert ImageModelConfig.from_dict(config.to_dict()) == config
