"""From a dataset name or file to a trained model directory (what ``lsbo train`` runs).

The steps, each a small function: resolve the grammar, the data kind and the preset family (the
one resolver of every command, :mod:`lsbo.data.resolve`); read and prepare the
strings (the data module's parser-backed preparation for grammar models, a character vocabulary for
the CVAE baseline); split 10% off for validation with a seeded permutation (Kusner et al., 2017);
estimate ``λ_REC`` if asked (Section 3.3: the inverse of the best reconstruction loss of a plain
autoencoder trained first); build the autoencoder with its regularizer (the eq. 10 weights are
estimated once for the training batch size); and hand everything to the generic trainer, which
checkpoints every epoch. On ``resume`` the stored strings, split, grammar and configuration are
reused, and a ``--grammar`` and the network options given now must agree with the checkpoint.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from lsbo.checkpoint import (
    CHECKPOINT_NAME,
    check_config,
    check_grammar,
    load_checkpoint,
    require_keys,
)
from lsbo.distributed import owned_by_group
from lsbo.errors import CheckpointError, ConfigError, DataError
from lsbo.models.autoencoder import SequenceAutoencoder
from lsbo.models.batching import LengthBucketedBatches, sequence_lengths
from lsbo.models.codecs import CharCodec, GrammarCodec, SequenceCodec
from lsbo.models.config import (
    MIN_STEPS_PER_EPOCH,
    SequenceModelConfig,
    model_config,
    resolve_preset,
    small_data_batch_size,
    validate_config,
)
from lsbo.models.trained import SEQUENCE_CHECKPOINT_KEYS, TRAIN_STRINGS_NAME, build_autoencoder, codec_from_payload
from lsbo.persistence import atomic_write_text, write_json
from lsbo.train import Trainer, TrainerConfig, TrainResult

logger = logging.getLogger(__name__)
REC_WEIGHT_AE_EPOCHS = 5  # default epochs of the plain autoencoder behind --rec-weight auto


@dataclass
class TrainOptions:
    """The options of ``lsbo train`` (``None`` = the preset's value).

    What each training option means, its choices, bounds and whether it shapes the network is said
    once, in :data:`lsbo.options.TRAIN_OPTIONS` (a test keeps the fields and the schema in step);
    :func:`check_train_options` normalises and checks a whole set before any work.
    """

    source: str
    out_dir: Path
    grammar: str | None = None  # built-in grammar name or grammar file (lsbo.data.resolve); None: the source's default
    tokenizer: str | None = None  # tokenizer of a grammar file ("whitespace"; default: longest match)
    data: Path | None = None
    model: str | None = None  # grammar (default) | char
    regularizer: str | None = None  # gmm (default) | vae | cvvae | rae | wae | ae
    preset: str = "auto"  # auto | paper | cpu (auto: cpu without a CUDA device, paper with one)
    latent_dim: int | None = None
    n_components: int | None = None
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    rec_weight: float | str | None = None
    gru_hidden: int | None = None
    dense_units: int | None = None
    limit: int | None = None
    seed: int = 0
    weight_seed: int | None = None  # the initial weights alone (None: seed)
    device: str = "auto"
    resume: bool = False
    kind: str | None = None  # molecules | expressions | strings; inferred from the source when None
    regularizer_options: dict[str, Any] = field(default_factory=dict)
    progress: bool = True
    workers: int | None = None
    threads: int | None = None  # torch CPU threads (None: torch's default)
    rec_weight_epochs: int = REC_WEIGHT_AE_EPOCHS  # plain-AE epochs behind rec_weight="auto"
    full_length: bool | None = None  # the paper's full-length loss on random batches (None: the stored/default)
    monitor: str | None = None  # loss | rec: what the plateau rule and early stopping follow (None: the stored/default)
    init: str | None = None  # torch | glorot: the initial weights (None: the stored/default)
    conv_padding: str | None = None  # valid | full: the encoder's convolutions (None: the stored/default)
    decoder: str | None = None  # repeat | autoregressive (None: the stored/preset's)


@dataclass
class PreparedStrings:
    """Accepted strings with their index sequences and the codec that produced them."""

    strings: list[str]
    indices: np.ndarray  # int64 (N, T)
    codec: SequenceCodec
    summary: dict[str, Any]


# ----------------------------------------------------------------------------------------------
# small steps


def resolve_training_source(options: TrainOptions) -> Any:
    """The source, grammar, kind and registry entry of a run (:func:`lsbo.data.resolve.resolve_source`);
    a character model uses the grammar, when there is one, only to select the rows."""
    from lsbo.data.resolve import GrammarUse, resolve_source

    use: GrammarUse = "optional" if options.model == "char" else "required"
    return resolve_source(options.source, grammar=options.grammar, tokenizer=options.tokenizer, kind=options.kind, grammar_use=use)


def validation_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded permutation split: ``(train_indices, validation_indices)``, each non-empty.

    The validation indices stay in permuted order: validation batches are not shuffled, and
    datasets are often sorted (by length, by structure), so batches of consecutive rows would give
    the batch-level KS/CV terms of a very unrepresentative sample.
    """
    if n < 2:
        raise DataError(f"need at least 2 accepted strings to hold out a validation split, got {n}")
    permutation = np.random.default_rng(seed).permutation(n)
    n_val = min(n - 1, max(1, int(round(fraction * n))))
    return np.sort(permutation[n_val:]), permutation[:n_val]


def prepare_strings(options: TrainOptions, grammar: Any | None, kind: str) -> PreparedStrings:
    """Read the dataset and encode it for the chosen model (rejects reported by the data module)."""
    from lsbo.data import CharVocabulary, load_strings, prepare_dataset

    source = load_strings(options.source, data=options.data, limit=options.limit)
    if grammar is not None:
        preparation: dict[str, Any] = dict(kind=kind, out_dir=options.out_dir, progress=options.progress)
        if options.workers is not None:
            preparation["workers"] = options.workers
        prepared = prepare_dataset(source, grammar, **preparation)
        strings, indices, summary = list(prepared.strings), np.asarray(prepared.indices), dict(prepared.summary)
    else:
        strings, indices, summary = list(source.strings), None, {"total": len(source.strings)}
    if options.model == "char":
        vocabulary = CharVocabulary.build(strings)
        indices, ok = vocabulary.encode(strings)
        strings = [s for s, keep in zip(strings, ok) if keep]
        indices = np.asarray(indices)[np.asarray(ok, dtype=bool)]
        summary["accepted"] = len(strings)
        codec: SequenceCodec = CharCodec(vocabulary)
    else:
        codec = GrammarCodec(grammar)
    if len(strings) < 2:
        raise DataError(f"{source.origin}: only {len(strings)} usable strings; nothing to train on")
    logger.info(f"data: {len(strings)} strings accepted from {source.origin} ({summary.get('total', len(strings))} read)")
    return PreparedStrings(strings, np.asarray(indices, dtype=np.int64), codec, summary)


def data_statistics(kind: str, strings: list[str]) -> dict[str, Any]:
    """Dataset statistics stored with the model (molecules: penalized-logP standardisation, §3)."""
    if kind != "molecules":
        return {}
    from lsbo.objectives.logp import penalized_logp_statistics

    return {"penalized_logp": penalized_logp_statistics(strings)}


def index_loader(indices: np.ndarray, batch_size: int, shuffle: bool, seed: int) -> DataLoader:
    """A DataLoader of index sequences (batches of one LongTensor ``(B, T)``)."""
    dataset = TensorDataset(torch.from_numpy(np.ascontiguousarray(indices)))
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    # Training drops a last partial batch (when there is a full one): the eq. 10 weights are
    # estimated for batches of exactly `batch_size`, and the KS/CV terms of a small batch are larger.
    drop_last = shuffle and len(dataset) >= batch_size
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator, drop_last=drop_last)


def training_batches(
    indices: np.ndarray, autoencoder: Any, config: SequenceModelConfig
) -> DataLoader | LengthBucketedBatches:
    """The training batches of a run: length-bucketed for grammar models (unless ``full_length``),
    else a shuffled loader of uniformly random batches (see :mod:`lsbo.models.batching`)."""
    codec = autoencoder.codec
    # Batch norms after the encoder's convolutions would take their statistics from length-bucketed
    # rows; with them the batches stay uniformly random (the decoder still stops at the longest row).
    if config.full_length or not isinstance(codec, GrammarCodec) or config.encoder_batch_norm:
        return index_loader(indices, config.batch_size, True, config.seed)
    return LengthBucketedBatches(
        indices, sequence_lengths(indices, codec.grammar.padding), config.batch_size, seed=config.seed,
        regularizer_batches=autoencoder.regularizer.batch_statistic or config.decoder_batch_norm,
    )


def trainer_config(config: SequenceModelConfig, options: "TrainOptions") -> TrainerConfig:
    return TrainerConfig(
        epochs=config.epochs, learning_rate=config.learning_rate, early_stopping_patience=config.early_stopping_patience,
        grad_clip=config.grad_clip, seed=config.seed, device=options.device, progress=options.progress,
        num_threads=options.threads, monitor=config.monitor,
    )


def estimate_rec_weight(
    codec: SequenceCodec, config: SequenceModelConfig, train: np.ndarray, val: np.ndarray, options: TrainOptions,
) -> float:
    """λ_REC (Section 3.3): train a plain ``ae`` briefly and invert its best validation reconstruction loss."""

    from lsbo.regularizers import reconstruction_weight_from_ae

    ae_config = replace(config, regularizer="ae", regularizer_options={}, epochs=options.rec_weight_epochs)
    autoencoder = build_autoencoder(codec, ae_config, batch_size=config.batch_size, rec_weight=1.0)
    logger.info(f"rec_weight='auto': training a plain autoencoder for {ae_config.epochs} epochs first")
    trainer = Trainer(autoencoder, trainer_config(ae_config, options), Path(options.out_dir) / "rec_weight_ae")
    result = trainer.fit(
        training_batches(train, autoencoder, ae_config), index_loader(val, config.batch_size, False, 0),
        resume=True,
    )
    best = min(row["val_rec_ce"] for row in result.history)
    weight = reconstruction_weight_from_ae(best)
    logger.info(f"rec_weight='auto': best reconstruction loss {best:.4g} -> rec_weight {weight:.4g}")
    return weight


# ----------------------------------------------------------------------------------------------
# the whole run


def check_train_options(options: TrainOptions) -> TrainOptions:
    """A normalised copy of ``options`` (choices in lower case, numbers checked against their bounds,
    the reconstruction weight parsed, the device available), or a :class:`ConfigError` naming the
    parameter: cheap, so every bad value is refused before data is read or a directory created."""

    from lsbo.device import resolve_device
    from lsbo.options import OPTIONS, check_rec_weight, check_values

    values = check_values({name: getattr(options, name) for name in OPTIONS if hasattr(options, name)})
    checked = replace(options, **values, rec_weight=check_rec_weight(options.rec_weight))
    device = resolve_device(checked.device)
    if checked.preset == "auto" and not (checked.resume and (Path(checked.out_dir) / CHECKPOINT_NAME).exists()):
        checked = replace(checked, preset=resolve_preset("auto", device))
        why = "a CUDA device is available" if checked.preset == "paper" else "no CUDA device"
        logger.info(f"preset auto: {checked.preset} ({why}; --preset paper or cpu chooses)")
    if Path(checked.out_dir).exists() and not Path(checked.out_dir).is_dir():
        raise ConfigError(f"out_dir {checked.out_dir} is a file, not a directory", parameter="out_dir")
    return checked


def requested_config(options: TrainOptions, family: str) -> SequenceModelConfig:
    """The preset's configuration for ``family`` with the options' overrides (:func:`lsbo.options.config_overrides`)."""
    from lsbo.options import config_overrides

    return model_config(
        options.preset, family, **config_overrides(vars(options)), rec_weight=options.rec_weight,
        regularizer_options=dict(options.regularizer_options) or None,
    )


def train_sequence_model(options: TrainOptions) -> TrainResult:
    """Train (or resume) a grammar or character autoencoder into ``options.out_dir`` (progress is
    logged to the ``lsbo`` loggers).

    The process owns ``out_dir`` for the whole run (:func:`lsbo.persistence.owned_directory`): a
    second ``lsbo train`` into it is refused with the holder's pid instead of mixing two runs' files.
    """
    options = check_train_options(options)
    with owned_by_group(options.out_dir, purpose=f"lsbo train --out {options.out_dir}"):  # rank 0 under torchrun
        return _train_owned(options)


def _train_owned(options: TrainOptions) -> TrainResult:
    out_dir = Path(options.out_dir)
    checkpoint_file = out_dir / CHECKPOINT_NAME
    if checkpoint_file.exists() and not options.resume:
        raise ConfigError(f"{out_dir} already holds a trained model; pass resume to continue it or choose another out_dir",
                          parameter=("resume", "out_dir"))
    # Refuse bad flags before anything is written or the (possibly long) data preparation runs: the overrides are
    # the same for both families, so checking them against one preset catches every flag error.
    from lsbo.regularizers import check_regularizer_options

    requested_config(options, "expressions")
    resuming = options.resume and checkpoint_file.exists()
    if not resuming:  # a resumed run keeps its stored regularizer and grammar
        check_regularizer_options(options.regularizer or "gmm", options.regularizer_options)
        resolved = resolve_training_source(options)
    out_dir.mkdir(parents=True, exist_ok=True)
    if resuming:
        return _resume(options, checkpoint_file)
    if options.resume:
        logger.info(f"resume=True: no checkpoint in {out_dir} yet, starting a new run")

    grammar, kind = resolved.grammar, resolved.kind
    prepared = prepare_strings(options, grammar, kind)
    family = resolved.family(prepared.codec.max_length)
    config = requested_config(options, family)
    train_rows, val_rows = validation_split(len(prepared.strings), config.validation_fraction, config.seed)
    if options.batch_size is None and config.preset == "cpu":
        batch_size = small_data_batch_size(config.batch_size, len(train_rows))
        if batch_size != config.batch_size:
            logger.info(f"batch size {batch_size}: the cpu preset's {config.batch_size} would give fewer than "
                        f"{MIN_STEPS_PER_EPOCH} steps an epoch on {len(train_rows)} training strings (--batch-size chooses)")
            config = validate_config(replace(config, batch_size=batch_size))
    atomic_write_text(out_dir / TRAIN_STRINGS_NAME, "".join(s + "\n" for s in prepared.strings))
    stats = data_statistics(kind, [prepared.strings[i] for i in train_rows])

    rec_weight = config.rec_weight
    if rec_weight == "auto":
        rec_weight = estimate_rec_weight(
            prepared.codec, config, prepared.indices[train_rows], prepared.indices[val_rows], options
        )
    autoencoder = build_autoencoder(prepared.codec, config, batch_size=config.batch_size, rec_weight=float(rec_weight))
    extra = {
        "model_type": "sequence",
        "config": config.to_dict(),
        "regularizer_config": dict(autoencoder.regularizer.config),
        "rec_weight": float(rec_weight),
        "data_kind": kind,
        "data_stats": stats,
        "data_origin": str(options.data or options.source),
        "data_summary": _plain(prepared.summary),
        "split": {"seed": config.seed, "validation_indices": torch.from_numpy(val_rows), "n_strings": len(prepared.strings)},
        **_codec_entries(prepared.codec),
        "components": component_entries(autoencoder),
    }
    _write_config_json(out_dir, extra)
    logger.info(_describe(config, prepared.codec, float(rec_weight), autoencoder))
    trainer = Trainer(autoencoder, trainer_config(config, options), out_dir, extra_state=extra)
    return trainer.fit(
        training_batches(prepared.indices[train_rows], autoencoder, config),
        index_loader(prepared.indices[val_rows], config.batch_size, False, 0),
    )


def _resume(options: TrainOptions, checkpoint_file: Path) -> TrainResult:
    """Continue from the last checkpoint with its stored strings, split and configuration."""
    payload = load_checkpoint(checkpoint_file)
    require_keys(payload, SEQUENCE_CHECKPOINT_KEYS, checkpoint_file)
    if options.grammar is not None and payload.get("grammar_text") is not None:  # else the stored grammar is kept
        grammar = resolve_training_source(options).grammar
        check_grammar(payload, grammar.name, grammar.text, checkpoint_file)
    stored = SequenceModelConfig.from_dict(payload["config"])
    from lsbo.options import architecture_values

    check_config(stored.to_dict(), architecture_values(vars(options)), checkpoint_file)
    if options.epochs is not None:
        stored.epochs = int(options.epochs)  # extending a finished run is allowed
    codec = codec_from_payload(payload, checkpoint_file)
    strings_path = checkpoint_file.parent / TRAIN_STRINGS_NAME
    if not strings_path.is_file():
        raise CheckpointError(f"cannot resume: {strings_path} is missing")
    strings = strings_path.read_text(encoding="utf-8").splitlines()
    if len(strings) != int(payload["split"]["n_strings"]):
        raise CheckpointError(f"cannot resume: {strings_path} has {len(strings)} strings, the checkpoint expects {payload['split']['n_strings']}")
    indices, ok = codec.encode(strings)
    if not ok.all():
        raise CheckpointError(f"cannot resume: {int((~ok).sum())} strings of {strings_path} no longer encode")
    val_rows = payload["split"]["validation_indices"].numpy()
    train_rows = np.setdiff1d(np.arange(len(strings)), val_rows)
    autoencoder = build_autoencoder(codec, stored, batch_size=stored.batch_size, rec_weight=float(payload["rec_weight"]),
        from_checkpoint=True,
    )
    keys = ("model_type", "regularizer_config", "rec_weight", "data_kind", "data_stats", "data_origin", "data_summary",
            "split", "grammar_name", "grammar_text", "grammar_tokenizer", "grammar_max_length", "char_vocabulary")
    extra = {key: payload.get(key) for key in keys}
    extra["config"] = stored.to_dict()
    extra["components"] = component_entries(autoencoder)
    trainer = Trainer(autoencoder, trainer_config(stored, options), checkpoint_file.parent, extra_state=extra)
    return trainer.fit(
        training_batches(indices[train_rows], autoencoder, stored),
        index_loader(indices[val_rows], stored.batch_size, False, 0),
        resume=True,
    )


def component_entries(autoencoder: SequenceAutoencoder) -> dict[str, dict[str, Any]]:
    """The components of a model, each ``{"kind": registered name, "settings": {...}}``, as the
    checkpoint and config.json name them (the model configuration remains what rebuilds them)."""
    config = autoencoder.config
    codec = autoencoder.codec
    codec_settings = {"n_symbols": codec.n_symbols, "max_length": codec.max_length}
    return {
        "codec": {"kind": codec.kind, "settings": codec_settings},
        "decoder": {"kind": autoencoder.decoder.name, "settings": autoencoder.decoder.settings()},
        "regularizer": {"kind": config.regularizer, "settings": _plain(dict(config.regularizer_options))},
    }


def _codec_entries(codec: SequenceCodec) -> dict[str, Any]:
    if isinstance(codec, GrammarCodec):
        grammar = codec.grammar
        return {
            "grammar_name": grammar.name, "grammar_text": grammar.text,
            "grammar_tokenizer": _tokenizer_spec(grammar), "grammar_max_length": int(grammar.max_length),
            "char_vocabulary": None,
        }
    return {"grammar_name": None, "grammar_text": None, "grammar_tokenizer": None, "char_vocabulary": codec.vocabulary.to_dict()}


def _tokenizer_spec(grammar: Any) -> str | None:
    # Only the named tokenizers can be rebuilt from a checkpoint; a custom callable must be passed
    # again by the user (load_model then fails clearly if the grammar's text alone cannot tokenize).
    name = getattr(grammar.tokenizer, "name", None)
    from lsbo.grammar.tokenizer import TOKENIZER_NAMES

    return name if name in TOKENIZER_NAMES else None


def _plain(value: Any) -> Any:
    """JSON/weights_only-safe copy of a summary (numbers, strings, lists, dicts)."""
    return json.loads(json.dumps(value, default=str))


def _write_config_json(out_dir: Path, extra: dict[str, Any]) -> None:
    readable = {
        key: value for key, value in extra.items()
        if key not in ("split", "grammar_text", "char_vocabulary")
    }
    readable["n_strings"] = extra["split"]["n_strings"]
    readable["n_validation"] = int(len(extra["split"]["validation_indices"]))
    write_json(out_dir / "config.json", _plain(readable))


def _describe(config: SequenceModelConfig, codec: SequenceCodec, rec_weight: float, model: torch.nn.Module) -> str:
    n_parameters = sum(p.numel() for p in model.parameters())
    return (
        f"model: {config.model} autoencoder ({config.preset} preset, {config.family}), {codec.n_symbols} symbols x "
        f"{codec.max_length} steps, latent {config.latent_dim}, {config.decoder} decoder GRU {config.gru_layers}x{config.gru_hidden}, "
        f"regularizer {config.regularizer}, rec_weight {rec_weight:.4g}, {n_parameters:,} parameters"
    )
