"""The tables of one site as an engine loaded them: what each export gave (its columns and rows, what its text
scans found), what is absent and why. Plain values: the engine that loaded them keeps its own handle beside."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from validator.sources import Export, Source
from validator.sources.headers import label_key, looks_like_data, spaced
from validator.tables import COMPANY, Registry, Table
from validator.told import MONTH_FIRST, POINT

# A boolean, number or date written as one of these (any case) is blank: SQL Server Management Studio writes a null
# as NULL, Python a missing number as nan. Text keeps them: a part or company may be called NULL or NA.
NULL_WORDS = ("NULL", "NAN")


@dataclass(frozen=True)
class TextFacts:
    """`clean`: columns never '' and never ending in a space (the typed view reads such text as it is; a column
    exported as a number or date is clean). `trimmed`: columns with no value ending in a space, the clean ones
    and those that only hold '' for a blank (the view then turns '' into null without trimming every value).
    Of the columns asked about: `upper`, every value present is upper case; `complete`, never null and never
    blank. `company`: the one Company of every row (upper case, trailing spaces cut), when there is exactly
    one and no row lacks it. `unique_key`: every column of the table's key exported and no two rows with the
    same key as exported (by a 64-bit hash of it: a collision only makes it false). `coded`: columns with codes
    (LaborEntryMethod T/Q/B/X) whose every value is one of them or blank (any case, spaces around)."""

    clean: frozenset[str] = frozenset()
    trimmed: frozenset[str] = frozenset()
    upper: frozenset[str] = frozenset()
    complete: frozenset[str] = frozenset()
    company: str | None = None
    unique_key: bool = False
    coded: frozenset[str] = frozenset()



@dataclass
class LoadedTable:
    table: Table
    source: Export
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
        if not self.columns and looks_like_data(self.headers):
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
                f"{name}_{first}, {name}.{first} or {spaced(first)} (any case) is expected{hint}; name the export's "
                f"own header under exports: {name}: columns: in backflush.yaml, or run fewer rules with --rule or --tag "
                "if the export cannot carry it")


@dataclass
class Site:
    """The tables of one site, loaded by an engine (which subclasses this with its own handle on them)."""

    source: Source
    tables: dict[str, LoadedTable] = field(default_factory=dict)
    absent: dict[str, str] = field(default_factory=dict)  # table -> why it is not there
    date_order: str = MONTH_FIRST  # of a text date column without slashed dates to tell its own
    decimal_separator: str = POINT  # of a text number column without a value to tell its own

    def require_columns(self) -> None:
        """For a command that cannot go on without them: the first export that lacks a needed column is an error."""
        for loaded in self.tables.values():
            message = loaded.missing_message()
            if message:
                from validator.errors import DataError

                raise DataError(message, location=loaded.source.where)


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
                if "." not in remote:
                    wanted.setdefault(relation.target, set()).add(remote)
    return wanted


def join_keys(site: Site) -> JoinKeys:
    """The join facts of every table read, from the scan each got when it was loaded."""
    upper = {(name, c) for name, loaded in site.tables.items() for c in loaded.facts.upper}
    complete = {(name, c) for name, loaded in site.tables.items() for c in loaded.facts.complete}
    companies = {loaded.facts.company for loaded in site.tables.values() if COMPANY in loaded.columns and loaded.rows}
    return JoinKeys(frozenset(upper), frozenset(complete), len(companies) == 1 and None not in companies)
