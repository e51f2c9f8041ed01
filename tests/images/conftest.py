"""Small IDX datasets written by the tests from the shared MNIST test split (never downloaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsbo.images.data import read_idx, write_idx


@pytest.fixture(scope="session")
def mnist_test_files(shared_data: Path) -> tuple[Path, Path]:
    images = shared_data / "mnist" / "t10k-images-idx3-ubyte.gz"
    labels = shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz"
    if not images.is_file() or not labels.is_file():
        pytest.fail(f"shared MNIST test split not found in {shared_data / 'mnist'}")
    return images, labels


@pytest.fixture(scope="session")
def tiny_mnist_dir(tmp_path_factory: pytest.TempPathFactory, mnist_test_files: tuple[Path, Path]) -> Path:
    """A complete MNIST-format directory: the first 300 shared test images as the training split,
    the next 200 as the test split."""
    images, labels = read_idx(mnist_test_files[0]), read_idx(mnist_test_files[1])
    directory = tmp_path_factory.mktemp("tiny-mnist")
    write_idx(directory / "train-images-idx3-ubyte.gz", images[:300])
    write_idx(directory / "train-labels-idx1-ubyte.gz", labels[:300])
    write_idx(directory / "t10k-images-idx3-ubyte", images[300:500])  # one split uncompressed on purpose
    write_idx(directory / "t10k-labels-idx1-ubyte", labels[300:500])
    return directory
