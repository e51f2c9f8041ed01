"""Atomic checkpoint files, safe loading, and the one-line errors for corrupt or mismatched files."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
import torch

from lsbo.checkpoint import (
    atomic_write_text,
    check_config,
    check_grammar,
    load_checkpoint,
    package_versions,
    save_checkpoint,
)
from lsbo.errors import CheckpointError


def test_round_trip_records_versions(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "checkpoint.pt", {"weights": torch.arange(3.0), "config": {"a": [1, 2]}})
    payload = load_checkpoint(tmp_path)  # a directory resolves to its checkpoint.pt
    assert torch.equal(payload["weights"], torch.arange(3.0)) and payload["config"] == {"a": [1, 2]}
    assert payload["versions"]["torch"] == importlib.metadata.version("torch")
    assert set(package_versions()) >= {"python", "torch", "numpy", "lsbo"}
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_a_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "checkpoint.pt", {"step": 1})

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    with pytest.raises(Exception):
        save_checkpoint(path, {"step": 2, "bad": Unpicklable()})
    assert load_checkpoint(path)["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_files_give_one_line_errors(tmp_path: Path, damage: str) -> None:
    path = save_checkpoint(tmp_path / "checkpoint.pt", {"weights": torch.randn(100, 100)})
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"not a checkpoint at all" * 10, "empty": b""}[damage])
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f"checkpoint {path} is corrupt or truncated: ") and "\n" not in message


def test_a_pickled_object_is_refused_not_executed(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    torch.save({"format_version": 1, "object": Path("/etc")}, path)  # arbitrary class: not weights-only
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(path)


def test_missing_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no checkpoint at") as neutral:
        load_checkpoint(tmp_path / "nothing-here")
    assert "train a model with" not in str(neutral.value)  # the reader of every kind of checkpoint names no command
    with pytest.raises(CheckpointError, match=r"train a model with `lsbo images train \.\.\. --out "):
        load_checkpoint(tmp_path / "nothing-here", train_command="lsbo images train")


def test_missing_model_directories_suggest_their_own_training_command(tmp_path: Path) -> None:
    from lsbo.images.training import load_image_model
    from lsbo.models import load_model

    with pytest.raises(CheckpointError, match="`lsbo images train "):
        load_image_model(tmp_path / "no-image-model", device="cpu")
    with pytest.raises(CheckpointError, match="`lsbo train "):
        load_model(tmp_path / "no-sequence-model", device="cpu")


def test_grammar_and_config_checks(tmp_path: Path) -> None:
    payload = {"grammar_name": "expr", "grammar_text": "S -> 'x'\n"}
    check_grammar(payload, "expr", "S -> 'x'   \r\n", tmp_path)  # whitespace differences are not a mismatch
    with pytest.raises(CheckpointError, match="trained with grammar 'expr', which differs from the grammar 'mine'"):
        check_grammar(payload, "mine", "S -> 'y'\n", tmp_path)
    check_config({"latent_dim": 4}, {"latent_dim": 4}, tmp_path)
    with pytest.raises(CheckpointError, match="latent_dim=4 \\(now 8\\)"):
        check_config({"latent_dim": 4}, {"latent_dim": 8}, tmp_path)


def test_atomic_text(tmp_path: Path) -> None:
    atomic_write_text(tmp_path / "a.csv", "x\n")
    atomic_write_text(tmp_path / "a.csv", "y\n")
    assert (tmp_path / "a.csv").read_text() == "y\n"


@pytest.mark.parametrize("version", ["1", 1.5, None, True])
def test_format_version_that_is_not_an_integer_is_a_one_line_error(tmp_path: Path, version: object) -> None:
    path = tmp_path / "checkpoint.pt"
    torch.save({"format_version": version, "model": {}}, path)
    with pytest.raises(CheckpointError, match="format_version is .*not an integer"):
        load_checkpoint(path)


def test_newer_format_version_asks_for_an_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    torch.save({"format_version": 10**6, "model": {}}, path)
    with pytest.raises(CheckpointError, match="newer than this lsbo"):
        load_checkpoint(path)
