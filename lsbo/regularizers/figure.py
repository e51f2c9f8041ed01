"""The paper's Figure 1: why the KS term needs the covariance term (Section 3.1).

For growing sample sizes N, samples from several distributions are scored against the prior
N(0, I) in one and two dimensions by

* the classic KS distance: the sup-norm statistic of the one-sample Kolmogorov-Smirnov test
  (:func:`scipy.stats.kstest`), averaged over dimensions;
* this paper's loss: lambda_KS * L_KS + lambda_CV * L_CV (eqs. 7, 8) with the eq. 10 weights
  estimated for that N (so a sample from the prior scores about 2 at every N).

In two dimensions, a sample with perfectly correlated coordinates (z2 = z1) has exactly the prior's
marginals: the KS distance cannot tell it from the prior, while the covariance term grows with N.
:func:`figure1_curves` computes the curves, :func:`plot_figure1` draws them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from lsbo.errors import ConfigError
from lsbo.persistence import save_figure
from lsbo.priors import GMMPrior
from lsbo.regularizers.losses import covariance_loss, estimate_weights, ks_loss

__all__ = ["Figure1Curves", "comparison_samplers", "figure1_curves", "plot_figure1", "sample_sizes_up_to"]

Sampler = Callable[[int, torch.Generator], Tensor]


def _prior_sampler(dim: int) -> Sampler:
    return lambda n, generator: torch.randn(n, dim, generator=generator, dtype=torch.float64)


def _uniform_unit_variance(dim: int) -> Sampler:
    half_width = math.sqrt(3.0)  # U(-sqrt 3, sqrt 3) has mean 0 and variance 1, like the prior
    return lambda n, generator: (torch.rand(n, dim, generator=generator, dtype=torch.float64) * 2.0 - 1.0) * half_width


def _shifted(dim: int, shift: float) -> Sampler:
    return lambda n, generator: torch.randn(n, dim, generator=generator, dtype=torch.float64) + shift


def _copied_first_coordinate(dim: int) -> Sampler:
    # Every coordinate equals the first: each marginal is exactly N(0, 1), correlations are all 1.
    return lambda n, generator: torch.randn(n, 1, generator=generator, dtype=torch.float64).expand(n, dim).clone()


def comparison_samplers(dim: int) -> dict[str, Sampler]:
    """The distributions compared with the prior N(0, I) in ``dim`` (1 or 2) dimensions."""
    if dim == 1:
        return {
            "prior N(0, 1)": _prior_sampler(1),
            "uniform, same mean and variance": _uniform_unit_variance(1),
            "shifted N(0.5, 1)": _shifted(1, 0.5),
        }
    return {
        "prior N(0, I)": _prior_sampler(dim),
        "correlated: z2 = z1 (prior marginals)": _copied_first_coordinate(dim),
        "shifted N(0.5, I)": _shifted(dim, 0.5),
    }


def sample_sizes_up_to(max_samples: int, min_samples: int = 10, points_per_decade: int = 4) -> list[int]:
    """Roughly log-spaced sample sizes from ``min_samples`` to ``max_samples`` (both included)."""
    if max_samples < min_samples:
        raise ConfigError(f"max_samples must be at least {min_samples}, got {max_samples}", parameter="max_samples")
    decades = math.log10(max_samples / min_samples)
    count = max(2, int(round(decades * points_per_decade)) + 1)
    sizes = np.unique(np.round(np.geomspace(min_samples, max_samples, count)).astype(int))
    return [int(size) for size in sizes]


@dataclass
class Figure1Curves:
    """Per dimension and distribution: KS distances and our loss, shape (len(sizes), repeats) each."""

    sample_sizes: list[int]
    ks_distance: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    our_loss: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)


def _ks_distance(sample: Tensor) -> float:
    from scipy import stats

    data = sample.numpy()
    return float(np.mean([stats.kstest(data[:, j], stats.norm.cdf).statistic for j in range(data.shape[1])]))


def figure1_curves(
    sample_sizes: list[int],
    dims: tuple[int, ...] = (1, 2),
    repeats: int = 20,
    n_weight_batches: int = 100,
    seed: int = 0,
    on_step: Callable[[], None] | None = None,
) -> Figure1Curves:
    """Compute the Figure 1 curves; ``on_step`` is called after each (dimension, sample size)."""
    if repeats < 1:
        raise ConfigError(f"repeats must be at least 1, got {repeats}")
    curves = Figure1Curves(sample_sizes=list(sample_sizes))
    for dim in dims:
        prior = GMMPrior.standard_normal(dim, dtype=torch.float64)
        samplers = comparison_samplers(dim)
        curves.ks_distance[dim] = {label: np.zeros((len(sample_sizes), repeats)) for label in samplers}
        curves.our_loss[dim] = {label: np.zeros((len(sample_sizes), repeats)) for label in samplers}
        for size_index, n in enumerate(sample_sizes):
            generator = torch.Generator().manual_seed(seed * 1_000_003 + dim * 10_007 + n)
            weights = estimate_weights(prior, n, n_batches=n_weight_batches, generator=generator)
            for label, sampler in samplers.items():
                for repeat in range(repeats):
                    z = sampler(n, generator)
                    curves.ks_distance[dim][label][size_index, repeat] = _ks_distance(z)
                    # In one dimension the "covariance" is the variance; eq. 8 still applies.
                    ours = weights.ks * float(ks_loss(z, prior)) + weights.cv * float(covariance_loss(z, prior))
                    curves.our_loss[dim][label][size_index, repeat] = ours
            if on_step is not None:
                on_step()
    return curves


def plot_figure1(curves: Figure1Curves, out: Path) -> Path:
    """Draw the curves (columns: dimensions; rows: KS distance, our loss) into a PNG at ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dims = sorted(curves.ks_distance)
    fig, axes = plt.subplots(2, len(dims), figsize=(5.5 * len(dims), 8.5), squeeze=False, sharex=True)
    sizes = np.asarray(curves.sample_sizes)
    rows = (
        ("KS distance (kstest, mean over dims)", curves.ks_distance),
        ("ours: λ_KS·L_KS + λ_CV·L_CV (eqs. 7, 8, 10)", curves.our_loss),
    )
    for column, dim in enumerate(dims):
        for row, (ylabel, table) in enumerate(rows):
            axis = axes[row][column]
            for label, values in table[dim].items():
                centre = np.median(values, axis=1)
                low, high = np.quantile(values, 0.1, axis=1), np.quantile(values, 0.9, axis=1)
                (line,) = axis.plot(sizes, centre, marker="o", markersize=3, label=label)
                axis.fill_between(sizes, low, high, color=line.get_color(), alpha=0.2)
            axis.set_xscale("log")
            axis.set_yscale("log")
            axis.grid(True, which="major", alpha=0.3)
            if column == 0:
                axis.set_ylabel(ylabel)
            if row == 0:
                axis.set_title("1-D prior N(0, 1)" if dim == 1 else f"{dim}-D prior N(0, I)")
            else:
                axis.set_xlabel("sample size N")
            axis.legend(fontsize=8)
    fig.suptitle("Figure 1: marginal KS distance vs. KS + covariance loss (median, 10-90% band)")
    fig.tight_layout()
    out = Path(out)
    save_figure(fig, out)
    plt.close(fig)
    return out
