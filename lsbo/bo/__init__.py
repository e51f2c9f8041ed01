"""Latent-space Bayesian optimisation (PROTOCOLS.md §4): surrogates, batch acquisition, candidate
decoding, the resumable loop and its results."""

from lsbo.bo.loop import BOConfig, run_optimization

__all__ = ["BOConfig", "run_optimization"]
