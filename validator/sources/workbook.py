"""One workbook (.xlsx) holding a sheet per table, named after it (any case, `Erp.` in front or not)."""

from __future__ import annotations

from pathlib import Path

from validator.errors import DataError
from validator.sources import Export, table_key
from validator.sources.folder import FileSource, sheet_names

WORKBOOKS = (".xlsx", ".xlsm")


def accepts(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in WORKBOOKS


def open(path: Path) -> WorkbookSource:  # noqa: A001 - every source module opens a path
    return WorkbookSource(path)


class WorkbookSource(FileSource):
    def __init__(self, path: Path) -> None:
        super().__init__(path, path.parent)  # the site's own files are kept beside its workbook
        self.book = path

    def expected(self, table: str) -> str:
        return f"a sheet named {table} in the workbook"

    def looked_for(self, table: str) -> str:
        return f"a sheet named {table}"

    def look_alike_hint(self, table: str, table_names: list[str]) -> str:
        return ""

    def by_name(self, table_names: list[str]) -> dict[str, Export]:
        wanted = {name.lower(): name for name in table_names}
        found: dict[str, Export] = {}
        for sheet in sheet_names(self.path):
            table = wanted.get(table_key(sheet.strip()))
            if table is not None:
                if table in found:
                    raise DataError(f"two sheets of table {table}: {found[table].sheet} and {sheet}; keep one",
                                    location=str(self.path))
                found[table] = Export(table, self.path, "xlsx", sheet)
        return found
