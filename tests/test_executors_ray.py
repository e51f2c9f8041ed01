"""lsbo.executors_ray: the same results and error rule as the local executor, bounded one-line connection errors.

One local Ray session (2 CPUs, no dashboard) serves the whole module; the executor reuses it.
"""

from __future__ import annotations

import functools
import os
import re
import socket

import pytest

ray = pytest.importorskip("ray", reason="the ray executor needs the distributed extra: pip install 'lsbo[distributed]'")

from lsbo.errors import ConfigError, ExecutorError  # noqa: E402
from lsbo.executors import LocalExecutor, build_executor  # noqa: E402
from lsbo.executors_ray import RayExecutor, check_reachable, parse_address  # noqa: E402
from tests.test_executors import _fail_on, _pid_and, _square  # noqa: E402


@pytest.fixture(scope="module")
def ray_session():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _die(x: int) -> int:
    os._exit(1)  # the worker process ends mid-unit, as if killed


def test_results_in_order_equal_the_local_executor(ray_session):
    units = [functools.partial(_square, i) for i in range(5)]
    executor = build_executor("ray", workers=2)
    assert isinstance(executor, RayExecutor)
    assert executor.map(units) == LocalExecutor().map(units)
    pids = {pid for pid, _ in executor.map([functools.partial(_pid_and, i) for i in range(2)])}
    assert os.getpid() not in pids


def test_a_failing_unit_raises_its_own_error_after_the_others_ran(ray_session, tmp_path):
    units = [functools.partial(_fail_on, 1, i, str(tmp_path)) for i in range(3)]
    with pytest.raises(ValueError, match="unit 1 failed"):
        RayExecutor(workers=2).map(units)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ran-0", "ran-1", "ran-2"]


def test_a_dead_worker_is_a_one_line_error_and_the_other_units_finish(ray_session, tmp_path):
    units = [functools.partial(_die, 0), functools.partial(_fail_on, -1, 1, str(tmp_path))]
    with pytest.raises(ExecutorError, match=r"unit 1 of 2 was lost on Ray .*run the same command again") as caught:
        RayExecutor(workers=2).map(units)
    assert "\n" not in str(caught.value)
    assert (tmp_path / "ran-1").exists()


@pytest.mark.parametrize("address", ["nonsense", "host:", "host:99999", "http://host:6379"])
def test_malformed_addresses_name_the_parameter(address):
    with pytest.raises(ConfigError, match=rf"^address '{re.escape(address)}': expected HOST:PORT") as caught:
        parse_address(address)
    assert caught.value.parameter == "address"


def test_addresses_parse():
    assert parse_address("auto") is None
    assert parse_address("10.0.0.5:6379") == ("10.0.0.5", 6379)
    assert parse_address("ray://head.example:10001") == ("head.example", 10001)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the socket is closed


def test_an_unreachable_cluster_is_a_one_line_error_before_ray_is_asked():
    port = _closed_port()
    with pytest.raises(ExecutorError, match=rf"ray cluster at 127.0.0.1:{port} is unreachable"):
        check_reachable("127.0.0.1", port, timeout=2.0)
    with pytest.raises(ExecutorError, match="unreachable") as caught:
        build_executor("ray", address=f"127.0.0.1:{port}", connect_timeout=2.0)
    assert "\n" not in str(caught.value)


@pytest.mark.slow
def test_an_address_that_is_not_a_ray_head_is_a_one_line_error():
    with socket.socket() as listener:  # accepts connections, never speaks Ray's protocol
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        with pytest.raises(ExecutorError, match=rf"could not connect to the ray cluster at 127.0.0.1:{port}") as caught:
            build_executor("ray", address=f"127.0.0.1:{port}", connect_timeout=1.0)
    assert "\n" not in str(caught.value)


def test_trials_on_ray_equal_one_process_and_a_killed_worker_costs_a_rerun_only(ray_session, tmp_path):
    from pathlib import Path

    from lsbo.bo import run_optimization
    from lsbo.bo.loop import prepare_run
    from lsbo.bo.parallel import run_trials
    from tests.bo.test_parallel import CONFIG, evaluation_fields, fake_loader

    flag = str(tmp_path / "die")
    run_optimization(*fake_loader(flag, "die"), tmp_path / "reference", CONFIG, target="expr")
    out = tmp_path / "run"
    load = functools.partial(fake_loader, flag, "die")
    prepare_run(*load(), out, CONFIG, target="expr")
    Path(flag).touch()  # the first call to see it ends its Ray worker mid-trial
    executor = RayExecutor(workers=2, threads_per_worker=1)
    with pytest.raises(ExecutorError, match="lost on Ray"):
        run_trials(executor, load, out, CONFIG, target="expr", resume=True)
    results = run_trials(executor, load, out, CONFIG, target="expr", resume=True)  # the same command again
    keys = [row[:3] for row in evaluation_fields(out)]
    assert len(keys) == len(set(keys)) == 2 * 2 * 3  # each evaluation exactly once
    assert evaluation_fields(out) == evaluation_fields(tmp_path / "reference")
    assert results["n_trials"] == 2
