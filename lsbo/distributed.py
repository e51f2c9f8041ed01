"""Data-parallel training with ``torch.distributed``: ``torchrun --nproc-per-node N -m lsbo_cli train ...``.

When the process was started by ``torchrun`` (``WORLD_SIZE`` > 1 in its environment), the ``lsbo train``
commands join the process group (gloo on the CPU, nccl on CUDA, one GPU per local rank) and
:class:`lsbo.train.Trainer` trains with :class:`~torch.nn.parallel.DistributedDataParallel`:

* **The same global batches as one process.** Every rank draws the same shuffled batch of
  ``--batch-size`` N (the loaders are seeded alike) and trains on its own contiguous slice of N/W
  rows (:class:`ShardedBatches`); N must divide by the number of processes W. So one step of W
  processes sees exactly the batch one process would, and the losses agree up to float rounding.
* **The GMM-KS terms over the global batch.** The KS loss (sorted marginals) and the covariance loss
  are statistics of the whole batch, and the eq. 10 weights were estimated for batches of N codes.
  A per-rank loss would be a statistic of N/W codes, larger in expectation (the empirical CDF and
  covariance of fewer samples are further from the prior's) and so mis-weighted. The regularizer
  therefore gathers the codes of every rank with gradient (the differentiable functional all-gather,
  :func:`gather_batch`) and evaluates eqs. 7 and 8 on all N. The all-gather's backward sums each
  rank's gradient for the local codes, W copies of the same loss, and DDP averages over the W ranks,
  so the parameter gradient is exactly the one-process gradient of the global-batch loss. Per-example
  terms (reconstruction, a VAE's KL) are means over the local slice, and DDP's average of those is
  the global mean.
* **One checkpoint.** Rank 0 writes the checkpoint and ``metrics.csv`` (every rank waits for it), the
  logged numbers are averaged over the ranks, and a resumed run loads that checkpoint on every rank.
  Validation runs on the whole validation set on every rank (no gather), so every rank takes the same
  learning-rate and early-stopping decisions without talking to the others.

Batch normalisation (the image models) normalises by each rank's slice on the CPU; on CUDA it is
converted to :class:`~torch.nn.SyncBatchNorm`, which uses the global batch.
"""

from __future__ import annotations

import datetime
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from lsbo.errors import ConfigError
from lsbo.persistence import owned_directory

logger = logging.getLogger(__name__)

#: How long a rank waits for the others (joining, a collective) before failing instead of hanging.
DEFAULT_TIMEOUT = datetime.timedelta(minutes=10)


@dataclass(frozen=True)
class DataParallel:
    """This process's place in the group: ``rank`` of ``world_size``, ``local_rank`` on its machine."""

    rank: int
    world_size: int
    local_rank: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def torchrun_environment(environ: Mapping[str, str] = os.environ) -> DataParallel | None:
    """The group ``torchrun`` describes in the environment, or ``None`` when there is no group of two or more."""
    if "WORLD_SIZE" not in environ:
        return None
    try:
        values = {key: int(environ.get(key, "0")) for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    except ValueError:
        raise ConfigError("RANK, WORLD_SIZE and LOCAL_RANK must be whole numbers (set by torchrun)") from None
    if values["WORLD_SIZE"] < 2:
        return None
    if not 0 <= values["RANK"] < values["WORLD_SIZE"]:
        raise ConfigError(f"RANK {values['RANK']} is outside WORLD_SIZE {values['WORLD_SIZE']} (set by torchrun)")
    return DataParallel(values["RANK"], values["WORLD_SIZE"], values["LOCAL_RANK"])


def current() -> DataParallel | None:
    """The joined group of two or more processes, or ``None`` (one process)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return None
    return DataParallel(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", dist.get_rank())))


@contextmanager
def data_parallel_from_environment(device: str = "auto", timeout: datetime.timedelta = DEFAULT_TIMEOUT) -> Iterator[DataParallel | None]:
    """Join the group torchrun started this process in (if any) for the body, and leave it afterwards.

    Args:
        device: ``auto``/``cuda`` use nccl and the GPU of this local rank when CUDA is available; else gloo.
    """
    group = torchrun_environment()
    if group is None or current() is not None:
        yield current()
        return
    use_cuda = device != "cpu" and torch.cuda.is_available()
    if use_cuda:
        torch.cuda.set_device(group.local_rank % torch.cuda.device_count())
    dist.init_process_group("nccl" if use_cuda else "gloo", timeout=timeout)
    logger.info("data parallel: rank %d of %d (%s)", group.rank, group.world_size, dist.get_backend())
    package_logger = logging.getLogger("lsbo")
    level = package_logger.level
    if not group.is_main:
        package_logger.setLevel(logging.WARNING)  # the other ranks would repeat rank 0's progress lines
    try:
        yield group
    finally:
        package_logger.setLevel(level)
        dist.destroy_process_group()


def gather_batch(z: torch.Tensor) -> torch.Tensor:
    """The codes of every rank's slice stacked in rank order, ``(N, d)`` from a local ``(N / W, d)``.

    Gradients flow back to each rank's own codes. The identity in one process and wherever no
    gradient is being taken (validation runs on the whole set on every rank).
    """
    if current() is None or not (torch.is_grad_enabled() and z.requires_grad):
        return z
    # the functional all-gather is differentiable: its backward is a sum reduce-scatter to each rank's rows
    from torch.distributed._functional_collectives import all_gather_single

    world = dist.group.WORLD
    assert world is not None  # current() found the default group initialised
    return all_gather_single(z.contiguous(), 0, world)


def shard(batch: Any, group: DataParallel) -> Any:
    """This rank's contiguous slice of a (possibly nested) batch along its leading dimension."""
    if isinstance(batch, torch.Tensor):
        n = batch.shape[0]
        if n % group.world_size:
            raise ConfigError(f"a training batch of {n} examples cannot be split evenly over {group.world_size} "
                              f"processes: choose a batch_size divisible by torchrun's --nproc-per-node", parameter=("batch_size",))
        size = n // group.world_size
        return batch[group.rank * size : (group.rank + 1) * size]
    if isinstance(batch, Mapping):
        return {key: shard(value, group) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(shard(value, group) for value in batch)
    return batch


class ShardedBatches:
    """A loader whose every batch is cut to this rank's slice (same length, same ``generator``)."""

    def __init__(self, loader: Any, group: DataParallel) -> None:
        self.loader = loader
        self.group = group

    @property
    def generator(self) -> torch.Generator | None:
        return getattr(self.loader, "generator", None)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[Any]:
        for batch in self.loader:
            yield shard(batch, self.group)


class _Losses(nn.Module):
    """``forward`` is the wrapped module's ``compute_losses``: DDP hooks into ``forward`` only."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, batch: Any) -> Any:
        compute_losses: Callable[[Any], Any] = getattr(self.module, "compute_losses")  # noqa: B009  (untyped on nn.Module)
        return compute_losses(batch)


def data_parallel_losses(model: nn.Module, device: torch.device) -> Callable[[Any], Any]:
    """``model.compute_losses`` through DistributedDataParallel: gradients are averaged over the ranks.

    On CUDA batch normalisation becomes :class:`~torch.nn.SyncBatchNorm` in place (same parameters and
    buffers, so the checkpoint is unchanged).
    """
    if device.type == "cuda":
        for name, child in list(model.named_children()):
            setattr(model, name, nn.SyncBatchNorm.convert_sync_batchnorm(child))
    wrapped = nn.parallel.DistributedDataParallel(
        _Losses(model), device_ids=[device.index if device.index is not None else torch.cuda.current_device()]
        if device.type == "cuda" else None,
    )
    return wrapped


def mean_over_ranks(values: dict[str, float], device: torch.device) -> dict[str, float]:
    """Each value averaged over the ranks (the ranks' slices are equal, so this is the global-batch mean)."""
    if current() is None or not values:
        return values
    keys = sorted(values)
    tensor = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    tensor /= dist.get_world_size()
    reduced = dict(zip(keys, tensor.tolist()))
    return {key: reduced[key] for key in values}  # the caller's order (metrics.csv columns)


def owned_by_group(directory: Any, *, purpose: str) -> AbstractContextManager[Any]:
    """:func:`lsbo.persistence.owned_directory`, held by rank 0 for the whole group (by this process alone otherwise).

    The other ranks write nothing there but copies of what rank 0 writes, so they take no lock of their own.
    """
    group = current()
    if group is not None and not group.is_main:
        return nullcontext()
    return owned_directory(directory, purpose=purpose)


def barrier() -> None:
    """Wait for every rank (nothing in one process)."""
    if current() is not None:
        dist.barrier()


__all__ = [
    "DataParallel", "ShardedBatches", "barrier", "current", "data_parallel_from_environment", "data_parallel_losses",
    "gather_batch", "mean_over_ranks", "owned_by_group", "shard", "torchrun_environment",
]
