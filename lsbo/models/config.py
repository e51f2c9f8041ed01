"""Model configurations and named presets for the sequence autoencoders.

``paper`` holds the exact sizes of PROTOCOLS.md §2 (Kusner et al., 2017): for molecules (ZINC,
76-production SMILES grammar, 277 steps) three convolutions 9x9, 9x9, 10x11, dense 435, latent 56,
three GRU layers of 501 units, batch 500, 100 epochs; for expressions convolutions 2x2, 3x3, 4x4,
dense 100, latent 25, GRU 100, batch 600, 50 epochs. The character baseline (CVAE) uses the same
network over one-hot characters.

``cpu`` keeps the latent sizes (so results stay comparable to the paper's latent spaces) and the
convolutions (cheap), but shrinks what dominates CPU time: the GRU width (128 for molecules; the
expression model is already small and keeps 100) and the dense layer, with smaller batches and fewer
epochs that fit a 2-core machine.

A grammar other than the two built-in ones takes the ``molecules`` family when its derivations are
long (>= 60 steps, where the wide kernels fit) and the ``expressions`` family otherwise. Every field
can be overridden (CLI flags or keyword arguments to :func:`model_config`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

from lsbo.errors import ConfigError

ModelKind = Literal["grammar", "char"]
PRESETS = ("paper", "cpu")
FAMILIES = ("molecules", "expressions")

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
    regularizer_options: dict[str, Any] = field(default_factory=dict)
    rec_weight: float | str = 1.0  # a number, or "auto" (Section 3.3: 1 / best loss of a plain AE)
    batch_size: int = 600
    epochs: int = 50
    learning_rate: float = 1e-3
    validation_fraction: float = 0.1
    early_stopping_patience: int = 10
    grad_clip: float | None = 5.0
    seed: int = 0
    preset: str = "paper"
    family: str = "expressions"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["conv_filters"] = list(self.conv_filters)
        data["conv_kernels"] = list(self.conv_kernels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SequenceModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown model configuration keys: {', '.join(unknown)}")
        values = dict(data)
        for key in ("conv_filters", "conv_kernels"):
            if key in values:
                values[key] = tuple(int(v) for v in values[key])
        return cls(**values)


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
        gru_hidden=128, gru_layers=3, batch_size=128, epochs=20,
    ),
    ("cpu", "expressions"): dict(
        latent_dim=25, conv_filters=(2, 3, 4), conv_kernels=(2, 3, 4), dense_units=100,
        gru_hidden=100, gru_layers=3, batch_size=256, epochs=30,
    ),
}

LONG_SEQUENCE_THRESHOLD = 60


def family_for(grammar_name: str | None, max_length: int) -> str:
    """The preset family of a dataset: by built-in grammar name, else by sequence length."""
    if grammar_name in ("zinc", "zinc250k"):
        return "molecules"
    if grammar_name == "expr":
        return "expressions"
    return "molecules" if max_length >= LONG_SEQUENCE_THRESHOLD else "expressions"


def model_config(preset: str, family: str, **overrides: Any) -> SequenceModelConfig:
    """A preset's configuration with ``overrides`` applied (``None`` values are ignored)."""
    if preset not in PRESETS:
        raise ConfigError(f"--preset {preset!r}: expected one of {', '.join(PRESETS)}")
    if family not in FAMILIES:
        raise ConfigError(f"unknown model family {family!r}: expected one of {', '.join(FAMILIES)}")
    config = replace(SequenceModelConfig(), **_PRESET_VALUES[(preset, family)], preset=preset, family=family)
    known = {f.name for f in fields(SequenceModelConfig)}
    chosen = {key: value for key, value in overrides.items() if value is not None}
    unknown = sorted(set(chosen) - known)
    if unknown:
        raise ConfigError(f"unknown model options: {', '.join(unknown)}")
    config = replace(config, **chosen)
    validate_config(config)
    return config


def validate_config(config: SequenceModelConfig) -> None:
    """Reject values that cannot work, with the flag to change."""
    if config.model not in ("grammar", "char"):
        raise ConfigError(f"--model {config.model!r}: expected grammar or char")
    positive = {
        "--latent-dim": config.latent_dim, "--batch-size": config.batch_size, "--epochs": config.epochs,
        "--components": config.n_components, "GRU width": config.gru_hidden, "GRU layers": config.gru_layers,
        "dense units": config.dense_units,
    }
    for name, value in positive.items():
        if int(value) < 1:
            raise ConfigError(f"{name} must be at least 1 (got {value})")
    if not 0.0 < config.learning_rate < float("inf"):
        raise ConfigError(f"--lr must be a positive number (got {config.learning_rate})")
    if not 0.0 < config.validation_fraction < 1.0:
        raise ConfigError(f"validation fraction must be in (0, 1) (got {config.validation_fraction})")
    if isinstance(config.rec_weight, str):
        if config.rec_weight != "auto":
            raise ConfigError(f"--rec-weight {config.rec_weight!r}: expected a positive number or auto")
    elif not config.rec_weight > 0:
        raise ConfigError(f"--rec-weight must be positive (got {config.rec_weight})")
