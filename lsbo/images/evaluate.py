"""Evaluation of a trained image model: the four FIDs of Table 1 and the clustering accuracy of
Section 4.2 (docs/protocols.md §5), written to ``metrics.json`` in the model directory.

- ``samples`` (Samp.): decoded prior samples vs test images;
- ``gmm`` (GMM): decoded samples of a Gaussian mixture fitted to the training latents after training;
- ``reconstructions`` (Rec.): test reconstructions vs test images;
- ``interpolations`` (Inter.): decoded midpoints of random test pairs vs test images;
- ``clustering_accuracy``: Hungarian-matched ``prior.assign(z)`` of the test codes vs the labels
  (only for a prior of more than one component; a single Gaussian puts every image in one cluster).

Every FID is stored under ``fid[<feature extractor>]`` (see :mod:`lsbo.images.features`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from lsbo.errors import CheckpointError
from lsbo.images.data import ImageSplit, load_image_split, to_float
from lsbo.images.features import ClassifierFeatures, FeatureExtractor, build_feature_extractor
from lsbo.images.metrics import FID_KINDS, clustering_accuracy, feature_statistics, fid_key, frechet_distance
from lsbo.images.models import ImageAutoencoder
from lsbo.images.training import LoadedImageModel, load_image_model
from lsbo.paper import PAPER_CLUSTERING, PAPER_FID, PAPER_MODEL_NAMES

METRICS_JSON = "metrics.json"


def paper_fid(dataset: str, regularizer: str) -> dict[str, float] | None:
    """The paper's Table 1 row for this dataset and regularizer (Inception FID), if it has one."""
    row = PAPER_FID.get((dataset, PAPER_MODEL_NAMES.get(regularizer, "")))
    return dict(zip(FID_KINDS, row)) if row is not None else None


def _generated_images(
    model: ImageAutoencoder, train_codes: torch.Tensor, test: torch.Tensor, n: int, generator: torch.Generator, n_components: int
) -> dict[str, torch.Tensor]:
    """The four image sets of Table 1, each (n, C, H, W) on the CPU."""
    regularizer = model.regularizer
    device = model.device
    # The prior draws on its own device, so it gets a generator there (seeded like the CPU one).
    prior_device = regularizer.prior.means.device
    prior_generator = torch.Generator(device=prior_device).manual_seed(int(generator.initial_seed()))
    prior_z = regularizer.sample(n, generator=prior_generator)
    ex_post = regularizer.fit_ex_post(train_codes.cpu(), n_components)
    gmm_z = ex_post.sample(n, generator=generator)
    test_codes = model.encode(test)
    partner = torch.randperm(n, generator=generator)
    midpoints = 0.5 * (test_codes + test_codes[partner.to(test_codes.device)])
    return {
        "samples": model.decode(prior_z.to(device)).cpu(),
        "gmm": model.decode(gmm_z.to(device)).cpu(),
        "reconstructions": model.decode(test_codes).cpu(),
        "interpolations": model.decode(midpoints).cpu(),
    }


def compute_fids(extractor: FeatureExtractor, real: torch.Tensor, generated: dict[str, torch.Tensor]) -> dict[str, float]:
    """FID of each generated set against the real images, on one extractor's features."""
    real_stats = feature_statistics(extractor.features(real))
    return {kind: frechet_distance(*real_stats, *feature_statistics(extractor.features(images))) for kind, images in generated.items()}


def prior_clustering_accuracy(model: ImageAutoencoder, test: ImageSplit) -> float | None:
    """Hungarian accuracy of ``prior.assign`` on the test codes; None without labels or with K = 1."""
    prior = model.regularizer.prior
    if test.labels is None or prior.n_components < 2:
        return None
    codes = model.encode(to_float(test.images))
    assignments = prior.assign(codes.to(prior.means.device)).cpu().numpy()
    return clustering_accuracy(assignments, test.labels.numpy())


def evaluate_image_model(
    model_dir: str | Path,
    *,
    data_dir: str | Path | None = None,
    device: str = "auto",
    n_samples: int = 10000,
    inception_weights: str | Path | None = None,
    classifier_epochs: int = 2,
    seed: int = 0,
    progress: bool = True,
    loaded: LoadedImageModel | None = None,
) -> dict[str, Any]:
    """Compute the metrics of the module docstring and write ``metrics.json`` into ``model_dir``."""
    loaded = loaded or load_image_model(model_dir, device)
    model, config, data = loaded.model, loaded.config, loaded.data
    source = data_dir if data_dir is not None else data.get("data_dir") or data.get("origin")
    test = load_image_split(config.dataset, "test", source)
    # The feature classifier always learns from the whole training split, so that models trained on
    # different --limit subsets are measured with the same extractor.
    full_train = load_image_split(config.dataset, "train", source)
    extractor = build_feature_extractor(
        full_train, test, model.device, inception_weights=inception_weights, classifier_epochs=classifier_epochs,
        progress=progress,
    )
    model_train = load_image_split(config.dataset, "train", source, data.get("limit"))
    n = min(n_samples, len(test))
    generator = torch.Generator().manual_seed(seed)
    real = to_float(test.images[:n])
    train_codes = model.encode(to_float(model_train.images))
    generated = _generated_images(model, train_codes, real, n, generator, config.n_components)
    fids = compute_fids(extractor, real, generated)
    mse = float(torch.mean((generated["reconstructions"] - real) ** 2))
    metrics: dict[str, Any] = {
        "dataset": config.dataset,
        "regularizer": config.regularizer,
        "regularizer_options": config.regularizer_options,
        "preset": config.preset,
        "epochs_trained": len(loaded.history),
        "n_train": data.get("n_train", len(model_train)),  # the images trained on, as config.json says
        "n_ex_post_codes": len(model_train),  # training and validation images the ex-post GMM is fitted to
        "n_fid_images": n,
        "feature_extractor": {
            "name": extractor.name,
            "kind": "classifier" if isinstance(extractor, ClassifierFeatures) else "inception-v3",
            "classifier_test_accuracy": getattr(extractor, "test_accuracy", None),
        },
        fid_key(extractor.name): fids,
        "test_reconstruction_mse": mse,
        "clustering_accuracy": prior_clustering_accuracy(model, test),
        "seed": seed,
    }
    from lsbo.persistence import atomic_write_text

    # json.dumps, not write_json: a metric can be NaN (e.g. no sample decoded), written as NaN as before
    atomic_write_text(Path(loaded.model_dir) / METRICS_JSON, json.dumps(metrics, indent=2) + "\n")
    return metrics


def metrics_table_rows(metrics: dict[str, Any]) -> tuple[str, list[list[str]]]:
    """(header note, rows [metric, ours, paper]) for printing beside the paper's numbers."""
    name = metrics["feature_extractor"]["name"]
    fids = metrics[fid_key(name)]
    paper = paper_fid(metrics["dataset"], metrics["regularizer"])
    labels = {"samples": "FID Samp.", "gmm": "FID GMM", "reconstructions": "FID Rec.", "interpolations": "FID Inter."}
    rows = [[labels[kind], f"{fids[kind]:.2f}", f"{paper[kind]:.2f}" if paper else "-"] for kind in FID_KINDS]
    accuracy = metrics.get("clustering_accuracy")
    paper_accuracy = PAPER_CLUSTERING.get(metrics["dataset"]) if metrics["regularizer"] == "gmm" else None
    rows.append(
        [
            "clustering accuracy %",
            f"{100 * accuracy:.2f}" if accuracy is not None else "n/a (one-component prior)",
            f"{paper_accuracy:.2f}" if paper_accuracy is not None else "-",
        ]
    )
    note = f"this model's FIDs are {fid_key(name)}; " + (
        "the paper's use Inception-v3 features, so the two columns are not comparable"
        if metrics["feature_extractor"]["kind"] != "inception-v3"
        else "the paper's use the same Inception-v3 features (sample sizes and training may differ)"
    )
    return note, rows


def load_metrics(model_dir: str | Path) -> dict[str, Any]:
    """The ``metrics.json`` of an evaluated model directory; a damaged one gets a one-line error naming it."""
    path = Path(model_dir) / METRICS_JSON
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
        metrics["feature_extractor"]["name"]
        return metrics
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"{path} is unreadable or not image metrics ({type(err).__name__}); delete it to re-evaluate") from None


def fid_values(metrics: dict[str, Any]) -> dict[str, float]:
    """The four FIDs of a metrics dict, whatever extractor computed them."""
    return dict(metrics[fid_key(metrics["feature_extractor"]["name"])])
