"""Shapes and sizes of the Grammar VAE networks (docs/protocols.md §2) and the presets."""

from __future__ import annotations

import pytest
import torch

from lsbo.errors import ConfigError
from lsbo.grammar import Grammar
from lsbo.models import GrammarCodec, SequenceDecoder, SequenceEncoder, build_autoencoder, model_config
from lsbo.models.config import family_for
from lsbo.models.networks import convolved_length


def test_encoder_and_decoder_shapes() -> None:
    encoder = SequenceEncoder(n_symbols=12, max_length=15, conv_filters=(2, 3, 4), conv_kernels=(2, 3, 4), dense_units=100, n_outputs=50)
    decoder = SequenceDecoder(latent_dim=25, max_length=15, gru_hidden=100, gru_layers=3, n_symbols=12)
    one_hot = torch.nn.functional.one_hot(torch.randint(0, 12, (7, 15)), 12).float()
    assert encoder(one_hot).shape == (7, 50)
    assert decoder(torch.randn(7, 25)).shape == (7, 15, 12)
    # flatten size: 4 filters x (15 - 1 - 2 - 3) remaining steps
    assert encoder.dense[1].in_features == 4 * convolved_length(15, (2, 3, 4)) == 36


def test_paper_zinc_model_has_the_published_sizes() -> None:
    grammar = Grammar.builtin("zinc")
    config = model_config("paper", family_for("zinc", grammar.max_length), regularizer="ae")
    model = build_autoencoder(GrammarCodec(grammar), config, batch_size=config.batch_size, rec_weight=1.0)
    convs = [m for m in model.encoder.convolutions if isinstance(m, torch.nn.Conv1d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0]) for c in convs] == [(76, 9, 9), (9, 9, 9), (9, 10, 11)]
    assert model.encoder.dense[1].out_features == 435
    assert model.encoder.output.out_features == 56  # ae: one deterministic code of size 56
    assert (model.decoder.gru.hidden_size, model.decoder.gru.num_layers) == (501, 3)
    assert model.decoder.output.out_features == 76 and model.decoder.max_length == 277
    assert (config.batch_size, config.epochs) == (500, 100)


def test_vae_encoder_emits_mean_and_log_variance() -> None:
    grammar = Grammar.builtin("expr")
    config = model_config("paper", "expressions", regularizer="vae")
    model = build_autoencoder(GrammarCodec(grammar), config, batch_size=8, rec_weight=1.0)
    assert model.encoder.output.out_features == 2 * 25


def test_kernels_wider_than_the_sequence_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="too wide for sequences of length 15"):
        SequenceEncoder(n_symbols=12, max_length=15, conv_filters=(9, 9, 10), conv_kernels=(9, 9, 11), dense_units=8, n_outputs=4)


def test_overrides_and_bad_values() -> None:
    config = model_config("cpu", "molecules", latent_dim=8, gru_hidden=None)
    assert config.latent_dim == 8 and config.gru_hidden == 256
    # library errors name the parameter (the command line maps it to its flag)
    with pytest.raises(ConfigError, match="preset 'huge'"):
        model_config("huge", "molecules")
    with pytest.raises(ConfigError, match="latent_dim must be between 1 and") as caught:
        model_config("cpu", "expressions", latent_dim=0)
    assert caught.value.parameter == "latent_dim"
    for bad_rate in (-1.0, 0.0, float("nan"), 1e300):
        with pytest.raises(ConfigError, match="learning_rate must be greater than 0"):
            model_config("cpu", "expressions", learning_rate=bad_rate)
    assert family_for("custom", 200) == "molecules" and family_for("custom", 20) == "expressions"


def test_encoder_on_indices_equals_the_encoder_on_one_hot_sequences() -> None:
    torch.manual_seed(0)
    encoder = SequenceEncoder(n_symbols=12, max_length=15, conv_filters=(2, 3, 4), conv_kernels=(3, 3, 4), dense_units=20, n_outputs=6)
    indices = torch.randint(0, 12, (7, 15))
    one_hot = torch.nn.functional.one_hot(indices, 12).float()
    direct = encoder(one_hot)
    gathered = encoder.forward_indices(indices)
    assert torch.allclose(gathered, direct, atol=1e-6)
    # and the same gradients for every weight
    grads = [torch.autograd.grad(out.square().sum(), list(encoder.parameters())) for out in (direct, gathered)]
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-5)


def first_layer_windows_reading(encoder: SequenceEncoder, indices: torch.Tensor, position: int) -> int:
    """How many of the first convolution's output positions change when the symbol at ``position`` does."""
    changed = indices.clone()
    changed[:, position] = (changed[:, position] + 1) % 12
    first = encoder.convolutions[0]
    one_hot = [torch.nn.functional.one_hot(i, 12).float().transpose(1, 2) for i in (indices, changed)]
    difference = (first(one_hot[0]) - first(one_hot[1])).abs().sum(dim=(0, 1))
    return int((difference > 0).sum())


def test_full_padding_lets_the_edge_symbols_enter_as_many_windows_as_the_others() -> None:
    torch.manual_seed(0)
    indices = torch.randint(0, 12, (3, 15))
    arguments = dict(n_symbols=12, max_length=15, conv_filters=(2, 3, 4), conv_kernels=(2, 3, 4), dense_units=20, n_outputs=6)
    valid = SequenceEncoder(**arguments)  # type: ignore[arg-type]
    full = SequenceEncoder(**arguments, padding="full")  # type: ignore[arg-type]
    # unpadded: the first and last symbols are read by one window of width 2, a middle one by two
    assert [first_layer_windows_reading(valid, indices, p) for p in (0, 7, 14)] == [1, 2, 1]
    assert [first_layer_windows_reading(full, indices, p) for p in (0, 7, 14)] == [2, 2, 2]
    # every full convolution lengthens the sequence by kernel - 1: 4 filters x (15 + 1 + 2 + 3)
    assert full.dense[1].in_features == 4 * convolved_length(15, (2, 3, 4), "full") == 84
    with pytest.raises(ConfigError, match="conv_padding 'same'") as caught:
        SequenceEncoder(**arguments, padding="same")  # type: ignore[arg-type]
    assert caught.value.parameter == "conv_padding"


def test_padded_encoder_on_indices_equals_the_encoder_on_one_hot_sequences() -> None:
    torch.manual_seed(1)
    encoder = SequenceEncoder(n_symbols=12, max_length=15, conv_filters=(2, 3, 4), conv_kernels=(3, 3, 4), dense_units=20,
                              n_outputs=6, padding="full")
    indices = torch.randint(0, 12, (7, 15))
    direct = encoder(torch.nn.functional.one_hot(indices, 12).float())
    gathered = encoder.forward_indices(indices)
    assert torch.allclose(gathered, direct, atol=1e-6)
    grads = [torch.autograd.grad(out.square().sum(), list(encoder.parameters())) for out in (direct, gathered)]
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-5)
