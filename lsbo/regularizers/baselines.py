"""The baselines of the paper's comparison (Section 4.1, Table 1), behind the same interface.

* ``vae`` -- variational autoencoder (Kingma & Welling, 2014): Gaussian encoder (mean and
  log-variance), reparameterised sample during training, term ``"kl"`` = beta * KL(q(z|x) || N(0, I))
  (summed over dimensions, averaged over the batch). beta = 1 by default. ``epsilon_std`` scales the
  reparameterisation noise, z = mean + epsilon_std * sigma * eps (default 1, the VAE proper); the
  Grammar VAE's reference implementation (Kusner et al., 2017) trains with 0.01, which keeps its
  expression and molecule VAEs out of posterior collapse (their KL term is unchanged).
* ``cvvae`` -- constant-variance VAE (Ghosh et al., 2020): the encoder emits only the mean; the
  code is mean + sigma * eps during training with a fixed, configurable sigma (default 1, the
  prior's scale); term ``"kl"`` = beta * KL(N(mean, sigma^2 I) || N(0, I)).
* ``rae`` -- regularized autoencoder (Ghosh et al., 2020, RAE-L2): deterministic code, term
  ``"code_l2"`` = code_weight * 0.5 * |z|^2 (batch mean; default 1e-4) and, through
  :meth:`RAERegularizer.decoder_terms`, ``"decoder_l2"`` = decoder_weight * sum of squared decoder
  parameters (default 1e-7). The two defaults are those commonly used with the RAE-L2 recipe.
* ``wae`` -- Wasserstein autoencoder with the MMD penalty (Tolstikhin et al., 2018): deterministic
  code, term ``"mmd"`` = weight * MMD^2(z, prior samples) with inverse multiquadric kernels summed
  over scales; weight 10 by default (their MNIST setting).
* ``ae`` -- plain autoencoder: no term (used for the lambda_REC heuristic of Section 3.3).

Their prior is N(0, I) (used for sampling); the "GMM" sampling of Table 1 fits an ex-post mixture
to the latents with :meth:`Regularizer.fit_ex_post`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from lsbo.components import REGULARIZERS
from lsbo.errors import ConfigError
from lsbo.priors import GMMPrior
from lsbo.regularizers.base import Regularizer, RegularizerOutput
from lsbo.regularizers.losses import WAE_IMQ_SCALES, gaussian_kl, imq_mmd

__all__ = ["AERegularizer", "CVVAERegularizer", "RAERegularizer", "VAERegularizer", "WAERegularizer"]


def _positive(label: str, value: float, allow_zero: bool = False) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0.0 or (value == 0.0 and not allow_zero):
        raise ConfigError(f"{label} must be {'non-negative' if allow_zero else 'positive'} and finite, got {value}")
    return value


@REGULARIZERS.register
class VAERegularizer(Regularizer):
    """Gaussian encoder, reparameterisation, beta-weighted KL to N(0, I)."""

    name = "vae"
    n_encoder_outputs = 2

    def __init__(
        self, latent_dim: int, *, beta: float = 1.0, epsilon_std: float = 1.0, min_log_variance: float = -30.0,
        max_log_variance: float = 20.0,
    ) -> None:
        super().__init__(latent_dim, GMMPrior.standard_normal(latent_dim))
        self.beta = _positive("beta", beta, allow_zero=True)
        self.epsilon_std = _positive("epsilon_std", epsilon_std)
        if not min_log_variance < max_log_variance:
            raise ConfigError("min_log_variance must be below max_log_variance")
        # exp(log-variance) overflows for large encoder outputs; clamping keeps KL and sample finite.
        self.log_variance_range = (float(min_log_variance), float(max_log_variance))
        self.config.update(beta=self.beta, epsilon_std=self.epsilon_std, min_log_variance=self.log_variance_range[0], max_log_variance=self.log_variance_range[1])

    def forward(self, encoder_output: Tensor) -> RegularizerOutput:
        mean, log_variance = self.split(encoder_output)
        log_variance = log_variance.clamp(*self.log_variance_range)
        noise = self.epsilon_std * torch.randn_like(mean)
        z = mean + torch.exp(0.5 * log_variance) * noise if self.training else mean
        return RegularizerOutput(z=z, terms={"kl": self.beta * gaussian_kl(mean, log_variance)})


@REGULARIZERS.register
class CVVAERegularizer(Regularizer):
    """Constant-variance VAE: the encoder gives the mean; the noise scale is a fixed ``std``."""

    name = "cvvae"
    n_encoder_outputs = 1

    def __init__(self, latent_dim: int, *, std: float = 1.0, beta: float = 1.0) -> None:
        super().__init__(latent_dim, GMMPrior.standard_normal(latent_dim))
        self.std = _positive("std", std)
        self.beta = _positive("beta", beta, allow_zero=True)
        self.config.update(std=self.std, beta=self.beta)

    def forward(self, encoder_output: Tensor) -> RegularizerOutput:
        (mean,) = self.split(encoder_output)
        z = mean + self.std * torch.randn_like(mean) if self.training else mean
        log_variance = torch.full_like(mean, 2.0 * math.log(self.std))
        return RegularizerOutput(z=z, terms={"kl": self.beta * gaussian_kl(mean, log_variance)})


@REGULARIZERS.register
class RAERegularizer(Regularizer):
    """RAE-L2: L2 penalty on the code plus weight decay on the decoder."""

    name = "rae"
    n_encoder_outputs = 1

    def __init__(self, latent_dim: int, *, code_weight: float = 1e-4, decoder_weight: float = 1e-7) -> None:
        super().__init__(latent_dim, GMMPrior.standard_normal(latent_dim))
        self.code_weight = _positive("code_weight", code_weight, allow_zero=True)
        self.decoder_weight = _positive("decoder_weight", decoder_weight, allow_zero=True)
        self.config.update(code_weight=self.code_weight, decoder_weight=self.decoder_weight)

    def forward(self, encoder_output: Tensor) -> RegularizerOutput:
        (z,) = self.split(encoder_output)
        z_wide = z if z.dtype == torch.float64 else z.float()
        code_l2 = 0.5 * z_wide.square().sum(dim=1).mean()
        return RegularizerOutput(z=z, terms={"code_l2": self.code_weight * code_l2})

    def decoder_terms(self, decoder: nn.Module) -> dict[str, Tensor]:
        squares = [parameter.float().square().sum() for parameter in decoder.parameters() if parameter.requires_grad]
        if not squares:
            return {}
        return {"decoder_l2": self.decoder_weight * torch.stack(squares).sum()}


@REGULARIZERS.register
class WAERegularizer(Regularizer):
    """WAE-MMD: inverse-multiquadric MMD between the batch codes and as many prior samples."""

    name = "wae"
    n_encoder_outputs = 1
    batch_statistic = True

    def __init__(self, latent_dim: int, *, weight: float = 10.0, scales: Sequence[float] = WAE_IMQ_SCALES) -> None:
        super().__init__(latent_dim, GMMPrior.standard_normal(latent_dim))
        self.weight = _positive("weight", weight, allow_zero=True)
        self.scales = tuple(_positive("kernel scale", s) for s in scales)
        if not self.scales:
            raise ConfigError("the WAE needs at least one kernel scale")
        self.config.update(weight=self.weight, scales=list(self.scales))

    def forward(self, encoder_output: Tensor) -> RegularizerOutput:
        (z,) = self.split(encoder_output)
        if z.shape[0] < 2:  # the unbiased MMD needs two codes; a last batch of one adds nothing
            return RegularizerOutput(z=z, terms={"mmd": (z.sum() * 0.0).float()})
        reference, _component = self.prior.sample(z.shape[0])
        # The prior here is N(0, I): sigma^2 = 1 in the kernel constant C = 2 d sigma^2.
        mmd = imq_mmd(z, reference.to(z.device), prior_variance=1.0, scales=self.scales)
        return RegularizerOutput(z=z, terms={"mmd": self.weight * mmd})


@REGULARIZERS.register
class AERegularizer(Regularizer):
    """No regularization: the plain autoencoder."""

    name = "ae"
    n_encoder_outputs = 1

    def __init__(self, latent_dim: int) -> None:
        super().__init__(latent_dim, GMMPrior.standard_normal(latent_dim))

    def forward(self, encoder_output: Tensor) -> RegularizerOutput:
        (z,) = self.split(encoder_output)
        return RegularizerOutput(z=z, terms={})
