"""Figure grids: layout of the tiles and the PNG written."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import torch

from lsbo.errors import ConfigError
from lsbo.images.figures import image_grid, plot_sweep, save_grid
from lsbo.images.sweep import _overrides


def test_image_grid_places_each_tile_row_major() -> None:
    images = torch.stack([torch.full((1, 4, 4), i / 10) for i in range(5)])
    grid = image_grid(images, n_columns=3, padding=1)
    assert grid.shape == (2 * 5 + 1, 3 * 5 + 1, 1)
    assert grid[1, 1, 0] == pytest.approx(0.0) and grid[1, 6, 0] == pytest.approx(0.1)
    assert grid[6, 6, 0] == pytest.approx(0.4)  # second row, second column = image 4
    assert grid[6, 11, 0] == pytest.approx(1.0)  # empty cell stays white


def test_save_grid_writes_a_png_of_the_grid_size(tmp_path: Path) -> None:
    path = save_grid(torch.rand(6, 3, 8, 8), tmp_path / "g.png", n_columns=3)
    picture = matplotlib.image.imread(path)
    assert picture.shape[:2] == (2 * 10 + 2, 3 * 10 + 2)


def test_plot_sweep_and_sweep_overrides(tmp_path: Path) -> None:
    path = plot_sweep([1, 5, 10], [30.0, 20.0, 15.0], [0.3, None, 0.5], x_label="K", fid_label="fid[x]", path=tmp_path / "s.png")
    assert path.stat().st_size > 0
    assert _overrides("components", 5) == {"n_components": 5}
    assert _overrides("distance", 8) == {"regularizer_options": {"min_distance": 8.0}}
    with pytest.raises(ConfigError):
        _overrides("components", 2.5)
    assert np.isfinite(matplotlib.image.imread(path)).all()


def test_titled_grid_has_the_title_above_the_enlarged_grid(tmp_path: Path) -> None:
    images = torch.rand(6, 1, 8, 8)
    path = save_grid(images, tmp_path / "g.png", n_columns=3, title="Random prior samples")
    picture = matplotlib.image.imread(path)[:, :, :3]
    scale = -(-640 // (3 * 10 + 2))  # the grid is enlarged by a whole factor to at least 640 pixels
    assert picture.shape[:2] == (40 + scale * (2 * 10 + 2), scale * (3 * 10 + 2))
    title_band, grid_part = picture[:40], picture[40:]
    assert title_band.min() < 0.5 and np.median(title_band) > 0.95  # dark text on white
    expected = image_grid(images, 3)[:, :, 0].repeat(scale, axis=0).repeat(scale, axis=1)
    assert np.abs(grid_part[:, :, 0] - expected).max() < 0.02  # the pixels themselves, not resampled
