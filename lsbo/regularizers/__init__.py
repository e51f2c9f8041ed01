"""Latent regularizers: the paper's GMM-KS regularizer and the baselines, behind one interface.

* :mod:`lsbo.regularizers.losses` -- the loss functions (eqs. 7, 8, 10; KL; IMQ-MMD) and the
  lambda_REC heuristic of Section 3.3.
* :mod:`lsbo.regularizers.base` -- :class:`Regularizer` and :class:`RegularizerOutput`.
* :mod:`lsbo.regularizers.terms` -- :class:`LossTerms`, the weighted terms of eq. 9 and their sum.
* :mod:`lsbo.regularizers.gmm` -- ``gmm``, this paper (Section 3).
* :mod:`lsbo.regularizers.baselines` -- ``vae``, ``cvvae``, ``rae``, ``wae``, ``ae``.
* :mod:`lsbo.regularizers.ex_post` -- ex-post Gaussian mixtures fitted to learned latents.
* :mod:`lsbo.regularizers.figure` -- the data and plot of the paper's Figure 1.

Build one by name with :func:`build_regularizer`.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import torch

from lsbo.errors import ConfigError
from lsbo.regularizers.base import Regularizer, RegularizerOutput
from lsbo.regularizers.baselines import (
    AERegularizer,
    CVVAERegularizer,
    RAERegularizer,
    VAERegularizer,
    WAERegularizer,
)
from lsbo.regularizers.ex_post import ExPostGMM, fit_ex_post_gmm
from lsbo.regularizers.gmm import GMMRegularizer
from lsbo.regularizers.terms import LossTerms, combine_losses, sum_terms
from lsbo.regularizers.losses import (
    LossWeights,
    covariance_loss,
    estimate_weights,
    gaussian_kl,
    imq_mmd,
    ks_loss,
    reconstruction_weight_from_ae,
)

__all__ = [
    "REGULARIZERS",
    "AERegularizer",
    "CVVAERegularizer",
    "ExPostGMM",
    "GMMRegularizer",
    "LossTerms",
    "LossWeights",
    "RAERegularizer",
    "Regularizer",
    "RegularizerOutput",
    "VAERegularizer",
    "WAERegularizer",
    "build_regularizer",
    "check_regularizer_options",
    "combine_losses",
    "covariance_loss",
    "estimate_weights",
    "fit_ex_post_gmm",
    "gaussian_kl",
    "imq_mmd",
    "ks_loss",
    "rebuild_regularizer",
    "reconstruction_weight_from_ae",
    "sum_terms",
]

REGULARIZERS: dict[str, type[Regularizer]] = {
    cls.name: cls
    for cls in (GMMRegularizer, VAERegularizer, CVVAERegularizer, RAERegularizer, WAERegularizer, AERegularizer)
}

# Arguments every regularizer is handed by build_regularizer; each takes the ones it uses.
_SHARED_ARGUMENTS = ("n_components", "batch_size", "generator")


def check_regularizer_options(name: str, options: Mapping[str, Any]) -> str:
    """The normalised regularizer name, after checking ``name`` and the keys of ``options``.

    Cheap (nothing is built), so callers can refuse a bad ``--regularizer``/``--regularizer-option``
    before any expensive work; a problem is a :class:`ConfigError` naming the valid choices.
    """
    key = name.strip().lower()
    if key not in REGULARIZERS:
        raise ConfigError(f"unknown regularizer {name!r}: expected one of {', '.join(REGULARIZERS)}")
    accepted = inspect.signature(REGULARIZERS[key].__init__).parameters
    # the shared arguments have their own flags (--components, --batch-size); as options they would clash
    unknown = sorted(option for option in options if option not in accepted or option in ("self", "latent_dim", *_SHARED_ARGUMENTS))
    if unknown:
        allowed = [p for p in accepted if p not in ("self", "latent_dim", *_SHARED_ARGUMENTS)]
        raise ConfigError(
            f"regularizer {key!r} has no option {', '.join(map(repr, unknown))} "
            f"(options: {', '.join(allowed) if allowed else 'none'})"
        )
    return key


def build_regularizer(
    name: str,
    latent_dim: int,
    *,
    n_components: int = 10,
    batch_size: int,
    generator: torch.Generator | None = None,
    **options: Any,
) -> Regularizer:
    """The regularizer called ``name`` for ``latent_dim``-dimensional codes.

    ``n_components`` (prior components) and ``generator`` (eq. 10 weight estimation) concern
    ``gmm``; ``batch_size`` is the training batch size (``gmm`` estimates its weights for it).
    ``options`` are the keyword arguments of the chosen class (e.g. ``use_cv=False`` for ``gmm``,
    ``beta=4.0`` for ``vae``); an unknown one is a :class:`ConfigError` naming it.
    """
    key = check_regularizer_options(name, options)
    if int(latent_dim) < 1:
        raise ConfigError(f"latent dimension must be at least 1, got {latent_dim}")
    cls = REGULARIZERS[key]
    accepted = inspect.signature(cls.__init__).parameters
    shared = {"n_components": n_components, "batch_size": batch_size, "generator": generator}
    arguments = {k: v for k, v in shared.items() if k in accepted}
    try:
        return cls(int(latent_dim), **arguments, **options)
    except (TypeError, ValueError) as err:  # e.g. beta="abc" from --regularizer-option
        raise ConfigError(f"regularizer {key!r}: an option has a value of the wrong type ({err})") from None


def rebuild_regularizer(config: dict[str, Any]) -> Regularizer:
    """The regularizer described by a saved ``Regularizer.config`` (e.g. from a checkpoint).

    The ``gmm`` config carries its eq. 10 weights, so nothing is re-estimated; load the saved
    ``state_dict`` afterwards to restore the prior buffers (their shapes are taken from it).
    """
    if not isinstance(config, dict) or "name" not in config or "latent_dim" not in config:
        raise ConfigError("regularizer config must be a mapping with at least 'name' and 'latent_dim'")
    options = {key: value for key, value in config.items() if key not in ("name", "latent_dim")}
    n_components = int(options.pop("n_components", 10))
    batch_size = int(options.pop("batch_size", 2))
    if "scales" in options:
        options["scales"] = tuple(options["scales"])
    return build_regularizer(
        str(config["name"]), int(config["latent_dim"]), n_components=n_components, batch_size=batch_size, **options
    )
