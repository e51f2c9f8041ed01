"""Feature extractors for the Fréchet distance (paper Table 1).

The paper's FID uses Inception-v3 pool features (2048-d). Those weights cannot always be had (no
internet), so two extractors sit behind one tiny interface:

- :class:`InceptionFeatures` (name ``inception-v3``): the FID network of the maintained
  ``pytorch-fid`` package, used only when that package is installed *and* its weights file
  (``pt_inception-2015-12-05-6726825d.pth``) is on disk: given with ``--inception-weights PATH`` or
  already in torch hub's cache (``$TORCH_HOME/hub/checkpoints``). Nothing is downloaded.
- :class:`ClassifierFeatures` (name ``classifier:<dataset>@<fingerprint>``): the 128-d penultimate
  layer of a small CNN trained once on the dataset's training split and cached in
  ``cache_dir()/images/feature_extractor_<dataset>.pt``. The fingerprint identifies the training
  images, so numbers from classifiers trained on different data are never labelled alike.

The two kinds of numbers are not comparable with each other (nor with the paper's, for the
classifier); :func:`lsbo.images.metrics.fid_key` puts the extractor's name on every value.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lsbo.errors import ConfigError, DataError
from lsbo.images.data import ImageSplit, to_float
from lsbo.settings import cache_dir

logger = logging.getLogger(__name__)

INCEPTION_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
CLASSIFIER_FEATURES = 128
CLASSIFIER_WIDTHS = (16, 32, 64)


class FeatureExtractor(ABC):
    """Maps float images in [0, 1] (N, C, H, W) to feature vectors (N, F)."""

    name: str

    @abstractmethod
    def features(self, images: torch.Tensor) -> np.ndarray:
        """Features of a batch of images (any size; batched internally)."""


# --------------------------------------------------------------------------------------------------
# Inception-v3 (pytorch-fid), only from local weights
# --------------------------------------------------------------------------------------------------


def find_inception_weights(inception_weights: str | Path | None = None) -> Path | None:
    """The Inception FID weights file: ``inception_weights`` if given (must exist), else torch hub's cache, else None."""
    if inception_weights is not None:
        path = Path(inception_weights).expanduser()
        if not path.is_file():
            raise DataError(f"inception_weights {path}: file not found", parameter="inception_weights")
        return path
    cached = Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_WEIGHTS_NAME
    return cached if cached.is_file() else None


@contextlib.contextmanager
def _hub_dir_holding(weights: Path) -> Iterator[None]:
    """Point torch hub at a temporary directory where ``weights`` has the name pytorch-fid expects,
    so its loader finds the file locally and never reaches for the network."""
    previous = torch.hub.get_dir()
    with tempfile.TemporaryDirectory() as tmp:
        checkpoints = Path(tmp) / "checkpoints"
        checkpoints.mkdir()
        os.symlink(weights.resolve(), checkpoints / INCEPTION_WEIGHTS_NAME)
        torch.hub.set_dir(tmp)
        try:
            yield
        finally:
            torch.hub.set_dir(previous)


class InceptionFeatures(FeatureExtractor):
    """2048-d pool features of the FID Inception-v3 (pytorch-fid), from a local weights file."""

    name = "inception-v3"

    def __init__(self, weights: Path, device: torch.device, batch_size: int = 100) -> None:
        try:
            from pytorch_fid.inception import InceptionV3
        except ImportError:
            raise ConfigError(
                "Inception FID needs the pytorch-fid package (pip install pytorch-fid, which needs torchvision)"
            ) from None
        try:
            with _hub_dir_holding(weights):
                block = InceptionV3.BLOCK_INDEX_BY_DIM[2048]
                self.network = InceptionV3([block], resize_input=True, normalize_input=True).to(device).eval()
        except Exception as err:  # torch.load of a damaged file raises RuntimeError, UnpicklingError, EOFError...
            reason = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
            raise DataError(
                f"Inception weights {weights} cannot be loaded ({reason}); provide an intact "
                f"{INCEPTION_WEIGHTS_NAME} as inception_weights", parameter=("inception_weights",)
            ) from None
        self.device = device
        self.batch_size = batch_size

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> np.ndarray:
        out = []
        for chunk in images.split(self.batch_size):
            chunk = to_float(chunk).to(self.device)
            if chunk.shape[1] == 1:  # grey images: the network wants three channels
                chunk = chunk.expand(-1, 3, -1, -1)
            out.append(self.network(chunk)[0].flatten(1).cpu().numpy())
        return np.concatenate(out).astype(np.float64)


# --------------------------------------------------------------------------------------------------
# Fallback: a small classifier trained once per dataset
# --------------------------------------------------------------------------------------------------


class SmallClassifier(nn.Module):
    """Three conv/BN/ReLU/max-pool blocks (16, 32, 64 channels), a 128-d feature layer, logits.

    Deliberately small: it is trained once per dataset on a CPU (about 2.5 MFLOP per 32x32 image),
    and for FID it only needs features that separate the dataset's classes well."""

    def __init__(self, channels: int, n_classes: int) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        in_channels = channels
        for width in CLASSIFIER_WIDTHS:
            blocks += [nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            in_channels = width
        self.body = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(4), nn.Flatten())
        self.feature_layer = nn.Sequential(nn.Linear(CLASSIFIER_WIDTHS[-1] * 16, CLASSIFIER_FEATURES), nn.ReLU(inplace=True))
        self.classify = nn.Linear(CLASSIFIER_FEATURES, n_classes)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        return self.feature_layer(self.body(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(images))


def dataset_fingerprint(split: ImageSplit) -> str:
    """A short hash of a split's pixels and labels (identifies what a classifier was trained on)."""
    digest = hashlib.sha256()
    digest.update(str(tuple(split.images.shape)).encode())
    digest.update(split.images.contiguous().numpy().tobytes())
    if split.labels is not None:
        digest.update(split.labels.numpy().astype(np.int64).tobytes())
    return digest.hexdigest()[:12]


def train_classifier(
    split: ImageSplit,
    device: torch.device,
    epochs: int = 3,
    batch_size: int = 128,
    seed: int = 0,
    progress: bool = True,
) -> SmallClassifier:
    """Fit :class:`SmallClassifier` on a labelled training split (Adam, cross-entropy)."""
    if split.labels is None:
        raise ConfigError(
            f"{split.name} has no class labels, so the classifier feature extractor cannot be trained; "
            "give Inception weights as inception_weights", parameter=("inception_weights",)
        )
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    n_classes = int(split.labels.max()) + 1
    model = SmallClassifier(split.channels, n_classes).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = len(split)
    steps_per_epoch = (n + batch_size - 1) // batch_size
    bar = _progress_bar(progress)
    with bar:
        task = bar.add_task(f"training the {split.name} feature classifier", total=epochs * steps_per_epoch)
        for _ in range(epochs):
            model.train()
            order = torch.randperm(n, generator=generator)
            for start in range(0, n, batch_size):
                index = order[start : start + batch_size]
                images = to_float(split.images[index]).to(device)
                labels = split.labels[index].to(device)
                loss = F.cross_entropy(model(images), labels)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                bar.update(task, advance=1)
    return model.eval()


@torch.no_grad()
def classifier_accuracy(model: SmallClassifier, split: ImageSplit, device: torch.device, batch_size: int = 500) -> float:
    """Fraction of a labelled split the classifier gets right (reported with the extractor)."""
    if split.labels is None or len(split) == 0:
        return float("nan")
    model.eval()
    correct = 0
    for start in range(0, len(split), batch_size):
        images = to_float(split.images[start : start + batch_size]).to(device)
        predicted = model(images).argmax(dim=1).cpu()
        correct += int((predicted == split.labels[start : start + batch_size]).sum())
    return correct / len(split)


class ClassifierFeatures(FeatureExtractor):
    """128-d features of a :class:`SmallClassifier` trained on one dataset's training split."""

    def __init__(self, model: SmallClassifier, dataset: str, fingerprint: str, device: torch.device, test_accuracy: float) -> None:
        self.model = model.to(device).eval()
        self.device = device
        self.dataset = dataset
        self.fingerprint = fingerprint
        self.test_accuracy = test_accuracy
        self.name = f"classifier:{dataset}@{fingerprint}"

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> np.ndarray:
        out = [self.model.embed(to_float(chunk).to(self.device)).cpu().numpy() for chunk in images.split(500)]
        if not out:
            return np.zeros((0, CLASSIFIER_FEATURES))
        return np.concatenate(out).astype(np.float64)


def classifier_cache_path(dataset: str) -> Path:
    return cache_dir() / "images" / f"feature_extractor_{dataset}.pt"


def load_or_train_classifier(
    train_split: ImageSplit,
    test_split: ImageSplit | None,
    device: torch.device,
    epochs: int = 3,
    progress: bool = True,
) -> ClassifierFeatures:
    """The cached classifier of this training split, trained (and cached atomically) on first use."""
    from lsbo.checkpoint import load_checkpoint, save_checkpoint

    fingerprint = dataset_fingerprint(train_split)
    path = classifier_cache_path(train_split.name)
    if path.is_file():
        try:
            payload = load_checkpoint(path, map_location="cpu")
        except Exception as err:  # a corrupt cache file is rebuilt, never trusted
            logger.info(f"ignoring the unreadable feature-extractor cache {path}: {err}")
            payload = {}
        same_network = payload.get("widths") == list(CLASSIFIER_WIDTHS)
        if same_network and payload.get("fingerprint") == fingerprint and payload.get("epochs") == epochs:
            model = SmallClassifier(int(payload["channels"]), int(payload["n_classes"]))
            model.load_state_dict(payload["model"])
            return ClassifierFeatures(model, train_split.name, fingerprint, device, float(payload["test_accuracy"]))
    logger.info(f"training the fallback feature classifier for {train_split.name} on {len(train_split)} images (cached in {path})")
    model = train_classifier(train_split, device, epochs=epochs, progress=progress)
    accuracy = classifier_accuracy(model, test_split, device) if test_split is not None else float("nan")
    save_checkpoint(
        path,
        {
            "model": {k: v.cpu() for k, v in model.state_dict().items()},
            "fingerprint": fingerprint,
            "epochs": epochs,
            "widths": list(CLASSIFIER_WIDTHS),
            "channels": train_split.channels,
            "n_classes": int(model.classify.out_features),
            "n_train": len(train_split),
            "test_accuracy": accuracy,
        },
    )
    return ClassifierFeatures(model, train_split.name, fingerprint, device, accuracy)


def build_feature_extractor(
    train_split: ImageSplit,
    test_split: ImageSplit | None,
    device: torch.device,
    inception_weights: str | Path | None = None,
    classifier_epochs: int = 3,
    progress: bool = True,
) -> FeatureExtractor:
    """Inception-v3 when pytorch-fid and its weights are available locally, else the cached classifier."""
    weights = find_inception_weights(inception_weights)
    if weights is not None:
        try:
            return InceptionFeatures(weights, device)
        except (ConfigError, DataError) as err:
            if inception_weights is not None:
                raise  # asked for explicitly: say why it cannot be used
            logger.info(f"not using Inception-v3 features: {err}")
    return load_or_train_classifier(train_split, test_split, device, epochs=classifier_epochs, progress=progress)


def _progress_bar(enabled: bool):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), disable=not enabled,
    )
