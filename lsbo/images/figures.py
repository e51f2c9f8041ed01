"""Figures of the paper's image experiments, as PNG grids.

- ``samples.png``: random prior samples;
- ``components.png``: one row of samples per prior component (Figure 3);
- ``reconstructions.png``: test images (odd rows) above their reconstructions (even rows);
- ``interpolations.png``: one row per random test pair, decoded along the straight line between the
  two codes (Figure 2);
- :func:`plot_sweep`: FID / clustering accuracy against a swept setting (Figures 4 right and 5).

Grids are assembled with numpy and written with matplotlib (Agg), so no torchvision is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from lsbo.images.data import ImageSplit, to_float
from lsbo.images.models import ImageAutoencoder
from lsbo.persistence import atomic_write_bytes, save_figure


def image_grid(images: torch.Tensor, n_columns: int, padding: int = 2) -> np.ndarray:
    """Tile (N, C, H, W) images in [0, 1] into one (rows*H', cols*W', C) array (white padding)."""
    images = to_float(images).clamp(0, 1).cpu()
    n, channels, height, width = images.shape
    n_rows = max(1, -(-n // n_columns))
    cell_h, cell_w = height + padding, width + padding
    grid = np.ones((n_rows * cell_h + padding, n_columns * cell_w + padding, channels), dtype=np.float32)
    for index in range(n):
        row, column = divmod(index, n_columns)
        top, left = padding + row * cell_h, padding + column * cell_w
        grid[top : top + height, left : left + width] = images[index].permute(1, 2, 0).numpy()
    return grid


def save_grid(images: torch.Tensor, path: str | Path, n_columns: int, title: str | None = None) -> Path:
    """Write an image grid as PNG (grey images as grey, colour as RGB).

    Without ``title`` the PNG is the grid itself, pixel for pixel. With one, the grid is enlarged by
    a whole factor (nearest neighbour, to at least 640 pixels wide) and the title is set above it.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    grid = image_grid(images, n_columns)
    grey = grid.shape[2] == 1
    pixels = grid[:, :, 0] if grey else grid
    colours = {"cmap": "gray", "vmin": 0.0, "vmax": 1.0} if grey else {}
    if title is None:
        atomic_write_bytes(path, lambda handle: plt.imsave(handle, pixels, format="png", **colours))
        return path
    scale = max(1, -(-640 // grid.shape[1]))
    pixels = pixels.repeat(scale, axis=0).repeat(scale, axis=1)
    height, width = pixels.shape[:2]
    dpi, title_height = 100, 40
    figure = plt.figure(figsize=(width / dpi, (height + title_height) / dpi), dpi=dpi)
    axes = figure.add_axes((0.0, 0.0, 1.0, height / (height + title_height)))
    axes.imshow(pixels, interpolation="nearest", **colours)
    axes.set_axis_off()
    figure.text(0.5, 1.0 - 0.5 * title_height / (height + title_height), title, ha="center", va="center", fontsize=10)
    save_figure(figure, path, dpi=dpi)
    plt.close(figure)
    return path


def component_samples(model: ImageAutoencoder, per_component: int, generator: torch.Generator) -> torch.Tensor:
    """``per_component`` decoded samples of each prior component, grouped by component."""
    prior = model.regularizer.prior
    latents = [prior.sample_component(per_component, k, generator=generator) for k in range(prior.n_components)]
    return model.decode(torch.cat(latents).to(model.device)).cpu()


def interpolation_images(model: ImageAutoencoder, first: torch.Tensor, second: torch.Tensor, steps: int) -> torch.Tensor:
    """For each pair, ``steps`` images decoded along the line between the two codes (row-major)."""
    z_first, z_second = model.encode(first), model.encode(second)
    weights = torch.linspace(0.0, 1.0, steps, device=z_first.device).view(1, steps, 1)
    path = (1 - weights) * z_first.unsqueeze(1) + weights * z_second.unsqueeze(1)
    return model.decode(path.reshape(-1, z_first.shape[1])).cpu()


def make_figures(
    model: ImageAutoencoder, test: ImageSplit, out_dir: str | Path, *, seed: int = 0, n_columns: int = 10
) -> list[Path]:
    """Write the four figure grids of the module docstring into ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    generator = torch.Generator().manual_seed(seed)
    paths = []
    prior_generator = torch.Generator(device=model.regularizer.prior.means.device).manual_seed(seed)
    samples = model.decode(model.regularizer.sample(n_columns * 8, generator=prior_generator).to(model.device)).cpu()
    prior = model.regularizer.prior
    paths.append(save_grid(samples, out_dir / "samples.png", n_columns, title=f"Random prior samples (seed {seed})"))
    paths.append(save_grid(component_samples(model, n_columns, generator), out_dir / "components.png", n_columns,
                           title=f"Prior samples by component: row k is component k (K = {prior.n_components})"))
    n_pairs = min(len(test) // 2, 8)
    originals = to_float(test.images[: n_columns * 4])
    reconstructions = model.reconstruct(originals).cpu()
    interleaved = torch.cat(
        [torch.cat([originals[i : i + n_columns], reconstructions[i : i + n_columns]]) for i in range(0, len(originals), n_columns)]
    )
    paths.append(save_grid(interleaved, out_dir / "reconstructions.png", n_columns,
                           title="Test images (odd rows) above their reconstructions (even rows)"))
    if n_pairs:
        order = torch.randperm(len(test), generator=generator)[: 2 * n_pairs]
        first, second = to_float(test.images[order[:n_pairs]]), to_float(test.images[order[n_pairs:]])
        paths.append(save_grid(interpolation_images(model, first, second, n_columns), out_dir / "interpolations.png", n_columns,
                               title="Decoded along the line between the codes of two test images (one pair per row)"))
    return paths


def plot_sweep(
    values: Sequence[float], fid: Sequence[float], accuracy: Sequence[float | None], *, x_label: str, fid_label: str, path: str | Path
) -> Path:
    """FID (left axis) and clustering accuracy (right axis) against a swept setting."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    figure, left = plt.subplots(figsize=(5.5, 3.8))
    left.plot(values, fid, "o-", color="tab:blue")
    left.set_xlabel(x_label)
    left.set_ylabel("prior-sample FID", color="tab:blue")
    left.set_title(fid_label, fontsize=8)  # the extractor's name: FIDs of different extractors never share a plot
    pairs = [(v, a) for v, a in zip(values, accuracy) if a is not None]
    if pairs:
        right = left.twinx()
        right.plot([v for v, _ in pairs], [100 * a for _, a in pairs], "s--", color="tab:red")
        right.set_ylabel("clustering accuracy (%)", color="tab:red")
    figure.tight_layout()
    save_figure(figure, path)
    plt.close(figure)
    return path
