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


class StatusBar:
    """A counted bar with a status text (one BO evaluation per step); log lines (the command line's
    handler, on the same console) print above it."""

    def __init__(self, description: str, total: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn(f"[bold]{description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
            console=shared_console(), transient=False,
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

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("{task.description}", style="bold"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[losses]}"),
            console=shared_console(),
            transient=False,
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


__all__ = ["CountBar", "EpochBars", "StatusBar", "shared_console", "count_progress", "download_progress"]
