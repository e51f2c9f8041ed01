"""Latent codes -> strings through a decoder's step-wise interface and a codec.

The one path from codes to strings that inference, sampling, Bayesian optimisation and evaluation
take (:meth:`lsbo.models.trained.TrainedModel.decode`):

- a decoder whose scores ignore the symbols chosen so far (the paper's repeated-latent GRU) gives
  all its logits ``(N, T, C)`` at once, and the codec decodes them (the precomputed fast path);
- any other decoder is driven one step at a time: :class:`DecoderScores` asks it for the scores of
  the next symbol given the previous one, and the codec picks each symbol -- the grammar's masked
  stack machine (:func:`lsbo.grammar.decoding.masked_decode_steps`) or a free choice of characters.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lsbo.models.codecs import SequenceCodec
from lsbo.models.decoders import StepDecoder

__all__ = ["DecoderScores", "decode_codes"]


class DecoderScores:
    """The scores of a :class:`StepDecoder`, one step at a time, for codes ``z`` ``(N, d)``.

    Implements :class:`lsbo.grammar.decoding.StepScores`: :meth:`next` runs one decoder step for the
    rows still decoded, :meth:`keep` drops finished rows from the decoder's state. Scores are
    returned as float32. :attr:`unusable` ``(N,)`` marks the rows whose scores held a NaN or ``+inf``
    at some step (a NaN code, an overflow): they decode to no string.
    """

    def __init__(self, decoder: StepDecoder, z: Tensor) -> None:
        self.decoder = decoder
        self.state = decoder.start(z)
        self.unusable = torch.zeros(z.shape[0], dtype=torch.bool, device=z.device)
        self._live: Tensor | None = None  # rows of z still decoded (None: all)

    def next(self, previous: Tensor | None) -> Tensor:
        logits, self.state = self.decoder.step(self.state, previous)
        logits = logits.float()
        bad = (torch.isnan(logits) | (logits == float("inf"))).any(dim=1)
        if self._live is None:
            self.unusable |= bad
        else:
            self.unusable.index_copy_(0, self._live, self.unusable.index_select(0, self._live) | bad)
        return logits

    def keep(self, rows: Tensor) -> None:
        self.state = self.decoder.select_state(self.state, rows)
        self._live = rows if self._live is None else self._live.index_select(0, rows)


def decode_codes(
    decoder: StepDecoder, codec: SequenceCodec, z: Tensor, sample: bool = False,
    generator: torch.Generator | None = None, complete: bool = True,
) -> list[str | None]:
    """Strings of codes ``z`` ``(N, d)``: greedy, or sampled with ``sample`` (``None`` where invalid).

    ``complete`` selects the grammar masking (length-aware, or the plain masking of Kusner et al.
    2017); character codecs ignore it. The decoder should be in evaluation mode.
    """
    precomputed = decoder.precompute(z)
    if precomputed is not None:
        return codec.decode_logits(precomputed, sample=sample, generator=generator, complete=complete)
    scores = DecoderScores(decoder, z)
    return codec.decode_steps(
        scores, z.shape[0], sample=sample, generator=generator, complete=complete, device=z.device
    )
