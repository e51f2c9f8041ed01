"""The one regularizer interface shared by every model (sequence and image).

A :class:`Regularizer` sits between encoder and decoder. It knows how many values per latent
dimension the encoder must emit (:attr:`Regularizer.n_encoder_outputs`: 1 for a deterministic code,
2 for a Gaussian's mean and log-variance); called on the encoder output it returns a
:class:`RegularizerOutput` -- the code to decode, the named loss terms already multiplied by their
weights -- whose sum is added to the (weighted) reconstruction loss of eq. 9. It holds a
prior to sample from and can fit an ex-post density to learned latents.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from lsbo.priors import GMMPrior
from lsbo.regularizers.ex_post import ExPostGMM, fit_ex_post_gmm

__all__ = ["Regularizer", "RegularizerOutput"]


@dataclass
class RegularizerOutput:
    """What a regularizer returns: the latent code to decode and its weighted loss terms
    (:func:`lsbo.regularizers.terms.combine_losses` adds them to the reconstruction term)."""

    z: Tensor
    terms: dict[str, Tensor] = field(default_factory=dict)


class Regularizer(nn.Module, ABC):
    """Base class: splits the encoder output, regularizes it, and samples from its prior.

    Subclasses set :attr:`name` and :attr:`n_encoder_outputs` and implement :meth:`forward`.
    ``config`` holds the options the regularizer was built with (JSON-able), so that a model can
    record them and rebuild the same regularizer before loading its ``state_dict``.
    """

    name: ClassVar[str]
    n_encoder_outputs: ClassVar[int] = 1

    def __init__(self, latent_dim: int, prior: GMMPrior) -> None:
        super().__init__()
        if prior.dim != latent_dim:
            raise ValueError(f"prior dimension {prior.dim} differs from the latent dimension {latent_dim}")
        self.latent_dim = int(latent_dim)
        self.prior = prior
        self.config: dict[str, Any] = {"name": self.name, "latent_dim": self.latent_dim}

    # ---------------------------------------------------------------- encoder output
    def split(self, encoder_output: Tensor) -> tuple[Tensor, ...]:
        """The encoder output (N, n_encoder_outputs * d) as ``n_encoder_outputs`` (N, d) tensors."""
        expected = self.n_encoder_outputs * self.latent_dim
        if encoder_output.dim() != 2 or encoder_output.shape[1] != expected:
            raise ValueError(
                f"the {self.name} regularizer expects encoder outputs of shape (N, {expected}) "
                f"({self.n_encoder_outputs} x latent dimension {self.latent_dim}), got {tuple(encoder_output.shape)}"
            )
        return tuple(encoder_output.chunk(self.n_encoder_outputs, dim=1)) if self.n_encoder_outputs > 1 else (encoder_output,)

    def code(self, encoder_output: Tensor) -> Tensor:
        """Deterministic latent code (the mean) for evaluation, encoding and Bayesian optimisation."""
        return self.split(encoder_output)[0]

    @abstractmethod
    def forward(self, encoder_output: Tensor) -> RegularizerOutput:
        """Code to decode and weighted loss terms for one training batch."""

    def decoder_terms(self, decoder: nn.Module) -> dict[str, Tensor]:
        """Weighted loss terms on the decoder's parameters (only RAE has one)."""
        return {}

    # ---------------------------------------------------------------- sampling
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` latent points from the prior, shape (n, d)."""
        return self.prior.sample(n, generator=generator)[0]

    def fit_ex_post(
        self, latents: Tensor, n_components: int = 10, *, covariance_type: str = "full", seed: int = 0
    ) -> ExPostGMM:
        """Gaussian mixture fitted to learned latents (the ex-post density of Ghosh et al.)."""
        return fit_ex_post_gmm(latents, n_components, covariance_type=covariance_type, seed=seed)

    def extra_repr(self) -> str:
        options = ", ".join(f"{key}={value}" for key, value in self.config.items() if key != "name")
        return options
