"""Progress on long runs: the phases of a check (reading each table, the contracts, each pass, the findings, the
verdicts) as they happen. The command line shows them on a terminal only (validator/commands/setup.py); anywhere
else, and with --quiet, nothing is shown, so CI logs and a report on stdout stay clean."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def step(self, what: str) -> None:
        """A phase begins ('pass 2 of 5: JobMtl')."""

    def note(self, what: str) -> None:
        """Something done worth a line of its own ('JobMtl: 10,000,000 rows')."""

    def close(self) -> None:
        """The run is over: the display goes."""


class Silent:
    def step(self, what: str) -> None:
        pass

    def note(self, what: str) -> None:
        pass

    def close(self) -> None:
        pass


SILENT = Silent()


class Labelled:
    """Another display's lines, each begun with a label: which of two runs (`diff`'s OLD and NEW) a line is about."""

    def __init__(self, shown: Progress, label: str) -> None:
        self.shown, self.label = shown, label

    def step(self, what: str) -> None:
        self.shown.step(f"{self.label}: {what}")

    def note(self, what: str) -> None:
        self.shown.note(f"{self.label}: {what}")

    def close(self) -> None:
        pass  # the display goes with the command, not with one of its runs
