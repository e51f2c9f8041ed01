"""The decoder's batch norm of the code, the encoder's batch norms and the Keras initialisation
(the fix of "Why the baselines did not learn", benchmarks/RESULTS.md)."""

from __future__ import annotations

import math

import torch

from lsbo.grammar import Grammar
from lsbo.models import GrammarCodec, SequenceDecoder, build_autoencoder, model_config
from lsbo.models.config import SequenceModelConfig
from lsbo.models.networks import glorot_init_


def _decoder(**kwargs) -> SequenceDecoder:
    torch.manual_seed(0)
    return SequenceDecoder(latent_dim=6, max_length=5, gru_hidden=8, gru_layers=2, n_symbols=4, **kwargs)


def test_in_training_the_normalised_decoder_reads_a_small_code_as_a_spread_one(single_torch_thread) -> None:
    # A code that stays small (std 0.05 here) reaches the dense ReLU layer at unit scale, so the
    # decoder's output does not depend on how far the code has spread.
    codes = torch.randn(64, 6, generator=torch.Generator().manual_seed(1))
    normalised = _decoder(input_batch_norm=True).train()
    torch.testing.assert_close(normalised(0.05 * codes + 0.3), normalised(codes), atol=2e-3, rtol=0)
    plain = _decoder().train()
    assert (plain(0.05 * codes + 0.3) - plain(codes)).abs().max() > 1e-2


def test_in_evaluation_decoding_a_point_does_not_depend_on_its_batch(single_torch_thread) -> None:
    decoder = _decoder(input_batch_norm=True).train()
    decoder(torch.randn(128, 6) * 0.1)  # running statistics move from (0, 1)
    decoder.eval()
    batch = torch.randn(10, 6)
    alone = torch.cat([decoder(batch[i : i + 1]) for i in range(10)])
    torch.testing.assert_close(decoder(batch), alone)
    # and it is the affine map of the running statistics
    norm = decoder.code_norm
    expected = (batch - norm.running_mean) / torch.sqrt(norm.running_var + norm.eps) * norm.weight + norm.bias
    torch.testing.assert_close(norm(batch), expected)


def test_a_lone_training_code_is_normalised_with_the_running_statistics(single_torch_thread) -> None:
    decoder = _decoder(input_batch_norm=True).train()
    decoder(torch.randn(32, 6) * 0.1 + 1.0)
    code = torch.randn(1, 6)
    with torch.no_grad():
        trained = decoder(code)  # no error for a batch of one, and no update of the running statistics
        mean = decoder.code_norm.running_mean.clone()
        decoder.eval()
        torch.testing.assert_close(trained, decoder(code))
    torch.testing.assert_close(decoder.code_norm.running_mean, mean)


def test_glorot_initialisation_matches_its_definition() -> None:
    decoder = glorot_init_(_decoder())
    dense = decoder.dense[0]
    assert dense.weight.abs().max() <= math.sqrt(6.0 / (6 + 6)) and torch.all(dense.bias == 0)
    hidden = decoder.gru.hidden_size
    for layer in range(decoder.gru.num_layers):
        recurrent = getattr(decoder.gru, f"weight_hh_l{layer}")
        for gate in recurrent.chunk(3, dim=0):  # each gate's (hidden, hidden) block is orthogonal
            torch.testing.assert_close(gate @ gate.T, torch.eye(hidden), atol=1e-5, rtol=0)
        inputs = getattr(decoder.gru, f"weight_ih_l{layer}")
        fan_in = inputs.shape[1]
        assert inputs.abs().max() <= math.sqrt(6.0 / (fan_in + hidden))
        assert torch.all(getattr(decoder.gru, f"bias_ih_l{layer}") == 0) and torch.all(getattr(decoder.gru, f"bias_hh_l{layer}") == 0)


def test_new_models_normalise_the_code_and_old_checkpoints_keep_their_architecture() -> None:
    config = model_config("cpu", "expressions", regularizer="ae")
    assert config.decoder_batch_norm is True
    model = build_autoencoder(GrammarCodec(Grammar.builtin("expr")), config, batch_size=8, rec_weight=1.0)
    assert isinstance(model.decoder.code_norm, torch.nn.BatchNorm1d)
    # a configuration stored before these fields existed describes a network without batch norms
    stored = {k: v for k, v in config.to_dict().items()
              if k not in ("encoder_batch_norm", "decoder_batch_norm", "init", "conv_padding")}
    old = SequenceModelConfig.from_dict(stored)
    assert (old.encoder_batch_norm, old.decoder_batch_norm, old.init, old.conv_padding) == (False, False, "torch", "valid")
    legacy = build_autoencoder(GrammarCodec(Grammar.builtin("expr")), old, batch_size=8, rec_weight=1.0)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in legacy.modules())
