"""Table contracts, checked with pandera (ibis backend) on the raw exports before any rule runs.

A contract is built from schemas/tables for the columns the selected rules read: values that parse
as their Epicor type, allowed codes, key columns present and the table's key unique (compared as
SQL Server compares keys: case-insensitive, trailing spaces ignored), and at least one data row.
"""

from __future__ import annotations

import functools
import importlib
import math
import operator
import threading
from types import ModuleType
from typing import TYPE_CHECKING

import ibis
import ibis.expr.datatypes as dt

from validator.engines.duckdb.date_order import SHOWN, date_text
from validator.engines.duckdb.decimals import number_text
from validator.engines.duckdb.load import DuckDBSite as Site
from validator.engines.duckdb.load import is_text, null_text, readable, stored_as
from validator.engines.duckdb.sql_text import literal, quote
from validator.findings import Violation
from validator.site import NULL_WORDS, LoadedTable
from validator.told import COMMA, DAY_FIRST, MIXED, MONTH_FIRST

if TYPE_CHECKING:
    import pandera.ibis as pa

BOOLEAN_TEXT = r"^\s*(?i:true|false|t|f|yes|no|y|n|1|0|-1)\s*$"
WHAT = {"boolean": "a boolean (True/False, 1/0, Yes/No, Y/N)", "integer": "a whole number", "decimal": "a number"}
STORED = {"boolean": "a boolean, a number or text", "integer": "an integer, a decimal or text",
          "decimal": "a number or text", "date": "a date, a timestamp or text (such as 2025-12-31)"}
BLANK_TEXT = rf"^\s*((?i:{'|'.join(NULL_WORDS)})\s*)?$"  # a typed value that reads as blank
EXAMPLES = 3
HASHES_AT_ONCE = 16_000_000  # key hashes sorted at a time: 8 bytes each, ~128 MiB
# what the contracts import besides the rules' own modules (pandera brings pandas along), imported in the background
CONTRACT_MODULES = ("pandera.ibis", "ibis.backends.duckdb")


def preload() -> None:
    """Import the contracts' modules in the background while the exports are read: reading is DuckDB's work,
    which releases the GIL, so the imports cost the run little wall time. A failed import is left to the
    contract's own import, which reports it."""
    def load() -> None:
        try:
            for name in CONTRACT_MODULES:
                importlib.import_module(name)
        except ImportError:
            pass

    threading.Thread(target=load, name="preload-contract-modules").start()


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


def _schema(loaded: LoadedTable, patterns: dict[str, tuple[str, str]], raw: ibis.Table) -> pa.DataFrameSchema:
    """Key columns may not be blank (per column); every text value parses as its type, every whole number
    stored as a decimal is whole, and the key is unique (one query each for the whole table: one pandera check
    per column costs a query and an ibis compile per column, ~100 on a CSV site)."""
    key = [c for c in loaded.table.key if c in loaded.columns]
    whole_key = len(key) == len(loaded.table.key)  # a key column missing: its duplicates would be false ones
    # the key columns pandera looks for blanks in: a column the text scan found never null nor blank needs no query
    looked_at = {c for c in key if not loaded.table.columns[c].blank_key and c not in loaded.facts.complete}
    pa = _pandera()
    columns = {c: pa.Column(None, nullable=c not in looked_at, coerce=False) for c in loaded.columns}
    checks = []
    if patterns:
        # the text as exported: a key's normalising (NULL words, case, trailing spaces) changes no value's match
        checks.append(pa.Check(lambda data: _values_parse(raw, patterns), name="values_parse"))
    fractional = _fractional(loaded)
    if fractional:
        checks.append(pa.Check(lambda data: _whole(data.table, fractional), name="whole_numbers"))
    if key and whole_key:
        checks.append(pa.Check(lambda data: _no_duplicates(data.table, key, loaded.rows), name="unique_key"))
    return pa.DataFrameSchema(columns, checks=checks)


def _values_parse(table: ibis.Table, patterns: dict[str, tuple[str, str]]) -> ibis.BooleanValue:
    """Every distinct value of each column matches its pattern: an export repeats few values (flags, quantities,
    sequence numbers), and a regular expression costs more than grouping (docs/performance.md)."""
    tests = []
    for column, (pattern, _) in patterns.items():
        values = table.select(__v=table[column]).distinct()
        tests.append((values["__v"].isnull() | values["__v"].re_search(pattern)).all().as_scalar())
    return functools.reduce(operator.and_, tests)


@ibis.udf.scalar.builtin(name="hash")
def _hash(value) -> dt.uint64:  # noqa: ANN001 - DuckDB's own hash of any value, as it is (no cast)
    """DuckDB's 64-bit hash; ibis's own `hash()` converts it to a signed integer through a bit string, which
    costs more (docs/performance.md)."""


def _no_duplicates(table: ibis.Table, key: list[str], rows: int) -> ibis.BooleanValue:
    """No key hash shared by two rows: one 64-bit hash per row of the key columns (not of their text) keeps memory
    small on 10M-row tables. Sorted, equal hashes are neighbours. numpy sorts them, faster than DuckDB's sort
    through a window (docs/performance.md); a table of more than HASHES_AT_ONCE rows is sorted in parts by hash
    value (equal hashes fall in one part), so memory stays bounded.
    A hash collision can only report a duplicate that is not there; check_table confirms it exactly."""
    hashes = table.select(__key=_hash(ibis.struct({c: table[c] for c in key})))
    parts = max(1, math.ceil(rows / HASHES_AT_ONCE))
    for part in range(parts):
        chunk = hashes if parts == 1 else hashes.filter(hashes["__key"] % parts == part)
        values = chunk.to_pyarrow()["__key"].to_numpy()
        if not values.flags.writeable:  # the hashes came as one Arrow chunk, which numpy views instead of copying
            values = values.copy()
        values.sort()
        if bool((values[1:] == values[:-1]).any()):
            return ibis.literal(False)
    return ibis.literal(True)


def _key_value(value: ibis.StringValue, blank_key: bool, clean: bool, upper: bool, typed: bool,
               trimmed: bool = False) -> ibis.StringValue:
    """A key as SQL Server compares it (trailing spaces cut, any case), a blank as null, or as '' where a blank
    key is allowed; of a `typed` key (a number written as text, which the text scan did not find complete), a NULL
    word is blank too. What the table's text scan found already true (`clean`, `trimmed`, `upper`: see
    TextFacts) is not done again per row."""
    if typed:
        value = value.strip().upper().isin(NULL_WORDS).ifelse(ibis.null("string"), value)
    value = value if trimmed else value.rstrip()  # a clean key is trimmed too
    value = value if upper else value.upper()
    if blank_key:
        return value.fill_null("")
    return value if clean else value.nullif("")


def _example_rows(site: Site, loaded: LoadedTable, where: str) -> tuple[int, ...]:
    raw = quote(f"raw_{loaded.table.name}")
    rows = site.con.execute(f"SELECT __row FROM {raw} WHERE {where} ORDER BY __row LIMIT {EXAMPLES}").fetchall()
    return tuple(r[0] for r in rows)


NO_ROWS = ("the export has a header but no data rows; if the site has none (no jobs yet before go-live), list the "
           "table under empty_tables in backflush.yaml")


def check_table(site: Site, loaded: LoadedTable, may_be_empty: bool = False) -> list[Violation]:
    """The table's violations; `may_be_empty`: the site says it has no rows (empty_tables in backflush.yaml)."""
    name, file = loaded.table.name, loaded.source.where
    missing = [Violation(name, file, None, message)] if (message := loaded.missing_message()) else []
    if loaded.rows == 0:
        return missing if may_be_empty else [*missing, Violation(name, file, None, NO_ROWS)]
    columns = loaded.table.columns
    stored = missing + [Violation(name, file, c, f"stored as {loaded.raw_types[c]}, which does not read as "
                                       f"{columns[c].type}: expected {STORED[columns[c].type]}")
              for c in loaded.columns if not readable(columns[c].type, loaded.raw_types[c])]
    raw = site.ibis().table(f"raw_{name}")
    key = [c for c in loaded.table.key if c in loaded.columns]
    normalised = raw.mutate(**{c: _key_value(raw[c], columns[c].blank_key, c in loaded.facts.clean,
                                             c in loaded.facts.upper,
                                             columns[c].type != "string" and c not in loaded.facts.complete,
                                             c in loaded.facts.trimmed)
                               for c in key if raw[c].type().is_string()})
    patterns = _patterns(loaded, site.date_order, site.decimal_separator)
    try:
        _schema(loaded, patterns, raw).validate(normalised, lazy=True)
        return stored
    except _pandera().errors.SchemaErrors as errors:
        failures = errors.schema_errors
    violations = []
    for failure in failures:
        column = failure.schema.name if failure.schema is not None and failure.schema.name in loaded.columns else None
        check = str(failure.check)
        if "unique_key" in check:
            cols = ", ".join(quote(c) for c in key)
            norm = ", ".join(f"UPPER(RTRIM(CAST({quote(c)} AS VARCHAR)))" for c in key)
            rows = site.con.execute(
                f"SELECT __row FROM (SELECT __row, COUNT(*) OVER (PARTITION BY {norm}) AS n FROM \"raw_{name}\") "
                f"WHERE n > 1 ORDER BY __row LIMIT {EXAMPLES}").fetchall()
            if rows:  # none: a hash collision, not a duplicate
                violations.append(Violation(name, file, None, f"duplicate key ({cols.replace(chr(34), '')})",
                                            tuple(r[0] for r in rows)))
        elif "values_parse" in check:
            violations += _unparsed(site, loaded, patterns)
        elif "whole_numbers" in check:
            violations += _fractions(site, loaded)
        elif "nullable" in check:
            blank = f"{quote(column)} IS NULL OR TRIM(CAST({quote(column)} AS VARCHAR)) = ''"
            if columns[column].type != "string":
                blank += f" OR {null_text(quote(column))}"
            if stored_as(loaded.raw_types[column]) == "decimal":  # a float's NaN is a blank too
                blank += f" OR isnan(CAST({quote(column)} AS DOUBLE))"
            rows = _example_rows(site, loaded, blank)
            violations.append(Violation(name, file, column, "key column is blank", rows))
        else:
            violations.append(Violation(name, file, column, str(failure)))
    return stored + violations


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
