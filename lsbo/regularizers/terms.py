"""The loss bookkeeping of eq. 9 of the paper: named, weighted terms and their sum.

Every autoencoder of the toolkit (sequence and image) turns a batch into :class:`LossTerms` with
:func:`combine_losses`, so they all log and minimise the same quantities; the trainer
(:mod:`lsbo.train`) only minimises ``total`` and averages :meth:`LossTerms.values` per epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

__all__ = ["LossTerms", "combine_losses", "sum_terms"]


@dataclass
class LossTerms:
    """What a trainable module returns for one batch.

    ``total`` is the scalar that is minimised; ``terms`` are its named, already weighted parts (logged
    per epoch); ``metrics`` are extra numbers to log that are not optimised (e.g. reconstruction accuracy),
    best given as detached tensors: the trainer averages them on the device without a host sync.
    """

    total: Tensor
    terms: dict[str, Tensor] = field(default_factory=dict)
    metrics: dict[str, float | Tensor] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        """The total (as ``loss``), every term and every metric, still as (device) tensors where they are."""
        return {"loss": self.total, **self.terms, **self.metrics}


def sum_terms(terms: dict[str, Tensor], like: Tensor) -> Tensor:
    """Sum of weighted loss terms; a float32 (or wider) zero scalar on ``like``'s device when empty."""
    dtype = torch.promote_types(like.dtype, torch.float32) if like.is_floating_point() else torch.float32
    total = torch.zeros((), device=like.device, dtype=dtype)
    for value in terms.values():
        total = total + value
    return total


def combine_losses(
    reconstruction: Tensor,
    regularizer_terms: dict[str, Tensor],
    decoder_terms: dict[str, Tensor],
    metrics: dict[str, float | Tensor] | None = None,
) -> LossTerms:
    """Eq. 9 of the paper: the weighted reconstruction term plus every regularizer term.

    ``reconstruction`` (a scalar) is already multiplied by lambda_REC; the regularizer's terms on the
    code (e.g. KS and CV with their eq. 10 weights) and on the decoder (e.g. RAE's L2) are already
    weighted too.
    """
    terms: dict[str, Tensor] = {"rec": reconstruction, **regularizer_terms, **decoder_terms}
    total = reconstruction
    for name, value in terms.items():
        if name != "rec":
            total = total + value
    return LossTerms(total=total, terms=terms, metrics=dict(metrics or {}))
