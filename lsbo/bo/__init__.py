"""Latent-space Bayesian optimisation (PROTOCOLS.md §4): surrogates, batch acquisition, candidate
decoding, the resumable loop and its results."""

from lsbo.bo.loop import BOConfig, run_optimization

#: The optimisation strategies a run can use; ``protocol`` is the paper's loop (PROTOCOLS.md §4).
#: Specs and flags are checked against this tuple, so a strategy added here is accepted everywhere.
STRATEGIES: tuple[str, ...] = ("protocol",)

__all__ = ["BOConfig", "STRATEGIES", "run_optimization"]
