"""benchmarks/char_first_symbol.py, on which RESULTS.md's account of the character VAE's missing 80% rests: its
first-difference rule on direct examples, and the premise of its probes checked by direct computation on the
paper-preset expression encoder (the first character reaches each valid convolution through window 0 alone)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lsbo.data import CharVocabulary
from lsbo.models import CharCodec, build_autoencoder, model_config

STRINGS = ["1 + x", "x * 2 + sin( x )", "3 / exp( x )", "2 + 3 * x", "x + x", "sin( 1 ) + ( x )"]


@pytest.fixture()
def script(benchmark_script):
    return benchmark_script("char_first_symbol")


def test_first_difference_of_equal_wrong_and_missing_decodings(script) -> None:
    assert script.first_difference("1 + x", "1 + x") is None
    assert script.first_difference("1 + x", "2 + x") == 0
    assert script.first_difference("1 + x", "1 + 3") == 4
    assert script.first_difference("1 + x", "1 +") == 3  # a decoding that stops early differs where it stops
    assert script.first_difference("1 + x", None) == -1


def test_the_first_character_reaches_each_convolution_through_window_0_alone(script) -> None:
    codec = CharCodec(CharVocabulary.build(STRINGS))
    config = model_config("paper", "expressions", model="char", regularizer="vae", seed=3)  # 2/3/4 filters, kernels 2/3/4
    model = build_autoencoder(codec, config, batch_size=8, rec_weight=1.0).eval()
    indices, ok = codec.encode(STRINGS)
    assert ok.all()
    batch = torch.from_numpy(indices)
    changed = batch.clone()
    changed[:, 0] = (changed[:, 0] + 1) % codec.n_symbols  # another first character, the rest unchanged

    _, first_layers = script.window_outputs(model, batch, 0)
    assert [w.shape[1] for w in first_layers] == list(config.conv_filters)
    with torch.no_grad():  # window 0 of the first layer by hand: ReLU(W . one-hot(x0, x1) + b)
        one_hot = torch.nn.functional.one_hot(batch[:, :2], codec.n_symbols).float()
        conv = model.encoder.convolutions[0]
        by_hand = torch.relu(torch.einsum("fck,nkc->nf", conv.weight, one_hot) + conv.bias)
    np.testing.assert_allclose(first_layers[0], by_hand.numpy(), rtol=1e-5, atol=1e-6)

    layers = [m for m in model.encoder.convolutions if isinstance(m, torch.nn.Conv1d)]
    with torch.no_grad():
        def conv_outputs(x: torch.Tensor) -> list[torch.Tensor]:
            h = torch.nn.functional.one_hot(x, codec.n_symbols).float().transpose(1, 2)
            found = []
            for layer in layers:
                h = torch.relu(layer(h))
                found.append(h)
            return found

        for before, after in zip(conv_outputs(batch), conv_outputs(changed)):
            differs = (before - after).abs().amax(dim=(0, 1)) > 0  # per window
            assert not bool(differs[1:].any())  # only window 0 of every layer can see the first character
    codes_before, _ = script.window_outputs(model, batch, 0)
    codes_after, _ = script.window_outputs(model, changed, 0)
    assert not np.allclose(codes_before, codes_after)  # and through window 0 it still reaches the code
