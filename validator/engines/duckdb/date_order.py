"""Which number comes first in a date exported as text with slashes: 12/31/2025 (month first, Epicor's and
Excel's US form) or 31/12/2025 (day first, a UK or European site).

A date with a number above 12 in one place tells: 31/12/2025 can only be day first, 12/31/2025 only month
first. Each text date column is read in the order its own values tell; a column whose values tell nothing
(every day of the month 12 or less) takes the order the site's other date columns tell, else month first
(validator/told.py decides).
A column whose values tell both is not readable either way: the contracts report it. `--date-order`
(or `date_order` in backflush.yaml) sets the order of every column instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from validator.engines.duckdb.sql_text import literal, quote
from validator.told import DAY_FIRST, MONTH_FIRST

if TYPE_CHECKING:
    import duckdb

SLASHED = "slashed"  # evidence's own mark: the column holds a date written with slashes
SLASH_DATE = r"^\s*(\d{1,2})/(\d{1,2})/\d{4}"
_TIMES = ("", " %H:%M:%S", " %H:%M", " %I:%M:%S %p", " %I:%M %p", " %I:%M:%S%p", " %I:%M%p")
# dots (31.12.2025: Germany, Scandinavia, Eastern Europe) and dashes before the year (31-12-2025: the Netherlands)
# are written day first everywhere: the order of slashed dates does not change them
DAY_FIRST_ALWAYS = ("%d.%m.%Y", "%d-%m-%Y")
FORMATS = {order: tuple(f"{date}{time}" for date in (slashed, *DAY_FIRST_ALWAYS) for time in _TIMES)
           for order, slashed in ((MONTH_FIRST, "%m/%d/%Y"), (DAY_FIRST, "%d/%m/%Y"))}
SHOWN = {MONTH_FIRST: "M/D/YYYY", DAY_FIRST: "D/M/YYYY"}
_MONTH, _DAY = r"(0?[1-9]|1[0-2])", r"(0?[1-9]|[12]\d|3[01])"
# a time may carry its zone (Z, +01:00), as JSON and OData write it: the date is read as written
_ISO = r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
_TIME = r"( \d{1,2}:\d{2}(:\d{2})?( ?[AaPp][Mm])?)?"


def date_text(order: str) -> str:
    """The pattern of a date exported as text, in `order` (MIXED: month first): ISO, with slashes, or day first
    with dots or dashes."""
    first, second = (_DAY, _MONTH) if order == DAY_FIRST else (_MONTH, _DAY)
    return (rf"^\s*({_ISO}|{first}/{second}/\d{{4}}{_TIME}|{_DAY}\.{_MONTH}\.\d{{4}}{_TIME}"
            rf"|{_DAY}-{_MONTH}-\d{{4}}{_TIME})\s*$")


def evidence(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> dict[str, frozenset[str]]:
    """The columns that hold a date written with slashes -> the orders their values allow no other reading of
    (none, one, or both), in one scan. A column of ISO dates only is left out: its order does not matter."""
    if not columns:
        return {}
    parts = [f"regexp_extract({quote(column)}, {literal(SLASH_DATE)}, ['first', 'second']) AS {quote(f'__{i}')}"
             for i, column in enumerate(columns)]  # one match per value for both numbers
    tests = [(column, order, f"coalesce(bool_or(TRY_CAST({quote(f'__{i}')}.{place} AS INTEGER) > 12), FALSE)")
             for i, column in enumerate(columns) for place, order in (("first", DAY_FIRST), ("second", MONTH_FIRST))]
    tests += [(column, SLASHED, f"coalesce(bool_or({quote(f'__{i}')}.first <> ''), FALSE)") for i, column in enumerate(columns)]
    row = con.execute(f"SELECT {', '.join(sql for *_, sql in tests)} FROM (SELECT {', '.join(parts)} "
                      f"FROM {quote(relation)})").fetchone()
    found: dict[str, set[str]] = {c: set() for c in columns}
    for (column, order, _), told in zip(tests, row, strict=True):
        if told:
            found[column].add(order)
    return {c: frozenset(orders - {SLASHED}) for c, orders in found.items() if SLASHED in orders}
