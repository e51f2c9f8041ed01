"""Latent regularizers: the paper's GMM-KS regularizer and the baselines, behind one interface.

* :mod:`lsbo.regularizers.losses` -- the loss functions (eqs. 7, 8, 10; KL; IMQ-MMD) and the
  lambda_REC heuristic of Section 3.3.
* :mod:`lsbo.regularizers.base` -- :class:`Regularizer` and :class:`RegularizerOutput`.
* :mod:`lsbo.regularizers.terms` -- :class:`LossTerms`, the weighted terms of eq. 9 and their sum.
* :mod:`lsbo.regularizers.gmm` -- ``gmm``, this paper (Section 3).
* :mod:`lsbo.regularizers.baselines` -- ``vae``, ``cvvae``, ``rae``, ``wae``, ``ae``.
* :mod:`lsbo.regularizers.ex_post` -- ex-post Gaussian mixtures fitted to learned latents.
* :mod:`lsbo.regularizers.figure` -- the data and plot of the paper's Figure 1.

Build one by name with :func:`build_regularizer`; the names are :data:`lsbo.components.REGULARIZERS`,
which a plugin's ``@REGULARIZERS.register`` class joins (docs/extending.md).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from typing import Any, cast

import torch

from lsbo.components import REGULARIZERS
from lsbo.errors import ConfigError
from lsbo.registry import PLUGIN_HINT
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
from lsbo.regularizers.losses import (
    LossWeights,
    covariance_loss,
    estimate_weights,
    gaussian_kl,
    imq_mmd,
    ks_loss,
    reconstruction_weight_from_ae,
)
from lsbo.regularizers.terms import LossTerms, combine_losses, sum_terms

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
    "normalize_regularizer_options",
    "ks_loss",
    "rebuild_regularizer",
    "reconstruction_weight_from_ae",
    "sum_terms",
]


# Arguments every regularizer is handed by build_regularizer; each takes the ones it uses.
_SHARED_ARGUMENTS = ("n_components", "batch_size", "generator")


def check_regularizer_options(name: str, options: Mapping[str, Any]) -> str:
    """The normalised regularizer name, after checking ``name`` and the keys of ``options``.

    Cheap (nothing is built), so callers can refuse a bad ``--regularizer``/``--regularizer-option``
    before any expensive work; a problem is a :class:`ConfigError` naming the valid choices.
    """
    key = name.strip().lower()
    if key not in REGULARIZERS:
        raise ConfigError(f"unknown regularizer {name!r}: expected one of {', '.join(REGULARIZERS.names())}{PLUGIN_HINT}")
    accepted = inspect.signature(REGULARIZERS.get(key).__init__).parameters
    # the shared arguments have their own flags (--components, --batch-size); as options they would clash
    unknown = sorted(option for option in options if option not in accepted or option in ("self", "latent_dim", *_SHARED_ARGUMENTS))
    if unknown:
        allowed = [p for p in accepted if p not in ("self", "latent_dim", *_SHARED_ARGUMENTS)]
        raise ConfigError(
            f"regularizer {key!r} has no option {', '.join(map(repr, unknown))} "
            f"(options: {', '.join(allowed) if allowed else 'none'})"
        )
    return key


def _option_type(parameter: inspect.Parameter) -> str:
    """``bool``, ``int``, ``float``, ``floats`` (a sequence) or ``other``, from the default or the annotation."""
    default = parameter.default
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    annotation = str(parameter.annotation).replace(" ", "")
    for name, kind in (("bool", "bool"), ("float", "float"), ("int", "int")):
        if annotation in (name, f"{name}|None", f"None|{name}"):
            return kind
    if annotation.startswith(("Sequence[float]", "tuple[float")):
        return "floats"
    return "other"


def normalize_regularizer_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options of regularizer ``name`` converted to the types its constructor takes.

    Text (as given with ``--regularizer-option KEY=VALUE``) and numbers are read strictly by the
    type of each option: booleans from true/false, yes/no, on/off, 1/0 (``use_cv=no`` is False,
    ``use_cv=maybe`` is refused), integers, finite floats, comma-separated floats for sequences,
    ``none`` for an optional value. A value that does not fit is a :class:`ConfigError` naming the
    option, so a stored configuration holds the values the regularizer was built with.
    """
    from lsbo.options import parse_bool

    key = check_regularizer_options(name, options)
    accepted = inspect.signature(REGULARIZERS.get(key).__init__).parameters
    normalized: dict[str, Any] = {}
    for option, value in options.items():
        kind = _option_type(accepted[option])
        where = f"regularizer {key!r} option {option}"
        if isinstance(value, str) and value.strip().lower() == "none" and accepted[option].default is None:
            normalized[option] = None
            continue
        try:
            if kind == "bool":
                normalized[option] = parse_bool(option, value)
            elif kind == "int":
                if isinstance(value, bool) or float(value) != int(float(value)):
                    raise ValueError
                normalized[option] = int(float(value))
            elif kind == "float":
                if isinstance(value, bool) or not math.isfinite(float(value)):
                    raise ValueError
                normalized[option] = float(value)
            elif kind == "floats":
                parts = value.split(",") if isinstance(value, str) else list(value)
                normalized[option] = [float(part) for part in parts]
            else:
                normalized[option] = value
        except ConfigError:
            raise ConfigError(f"{where} must be true or false (got {value!r})") from None
        except (TypeError, ValueError, OverflowError):
            wanted = {"int": "an integer", "float": "a finite number", "floats": "comma-separated numbers"}[kind]
            raise ConfigError(f"{where} has a value of the wrong type (expected {wanted}, got {value!r})") from None
    return normalized


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
    options = normalize_regularizer_options(key, options)
    if int(latent_dim) < 1:
        raise ConfigError(f"latent dimension must be at least 1, got {latent_dim}")
    cls = REGULARIZERS.get(key)
    accepted = inspect.signature(cls.__init__).parameters
    shared = {"n_components": n_components, "batch_size": batch_size, "generator": generator}
    arguments = {k: v for k, v in shared.items() if k in accepted}
    try:
        return cast(Any, cls)(int(latent_dim), **arguments, **options)  # each class takes its own keywords
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
