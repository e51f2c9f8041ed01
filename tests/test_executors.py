"""lsbo.executors: results in order, errors after every unit finished, the name registry."""

from __future__ import annotations

import functools
import os

import pytest

from lsbo.errors import ConfigError
from lsbo.executors import EXECUTOR_NAMES, LocalExecutor, build_executor


def _square(x: int) -> int:
    return x * x


def _pid_and(x: int) -> tuple[int, int]:
    return os.getpid(), x


def _fail_on(bad: int, x: int, marker_dir: str) -> int:
    open(os.path.join(marker_dir, f"ran-{x}"), "w").close()
    if x == bad:
        raise ValueError(f"unit {x} failed")
    return x


def test_in_process_results_in_order():
    units = [functools.partial(_square, i) for i in range(5)]
    assert build_executor("local").map(units) == [0, 1, 4, 9, 16]


def test_worker_processes_run_units_elsewhere_in_order():
    units = [functools.partial(_pid_and, i) for i in range(3)]
    results = LocalExecutor(workers=2, threads_per_worker=1).map(units)
    assert [x for _, x in results] == [0, 1, 2]
    assert os.getpid() not in {pid for pid, _ in results}


@pytest.mark.parametrize("workers", [1, 2])
def test_failure_raised_after_all_units_ran(tmp_path, workers):
    units = [functools.partial(_fail_on, 1, i, str(tmp_path)) for i in range(3)]
    with pytest.raises(ValueError, match="unit 1 failed"):
        LocalExecutor(workers=workers).map(units)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ran-0", "ran-1", "ran-2"]


def test_bad_names_and_values_are_config_errors():
    assert EXECUTOR_NAMES[0] == "local"
    with pytest.raises(ConfigError, match="executor must be one of local, ray"):
        build_executor("dask")
    with pytest.raises(ConfigError, match="workers must be"):
        build_executor("local", workers=0)
    with pytest.raises(ConfigError, match="address"):
        build_executor("local", address="ray://x:1")


def test_a_missing_ray_extra_is_a_one_line_config_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError, as without the extra
    monkeypatch.delitem(sys.modules, "lsbo.executors_ray", raising=False)
    with pytest.raises(ConfigError, match=r"install lsbo\[distributed\]") as caught:
        build_executor("ray", workers=2)
    assert "\n" not in str(caught.value)
