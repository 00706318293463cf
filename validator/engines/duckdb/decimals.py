"""Which character separates the decimals of a number exported as text: a point (2.5, Epicor's and Excel's
English form) or a comma (2,5: Excel on a European site, most often in a semicolon-separated export).

A value tells when it reads one way only: 2,5 and 2,00000000 only with a decimal comma, 2.5 and 2.00000000
only with a point. 1,250 and 1.250 tell nothing (a thousands separator, or three decimals). Each text number
column is read as its own values tell; a column whose values tell nothing takes the separator the site's
other number columns tell, else the point (validator/told.py decides). Thousands separators are never read:
a column with 1,234.50 in it, or with both 2.5 and 2,5, tells both and breaks its contract.
`--decimal-separator` (or `decimal_separator` in backflush.yaml) sets the separator of every column instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from validator.engines.duckdb.sql_text import literal, quote
from validator.told import COMMA, POINT

if TYPE_CHECKING:
    import duckdb

SIGN = {POINT: ".", COMMA: ","}
_UNTOLD = r"^\s*[-+]?[1-9]\d{0,2}[.,]\d{3}\s*$"  # 1,250 or 1.250: thousands, or three decimals


def number_text(kind: str, separator: str) -> str:
    """The pattern of an integer or decimal exported as text with this decimal separator (MIXED: a point)."""
    mark = r"," if separator == COMMA else r"\."
    if kind == "integer":
        return rf"^\s*[-+]?\d+({mark}0*)?\s*$"
    return rf"^\s*[-+]?(\d+{mark}?\d*|{mark}\d+)([eE][-+]?\d+)?\s*$"


def as_point(text_sql: str, separator: str) -> str:
    """SQL: number text as DuckDB casts it (a decimal comma made a point)."""
    return f"replace({text_sql}, ',', '.')" if separator == COMMA else text_sql


def evidence(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> dict[str, frozenset[str]]:
    """The columns some value of which holds a point or a comma -> the separators their values allow no other
    reading of (none, one, or both), in one scan. A column of whole numbers only is left out: it reads alike."""
    if not columns:
        return {}
    tests = []
    for column in columns:
        value = quote(column)
        for separator, mark in SIGN.items():
            tests.append((column, separator, f"coalesce(bool_or(contains({value}, {literal(mark)}) "
                                             f"AND NOT regexp_matches({value}, {literal(_UNTOLD)})), FALSE)"))
        tests.append((column, "", f"coalesce(bool_or(contains({value}, '.') OR contains({value}, ',')), FALSE)"))
    row = con.execute(f"SELECT {', '.join(sql for *_, sql in tests)} FROM {quote(relation)}").fetchone()
    found: dict[str, set[str]] = {c: set() for c in columns}
    for (column, separator, _), told in zip(tests, row, strict=True):
        if told:
            found[column].add(separator)
    return {c: frozenset(told - {""}) for c, told in found.items() if "" in told}
