"""A latent regularizer as a plugin: a deterministic code with an L1 penalty (a sparse autoencoder).

    lsbo --plugin examples/plugins/sparse_code.py train expr --regularizer sparse --regularizer-option weight=0.01 --out MODEL

The checkpoint names the regularizer ``sparse`` with its ``weight``; the model loads again wherever
this plugin is loaded (``--plugin`` or ``LSBO_PLUGINS``). Its prior, for ``lsbo sample`` and the
search box ``--box prior``, is N(0, I).
"""

from __future__ import annotations

from torch import Tensor

from lsbo.components import REGULARIZERS
from lsbo.errors import ConfigError
from lsbo.priors import GMMPrior
from lsbo.regularizers import Regularizer, RegularizerOutput


@REGULARIZERS.register
class SparseCode(Regularizer):
    name = "sparse"
    n_encoder_outputs = 1  # the encoder emits the code itself: (N, d)

    def __init__(self, latent_dim: int, *, weight: float = 1e-3) -> None:  # options: --regularizer-option weight=...
        super().__init__(latent_dim, GMMPrior.standard_normal(latent_dim))
        if not weight >= 0.0:
            raise ConfigError(f"regularizer 'sparse' option weight must be non-negative, got {weight}")
        self.weight = float(weight)
        self.config.update(weight=self.weight)  # stored in the checkpoint; rebuilt from it on loading

    def forward(self, encoder_output: Tensor) -> RegularizerOutput:
        (z,) = self.split(encoder_output)  # (N, d)
        return RegularizerOutput(z=z, terms={"l1": self.weight * z.float().abs().sum(dim=1).mean()})
