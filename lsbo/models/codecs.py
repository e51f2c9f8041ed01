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

    def masking(self, complete: bool = True) -> str:
        """Name of the decoding mask ``decode_logits(..., complete=complete)`` applies (for records)."""
        return "none"

    def training_mask(self, indices: torch.Tensor) -> torch.Tensor | None:
        """Boolean mask ``(N, T, C)`` of the symbols allowed at each step of ``indices``, or ``None``."""
        return None

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

    def decode_logits(
        self, logits: torch.Tensor, sample: bool = False, generator: torch.Generator | None = None,
        complete: bool = True,
    ) -> list[str | None]:
        """Masked decoding (see :meth:`lsbo.grammar.Grammar.decode_logits`): with ``complete`` every
        row is a complete derivation; with ``complete=False`` (plain Grammar VAE masking) a row whose
        derivation does not finish within ``max_length`` steps is ``None``."""
        decoded = self.grammar.decode_logits(logits.float(), sample=sample, generator=generator, complete=complete)
        return list(decoded.strings)

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
