"""Sequence codecs: how strings become index sequences for the autoencoder and back.

A codec is the only part of a sequence model that knows what a symbol is. :class:`GrammarCodec`
uses the leftmost derivation of a context-free grammar (Grammar VAE, Kusner et al. 2017): symbols
are productions, training masks come from the true derivation's stack, and generation runs the
grammar's stack machine, so every complete output is in the language by construction; by default
the stack machine is length-aware, so every output is complete (``complete=False`` restores the plain
masking of the Grammar VAE, where a derivation may not finish).
:class:`CharCodec` is the character baseline (CVAE): symbols are characters, nothing is masked.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from lsbo.grammar.decoding import StepScores


class SequenceCodec(ABC):
    """Strings ⇄ fixed-length index sequences over ``n_symbols`` classes."""

    kind: str  # "grammar" | "char"

    @property
    @abstractmethod
    def n_symbols(self) -> int: ...

    @property
    @abstractmethod
    def max_length(self) -> int: ...

    @abstractmethod
    def encode(self, strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(indices int64 (N, T), ok bool (N,))``; rows that cannot be encoded are padding and not ok."""

    @abstractmethod
    def decode_logits(
        self, logits: torch.Tensor, sample: bool = False, generator: torch.Generator | None = None,
        complete: bool = True,
    ) -> list[str | None]:
        """Strings from decoder logits ``(N, T, C)`` (greedy, or sampled); ``None`` where invalid.

        ``complete`` selects the grammar masking (length-aware, or the plain masking of Kusner et
        al. 2017 with ``False``); codecs without masking ignore it.
        """

    @abstractmethod
    def decode_steps(
        self, scores: StepScores, n: int, sample: bool = False, generator: torch.Generator | None = None,
        complete: bool = True, device: torch.device | str | None = None,
    ) -> list[str | None]:
        """Strings of ``n`` rows whose scores come one step at a time (``scores.next(previous)`` gives
        ``(rows, C)``; :class:`lsbo.grammar.decoding.StepScores`), greedy or sampled; ``None`` where
        invalid, or where ``scores.unusable`` (when the source has it) marks the row.
        The path of decoders that read the symbols chosen so far (:mod:`lsbo.models.decoding`)."""

    def masking(self, complete: bool = True) -> str:
        """Name of the decoding mask ``decode_logits(..., complete=complete)`` applies (for records)."""
        return "none"

    def training_mask(self, indices: torch.Tensor) -> torch.Tensor | None:
        """Boolean mask ``(N, T, C)`` of the symbols allowed at each step of ``indices``, or ``None``."""
        return None

    def loss_steps(self, indices: torch.Tensor) -> int:
        """The first steps of ``indices`` ``(N, T)`` outside which the reconstruction loss is exactly zero.

        All ``T`` steps here: without a mask the padding after a string is predicted, and learned.
        """
        return int(indices.shape[1])

    def canonical(self, string: str) -> str:
        """The form a decoded string takes, to compare reconstructions by exact match."""
        return string


class GrammarCodec(SequenceCodec):
    """Productions of a :class:`lsbo.grammar.Grammar` (masked during training and at generation)."""

    kind = "grammar"

    def __init__(self, grammar: Any) -> None:
        self.grammar = grammar

    @property
    def n_symbols(self) -> int:
        return int(self.grammar.n_productions)

    @property
    def max_length(self) -> int:
        return int(self.grammar.max_length)

    def encode(self, strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        result = self.grammar.encode(list(strings))
        return np.asarray(result.indices, dtype=np.int64), np.asarray(result.ok, dtype=bool)

    def training_mask(self, indices: torch.Tensor) -> torch.Tensor:
        from lsbo.grammar.decoding import training_masks

        return training_masks(indices, self.grammar.tables)

    def loss_steps(self, indices: torch.Tensor) -> int:
        """The longest derivation in ``indices`` (at least 1 step).

        Every later step is padding with an empty stack, where the training mask allows only the
        padding production: its masked cross-entropy and gradient are exactly zero, and the stack
        machine never reads it when decoding (see :mod:`lsbo.models.batching`).
        """
        if indices.shape[1] == 0:
            return 0
        real = (indices != self.grammar.padding).any(dim=0)
        return max(1, int(real.nonzero().max()) + 1) if bool(real.any()) else 1

    def decode_logits(
        self, logits: torch.Tensor, sample: bool = False, generator: torch.Generator | None = None,
        complete: bool = True,
    ) -> list[str | None]:
        """Masked decoding (see :meth:`lsbo.grammar.Grammar.decode_logits`): with ``complete`` every
        row is a complete derivation; with ``complete=False`` (plain Grammar VAE masking) a row whose
        derivation does not finish within ``max_length`` steps is ``None``."""
        decoded = self.grammar.decode_logits(logits.float(), sample=sample, generator=generator, complete=complete)
        return list(decoded.strings)

    def decode_steps(
        self, scores: StepScores, n: int, sample: bool = False, generator: torch.Generator | None = None,
        complete: bool = True, device: torch.device | str | None = None,
    ) -> list[str | None]:
        """The grammar's masked stack machine on scores given step by step
        (:func:`lsbo.grammar.decoding.masked_decode_steps`); ``complete`` as in :meth:`decode_logits`."""
        from lsbo.grammar.decoding import masked_decode_steps

        indices, finished = masked_decode_steps(
            scores, n, self.max_length, self.grammar.tables, sample=sample, generator=generator, complete=complete,
            device=device,
        )
        strings = self.grammar.decode(indices)
        return _drop_unusable(strings, finished, scores)

    def masking(self, complete: bool = True) -> str:
        return "length-aware" if complete else "plain"

    def canonical(self, string: str) -> str:
        return self.grammar.join(self.grammar.tokenize(string))


class CharCodec(SequenceCodec):
    """Characters of a :class:`lsbo.data.CharVocabulary` (the CVAE baseline)."""

    kind = "char"

    def __init__(self, vocabulary: Any) -> None:
        self.vocabulary = vocabulary

    @property
    def n_symbols(self) -> int:
        return int(self.vocabulary.size)

    @property
    def max_length(self) -> int:
        return int(self.vocabulary.max_length)

    def encode(self, strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        indices, ok = self.vocabulary.encode(list(strings))
        return np.asarray(indices, dtype=np.int64), np.asarray(ok, dtype=bool)

    def decode_logits(
        self, logits: torch.Tensor, sample: bool = False, generator: torch.Generator | None = None,
        complete: bool = True,
    ) -> list[str | None]:
        # ``complete`` concerns grammar masking; characters are not masked, so it has no effect here.
        # A row with NaN or +inf logits has no usable scores (argmax would pick the NaN's index, and
        # sampling would fail): it decodes to None, like the grammar codec's.
        logits = logits.float()
        unusable = (torch.isnan(logits) | (logits == float("inf"))).reshape(logits.shape[0], -1).any(dim=1)
        logits = logits.masked_fill(unusable[:, None, None], 0.0)
        if sample:
            probabilities = torch.softmax(logits, dim=-1).reshape(-1, logits.shape[-1])
            indices = torch.multinomial(probabilities, 1, generator=generator).reshape(logits.shape[:-1])
        else:
            indices = logits.argmax(dim=-1)
        strings = self.vocabulary.decode(indices.cpu().numpy())
        return [None if bad else text for text, bad in zip(strings, unusable.tolist())]

    def decode_steps(
        self, scores: StepScores, n: int, sample: bool = False, generator: torch.Generator | None = None,
        complete: bool = True, device: torch.device | str | None = None,
    ) -> list[str | None]:
        """Characters chosen one step at a time (argmax, or a draw from the softmax with ``sample``);
        a row ends at its first padding symbol. ``complete`` concerns grammar masking: no effect here."""
        device = torch.device(device if device is not None else "cpu")
        padding = int(self.vocabulary.padding)
        indices = torch.full((n, self.max_length), padding, dtype=torch.long, device=device)
        live = torch.arange(n, device=device)  # the rows still decoded
        previous: torch.Tensor | None = None
        for t in range(self.max_length):
            if live.numel() == 0:
                break
            # rows with NaN or +inf scores decode to None (scores.unusable); any choice will do meanwhile
            logits = torch.nan_to_num(scores.next(previous).float(), nan=0.0, posinf=0.0)
            if sample:
                choice = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator).view(-1)
            else:
                choice = logits.argmax(dim=-1)
            indices[live, t] = choice
            going = choice != padding
            if bool(going.all()):
                previous = choice
                continue
            keep = torch.nonzero(going).view(-1)
            live, previous = live.index_select(0, keep), choice.index_select(0, keep)
            if keep.numel():
                scores.keep(keep)
        strings = self.vocabulary.decode(indices.cpu().numpy())
        return _drop_unusable(strings, None, scores)


def _drop_unusable(strings: list[str | None], finished: torch.Tensor | None, scores: StepScores) -> list[str | None]:
    """``strings`` with ``None`` for unfinished rows and rows the score source marks ``unusable``."""
    unusable = getattr(scores, "unusable", None)
    bad = unusable.tolist() if unusable is not None else [False] * len(strings)
    done = finished.tolist() if finished is not None else [True] * len(strings)
    return [text if ok and not flag else None for text, ok, flag in zip(strings, done, bad)]
