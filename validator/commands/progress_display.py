"""The progress display on a terminal (rich): it appears once a run has taken DELAY seconds, shows the current
phase with the time so far above the lines of what is done, and goes when the run ends."""

from __future__ import annotations

import time
from typing import Any

DELAY = 2.0  # seconds a run goes before the display appears: short runs show nothing


class TerminalProgress:
    def __init__(self, delay: float | None = None) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)
        self.started, self.delay = time.monotonic(), DELAY if delay is None else delay
        self.bar: Any = None
        self.task: Any = None
        self.notes: list[str] = []

    def _shown(self) -> bool:
        if self.bar is None and time.monotonic() - self.started >= self.delay:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                console=self.console, transient=True)
            self.bar.start()
            self.task = self.bar.add_task("")
            for line in self.notes:
                self.bar.console.print(f"[dim]{line}[/]")
        return self.bar is not None

    def step(self, what: str) -> None:
        if self._shown():
            self.bar.update(self.task, description=what)

    def note(self, what: str) -> None:
        if self._shown():
            self.bar.console.print(f"[dim]{what}[/]")
        else:
            self.notes.append(what)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
