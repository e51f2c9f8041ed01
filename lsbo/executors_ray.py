"""The ``ray`` executor: units of work as Ray tasks, on a local Ray or on a cluster (extra ``lsbo[distributed]``).

Ray does the scheduling; this module only connects, submits at most ``workers`` units at a time and
hands results back in unit order, with :class:`lsbo.executors.Executor`'s error rule (the first failing
unit's error, raised after every unit ended). Units keep their state in a run directory, so on a
cluster that directory must be on a file system every node sees, and ``lsbo`` must be importable on
every node (installed there, or shipped with a Ray ``runtime_env``).

A task is not retried when its worker dies (``max_retries=0``): the unit's error says so, and running
the same command again resumes from the run directory, which holds everything finished.

Connecting is bounded: an address is checked before Ray is asked (``host:port`` must accept a TCP
connection within ``connect_timeout`` seconds, then a Ray client must join it from a child process
within a bounded time) and Ray's own GCS requests get the same limit, so a wrong or unreachable
address is a one-line :class:`~lsbo.errors.ExecutorError`, never a hang or an aborted process.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import ray  # the extra: without it this import fails and build_executor says which extra to install
from ray.exceptions import RayTaskError

from lsbo.errors import ConfigError, ExecutorError
from lsbo.executors_base import Executor, _gather

logger = logging.getLogger(__name__)

T = TypeVar("T")

_HOST_PORT = re.compile(r"^(?:ray://)?(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})$")


def parse_address(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of a Ray address (``HOST:PORT`` or ``ray://HOST:PORT``); ``None`` for ``auto``.

    Raises:
        ConfigError: naming the address when it is neither form.
    """
    text = str(address).strip()
    if text == "auto":
        return None
    match = _HOST_PORT.match(text)
    if match is None or not 0 < int(match["port"]) < 65536:
        raise ConfigError(f"address {address!r}: expected HOST:PORT, ray://HOST:PORT or auto", parameter="address")
    return match["host"].strip("[]"), int(match["port"])


def check_reachable(host: str, port: int, timeout: float) -> None:
    """Raise :class:`ExecutorError` unless ``host:port`` accepts a TCP connection within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except OSError as err:
        reason = "timed out" if isinstance(err, TimeoutError) else (err.strerror or type(err).__name__)
        raise ExecutorError(f"ray cluster at {host}:{port} is unreachable ({reason} within {timeout:g} s); "
                            "check address and that `ray start --head` is running there", parameter=("address",)) from None


_PROBE = """
import sys, ray
ray.init(address=sys.argv[1], include_dashboard=False, log_to_driver=False, logging_level="ERROR")
ray.shutdown()
"""


def probe_cluster(address: str, timeout: float) -> None:
    """Raise :class:`ExecutorError` unless a Ray client can join ``address`` (tried in a child process).

    Ray's core ends the whole process when the address accepts connections but never answers as a
    Ray cluster, so the first connection is tried where that costs nothing but the child.
    """
    environment = dict(os.environ, RAY_gcs_server_request_timeout_seconds=str(max(1, round(timeout))),
                       RAY_gcs_rpc_server_reconnect_timeout_s=str(max(1, round(timeout))))
    try:
        probe = subprocess.run([sys.executable, "-c", _PROBE, address], capture_output=True, text=True,
                               timeout=3 * timeout + 30, env=environment)
    except subprocess.TimeoutExpired:
        raise ExecutorError(f"ray cluster at {address} did not answer within {3 * timeout + 30:g} s; check address",
                             parameter=("address",)) from None
    if probe.returncode != 0:
        lines = [line.strip() for line in probe.stderr.splitlines() if line.strip()]
        detail = next((line for line in reversed(lines) if "Error" in line or "Failed" in line), lines[-1] if lines else "")
        detail = re.sub(r"^\[[^\]]*\]\s*[\w./-]+:\d+:\s*", "", detail).split(". ")[0]  # Ray's log prefix and advice
        raise ExecutorError(f"could not connect to the ray cluster at {address} (is it a Ray head's address?): {detail[:300]}")


def _run_unit(unit: Callable[[], T], threads: int | None) -> T:
    # the plugins named in this worker's LSBO_PLUGINS (a local Ray's workers inherit the driver's) and entry points
    from lsbo.plugins import load_plugins

    load_plugins()
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    return unit()


class RayExecutor(Executor):
    """Units as Ray tasks (one CPU each), at most ``workers`` in flight.

    Args:
        workers: units running at once; for a local Ray also the CPUs it is started with.
        address: a running cluster (``HOST:PORT``, ``ray://HOST:PORT`` or ``auto``); ``None`` starts a local Ray.
        threads_per_worker: torch intra-op threads in each task (``None`` leaves torch's default).
        connect_timeout: seconds allowed to reach the cluster.
    """

    name = "ray"

    def __init__(
        self, workers: int = 1, *, address: str | None = None, threads_per_worker: int | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigError(f"workers must be a whole number of at least 1, got {workers!r}")
        self.workers = workers
        self.address = address
        self.threads_per_worker = threads_per_worker
        self.connect_timeout = connect_timeout
        self._started_ray = False
        self._connect()

    def _connect(self) -> None:
        target = None if self.address is None else parse_address(self.address)
        if target is not None:
            check_reachable(*target, self.connect_timeout)
        if self.address is not None:
            probe_cluster(self.address, self.connect_timeout)
        # read by Ray's core when it first connects to the GCS
        os.environ.setdefault("RAY_gcs_server_request_timeout_seconds", str(max(1, int(round(self.connect_timeout)))))
        os.environ.setdefault("RAY_gcs_rpc_server_reconnect_timeout_s", str(max(1, int(round(self.connect_timeout)))))
        if ray.is_initialized():
            return  # a session someone else started (a notebook, a test fixture): use it, leave it running
        options: dict[str, Any] = dict(include_dashboard=False, logging_level=logging.WARNING, log_to_driver=True)
        if self.address is None:
            options["num_cpus"] = self.workers
        else:
            options["address"] = self.address
        try:
            ray.init(**options)
        except Exception as err:
            where = "start a local Ray" if self.address is None else f"connect to the ray cluster at {self.address}"
            first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise ExecutorError(f"could not {where}: {type(err).__name__}: {first_line}") from None
        self._started_ray = True
        logger.info("ray executor: %s, %d unit(s) at once", self.address or "local Ray", self.workers)

    def map(self, units: Sequence[Callable[[], T]]) -> list[T]:
        remote: Any = ray.remote(_run_unit).options(num_cpus=1, max_retries=0)
        units = list(units)
        outcomes: list[tuple[bool, object] | None] = [None] * len(units)
        in_flight: dict[object, int] = {}
        next_unit = 0
        while next_unit < len(units) or in_flight:
            while next_unit < len(units) and len(in_flight) < self.workers:
                in_flight[remote.remote(units[next_unit], self.threads_per_worker)] = next_unit
                next_unit += 1
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                index = in_flight.pop(ref)
                try:
                    outcomes[index] = (True, ray.get(ref))
                except RayTaskError as err:  # the unit raised: hand back its own error
                    cause = getattr(err, "cause", None)
                    outcomes[index] = (False, cause if isinstance(cause, BaseException) else ExecutorError(str(err).splitlines()[0]))
                except Exception as err:
                    first_line = (str(err).strip().splitlines() or [""])[0]
                    outcomes[index] = (False, ExecutorError(
                        f"unit {index + 1} of {len(units)} was lost on Ray ({type(err).__name__}: {first_line}); "
                        "what it finished is saved: run the same command again to resume"))
        return _gather(outcomes)  # type: ignore[arg-type]

    def close(self) -> None:
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False
