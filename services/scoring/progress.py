"""The rebuild's progress bar for staff at a terminal (rich), in Bahasa Indonesia."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from . import rebuild

PHASES = {"swap": "Menukar ke generasi baru (konsumen ditahan sebentar)…",
          "cleanup": "Menghapus generasi lama…"}


class RichProgress(rebuild.Progress):
    def __init__(self) -> None:
        self._bar = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"),
                             BarColumn(), MofNCompleteColumn(),
                             TextColumn("posisi {task.fields[position]}"), TimeElapsedColumn(),
                             console=Console(stderr=True))
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> RichProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def source(self, name: str, start: int) -> None:
        note = f" (lanjut dari posisi {start})" if start else ""
        self._tasks[name] = self._bar.add_task(f"Riwayat {name}{note}", total=None,
                                               position=start, completed=start)

    def page(self, name: str, position: int, count: int, head: int | None) -> None:
        task = self._tasks.get(name)
        if task is not None:
            self._bar.update(task, completed=position, position=position,
                             total=head if head else None)

    def phase(self, text: str) -> None:
        for task in self._bar.tasks:
            self._bar.update(task.id, total=task.completed)
        self._bar.console.print(PHASES.get(text, text))
