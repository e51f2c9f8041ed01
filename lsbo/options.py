"""The one schema of the training options, from the command line to the checkpoint.

Each :class:`Option` says once what a training option is: its library name (the field of
:class:`lsbo.models.TrainOptions` / the keyword of :func:`lsbo.images.train_image_model`), its
command-line flag and help, its choices (normalised to lower case) or its bounds, the model
configuration field it sets, and whether it shapes the architecture (then a resumed run must agree
with the checkpoint on it). Everything else is derived from :data:`TRAIN_OPTIONS`:

* :func:`check_value` / :func:`check_values` -- normalisation and validation, with errors that name
  the parameter (``"learning_rate must be ..."``); :func:`flag_for` maps a parameter to its flag,
  which the command line uses to print ``"--lr must ..."`` (one place, :mod:`lsbo_cli.main`);
* :func:`config_overrides` -- the values that override a preset (``requested_config``);
* :func:`architecture_values` -- the values a resumed run is compared on;
* :func:`choices_help` -- the choices and bounds shown in ``--help``; the command line builds its
  choice types from :attr:`Option.choices`, so a bad choice is refused before any work.

The bounds keep a value from reaching an allocator or a loop that cannot finish: they are generous
for the paper's sizes (latent 56, K up to a few dozen, GRU 501, batch 500) and refuse values that
would ask for terabytes or run forever. The module is light (no torch), so the command line can
build its help from it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lsbo.errors import ConfigError

MODEL_KINDS: tuple[str, ...] = ("grammar", "char")
REGULARIZER_NAMES: tuple[str, ...] = ("gmm", "vae", "cvvae", "rae", "wae", "ae")
#: Model presets: ``paper`` (the sizes and architecture of docs/protocols.md §2), ``cpu`` (the best
#: configuration measured on a CPU budget, lsbo.models.config) and ``auto`` (cpu without a GPU, paper with one).
PRESETS: tuple[str, ...] = ("auto", "paper", "cpu")
#: Validation quantities the plateau rule, early stopping and the kept best weights can follow: the
#: whole loss (the protocol) or its reconstruction term alone (the regularizer's terms left out).
MONITORS: tuple[str, ...] = ("loss", "rec")
INITIALISATIONS: tuple[str, ...] = ("torch", "glorot")
#: The encoder's convolutions: unpadded (the reference's) or with kernel - 1 zeros on both sides.
CONV_PADDINGS: tuple[str, ...] = ("valid", "full")
#: The sequence decoders (lsbo.models.decoders.DECODERS): the paper's repeated-latent GRU, or one fed its previous symbol.
DECODER_NAMES: tuple[str, ...] = ("repeat", "autoregressive")
DATA_KINDS: tuple[str, ...] = ("molecules", "expressions", "strings")
MAX_SEED = 2**32 - 1  # numpy's seeds are 32-bit


@dataclass(frozen=True)
class Option:
    """One training option (see the module docstring).

    ``kind`` is ``int``, ``float``, ``bool`` or ``choice``; ``low``/``high`` bound numbers (``low_open``: the
    lower bound itself is refused, e.g. a learning rate of 0); ``config_field`` is the
    :class:`lsbo.models.config.SequenceModelConfig` field the option overrides (None: a run-level
    option); ``architecture`` marks the options a checkpoint and a resumed run must agree on.
    """

    name: str
    flag: str
    help: str
    kind: str = "int"
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    config_field: str | None = None
    architecture: bool = False


TRAIN_OPTIONS: tuple[Option, ...] = (
    Option("model", "--model", "Model: grammar (Grammar VAE) or char (character baseline); default grammar.",
           kind="choice", choices=MODEL_KINDS, config_field="model", architecture=True),
    Option("regularizer", "--regularizer", "Latent regularizer (default gmm, the paper's GMM-KS).",
           kind="choice", choices=REGULARIZER_NAMES, config_field="regularizer", architecture=True),
    Option("preset", "--preset",
           "Model preset: auto (default: cpu without a CUDA device, paper with one), paper (the paper's sizes and "
           "repeated-latent decoder, Kusner et al. 2017, docs/protocols.md) or cpu (smaller, autoregressive decoder: "
           "the best configuration measured on a CPU, benchmarks/RESULTS.md).",
           kind="choice", choices=PRESETS),
    Option("kind", "--kind", "Data kind (default: the built-in grammar's, else the source's, else strings).",
           kind="choice", choices=DATA_KINDS),
    Option("latent_dim", "--latent-dim", "Latent size (preset: 56 zinc, 25 expr).", low=1, high=4096,
           config_field="latent_dim", architecture=True),
    Option("n_components", "--components", "GMM prior components K (default 10).", low=1, high=1024,
           config_field="n_components", architecture=True),
    Option("gru_hidden", "--gru-hidden", "GRU width (preset: 501/100 paper, 128/100 cpu).", low=1, high=4096,
           config_field="gru_hidden", architecture=True),
    Option("dense_units", "--dense-units", "Dense layer width (preset: 435/100 paper, 256/100 cpu).", low=1, high=16384,
           config_field="dense_units", architecture=True),
    Option("epochs", "--epochs", "Epochs (preset: 100 zinc, 50 expr at paper).", low=1, high=100_000,
           config_field="epochs"),
    Option("batch_size", "--batch-size", "Batch size (preset: 500 zinc, 600 expr at paper).", low=1, high=16_384,
           config_field="batch_size"),
    Option("learning_rate", "--lr", "Adam learning rate (default 1e-3).", kind="float", low=0.0, high=1.0,
           low_open=True, config_field="learning_rate"),
    Option("rec_weight_epochs", "--rec-weight-epochs", "Epochs of the plain autoencoder behind --rec-weight auto.",
           low=1, high=10_000),
    Option("limit", "--limit", "Use only the first N strings.", low=1),
    Option("seed", "--seed", "Random seed (split, initialisation, batches).", low=0, high=MAX_SEED, config_field="seed"),
    Option("weight_seed", "--weight-seed",
           "Seed of the initial weights alone (default: --seed); the split, the batch order and the training noise "
           "keep --seed.", low=0, high=MAX_SEED, config_field="weight_seed"),
    Option("threads", "--threads", "CPU threads for torch (default: torch's, all cores).", low=1, high=1024),
    Option("workers", "--workers", "Worker processes of grammar encoding (default: CPU count, at most 8).", low=1, high=256),
    Option("monitor", "--monitor",
           "Validation quantity that the learning-rate plateau rule, early stopping and the kept best weights follow: "
           "loss (the whole validation loss, the protocol; default) or rec (its reconstruction term alone, so "
           "falling regularizer terms cannot hide a stalled reconstruction). Stored with the model; a resumed run must agree.",
           kind="choice", choices=MONITORS, config_field="monitor", architecture=True),
    Option("init", "--init",
           "Initial weights: glorot (Keras' defaults, those of the Grammar VAE reference: Glorot-uniform, orthogonal "
           "recurrent weights, zero biases; default) or torch (PyTorch's layer defaults, the default before 2026-12; "
           "they leave small encoders with dead filters). Stored with the model.",
           kind="choice", choices=INITIALISATIONS, config_field="init", architecture=True),
    Option("conv_padding", "--conv-padding",
           "The encoder's convolutions: valid (unpadded, the Grammar VAE reference's; default) or full (kernel - 1 "
           "zeros on both sides, so that the first and last symbols enter as many windows as the others; with valid the "
           "paper's character VAE cannot read the first character, benchmarks/RESULTS.md). Stored with the model.",
           kind="choice", choices=CONV_PADDINGS, config_field="conv_padding", architecture=True),
    Option("decoder", "--decoder",
           "Decoder: repeat (the Grammar VAE's: the code repeated at every step, the paper's) or autoregressive "
           "(each step also reads the symbol chosen before it; reconstructs far better, benchmarks/RESULTS.md). "
           "Stored with the model.",
           kind="choice", choices=DECODER_NAMES, config_field="decoder", architecture=True),
    Option("full_length", "--full-length",
           "The paper's computation: decoder over all steps, uniformly random batches. Default for grammar models: "
           "length-bucketed batches, decoder run to the longest derivation (the same loss, about twice as fast). "
           "Stored with the model; a resumed run must agree.",
           kind="bool", config_field="full_length", architecture=True),
)
OPTIONS: dict[str, Option] = {option.name: option for option in TRAIN_OPTIONS}

# Flags of parameters that are not training options of the schema and whose flag is not the name
# with dashes, for flag_for. A dotted name is a field of a nested settings object (BOConfig.retrain.every).
_OTHER_FLAGS: dict[str, str] = {
    "rec_weight": "--rec-weight", "device": "--device", "regularizer_options": "--regularizer-option", "out_dir": "--out",
    # lsbo optimize (lsbo.bo.BOConfig and the run functions)
    "only_trials": "--trial", "n_inducing": "--inducing", "acquisition.name": "--acquisition",
    "retrain.every": "--retrain-every", "retrain.rank_k": "--rank-k", "retrain.epochs": "--retrain-epochs",
    "retrain.samples_per_epoch": "--retrain-samples",
    "objective_calls.workers": "--objective-workers", "objective_calls.timeout": "--objective-timeout",
    "model_dir": "--model", "address": "--ray-address",
    # lsbo images (lsbo.images: the image directory is data_dir)
    "data_dir": "--data",
}

# Flags that depend on the command: the same library name is another command's option there
# (BOConfig.batch_size is optimize's --batch, the training batch size is train's --batch-size).
_COMMAND_FLAGS: dict[str, dict[str, str]] = {
    "optimize": {"batch_size": "--batch"},
}


#: Commands whose settings come from a file (an experiment spec): its keys are the library names, so
#: their messages keep the parameter names.
UNMAPPED_COMMANDS: tuple[str, ...] = ("experiment",)


def flag_for(parameter: str, command: str | None = None) -> str:
    """The command-line flag of a library parameter (``learning_rate`` -> ``--lr``) in ``command``
    (the top-level command word, e.g. ``"optimize"``; None: the flag most commands use)."""
    by_command = _COMMAND_FLAGS.get(command or "", {})
    if parameter in by_command:
        return by_command[parameter]
    if parameter in OPTIONS:
        return OPTIONS[parameter].flag
    return _OTHER_FLAGS.get(parameter, "--" + parameter.replace("_", "-"))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _describe_range(option: Option) -> str:
    low, high = option.low, option.high
    if low is not None and high is not None:
        if option.low_open:
            return f"greater than {_number(low)} and at most {_number(high)}"
        return f"between {_number(low)} and {_number(high)}"
    if low is not None:
        return f"greater than {_number(low)}" if option.low_open else f"at least {_number(low)}"
    return f"at most {_number(high)}" if high is not None else ""


def choices_help(option: Option) -> str:
    """The option's help with its choices or bounds, as ``--help`` shows it."""
    if option.kind == "choice":
        return f"{option.help} [{'|'.join(option.choices)}]"
    bounds = _describe_range(option)
    return f"{option.help} [{bounds}]" if bounds else option.help


def check_value(name: str, value: Any) -> Any:
    """``value`` normalised (choices: stripped, lower case; numbers: int or float) after checking it
    against the schema; a :class:`ConfigError` naming the parameter otherwise. ``None`` passes."""
    if value is None:
        return None
    option = OPTIONS[name]
    if option.kind == "bool":
        return parse_bool(name, value)
    if option.kind == "choice":
        text = str(getattr(value, "value", value)).strip().lower()
        if text not in option.choices:
            raise ConfigError(f"{name} {value!r}: expected one of {', '.join(option.choices)}", parameter=name)
        return text
    try:
        number: float = int(value) if option.kind == "int" else float(value)
        if option.kind == "int" and number != value:
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{name} must be {'an integer' if option.kind == 'int' else 'a number'} (got {value!r})", parameter=name) from None
    too_low = option.low is not None and (number <= option.low if option.low_open else number < option.low)
    too_high = option.high is not None and number > option.high
    if not math.isfinite(number) or too_low or too_high:
        raise ConfigError(f"{name} must be {_describe_range(option)} (got {value})", parameter=name)
    return number


def check_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`check_value` of every schema option in ``values`` (other keys pass unchanged)."""
    return {key: check_value(key, value) if key in OPTIONS else value for key, value in values.items()}


def check_rec_weight(value: float | str | None) -> float | str | None:
    """A reconstruction weight: ``auto`` (Section 3.3) or a positive finite number (text is parsed)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "auto":
            return "auto"
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"rec_weight {value!r}: expected a positive number or auto", parameter="rec_weight") from None
    if isinstance(value, bool) or not (0.0 < float(value) < math.inf):
        raise ConfigError(f"rec_weight must be a positive finite number or auto (got {value})", parameter="rec_weight")
    return float(value)


def config_overrides(values: Mapping[str, Any]) -> dict[str, Any]:
    """The model-configuration fields set by the given option values (``None``: the preset's)."""
    return {
        option.config_field: values[option.name]
        for option in TRAIN_OPTIONS
        if option.config_field is not None and values.get(option.name) is not None
    }


def architecture_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The given values of the options that shape the architecture, keyed by configuration field:
    what a resumed run is compared on against its checkpoint."""
    return {
        option.config_field: values[option.name]
        for option in TRAIN_OPTIONS
        if option.architecture and option.config_field is not None and values.get(option.name) is not None
    }


ARCHITECTURE_FIELDS: tuple[str, ...] = tuple(
    option.config_field for option in TRAIN_OPTIONS if option.architecture and option.config_field is not None
)

def known_fields(cls: type, data: Mapping[str, Any], what: str) -> dict[str, Any]:
    """A copy of ``data`` (e.g. a configuration stored in a checkpoint) after refusing the keys that
    are not fields of the dataclass ``cls``; ``what`` names the configuration in the message."""
    from dataclasses import fields

    unknown = sorted(set(data) - {f.name for f in fields(cls)})
    if unknown:
        raise ConfigError(f"{what} has unknown field(s): {', '.join(unknown)}")
    return dict(data)


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def parse_bool(name: str, value: Any) -> bool:
    """A boolean given as a bool or as text (true/false, yes/no, on/off, 1/0, any case); anything
    else is a ConfigError naming ``name`` (``use_cv=no`` is False, ``use_cv=maybe`` is refused)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false (got {value!r})", parameter=name)


__all__ = [
    "ARCHITECTURE_FIELDS",
    "DATA_KINDS",
    "DECODER_NAMES",
    "MODEL_KINDS",
    "OPTIONS",
    "PRESETS",
    "REGULARIZER_NAMES",
    "TRAIN_OPTIONS",
    "Option",
    "architecture_values",
    "check_rec_weight",
    "check_value",
    "check_values",
    "choices_help",
    "config_overrides",
    "flag_for",
    "known_fields",
    "parse_bool",
]
