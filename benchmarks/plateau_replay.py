"""What `--monitor loss` and `--monitor rec` would decide on a finished training's recorded curves.

The trainer's schedule (lsbo.train.Trainer) makes three decisions from one validation number per
epoch: when torch's ReduceLROnPlateau cuts the learning rate, when early stopping ends the run, and
which epoch's weights are kept (the best). Training is deterministic given its seed and these
decisions, so if both monitors decide the same at every epoch of a run, the run with the other
monitor *is* this run; where they first differ, the runs part.

This script feeds each monitored column of a model's ``metrics.csv`` (``val_loss``, ``val_rec``, ...)
into a real ``ReduceLROnPlateau`` with the trainer's settings (``TrainerConfig`` defaults, the
model's ``config.json`` for the learning rate and early-stopping patience) and the trainer's
early-stopping and best-epoch rules, checks that the replay of the monitor the run used reproduces
its recorded learning rates, and prints the decisions side by side:

    python benchmarks/plateau_replay.py runs/expr-paper/models/GVAE/seed_1 [MODEL_DIR ...] [--monitors loss rec]
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from lsbo.errors import LsboError
from lsbo.persistence import read_json
from lsbo.train import METRICS_NAME, TrainerConfig


@dataclass(frozen=True)
class Decisions:
    """A monitor's decisions over the recorded epochs (1-based epoch numbers)."""

    learning_rates: tuple[float, ...]  # the rate each epoch trained with, as metrics.csv records it
    early_stop: int | None  # the epoch after which training would stop, if within the record
    best_epoch: int  # the epoch whose weights are kept

    def first_difference(self, other: Decisions) -> int | None:
        """The first epoch at which the two sets of decisions differ, or None."""
        for epoch, (mine, theirs) in enumerate(zip(self.learning_rates, other.learning_rates), start=1):
            if mine != theirs:
                return epoch
        if self.early_stop != other.early_stop:
            return min(e for e in (self.early_stop, other.early_stop) if e is not None)
        if self.best_epoch != other.best_epoch:
            return min(self.best_epoch, other.best_epoch)
        return None


def replay(values: list[float], learning_rate: float, early_stopping_patience: int, trainer: TrainerConfig) -> Decisions:
    """The trainer's decisions for one monitored validation number per epoch (see ``Trainer.fit``)."""
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=learning_rate)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=trainer.lr_factor, patience=trainer.lr_patience, min_lr=trainer.min_learning_rate,
    )
    rates: list[float] = []
    best, best_epoch, bad, stop = float("inf"), 0, 0, None
    for epoch, value in enumerate(values, start=1):
        rates.append(optimizer.param_groups[0]["lr"])
        scheduler.step(value)
        if value < best:
            best, best_epoch, bad = value, epoch, 0
        else:
            bad += 1
        if bad >= early_stopping_patience:
            stop = epoch
            break
    return Decisions(tuple(rates), stop, best_epoch)


def read_run(model_dir: Path) -> tuple[list[dict[str, float]], dict]:
    """The recorded epochs of ``metrics.csv`` (an empty cell is NaN) and the model's training config."""
    metrics = model_dir / METRICS_NAME
    if not metrics.is_file():
        raise SystemExit(f"error: {metrics}: not found (a model directory of lsbo train has {METRICS_NAME} and config.json)")
    rows = []
    with metrics.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                rows.append({key: float(value) if value else math.nan for key, value in row.items()})
            except (TypeError, ValueError):
                raise SystemExit(f"error: {metrics}: line {line}: not a row of numbers") from None
    if not rows:
        raise SystemExit(f"error: {metrics}: no epochs recorded")
    try:
        config = read_json(model_dir / "config.json", what="model config")
    except LsboError as error:
        raise SystemExit(f"error: {error}") from None
    if not isinstance(config.get("config"), dict):
        raise SystemExit(f"error: {model_dir / 'config.json'}: no training config (key 'config')")
    return rows, config["config"]


def report(model_dir: Path, monitors: list[str]) -> None:
    rows, config = read_run(model_dir)
    used = config.get("monitor", "loss")
    trainer = TrainerConfig()
    learning_rate = float(config.get("learning_rate", trainer.learning_rate))
    patience = int(config.get("early_stopping_patience", trainer.early_stopping_patience))
    decisions: dict[str, Decisions] = {}
    for monitor in dict.fromkeys([used, *monitors]):
        column = f"val_{monitor}"
        if column not in rows[0]:
            raise SystemExit(f"error: {model_dir / METRICS_NAME}: no column {column} (columns: {', '.join(rows[0])})")
        decisions[monitor] = replay([row[column] for row in rows], learning_rate, patience, trainer)
    recorded = tuple(row["lr"] for row in rows)
    replayed = decisions[used].learning_rates
    # metrics.csv keeps 6 significant digits
    verified = len(replayed) == len(recorded) and all(math.isclose(a, b, rel_tol=1e-5) for a, b in zip(replayed, recorded))
    print(f"{model_dir}: {len(rows)} epochs, trained with --monitor {used}; replay of its learning rates "
          f"{'matches the record' if verified else 'DOES NOT match the record (the script does not model this run)'}")
    for monitor, made in decisions.items():
        cuts = [epoch for epoch in range(2, len(made.learning_rates) + 1)
                if made.learning_rates[epoch - 1] != made.learning_rates[epoch - 2]]
        stop = f"stops after epoch {made.early_stop}" if made.early_stop is not None else "no early stop"
        print(f"  --monitor {monitor}: learning rate cut before epoch(s) {cuts or 'none'}; {stop}; keeps epoch {made.best_epoch}")
    for monitor, made in decisions.items():
        if monitor == used:
            continue
        first = made.first_difference(decisions[used])
        print(f"  --monitor {monitor} vs {used}: "
              + ("the same decisions at every epoch: the same run" if first is None
                 else f"the runs part at epoch {first} (beyond it the record says nothing of the other run)"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dirs", nargs="+", type=Path, help="Model directories of lsbo train (metrics.csv, config.json).")
    parser.add_argument("--monitors", nargs="+", default=["loss", "rec"], help="Validation numbers to replay (default: loss rec).")
    args = parser.parse_args(argv)
    for model_dir in args.model_dirs:
        report(model_dir, args.monitors)


if __name__ == "__main__":
    sys.exit(main())
