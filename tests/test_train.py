"""The generic trainer on a tiny regression module: fitting, metrics.csv, resume, NaN guard."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lsbo.checkpoint import load_checkpoint
from lsbo.errors import ConfigError
from lsbo.regularizers.terms import LossTerms
from lsbo.report import metrics_csv_text
from lsbo.train import Trainer, TrainerConfig, TrainingDiverged


class LinearRegression(nn.Module):
    """y = x @ w: the smallest module with a compute_losses method."""

    def __init__(self, dim: int = 3) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, 1)
        self.poison = False  # when set, the loss becomes NaN (for the divergence guard)

    def compute_losses(self, batch):
        x, y = batch
        mse = ((self.linear(x).squeeze(-1) - y) ** 2).mean()
        if self.poison:
            mse = mse * float("nan")
        return LossTerms(total=mse, terms={"mse": mse}, metrics={"abs_w": float(self.linear.weight.detach().abs().sum())})


def _loaders(seed: int = 0, n: int = 256):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=generator)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
    train = DataLoader(TensorDataset(x[:200], y[:200]), batch_size=32, shuffle=True, generator=torch.Generator())
    val = DataLoader(TensorDataset(x[200:], y[200:]), batch_size=64)
    return train, val


def _config(epochs: int) -> TrainerConfig:
    return TrainerConfig(epochs=epochs, learning_rate=0.05, seed=3, device="cpu", progress=False, early_stopping_patience=50)


def _read_metrics(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_fit_reduces_loss_and_writes_metrics(tmp_path: Path) -> None:
    train, val = _loaders()
    result = Trainer(LinearRegression(), _config(6), tmp_path).fit(train, val)
    rows = _read_metrics(tmp_path / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert {"train_loss", "train_mse", "val_loss", "val_mse", "val_abs_w", "lr", "time_s"} <= set(rows[0])
    assert float(rows[-1]["val_mse"]) < 0.1 * float(rows[0]["val_mse"])
    assert result.best_val_loss == pytest.approx(min(float(r["val_loss"]) for r in rows), rel=1e-4)
    payload = load_checkpoint(tmp_path)
    assert payload["trainer"]["epoch"] == 6 and "versions" in payload and "torch" in payload["versions"]


def test_deferred_synchronisation_gives_the_same_epoch_means(tmp_path: Path) -> None:
    # loss sums kept on the device between syncs must average to what per-step floats give
    runs = {}
    for sync_every in (1, 4):
        train, val = _loaders()
        torch.manual_seed(0)
        config = _config(2)
        config.sync_every = sync_every
        Trainer(LinearRegression(), config, tmp_path / str(sync_every)).fit(train, val)
        runs[sync_every] = _read_metrics(tmp_path / str(sync_every) / "metrics.csv")
    for a, b in zip(runs[1], runs[4]):
        for key in ("train_loss", "train_mse", "train_abs_w", "val_loss"):
            assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-9), key


def test_resume_continues_and_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    train, val = _loaders()
    torch.manual_seed(0)
    Trainer(LinearRegression(), _config(4), tmp_path / "straight").fit(train, val)

    train, val = _loaders()
    torch.manual_seed(0)
    Trainer(LinearRegression(), _config(2), tmp_path / "split").fit(train, val)
    train, val = _loaders()
    torch.manual_seed(1234)  # a fresh process would start from other random states; resume must restore them
    Trainer(LinearRegression(), _config(4), tmp_path / "split").fit(train, val, resume=True)

    straight = _read_metrics(tmp_path / "straight" / "metrics.csv")
    split = _read_metrics(tmp_path / "split" / "metrics.csv")
    assert [int(r["epoch"]) for r in split] == [1, 2, 3, 4]
    for a, b in zip(straight, split):
        assert float(a["val_loss"]) == pytest.approx(float(b["val_loss"]), rel=1e-5)


@pytest.mark.parametrize(
    ("sync_every", "message"),
    [
        # the default: with 7 steps per epoch (200 rows, batches of 32) found at the epoch's end
        (None, "non-finite loss at epoch 2, steps 1-7.*checkpoint.pt \\(epoch 1\\) is kept"),
        # poisoned from the first step: found at the first sync, which names the unchecked steps
        (4, "non-finite loss at epoch 2, steps 1-4"),
        # checked every step: stopped before the first non-finite update
        (1, "non-finite loss at epoch 2, step 1 \\(non-finite terms: mse\\)"),
    ],
)
def test_non_finite_loss_stops_and_keeps_last_checkpoint(tmp_path: Path, sync_every: int | None, message: str) -> None:
    train, val = _loaders()
    model = LinearRegression()
    config = _config(1)
    if sync_every is not None:
        config.sync_every = sync_every
    trainer = Trainer(model, config, tmp_path)
    trainer.fit(train, val)
    before = (tmp_path / "checkpoint.pt").read_bytes()
    model.poison = True
    trainer.config.epochs = 3
    with pytest.raises(TrainingDiverged, match=message) as caught:
        trainer.fit(train, val)
    assert str(caught.value).endswith("; try a lower learning_rate or rec_weight")
    assert caught.value.parameter == ("learning_rate", "rec_weight")  # the CLI: "--lr or --rec-weight"
    assert (tmp_path / "checkpoint.pt").read_bytes() == before
    assert len(_read_metrics(tmp_path / "metrics.csv")) == 1


class NanOnValidation(LinearRegression):
    """Finite training loss, non-finite validation loss (poisoned only in evaluation mode)."""

    def compute_losses(self, batch):
        self.poison = not self.training
        return super().compute_losses(batch)


def test_non_finite_validation_loss_in_first_epoch_says_no_checkpoint(tmp_path: Path) -> None:
    train, val = _loaders()
    trainer = Trainer(NanOnValidation(), _config(2), tmp_path)
    with pytest.raises(TrainingDiverged, match="non-finite validation loss at epoch 1; no checkpoint had been written yet"):
        trainer.fit(train, val)
    assert not (tmp_path / "checkpoint.pt").exists()


def test_early_stopping_stops_after_patience(tmp_path: Path) -> None:
    train, val = _loaders()
    config = _config(30)
    config.learning_rate = 0.0  # nothing improves after the first epoch
    config.early_stopping_patience = 2
    result = Trainer(LinearRegression(), config, tmp_path).fit(train, val)
    assert result.stop_reason == "early_stopping"
    assert len(result.history) == 3  # the first epoch sets the best, two more without improvement


class FallingAndFlat(nn.Module):
    """A total loss that keeps falling (the fit) while one term (``flat``) never improves."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 1)

    def compute_losses(self, batch):
        x, y = batch
        fit = ((self.linear(x).squeeze(-1) - y) ** 2).mean()
        flat = 0.0 * self.linear.bias.sum() + 1.0
        return LossTerms(total=fit + flat, terms={"fit": fit, "flat": flat}, metrics={})


@pytest.mark.parametrize("monitor", ["loss", "flat"])
def test_the_plateau_rule_and_early_stopping_follow_the_monitored_number(tmp_path: Path, monitor: str) -> None:
    train, val = _loaders()
    config = _config(12)
    config.monitor, config.lr_patience, config.early_stopping_patience = monitor, 1, 4
    config.learning_rate = 0.01  # slow enough that the total falls clearly every epoch
    result = Trainer(FallingAndFlat(), config, tmp_path).fit(train, val)
    rates = [float(r["lr"]) for r in _read_metrics(tmp_path / "metrics.csv")]
    losses = [float(r["val_loss"]) for r in _read_metrics(tmp_path / "metrics.csv")]
    assert result.monitor == monitor
    if monitor == "loss":  # the total improves every epoch: never cut, never stopped
        assert all(b < a for a, b in zip(losses, losses[1:]))
        assert rates == [0.01] * 12 and result.stop_reason == "completed" and result.best_epoch == 12
    else:  # the flat term never improves after epoch 1: cut after lr_patience epochs, stopped after 4
        assert result.stop_reason == "early_stopping" and len(rates) == 5 and result.best_epoch == 1
        assert rates[:3] == [0.01, 0.01, 0.01] and rates[3] == pytest.approx(0.002)
        assert result.best_val_loss == pytest.approx(1.0)


def test_the_plateau_replay_script_reproduces_the_trainers_decisions(tmp_path: Path, benchmark_script) -> None:
    # benchmarks/plateau_replay.py argues from recorded curves what another monitor would have decided;
    # it is only as good as its copy of the trainer's rules
    plateau_replay = benchmark_script("plateau_replay")
    train, val = _loaders()
    config = _config(12)
    config.monitor, config.lr_patience, config.early_stopping_patience, config.learning_rate = "flat", 1, 4, 0.01
    result = Trainer(FallingAndFlat(), config, tmp_path).fit(train, val)
    rows = _read_metrics(tmp_path / "metrics.csv")
    flat = plateau_replay.replay([float(r["val_flat"]) for r in rows], 0.01, 4, config)
    assert flat.learning_rates == pytest.approx([float(r["lr"]) for r in rows])
    assert flat.early_stop == len(rows) == 5 and flat.best_epoch == result.best_epoch == 1
    loss = plateau_replay.replay([float(r["val_loss"]) for r in rows], 0.01, 4, config)
    assert loss.early_stop is None and loss.best_epoch == 5 and loss.first_difference(flat) == 4  # flat's first cut


def test_an_unknown_monitor_names_the_parameter_and_the_terms(tmp_path: Path) -> None:
    train, val = _loaders()
    config = _config(2)
    config.monitor = "kl"
    with pytest.raises(ConfigError, match=r"monitor 'kl' is not one of the model's loss terms \(fit, flat, loss\)") as caught:
        Trainer(FallingAndFlat(), config, tmp_path).fit(train, val)
    assert caught.value.parameter == "monitor"


def test_metrics_csv_text_unions_columns() -> None:
    text = metrics_csv_text([{"epoch": 1, "a": 0.5}, {"epoch": 2, "a": 0.25, "b": 1.0}])
    assert text.splitlines() == ["epoch,a,b", "1,0.5,", "2,0.25,1"]


def test_combine_losses_sums_reconstruction_regularizer_and_decoder_terms() -> None:
    import torch

    from lsbo.regularizers.terms import combine_losses

    rec = torch.tensor(2.0, requires_grad=True)
    ks, cv, dec = torch.tensor(0.5), torch.tensor(0.25), torch.tensor(0.125)
    out = combine_losses(rec, {"ks": ks, "cv": cv}, {"decoder_l2": dec}, {"acc": 0.5})
    assert set(out.terms) == {"rec", "ks", "cv", "decoder_l2"}
    assert float(out.total.detach()) == 2.875 and out.metrics == {"acc": 0.5}
    out.total.backward()
    assert float(rec.grad) == 1.0
