"""``lsbo images``: train, evaluate, draw and sweep the image autoencoders of the paper (Section 4.1).

Thin layer over :mod:`lsbo.images`; torch and matplotlib are imported inside the commands so that
``lsbo --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .schema import Preset, Regularizer, choice_value, device_option, schema_option
from .train import REGULARIZER_OPTION_HELP, parse_regularizer_options

images_app = typer.Typer(
    name="images",
    help="Image experiments: conv autoencoders with any regularizer, FID, clustering accuracy, figures.",
    no_args_is_help=True,
)

DATASET_HELP = "mnist | fashion-mnist | svhn | celeba"


def _parse_widths(text: Optional[str]) -> Optional[tuple[int, ...]]:
    from lsbo.errors import ConfigError

    if text is None:
        return None
    try:
        widths = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ConfigError(f"--widths {text!r}: expected four comma-separated channel counts, e.g. 16,32,64,128") from None
    return widths


def _parse_values(text: str) -> list[float]:
    from lsbo.errors import ConfigError

    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--values {text!r}: expected comma-separated numbers, e.g. 1,5,10") from None
    if not values:
        raise ConfigError("--values is empty")
    return values


def _regularizer_options(no_ks: bool, no_cv: bool, min_distance: Optional[float], pairs: Optional[list[str]] = None) -> Optional[dict]:
    options: dict = parse_regularizer_options(pairs or [])
    if no_ks:
        options["use_ks"] = False
    if no_cv:
        options["use_cv"] = False
    if min_distance is not None:
        options["min_distance"] = min_distance
    return options or None


@images_app.command("train")
def train(
    dataset: str = typer.Argument(..., help=DATASET_HELP),
    out: Path = typer.Option(..., "--out", help="Model directory (checkpoint.pt, config.json, metrics.csv)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Directory with the dataset files (IDX files for (fashion-)mnist)."),
    regularizer: Regularizer = schema_option("regularizer", "gmm"),
    preset: Preset = schema_option("preset", "cpu", help="Model sizes: paper (docs/protocols.md) or cpu (16/32/64/128 channels)."),
    epochs: Optional[int] = schema_option("epochs", help="Epochs (default: 100 paper, 10 cpu)."),
    limit: Optional[int] = schema_option("limit", help="Use only the first N training images."),
    latent_dim: Optional[int] = schema_option("latent_dim", help="Latent size (default: 10 mnist, 100 svhn, 64 celeba)."),
    components: Optional[int] = schema_option("n_components", help="Prior components K."),
    widths: Optional[str] = typer.Option(None, "--widths", help="Encoder channels, e.g. 16,32,64,128."),
    batch_size: Optional[int] = schema_option("batch_size", help="Batch size (default 100)."),
    learning_rate: Optional[float] = schema_option("learning_rate", help="Adam learning rate (default 2e-4, 2e-3 svhn/celeba)."),
    rec_weight: Optional[float] = typer.Option(None, "--rec-weight", help="Weight of the pixel MSE (paper: 2000 = 1/5e-4)."),
    no_ks: bool = typer.Option(False, "--no-ks", help="gmm ablation: drop the KS term."),
    no_cv: bool = typer.Option(False, "--no-cv", help="gmm ablation: drop the covariance term."),
    min_distance: Optional[float] = typer.Option(None, "--min-distance", help="gmm: smallest distance between prior means."),
    regularizer_option: Optional[list[str]] = typer.Option(None, "--regularizer-option", help=REGULARIZER_OPTION_HELP),
    seed: int = schema_option("seed", 0),
    device: str = device_option(),
    resume: bool = typer.Option(False, "--resume", help="Continue from the checkpoint in --out."),
) -> None:
    """Train an image autoencoder (checkpoint each epoch; --resume continues)."""
    from lsbo.distributed import data_parallel_from_environment
    from lsbo.images.training import train_image_model
    from lsbo.options import check_value

    with data_parallel_from_environment(device) as group:  # torchrun: one model, DDP over the processes
        run = train_image_model(
            dataset, out, data_dir=data, preset=choice_value(preset), regularizer=choice_value(regularizer), epochs=epochs,
            limit=check_value("limit", limit),
            device=device, resume=resume, seed=seed, latent_dim=latent_dim, n_components=components,
            widths=_parse_widths(widths), batch_size=batch_size, learning_rate=learning_rate, rec_weight=rec_weight,
            regularizer_options=_regularizer_options(no_ks, no_cv, min_distance, regularizer_option),
        )
    if group is not None and not group.is_main:
        return
    typer.echo(f"trained {run.config.regularizer} on {run.config.dataset}: {len(run.history)} epochs ({run.stop_reason}) -> {run.out_dir}")


def _print_metrics(metrics: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from lsbo.images.evaluate import metrics_table_rows

    note, rows = metrics_table_rows(metrics)
    table = Table(title=f"{metrics['dataset']} / {metrics['regularizer']} ({metrics['n_fid_images']} images per FID)")
    table.add_column("metric")
    table.add_column("this model", justify="right")
    table.add_column("paper", justify="right")
    for row in rows:
        table.add_row(*row)
    console = Console()
    console.print(table)
    console.print(note, soft_wrap=True, markup=False, highlight=False)


@images_app.command("evaluate")
def evaluate(
    model_dir: Path = typer.Argument(..., help="A directory written by `lsbo images train`."),
    data: Optional[Path] = typer.Option(None, "--data", help="Dataset directory (default: where training found it)."),
    n_samples: int = typer.Option(10000, "-n", "--n-samples", help="Images per FID (at most the test split)."),
    inception_weights: Optional[Path] = typer.Option(
        None, "--inception-weights", help="pytorch-fid Inception weights file (else torch hub's cache; else the classifier fallback)."
    ),
    classifier_epochs: int = typer.Option(2, "--classifier-epochs", help="Epochs of the fallback feature classifier (trained once, cached)."),
    seed: int = typer.Option(0, "--seed"),
    device: str = device_option(),
    figures: bool = typer.Option(True, "--figures/--no-figures", help="Also write the figure grids."),
) -> None:
    """FID of prior samples, ex-post GMM samples, reconstructions and interpolations; clustering accuracy."""
    from lsbo.images.evaluate import evaluate_image_model
    from lsbo.images.training import load_image_model

    loaded = load_image_model(model_dir, device)
    metrics = evaluate_image_model(
        model_dir, data_dir=data, device=device, n_samples=n_samples, inception_weights=inception_weights,
        classifier_epochs=classifier_epochs, seed=seed, loaded=loaded,
    )
    _print_metrics(metrics)
    typer.echo(f"wrote {Path(model_dir) / 'metrics.json'}")
    if figures:
        _write_figures(loaded, data, seed)


def _write_figures(loaded, data: Optional[Path], seed: int) -> None:
    from lsbo.images.data import load_image_split
    from lsbo.images.figures import make_figures

    source = data if data is not None else loaded.data.get("data_dir") or loaded.data.get("origin")
    test = load_image_split(loaded.config.dataset, "test", source, limit=200)
    for path in make_figures(loaded.model, test, loaded.model_dir / "figures", seed=seed):
        typer.echo(f"wrote {path}")


@images_app.command("figures")
def figures(
    model_dir: Path = typer.Argument(..., help="A directory written by `lsbo images train`."),
    data: Optional[Path] = typer.Option(None, "--data"),
    seed: int = typer.Option(0, "--seed"),
    device: str = device_option(),
) -> None:
    """Sample, per-component (Fig. 3), reconstruction and interpolation (Fig. 2) grids in DIR/figures."""
    from lsbo.images.training import load_image_model

    _write_figures(load_image_model(model_dir, device), data, seed)


@images_app.command("sweep")
def sweep(
    parameter: str = typer.Argument(..., help="components (Figure 5) | distance (Figure 4, right)"),
    dataset: str = typer.Argument(..., help=DATASET_HELP),
    out: Path = typer.Option(..., "--out", help="Sweep directory: one model per value, sweep.csv, sweep.png."),
    values: str = typer.Option(..., "--values", help="Comma-separated values, e.g. 1,5,10,15,20,25 or 2,4,6,8."),
    data: Optional[Path] = typer.Option(None, "--data"),
    preset: Preset = schema_option("preset", "cpu"),
    epochs: Optional[int] = schema_option("epochs"),
    limit: Optional[int] = schema_option("limit"),
    widths: Optional[str] = typer.Option(None, "--widths"),
    learning_rate: Optional[float] = schema_option("learning_rate"),
    n_samples: int = typer.Option(10000, "-n", "--n-samples"),
    inception_weights: Optional[Path] = typer.Option(None, "--inception-weights"),
    classifier_epochs: int = typer.Option(2, "--classifier-epochs"),
    seed: int = schema_option("seed", 0),
    device: str = device_option(),
) -> None:
    """Train and evaluate a gmm model per value (finished values are kept; rerun to continue)."""
    from lsbo.images.sweep import run_sweep

    result = run_sweep(
        parameter, dataset, out, _parse_values(values), data_dir=data, preset=choice_value(preset), epochs=epochs, limit=limit,
        widths=_parse_widths(widths), learning_rate=learning_rate, n_samples=n_samples, inception_weights=inception_weights,
        classifier_epochs=classifier_epochs, seed=seed, device=device,
    )
    typer.echo(f"wrote {result.csv_path} and {result.plot_path}")


def register(app: typer.Typer) -> None:
    """Add the ``images`` group to the main app."""
    app.add_typer(images_app, name="images")
