"""A decoder plugin: an autoregressive LSTM in place of the built-in GRU (docs/extending.md).

    lsbo --plugin examples/plugins/lstm_decoder.py train expr --decoder lstm --out models/lstm

A decoder implements the step-wise interface of ``lsbo.models.decoders.StepDecoder``:
``training_logits`` (all steps at once with the true previous symbols), ``start`` (the state before
the first symbol) and ``step`` (the scores of the next symbol given the one chosen last), and says
where the batch is in each tensor of its state (``state_batch_dims``), so that finished rows can be
dropped and attempts repeated. The grammar's masked stack machine drives ``step`` at inference.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lsbo.models.decoders import DECODERS, DecoderState, StepDecoder


@DECODERS.register("lstm")
class LSTMDecoder(StepDecoder):
    name = "lstm"
    reads_previous = True
    state_batch_dims = (0, 1, 1)  # (code (N, d), hidden (layers, N, H), cell (layers, N, H))

    def __init__(self, latent_dim: int, max_length: int, gru_hidden: int, gru_layers: int, n_symbols: int,
                 input_batch_norm: bool = False) -> None:
        super().__init__(latent_dim, max_length, n_symbols, input_batch_norm)
        self.embedding = nn.Embedding(n_symbols + 1, 16)  # the last row is the start symbol
        self.initial = nn.Linear(latent_dim, gru_layers * gru_hidden)
        self.lstm = nn.LSTM(16 + latent_dim, gru_hidden, num_layers=gru_layers, batch_first=True)
        self.output = nn.Linear(gru_hidden, n_symbols)

    def _state(self, code: Tensor) -> tuple[Tensor, Tensor]:
        layers, width = self.lstm.num_layers, self.lstm.hidden_size
        hidden = torch.tanh(self.initial(code)).view(len(code), layers, width).transpose(0, 1).contiguous()
        return hidden, torch.zeros_like(hidden)

    def training_logits(self, z: Tensor, targets: Tensor, reference: Tensor | None = None) -> Tensor:
        code = self.normalise(z, reference)
        start = targets.new_full((len(targets), 1), self.n_symbols)
        previous = torch.cat((start, targets[:, :-1].long()), dim=1)
        inputs = torch.cat((self.embedding(previous), code.unsqueeze(1).expand(-1, previous.shape[1], -1)), dim=2)
        out, _ = self.lstm(inputs, self._state(code))
        return self.output(out)

    def start(self, z: Tensor) -> DecoderState:
        code = self.normalise(z)
        return (code, *self._state(code))

    def step(self, state: DecoderState, previous: Tensor | None) -> tuple[Tensor, DecoderState]:
        code, hidden, cell = state
        if previous is None:
            previous = torch.full((len(code),), self.n_symbols, dtype=torch.long, device=code.device)
        inputs = torch.cat((self.embedding(previous.long()), code), dim=1).unsqueeze(1)
        out, (hidden, cell) = self.lstm(inputs, (hidden, cell))
        return self.output(out[:, 0]), (code, hidden, cell)
