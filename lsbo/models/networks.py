"""Encoder and decoder networks of the Grammar VAE (Kusner et al., 2017; docs/protocols.md §2).

Both work on one-hot sequences of ``n_symbols`` classes (grammar productions, or characters for the
CVAE baseline) of fixed length ``max_length``:

- :class:`SequenceEncoder`: 1-D convolutions (ReLU, optionally each followed by batch norm) over the
  sequence, flatten, a dense layer (ReLU), and a last linear layer with ``n_outputs`` features. The
  paper's regularizer decides how many: ``reg.n_encoder_outputs * latent_dim`` (a code, or a mean and
  log-variance). The convolutions are unpadded (``valid``), as in the reference; ``full`` padding
  (``kernel - 1`` zeros on each side) is an option because unpadded ones let the first symbol reach
  the code through a single window per layer, which the paper's character VAE fails to read
  (benchmarks/RESULTS.md, "the expression encoder's first convolution").
- the decoders live in :mod:`lsbo.models.decoders` (``SequenceDecoder`` here is the paper's
  repeated-latent one, :class:`~lsbo.models.decoders.RepeatDecoder`). Masking by the grammar happens
  outside the networks (:mod:`lsbo.models.autoencoder`), so the same decoders serve both codecs.

The batch norms after each convolution are those of the Grammar VAE's expression model (the one
on the code belongs to the decoders).
:func:`glorot_init_` gives the initialisation of the reference (Keras) layers.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from lsbo.errors import ConfigError
from lsbo.models.decoders.repeat import RepeatDecoder
from lsbo.options import CONV_PADDINGS


def convolved_length(length: int, kernels: Sequence[int], padding: str = "valid") -> int:
    """Sequence length after stride-1 convolutions with the given kernel sizes: unpadded (``valid``,
    each one shortens the sequence by ``kernel - 1``) or ``full`` (``kernel - 1`` zeros on both sides,
    each one lengthens it by ``kernel - 1``)."""
    sign = 1 if padding == "full" else -1
    for kernel in kernels:
        length = length + sign * (kernel - 1)
    return length


class SequenceEncoder(nn.Module):
    """One-hot ``(N, T, C)`` → ``(N, n_outputs)`` through convolutions and a dense layer."""

    def __init__(
        self,
        n_symbols: int,
        max_length: int,
        conv_filters: Sequence[int],
        conv_kernels: Sequence[int],
        dense_units: int,
        n_outputs: int,
        batch_norm: bool = False,
        padding: str = "valid",
    ) -> None:
        super().__init__()
        if len(conv_filters) != len(conv_kernels):
            raise ConfigError(
                f"encoder: {len(conv_filters)} filter counts but {len(conv_kernels)} kernel sizes"
            )
        if padding not in CONV_PADDINGS:
            raise ConfigError(
                f"conv_padding {padding!r}: expected one of {', '.join(CONV_PADDINGS)}", parameter="conv_padding"
            )
        self.padding = padding
        remaining = convolved_length(max_length, conv_kernels, padding)
        if remaining < 1:
            raise ConfigError(
                f"encoder: convolution kernels {list(conv_kernels)} are too wide for sequences of length "
                f"{max_length}; choose smaller kernels"
            )
        layers: list[nn.Module] = []
        channels = n_symbols
        for filters, kernel in zip(conv_filters, conv_kernels):
            pad = kernel - 1 if padding == "full" else 0
            layers += [nn.Conv1d(channels, filters, kernel, padding=pad), nn.ReLU()]
            if batch_norm:
                layers.append(nn.BatchNorm1d(filters))
            channels = filters
        self.convolutions = nn.Sequential(*layers)
        self.dense = nn.Sequential(nn.Flatten(), nn.Linear(channels * remaining, dense_units), nn.ReLU())
        self.output = nn.Linear(dense_units, n_outputs)

    def forward(self, one_hot: torch.Tensor) -> torch.Tensor:
        # Conv1d wants channels first: the symbol classes are the input channels.
        hidden = self.convolutions(one_hot.transpose(1, 2))
        return self.output(self.dense(hidden))

    def forward_indices(self, indices: torch.Tensor) -> torch.Tensor:
        """``forward(one_hot(indices))`` for symbol indices ``(N, T)``, without the one-hot tensor.

        The first convolution of a one-hot sequence is a sum of weight columns: at position ``t``,
        ``bias + sum_k W[:, indices[t + k], k]``. Gathering those columns costs ``K`` lookups per
        position instead of a ``C``-channel convolution and its weight gradient (a seventh of the
        time for ZINC's 76 channels on a CPU; equal to the convolution up to float rounding). With
        ``full`` padding the zeros are symbol ``C``, whose weight columns are zero.
        """
        first = self.convolutions[0]
        out_channels, in_channels, width = first.weight.shape
        indices = indices.long()
        if self.padding == "full":
            indices = F.pad(indices, (width - 1, width - 1), value=in_channels)
        positions = indices.shape[1] - width + 1
        # row k * (C + 1) + c of `columns` is W[:, c, k], and row k * (C + 1) + C (the padding's) is zero;
        # window (n, t) reads rows k * (C + 1) + indices[n, t + k]
        columns = F.pad(first.weight.permute(2, 1, 0), (0, 0, 0, 1)).reshape(width * (in_channels + 1), out_channels)
        offsets = torch.arange(width, device=indices.device) * (in_channels + 1)
        rows = (indices.unfold(1, width, 1) + offsets).reshape(-1)
        gathered = columns.index_select(0, rows).view(indices.shape[0], positions, width, out_channels)
        hidden = (gathered.sum(dim=2) + first.bias).transpose(1, 2)
        hidden = self.convolutions[1:](hidden)
        return self.output(self.dense(hidden))


#: The paper's decoder, under its earlier name (:class:`lsbo.models.decoders.RepeatDecoder`).
SequenceDecoder = RepeatDecoder


def glorot_init_(module: nn.Module) -> nn.Module:
    """Re-initialise ``module``'s layers in place as Keras does by default, and return it.

    Dense and convolution weights Glorot-uniform, GRU input weights Glorot-uniform and recurrent
    weights orthogonal (each per gate, as Keras' separate gate matrices), every bias zero. Batch norms
    keep their (1, 0) affine start. PyTorch's default (Kaiming-uniform with a = sqrt(5), uniform
    biases) gives weights about half as large for these layer sizes, hence smaller initial codes.
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv1d)):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.GRU):
            for name, parameter in layer.named_parameters():
                gates = parameter.chunk(3, dim=0)  # reset, update, new: (hidden, fan_in) each
                for gate in gates:
                    if name.startswith("weight_ih"):
                        nn.init.xavier_uniform_(gate)
                    elif name.startswith("weight_hh"):
                        nn.init.orthogonal_(gate)
                    else:
                        nn.init.zeros_(gate)
    return module
