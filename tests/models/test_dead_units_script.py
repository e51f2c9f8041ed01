"""benchmarks/dead_units.py, whose counts RESULTS.md's account of the seed spread rests on: its per-unit
activity against the convolutions run by hand, and a filter made dead on purpose found dead."""

from __future__ import annotations

import pytest
import torch

from lsbo.grammar import Grammar
from lsbo.models import GrammarCodec, build_autoencoder, model_config

STRINGS = ["x", "x+1", "sin(x)*2", "exp(x)/3", "(x+2)*x", "x*x+sin(1)", "3/exp(x)", "sin(x+x)", "1+2*x", "exp(2)"]


@pytest.fixture()
def dead_units(benchmark_script):
    return benchmark_script("dead_units")


def test_relu_activity_matches_the_convolutions_run_by_hand_and_finds_a_dead_filter(dead_units) -> None:
    grammar = Grammar.builtin("expr")
    codec = GrammarCodec(grammar)
    config = model_config("paper", "expressions", regularizer="ae", seed=4)  # 2/3/4 filters, as in RESULTS.md
    model = build_autoencoder(codec, config, batch_size=8, rec_weight=1.0).eval()
    indices, ok = codec.encode(STRINGS)
    assert ok.all()
    batch = torch.from_numpy(indices)
    second = model.encoder.convolutions[2]
    with torch.no_grad():  # filter 0 of the second convolution: negative on the non-negative ReLU output
        second.weight[0].fill_(-1.0)
        second.bias[0] = -0.1
    found = dead_units.relu_activity(model, batch)

    one_hot = torch.nn.functional.one_hot(batch, model.encoder.convolutions[0].in_channels).float().transpose(1, 2)
    with torch.no_grad():
        after_second = model.encoder.convolutions[:4](one_hot)  # conv, ReLU, conv, ReLU: (N, 3, positions)
    expected = (after_second > 0).float().mean(dim=(0, 2))
    assert found["encoder.convolutions.3"].shape == (3,)
    assert torch.allclose(found["encoder.convolutions.3"], expected)
    assert float(found["encoder.convolutions.3"][0]) == 0.0  # the filter made dead is found dead
    assert float(found["encoder.convolutions.3"][1:].max()) > 0.0
    assert found["decoder.dense.1"].shape == (config.latent_dim,)
