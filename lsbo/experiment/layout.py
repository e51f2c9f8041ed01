"""Where each cell of an experiment lives (the layout :mod:`lsbo.experiment.runner` describes), read by the
runner and by the tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lsbo.experiment.spec import ModelSpec, slug
from lsbo.persistence import refuse_linked_dirs

__all__ = ["TABLES_DIR", "Layout", "evaluation_status", "slug"]

TABLES_DIR = "tables"


@dataclass(frozen=True)
class Layout:
    """Where each cell of an experiment lives: folders named by :func:`~lsbo.experiment.spec.slug`
    (never outside ``root``), none of them a symbolic link (a :class:`~lsbo.persistence.PersistenceError`)."""

    root: Path

    def model_dir(self, model: str, seed: int) -> Path:
        return refuse_linked_dirs(self.root, self.root / "models" / slug(model) / f"seed_{seed}", is_folder=True)

    def evaluation_file(self, model: str, seed: int) -> Path:
        return refuse_linked_dirs(self.root, self.root / "evaluations" / slug(model) / f"seed_{seed}.json")

    def bo_dir(self, strategy: str, model: str, seed: int) -> Path:
        return refuse_linked_dirs(self.root, self.root / "bo" / slug(strategy) / slug(model) / f"seed_{seed}", is_folder=True)

    def tables(self, experiment: str) -> Path:
        # one folder per spec: specs that share cells (same labels and options) can share a directory
        return refuse_linked_dirs(self.root, self.root / TABLES_DIR / slug(experiment), is_folder=True)


def evaluation_status(layout: Layout, model: ModelSpec, seed: int) -> str:
    return "done" if layout.evaluation_file(model.label, seed).is_file() else "missing"
