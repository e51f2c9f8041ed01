"""The Grammar VAE's decoder (Kusner et al., 2017; docs/protocols.md §2): the code repeated at every step.

Optionally a batch norm of the code, a dense layer (latent -> latent, ReLU) whose output is the input
of every step, a stack of GRU layers and a linear layer to one score per symbol and step. Step ``t``
never sees the symbols chosen before it, so the whole derivation must be carried by the code; that
is the paper's architecture (and the default of its presets), and it is why its molecule models
reconstruct nothing on a CPU budget (benchmarks/RESULTS.md). Its scores are computed for all steps
at once (:meth:`RepeatDecoder.precompute`), the path inference takes.

The batch norm on the code matters: without it a code that stays small (nothing in a plain
autoencoder, an RAE or a VAE's KL makes it spread out) feeds the ReLU layer an almost constant input,
and the decoder learns the marginal distribution of the sequences instead of reading the code
(benchmarks/RESULTS.md, "Why the baselines did not learn").
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from lsbo.models.decoders.base import DECODERS, DecoderState, StepDecoder

__all__ = ["RepeatDecoder"]


@DECODERS.register("repeat")
class RepeatDecoder(StepDecoder):
    """Latent ``(N, d)`` -> logits ``(N, T, C)`` through a repeated dense layer and stacked GRUs."""

    name = "repeat"
    reads_previous = False
    state_batch_dims = (0, 1)  # (input (N, d), GRU hidden (layers, N, H))

    def __init__(
        self, latent_dim: int, max_length: int, gru_hidden: int, gru_layers: int, n_symbols: int,
        input_batch_norm: bool = False,
    ) -> None:
        super().__init__(latent_dim, max_length, n_symbols, input_batch_norm)
        self.dense = nn.Sequential(nn.Linear(latent_dim, latent_dim), nn.ReLU())
        self.gru = nn.GRU(latent_dim, gru_hidden, num_layers=gru_layers, batch_first=True)
        self.output = nn.Linear(gru_hidden, n_symbols)

    def forward(self, z: Tensor, steps: int | None = None, reference: Tensor | None = None) -> Tensor:
        """Logits ``(N, steps, C)`` of the first ``steps`` steps (default: all ``max_length``).

        The GRU is causal and its input is the same at every step, so the first ``steps`` outputs do
        not depend on how many steps are run: training runs only as many as the loss needs.
        ``reference``: see :meth:`normalise`.
        """
        steps = self.max_length if steps is None else int(steps)
        repeated = self.dense(self.normalise(z, reference)).unsqueeze(1).expand(-1, steps, -1)
        hidden, _ = self.gru(repeated.contiguous())
        return self.output(hidden)

    def training_logits(self, z: Tensor, targets: Tensor, reference: Tensor | None = None) -> Tensor:
        return self(z, int(targets.shape[1]), reference=reference)

    def precompute(self, z: Tensor, steps: int | None = None) -> Tensor:
        return self(z, steps)

    def start(self, z: Tensor) -> DecoderState:
        inputs = self.dense(self.normalise(z))
        hidden = inputs.new_zeros(self.gru.num_layers, z.shape[0], self.gru.hidden_size)
        return (inputs, hidden)

    def step(self, state: DecoderState, previous: Tensor | None) -> tuple[Tensor, DecoderState]:
        inputs, hidden = state
        out, hidden = self.gru(inputs.unsqueeze(1), hidden)
        return self.output(out[:, 0]), (inputs, hidden)

    def settings(self) -> dict[str, Any]:
        return {"name": self.name, "gru_hidden": self.gru.hidden_size, "gru_layers": self.gru.num_layers}
