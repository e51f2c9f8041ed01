"""``lsbo prior``: inspect GMM priors and draw the paper's Figure 1.

Thin layer over :mod:`lsbo.priors` and :mod:`lsbo.regularizers` (losses and ``figure``).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from lsbo_cli.schema import device_option

prior_app = typer.Typer(help="Gaussian-mixture priors: placement, eq. 10 weights, Figure 1.", no_args_is_help=True)


@prior_app.command("figure")
def figure(
    out: Path = typer.Option(..., "--out", help="PNG file to write."),
    seed: int = typer.Option(0, "--seed", help="Seed of every random draw."),
    max_samples: int = typer.Option(3000, "--max-samples", min=10, help="Largest sample size N on the x axis."),
    repeats: int = typer.Option(10, "--repeats", min=1, help="Samples drawn per distribution and size (median and band)."),
    weight_batches: int = typer.Option(100, "--weight-batches", min=1, help="M of eq. 10: prior batches per weight estimate."),
) -> None:
    """Figure 1: plain KS distance vs. our KS + covariance loss, in 1 and 2 dimensions, over N."""
    from lsbo.errors import ConfigError

    # Checked before the heavy imports, so a wrong file name fails at once.
    if out.suffix.lower() != ".png":
        raise ConfigError(f"--out {out}: the figure is written as PNG, give a file name ending in .png")

    from rich.progress import Progress

    from lsbo.regularizers.figure import figure1_curves, plot_figure1, sample_sizes_up_to

    sizes = sample_sizes_up_to(max_samples)
    dims = (1, 2)
    with Progress(transient=True) as progress:
        task = progress.add_task("Figure 1", total=len(sizes) * len(dims))
        curves = figure1_curves(
            sizes, dims=dims, repeats=repeats, n_weight_batches=weight_batches, seed=seed,
            on_step=lambda: progress.advance(task),
        )
    written = plot_figure1(curves, out)
    typer.echo(f"wrote {written}")
    for dim in dims:
        for label in curves.ks_distance[dim]:
            ks_at_max = float(sorted(curves.ks_distance[dim][label][-1])[repeats // 2])
            ours_at_max = float(sorted(curves.our_loss[dim][label][-1])[repeats // 2])
            typer.echo(f"  {dim}-D  N={sizes[-1]:<6d} KS distance {ks_at_max:8.4f}   our loss {ours_at_max:10.2f}   {label}")


@prior_app.command("info")
def info(
    dim: int = typer.Option(..., "--dim", min=1, help="Latent dimension d."),
    components: int = typer.Option(10, "--components", min=1, help="Number of mixture components K."),
    batch_size: int = typer.Option(500, "--batch-size", min=2, help="Training batch size N for the eq. 10 weights."),
    std: float = typer.Option(1.0, "--std", help="Component standard deviation."),
    min_distance: float = typer.Option(6.0, "--min-distance", help="Smallest distance between means."),
    seed: int = typer.Option(0, "--seed", help="Seed of the Sobol placement and the weight estimate."),
    weight_batches: int = typer.Option(100, "--weight-batches", min=1, help="M of eq. 10."),
    device: str = device_option(),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Show a Sobol-placed prior: spacing of the means, covariance scale and the eq. 10 weights."""
    import torch

    from lsbo.device import resolve_device
    from lsbo.errors import ConfigError
    from lsbo.priors import GMMPrior
    from lsbo.regularizers import estimate_weights

    if std <= 0:
        raise ConfigError(f"--std must be positive, got {std}")
    target = resolve_device(device)
    prior = GMMPrior.sobol(dim, components, min_distance=min_distance, std=std, seed=seed).to(target)
    generator = torch.Generator(device=target).manual_seed(seed)
    weights = estimate_weights(prior, batch_size, n_batches=weight_batches, generator=generator)
    distances = torch.pdist(prior.means) if components > 1 else prior.means.new_zeros(1)
    covariance = prior.covariance()
    summary = {
        "dim": dim,
        "components": components,
        "std": std,
        "mean_norm": float(prior.means.norm(dim=1).max()),
        "min_mean_distance": float(distances.min()),
        "max_mean_distance": float(distances.max()),
        "covariance_trace": float(covariance.trace()),
        "batch_size": batch_size,
        "lambda_ks": weights.ks,
        "lambda_cv": weights.cv,
        "device": str(target),
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    typer.echo(f"GMM prior: K={components} components in d={dim} dimensions, std {std}, equal weights")
    typer.echo(f"  means: norm {summary['mean_norm']:.3f}; pairwise distance min {summary['min_mean_distance']:.3f}, max {summary['max_mean_distance']:.3f}")
    typer.echo(f"  covariance (eq. 6): trace {summary['covariance_trace']:.3f}")
    typer.echo(f"  eq. 10 weights for batches of {batch_size} ({weight_batches} prior batches): lambda_KS = {weights.ks:.6g}, lambda_CV = {weights.cv:.6g}")


def register(app: typer.Typer) -> None:
    """Add the ``prior`` command group to the ``lsbo`` app."""
    app.add_typer(prior_app, name="prior")
