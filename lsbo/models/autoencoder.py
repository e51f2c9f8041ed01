"""The sequence autoencoder: encoder → regularizer → decoder, with the loss of eq. 9 of the paper.

``L = λ_REC · L_REC + (the regularizer's weighted terms, e.g. λ_KS·L_KS + λ_CV·L_CV for GMM-KS)``.
``L_REC`` is the cross-entropy of the true symbol at each step, averaged over steps and batch. For
grammar models the logits are first masked with the productions allowed by the true derivation's
stack (Kusner et al., 2017), so probability mass is only ever spread over productions that could
have been chosen. Reconstruction accuracy during training is the fraction of sequences whose
per-step argmax (of the masked logits) equals the true sequence everywhere.

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
from lsbo.models.networks import SequenceDecoder, SequenceEncoder, glorot_init_
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
        )
        self.decoder = SequenceDecoder(
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
        return self.encoder(self.one_hot(indices))

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

    def compute_losses(self, batch: torch.Tensor | tuple | list) -> LossTerms:
        indices = batch[0] if isinstance(batch, (tuple, list)) else batch
        indices = indices.long()
        regularized = self.regularizer(self.encoder_output(indices))
        logits = self.masked_logits(self.decoder(regularized.z), indices)
        cross_entropy = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), indices.reshape(-1))
        with torch.no_grad():
            predicted = logits.argmax(dim=-1)
            correct = predicted == indices
            metrics = {
                "rec_ce": cross_entropy.detach(),
                "rec_acc": correct.all(dim=1).float().mean(),
                "symbol_acc": correct.float().mean(),
            }
        return combine_losses(
            self.rec_weight * cross_entropy, regularized.terms, self.regularizer.decoder_terms(self.decoder), metrics
        )
