"""The data pipeline's progress bars: drawn with what they count, silent when switched off, closed
even when the work fails."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from lsbo.progress import count_progress, download_progress

SHOW_CURSOR = "\x1b[?25h"  # written when a rich live display stops on a terminal


def terminal() -> tuple[Console, io.StringIO]:
    stream = io.StringIO()
    return Console(file=stream, force_terminal=True, width=100, color_system=None), stream


def test_count_bar_draws_items_done_of_total() -> None:
    console, stream = terminal()
    with count_progress("encoding 10 rows", 10, console=console) as bar:
        bar.advance(2)
        bar.advance(1)
    assert "encoding 10 rows" in stream.getvalue() and "3/10" in stream.getvalue()
    console, stream = terminal()
    with count_progress("generating 10 expressions", 10, console=console) as bar:
        bar.set(7)  # the generator reports how many it has, not how many it added
    assert "7/10" in stream.getvalue()


def test_download_bar_draws_bytes_and_closes_when_the_download_fails() -> None:
    console, stream = terminal()
    with pytest.raises(OSError, match="connection reset"):
        with download_progress("downloading zinc.csv", console=console) as callback:
            assert callback is not None
            callback(1500, 3000)
            raise OSError("connection reset")
    drawn = stream.getvalue()
    assert "downloading zinc.csv" in drawn and "1.5/3.0 kB" in drawn
    assert drawn.rfind(SHOW_CURSOR) > drawn.rfind("1.5/3.0 kB")  # stopped after its last frame


def test_switched_off_bars_draw_nothing() -> None:
    console, stream = terminal()
    with download_progress("downloading zinc.csv", enabled=False, console=console) as callback:
        assert callback is None
    with count_progress("encoding 10 rows", 10, enabled=False, console=console) as bar:
        bar.advance(5)
        bar.set(10)
    assert stream.getvalue() == ""
