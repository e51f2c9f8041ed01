"""Image datasets of the paper's Section 4.1 (MNIST, Fashion-MNIST, SVHN, CelebA).

The preprocessing follows docs/protocols.md §5: MNIST and Fashion-MNIST are resized from 28x28 to 32x32
(one channel), SVHN is 32x32x3 as stored, CelebA is centre-cropped to 140x140 and resized to 64x64.

MNIST and Fashion-MNIST are read from their IDX files (gzipped or not) with a small reader written
here, so they need nothing beyond numpy and torch. Where the files are looked for, in order:

1. the directory given with ``--data`` (``data_dir``);
2. ``$LSBO_SHARED_DATA/<name>`` (the shared data directory; it holds the MNIST *test* split);
3. the Debian package locations (``apt-get install dataset-fashion-mnist`` puts Fashion-MNIST in
   ``/usr/share/datasets/fashion-mnist``).

SVHN and CelebA go through torchvision's dataset classes (the optional extra ``lsbo[images]``);
they are never downloaded by this module. A dataset that cannot be found raises a
:class:`~lsbo.errors.DataError` that names the missing files and the ``--data`` flag.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lsbo.errors import DataError
from lsbo.settings import shared_data_dir

SPLITS = ("train", "test")

# IDX element types (the third byte of the magic number) and their big-endian numpy dtypes.
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


@dataclass(frozen=True)
class ImageDatasetSpec:
    """What the paper (docs/protocols.md §5) fixes for one dataset."""

    name: str
    channels: int
    image_size: int
    n_classes: int | None  # None: no class labels (CelebA); clustering accuracy is not defined
    source: str  # "idx" or "torchvision"
    debian_dirs: tuple[str, ...] = ()


DATASETS: dict[str, ImageDatasetSpec] = {
    "mnist": ImageDatasetSpec("mnist", 1, 32, 10, "idx", ("/usr/share/datasets/mnist",)),
    "fashion-mnist": ImageDatasetSpec(
        "fashion-mnist", 1, 32, 10, "idx", ("/usr/share/datasets/fashion-mnist",)
    ),
    "svhn": ImageDatasetSpec("svhn", 3, 32, 10, "torchvision"),
    "celeba": ImageDatasetSpec("celeba", 3, 64, None, "torchvision"),
}

# File stems of the IDX datasets, per split (images, labels); a ".gz" suffix is accepted too.
IDX_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass
class ImageSplit:
    """One split of a dataset, preprocessed to the paper's size.

    ``images`` is a uint8 tensor (N, C, H, W) (8-bit pixels keep 60k images in 60 MB; models see
    them as floats in [0, 1] through :func:`to_float`); ``labels`` an int64 tensor (N,) or None.
    """

    name: str
    split: str
    images: torch.Tensor
    labels: torch.Tensor | None
    origin: str

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.images.shape[-1])


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> float32 in [0, 1] (floats are returned unchanged)."""
    if images.dtype == torch.uint8:
        return images.float().div_(255.0)
    return images.float()


def dataset_spec(name: str) -> ImageDatasetSpec:
    """The spec of a dataset by name (``mnist``, ``fashion-mnist``, ``svhn``, ``celeba``)."""
    key = name.strip().lower().replace("_", "-")
    if key == "fashion":
        key = "fashion-mnist"
    if key not in DATASETS:
        raise DataError(f"unknown image dataset {name!r}: expected one of {', '.join(DATASETS)}")
    return DATASETS[key]


# --------------------------------------------------------------------------------------------------
# IDX files
# --------------------------------------------------------------------------------------------------


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (optionally gzipped) into a numpy array of its stored shape.

    The format: two zero bytes, a type byte, a dimension count, then one big-endian uint32 per
    dimension and the data. Anything inconsistent (bad magic, truncated data) is a DataError.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise DataError(f"IDX file not found: {path}") from None
    except (OSError, EOFError) as err:
        raise DataError(f"cannot read IDX file {path}: {err}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path} is not an IDX file (bad magic number {raw[:4].hex() or 'empty'})")
    dtype = _IDX_DTYPES[raw[2]]
    n_dims = raw[3]
    header_end = 4 + 4 * n_dims
    if len(raw) < header_end:
        raise DataError(f"{path}: IDX header truncated ({len(raw)} bytes)")
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4", count=n_dims, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header_end != expected:
        raise DataError(
            f"{path}: IDX data has {len(raw) - header_end} bytes, the header {shape} needs {expected} (truncated or corrupt)"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header_end).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write an array as an IDX file (gzipped when the name ends in .gz); the inverse of read_idx."""
    path = Path(path)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_DTYPES.items()}
    native = np.ascontiguousarray(array)
    dtype = native.dtype.newbyteorder("=")
    if dtype not in codes:
        raise DataError(f"cannot write {native.dtype} arrays as IDX (supported: uint8, int8, int16, int32, float32, float64)")
    big_endian = native.astype(_IDX_DTYPES[codes[dtype]])
    header = bytes([0, 0, codes[dtype], native.ndim]) + np.asarray(native.shape, dtype=">u4").tobytes()
    payload = header + big_endian.tobytes()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as handle:
        handle.write(payload)
    return path


def _find_idx_file(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def candidate_dirs(spec: ImageDatasetSpec, data_dir: str | Path | None) -> list[Path]:
    """Directories searched for a dataset, in order (only ``data_dir`` when the user gave one)."""
    if data_dir is not None:
        return [Path(data_dir).expanduser()]
    dirs = [shared_data_dir() / spec.name]
    dirs.extend(Path(d) for d in spec.debian_dirs)
    return dirs


def _missing_message(spec: ImageDatasetSpec, split: str, searched: list[Path], data_dir: str | Path | None) -> str:
    stems = IDX_FILES[split]
    where = ", ".join(str(d) for d in searched)
    hint = "pass the directory holding them as data_dir"
    if data_dir is None and spec.name == "fashion-mnist":
        hint += " (or: apt-get install dataset-fashion-mnist)"
    return f"{spec.name} {split} split not found: need {stems[0]}[.gz] and {stems[1]}[.gz] in one of {where}; {hint}"


def locate_idx_split(spec: ImageDatasetSpec, split: str, data_dir: str | Path | None = None) -> tuple[Path, Path]:
    """The (images, labels) IDX files of one split, or a DataError naming the files and ``data_dir``."""
    searched = candidate_dirs(spec, data_dir)
    image_stem, label_stem = IDX_FILES[split]
    for directory in searched:
        images = _find_idx_file(directory, image_stem)
        labels = _find_idx_file(directory, label_stem)
        if images is not None and labels is not None:
            return images, labels
    raise DataError(_missing_message(spec, split, searched, data_dir), parameter=("data_dir",))


def resize_images(images: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear resize of a uint8 batch (N, C, H, W) to (N, C, size, size), kept as uint8."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    out = []
    for chunk in images.split(4096):  # bounded memory for the float copy
        resized = F.interpolate(chunk.float(), size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        out.append(resized.round_().clamp_(0, 255).to(torch.uint8))
    return torch.cat(out) if out else images.new_zeros((0, images.shape[1], size, size))


def center_crop_resize(images: torch.Tensor, crop: int, size: int) -> torch.Tensor:
    """Centre crop to ``crop`` x ``crop`` then resize to ``size`` (CelebA: 140 -> 64, docs/protocols.md §5)."""
    height, width = images.shape[-2:]
    if crop > min(height, width):
        raise DataError(f"cannot centre-crop {height}x{width} images to {crop}x{crop}")
    top = (height - crop) // 2
    left = (width - crop) // 2
    return resize_images(images[..., top : top + crop, left : left + crop], size)


def load_idx_split(spec: ImageDatasetSpec, split: str, data_dir: str | Path | None, limit: int | None) -> ImageSplit:
    image_path, label_path = locate_idx_split(spec, split, data_dir)
    images = read_idx(image_path)
    labels = read_idx(label_path)
    if images.ndim != 3:
        raise DataError(f"{image_path}: expected an (N, H, W) image array, found shape {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise DataError(f"{label_path}: {labels.shape[0] if labels.ndim else 0} labels for {images.shape[0]} images in {image_path}")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    tensor = torch.from_numpy(np.ascontiguousarray(images, dtype=np.uint8)).unsqueeze(1)
    return ImageSplit(
        name=spec.name,
        split=split,
        images=resize_images(tensor, spec.image_size),
        labels=torch.from_numpy(labels.astype(np.int64)),
        origin=str(image_path.parent),
    )


# --------------------------------------------------------------------------------------------------
# torchvision datasets (optional extra)
# --------------------------------------------------------------------------------------------------


def _import_torchvision_datasets(spec: ImageDatasetSpec):
    try:
        import torchvision.datasets as tv_datasets
    except ImportError:
        raise DataError(
            f"the {spec.name} dataset needs torchvision, which is not installed: pip install 'lsbo[images]'"
        ) from None
    return tv_datasets


def load_torchvision_split(spec: ImageDatasetSpec, split: str, data_dir: str | Path | None, limit: int | None) -> ImageSplit:
    """SVHN / CelebA through torchvision (never downloading): uint8 tensors at the paper's size."""
    tv_datasets = _import_torchvision_datasets(spec)
    if data_dir is None:
        root = shared_data_dir() / spec.name
    else:
        root = Path(data_dir).expanduser()
    try:
        if spec.name == "svhn":
            dataset = tv_datasets.SVHN(str(root), split=split, download=False)
        else:
            dataset = tv_datasets.CelebA(str(root), split="valid" if split == "val" else split, target_type="attr", download=False)
    except (RuntimeError, FileNotFoundError, OSError) as err:
        expected = (
            f"{split}_32x32.mat" if spec.name == "svhn" else "celeba/img_align_celeba/ and celeba/list_eval_partition.txt"
        )
        raise DataError(f"{spec.name} {split} split not found under {root} (need {expected}; torchvision said: {err}); pass the directory as data_dir",
                        parameter=("data_dir",)) from None
    count = len(dataset) if limit is None else min(limit, len(dataset))
    if spec.name == "svhn":
        # The SVHN class keeps the whole split as one uint8 array (N, 3, 32, 32) and labels.
        images = torch.from_numpy(np.ascontiguousarray(dataset.data[:count]))
        labels = torch.as_tensor(np.asarray(dataset.labels[:count]), dtype=torch.int64)
        return ImageSplit(spec.name, split, images, labels, str(root))
    batches = []
    for start in range(0, count, 1024):
        stop = min(count, start + 1024)
        pictures = [np.asarray(dataset[i][0].convert("RGB"), dtype=np.uint8) for i in range(start, stop)]
        chunk = torch.from_numpy(np.stack(pictures)).permute(0, 3, 1, 2).contiguous()
        batches.append(center_crop_resize(chunk, 140, spec.image_size))
    images = torch.cat(batches) if batches else torch.zeros((0, 3, spec.image_size, spec.image_size), dtype=torch.uint8)
    return ImageSplit(spec.name, split, images, None, str(root))


def load_image_split(name: str, split: str = "train", data_dir: str | Path | None = None, limit: int | None = None) -> ImageSplit:
    """Load one split of a dataset, preprocessed as in docs/protocols.md §5.

    ``limit`` keeps the first ``limit`` images (the files' order), for quick runs.
    """
    spec = dataset_spec(name)
    if split not in SPLITS:
        raise DataError(f"split {split!r}: expected one of {', '.join(SPLITS)}")
    if limit is not None and limit <= 0:
        raise DataError(f"limit must be positive, got {limit}", parameter="limit")
    if spec.source == "idx":
        return load_idx_split(spec, split, data_dir, limit)
    return load_torchvision_split(spec, split, data_dir, limit)


class ImageTensorDataset(torch.utils.data.Dataset):
    """(image float in [0, 1], label) pairs over an :class:`ImageSplit`; label -1 when unlabelled."""

    def __init__(self, split: ImageSplit) -> None:
        self.images = split.images
        self.labels = split.labels if split.labels is not None else torch.full((len(split),), -1, dtype=torch.int64)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return to_float(self.images[index]), self.labels[index]
