"""The image sweep's input checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsbo.errors import ConfigError
from lsbo.images.sweep import run_sweep


@pytest.mark.parametrize(("parameter", "values", "message"), [("components", [2, 2.5], "2.5"), ("distance", [1.0, -1.0], "-1")])
def test_a_bad_value_anywhere_is_refused_before_any_training(tmp_path: Path, parameter: str, values: list[float], message: str) -> None:
    # the data directory does not exist: training the first value would fail with a DataError instead
    with pytest.raises(ConfigError, match=message):
        run_sweep(parameter, "mnist", tmp_path / "sweep", values, data_dir=tmp_path / "no-data")
    assert not list((tmp_path / "sweep").glob(f"{parameter}_*"))
