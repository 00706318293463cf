"""Table contracts, checked on the raw exports before any rule runs.

A contract is built from schemas/tables for the columns the selected rules read: values that parse
as their Epicor type, allowed codes, key columns present and never blank, the table's key unique (compared as
SQL Server compares keys: case-insensitive, trailing spaces ignored), and at least one data row. What the export's
types guarantee is not checked again; the keys' blanks and uniqueness come from the scan each export gets when it is
loaded (text_facts.py), and only a key that scan leaves open is queried here. pandera (ibis backend) checks what text
leaves open: values that parse as their type, whole numbers stored as decimals.
"""

from __future__ import annotations

import functools
import importlib
import operator
from types import ModuleType
from typing import TYPE_CHECKING

from validator.engines.duckdb.date_order import SHOWN, date_text
from validator.engines.duckdb.decimals import number_text
from validator.engines.duckdb.load import DuckDBSite as Site
from validator.engines.duckdb.load import is_text, null_text, readable, stored_as
from validator.engines.duckdb.sql_text import literal, quote
from validator.engines.duckdb.text_facts import unique_sql
from validator.findings import Violation
from validator.site import NULL_WORDS, LoadedTable
from validator.told import COMMA, DAY_FIRST, MIXED, MONTH_FIRST

if TYPE_CHECKING:
    import ibis
    import pandera.ibis as pa

BOOLEAN_TEXT = r"^\s*(?i:true|false|t|f|yes|no|y|n|1|0|-1)\s*$"
WHAT = {"boolean": "a boolean (True/False, 1/0, Yes/No, Y/N)", "integer": "a whole number", "decimal": "a number"}
STORED = {"boolean": "a boolean, a number or text", "integer": "an integer, a decimal or text",
          "decimal": "a number or text", "date": "a date, a timestamp or text (such as 2025-12-31)"}
BLANK_TEXT = rf"^\s*((?i:{'|'.join(NULL_WORDS)})\s*)?$"  # a typed value that reads as blank
EXAMPLES = 3


def _pandera() -> ModuleType:
    return importlib.import_module("pandera.ibis")


def _patterns(loaded: LoadedTable, date_order: str, decimal_separator: str) -> dict[str, tuple[str, str]]:
    """Column -> (the pattern its exported text must match, what a mismatch means), for the text columns of
    typed Epicor columns (a Parquet column already typed needs none). A blank always matches."""
    out = {}
    for column in loaded.columns:
        spec = loaded.table.columns[column]
        if not is_text(loaded.raw_types[column]):
            continue
        if spec.codes:
            if column in loaded.facts.coded:  # the text scan found every value one of the codes
                continue
            out[column] = (rf"^\s*(?i:{'|'.join(spec.codes)})?\s*$", f"not one of the codes {', '.join(spec.codes)}")
        elif spec.type == "boolean":
            out[column] = (rf"{BLANK_TEXT}|{BOOLEAN_TEXT}", f"not {WHAT[spec.type]}")
        elif spec.type in ("integer", "decimal"):
            separator = loaded.separators.get(column, decimal_separator)
            out[column] = (rf"{BLANK_TEXT}|{number_text(spec.type, separator)}", _not_a_number(spec.type, separator))
        elif spec.type == "date":
            order = loaded.date_orders.get(column, date_order)
            out[column] = (rf"{BLANK_TEXT}|{date_text(order)}", _not_a_date(order))
    return out


def _not_a_number(kind: str, separator: str) -> str:
    if separator == MIXED:
        return ("mixes decimal points (2.5) and decimal commas (2,5), or writes thousands separators (1,234.50): "
                "export the column with one decimal separator and no thousands separator")
    if separator == COMMA:
        return (f"not {WHAT[kind]} written with a decimal comma (2,5), as this site's numbers are read; "
                "--decimal-separator point sets it if they are written 2.5")
    return f"not {WHAT[kind]}"


def _not_a_date(order: str) -> str:
    if order == MIXED:
        return ("mixes dates written day first (31/12/2025) and month first (12/31/2025): one of them cannot be "
                "read; export the column in one form, or as YYYY-MM-DD")
    other = SHOWN[DAY_FIRST if order == MONTH_FIRST else MONTH_FIRST]
    return (f"not a date (YYYY-MM-DD, D.M.YYYY, or {SHOWN[order]}, the order this site's slashed dates are read "
            f"in; --date-order sets it if they are {other})")


def _fractional(loaded: LoadedTable) -> list[str]:
    """Whole-number columns that the export stores as decimals or floats (a Parquet file written by pandas)."""
    return [c for c in loaded.columns
            if loaded.table.columns[c].type == "integer" and stored_as(loaded.raw_types[c]) == "decimal"]


def _whole(table: ibis.Table, columns: list[str]) -> ibis.BooleanValue:
    """Every value of the columns whole (NaN, a float's blank, passes)."""
    tests = [table[c].isnull() | table[c].cast("float64").isnan() | (table[c] == table[c].floor()) for c in columns]
    return functools.reduce(operator.and_, tests).all()


def _values_parse(table: ibis.Table, patterns: dict[str, tuple[str, str]]) -> ibis.BooleanValue:
    """Every distinct value of each column matches its pattern: an export repeats few values (flags, quantities,
    sequence numbers), and a regular expression costs more than grouping (docs/performance.md)."""
    tests = []
    for column, (pattern, _) in patterns.items():
        values = table.select(__v=table[column]).distinct()
        tests.append((values["__v"].isnull() | values["__v"].re_search(pattern)).all().as_scalar())
    return functools.reduce(operator.and_, tests)


def _schema(loaded: LoadedTable, patterns: dict[str, tuple[str, str]], fractional: list[str],
            raw: ibis.Table) -> pa.DataFrameSchema:
    """Every text value parses as its type and every whole number stored as a decimal is whole: one query each for
    the whole table (one pandera check per column costs a query and an ibis compile per column, ~100 on a CSV
    site)."""
    pa = _pandera()
    checks = []
    if patterns:
        checks.append(pa.Check(lambda data: _values_parse(raw, patterns), name="values_parse"))
    if fractional:
        checks.append(pa.Check(lambda data: _whole(raw, fractional), name="whole_numbers"))
    return pa.DataFrameSchema({c: pa.Column(None, nullable=True, coerce=False) for c in loaded.columns}, checks=checks)


def _example_rows(site: Site, loaded: LoadedTable, where: str) -> tuple[int, ...]:
    raw = quote(f"raw_{loaded.table.name}")
    rows = site.con.execute(f"SELECT __row FROM {raw} WHERE {where} ORDER BY __row LIMIT {EXAMPLES}").fetchall()
    return tuple(r[0] for r in rows)


def _blank_keys(site: Site, loaded: LoadedTable) -> list[Violation]:
    """Key columns with a blank value (null, '', only spaces; of a number or date, a NULL word or a float's NaN),
    each with its first rows. Only the columns the text scan did not find complete are looked at."""
    out = []
    for column in loaded.columns:
        spec = loaded.table.columns[column]
        if column not in loaded.table.key or spec.blank_key or column in loaded.facts.complete:
            continue
        blank = f"{quote(column)} IS NULL OR TRIM(CAST({quote(column)} AS VARCHAR)) = ''"
        if spec.type != "string":
            blank += f" OR {null_text(quote(column))}"
        if stored_as(loaded.raw_types[column]) == "decimal":  # a float's NaN is a blank too
            blank += f" OR isnan(CAST({quote(column)} AS DOUBLE))"
        rows = _example_rows(site, loaded, blank)
        if rows:
            out.append(Violation(loaded.table.name, loaded.source.where, column, "key column is blank", rows))
    return out


def _compared(loaded: LoadedTable, column: str) -> str:
    """SQL: a key column as SQL Server compares it (trailing spaces cut, any case), a blank as null, or as '' where
    a blank key is allowed (AltMethod); of a number written as text, a NULL word is blank too. What the text scan
    found already true of the column is not done again per row."""
    value, facts = quote(column), loaded.facts
    if not is_text(loaded.raw_types[column]):
        return value
    if loaded.table.columns[column].type != "string" and column not in facts.complete:
        value = f"CASE WHEN {null_text(value)} THEN NULL ELSE {value} END"
    value = value if column in facts.trimmed else f"rtrim({value})"
    value = value if column in facts.upper else f"upper({value})"
    if loaded.table.columns[column].blank_key:
        return f"coalesce({value}, '')"
    return value if column in facts.clean else f"nullif({value}, '')"


def _duplicate_key(site: Site, loaded: LoadedTable) -> list[Violation]:
    """Two rows with one key, with the first rows of such keys. The text scan counted the key as exported
    (TextFacts.unique_key), which answers for the key as compared when the comparison changes no value of it;
    otherwise the key as compared is counted here the same way, by DuckDB's distinct count of a 64-bit hash per row
    (it spills past the memory limit). A hash collision can only count a duplicate that is not there: the rows
    are then looked for exactly. A key column missing from the export: nothing to check (its duplicates would be
    false ones)."""
    key = loaded.table.key
    if not key or not all(c in loaded.columns for c in key):
        return []
    compared = [_compared(loaded, c) for c in key]
    if loaded.facts.unique_key and compared == [quote(c) for c in key]:
        return []
    raw = quote(f"raw_{loaded.table.name}")
    (unique,) = site.con.execute(f"SELECT {unique_sql(compared)} FROM {raw}").fetchone()
    if unique:
        return []
    rows = site.con.execute(
        f"SELECT __row FROM (SELECT __row, COUNT(*) OVER (PARTITION BY {', '.join(compared)}) AS n FROM {raw}) "
        f"WHERE n > 1 ORDER BY __row LIMIT {EXAMPLES}").fetchall()
    if not rows:
        return []
    return [Violation(loaded.table.name, loaded.source.where, None, f"duplicate key ({', '.join(key)})",
                      tuple(r[0] for r in rows))]


NO_ROWS = ("the export has a header but no data rows; if the site has none (no jobs yet before go-live), list the "
           "table under empty_tables in backflush.yaml")


def check_table(site: Site, loaded: LoadedTable, may_be_empty: bool = False) -> list[Violation]:
    """The table's violations; `may_be_empty`: the site says it has no rows (empty_tables in backflush.yaml). The
    export's column types and the text scan answer for typed keys; pandera checks what text (or a float) leaves
    open: values that parse, whole numbers."""
    name, file = loaded.table.name, loaded.source.where
    missing = [Violation(name, file, None, message)] if (message := loaded.missing_message()) else []
    if loaded.rows == 0:
        return missing if may_be_empty else [*missing, Violation(name, file, None, NO_ROWS)]
    columns = loaded.table.columns
    violations = missing + [Violation(name, file, c, f"stored as {loaded.raw_types[c]}, which does not read as "
                                           f"{columns[c].type}: expected {STORED[columns[c].type]}")
                            for c in loaded.columns if not readable(columns[c].type, loaded.raw_types[c])]
    violations += _blank_keys(site, loaded)
    patterns = _patterns(loaded, site.date_order, site.decimal_separator)
    fractional = _fractional(loaded)
    if patterns or fractional:
        raw = site.ibis().table(f"raw_{name}")
        try:
            _schema(loaded, patterns, fractional, raw).validate(raw, lazy=True)
        except _pandera().errors.SchemaErrors as errors:
            for failure in errors.schema_errors:
                check = str(failure.check)
                if "values_parse" in check:
                    violations += _unparsed(site, loaded, patterns)
                elif "whole_numbers" in check:
                    violations += _fractions(site, loaded)
                else:
                    column = failure.schema.name if failure.schema is not None and failure.schema.name in loaded.columns else None
                    violations.append(Violation(name, file, column, str(failure)))
    return violations + _duplicate_key(site, loaded)


def _unparsed(site: Site, loaded: LoadedTable, patterns: dict[str, tuple[str, str]]) -> list[Violation]:
    """The columns whose text does not parse, each with its first rows and values."""
    out = []
    for column, (pattern, problem) in patterns.items():
        found = site.con.execute(
            f"SELECT __row, {quote(column)} FROM {quote('raw_' + loaded.table.name)} WHERE {quote(column)} IS NOT NULL "
            f"AND NOT regexp_matches({quote(column)}, {literal(pattern)}) ORDER BY __row LIMIT {EXAMPLES}").fetchall()
        if found:
            out.append(Violation(loaded.table.name, loaded.source.where, column, problem,
                                 tuple(r[0] for r in found), tuple(str(r[1]) for r in found)))
    return out


def _fractions(site: Site, loaded: LoadedTable) -> list[Violation]:
    """The whole-number columns stored as decimals that hold a fraction, each with its first rows and values."""
    out = []
    for column in _fractional(loaded):
        value = f"CAST({quote(column)} AS DOUBLE)"
        found = site.con.execute(
            f"SELECT __row, {quote(column)} FROM {quote('raw_' + loaded.table.name)} WHERE NOT isnan({value}) "
            f"AND {value} <> floor({value}) ORDER BY __row LIMIT {EXAMPLES}").fetchall()
        if found:
            out.append(Violation(loaded.table.name, loaded.source.where, column, f"not {WHAT['integer']}",
                                 tuple(r[0] for r in found), tuple(str(r[1]) for r in found)))
    return out


def check_site(site: Site, empty_tables: frozenset[str] = frozenset()) -> dict[str, list[Violation]]:
    """Violations per table; tables that keep their contract are absent from the result. `empty_tables`: the
    tables whose export may hold no rows."""
    result = {}
    for name, loaded in site.tables.items():
        violations = check_table(site, loaded, name in empty_tables)
        if violations:
            result[name] = violations
    return result
