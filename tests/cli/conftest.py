"""Fixtures shared by the command-line tests: a tiny trained expression model, and a lock holder."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli

_HOLD_LOCK = (
    "import sys\n"
    "from lsbo.persistence import DirectoryLock\n"
    "lock = DirectoryLock(sys.argv[1], purpose='lsbo optimize (test holder)').acquire()\n"
    "print('locked', flush=True)\n"
    "sys.stdin.read()\n"  # hold until the test closes our stdin
)


@pytest.fixture(scope="session")
def tiny_expr_model(tmp_path_factory: pytest.TempPathFactory, expr_dataset_path: Path) -> Path:
    model_dir = tmp_path_factory.mktemp("model") / "expr-model"
    result = run_cli(
        "train", "expr", "--data", str(expr_dataset_path), "--limit", "150", "--epochs", "1", "--preset", "cpu",
        "--latent-dim", "4", "--gru-hidden", "16", "--threads", "1", "--out", str(model_dir),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return model_dir


@pytest.fixture
def lock_holder() -> Iterator[Callable[[Path], subprocess.Popen[str]]]:
    """Start another process that owns a directory (as a running lsbo command would) until the test ends."""
    holders: list[subprocess.Popen[str]] = []

    def hold(directory: Path) -> subprocess.Popen[str]:
        process = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(directory)], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True)
        holders.append(process)
        assert process.stdout is not None and process.stdout.readline().strip() == "locked"
        return process

    yield hold
    for process in holders:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=60)
