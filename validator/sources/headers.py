"""Which header of an export holds which Epicor column: bare (`PartNum`), BAQ style (`JobMtl_PartNum`), dotted
(`JobMtl.PartNum`) or a label (`Part Num`), in any case, or the header backflush.yaml names for it."""

from __future__ import annotations

import re

from validator.errors import DataError
from validator.sources import Export, header_text
from validator.tables import Table

_VALUE = re.compile(r"\s*([-+]?\d+([.,]\d+)?|(?i:true|false|yes|no)|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}.*)\s*")


def looks_like_data(headers: tuple[str, ...]) -> bool:
    """Whether a header row is a data row: at least half of its cells are numbers, booleans or dates (an Epicor
    column name never is)."""
    cells = [h for h in headers if h.strip()]
    return bool(cells) and 2 * sum(bool(_VALUE.fullmatch(h)) for h in cells) >= len(cells)


def spaced(column: str) -> str:
    """`QtyPer` as a label writes it: `Qty Per`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", column)


def label_key(name: str) -> str:
    """A header as a column label compares: any case, without spaces and punctuation (`Part Num`, `QTY_PER`)."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def match_columns(table: Table, headers: list[str], named: tuple[tuple[str, str], ...] = ()) -> dict[str, list[str]]:
    """Epicor column -> its export header(s). A header backflush.yaml names for a column is that column's only;
    else a header prefixed with this table's name wins over a bare one, and either over a label (the name with
    spaces or punctuation, `Part Num`); two headers of one rank (the same name twice, or in two cases) are both
    returned: the caller reports them."""
    by_lower = {c.lower(): c for c in table.columns}
    by_label = {label_key(c): c for c in table.columns}
    by_named = {header_text(header): column for column, header in named}
    chosen: dict[str, tuple[int, list[str]]] = {}
    for header in headers:
        text = header_text(header)
        if text in by_named:
            column, rank = by_named[text], 4
        else:
            bare = _unprefixed(table, text)
            rank = 2 if bare == text else 3
            column = by_lower.get(bare)
            if column is None:  # `Part Num`; `PART_NUM` in Part's export is a label, not Part's column `NUM`
                column, rank = by_label.get(label_key(bare)) or by_label.get(label_key(text)), 1
        if column is None:
            continue
        best = chosen.get(column, (0, []))[0]
        if rank > best:
            chosen[column] = (rank, [header])
        elif rank == best:
            chosen[column][1].append(header)
    return {column: found for column, (_, found) in chosen.items()}


def _unprefixed(table: Table, text: str) -> str:
    """A header's text (header_text) without this table's name in front, BAQ style (`jobmtl_`) or dotted."""
    for prefix in (f"{table.name.lower()}_", f"{table.name.lower()}."):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def own_header(table: Table, column: str, header: str) -> bool:
    """Whether a header is the column's own name (bare, BAQ style or dotted, any case), not a label or a name
    backflush.yaml gives."""
    return _unprefixed(table, header_text(header)) == column.lower()


def wanted_columns(table: Table, headers: list[str], wanted: set[str], source: Export) -> dict[str, str]:
    """Epicor column -> export header, for the wanted columns; a wanted column exported twice is an error, and so
    is a header backflush.yaml names that the export lacks."""
    named = source.naming.headers if source.naming else ()
    present = {header_text(h) for h in headers}
    for column, header in named:
        if header_text(header) not in present:
            raise DataError(f"backflush.yaml ({source.naming.where}) names header {header!r} for {table.name}."
                            f"{column}, which this export does not have; its headers: {_listed(headers)}",
                            location=source.where)
    mapping = {c: found for c, found in match_columns(table, headers, named).items() if c in wanted}
    for column, found in sorted(mapping.items()):
        if len(found) > 1:
            places = ", ".join(f"{h!r} in column {i + 1}" for i, h in enumerate(headers) if h in found)
            raise DataError(f"column {column} is exported more than once ({places}); keep one, or name the one to "
                            f"read under exports: {table.name}: columns: in backflush.yaml", location=source.where)
    return {c: found[0] for c, found in mapping.items()}


def _listed(headers: list[str], most: int = 30) -> str:
    shown = ", ".join(repr(h) for h in headers[:most])
    return shown + (f" and {len(headers) - most} more" if len(headers) > most else "")


