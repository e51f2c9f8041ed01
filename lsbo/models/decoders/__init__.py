"""Sequence decoders behind one step-wise interface (:class:`StepDecoder`), registered in :data:`DECODERS`.

``repeat`` is the paper's repeated-latent GRU (the default of the ``paper`` presets);
``autoregressive`` feeds back the previous symbol. A user's decoder is one subclass registered with
``@DECODERS.register("name")`` in a plugin module (docs/extending.md).
"""

from lsbo.models.decoders.autoregressive import AutoregressiveDecoder
from lsbo.models.decoders.base import DECODERS, DecoderState, StepDecoder
from lsbo.models.decoders.repeat import RepeatDecoder

__all__ = ["DECODERS", "AutoregressiveDecoder", "DecoderState", "RepeatDecoder", "StepDecoder"]
