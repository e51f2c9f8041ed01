"""Where each cell of an experiment lives (the layout :mod:`lsbo.experiment.runner` describes), read by the
runner and by the tables."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lsbo.experiment.spec import ModelSpec

TABLES_DIR = "tables"


def slug(label: str) -> str:
    """A folder name for a label (letters, digits, ``.-_``; the rest becomes ``_``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_") or "_"


@dataclass(frozen=True)
class Layout:
    """Where each cell of an experiment lives."""

    root: Path

    def model_dir(self, model: str, seed: int) -> Path:
        return self.root / "models" / slug(model) / f"seed_{seed}"

    def evaluation_file(self, model: str, seed: int) -> Path:
        return self.root / "evaluations" / slug(model) / f"seed_{seed}.json"

    def bo_dir(self, strategy: str, model: str, seed: int) -> Path:
        return self.root / "bo" / slug(strategy) / slug(model) / f"seed_{seed}"

    def tables(self, experiment: str) -> Path:
        # one folder per spec: specs that share cells (same labels and options) can share a directory
        return self.root / TABLES_DIR / slug(experiment)


def evaluation_status(layout: Layout, model: ModelSpec, seed: int) -> str:
    return "done" if layout.evaluation_file(model.label, seed).is_file() else "missing"
