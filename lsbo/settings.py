"""Locations the toolkit reads from or writes to, each overridable by one environment variable.

- ``LSBO_CACHE_DIR``: downloads and preprocessing caches (default ``~/.cache/lsbo``).
- ``LSBO_SHARED_DATA``: the read-only shared datasets used by tests, benchmarks and examples
  (default ``../shared/data`` next to the source checkout).
"""

from __future__ import annotations

import os
from pathlib import Path

_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """The per-user cache directory (created on demand by the code that writes to it)."""
    return Path(os.environ.get("LSBO_CACHE_DIR", Path.home() / ".cache" / "lsbo")).expanduser()


def shared_data_dir() -> Path:
    """The directory of shared datasets (``zinc250k_subset.smi``, ``equation2_15_dataset.txt``, ...)."""
    default = _SOURCE_ROOT.parent / "shared" / "data"
    return Path(os.environ.get("LSBO_SHARED_DATA", default)).expanduser()
