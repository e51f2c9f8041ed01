"""Executors: where independent units of work run (experiment cells, BO trials, objective batches).

A unit of work is a picklable zero-argument callable (a module-level function wrapped with
:func:`functools.partial`) whose effects live in a run directory, so that running it again after a
crash resumes it. An executor only decides *where* units run; it never holds results that the
directory does not also hold, so a worker that dies loses only its unit in flight.

The interface is one method, :meth:`Executor.map`, in the shape of :class:`concurrent.futures.Executor`:
results come back in the order of the units, and the first unit that raised re-raises its error in the
caller once every other unit has finished (so finished units are never thrown away).

``local`` (the default) runs units in this process (``workers=1``) or in ``workers`` spawned
processes; ``ray`` is added by :mod:`lsbo.executors_ray` when the ``distributed`` extra is installed.
Both implement :class:`lsbo.executors_base.Executor`.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from lsbo.errors import ConfigError, ExecutorError
from lsbo.executors_base import Executor, _call, _gather

__all__ = ["EXECUTOR_NAMES", "Executor", "LocalExecutor", "build_executor"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Names accepted by :func:`build_executor` (the CLI's ``--executor`` choices derive from this).
EXECUTOR_NAMES: tuple[str, ...] = ("local", "ray")


class LocalExecutor(Executor):
    """Units in this process (``workers=1``) or in a pool of spawned worker processes.

    Spawned (not forked) workers start clean: no inherited torch thread pools or open files, the
    same on every platform.

    Args:
        workers: how many units run at once (at least 1).
        threads_per_worker: torch intra-op threads in each worker (``None`` leaves torch's default).
    """

    name = "local"

    def __init__(self, workers: int = 1, *, threads_per_worker: int | None = None) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigError(f"workers must be a whole number of at least 1, got {workers!r}", parameter="workers")
        self.workers = workers
        self.threads_per_worker = threads_per_worker

    def map(self, units: Sequence[Callable[[], T]]) -> list[T]:
        units = list(units)
        if self.workers == 1 or len(units) <= 1:
            outcomes = []
            for unit in units:
                try:
                    outcomes.append((True, unit()))
                except Exception as err:  # keep running the others; re-raised below
                    logger.debug("unit failed", exc_info=True)
                    outcomes.append((False, err))
            return _gather(outcomes)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=min(self.workers, len(units)),
            mp_context=context,
            initializer=_init_worker,
            initargs=(self.threads_per_worker,),
        ) as pool:
            futures = [pool.submit(_call, unit) for unit in units]
            outcomes = []
            for number, future in enumerate(futures, start=1):
                error = future.exception()
                if isinstance(error, BrokenProcessPool):  # a worker died: the pool ends every unit in flight
                    error = ExecutorError(f"unit {number} of {len(units)} was lost: a local worker process died "
                                          "(killed, out of memory or crashed); what finished is saved: run the same "
                                          "command again to resume")
                outcomes.append((True, future.result()) if error is None else (False, error))
        return _gather(outcomes)


def _init_worker(threads: int | None) -> None:
    # the parent's plugins (LSBO_PLUGINS, which the command line extends with its --plugin values, and the
    # entry points): their components are named in the units' settings and their classes in pickled units
    from lsbo.plugins import load_plugins

    load_plugins()
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def build_executor(name: str = "local", *, workers: int = 1, address: str | None = None, **options) -> Executor:
    """The executor called ``name`` (one of :data:`EXECUTOR_NAMES`).

    Args:
        name: ``"local"`` or ``"ray"``.
        workers: parallel units (local processes, or Ray tasks at once).
        address: the Ray cluster address (``None``: a local Ray); refused for ``local``.
    """
    key = str(name).strip().lower()
    if key == "local":
        if address is not None:
            raise ConfigError("address is only meaningful for the ray executor", parameter="address")
        return LocalExecutor(workers, **options)
    if key == "ray":
        try:
            from lsbo.executors_ray import RayExecutor
        except ImportError as err:
            raise ConfigError(f"the ray executor is not available ({err}); install lsbo[distributed]") from None
        return RayExecutor(workers=workers, address=address, **options)
    raise ConfigError(f"executor must be one of {', '.join(EXECUTOR_NAMES)}, got {name!r}", parameter="executor")
