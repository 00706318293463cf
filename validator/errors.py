"""The errors a user can cause, each with the exit code the command returns for it."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2
EXIT_OUT_OF_MEMORY = 3
EXIT_OUT_OF_DISK = 4
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it
EXIT_TERMINATED = 143  # SIGTERM (128 + 15): a cancelled CI job, `kill`


class BackflushError(Exception):
    """Bad input or configuration: reported as one paragraph, never as a traceback."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, *, location: str | None = None) -> None:
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class RuleFileError(BackflushError):
    """A rule file is malformed, names unknown tables or columns, or repeats an id."""


class ConfigError(BackflushError):
    """backflush.yaml is malformed or names something that does not exist."""


class DataError(BackflushError):
    """An export cannot be read, or lacks what the selected rules need."""


class ContractError(DataError):
    """One or more tables break their contract (see contracts.py)."""

    def __init__(self, violations: list) -> None:  # list[contracts.Violation]
        self.violations = violations
        lines = "\n".join(f"  - {v}" for v in violations)
        super().__init__(
            f"{len(violations)} table contract violation(s); fix the export or pass --keep-going:\n{lines}"
        )


class OutOfMemoryError(BackflushError):
    """The engine needed more memory than its limit allows, even spilling to disk."""

    exit_code = EXIT_OUT_OF_MEMORY


class OutOfDiskError(BackflushError):
    """The disk the engine spills to (and keeps the findings' documents on) is full."""

    exit_code = EXIT_OUT_OF_DISK
