"""Feature extractors for FID: a damaged Inception weights file is a one-line error, not a traceback."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
import torch

from lsbo.errors import DataError
from lsbo.images.features import INCEPTION_WEIGHTS_NAME, InceptionFeatures, find_inception_weights


class _InceptionLoadingWeights(torch.nn.Module):
    """Stands in for pytorch-fid's InceptionV3: like it, reads the FID weights from torch hub's checkpoint dir."""

    BLOCK_INDEX_BY_DIM = {2048: 3}

    def __init__(self, blocks: list[int], resize_input: bool, normalize_input: bool) -> None:
        super().__init__()
        path = Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_WEIGHTS_NAME
        torch.load(path, map_location="cpu", weights_only=True)


def test_damaged_inception_weights_name_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("pytorch_fid.inception")
    fake.InceptionV3 = _InceptionLoadingWeights  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pytorch_fid", types.ModuleType("pytorch_fid"))
    monkeypatch.setitem(sys.modules, "pytorch_fid.inception", fake)
    weights = tmp_path / INCEPTION_WEIGHTS_NAME
    weights.write_bytes(b"PK\x03\x04 this is not a torch file")
    assert find_inception_weights(weights) == weights
    with pytest.raises(DataError, match=f"{INCEPTION_WEIGHTS_NAME} cannot be loaded .*; provide an intact .* as inception_weights$") as caught:
        InceptionFeatures(weights, torch.device("cpu"))
    assert "\n" not in str(caught.value)
    # an intact file is accepted by the same code path
    torch.save({"w": torch.zeros(1)}, weights)
    InceptionFeatures(weights, torch.device("cpu"))


def test_missing_inception_weights_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="^inception_weights .*nowhere.pth: file not found$"):
        find_inception_weights(tmp_path / "nowhere.pth")
