"""Decoding candidate latent points into strings (docs/protocols.md §4).

The decoder is stochastic: one latent point can decode to several strings. As in the Grammar VAE
protocol, each point is decoded many times (500 attempts for molecules, 25 for expressions by
default) by sampling, and the most frequent *valid* output is kept. All attempts for a chunk of
points are decoded in one batched call, ``model.decode(z, sample=True, repeats=A)``: the decoder
network runs once per point and only the sampling from its logits is repeated.

``complete`` chooses the grammar masking of those decodings: length-aware (the default; every
attempt is a complete string) or, with ``complete=False``, the plain masking of Kusner et al. (2017)
that the paper's protocol uses, where an attempt whose derivation does not finish counts as invalid.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor

#: Decoding attempts per point for each kind of model (the Grammar VAE protocol's numbers).
DEFAULT_ATTEMPTS = {"molecules": 500, "expressions": 25, "strings": 25}
#: Upper bound on decoder rows per call, to keep memory flat whatever q x attempts is.
MAX_DECODE_ROWS = 5000


class Decoder(Protocol):
    """What candidate decoding needs from a trained model."""

    device: Any

    def decode(
        self, z: Tensor, sample: bool = False, generator: torch.Generator | None = None, complete: bool = True,
        repeats: int = 1,
    ) -> list[str | None]:
        """``len(z) * repeats`` strings, each point's ``repeats`` decodings consecutive."""
        ...


@dataclass(frozen=True)
class DecodedCandidate:
    """The chosen string for one latent point and how often it came out of the decoder."""

    string: str | None
    count: int
    attempts: int
    n_valid_attempts: int


def default_attempts(kind: str, reads_previous: bool = False) -> int:
    """Attempts per point for a model kind (``molecules``/``expressions``/``strings``): the protocol's
    numbers for the paper's repeated-latent decoder, whose sampled decodings of one point vary widely
    (the most frequent valid one is kept), and one greedy decoding for a decoder that reads its previous
    symbols (``reads_previous``), whose greedy string is the mode the sampled attempts would estimate
    and which would otherwise run its network once per attempt."""
    if reads_previous:
        return 1
    return DEFAULT_ATTEMPTS.get(kind, 25)


def most_frequent_valid(outputs: Sequence[str | None], is_valid: Callable[[str], bool]) -> tuple[str | None, int, int]:
    """(most frequent valid string, its count, number of valid outputs); ties go to the first seen."""
    counts = Counter(s for s in outputs if s is not None)
    validity = {s: bool(is_valid(s)) for s in counts}
    valid_counts = [(s, c) for s, c in counts.items() if validity[s]]  # insertion order = first seen
    if not valid_counts:
        return None, 0, 0
    best, best_count = max(valid_counts, key=lambda item: item[1])
    return best, best_count, sum(c for _, c in valid_counts)


def decode_candidates(
    model: Decoder,
    latents: Tensor,
    *,
    attempts: int,
    is_valid: Callable[[str], bool] = lambda s: True,
    generator: torch.Generator | None = None,
    max_rows: int = MAX_DECODE_ROWS,
    complete: bool = True,
) -> list[DecodedCandidate]:
    """Decode each row of ``latents`` ``attempts`` times by sampling; keep the most frequent valid string.

    With ``attempts == 1`` the decoding is greedy (argmax) instead of sampled. ``complete`` is passed
    to ``model.decode`` (length-aware masking, or plain with ``False``; see the module docstring).
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    latents = latents.to(device=model.device, dtype=torch.float32)
    points_per_call = max(1, max_rows // attempts)
    chosen: list[DecodedCandidate] = []
    for start in range(0, latents.shape[0], points_per_call):
        chunk = latents[start : start + points_per_call]
        with torch.no_grad():
            if attempts == 1:
                outputs = model.decode(chunk, sample=False, complete=complete)
            else:
                outputs = model.decode(chunk, sample=True, generator=generator, complete=complete, repeats=attempts)
        for i in range(chunk.shape[0]):
            string, count, n_valid = most_frequent_valid(outputs[i * attempts : (i + 1) * attempts], is_valid)
            chosen.append(DecodedCandidate(string=string, count=count, attempts=attempts, n_valid_attempts=n_valid))
    return chosen
