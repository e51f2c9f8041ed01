"""Progress bars of the data pipeline: one rich layout for counted work (generating expressions,
encoding rows) and one for downloads, each with a do-nothing stand-in when bars are switched off, so
callers never branch on ``--progress/--no-progress`` themselves. Bars are transient: they vanish when
the work ends and leave only the command's own output."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsbo.data.downloads import ProgressCallback

if TYPE_CHECKING:
    from rich.console import Console


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
    with Progress(*columns, transient=True, console=console) as bar:
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
    with Progress(*columns, transient=True, console=console) as bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


__all__ = ["CountBar", "count_progress", "download_progress"]
