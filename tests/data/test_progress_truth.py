"""Progress that tells the truth (#36 item 4): the ETA at the mean rate, nothing cut at 80 columns, and
no bar frames repeated into a file."""

from __future__ import annotations

import io

from rich.console import Console
from rich.progress import Progress

from lsbo.progress import EpochBars, StatusBar, _bar_columns, mean_time_remaining


def _console(width: int, terminal: bool = True) -> tuple[Console, io.StringIO]:
    stream = io.StringIO()
    return Console(file=stream, force_terminal=terminal, width=width, color_system=None), stream


def test_the_eta_is_the_mean_rate_of_the_whole_run() -> None:
    # 200 of 1250 evaluations in 1221 s: 6.1 s each, so 1050 more take 6410 s, whatever the last burst did
    assert mean_time_remaining(1221.0, 200, 1250) == 1221.0 / 200 * 1050
    assert mean_time_remaining(10.0, 0, 5) is None and mean_time_remaining(10.0, 3, None) is None
    clock = [0.0]
    console, stream = _console(100)
    with Progress(*_bar_columns("optimize", "{task.fields[status]}", console), console=console, get_time=lambda: clock[0]) as progress:
        task = progress.add_task("optimize", total=1250, status="")
        clock[0] = 1200.0
        progress.update(task, completed=150, status="slow fits")
        clock[0] = 1221.0
        progress.update(task, completed=200, status="a quick burst")  # 50 in 21 s: rich's own rate says 7 min left
        progress.refresh()
    assert "200/1250 0:20:21 eta 1:46:50" in stream.getvalue()


def test_at_80_columns_counts_and_times_are_whole_and_the_status_is_cut() -> None:
    console, stream = _console(80)
    bar = StatusBar("optimize", 1250, console=console)
    with bar:
        for _ in range(171):
            bar.step("trial 3 it 2: 0.5432 with a status long enough to overflow any line of eighty columns")
    last = stream.getvalue().split("\r")[-1]
    line = last.replace("\x1b[2K", "").splitlines()[0]
    assert "1250/1250" in line and " eta " in line and len(line) <= 80
    assert line.rstrip().endswith("…")  # only the status gave way


def test_off_a_terminal_the_bars_draw_nothing() -> None:
    console, stream = _console(80, terminal=False)
    with StatusBar("optimize", 3, console=console) as bar:
        bar.step("trial 1 it 1: 0.5")
    bars = EpochBars(console=console)
    bars.start()
    bars.new_epoch("epoch 1/1", 2)
    bars.advance(2)
    bars.stop()
    assert stream.getvalue() == ""  # a log file gets each epoch's log line once, not a bar frame as well


def test_a_surrogate_without_held_out_points_says_so_instead_of_none(caplog) -> None:
    import logging

    from lsbo.bo.trial import _log_batch

    timing = {"fit_seconds": 0.1, "acquisition_seconds": 0.2, "decode_seconds": 0.3}
    with caplog.at_level(logging.INFO, logger="lsbo"):
        _log_batch(1, 2, {"surrogate": "local", "n_train": 40, "test_rmse": None, "test_loglik": None, "tr_length": 0.8, **timing})
        _log_batch(1, 3, {"surrogate": "exact", "n_train": 40, "test_rmse": 0.51234, "test_loglik": -1.2, **timing})
    turbo, protocol = (record.getMessage() for record in caplog.records)
    assert "None" not in turbo and "local GP on 40 points, no held-out points to check it on, trust region 0.8;" in turbo
    assert "held-out RMSE 0.5123, log-lik -1.2;" in protocol


def test_training_curves_draw_an_equal_term_once_and_one_epoch_readably(tmp_path, monkeypatch) -> None:
    import lsbo.report as report

    metrics = tmp_path / "metrics.csv"
    metrics.write_text("epoch,train_loss,train_rec,train_rec_ce,train_ks,val_loss,val_rec,val_rec_ce,val_ks,train_rec_acc,val_rec_acc\n"
                       "1,5.0,1.5,1.5,3.5,5.5,1.6,1.6,3.9,0.2,0.1\n")
    drawn = []
    monkeypatch.setattr(report, "save_figure", lambda figure, path, dpi=110: drawn.append(figure))
    assert report.plot_training_curves(metrics, tmp_path / "curves.png", title="t")
    [figure] = drawn
    terms = next(a for a in figure.axes if a.get_title() == "loss terms")
    labels = [line.get_label() for line in terms.get_lines()]
    assert labels == ["ks (train)", "ks (val)", "rec = rec_ce (train)", "rec = rec_ce (val)"]
    assert terms.get_xlim() == (0.5, 1.5)  # not matplotlib's 0.96-1.04 around a lone point
    assert {text.get_text() for text in terms.texts} == {"1.5", "1.6", "3.5", "3.9"}


def test_plot_titles_describe_the_model_not_its_folder() -> None:
    from types import SimpleNamespace

    from lsbo.report import model_description

    model = SimpleNamespace(config=SimpleNamespace(model="grammar", regularizer="gmm"), latent_dim=56, model_dir="models/GMM-KS/seed_0",
                            payload={"data_origin": "/data/zinc250k.smi"})
    assert model_description(model) == "a grammar autoencoder (gmm, latent 56) trained on zinc250k.smi"
    assert model_description(SimpleNamespace(model_dir="runs/m1")) == "m1"  # a model that says nothing of itself
