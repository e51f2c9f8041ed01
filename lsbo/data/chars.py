"""Character vocabularies for the character-level baseline (the CVAE of Gomez-Bombarelli et al.,
compared against grammar models in the paper's string experiments, Section 4.2).

A string is a sequence of single characters padded to ``max_length`` with a padding symbol at index 0,
the counterpart of the grammar's padding production. The vocabulary is built from the training
strings; a string with an unseen character or longer than ``max_length`` is not encodable (``ok``
False) instead of being silently truncated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lsbo.errors import DataError

if TYPE_CHECKING:
    import torch

PADDING_SYMBOL = "<pad>"
PADDING_INDEX = 0


@dataclass(frozen=True)
class CharVocabulary:
    """Index ``0`` is padding; index ``i >= 1`` is ``characters[i - 1]``."""

    characters: tuple[str, ...]
    max_length: int

    def __post_init__(self) -> None:
        if any(len(c) != 1 for c in self.characters):
            raise DataError("a character vocabulary holds single characters only")
        if len(set(self.characters)) != len(self.characters):
            raise DataError("a character vocabulary cannot repeat a character")
        if self.max_length < 1:
            raise DataError(f"max_length must be at least 1, got {self.max_length}")

    @classmethod
    def build(cls, strings: Iterable[str], max_length: int | None = None) -> "CharVocabulary":
        """The characters of ``strings`` (sorted, so the same data gives the same indices) and
        ``max_length`` = the longest string unless given, at most the grammar models' cap on decoder
        steps (:data:`lsbo.grammar.grammar.MAX_MAX_LENGTH`), so one megabyte line cannot make every
        string a megabyte-long sequence; longer strings are then rejected as too long."""
        from lsbo.grammar.grammar import MAX_MAX_LENGTH

        characters: set[str] = set()
        longest = 0
        for text in strings:
            characters.update(text)
            longest = max(longest, len(text))
        if not characters:
            raise DataError("cannot build a character vocabulary from no (or only empty) strings")
        return cls(tuple(sorted(characters)), min(longest, MAX_MAX_LENGTH) if max_length is None else max_length)

    @property
    def size(self) -> int:
        """Number of symbols, padding included (the one-hot width)."""
        return len(self.characters) + 1

    @property
    def padding(self) -> int:
        return PADDING_INDEX

    @property
    def symbols(self) -> tuple[str, ...]:
        """Index -> symbol, padding first."""
        return (PADDING_SYMBOL, *self.characters)

    def _index(self) -> dict[str, int]:
        # Rebuilt on demand: the dataclass is frozen and tiny, and encode is called on whole batches.
        return {c: i + 1 for i, c in enumerate(self.characters)}

    def encode(self, strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(indices int64 (N, max_length) padded with 0, ok bool (N,))``; a row that is empty, too long or
        has an unknown character is all padding with ``ok`` False (an empty row would be a sequence of
        padding only, which :meth:`decode` reads as no string)."""
        index = self._index()
        indices = np.full((len(strings), self.max_length), PADDING_INDEX, dtype=np.int64)
        ok = np.zeros(len(strings), dtype=np.bool_)
        for row, text in enumerate(strings):
            if not text or len(text) > self.max_length:
                continue
            codes = [index.get(c, -1) for c in text]
            if -1 in codes:
                continue
            indices[row, : len(codes)] = codes
            ok[row] = True
        return indices, ok

    def reasons(self, strings: Sequence[str]) -> list[str | None]:
        """Why each string cannot be encoded (None when it can): ``empty``, ``too long`` or
        ``untokenizable`` (a character outside the vocabulary), the categories of data preparation."""
        known = set(self.characters)
        out: list[str | None] = []
        for text in strings:
            if not text:
                out.append("empty")
            elif len(text) > self.max_length:
                out.append(f"too long: {len(text)} > {self.max_length}")
            else:
                unknown = next((i for i, c in enumerate(text) if c not in known), None)
                out.append(None if unknown is None else f"untokenizable: character {text[unknown]!r} at position {unknown}")
        return out

    def decode(self, indices: "np.ndarray | torch.Tensor | Sequence[Sequence[int]]") -> list[str | None]:
        """Strings read up to the first padding index; None for a row that starts with padding (an
        empty string) or holds an index outside the vocabulary."""
        rows = indices.detach().cpu().numpy() if hasattr(indices, "detach") else np.asarray(indices)
        if rows.ndim != 2:
            raise DataError(f"decode expects a 2-D array of indices, got shape {tuple(rows.shape)}")
        out: list[str | None] = []
        for row in rows:
            chars: list[str] = []
            valid = True
            for code in row.tolist():
                if code == PADDING_INDEX:
                    break
                if not 0 < code < self.size:
                    valid = False
                    break
                chars.append(self.characters[code - 1])
            out.append("".join(chars) if valid and chars else None)
        return out

    def one_hot(self, indices: "np.ndarray | torch.Tensor") -> "torch.Tensor":
        """Float tensor ``(N, T, size)`` on the device of ``indices`` (CPU for numpy input)."""
        import torch

        tensor = indices if isinstance(indices, torch.Tensor) else torch.as_tensor(np.asarray(indices))
        return torch.nn.functional.one_hot(tensor.long(), num_classes=self.size).float()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe description for checkpoints."""
        return {"characters": "".join(self.characters), "max_length": self.max_length, "padding": PADDING_SYMBOL}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> "CharVocabulary":
        try:
            return cls(tuple(state["characters"]), int(state["max_length"]))
        except (KeyError, TypeError, ValueError) as err:
            raise DataError(f"malformed character vocabulary in checkpoint: {err}") from err


__all__ = ["PADDING_INDEX", "PADDING_SYMBOL", "CharVocabulary"]
