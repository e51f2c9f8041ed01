"""The paper's regularizer: Gaussian-mixture prior matched by KS and covariance losses (eqs. 7-10).

The encoder is deterministic (one output per latent dimension); the code is decoded as is, and the
loss terms are

    "ks": lambda_KS * L_KS,K(z)   (eq. 7, :func:`lsbo.regularizers.losses.ks_loss`)
    "cv": lambda_CV * L_CV,K(z)   (eq. 8, :func:`lsbo.regularizers.losses.covariance_loss`)

with the weights of eq. 10 estimated once, at construction, from ``n_weight_batches`` prior batches
of the training batch size (seeded, so the same configuration gives the same weights). They are
buffers: saved with the model and restored by ``load_state_dict``, never re-estimated from a
checkpoint. Either term can be switched off for the paper's ablation (Section 4, "Ablation").
"""

from __future__ import annotations

import torch
from torch import Tensor

from lsbo.distributed import gather_batch
from lsbo.errors import ConfigError
from lsbo.priors import GMMPrior
from lsbo.regularizers.base import Regularizer, RegularizerOutput
from lsbo.regularizers.losses import covariance_loss, estimate_weights, ks_loss

__all__ = ["GMMRegularizer"]


class GMMRegularizer(Regularizer):
    """KS + covariance matching towards a Gaussian mixture prior (this paper).

    Args:
        latent_dim: d.
        n_components: K, for the default Sobol-placed prior.
        batch_size: training batch size N, for the eq. 10 weights.
        generator: random source for the weight estimation (default: a generator seeded with ``seed``).
        prior: an explicit prior instead of ``GMMPrior.sobol(latent_dim, n_components, min_distance, std)``.
        std: component standard deviation of the default prior.
        min_distance: smallest distance between the default prior's means.
        use_ks: keep the KS term (ablation switch).
        use_cv: keep the covariance term (ablation switch).
        ks_weight: a fixed weight of the KS term instead of its eq. 10 estimate.
        cv_weight: a fixed weight of the covariance term instead of its eq. 10 estimate.
        n_weight_batches: M of eq. 10.
        seed: seed of the Sobol placement and of the weight estimation.
    """

    name = "gmm"
    n_encoder_outputs = 1
    batch_statistic = True

    ks_weight: Tensor
    cv_weight: Tensor

    def __init__(
        self,
        latent_dim: int,
        *,
        n_components: int = 10,
        batch_size: int,
        generator: torch.Generator | None = None,
        prior: GMMPrior | None = None,
        std: float = 1.0,
        min_distance: float = 6.0,
        use_ks: bool = True,
        use_cv: bool = True,
        ks_weight: float | None = None,
        cv_weight: float | None = None,
        n_weight_batches: int = 100,
        seed: int = 0,
    ) -> None:
        if not (use_ks or use_cv):
            raise ConfigError("the gmm regularizer needs the KS term, the covariance term or both (use 'ae' for neither)")
        if prior is None:
            prior = GMMPrior.sobol(latent_dim, n_components, min_distance=min_distance, std=std, seed=seed)
        super().__init__(latent_dim, prior)
        self.use_ks = bool(use_ks)
        self.use_cv = bool(use_cv)
        self.batch_size = int(batch_size)
        if ks_weight is None or cv_weight is None:
            if generator is None:
                generator = torch.Generator(device=prior.means.device).manual_seed(seed)
            estimated = estimate_weights(prior, batch_size, n_batches=n_weight_batches, generator=generator)
            ks_weight = estimated.ks if ks_weight is None else ks_weight
            cv_weight = estimated.cv if cv_weight is None else cv_weight
        for label, value in (("ks_weight", ks_weight), ("cv_weight", cv_weight)):
            if not (float(value) > 0.0 and float(value) < float("inf")):
                raise ConfigError(f"{label} must be positive and finite, got {value}")
        # float64 buffers: lambda_CV can be large (1/L_CV scales with N), keep it exact across dtypes.
        self.register_buffer("ks_weight", torch.tensor(float(ks_weight), dtype=torch.float64))
        self.register_buffer("cv_weight", torch.tensor(float(cv_weight), dtype=torch.float64))
        self.config.update(
            n_components=prior.n_components,
            batch_size=self.batch_size,
            std=float(std),
            min_distance=float(min_distance),
            use_ks=self.use_ks,
            use_cv=self.use_cv,
            n_weight_batches=int(n_weight_batches),
            seed=int(seed),
            # Recorded so that rebuilding from the config (lsbo.regularizers.rebuild_regularizer)
            # takes these weights instead of estimating them again.
            ks_weight=float(self.ks_weight),
            cv_weight=float(self.cv_weight),
        )

    def loss_terms(self, z: Tensor) -> dict[str, Tensor]:
        """The weighted eq. 7 and eq. 8 terms of a batch of codes (of the global batch under torchrun)."""
        z = gather_batch(z)  # statistics of the N codes the eq. 10 weights are for (lsbo.distributed)
        terms: dict[str, Tensor] = {}
        if self.use_ks:
            value = ks_loss(z, self.prior)
            terms["ks"] = self.ks_weight.to(value.dtype) * value
        if self.use_cv:
            if z.shape[0] >= 2:
                value = covariance_loss(z, self.prior)
                terms["cv"] = self.cv_weight.to(value.dtype) * value
            else:
                # A last training batch of one code has no covariance; contribute nothing rather
                # than fail in the middle of an epoch.
                terms["cv"] = (z.sum() * 0.0).float()
        return terms

    def forward(self, encoder_output: Tensor) -> RegularizerOutput:
        (z,) = self.split(encoder_output)
        return RegularizerOutput(z=z, terms=self.loss_terms(z))
