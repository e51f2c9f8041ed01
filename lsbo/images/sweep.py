"""Sweeps of the paper's Figures 4 (right) and 5 for the gmm regularizer.

- ``components``: the number K of prior components (Figure 5: the sample FID improves as K grows);
- ``distance``: the smallest distance between the prior means (Figure 4, right: larger distances
  raise the clustering accuracy and worsen the sample FID).

One model directory per value (``<parameter>_<value>/``); a value whose ``metrics.json`` exists is not
recomputed, so an interrupted sweep continues where it stopped. ``sweep.csv`` is rewritten after each
value and ``sweep.png`` plots FID and clustering accuracy against the value.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsbo.errors import ConfigError
from lsbo.images.evaluate import METRICS_JSON, evaluate_image_model, fid_values, load_metrics
from lsbo.images.figures import plot_sweep
from lsbo.images.training import train_image_model

logger = logging.getLogger(__name__)

SWEEP_PARAMETERS = {"components": "number of prior components K", "distance": "minimum distance between prior means"}


@dataclass
class SweepResult:
    rows: list[dict[str, Any]]
    csv_path: Path
    plot_path: Path


def _format_value(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _overrides(parameter: str, value: float) -> dict[str, Any]:
    if parameter == "components":
        if value < 1 or not float(value).is_integer():
            raise ConfigError(f"sweep components: {value} is not a positive integer")
        return {"n_components": int(value)}
    if value <= 0:
        raise ConfigError(f"sweep distance: {value} is not positive")
    return {"regularizer_options": {"min_distance": float(value)}}


def run_sweep(
    parameter: str,
    dataset: str,
    out_dir: str | Path,
    values: Sequence[float],
    *,
    data_dir: str | Path | None = None,
    preset: str = "cpu",
    epochs: int | None = None,
    limit: int | None = None,
    widths: tuple[int, ...] | None = None,
    learning_rate: float | None = None,
    n_samples: int = 10000,
    inception_weights: str | Path | None = None,
    classifier_epochs: int = 2,
    seed: int = 0,
    device: str = "auto",
    progress: bool = True,
) -> SweepResult:
    """Train and evaluate one gmm model per value; returns the table and writes csv + plot."""
    if parameter not in SWEEP_PARAMETERS:
        raise ConfigError(f"unknown sweep {parameter!r}: expected one of {', '.join(SWEEP_PARAMETERS)}")
    for value in values:  # every value checked before the first model is trained, not when its turn comes
        _overrides(parameter, value)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    csv_path, plot_path = out_dir / "sweep.csv", out_dir / "sweep.png"
    fid_label = "FID"
    for value in values:
        model_dir = out_dir / f"{parameter}_{_format_value(value)}"
        if not (model_dir / METRICS_JSON).is_file():
            logger.info(f"sweep {parameter}={_format_value(value)}: training into {model_dir}")
            train_image_model(
                dataset, model_dir, data_dir=data_dir, preset=preset, regularizer="gmm", epochs=epochs, limit=limit,
                device=device, resume=(model_dir / "checkpoint.pt").exists(), seed=seed, progress=progress,
                widths=widths, learning_rate=learning_rate, **_overrides(parameter, value),
            )
            evaluate_image_model(
                model_dir, data_dir=data_dir, device=device, n_samples=n_samples, inception_weights=inception_weights,
                classifier_epochs=classifier_epochs, seed=seed, progress=progress,
            )
        metrics = load_metrics(model_dir)
        fid_label = f"fid[{metrics['feature_extractor']['name']}]"
        rows.append({"parameter": parameter, "value": _format_value(value), "extractor": metrics["feature_extractor"]["name"], **fid_values(metrics), "clustering_accuracy": metrics.get("clustering_accuracy")})
        _write_csv(csv_path, rows)
    extractors = {row["extractor"] for row in rows}
    if len(extractors) > 1:
        raise ConfigError(f"sweep {out_dir} mixes FIDs from different feature extractors ({', '.join(sorted(extractors))}); rerun in a new out_dir",
                          parameter=("out_dir",))
    plot_sweep(
        [float(row["value"]) for row in rows], [row["samples"] for row in rows], [row["clustering_accuracy"] for row in rows],
        x_label=SWEEP_PARAMETERS[parameter], fid_label=fid_label, path=plot_path,
    )
    return SweepResult(rows, csv_path, plot_path)


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    from lsbo.persistence import atomic_write_text

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())
