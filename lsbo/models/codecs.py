"""Sequence codecs: how strings become index sequences for the autoencoder and back.

A codec is the only part of a sequence model that knows what a symbol is. :class:`GrammarCodec`
uses the leftmost derivation of a context-free grammar (Grammar VAE, Kusner et al. 2017): symbols
are productions, training masks come from the true derivation's stack, and generation runs the
grammar's stack machine, so every complete output is in the language by construction.
:class:`CharCodec` is the character baseline (CVAE): symbols are characters, nothing is masked.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Sequence

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
        self, logits: torch.Tensor, sample: bool = False, generator: torch.Generator | None = None
    ) -> list[str | None]:
        """Strings from decoder logits ``(N, T, C)`` (greedy, or sampled); ``None`` where invalid."""

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
        self, logits: torch.Tensor, sample: bool = False, generator: torch.Generator | None = None
    ) -> list[str | None]:
        return list(self.grammar.decode_logits(logits.float(), sample=sample, generator=generator).strings)

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
        self, logits: torch.Tensor, sample: bool = False, generator: torch.Generator | None = None
    ) -> list[str | None]:
        logits = logits.float()
        if sample:
            probabilities = torch.softmax(logits, dim=-1).reshape(-1, logits.shape[-1])
            indices = torch.multinomial(probabilities, 1, generator=generator).reshape(logits.shape[:-1])
        else:
            indices = logits.argmax(dim=-1)
        return list(self.vocabulary.decode(indices.cpu().numpy()))
