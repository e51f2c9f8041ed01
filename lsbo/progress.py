"""Every progress bar of the toolkit, on one console: counted work (generating expressions, encoding
rows), downloads, and training epochs (batches done, live loss terms, time elapsed and remaining).

Each has a do-nothing stand-in when bars are switched off, so callers never branch on
``--progress/--no-progress`` themselves. The data bars are transient: they vanish when the work ends
and leave only the command's own output. All bars draw on :func:`shared_console` (stderr), the console the
command line's log handler writes to, so log lines appear above a running bar instead of through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


#: What a download reports as it goes: (bytes so far, total bytes or None).
ProgressCallback = Callable[[int, int | None], None]

_CONSOLE: "Console | None" = None


def shared_console() -> "Console":
    """The one stderr console of bars and log lines (created on first use)."""
    global _CONSOLE
    if _CONSOLE is None:
        from rich.console import Console

        _CONSOLE = Console(stderr=True)
    return _CONSOLE


@dataclass(frozen=True)
class CountBar:
    """Handle of a counted bar: ``advance(n)`` adds ``n`` items, ``set(done)`` sets the items done."""

    _update: Callable[..., None]

    def advance(self, n: int) -> None:
        self._update(advance=n)

    def set(self, done: int) -> None:
        self._update(completed=done)


def _ignore(**_: Any) -> None:
    return None


@contextmanager
def count_progress(description: str, total: int, *, enabled: bool = True, console: "Console | None" = None) -> Iterator[CountBar]:
    """A bar of ``total`` items (done/total and time remaining) while the block runs."""
    if not enabled:
        yield CountBar(_ignore)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True, console=console or shared_console()) as bar:
        task = bar.add_task(description, total=total)
        yield CountBar(lambda **change: bar.update(task, **change))


@contextmanager
def download_progress(description: str, *, enabled: bool = True, console: "Console | None" = None) -> Iterator[ProgressCallback | None]:
    """A byte-counting bar while the block runs: yields the callback to pass to
    :func:`lsbo.data.downloads.fetch` (None when bars are off); the bar closes even when the download fails."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, transient=True, console=console or shared_console()) as bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def mean_time_remaining(elapsed: float | None, completed: float, total: float | None) -> float | None:
    """Seconds left at the mean rate since the start (None before the first step or without a total)."""
    if total is None or elapsed is None or completed <= 0:
        return None
    return max(0.0, elapsed / completed * (total - completed))


def _bar_columns(description: str, fields: str, console: "Console") -> tuple[Any, ...]:
    """The columns of a counted bar with live text (``fields``): the counts and times never cut, the bar
    narrowed and the live text cut (with an ellipsis) to fit the console."""
    from rich.progress import BarColumn, MofNCompleteColumn, ProgressColumn, TextColumn, TimeElapsedColumn
    from rich.table import Column
    from rich.text import Text

    class MeanTimeRemainingColumn(ProgressColumn):
        """Time left at the mean rate of the whole task. rich's own column uses the rate of the last 30 s,
        which a burst of quick steps (scoring a batch after a long surrogate fit) turns into seconds."""

        def render(self, task: Any) -> Text:
            import datetime

            left = mean_time_remaining(task.elapsed, task.completed, task.total)
            return Text("-:--:--" if left is None else str(datetime.timedelta(seconds=int(left))), style="progress.remaining")

    fixed = dict(no_wrap=True, overflow="ignore")
    narrow = console.width < 120
    return (
        TextColumn(description, table_column=Column(**fixed)),  # type: ignore[arg-type]
        BarColumn(bar_width=10 if narrow else 40),
        MofNCompleteColumn(table_column=Column(**fixed)),  # type: ignore[arg-type]
        TimeElapsedColumn(table_column=Column(**fixed)),  # type: ignore[arg-type]
        TextColumn("eta", table_column=Column(**fixed)),  # type: ignore[arg-type]
        MeanTimeRemainingColumn(table_column=Column(**fixed)),  # type: ignore[arg-type]
        TextColumn(fields, table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)),
    )


class StatusBar:
    """A counted bar with a status text (one BO evaluation per step); log lines (the command line's
    handler, on the same console) print above it. Not drawn when the console is not a terminal (a file
    or a pipe gets the log lines only, not a final frame of the bar as well)."""

    def __init__(self, description: str, total: int, *, console: "Console | None" = None) -> None:
        from rich.progress import Progress

        console = console or shared_console()
        self._progress = Progress(
            *_bar_columns(f"[bold]{description}", "{task.fields[status]}", console),
            console=console, transient=False, disable=not console.is_terminal, expand=True,
        )
        self._total = total
        self._task = self._progress.add_task(description, total=total, status="")

    def __enter__(self) -> "StatusBar":
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            self._progress.remove_task(self._task)  # the error (or interrupted) line is then the last one printed
        else:
            self._progress.update(self._task, completed=self._total)
        self._progress.stop()

    def step(self, status: str) -> None:
        self._progress.update(self._task, advance=1, status=status)


class EpochBars:
    """One bar per training epoch: batches done, the running mean of the loss terms, time elapsed
    and the estimated time left in the epoch. ``start``/``stop`` bracket the whole run."""

    def __init__(self, *, console: "Console | None" = None) -> None:
        from rich.progress import Progress

        console = console or shared_console()
        # not drawn off a terminal: the trainer logs each epoch's line, which a final frame would repeat
        self._progress = Progress(
            *_bar_columns("[bold]{task.description}", "{task.fields[losses]}", console),
            console=console, transient=False, disable=not console.is_terminal, expand=True,
        )
        self._task: Any = None

    def start(self) -> None:
        self._progress.start()

    def stop(self) -> None:
        self._progress.stop()

    def new_epoch(self, description: str, total: int | None) -> None:
        """Begin the bar of the next epoch (``total`` batches; None when the loader has no length)."""
        self._task = self._progress.add_task(description, total=total, losses="")

    def advance(self, steps: int = 1) -> None:
        self._progress.update(self._task, advance=steps)

    def show_losses(self, text: str) -> None:
        self._progress.update(self._task, losses=text)


__all__ = ["CountBar", "EpochBars", "StatusBar", "count_progress", "download_progress", "mean_time_remaining", "shared_console"]
