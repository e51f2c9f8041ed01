"""Shared fixtures.

Real data comes from the shared data directory (``LSBO_SHARED_DATA``, default ``../shared/data``
beside the checkout; see :mod:`lsbo.settings`). Tests never download anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lsbo.settings import shared_data_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.fail(f"shared data directory not found: {path} (set LSBO_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def zinc_subset_path(shared_data: Path) -> Path:
    return shared_data / "zinc250k_subset.smi"


@pytest.fixture(scope="session")
def expr_dataset_path(shared_data: Path) -> Path:
    return shared_data / "equation2_15_dataset.txt"


@pytest.fixture(scope="session")
def zinc():
    """The built-in SMILES grammar (loaded once per session)."""
    from lsbo.grammar import Grammar

    return Grammar.builtin("zinc")


@pytest.fixture(scope="session")
def expr():
    """The built-in arithmetic-expression grammar (loaded once per session)."""
    from lsbo.grammar import Grammar

    return Grammar.builtin("expr")


@pytest.fixture
def single_torch_thread():
    """One torch thread for the test, restored afterwards: tiny models and GP solves run several times
    faster single-threaded than on two contended cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def benchmark_script(monkeypatch: pytest.MonkeyPatch):
    """Loads ``benchmarks/<name>.py`` as a module (registered under its name for this test, since
    dataclasses look their module up in sys.modules): tests check the scripts RESULTS.md rests on."""
    import importlib.util

    def load(name: str):
        path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, name, module)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own download/preprocessing cache, so nothing leaks between tests."""
    monkeypatch.setenv("LSBO_CACHE_DIR", str(tmp_path_factory.mktemp("lsbo-cache")))


def lsbo_executable() -> list[str]:
    """The installed ``lsbo`` console script (the real entry point), next to this interpreter."""
    candidate = Path(sys.executable).with_name("lsbo")
    if candidate.exists():
        return [str(candidate)]
    found = shutil.which("lsbo")
    if found:
        return [found]
    return [sys.executable, "-m", "lsbo_cli"]


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``lsbo ARGS...`` in a subprocess and return the completed process (never raises on exit code)."""
    full_env = dict(os.environ)
    # A fixed width whatever the parent set (xdist workers and CI terminals differ), so wrapped output
    # does not depend on where the suite runs.
    full_env["COLUMNS"] = "200"
    if env:
        full_env.update(env)
    return subprocess.run(
        [*lsbo_executable(), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def cli():
    """The ``run_cli`` helper as a fixture."""
    return run_cli
