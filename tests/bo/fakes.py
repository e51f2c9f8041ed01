"""A tiny stand-in for a trained model (the TrainedModel contract) for fast loop tests.

Expressions ``x * c`` for constants on a 2-D grid: the latent point (a, b) decodes to the nearest
grid expression, with sampling noise when ``sample=True``. Deterministic given the generator.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

CONSTANTS = ["1", "2", "3", "x", "sin( x )", "exp( 1 )"]


def grid_strings() -> list[str]:
    return [f"{a} + {b}" for a in CONSTANTS for b in CONSTANTS]


class FakeModel:
    kind = "expressions"
    latent_dim = 2
    prior = None
    grammar = None
    data_stats: dict = {}

    def __init__(self, model_dir: Path | str = "fake-model") -> None:
        self.device = torch.device("cpu")
        self.model_dir = Path(model_dir)
        self.strings = grid_strings()
        self.points = torch.tensor([[float(i), float(j)] for i in range(len(CONSTANTS)) for j in range(len(CONSTANTS))])
        self.decode_calls = 0

    def training_strings(self) -> list[str]:
        return list(self.strings)

    def encode(self, strings):
        index = {s: i for i, s in enumerate(self.strings)}
        ok = np.array([s in index for s in strings])
        z = torch.full((len(strings), 2), float("nan"))
        for row, s in enumerate(strings):
            if s in index:
                z[row] = self.points[index[s]]
        return z, ok

    def decode(self, z, sample=False, generator=None, complete=True, repeats=1):
        self.decode_calls += 1
        self.last_complete = complete
        z = torch.as_tensor(z, dtype=torch.float32).repeat_interleave(repeats, dim=0)
        if sample:
            z = z + 0.4 * torch.randn(z.shape, generator=generator)
        nearest = torch.cdist(z, self.points).argmin(dim=1)
        return [self.strings[int(i)] for i in nearest]
