"""The step-wise decoder interface every sequence decoder implements, and the decoder registry.

A decoder turns a latent code into one score (logit) per symbol and step. Decoding a string is a
loop over steps in which the codec picks each symbol -- through the grammar's stack machine, or
freely for characters -- so a decoder only has to answer two questions:

- :meth:`StepDecoder.start`: ``z (N, d) -> state``, the decoder's state before the first symbol;
- :meth:`StepDecoder.step`: ``(state, previous (N,) long or None) -> (logits (N, C), state)``, the
  scores of the next symbol given the one chosen last (``None`` at the first step).

A decoder whose scores ignore the symbols chosen so far (``reads_previous = False``: the paper's
repeated-latent GRU) also gives every step at once with :meth:`StepDecoder.precompute`, the fast
path inference takes for it. Training computes all steps in one pass with the true symbols as the
previous ones (teacher forcing, :meth:`StepDecoder.training_logits`); for every decoder the scores
of step ``t`` there equal those of :meth:`step` fed the same symbols (tests/models/test_decoders.py).

The stack machine drops finished rows as it goes and BO decodes each point many times, so a state
must be re-indexable: :meth:`StepDecoder.select_state` keeps (or repeats) rows of it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lsbo import distributed
from lsbo.components import DECODERS

__all__ = ["DECODERS", "DecoderState", "StepDecoder"]

#: A decoder's state between steps: a tuple of tensors, each with the batch along dimension ``dim``
#: given by :attr:`StepDecoder.state_batch_dims`.
DecoderState = tuple[Tensor, ...]


class StepDecoder(nn.Module, ABC):
    """Latent codes ``(N, d)`` -> scores of ``C = n_symbols`` symbols per step, one step at a time.

    Args:
        latent_dim: ``d``.
        max_length: ``T``, the most steps a sequence has.
        n_symbols: ``C``, the number of symbols (productions, or characters), padding included.
        input_batch_norm: normalise the code with a batch norm first (see :meth:`normalise`).
    """

    name: str = ""
    #: Whether the scores of step ``t`` depend on the symbols chosen before ``t``.
    reads_previous: bool = True
    #: For each tensor of the state, the dimension that indexes the batch.
    state_batch_dims: tuple[int, ...] = ()

    def __init__(self, latent_dim: int, max_length: int, n_symbols: int, input_batch_norm: bool = False) -> None:
        super().__init__()
        self.latent_dim = int(latent_dim)
        self.max_length = int(max_length)
        self.n_symbols = int(n_symbols)
        # In evaluation mode the batch norm is a fixed affine map (running statistics), so decoding a
        # single latent point, as Bayesian optimisation does, does not depend on the rest of its batch.
        self.code_norm = nn.BatchNorm1d(latent_dim) if input_batch_norm else None

    def normalise(self, z: Tensor, reference: Tensor | None = None) -> Tensor:
        """The code as the decoder's layers see it: batch-normalised when the decoder has the norm.

        ``reference`` (training only): codes ``(M, d)`` whose batch statistics normalise ``z`` and
        update the running ones, instead of ``z``'s own -- a uniformly random batch, when ``z`` is a
        length-bucketed one (:mod:`lsbo.models.batching`).
        """
        norm = self.code_norm
        if norm is None:
            return z
        if self.training and distributed.current() is not None:
            # Under torchrun each rank holds a slice of one global batch: normalise with the
            # statistics of the whole (gathered) batch, as a single process would.
            reference = distributed.gather_batch(z if reference is None else reference)
        if self.training and reference is not None and reference.shape[0] >= 2:
            norm(reference)  # the running statistics follow the random batch, as they would without buckets
            mean = reference.mean(dim=0)
            variance = reference.var(dim=0, unbiased=False)
            return (z - mean) / torch.sqrt(variance + norm.eps) * norm.weight + norm.bias
        if self.training and z.shape[0] < 2:
            # batch statistics need two codes: a lone training code is normalised with the running ones
            return F.batch_norm(z, norm.running_mean, norm.running_var, norm.weight, norm.bias, False, 0.0, norm.eps)
        return norm(z)

    @abstractmethod
    def training_logits(self, z: Tensor, targets: Tensor, reference: Tensor | None = None) -> Tensor:
        """Scores ``(N, S, C)`` of the first ``S`` steps with the true symbols ``targets`` ``(N, S)``
        as the previous ones (teacher forcing). The decoder is causal: step ``t`` reads only
        ``targets[:, :t]``, so running fewer steps changes nothing in the first ones.
        ``reference``: see :meth:`normalise`."""

    @abstractmethod
    def start(self, z: Tensor) -> DecoderState:
        """The state before the first step for codes ``z`` ``(N, d)``."""

    @abstractmethod
    def step(self, state: DecoderState, previous: Tensor | None) -> tuple[Tensor, DecoderState]:
        """Scores ``(N, C)`` of the next symbol and the state after it; ``previous`` ``(N,)`` holds the
        symbols chosen at the last step (``None`` at the first step)."""

    def precompute(self, z: Tensor, steps: int | None = None) -> Tensor | None:
        """Scores ``(N, steps, C)`` of every step at once (default ``T`` steps) when they do not depend
        on the symbols chosen (``reads_previous`` false); ``None`` for a decoder that reads them."""
        return None

    def select_state(self, state: DecoderState, rows: Tensor) -> DecoderState:
        """The state of rows ``rows`` (a long tensor of row indices, repeats allowed)."""
        return tuple(part.index_select(dim, rows) for part, dim in zip(state, self.state_batch_dims))

    def settings(self) -> dict[str, Any]:
        """The sizes that rebuild this decoder (stored with the model)."""
        return {"name": self.name}

