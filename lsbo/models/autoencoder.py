"""The sequence autoencoder: encoder → regularizer → decoder, with the loss of eq. 9 of the paper.

``L = λ_REC · L_REC + (the regularizer's weighted terms, e.g. λ_KS·L_KS + λ_CV·L_CV for GMM-KS)``.
``L_REC`` is the cross-entropy of the true symbol at each step, averaged over steps and batch. For
grammar models the logits are first masked with the productions allowed by the true derivation's
stack (Kusner et al., 2017), so probability mass is only ever spread over productions that could
have been chosen. Reconstruction accuracy during training is the fraction of sequences whose
per-step argmax (of the masked logits) equals the true sequence everywhere. For grammar models the
decoder runs only to the longest derivation of a batch unless ``full_length`` is set; the numbers
are the same either way (:mod:`lsbo.models.batching`).

Names logged per epoch (``metrics.csv`` prefixes them with ``train_``/``val_``): ``loss`` (the total),
``rec`` (``λ_REC · L_REC``), the regularizer's weighted terms (``ks``, ``cv`` for GMM-KS; ``kl``,
``mmd``, ... for the baselines), and the unoptimised metrics ``rec_ce`` (``L_REC`` itself),
``rec_acc`` (whole-sequence exact match) and ``symbol_acc`` (per-step accuracy, padding included).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lsbo.models.codecs import SequenceCodec
from lsbo.models.config import SequenceModelConfig
from lsbo.models.decoders import DECODERS, StepDecoder
from lsbo.models.networks import SequenceEncoder, glorot_init_
from lsbo.regularizers.terms import LossTerms, combine_losses


class SequenceAutoencoder(nn.Module):
    """Encoder and decoder of docs/protocols.md §2 around any regularizer of :mod:`lsbo.regularizers`."""

    def __init__(
        self,
        codec: SequenceCodec,
        config: SequenceModelConfig,
        regularizer: nn.Module,
        rec_weight: float = 1.0,
    ) -> None:
        super().__init__()
        self.codec = codec
        self.config = config
        self.latent_dim = config.latent_dim
        self.regularizer = regularizer
        self.rec_weight = float(rec_weight)
        self.encoder = SequenceEncoder(
            n_symbols=codec.n_symbols,
            max_length=codec.max_length,
            conv_filters=config.conv_filters,
            conv_kernels=config.conv_kernels,
            dense_units=config.dense_units,
            n_outputs=regularizer.n_encoder_outputs * config.latent_dim,
            batch_norm=config.encoder_batch_norm,
            padding=config.conv_padding,
        )
        self.decoder: StepDecoder = DECODERS.get(config.decoder)(
            latent_dim=config.latent_dim,
            max_length=codec.max_length,
            gru_hidden=config.gru_hidden,
            gru_layers=config.gru_layers,
            n_symbols=codec.n_symbols,
            input_batch_norm=config.decoder_batch_norm,
        )
        if config.init == "glorot":
            glorot_init_(self.encoder)
            glorot_init_(self.decoder)

    # -- pieces --------------------------------------------------------------------------------

    def one_hot(self, indices: torch.Tensor) -> torch.Tensor:
        return F.one_hot(indices.long(), self.codec.n_symbols).to(torch.get_default_dtype())

    def encoder_output(self, indices: torch.Tensor) -> torch.Tensor:
        """The encoder applied to the one-hot sequences of ``indices`` ``(N, T)`` (computed from the indices)."""
        return self.encoder.forward_indices(indices)

    def encode_mean(self, indices: torch.Tensor) -> torch.Tensor:
        """Deterministic latent codes (the mean for stochastic encoders) of index sequences."""
        return self.regularizer.code(self.encoder_output(indices))

    def masked_logits(self, logits: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        """Logits masked by the true derivation (grammar models); unchanged for character models."""
        mask = self.codec.training_mask(indices)
        if mask is None:
            return logits
        from lsbo.grammar.decoding import apply_mask

        return apply_mask(logits, mask)

    # -- training ------------------------------------------------------------------------------

    def loss_steps(self, indices: torch.Tensor) -> int:
        """Decoder steps the loss of ``indices`` needs: all of them with ``full_length``, else the
        codec's :meth:`~lsbo.models.codecs.SequenceCodec.loss_steps` (the longest derivation of a
        grammar batch; every later step contributes exactly zero)."""
        if self.config.full_length:
            return int(indices.shape[1])
        return self.codec.loss_steps(indices)

    def compute_losses(self, batch: torch.Tensor | tuple | list) -> LossTerms:
        """Eq. 9 for one batch: ``indices`` ``(N, T)``, or ``(indices,)``, or ``(indices, regularizer_indices)``.

        With a second tensor (a uniformly random batch, :class:`lsbo.models.batching.LengthBucketedBatches`)
        a batch-level regularizer's terms are computed on it instead of on ``indices``, and the
        decoder's batch norm on the code (``decoder_batch_norm``) normalises with its statistics,
        not with those of the length-bucketed ``indices``. The
        cross-entropy is summed over the steps the loss needs and divided by ``N * T`` whatever
        their number, so it is the mean per-step cross-entropy of the full-length computation.
        """
        indices, regularizer_indices = _unpack(batch)
        n, length = indices.shape
        reference = None  # codes of the random batch whose statistics the decoder's batch norm uses
        if regularizer_indices is not None:
            # one encoder pass over both batches; the codes of `indices` go to the decoder
            both = self.encoder_output(torch.cat((indices, regularizer_indices.long())))
            if self.regularizer.batch_statistic:
                random_batch = self.regularizer(both[n:])
                terms, z = random_batch.terms, self.regularizer.code(both[:n])
            else:
                regularized = self.regularizer(both[:n])
                terms, z = regularized.terms, regularized.z
                random_batch = self.regularizer(both[n:]) if self.decoder.code_norm is not None else None
            if self.decoder.code_norm is not None:
                reference = random_batch.z
        else:
            regularized = self.regularizer(self.encoder_output(indices))
            terms, z = regularized.terms, regularized.z
        steps = self.loss_steps(indices)
        targets = indices[:, :steps]
        logits = self.masked_logits(self.decoder.training_logits(z, targets, reference=reference), targets)
        summed = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="sum")
        cross_entropy = summed / (n * length)
        with torch.no_grad():
            correct = logits.argmax(dim=-1) == targets
            # the steps not run are forced padding, which the masked argmax always gets right
            skipped = n * (length - steps)
            metrics = {
                "rec_ce": cross_entropy.detach(),
                "rec_acc": correct.all(dim=1).float().mean(),
                "symbol_acc": (correct.sum() + skipped).float() / (n * length),
            }
        return combine_losses(
            self.rec_weight * cross_entropy, terms, self.regularizer.decoder_terms(self.decoder), metrics
        )


def _unpack(batch: torch.Tensor | tuple | list) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(indices, regularizer_indices or None)`` of a batch, as long tensors."""
    if isinstance(batch, (tuple, list)):
        second = batch[1] if len(batch) > 1 else None
        return batch[0].long(), second
    return batch.long(), None
