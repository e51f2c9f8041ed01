"""IDX reading on the real MNIST test split, resizing of docs/protocols.md §5, missing-data messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lsbo.errors import DataError
from lsbo.images.data import center_crop_resize, load_image_split, read_idx, resize_images, write_idx


def test_idx_reader_on_the_shared_mnist_test_split(mnist_test_files: tuple[Path, Path]) -> None:
    images, labels = read_idx(mnist_test_files[0]), read_idx(mnist_test_files[1])
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,)
    assert labels[:5].tolist() == [7, 2, 1, 0, 4]  # the well-known first MNIST test labels
    assert np.bincount(labels).size == 10 and np.bincount(labels).min() > 800
    assert images.max() == 255 and images.min() == 0


def test_idx_round_trip_for_several_dtypes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for dtype, name in [(np.uint8, "a.idx"), (np.int32, "b.idx.gz"), (np.float32, "c.idx")]:
        array = (rng.normal(size=(3, 4, 5)) * 50).astype(dtype)
        assert np.array_equal(read_idx(write_idx(tmp_path / name, array)), array)


def test_truncated_idx_file_is_a_clear_error(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "x-idx3-ubyte", np.zeros((4, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataError, match="truncated or corrupt"):
        read_idx(path)
    (tmp_path / "junk").write_bytes(b"hello world")
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(tmp_path / "junk")


def test_mnist_test_split_is_resized_to_32(shared_data: Path) -> None:
    split = load_image_split("mnist", "test", shared_data / "mnist", limit=50)
    assert split.images.shape == (50, 1, 32, 32) and split.images.dtype == torch.uint8
    assert split.labels is not None and split.labels[:3].tolist() == [7, 2, 1]


def test_resize_keeps_a_constant_image_constant_and_crop_centres() -> None:
    flat = torch.full((2, 1, 28, 28), 77, dtype=torch.uint8)
    assert torch.equal(resize_images(flat, 32), torch.full((2, 1, 32, 32), 77, dtype=torch.uint8))
    picture = torch.zeros((1, 3, 218, 178), dtype=torch.uint8)
    picture[..., 39:179, 19:159] = 200  # exactly the centre 140x140 window
    cropped = center_crop_resize(picture, 140, 64)
    assert cropped.shape == (1, 3, 64, 64) and int(cropped.min()) == 200


def test_missing_split_names_the_files_and_the_parameter(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_image_split("fashion-mnist", "train", tmp_path)
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message and "train-labels-idx1-ubyte" in message
    assert message.endswith("; pass the directory holding them as data_dir") and str(tmp_path) in message
    assert info.value.parameter == ("data_dir",)  # the command line says --data (tests/images/test_images_cli.py)


def test_torchvision_datasets_fail_clearly_without_torchvision() -> None:
    pytest.importorskip("torch")
    try:
        import torchvision  # noqa: F401
    except ImportError:
        with pytest.raises(DataError, match=r"lsbo\[images\]"):
            load_image_split("svhn", "train")
    else:
        with pytest.raises(DataError, match="--data"):
            load_image_split("svhn", "train", "/nonexistent-svhn-dir")
