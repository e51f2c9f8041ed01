"""Model configurations and named presets for the sequence autoencoders.

``paper`` holds the exact sizes of docs/protocols.md §2 (Kusner et al., 2017): for molecules (ZINC,
76-production SMILES grammar, 277 steps) three convolutions 9x9, 9x9, 10x11, dense 435, latent 56,
three GRU layers of 501 units, batch 500, 100 epochs; for expressions convolutions 2x2, 3x3, 4x4,
dense 100, latent 25, GRU 100, batch 600, 50 epochs. The character baseline (CVAE) uses the same
network over one-hot characters.

``cpu`` is the best configuration measured on a CPU budget (benchmarks/RESULTS.md, "Decoders"): the
autoregressive decoder (each step reads the symbol chosen before it; the paper's repeated-latent
decoder reconstructs 8% of held-out expressions where it reaches 99.8% in the same time),
padded encoder convolutions (``full``: the first symbol is read through as many windows as the
others), a reconstruction weight of 30 (Section 3.3 of the paper sets λ_REC to the inverse of a
plain autoencoder's best loss, about 1/0.005 here; with 1 the regularizer's terms dominate and
GMM-KS reconstructs 30% after 20 epochs), the paper's latent sizes (so results stay comparable
to its latent spaces) and convolutions, and smaller batches; the expression family runs up to 100
epochs, which early stopping (10 epochs without a better validation loss) usually cuts short. ``auto`` is ``cpu`` without a CUDA
device and ``paper`` with one (:func:`resolve_preset`).

Which family a dataset takes is a fact of the dataset registry (:mod:`lsbo.data.manifests`): a
grammar other than the two built-in ones takes the ``molecules`` family when its derivations are
long (>= 60 steps, where the wide kernels fit) and the ``expressions`` family otherwise. Every field
can be overridden (CLI flags or keyword arguments to :func:`model_config`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

from lsbo.errors import ConfigError
from lsbo.options import INITIALISATIONS, PRESETS, TRAIN_OPTIONS, check_rec_weight, check_value, known_fields

__all__ = ["FAMILIES", "PRESETS", "SequenceModelConfig", "family_for", "model_config", "resolve_preset", "validate_config"]  # PRESETS: lsbo.options

ModelKind = Literal["grammar", "char"]
FAMILIES = ("molecules", "expressions")

# What a configuration stored before a field existed meant: a checkpoint written then is read with
# these values, not with today's defaults (its weights have no batch-norm layers, for instance).
LEGACY_VALUES: dict[str, Any] = {
    "encoder_batch_norm": False, "decoder_batch_norm": False, "init": "torch",
    "full_length": True,  # trained over all T steps before length-following training existed
    "conv_padding": "valid",
    "decoder": "repeat",
}


@dataclass
class SequenceModelConfig:
    """Everything that defines a sequence autoencoder and its training run."""

    model: ModelKind = "grammar"
    latent_dim: int = 25
    conv_filters: tuple[int, ...] = (2, 3, 4)
    conv_kernels: tuple[int, ...] = (2, 3, 4)
    dense_units: int = 100
    gru_hidden: int = 100
    gru_layers: int = 3
    regularizer: str = "gmm"
    n_components: int = 10
    # The Grammar VAE expression model's batch norms (after each convolution; on the code before the
    # decoder's dense layer) and Keras' initialisation ("glorot"; "torch" = PyTorch's layer defaults).
    # The one on the code is on by default: without it the plain AE, RAE and VAE decoders learn the
    # marginal instead of reading their small codes (benchmarks/RESULTS.md, "Why the baselines did
    # not learn"). Keras' initialisation is the default since PyTorch's leaves one or two of the paper
    # expression encoder's 3 and 4 second/third-layer filters dead from the start on most seeds, and
    # the model poor (RESULTS.md, "Initial weights: dead encoder filters and the seed spread"). The encoder batch norms
    # avoid that too but are not measured in training; they stay off.
    encoder_batch_norm: bool = False
    decoder_batch_norm: bool = True
    init: str = "glorot"
    # The reference's unpadded convolutions; "full" pads kernel - 1 zeros on both sides so that the first
    # symbol is not read through a single window (lsbo.models.networks; RESULTS.md: the character VAE).
    conv_padding: str = "valid"
    # The sequence decoder (lsbo.models.decoders): "repeat" is the paper's repeated-latent GRU,
    # "autoregressive" feeds back the previous symbol.
    decoder: str = "repeat"
    regularizer_options: dict[str, Any] = field(default_factory=dict)
    rec_weight: float | str = 1.0  # a number, or "auto" (Section 3.3: 1 / best loss of a plain AE)
    batch_size: int = 600
    epochs: int = 50
    learning_rate: float = 1e-3
    validation_fraction: float = 0.1
    early_stopping_patience: int = 10
    grad_clip: float | None = 5.0
    seed: int = 0
    # The initial weights alone (None: ``seed``); the split, the batch order and the training noise keep
    # ``seed``. It separates the two halves of a seed's effect (benchmarks/RESULTS.md, seeded Tables 2/3).
    weight_seed: int | None = None
    # True: the decoder runs all T steps on uniformly random batches (the paper's computation);
    # False: grammar models train on length-bucketed batches with the decoder run to the longest
    # derivation of each batch -- the same loss, about twice as fast (lsbo.models.batching).
    full_length: bool = False
    # The validation number behind ReduceLROnPlateau, early stopping and the best weights (lsbo.options.MONITORS):
    # "loss" is the protocol; "rec" leaves the regularizer's terms out (benchmarks/RESULTS.md, "The learning-rate monitor").
    monitor: str = "loss"
    preset: str = "paper"
    family: str = "expressions"

    @property
    def initial_weights_seed(self) -> int:
        """The seed of the network's initial weights and of the regularizer's draws at construction."""
        return self.seed if self.weight_seed is None else self.weight_seed

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["conv_filters"] = list(self.conv_filters)
        data["conv_kernels"] = list(self.conv_kernels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SequenceModelConfig":
        values = {**LEGACY_VALUES, **known_fields(cls, data, "model configuration")}
        for key in ("conv_filters", "conv_kernels"):
            if key in values:
                values[key] = tuple(int(v) for v in values[key])
        for key in ("model", "regularizer"):  # stored before names were normalised: "GMM" is "gmm"
            if isinstance(values.get(key), str):
                values[key] = values[key].strip().lower()
        return cls(**values)


# What the cpu presets change beyond sizes (the module docstring says why; RESULTS.md measures it).
_CPU_ARCHITECTURE: dict[str, Any] = dict(decoder="autoregressive", conv_padding="full", rec_weight=30.0)

_PRESET_VALUES: dict[tuple[str, str], dict[str, Any]] = {
    ("paper", "molecules"): dict(
        latent_dim=56, conv_filters=(9, 9, 10), conv_kernels=(9, 9, 11), dense_units=435,
        gru_hidden=501, gru_layers=3, batch_size=500, epochs=100,
    ),
    ("paper", "expressions"): dict(
        latent_dim=25, conv_filters=(2, 3, 4), conv_kernels=(2, 3, 4), dense_units=100,
        gru_hidden=100, gru_layers=3, batch_size=600, epochs=50,
    ),
    ("cpu", "molecules"): dict(
        latent_dim=56, conv_filters=(9, 9, 10), conv_kernels=(9, 9, 11), dense_units=256,
        gru_hidden=256, gru_layers=3, batch_size=128, epochs=20, **_CPU_ARCHITECTURE,
    ),
    ("cpu", "expressions"): dict(
        latent_dim=25, conv_filters=(2, 3, 4), conv_kernels=(2, 3, 4), dense_units=100,
        gru_hidden=100, gru_layers=3, batch_size=256, epochs=100, learning_rate=3e-3, **_CPU_ARCHITECTURE,
    ),
}


#: The cpu presets shrink their batch for a small dataset so that an epoch has at least this many optimizer
#: steps: with the preset's 256, the 1,000 strings of a small user grammar give 4 steps an epoch and a model
#: that learns nothing in 40 epochs (examples/custom_grammar.py: 6% of held-out strings back, 68% with batch 32).
MIN_STEPS_PER_EPOCH = 32
#: ... but never below this batch size (the GMM-KS terms are batch statistics).
MIN_BATCH_SIZE = 16


def small_data_batch_size(batch_size: int, n_train: int) -> int:
    """The batch size a cpu preset takes for ``n_train`` training strings (see :data:`MIN_STEPS_PER_EPOCH`)."""
    return max(MIN_BATCH_SIZE, min(int(batch_size), int(n_train) // MIN_STEPS_PER_EPOCH))


def resolve_preset(preset: str, device: Any = "auto") -> str:
    """``preset`` with ``auto`` resolved: ``paper`` where ``device`` resolves to a CUDA device, else ``cpu``."""
    preset = check_value("preset", preset)
    if preset != "auto":
        return preset
    from lsbo.device import resolve_device

    return "paper" if resolve_device(device).type == "cuda" else "cpu"

def family_for(grammar_name: str | None, max_length: int) -> str:
    """The preset family of a model of a built-in grammar (by the dataset registry,
    :mod:`lsbo.data.manifests`), else by sequence length."""
    from lsbo.data.manifests import manifest_for_grammar, preset_family

    return preset_family(manifest_for_grammar(grammar_name), max_length)


def model_config(preset: str, family: str, **overrides: Any) -> SequenceModelConfig:
    """A preset's configuration with ``overrides`` applied (``None`` values are ignored); choices are
    normalised (``GMM`` is ``gmm``) and every value is checked against :mod:`lsbo.options`."""
    preset = resolve_preset(preset)
    if family not in FAMILIES:
        raise ConfigError(f"unknown model family {family!r}: expected one of {', '.join(FAMILIES)}")
    config = replace(SequenceModelConfig(), **_PRESET_VALUES[(preset, family)], preset=preset, family=family)
    known = {f.name for f in fields(SequenceModelConfig)}
    chosen = {key: value for key, value in overrides.items() if value is not None}
    unknown = sorted(set(chosen) - known)
    if unknown:
        raise ConfigError(f"unknown model options: {', '.join(unknown)}")
    config = replace(config, **chosen)
    return validate_config(config)


_SCHEMA_FIELDS = {option.config_field: option.name for option in TRAIN_OPTIONS if option.config_field is not None}


def validate_config(config: SequenceModelConfig) -> SequenceModelConfig:
    """``config`` with its choices normalised, after checking every value; a :class:`ConfigError`
    naming the parameter otherwise (the command line names the flag)."""
    for field_name, option_name in _SCHEMA_FIELDS.items():
        setattr(config, field_name, check_value(option_name, getattr(config, field_name)))
    if int(config.gru_layers) < 1:
        raise ConfigError(f"gru_layers must be at least 1 (got {config.gru_layers})", parameter="gru_layers")
    if config.init not in INITIALISATIONS:
        raise ConfigError(f"init {config.init!r}: expected one of {', '.join(INITIALISATIONS)}", parameter="init")
    if not 0.0 < config.validation_fraction < 1.0:
        raise ConfigError(
            f"validation_fraction must be in (0, 1) (got {config.validation_fraction})", parameter="validation_fraction"
        )
    config.rec_weight = check_rec_weight(config.rec_weight)  # type: ignore[assignment]
    from lsbo.regularizers import normalize_regularizer_options

    config.regularizer_options = normalize_regularizer_options(config.regularizer, config.regularizer_options)
    return config
