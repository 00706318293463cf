"""Exports given in memory as Arrow tables of text: a rule's examples, a file read apart (the attestations)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from validator.sources import RECORDS, Export, Naming

if TYPE_CHECKING:
    import pyarrow as pa


def records(table: str, where: Path, data: pa.Table) -> Export:
    """A table's rows read from another file (`where`, for messages)."""
    return Export(table, where, RECORDS, data=data)


class MemorySource:
    def __init__(self, location: str, tables: Mapping[str, pa.Table]) -> None:
        self.location, self.home, self.tables = location, Path(location), dict(tables)
        self.home_location = location

    def exports(self, table_names: list[str], named: Mapping[str, Naming] | None = None) -> dict[str, Export]:
        return {name: records(name, self.home / name, data) for name, data in self.tables.items()
                if name in table_names}

    def expected(self, table: str) -> str:
        return f"rows of {table}"

    def looked_for(self, table: str) -> str:
        return f"rows of {table}"

    def look_alike_hint(self, table: str, table_names: list[str]) -> str:
        return ""

    def site_file(self, name: str) -> Path | None:
        return None

    def snapshot(self) -> None:
        return None

    def close(self) -> None:
        pass
