"""Training batches whose cost follows the data: length-bucketed batches for grammar models.

Why. The decoder's three GRU layers are almost all of a training step's cost, and they used to run
over all ``T`` steps (277 for ZINC) although the derivations of the ZINC subset are 129 steps long
on average (median 129, 99th percentile 193, longest 244). For a grammar model the steps after a
derivation ends are *forced*: once the stack of the true derivation is empty the training mask
allows only the padding production, so the masked softmax puts probability 1 on it, the step's
cross-entropy and its gradient are exactly zero, and the stack-machine decoder never reads those
steps either (a finished row is padding). Running the GRU only to the longest derivation of a batch
(:meth:`lsbo.models.codecs.SequenceCodec.loss_steps`) and dividing the summed cross-entropy by the
full ``N * T`` therefore gives the same loss, gradients and metrics as the full-length computation
(``tests/models/test_batching.py`` compares them directly). The first padding step is forced too
(the derivation's last production empties the stack), so, unlike for a character model, no padding
step needs to be learned: the loss over "the real steps plus the first padding step" is the same
number, and the longest row of a batch needs no extra step.

That alone helps little for random batches (their longest derivation is near the 99th
percentile). :class:`LengthBucketedBatches` groups rows of similar length: every epoch it shuffles
the training rows (seeded), cuts the permutation into chunks of :data:`BUCKET_BATCHES` batches,
sorts each chunk by derivation length, cuts it into batches and shuffles the order of the batches.
Each row is used once per epoch as before, so the reconstruction term, a mean over rows, has the
same expectation; on the ZINC subset the mean longest derivation of a batch falls from 201 to 131
steps (batch 128).

Batch-level regularizers (GMM-KS's KS and CV terms, WAE's MMD) compare the *distribution* of a
batch's codes with the prior, and a batch of equally long molecules is not a sample of that
distribution. For them each bucketed batch comes with a second, uniformly random batch of the same
size (a separate seeded permutation per epoch): the regularizer's terms are computed on that one,
exactly as with random batches, and only the reconstruction uses the bucketed rows (the cost is one
more encoder pass, which is small beside the decoder). Per-row regularizers (VAE, CV-VAE, RAE, AE)
are unbiased on any batch and use the bucketed rows themselves.

Packed sequences (``torch.nn.utils.rnn.pack_padded_sequence``) were measured too: on this CPU the
packed GRU is about three times *slower* than the full-length one, so they are not used
(``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

# Batches per sorted chunk. Measured on the ZINC subset (batch 128): the mean longest derivation of
# a batch is 201 steps for random batches, 139 with chunks of 10 batches, 131 with 50 and 130 for a
# fully sorted epoch; 50 keeps most of the gain while batch membership still changes every epoch.
BUCKET_BATCHES = 50


def sequence_lengths(indices: np.ndarray | torch.Tensor, padding: int) -> np.ndarray:
    """Number of non-padding steps of each row of ``indices`` ``(N, T)``, as int64 ``(N,)``.

    Rows are padded at their end only (as :meth:`lsbo.grammar.Grammar.encode` writes them), so this
    is the length of each derivation.
    """
    array = indices.cpu().numpy() if isinstance(indices, torch.Tensor) else np.asarray(indices)
    return (array != padding).sum(axis=1).astype(np.int64)


def bucketed_order(
    lengths: np.ndarray, batch_size: int, generator: torch.Generator, bucket_batches: int = BUCKET_BATCHES
) -> list[torch.Tensor]:
    """One epoch of length-bucketed batches: a list of row-index tensors, each of ``batch_size`` rows.

    With at least ``batch_size`` rows, ``len(lengths) // batch_size`` full batches are returned and
    the rows left over (at most ``batch_size - 1``, chosen at random) are dropped, as a shuffled
    ``DataLoader(drop_last=True)`` does; with fewer rows, one batch of all of them.

    Args:
        lengths: ``(N,)`` length of each row.
        batch_size: rows per batch.
        generator: source of the epoch's randomness (the permutation and the order of the batches).
        bucket_batches: batches per sorted chunk.
    """
    n = len(lengths)
    permutation = torch.randperm(n, generator=generator)
    if n < batch_size:
        return [permutation]
    n_batches = n // batch_size
    permutation = permutation[: n_batches * batch_size]
    lengths_t = torch.as_tensor(lengths, dtype=torch.long)
    batches: list[torch.Tensor] = []
    chunk = max(1, bucket_batches) * batch_size
    for chunk_rows in permutation.split(chunk):
        # stable: rows of equal length keep their random order
        order = torch.sort(lengths_t[chunk_rows], stable=True).indices
        batches.extend(chunk_rows[order].split(batch_size))
    shuffled = torch.randperm(len(batches), generator=generator)
    return [batches[i] for i in shuffled.tolist()]


class LengthBucketedBatches:
    """An epoch iterable of training batches of index sequences, bucketed by length.

    Yields ``(indices,)`` tuples of a ``(B, T)`` LongTensor, or, with ``regularizer_batches``,
    ``(indices, regularizer_indices)``: the bucketed rows for the reconstruction and a uniformly
    random batch of the same size for a batch-level regularizer (see the module docstring). Like a
    shuffled ``DataLoader`` it exposes its ``generator``, which the trainer seeds and checkpoints, so
    a resumed run draws the same batches as an uninterrupted one.
    """

    def __init__(
        self,
        indices: np.ndarray | torch.Tensor,
        lengths: np.ndarray,
        batch_size: int,
        *,
        seed: int = 0,
        regularizer_batches: bool = False,
        bucket_batches: int = BUCKET_BATCHES,
    ) -> None:
        self.indices = torch.as_tensor(np.ascontiguousarray(indices) if isinstance(indices, np.ndarray) else indices).long()
        self.lengths = np.asarray(lengths, dtype=np.int64)
        if len(self.lengths) != len(self.indices):
            raise ValueError(f"{len(self.lengths)} lengths for {len(self.indices)} rows")
        if len(self.indices) == 0:
            raise ValueError("no rows to batch")
        self.batch_size = int(batch_size)
        self.regularizer_batches = bool(regularizer_batches)
        self.bucket_batches = int(bucket_batches)
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return max(1, len(self.indices) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        # Everything random is drawn before the first batch is yielded, so the generator's state
        # at the end of an epoch (what the checkpoint stores) does not depend on how far a
        # consumer iterated.
        batches = bucketed_order(self.lengths, self.batch_size, self.generator, self.bucket_batches)
        regularizer_rows = None
        if self.regularizer_batches:
            permutation = torch.randperm(len(self.indices), generator=self.generator)
            size = len(batches[0])
            regularizer_rows = permutation[: len(batches) * size].view(len(batches), size)
        for number, rows in enumerate(batches):
            if regularizer_rows is None:
                yield (self.indices[rows],)
            else:
                yield (self.indices[rows], self.indices[regularizer_rows[number]])
