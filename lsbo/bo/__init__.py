"""Latent-space Bayesian optimisation (docs/protocols.md §4): surrogates, batch acquisition, candidate
decoding, the resumable loop and its results."""

from typing import Any

from lsbo.bo.loop import BOConfig, run_optimization
from lsbo.bo.strategies import Strategy, build_strategy, register_strategy

__all__ = ["BOConfig", "STRATEGY_NAMES", "Strategy", "build_strategy", "register_strategy", "run_optimization"]


def __getattr__(name: str) -> Any:
    # the registered strategies' names when asked for: a plugin loaded since has added its own
    if name == "STRATEGY_NAMES":
        from lsbo.components import STRATEGIES

        return STRATEGIES.names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
