"""Latent-space Bayesian optimisation (docs/protocols.md §4): surrogates, batch acquisition, candidate
decoding, the resumable loop and its results."""

from lsbo.bo.loop import BOConfig, run_optimization
from lsbo.bo.strategies import STRATEGY_NAMES, Strategy, build_strategy, register_strategy

__all__ = ["BOConfig", "STRATEGY_NAMES", "Strategy", "build_strategy", "register_strategy", "run_optimization"]
