"""A search strategy as a plugin: uniform random search in the search box (a baseline for BO).

    lsbo --plugin examples/plugins/random_search.py optimize --strategy random --target expr --model MODEL --out RUN

Each iteration draws ``q`` points uniformly in the box, seeded by the iteration's seed, so a run is
reproducible and a resumed run proposes what the uninterrupted one would have. It fits no surrogate.
"""

from __future__ import annotations

import torch

from lsbo.bo import Strategy, register_strategy
from lsbo.bo.strategies import Observations, Proposal


@register_strategy
class RandomSearch(Strategy):
    name = "random"
    acquisitions = ("uniform",)  # what --acquisition accepts with this strategy; the first is the default
    surrogates = ("none",)  # what --surrogate accepts

    def propose(self, observations: Observations, q: int, seed: int) -> Proposal:
        lower, upper = observations.bounds  # (d,) each, float64
        draws = torch.rand(q, lower.numel(), dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
        latents = (lower.cpu() + draws * (upper - lower).cpu())  # (q, d)
        metrics = {"surrogate": "none", "n_train": len(observations.y), "fit_seconds": 0.0, "acquisition_seconds": 0.0}
        return Proposal(latents, metrics)
