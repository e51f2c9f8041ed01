"""Checkpoint files: atomic writes, safe loading, and validation against the grammar/config in use.

A checkpoint is one ``torch.save`` file holding only plain containers, strings, numbers and tensors,
so it is always read back with ``torch.load(weights_only=True)``: opening a checkpoint never runs code
from the file. It is written to a temporary file in the same directory, flushed and fsync'ed, then
moved over the old one (:mod:`lsbo.persistence`), so a run killed at any moment leaves either the
previous checkpoint or the new one, never half of each.
"""

from __future__ import annotations

import importlib.metadata
import platform
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from lsbo.errors import CheckpointError
from lsbo.persistence import PersistenceError, atomic_write_bytes, atomic_write_text, refuse_link  # noqa: F401  (re-exported)

CHECKPOINT_NAME = "checkpoint.pt"
#: The ``kind`` entry of an image model's checkpoint (lsbo images train); string models' have none.
IMAGE_MODEL_KIND = "images"
FORMAT_VERSION = 1

# Distributions whose versions are recorded in every checkpoint (what a reader needs to reproduce it).
_RECORDED_PACKAGES = ("lsbo", "torch", "numpy", "nltk", "rdkit", "botorch", "gpytorch")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a checkpoint depends on (``"absent"`` when not installed)."""
    versions = {"python": platform.python_version()}
    for name in _RECORDED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def checkpoint_path(model_dir: Path | str) -> Path:
    """The checkpoint file of a model directory (a path to a file is returned unchanged)."""
    path = Path(model_dir)
    return path if path.suffix == ".pt" else path / CHECKPOINT_NAME


def save_checkpoint(path: Path | str, payload: Mapping[str, Any]) -> Path:
    """Write ``payload`` (plus format version and package versions) atomically to ``path``."""
    path = Path(path)
    full = dict(payload)
    full.setdefault("format_version", FORMAT_VERSION)
    full.setdefault("versions", package_versions())
    atomic_write_bytes(path, lambda handle: torch.save(full, handle))
    return path


def load_checkpoint(
    path: Path | str, map_location: torch.device | str | None = "cpu", *, train_command: str | None = None
) -> dict[str, Any]:
    """Read a checkpoint safely (``weights_only=True``); a missing, corrupt or truncated file is a
    :class:`CheckpointError` with a one-line message naming the file.

    ``train_command`` (e.g. ``"lsbo train"`` or ``"lsbo images train"``) is the command the message
    for a missing checkpoint suggests; without it the message names no command, since this module
    reads checkpoints of every kind of model.
    """
    path = checkpoint_path(path)
    try:
        refuse_link(path, "checkpoint")
    except PersistenceError as err:
        raise CheckpointError(str(err)) from None
    if not path.is_file():
        if train_command:
            raise CheckpointError(f"no checkpoint at {path} (train a model with `{train_command} ... --out {path.parent}`)")
        raise CheckpointError(f"no checkpoint at {path}: {path.parent} does not hold a trained model")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises RuntimeError, UnpicklingError, EOFError, zip errors...
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated: {reason[:200]}") from None
    if not isinstance(payload, dict) or "format_version" not in payload:
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated: not an lsbo checkpoint")
    version = payload["format_version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise CheckpointError(f"checkpoint {path} is corrupt: format_version is {version!r}, not an integer")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format version {payload['format_version']}, newer than this lsbo "
            f"understands ({FORMAT_VERSION}); upgrade lsbo"
        )
    return payload


def require_keys(payload: Mapping[str, Any], keys: tuple[str, ...], path: Path | str) -> None:
    """Fail clearly when a checkpoint lacks entries the caller needs (e.g. a file of another kind)."""
    missing = [key for key in keys if key not in payload]
    if missing:
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated: missing {', '.join(missing)}")


def check_grammar(payload: Mapping[str, Any], grammar_name: str, grammar_text: str, path: Path | str) -> None:
    """Fail when a checkpoint was trained with a different grammar than the one given now."""
    stored_text = payload.get("grammar_text")
    if stored_text is None:
        raise CheckpointError(
            f"checkpoint {path} holds a model without a grammar, but grammar {grammar_name!r} was given"
        )
    if _normalise(stored_text) != _normalise(grammar_text):
        stored_name = payload.get("grammar_name", "?")
        raise CheckpointError(
            f"checkpoint {path} was trained with grammar {stored_name!r}, which differs from the grammar "
            f"{grammar_name!r} given now; use the same grammar or a new out_dir", parameter=("out_dir",)
        )


def check_config(stored: Mapping[str, Any], requested: Mapping[str, Any], path: Path | str) -> None:
    """Fail when options that shape the network differ between a checkpoint and a resumed run."""
    differences = [
        f"{key}={stored.get(key)!r} (now {requested[key]!r})"
        for key in requested
        if key in stored and stored[key] != requested[key]
    ]
    if differences:
        raise CheckpointError(
            f"checkpoint {path} was trained with a different configuration: {'; '.join(differences)}"
        )


def _normalise(text: str) -> str:
    # Line endings, trailing blanks and comments are not part of what a checkpoint's indices mean: the
    # productions and T are. (A `# tokenizer:` header only changes how new text is read; a resumed run
    # trains on its stored derivations, and expr.cfg's header moved from whitespace to optional-spaces.)
    kept = []
    for line in text.strip().splitlines():
        stripped = line.strip()
        if stripped.startswith("#") and not re.match(r"#\s*max_length\s*:", stripped):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept)
