"""The registries of the component kinds a user extends, declared where importing them costs nothing.

Each is a :class:`lsbo.registry.Registry` whose built-in names are declared here with the module that
registers them (by a decorator on the component), so the command line lists the choices in ``--help``
without importing torch, and a plugin (:mod:`lsbo.plugins`) adds its own with the same decorator:

* :data:`STRATEGIES` -- BO search strategies (:class:`lsbo.bo.Strategy`; ``lsbo optimize --strategy``,
  ``[[bo.strategy]] name`` of an experiment spec);
* :data:`REGULARIZERS` -- latent regularizers (:class:`lsbo.regularizers.Regularizer`; ``lsbo train
  --regularizer``, ``lsbo images train --regularizer``, ``regularizer`` of a ``[[model]]``);
* :data:`OBJECTIVES` -- named objectives (factories ``(model) -> Objective``; ``lsbo optimize --target``,
  ``[dataset] target``); a target ``module:function`` needs no registration;
* :data:`DATASET_STATISTICS` -- statistics of a training set stored with the model (functions
  ``(strings) -> dict``; e.g. the penalized-logP standardisation of a molecule set), so the training
  pipeline computes an objective's statistics without importing the objectives.

* :data:`DECODERS` -- sequence decoders (:class:`lsbo.models.decoders.StepDecoder`; ``lsbo train --decoder``,
  ``decoder`` of a ``[[model]]``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from lsbo.registry import Registry

if TYPE_CHECKING:
    from lsbo.bo.strategies import Strategy
    from lsbo.models.decoders.base import StepDecoder
    from lsbo.objectives.base import Objective
    from lsbo.regularizers.base import Regularizer

__all__ = ["DATASET_STATISTICS", "DECODERS", "OBJECTIVES", "REGULARIZERS", "STRATEGIES"]

STRATEGIES: Registry[type[Strategy]] = Registry("strategy", builtins={"protocol": "lsbo.bo.strategies", "turbo": "lsbo.bo.strategies"})
REGULARIZERS: Registry[type[Regularizer]] = Registry("regularizer", builtins={
    "gmm": "lsbo.regularizers.gmm", **{name: "lsbo.regularizers.baselines" for name in ("vae", "cvvae", "rae", "wae", "ae")},
})
#: name -> a factory ``(model or None) -> Objective``
OBJECTIVES: Registry[Callable[[Any], Objective]] = Registry("objective", parameter="target", builtins={
    name: "lsbo.objectives.builtin" for name in ("logp", "logp-dataset", "logp-raw", "expr", "qed")
})
DATASET_STATISTICS: Registry[Callable[[Sequence[str]], dict[str, Any]]] = Registry(
    "dataset statistic", builtins={"penalized_logp": "lsbo.objectives.logp"}
)
DECODERS: Registry[type[StepDecoder]] = Registry("decoder", builtins={
    "repeat": "lsbo.models.decoders.repeat", "autoregressive": "lsbo.models.decoders.autoregressive",
})
