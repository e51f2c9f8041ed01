"""One torch thread for these small-tensor tests: on a shared 2-core machine, thread contention makes
tiny GP solves several times slower than running single-threaded."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
