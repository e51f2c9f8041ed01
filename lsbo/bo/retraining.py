"""Weighted retraining of the autoencoder during optimisation (Tripp, Daxberger and Hernández-Lobato, 2020).

Every N evaluations the autoencoder is fine-tuned on its training strings plus the strings
evaluated so far, each drawn with probability proportional to its rank weight

    w_i = 1 / (k * N_data + rank_i),

where ``rank_i`` is the 0-based rank of point i's target among all ``N_data`` points (0 for the
best; ties ranked in the stable sort's order) and ``k`` the ``--rank-k`` parameter (1e-3 in the
paper: the top ~0.1% of the data holds about half of the mass). This is the definition of the
weighted-retraining reference code (``get_rank_weights``). Sampling with these weights makes the
minibatch loss the rank-weighted loss in expectation; everything else about the loss is the model's
own — a GMM-KS model keeps its prior and its eq. 10 weights (buffers of the regularizer), a VAE its
KL term — because the loaded autoencoder itself is trained further by the project's
:class:`lsbo.train.Trainer`.

A fine-tuned model is a complete model directory (``checkpoint.pt``, ``train_strings.txt``,
``config.json``, ``metrics.csv``, ``retrain.json``) that :func:`lsbo.models.load_model` loads; a
fine-tuning interrupted mid-way resumes from its last epoch's checkpoint, and ``retrain.json`` is
written last, so a directory without it is unfinished.
"""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from lsbo.bo_defaults import RANK_K, RETRAIN_EPOCHS
from lsbo.errors import ConfigError

logger = logging.getLogger(__name__)

#: Written after the fine-tuned checkpoint: its presence marks a finished fine-tuning.
RETRAIN_FILE = "retrain.json"
#: Trainer entries of a checkpoint that a fine-tuning does not inherit (it is a new training run).
TRAINER_KEYS = ("model", "best_model", "optimizer", "scheduler", "scaler", "trainer", "history", "random_states",
                "loader_generator")


def rank_weights(targets: Tensor | np.ndarray | Sequence[float], k: float) -> np.ndarray:
    """Rank weights ``1 / (k * n + rank)`` of ``targets`` (n,) in the maximisation direction; rank 0 is the best.

    Args:
        targets: the points' targets, larger is better.
        k: the rank-weighting parameter (``--rank-k``), positive.

    Returns:
        (n,) float64 weights (unnormalised).
    """
    if not k > 0:
        raise ConfigError(f"k must be positive, got {k}", parameter="k")
    values = np.asarray(targets, dtype=np.float64).reshape(-1)
    order = np.argsort(-values, kind="stable")  # best first
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(len(values))
    return 1.0 / (k * len(values) + ranks)


@dataclass(frozen=True)
class RetrainOptions:
    """How each fine-tuning runs.

    ``samples_per_epoch`` weighted draws make one epoch (None: as many as there are strings);
    ``learning_rate`` None keeps the model's own.
    """

    every: int
    rank_k: float = RANK_K
    epochs: int = RETRAIN_EPOCHS
    samples_per_epoch: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None

    def validate(self) -> None:
        if self.every < 1:
            raise ConfigError(f"retrain.every must be at least 1, got {self.every}", parameter="retrain.every")
        if not (isinstance(self.rank_k, (int, float)) and 0 < self.rank_k < math.inf):
            raise ConfigError(f"retrain.rank_k must be positive and finite, got {self.rank_k}", parameter="retrain.rank_k")
        if self.epochs < 1:
            raise ConfigError(f"retrain.epochs must be at least 1, got {self.epochs}", parameter="retrain.epochs")
        if self.samples_per_epoch is not None and self.samples_per_epoch < 1:
            raise ConfigError(f"retrain.samples_per_epoch must be at least 1, got {self.samples_per_epoch}",
                              parameter="retrain.samples_per_epoch")


def retrain_due(n_before: int, n_after: int, every: int) -> bool:
    """Whether the evaluations from ``n_before`` to ``n_after`` crossed a multiple of ``every``."""
    return n_after // every > n_before // every


def is_finished(model_dir: Path) -> bool:
    return (Path(model_dir) / RETRAIN_FILE).is_file()


def fine_tune(
    model: Any,
    strings: Sequence[str],
    targets: Sequence[float] | np.ndarray,
    out_dir: Path,
    options: RetrainOptions,
    *,
    seed: int,
) -> Path:
    """Fine-tune ``model`` (a :class:`lsbo.models.TrainedModel`) on ``strings`` drawn by the rank weights
    of ``targets`` (maximisation direction) into the model directory ``out_dir``; returns ``out_dir``.

    Strings the model's codec cannot encode are left out (and counted in ``retrain.json``). A
    finished ``out_dir`` is returned as it is; an unfinished one resumes.
    """
    from torch.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

    from lsbo.models.pipeline import index_loader
    from lsbo.models.trained import TRAIN_STRINGS_NAME, build_autoencoder
    from lsbo.persistence import write_json
    from lsbo.train import Trainer, TrainerConfig

    out_dir = Path(out_dir)
    if is_finished(out_dir):
        return out_dir
    if len(strings) != len(targets):
        raise ConfigError(f"fine-tuning needs one target per string, got {len(strings)} strings and {len(targets)} targets")
    options.validate()
    indices, ok = model.codec.encode(list(strings))
    ok = np.asarray(ok, dtype=bool)
    if ok.sum() < 2:
        raise ConfigError(f"fine-tuning: only {int(ok.sum())} of {len(strings)} strings encode with the model's codec")
    weights = rank_weights(np.asarray(targets, dtype=np.float64)[ok], options.rank_k)
    rows = np.asarray(indices)[ok]
    config = model.config
    batch_size = options.batch_size or config.batch_size
    generator = torch.Generator().manual_seed(seed)
    sampler = WeightedRandomSampler(torch.as_tensor(weights), num_samples=options.samples_per_epoch or len(rows),
                                    replacement=True, generator=generator)
    train_loader = DataLoader(TensorDataset(torch.from_numpy(np.ascontiguousarray(rows))), batch_size=batch_size,
                              sampler=sampler, drop_last=len(sampler) >= batch_size)
    # validation on the model's own held-out split, unweighted: it picks the best epoch as in training
    val_indices, val_ok = model.codec.encode(model.validation_strings())
    val_loader = index_loader(np.asarray(val_indices)[np.asarray(val_ok, dtype=bool)], batch_size, False, 0)

    out_dir.mkdir(parents=True, exist_ok=True)
    source_dir = Path(model.model_dir)
    for name in (TRAIN_STRINGS_NAME, "config.json"):  # the split in the checkpoint refers to train_strings.txt
        if (source_dir / name).is_file() and not (out_dir / name).is_file():
            shutil.copyfile(source_dir / name, out_dir / name)
    record = {
        "fine_tuned_from": str(source_dir), "n_strings": int(len(strings)), "n_encoded": int(ok.sum()),
        "seed": seed, **asdict(options), "batch_size": batch_size,
        "top_weight_share": float(np.sort(weights)[::-1][: max(1, len(weights) // 1000)].sum() / weights.sum()),
    }
    extra = {key: value for key, value in model.payload.items() if key not in TRAINER_KEYS}
    extra["retraining"] = record
    # a fresh copy of the network with the loaded weights: the caller's model stays as it is
    autoencoder = build_autoencoder(model.codec, config, batch_size=config.batch_size, rec_weight=float(model.payload["rec_weight"]),
                                    from_checkpoint=True)
    autoencoder.load_state_dict(model.autoencoder.state_dict())
    trainer_config = TrainerConfig(
        epochs=options.epochs, learning_rate=options.learning_rate or config.learning_rate,
        early_stopping_patience=options.epochs + 1, grad_clip=config.grad_clip, seed=seed, device=str(model.device),
        progress=False,
    )
    logger.info(f"weighted retraining: {options.epochs} epoch(s) of {len(sampler)} rank-weighted draws from {int(ok.sum())} strings "
                    f"(k = {options.rank_k}) -> {out_dir}")
    result = Trainer(autoencoder, trainer_config, out_dir, extra_state=extra).fit(train_loader, val_loader, resume=True)
    record["best_val_loss"] = result.best_val_loss
    write_json(out_dir / RETRAIN_FILE, record)
    return out_dir
