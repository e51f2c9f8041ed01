"""Training and loading of image autoencoders (paper Section 4.1), on the generic trainer.

:func:`train_image_model` builds the model of :mod:`lsbo.images.models` for a dataset and preset,
holds out a seeded validation fraction of the training split (for the trainer's learning-rate
plateau and early stopping), and hands everything to :class:`lsbo.train.Trainer`, which provides
Adam, AMP on CUDA, the progress bar, ``metrics.csv``, atomic checkpoints each epoch, ``--resume``
and the NaN guard. A trained image model is a directory: ``checkpoint.pt`` (with the entries
``kind="images"``, ``image_config``, ``regularizer_config`` and ``data``), ``config.json``,
``metrics.csv``, later ``metrics.json`` and ``figures/``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lsbo.checkpoint import IMAGE_MODEL_KIND
from lsbo.distributed import owned_by_group
from lsbo.errors import CheckpointError, ConfigError
from lsbo.images.data import ImageSplit, ImageTensorDataset, load_image_split
from lsbo.images.models import ImageAutoencoder, ImageModelConfig, build_image_model
from lsbo.persistence import write_json

logger = logging.getLogger(__name__)

MODEL_KIND = IMAGE_MODEL_KIND
CONFIG_NAME = "config.json"
# Fields that shape the network or its loss: a resumed run must agree with the checkpoint on them.
_SHAPE_FIELDS = ("dataset", "channels", "image_size", "latent_dim", "n_components", "widths", "regularizer", "regularizer_options", "rec_weight", "batch_size")


def split_train_validation(split: ImageSplit, val_fraction: float, seed: int) -> tuple[ImageSplit, ImageSplit]:
    """A seeded random hold-out of ``val_fraction`` of a split (at least one image each side)."""
    if not 0.0 < val_fraction < 1.0:
        raise ConfigError(f"validation fraction must be in (0, 1), got {val_fraction}")
    n = len(split)
    n_val = min(max(1, round(n * val_fraction)), n - 1)
    if n < 2:
        raise ConfigError(f"{split.name}: need at least two training images, found {n}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    val_index, train_index = order[:n_val].sort().values, order[n_val:].sort().values

    def subset(index: torch.Tensor, name: str) -> ImageSplit:
        labels = split.labels[index] if split.labels is not None else None
        return ImageSplit(split.name, name, split.images[index], labels, split.origin)

    return subset(train_index, "train"), subset(val_index, "validation")


def image_loader(split: ImageSplit, batch_size: int, *, shuffle: bool, seed: int = 0) -> torch.utils.data.DataLoader:
    """Batches of (float images, labels). Training drops a ragged last batch: the KS/CV terms and
    batch norm are estimated from the batch, and a batch of a handful of images skews both."""
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    drop_last = shuffle and len(split) >= batch_size
    return torch.utils.data.DataLoader(
        ImageTensorDataset(split), batch_size=batch_size, shuffle=shuffle, generator=generator, drop_last=drop_last
    )


def _stored_run(out_dir: Path) -> dict[str, Any] | None:
    """The ``config.json`` of a model directory (image config and data settings), if any."""
    path = out_dir / CONFIG_NAME
    if not path.is_file():
        return None
    try:
        stored = json.loads(path.read_text())
        stored["image_config"], stored["data"]
        return stored
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"{path} is unreadable or not an image model config: {err}") from None


@dataclass
class ImageTrainingRun:
    """What :func:`train_image_model` produced."""

    model: ImageAutoencoder
    config: ImageModelConfig
    out_dir: Path
    stop_reason: str
    history: list[dict[str, float]]


def train_image_model(
    dataset: str,
    out_dir: str | Path,
    *,
    data_dir: str | Path | None = None,
    preset: str = "cpu",
    regularizer: str = "gmm",
    epochs: int | None = None,
    limit: int | None = None,
    device: str = "auto",
    resume: bool = False,
    seed: int = 0,
    val_fraction: float = 0.1,
    progress: bool = True,
    **overrides: Any,
) -> ImageTrainingRun:
    """Train an image autoencoder on ``dataset`` into ``out_dir`` (see the module docstring).

    ``overrides`` replace :class:`ImageModelConfig` fields (``latent_dim``, ``n_components``,
    ``widths``, ``batch_size``, ``learning_rate``, ``rec_weight``, ``regularizer_options``...).
    """
    from lsbo.device import resolve_device
    from lsbo.train import Trainer, TrainerConfig

    out_dir = Path(out_dir)
    resolve_device(device)  # a missing CUDA device is refused before any data is read
    config = ImageModelConfig.from_preset(dataset, preset, regularizer=regularizer, epochs=epochs, seed=seed, **overrides)
    # one owner for the whole run: a second training into out_dir is refused, naming this process
    with owned_by_group(out_dir, purpose=f"lsbo images train --out {out_dir}"):  # rank 0 under torchrun
        stored = _stored_run(out_dir) if resume else None
        if stored is not None:
            from lsbo.checkpoint import check_config

            # Resuming must continue the same network on the same images, or the run mixes two setups.
            requested = {key: value for key, value in config.to_dict().items() if key in _SHAPE_FIELDS}
            requested["seed"] = seed
            check_config(stored["image_config"], requested, out_dir / CONFIG_NAME)
            check_config(stored["data"], {"limit": limit, "val_fraction": val_fraction}, out_dir / CONFIG_NAME)
        elif not resume and (out_dir / "checkpoint.pt").exists():
            raise ConfigError(f"{out_dir} already holds a trained model: pass resume to continue it, or another out_dir",
                              parameter=("resume", "out_dir"))

        full_train = load_image_split(config.dataset, "train", data_dir, limit)
        train_split, val_split = split_train_validation(full_train, val_fraction, seed)
        # Seed the global generator before the weights are initialised, so a run's result does not
        # depend on what ran before it in the same process (a sweep, a benchmark).
        torch.manual_seed(seed)
        model = build_image_model(config, generator=torch.Generator().manual_seed(seed))
        data_info = {
            "dataset": config.dataset,
            "origin": full_train.origin,
            "data_dir": str(data_dir) if data_dir is not None else None,
            "limit": limit,
            "val_fraction": val_fraction,
            "n_train": len(train_split),
            "n_validation": len(val_split),
        }
        out_dir.mkdir(parents=True, exist_ok=True)
        write_json(
            out_dir / CONFIG_NAME,
            {"kind": MODEL_KIND, "image_config": config.to_dict(), "regularizer_config": model.regularizer.config, "data": data_info},
            sort_keys=True,
        )
        trainer_config = TrainerConfig(
            epochs=config.epochs, learning_rate=config.learning_rate, seed=seed, device=device, progress=progress
        )
        extra = {
            "kind": MODEL_KIND,
            "image_config": config.to_dict(),
            "regularizer_config": model.regularizer.config,
            "data": data_info,
        }
        trainer = Trainer(model, trainer_config, out_dir, extra_state=extra)
        result = trainer.fit(
            image_loader(train_split, config.batch_size, shuffle=True, seed=seed),
            image_loader(val_split, config.batch_size, shuffle=False),
            resume=resume,
        )
        return ImageTrainingRun(model=model, config=config, out_dir=out_dir, stop_reason=result.stop_reason, history=result.history)


@dataclass
class LoadedImageModel:
    """A trained image model and what its checkpoint says about its data."""

    model: ImageAutoencoder
    config: ImageModelConfig
    data: dict[str, Any]
    history: list[dict[str, float]]
    model_dir: Path


def load_image_model(model_dir: str | Path, device: str | torch.device = "auto", *, best: bool = True) -> LoadedImageModel:
    """Rebuild an image model from its directory (the best-validation weights unless ``best=False``)."""
    from lsbo.checkpoint import checkpoint_path, load_checkpoint, require_keys
    from lsbo.device import resolve_device

    target = resolve_device(device)
    path = checkpoint_path(model_dir)
    payload = load_checkpoint(path, map_location="cpu", train_command="lsbo images train")
    if payload.get("kind") != MODEL_KIND:
        raise CheckpointError(f"checkpoint {path} is not an image model (kind {payload.get('kind')!r}); use `lsbo evaluate` for sequence models")
    require_keys(payload, ("image_config", "model", "data"), path)
    config = ImageModelConfig.from_dict(payload["image_config"])
    model = build_image_model(config, generator=torch.Generator().manual_seed(config.seed))
    weights = payload.get("best_model") if best and payload.get("best_model") is not None else payload["model"]
    try:
        model.load_state_dict(weights)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(f"checkpoint {path} does not fit its recorded image config: {first[:200]}") from None
    model.to(target).eval()
    return LoadedImageModel(model, config, dict(payload["data"]), list(payload.get("history", [])), Path(path).parent)
