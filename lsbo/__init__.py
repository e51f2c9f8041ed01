"""lsbo: latent-space Bayesian optimisation with grammar autoencoders and the GMM-KS regularizer.

The data path, one module per step::

    text -> tokens -> productions -> tensors -> latents -> candidates -> strings -> scores
    (lsbo.grammar)                 (lsbo.models, lsbo.priors, lsbo.regularizers)  (lsbo.bo, lsbo.objectives)

Heavy sub-packages are imported lazily by their users; importing `lsbo` itself is cheap.
"""

from lsbo.errors import LsboError

__version__ = "0.1.0"

__all__ = ["LsboError", "__version__"]
