"""Exports -> engine tables: only the needed columns, with Epicor's names and types.

Column names may be bare (`PartNum`), BAQ style (`JobMtl_PartNum`) or dotted (`JobMtl.PartNum`),
in any case; other columns are ignored. Each table becomes a raw relation `raw_<Table>` (text as
exported, plus `__row`, the 1-based data row) and a typed view `<Table>` that the rules read:
booleans parsed from True/False, 1/0, Yes/No, Y/N; decimals and integers cast; blanks as null;
trailing spaces cut from text, as SQL Server ignores them when comparing.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from validator import decimals
from validator.csv_export import read_csv
from validator.date_order import FORMATS, MONTH_FIRST
from validator.date_order import evidence as date_evidence
from validator.decimals import POINT
from validator.errors import DataError
from validator.sources import (
    ROW,
    Naming,
    SourceFile,
    discover,
    header_text,
    is_workbook,
    look_alike_hint,
    parquet_parts,
)
from validator.sql_text import literal, quote
from validator.tables import COMPANY, Registry, Table
from validator.text_facts import NULL_WORDS, TextFacts, scan_text
from validator.told import AUTO, MIXED, decide, site_choice
from validator.xlsx_export import read_xlsx

TRUE_WORDS = ("TRUE", "T", "YES", "Y", "1", "-1")
FALSE_WORDS = ("FALSE", "F", "NO", "N", "0")


@dataclass
class LoadedTable:
    table: Table
    source: SourceFile
    columns: dict[str, str]  # Epicor column -> column name in the export
    absent_optional: tuple[str, ...]
    rows: int
    raw_types: dict[str, str] = field(default_factory=dict)
    facts: TextFacts = field(default_factory=TextFacts)
    date_orders: dict[str, str] = field(default_factory=dict)  # column with slashed dates -> MONTH_FIRST, DAY_FIRST, MIXED
    missing: tuple[str, ...] = ()  # needed columns the export lacks: the contract reports them; the view reads blanks
    separators: dict[str, str] = field(default_factory=dict)  # text number column with a . or , -> POINT, COMMA, MIXED
    headers: tuple[str, ...] = ()  # the export's whole header

    def missing_message(self) -> str | None:
        """What the export lacks, as the contract and the commands that cannot go on without it say it, with the
        unread headers that look like a missing column."""
        if not self.missing:
            return None
        name, first = self.table.name, self.missing[0]
        if not self.columns and _looks_like_data(self.headers):
            shown = ", ".join(repr(h) for h in self.headers[:5]) + (", ..." if len(self.headers) > 5 else "")
            return (f"the first row looks like data, not column names ({shown}), so the columns "
                    f"{', '.join(self.missing)} were not found: export the table with its header row (SQL Server "
                    "Management Studio saves results without one unless Tools > Options > Query Results > SQL Server "
                    "> Results to Grid > 'Include column headers when copying or saving the results' is on)")
        unread = {label_key(h): h for h in self.headers if h not in self.columns.values() and label_key(h)}
        alike = [f"{unread[near]!r} looks like {column}" for column in self.missing
                 for near in difflib.get_close_matches(label_key(column), list(unread), n=1, cutoff=0.75)]
        hint = f"; {', '.join(alike)}" if alike else ""
        return (f"missing column(s) {', '.join(self.missing)} needed by the selected rules; a header such as {first}, "
                f"{name}_{first}, {name}.{first} or {_spaced(first)} (any case) is expected{hint}; name the export's "
                f"own header under exports: {name}: columns: in backflush.yaml, or run fewer rules with --rule or --tag "
                "if the export cannot carry it")


@dataclass
class Site:
    """The tables of one site, loaded into a DuckDB connection."""

    con: duckdb.DuckDBPyConnection
    folder: Path
    tables: dict[str, LoadedTable] = field(default_factory=dict)
    absent: dict[str, str] = field(default_factory=dict)  # table -> why it is not there
    date_order: str = MONTH_FIRST  # of a text date column without slashed dates to tell its own
    decimal_separator: str = POINT  # of a text number column without a value to tell its own
    _backend: Any = field(default=None, repr=False)

    def ibis(self) -> Any:
        """The ibis DuckDB backend over this site's connection, made once: a contract per table and the compiler's
        catalog share one."""
        if self._backend is None:
            import ibis

            self._backend = ibis.duckdb.from_connection(self.con)
        return self._backend


_VALUE = re.compile(r"\s*([-+]?\d+([.,]\d+)?|(?i:true|false|yes|no)|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}.*)\s*")


def _looks_like_data(headers: tuple[str, ...]) -> bool:
    """Whether a header row is a data row: at least half of its cells are numbers, booleans or dates (an Epicor
    column name never is)."""
    cells = [h for h in headers if h.strip()]
    return bool(cells) and 2 * sum(bool(_VALUE.fullmatch(h)) for h in cells) >= len(cells)


def _spaced(column: str) -> str:
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


def _wanted_columns(table: Table, headers: list[str], wanted: set[str], source: SourceFile) -> dict[str, str]:
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


def _text_table(source: SourceFile, table: Table, wanted: set[str]) -> tuple[pa.Table, list[str]]:
    """The export's wanted columns as text (a wanted column exported twice is an error, from the whole header),
    and the whole header."""
    header: list[str] = []

    def columns(headers: list[str]) -> list[str]:
        header.extend(headers)
        return list(_wanted_columns(table, headers, wanted, source).values())
    if source.format == "csv":
        return read_csv(source.path, columns), header
    return read_xlsx(source.path, source.sheet or source.table, columns), header


def is_text(raw_type: str) -> bool:
    """Whether an export holds a column as text (every CSV/XLSX column, a Parquet string column)."""
    return raw_type.upper() == "STRING" or raw_type.upper().startswith("VARCHAR")


_FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")  # the numbers that may hold NaN
_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
                  "UHUGEINT"}
# Epicor type -> how an export may store it besides text (every column may be text)
READABLE = {"boolean": {"boolean", "integer", "decimal"}, "integer": {"integer", "decimal"},
            "decimal": {"integer", "decimal"}, "date": {"date"}}


def stored_as(raw_type: str) -> str:
    """The family of an export's column type: text, boolean, integer, decimal, date, or other (a list, a blob)."""
    upper = raw_type.upper()
    if is_text(upper):
        return "text"
    if upper in _INTEGER_TYPES:
        return "integer"
    if upper.startswith(("DECIMAL", *_FLOAT_TYPES)):
        return "decimal"
    if upper.startswith(("DATE", "TIMESTAMP")):
        return "date"
    return "boolean" if upper == "BOOLEAN" else "other"


def readable(kind: str, raw_type: str) -> bool:
    """Whether a column stored as `raw_type` reads as the Epicor type `kind` (else the contract reports it)."""
    family = stored_as(raw_type)
    return family == "text" or kind == "string" or family in READABLE[kind]


def null_text(col: str) -> str:
    """SQL: whether the text of a boolean, number or date column reads as blank (blank, or one of NULL_WORDS)."""
    return f"UPPER(TRIM(CAST({col} AS VARCHAR))) IN ('', {', '.join(map(literal, NULL_WORDS))})"


def _typed(column: str, kind: str, raw_type: str | None, clean: bool = False, order: str = MONTH_FIRST,
           separator: str = POINT, trimmed: bool = False) -> str:
    """SQL for one typed column of the view; invalid text becomes null (contracts report it first). A `clean`
    text column (never blank, no trailing space) is read as it is, a `trimmed` one (no trailing space) only
    has '' turned into null; `order`: of a date written with slashes; `separator`: the decimal separator of
    a number written as text."""
    if raw_type is None or not readable(kind, raw_type):  # absent, or stored as a type that does not read
        sql_type = {"string": "VARCHAR", "boolean": "BOOLEAN", "integer": "BIGINT", "decimal": "DOUBLE", "date": "DATE"}
        return f"CAST(NULL AS {sql_type[kind]}) AS {quote(column)}"
    col = quote(column)
    text = is_text(raw_type)
    blank = f"CASE WHEN {null_text(col)} THEN NULL ELSE TRIM(CAST({col} AS VARCHAR)) END"
    number = col  # a number stored as a float: NaN is a blank (pandas writes a missing number so)
    if raw_type.upper().startswith(_FLOAT_TYPES):
        number = f"CASE WHEN isnan({col}) THEN NULL ELSE {col} END"
    if kind == "string":
        expr = f"NULLIF(RTRIM(CAST({col} AS VARCHAR)), '')"
        if text and trimmed:  # no trailing space to cut (a clean column is trimmed too, and holds no '')
            expr = col if clean else f"NULLIF({col}, '')"
    elif kind == "boolean":
        if raw_type.upper() == "BOOLEAN":
            expr = col
        elif not text:
            expr = f"({number} <> 0)"
        else:
            words = lambda ws: ", ".join(f"'{w}'" for w in ws)  # noqa: E731
            word = f"UPPER(TRIM(CAST({col} AS VARCHAR)))"  # a blank or a NULL word is neither: null
            expr = (f"CASE WHEN {word} IN ({words(TRUE_WORDS)}) THEN TRUE "
                    f"WHEN {word} IN ({words(FALSE_WORDS)}) THEN FALSE END")
    elif kind == "integer":
        # a fraction stored as a decimal is reported by the contract (whole_numbers) before any rule reads it
        # most whole numbers are written as such (10) and cast straight; 10.00000000 goes through a decimal, whose
        # parse costs far more than a BIGINT one
        written = decimals.as_point(blank, separator)
        expr = (f"COALESCE(TRY_CAST({written} AS BIGINT), TRY_CAST(TRY_CAST({written} AS DECIMAL(38, 10)) AS BIGINT))"
                if text else f"TRY_CAST({number} AS BIGINT)")
    elif kind == "decimal":
        expr = f"TRY_CAST({decimals.as_point(blank, separator)} AS DOUBLE)" if text else f"CAST({number} AS DOUBLE)"
    else:  # date
        formats = ", ".join(literal(f) for f in FORMATS[MONTH_FIRST if order == MIXED else order])
        expr = (f"COALESCE(TRY_CAST(TRY_CAST({blank} AS TIMESTAMP) AS DATE), "
                f"TRY_CAST(TRY_STRPTIME({blank}, [{formats}]) AS DATE))" if text else f"CAST({col} AS DATE)")
    return f"{expr} AS {col}"


def _file_list(parts: list[Path]) -> str:
    return f"[{', '.join(literal(str(p)) for p in parts)}]"


def _row_offsets(con: duckdb.DuckDBPyConnection, parts: list[Path]) -> str:
    """SQL: the rows of the files before a row's file (`__file`): a table's rows are numbered across its files in
    name order, so that a contract's "row N" names one row of a table Spark wrote as many files."""
    counts = dict(con.execute(f"SELECT file_name, sum(row_group_num_rows) FROM (SELECT DISTINCT file_name, row_group_id, "
                              f"row_group_num_rows FROM parquet_metadata({_file_list(parts)})) GROUP BY file_name").fetchall())
    offsets, before = [], 0
    for path in parts:
        offsets.append(f"WHEN {literal(str(path))} THEN {before}")
        before += int(counts.get(str(path), 0))
    return f"CASE __file {' '.join(offsets)} END"


def _register_raw(con: duckdb.DuckDBPyConnection, source: SourceFile, table: Table,
                  wanted: set[str]) -> tuple[dict[str, str], int, list[str]]:
    """Register the export's wanted columns as `raw_<Table>`: Epicor column -> its header, the rows, the whole header."""
    raw = quote(f"raw_{table.name}")
    if source.format == "parquet":
        parts = parquet_parts(source.path) if source.path.is_dir() else [source.path]
        files = literal(str(parts[0])) if len(parts) == 1 else f"{_file_list(parts)}, filename = '__file'"
        scan = f"read_parquet({files}, file_row_number = true)"
        try:
            headers = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()]
            row = "file_row_number + 1" + (f" + {_row_offsets(con, parts)}" if len(parts) > 1 else "")
        except duckdb.Error as exc:
            reason = str(exc).strip().splitlines()[0]  # DuckDB adds the query it ran, which says nothing to a user
            raise DataError(f"cannot read as Parquet: {reason}", location=str(source.path)) from None
        mapping = _wanted_columns(table, headers, wanted, source)
        select = ", ".join(f"{quote(h)} AS {quote(c)}" for c, h in mapping.items())
        columns = ", ".join([f"{row} AS __row", *([select] if select else [])])
        con.execute(f"CREATE OR REPLACE VIEW {raw} AS SELECT {columns} FROM {scan}")
        rows = con.execute(f"SELECT COUNT(*) FROM {scan}").fetchone()[0]
        return mapping, rows, headers
    data, headers = _text_table(source, table, wanted)
    return _register_text(con, table, data, wanted, source), data.num_rows, headers


def _register_text(con: duckdb.DuckDBPyConnection, table: Table, data: pa.Table, wanted: set[str],
                   source: SourceFile) -> dict[str, str]:
    """Register an Arrow table of text as `raw_<Table>` with Epicor's column names and `__row` (the export's data row
    when the reader numbered them, else the row of `data`)."""
    mapping = _wanted_columns(table, data.column_names, wanted, source)
    rows = data.column(ROW) if ROW in data.column_names else pa.array(range(1, data.num_rows + 1), pa.int64())
    arrays = {"__row": rows}
    arrays.update({c: data.column(h) for c, h in mapping.items()})
    con.register(f"raw_{table.name}", pa.table(arrays))
    return mapping


def _raw_types(site: Site, name: str) -> dict[str, str]:
    return {r[0]: r[1] for r in site.con.execute(f"DESCRIBE {quote('raw_' + name)}").fetchall()}


def _text_columns(table: Table, mapping: dict[str, str], raw_types: dict[str, str], *kinds: str) -> list[str]:
    return sorted(c for c in mapping if table.columns[c].type in kinds and is_text(raw_types[c]))


def _typed_view(site: Site, table: Table, source: SourceFile, columns: set[str], mapping: dict[str, str],
                rows: int, asked: set[str], raw_types: dict[str, str], date_orders: dict[str, str],
                separators: dict[str, str]) -> None:
    name = table.name
    missing = tuple(sorted(c for c in columns if c not in mapping and not table.columns[c].optional
                           and not table.columns[c].history))
    absent = tuple(sorted(c for c in columns if c not in mapping and c not in missing))
    text = {c: is_text(raw_types[c]) for c in sorted(mapping) if table.columns[c].type == "string"}
    # a key's number written as text (MtlSeq in a CSV): the scan tells whether the contract must look for blanks
    typed = frozenset(c for c in table.key if c in mapping and c not in text and is_text(raw_types[c]))
    facts = scan_text(site.con, f"raw_{name}", {**text, **dict.fromkeys(typed, True)}, asked, typed)
    select = ", ".join(_typed(c, table.columns[c].type, raw_types.get(c), c in facts.clean,
                              date_orders.get(c, site.date_order), separators.get(c, site.decimal_separator),
                              c in facts.trimmed)
                       for c in sorted(columns))
    site.con.execute(f"CREATE OR REPLACE VIEW {quote(name)} AS SELECT {select} FROM {quote('raw_' + name)}")
    site.tables[name] = LoadedTable(table, source, mapping, absent, rows, raw_types, facts, date_orders, missing,
                                    separators)


def materialize_text_tables(site: Site) -> None:
    """Each table exported as text (CSV, XLSX) becomes a typed table once its contract is checked: the passes then
    read native values instead of casting the text again in every scan. Parquet is typed already and stays a
    view."""
    for name, loaded in site.tables.items():
        if loaded.source.format == "parquet":
            continue
        typed = quote(f"typed_{name}")
        site.con.execute(f"CREATE OR REPLACE TEMP TABLE {typed} AS SELECT * FROM {quote(name)}")
        site.con.execute(f"CREATE OR REPLACE VIEW {quote(name)} AS SELECT * FROM {typed}")
        site.con.unregister(f"raw_{name}")  # the text is read no more: its memory goes


def require_columns(site: Site) -> None:
    """For a command that cannot go on without them: the first export that lacks a needed column is an error."""
    for loaded in site.tables.values():
        message = loaded.missing_message()
        if message:
            raise DataError(message, location=loaded.source.where)


def load_site(folder: Path, registry: Registry, needs: dict[str, set[str]],
              con: duckdb.DuckDBPyConnection | None = None, records: dict[str, pa.Table] | None = None,
              documents: dict[str, tuple[Path, pa.Table]] | None = None, date_order: str = AUTO,
              decimal_separator: str = AUTO, named: Mapping[str, Naming] | None = None) -> Site:
    """Load the needed columns of the needed tables; a needed column an export lacks reads as blank and is kept in
    its LoadedTable.missing (the contract reports it; require_columns makes it an error).
    `records` gives the tables in memory as text columns instead (rule examples, tests); `documents`
    adds tables read from other files as text columns (the site's attestations). `date_order`: of dates
    written with slashes (validator/date_order.py), `decimal_separator`: of numbers written as text
    (validator/decimals.py), each found from the values unless given; `named`: what backflush.yaml's `exports:`
    says of some tables' files and headers."""
    site = Site(con or duckdb.connect(), folder)
    # a timestamp with a zone (Parquet from Spark or pandas) is read as its date in UTC, whatever the machine's zone:
    # the same export gives the same findings on every machine
    site.con.execute("SET TimeZone = 'UTC'")
    if records is None:
        sources = discover(folder, [n for n in needs if n not in (documents or {})], named)
        records = {}
    else:
        sources = {name: SourceFile(name, folder / name, "records") for name in records}
    for name, (path, rows) in (documents or {}).items():
        sources[name] = SourceFile(name, path, "records")
        records = {**records, name: rows}
    registered = {}
    for name, columns in sorted(needs.items()):
        table = registry.tables[name]
        source = sources.get(name)
        if source is None:
            hint = look_alike_hint(folder, name, list(registry.tables))
            looked = f"a sheet named {name}" if is_workbook(folder) else f"{name}.csv, .parquet or .xlsx"
            site.absent[name] = f"no export of {name} in {folder} (looked for {looked}{hint})"
            continue
        if source.format != "records":
            mapping, rows, headers = _register_raw(site.con, source, table, columns)
        else:
            data = records[name]
            mapping, rows, headers = _register_text(site.con, table, data, columns, source), data.num_rows, data.column_names
        registered[name] = (table, source, columns, mapping, rows, _raw_types(site, name), tuple(headers))
    told_dates, told_numbers = {}, {}
    for name, (table, _, _, mapping, _, raw_types, _) in registered.items():
        dates = date_evidence(site.con, f"raw_{name}", _text_columns(table, mapping, raw_types, "date"))
        numbers = decimals.evidence(site.con, f"raw_{name}", _text_columns(table, mapping, raw_types, "integer", "decimal"))
        told_dates.update({(name, column): told for column, told in dates.items()})
        told_numbers.update({(name, column): told for column, told in numbers.items()})
    orders = decide(told_dates, date_order, MONTH_FIRST)
    site.date_order = site_choice(told_dates, date_order, MONTH_FIRST)
    separators = decide(told_numbers, decimal_separator, POINT)
    site.decimal_separator = site_choice(told_numbers, decimal_separator, POINT)
    asked = join_columns(registry)
    for name, (table, source, columns, mapping, rows, raw_types, headers) in registered.items():
        date_orders = {column: order for (owner, column), order in orders.items() if owner == name}
        numbers = {column: separator for (owner, column), separator in separators.items() if owner == name}
        _typed_view(site, table, source, columns, mapping, rows, asked.get(name, set()) | set(table.key), raw_types,
                    date_orders, numbers)
        site.tables[name].headers = headers
    return site


@dataclass(frozen=True)
class JoinKeys:
    """What the text scans of the tables read tell the compiler. `upper`: text join columns whose every value
    present is upper case (trailing spaces are cut by the view); `complete`: those never null nor blank. A join on an
    upper-case column against a complete one needs no UPPER per row. `one_company`: every row of every
    table read has one and the same Company (most exports are of one company), so joining on Company is
    always true and is left out."""

    upper: frozenset[tuple[str, str]]
    complete: frozenset[tuple[str, str]]
    one_company: bool

    def level(self, table: str, column: str) -> int:
        """The compiler's Canonical: 2 upper case and never blank, 1 upper case, 0 neither (or not text)."""
        if (table, column) not in self.upper:
            return 0
        return 2 if (table, column) in self.complete else 1


def join_columns(registry: Registry) -> dict[str, set[str]]:
    """Table -> the columns some relation joins on (Company always among them)."""
    wanted: dict[str, set[str]] = {}
    for table in registry.tables.values():
        for relation in table.relations.values():
            for local, remote in (*relation.on, (COMPANY, COMPANY)):
                if "." not in local:
                    wanted.setdefault(table.name, set()).add(local)
                wanted.setdefault(relation.target, set()).add(remote)
    return wanted


def join_keys(site: Site) -> JoinKeys:
    """The join facts of every table read, from the scan each got when it was loaded."""
    upper = {(name, c) for name, loaded in site.tables.items() for c in loaded.facts.upper}
    complete = {(name, c) for name, loaded in site.tables.items() for c in loaded.facts.complete}
    companies = {loaded.facts.company for loaded in site.tables.values() if COMPANY in loaded.columns and loaded.rows}
    return JoinKeys(frozenset(upper), frozenset(complete), len(companies) == 1 and None not in companies)
