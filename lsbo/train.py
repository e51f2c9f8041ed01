"""One trainer for every autoencoder of the toolkit (grammar, character and image models).

It optimises any ``nn.Module`` exposing ``compute_losses(batch) -> LossTerms`` (the weighted loss
terms of eq. 9 of the paper, see :mod:`lsbo.regularizers.terms`) with the training protocol of the Grammar VAE (Kusner et al., 2017; docs/protocols.md §2): Adam, learning rate reduced on a
plateau of the validation loss, early stopping, gradient clipping, seeded randomness, and on CUDA
mixed precision. Each epoch ends with an atomic checkpoint holding everything needed to continue
(model, optimizer, scheduler, AMP scaler, random states, early-stopping state, history), after which
``metrics.csv`` is rewritten from that history, so the two files always agree and a resumed run
never repeats or skips an epoch. A non-finite loss stops training with a message and leaves the last
good checkpoint untouched.

Nothing here knows about grammars or images: callers add their own entries to the checkpoint through
``extra_state`` and read them back with :func:`lsbo.checkpoint.load_checkpoint`.
"""

from __future__ import annotations

import copy
import logging
import math
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from lsbo import distributed
from lsbo.checkpoint import CHECKPOINT_NAME, load_checkpoint, require_keys, save_checkpoint
from lsbo.device import resolve_device
from lsbo.errors import CheckpointError, ConfigError, LsboError
from lsbo.persistence import atomic_write_text
from lsbo.progress import EpochBars
from lsbo.regularizers.terms import LossTerms
from lsbo.report import metrics_csv_text

METRICS_NAME = "metrics.csv"
logger = logging.getLogger(__name__)


class TrainingDiverged(LsboError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


#: The parameters a divergence message suggests changing (named mid-sentence, see LsboError.parameter).
DIVERGENCE_REMEDIES = ("learning_rate", "rec_weight")


@dataclass
class TrainerConfig:
    """Optimisation settings (defaults follow the Grammar VAE protocol; epochs/batch size come from the model preset)."""

    epochs: int = 100
    learning_rate: float = 1e-3
    lr_factor: float = 0.2  # ReduceLROnPlateau factor
    lr_patience: int = 3  # epochs without validation improvement before the learning rate is reduced
    min_learning_rate: float = 1e-5
    early_stopping_patience: int = 10  # epochs without validation improvement before stopping
    # The validation number (a key of the model's loss terms, or "loss" for the total) that the plateau rule,
    # early stopping and the kept best weights follow.
    monitor: str = "loss"
    grad_clip: float | None = 5.0  # max global gradient norm; None disables clipping
    seed: int = 0
    device: str = "auto"
    amp: bool = True  # mixed precision, used on CUDA only
    progress: bool = True
    num_threads: int | None = None  # CPU threads for torch; None keeps torch's default (all cores)
    # Steps between host synchronisations (the finite-loss check and the progress refresh). Loss sums
    # stay on the device in between, so a GPU is not stalled every step; a non-finite loss is still
    # caught within this many steps, before the epoch's checkpoint could be written.
    sync_every: int = 20

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    """Outcome of :meth:`Trainer.fit`: the per-epoch history and why training ended."""

    history: list[dict[str, float]]
    best_val_loss: float  # the best value of the monitored validation number (TrainerConfig.monitor)
    best_epoch: int
    stop_reason: str  # "completed" | "early_stopping" | "already_complete"
    checkpoint: Path
    monitor: str = "loss"


# ----------------------------------------------------------------------------------------------
# small pure helpers


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def move_to_device(batch: Any, device: torch.device) -> Any:
    """Move every tensor inside a (possibly nested) batch to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {key: move_to_device(value, device) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        moved = [move_to_device(value, device) for value in batch]
        return type(batch)(moved) if isinstance(batch, tuple) and not hasattr(batch, "_fields") else moved
    return batch


def batch_size_of(batch: Any) -> int:
    """Number of examples in a batch: the leading dimension of its first tensor."""
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0])
    if isinstance(batch, Mapping):
        return batch_size_of(next(iter(batch.values())))
    if isinstance(batch, (list, tuple)) and batch:
        return batch_size_of(batch[0])
    raise TypeError(f"cannot tell the size of a batch of type {type(batch).__name__}")


def random_states() -> dict[str, Any]:
    """Every global random state as checkpoint-safe values (tensors, ints, lists)."""
    _, keys, position, has_gauss, cached = np.random.get_state()
    states: dict[str, Any] = {
        "torch": torch.random.get_rng_state(),
        "numpy": {
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": _python_state_to_list(random.getstate()),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_random_states(states: Mapping[str, Any]) -> None:
    """Inverse of :func:`random_states`."""
    torch.random.set_rng_state(states["torch"].cpu())
    numpy_state = states["numpy"]
    np.random.set_state(
        (
            "MT19937",
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["position"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in states["cuda"]])


def _python_state_to_list(state: tuple) -> list:
    version, internal, gauss = state
    return [version, list(internal), gauss]


class _Averager:
    """Example-weighted running means of named numbers over an epoch.

    Tensor values are summed where they live (on the device), so adding does not synchronise with
    the host; :meth:`means` is the one synchronisation.
    """

    def __init__(self) -> None:
        self.sums: dict[str, Any] = {}
        self.count = 0

    def add(self, values: Mapping[str, Any], n: int) -> None:
        for key, value in values.items():
            value = value.detach().to(torch.float64) if isinstance(value, torch.Tensor) else float(value)
            self.sums[key] = self.sums.get(key, 0.0) + value * n
        self.count += n

    def means(self) -> dict[str, float]:
        return {key: float(total) / max(self.count, 1) for key, total in self.sums.items()}


# ----------------------------------------------------------------------------------------------
# the trainer


class Trainer:
    """Fits a module with ``compute_losses(batch) -> LossTerms``; checkpoints and metrics go to ``out_dir``.

    ``extra_state`` (a dict, or a callable returning one at each save) is stored in every checkpoint
    beside the trainer's own entries: model configuration, grammar text, data statistics...
    """

    def __init__(
        self,
        model: nn.Module,
        config: TrainerConfig,
        out_dir: Path | str,
        *,
        extra_state: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
    ) -> None:
        if not hasattr(model, "compute_losses"):
            raise TypeError(f"{type(model).__name__} has no compute_losses(batch) method")
        self.config = config
        self.device = resolve_device(config.device)
        self.model = model.to(self.device)
        self.out_dir = Path(out_dir)
        self.checkpoint_path = self.out_dir / CHECKPOINT_NAME
        self.metrics_path = self.out_dir / METRICS_NAME
        self.extra_state = extra_state
        self.use_amp = config.amp and self.device.type == "cuda"
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.learning_rate)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, mode="min", factor=config.lr_factor, patience=config.lr_patience,
            min_lr=config.min_learning_rate,
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.epoch = 0  # number of completed epochs
        self.best_val_loss = math.inf
        self.best_epoch = 0
        self.bad_epochs = 0
        self.history: list[dict[str, float]] = []
        self.best_model_state: dict[str, torch.Tensor] | None = None
        self.stopped_early = False
        # under torchrun: DDP for the training forward, rank 0 alone writes (lsbo.distributed)
        self.data_parallel = distributed.current()
        self._training_losses = self.model.compute_losses
        if self.data_parallel is not None:
            self._training_losses = distributed.data_parallel_losses(self.model, self.device)

    # -- persistence ---------------------------------------------------------------------------

    def state(self, train_loader: Any | None = None) -> dict[str, Any]:
        """Everything needed to continue training, plus the caller's extra entries."""
        extra = self.extra_state() if callable(self.extra_state) else dict(self.extra_state or {})
        loader_generator = getattr(train_loader, "generator", None) if train_loader is not None else None
        state = dict(extra)
        state.update(
            {
                "model": self.model.state_dict(),
                "best_model": self.best_model_state if self.best_model_state is not None else self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict(),
                "trainer": {
                    "epoch": self.epoch,
                    "best_val_loss": self.best_val_loss,
                    "best_epoch": self.best_epoch,
                    "bad_epochs": self.bad_epochs,
                    "stopped_early": self.stopped_early,
                    "config": self.config.to_dict(),
                },
                "history": self.history,
                "random_states": random_states(),
                "loader_generator": loader_generator.get_state() if loader_generator is not None else None,
            }
        )
        return state

    def save(self, train_loader: Any | None = None) -> None:
        """Atomic checkpoint, then ``metrics.csv`` rewritten from the checkpointed history (by rank 0 alone)."""
        if self.data_parallel is None or self.data_parallel.is_main:
            save_checkpoint(self.checkpoint_path, self.state(train_loader))
            atomic_write_text(self.metrics_path, metrics_csv_text(self.history))
        distributed.barrier()  # no rank reads or resumes a checkpoint rank 0 is still writing

    def resume(self, train_loader: Any | None = None) -> bool:
        """Load the last checkpoint of ``out_dir`` if there is one; returns whether it did."""
        if not self.checkpoint_path.exists():
            return False
        payload = load_checkpoint(self.checkpoint_path, map_location=self.device)
        require_keys(payload, ("model", "optimizer", "scheduler", "trainer", "history", "random_states"), self.checkpoint_path)
        try:
            self.model.load_state_dict(payload["model"])
            self.optimizer.load_state_dict(payload["optimizer"])
            self.scheduler.load_state_dict(payload["scheduler"])
            if payload.get("scaler"):
                self.scaler.load_state_dict(payload["scaler"])
        except (RuntimeError, KeyError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise CheckpointError(
                f"checkpoint {self.checkpoint_path} does not fit this model configuration: {first[:200]}"
            ) from None
        trainer_state = payload["trainer"]
        self.epoch = int(trainer_state["epoch"])
        self.best_val_loss = float(trainer_state["best_val_loss"])
        self.best_epoch = int(trainer_state["best_epoch"])
        self.bad_epochs = int(trainer_state["bad_epochs"])
        self.stopped_early = bool(trainer_state.get("stopped_early", False))
        self.history = list(payload["history"])
        self.best_model_state = payload.get("best_model")
        restore_random_states(payload["random_states"])
        generator = getattr(train_loader, "generator", None) if train_loader is not None else None
        if generator is not None and payload.get("loader_generator") is not None:
            generator.set_state(payload["loader_generator"].cpu())
        return True

    # -- one epoch -----------------------------------------------------------------------------

    def _autocast(self) -> Any:
        return torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=self.use_amp)

    def train_epoch(self, loader: Iterable[Any], progress: EpochBars | None = None) -> dict[str, float]:
        self.model.train()
        averager = _Averager()
        sync_every = max(1, int(self.config.sync_every))
        nonfinite: torch.Tensor | None = None  # on the device: a non-finite total since the last check
        first_unchecked = 0
        for step, batch in enumerate(loader):
            batch = move_to_device(batch, self.device)
            with self._autocast():
                losses = self._training_losses(batch)
            bad = ~torch.isfinite(losses.total.detach())
            nonfinite = bad if nonfinite is None else nonfinite | bad
            if sync_every == 1 and bool(bad):  # checked every step: stop before a non-finite update
                raise TrainingDiverged(self._divergence_message(losses, step), parameter=DIVERGENCE_REMEDIES)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(losses.total).backward()
            if self.config.grad_clip is not None:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            averager.add(losses.values(), batch_size_of(batch))
            if progress is not None:
                progress.advance()
            if (step + 1) % sync_every == 0:
                self._check_finite(nonfinite, losses, first_unchecked, step)
                nonfinite, first_unchecked = None, step + 1
                self._show_losses(progress, averager, losses)
        if nonfinite is not None:
            self._check_finite(nonfinite, losses, first_unchecked, step)
            self._show_losses(progress, averager, losses)
        return distributed.mean_over_ranks(averager.means(), self.device)

    @staticmethod
    def _show_losses(progress: EpochBars | None, averager: _Averager, losses: LossTerms) -> None:
        if progress is not None:
            # the optimised terms only; the epoch summary line carries every metric
            means = averager.means()
            progress.show_losses(" ".join(f"{k}={means[k]:.4g}" for k in ["loss", *losses.terms]))

    def _check_finite(self, nonfinite: torch.Tensor | None, losses: LossTerms, first: int, last: int) -> None:
        if nonfinite is not None and bool(nonfinite):
            raise TrainingDiverged(self._divergence_message(losses, last, first), parameter=DIVERGENCE_REMEDIES)

    @torch.no_grad()
    def evaluate_loader(self, loader: Iterable[Any]) -> dict[str, float]:
        """Mean loss terms and metrics over a loader, in evaluation mode, without gradients."""
        self.model.eval()
        averager = _Averager()
        for batch in loader:
            batch = move_to_device(batch, self.device)
            with self._autocast():
                losses = self.model.compute_losses(batch)
            averager.add(losses.values(), batch_size_of(batch))
        return averager.means()

    def _divergence_message(self, losses: LossTerms, step: int, first_step: int | None = None) -> str:
        bad = [name for name, value in losses.terms.items() if not bool(torch.isfinite(value.detach()))]
        where = f" (non-finite terms: {', '.join(bad)})" if bad else ""
        steps = f"step {step + 1}" if first_step is None or first_step == step else f"steps {first_step + 1}-{step + 1}"
        return (
            f"training stopped: non-finite loss at epoch {self.epoch + 1}, {steps}{where}; "
            f"{self._kept_checkpoint_note()}; try a lower learning_rate or rec_weight"
        )

    def _kept_checkpoint_note(self) -> str:
        # What a divergence leaves behind: in the first epoch nothing has been written yet.
        if self.checkpoint_path.exists():
            return f"the last good checkpoint {self.checkpoint_path} (epoch {self.epoch}) is kept"
        return "no checkpoint had been written yet"

    # -- the loop ------------------------------------------------------------------------------

    def fit(self, train_loader: Iterable[Any], val_loader: Iterable[Any], *, resume: bool = False) -> TrainResult:
        """Train until ``config.epochs`` epochs are complete or early stopping triggers."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if self.config.num_threads is not None:
            # On a small shared CPU, intra-op threads contend; one thread is often much faster.
            torch.set_num_threads(self.config.num_threads)
        seed_everything(self.config.seed)
        if self.data_parallel is not None:  # every rank draws the same global batch and trains on its slice
            train_loader = distributed.ShardedBatches(train_loader, self.data_parallel)
        generator = getattr(train_loader, "generator", None)
        if generator is not None:
            generator.manual_seed(self.config.seed)
        if resume and self.resume(train_loader):
            logger.info(f"resuming from {self.checkpoint_path} after epoch {self.epoch}")
        if self.stopped_early or self.epoch >= self.config.epochs:
            reason = "early_stopping" if self.stopped_early else "already_complete"
            logger.info(f"nothing to do: training already finished after epoch {self.epoch} ({reason})")
            return self._result(reason)
        progress = EpochBars() if self.config.progress and (self.data_parallel is None or self.data_parallel.is_main) else None
        stop_reason = "completed"
        try:
            if progress is not None:
                progress.start()
            while self.epoch < self.config.epochs:
                started = time.perf_counter()
                if progress is not None:
                    progress.new_epoch(f"epoch {self.epoch + 1}/{self.config.epochs}", _safe_len(train_loader))
                train_numbers = self.train_epoch(train_loader, progress)
                val_numbers = self.evaluate_loader(val_loader)
                val_loss = self._monitored(val_numbers, train_numbers)
                if not math.isfinite(val_loss):
                    raise TrainingDiverged(
                        f"training stopped: non-finite validation {self.config.monitor} at epoch {self.epoch + 1}; "
                        f"{self._kept_checkpoint_note()}"
                    )
                learning_rate = self.optimizer.param_groups[0]["lr"]
                self.scheduler.step(val_loss)
                self.epoch += 1
                row: dict[str, float] = {"epoch": self.epoch}
                row.update({f"train_{key}": value for key, value in train_numbers.items()})
                row.update({f"val_{key}": value for key, value in val_numbers.items()})
                row["lr"] = learning_rate
                row["time_s"] = time.perf_counter() - started
                self.history.append(row)
                if val_loss < self.best_val_loss:
                    self.best_val_loss, self.best_epoch, self.bad_epochs = val_loss, self.epoch, 0
                    self.best_model_state = copy.deepcopy(self.model.state_dict())
                else:
                    self.bad_epochs += 1
                self.stopped_early = self.bad_epochs >= self.config.early_stopping_patience
                self.save(train_loader)
                logger.info(_epoch_summary(row))
                if self.stopped_early:
                    stop_reason = "early_stopping"
                    logger.info(
                        f"early stopping: no validation improvement for {self.bad_epochs} epochs "
                        f"(best {self.best_val_loss:.4g} at epoch {self.best_epoch})"
                    )
                    break
        finally:
            if progress is not None:
                progress.stop()
        return self._result(stop_reason)

    def _monitored(self, val_numbers: Mapping[str, float], train_numbers: Mapping[str, float]) -> float:
        """The number the plateau rule and early stopping follow (the training one without validation data)."""
        numbers = val_numbers if val_numbers else train_numbers
        if self.config.monitor not in numbers:
            raise ConfigError(
                f"monitor {self.config.monitor!r} is not one of the model's loss terms ({', '.join(sorted(numbers))})",
                parameter="monitor",
            )
        return float(numbers[self.config.monitor])

    def _result(self, reason: str) -> TrainResult:
        return TrainResult(
            history=self.history, best_val_loss=self.best_val_loss, best_epoch=self.best_epoch,
            stop_reason=reason, checkpoint=self.checkpoint_path, monitor=self.config.monitor,
        )


def _safe_len(loader: Any) -> int | None:
    try:
        return len(loader)
    except TypeError:
        return None


def _epoch_summary(row: Mapping[str, float]) -> str:
    parts = [f"epoch {int(row['epoch'])}"]
    parts += [f"{key}={value:.4g}" for key, value in row.items() if key not in ("epoch",)]
    return " ".join(parts)
