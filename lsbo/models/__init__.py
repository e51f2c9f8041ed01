"""Sequence autoencoders of the Grammar VAE family (Kusner et al., 2017; docs/protocols.md §2) with any
latent regularizer of :mod:`lsbo.regularizers` (the paper's GMM-KS by default, Section 3).

- :mod:`lsbo.models.networks`: the convolutional encoder and the GRU decoder.
- :mod:`lsbo.models.codecs`: grammar productions (masked) or characters (the CVAE baseline).
- :mod:`lsbo.models.autoencoder`: the model and its eq. 9 loss for the generic trainer.
- :mod:`lsbo.models.config`: configurations and the ``paper``/``cpu`` presets.
- :mod:`lsbo.models.pipeline`: dataset → trained model directory (``lsbo train``).
- :mod:`lsbo.models.trained`: :func:`load_model` and :class:`TrainedModel` (encode, decode, sample).
"""

from lsbo.models.autoencoder import SequenceAutoencoder
from lsbo.models.codecs import CharCodec, GrammarCodec, SequenceCodec
from lsbo.models.config import SequenceModelConfig, model_config
from lsbo.models.networks import SequenceDecoder, SequenceEncoder
from lsbo.models.pipeline import TrainOptions, train_sequence_model
from lsbo.models.trained import TrainedModel, build_autoencoder, load_model
from lsbo.options import PRESETS

__all__ = [
    "PRESETS",
    "CharCodec",
    "GrammarCodec",
    "SequenceAutoencoder",
    "SequenceCodec",
    "SequenceDecoder",
    "SequenceEncoder",
    "SequenceModelConfig",
    "TrainOptions",
    "TrainedModel",
    "build_autoencoder",
    "load_model",
    "model_config",
    "train_sequence_model",
]
