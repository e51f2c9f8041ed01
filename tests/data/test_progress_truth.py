"""Progress that tells the truth (#36 item 4): the ETA at the mean rate, nothing cut at 80 columns, and
no bar frames repeated into a file."""

from __future__ import annotations

import io

from rich.console import Console
from rich.progress import Progress

from lsbo.data.progress import EpochBars, StatusBar, _bar_columns, mean_time_remaining


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

    from lsbo.bo.loop import _log_batch

    timing = {"fit_seconds": 0.1, "acquisition_seconds": 0.2, "decode_seconds": 0.3}
    with caplog.at_level(logging.INFO, logger="lsbo"):
        _log_batch(1, 2, {"surrogate": "local", "n_train": 40, "test_rmse": None, "test_loglik": None, "tr_length": 0.8, **timing})
        _log_batch(1, 3, {"surrogate": "exact", "n_train": 40, "test_rmse": 0.51234, "test_loglik": -1.2, **timing})
    turbo, protocol = (record.getMessage() for record in caplog.records)
    assert "None" not in turbo and "local GP on 40 points, no held-out points to check it on, trust region 0.8;" in turbo
    assert "held-out RMSE 0.5123, log-lik -1.2;" in protocol
