"""What one aggregate scan of an export's text columns tells the reader, the contracts and the compiler.

SQL Server ignores trailing spaces and (by the usual collation) case when it compares keys, so the typed
view cuts trailing spaces and turns blanks into null, and joins compare keys in upper case. Most exports
have neither trailing spaces nor lower case keys: one scan finds out, and then the view reads such a
column as it is and a join compares it as it is, which saves more per scan of the table than the one scan
costs (docs/performance.md). Whether no two rows share a key is read from the key's order when the export is
written in key order (a streaming scan of the key columns), else counted in the same scan.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

from validator.engines.duckdb.sql_text import literal, quote
from validator.site import NULL_WORDS, TextFacts
from validator.tables import COMPANY


def unique_sql(values: list[str]) -> str:
    """SQL aggregate: whether no two rows share these values, as DuckDB's distinct count of one 64-bit hash per row
    (it spills past the memory limit; a hash collision can only make it false)."""
    return f"count(DISTINCT hash({', '.join(values)})) = count(*)"


PROBE_ROWS = 100_000  # the rows read first to see whether an export is in key order


def in_key_order(con: duckdb.DuckDBPyConnection, relation: str, key: list[str], limit: int | None = None) -> bool:
    """Whether, read in one order, each row's key (these columns, compared as stored) comes after the row's before
    it: then no two rows share it. An export written in key order (a table read whole from SQL Server usually comes
    in its clustered key's order) answers so in a streaming scan of the key columns, cheaper than a distinct count;
    a null, an equal or a smaller key answers no. Leaving a column of the key out can only answer no more often.
    `limit`: only the first rows read."""
    if not key:
        return False
    names = [quote(c) for c in key]
    after = f"{names[-1]} > __prev{len(key) - 1}"
    for index in range(len(key) - 2, -1, -1):
        after = f"{names[index]} > __prev{index} OR ({names[index]} = __prev{index} AND ({after}))"
    previous = ", ".join(f"lag({name}) OVER () AS __prev{index}" for index, name in enumerate(names))
    rows = quote(relation) if limit is None else f"(SELECT {', '.join(names)} FROM {quote(relation)} LIMIT {limit})"
    (out_of_order,) = con.execute(f"SELECT count(*) FILTER (WHERE ({after}) IS NOT TRUE) "
                                  f"FROM (SELECT {', '.join(names)}, {previous} FROM {rows})").fetchone()
    return out_of_order <= 1  # the first row, without one before it, is always counted


def scan_text(con: duckdb.DuckDBPyConnection, relation: str, text: dict[str, bool], asked: set[str],
              typed: frozenset[str] = frozenset(), key: tuple[str, ...] = (),
              stored: Mapping[str, bool] | None = None, codes: Mapping[str, tuple[str, ...]] | None = None) -> TextFacts:
    """One aggregate scan of `relation` (a second, of the few columns concerned, only when a key column has trailing
    spaces but no null and no empty value: whether some value is nothing but spaces; one of the key columns, when
    the export's first rows are in key order).
    `text`: column -> whether the export holds it as text (VARCHAR); a column held as a number or date has neither
    trailing spaces nor blanks. `asked`: the key and join columns whose case and completeness matter (Company always:
    the one company needs it complete). `typed`: columns of `text` that hold numbers or dates written as text (a
    key's sequence number in a CSV): one that holds a NULL word (NULL, NaN: a blank there) is not complete.
    `key`: the table's key columns, when the export has them all: whether no two rows share a key, as exported. An
    export whose first rows are in key order is read for its order (in_key_order), and counted only if it is not
    in order after all; any other export is counted in the same scan (unique_sql).
    `stored`: key columns the export holds as numbers, dates or booleans (a typed Parquet column) -> whether it may
    hold NaN (a float): such a column is complete when no value is null (nor NaN). `codes`: text columns -> the
    codes they allow: whether every value is one (or blank)."""
    asked = asked | {COMPANY}
    values = {c: quote(c) if is_text else f"CAST({quote(c)} AS VARCHAR)" for c, is_text in text.items()}
    tests: list[tuple[str, str, str]] = []  # (fact, column, SQL aggregate)
    for column, value in values.items():
        if text[column]:
            tests.append(("trimmed", column, f"NOT coalesce(bool_or(suffix({value}, ' ')), FALSE)"))
            # a string's length is in its header: cheaper than comparing with the empty string
            tests.append(("empty", column, f"coalesce(min(strlen({value})) = 0, FALSE)"))
        if column in asked:
            tests.append(("upper", column, f"coalesce(bool_and({value} = upper({value})), TRUE)"))
            tests.append(("present", column, f"count(*) = count({value})"))
            if column in typed:
                words = ", ".join(literal(w) for w in NULL_WORDS)
                tests.append(("null_word", column, f"coalesce(bool_or(upper(trim({value})) IN ({words})), FALSE)"))
    for column, floating in (stored or {}).items():
        tests.append(("present", column, f"count(*) = count({quote(column)})"))
        if floating:
            tests.append(("nan", column, f"coalesce(bool_or(isnan(CAST({quote(column)} AS DOUBLE))), FALSE)"))
    for column, allowed in (codes or {}).items():
        listed = ", ".join(literal(code.upper()) for code in ("", *allowed))
        tests.append(("coded", column, f"coalesce(bool_and(upper(trim({quote(column)})) IN ({listed})), TRUE)"))
    if COMPANY in values:
        company = f"upper(rtrim({values[COMPANY]}))"
        tests += [("company_min", COMPANY, f"min({company})"), ("company_max", COMPANY, f"max({company})")]
    ordered_start = in_key_order(con, relation, list(key), PROBE_ROWS)
    if key and not ordered_start:
        tests.append(("unique_key", "", unique_sql([quote(c) for c in key])))
    if not tests:
        return TextFacts()
    row = con.execute(f"SELECT {', '.join(sql for *_, sql in tests)} FROM {quote(relation)}").fetchone()
    answers = {(fact, column): value for (fact, column, _), value in zip(tests, row, strict=True)}
    found: dict[str, set[str]] = {"trimmed": set(), "upper": set(), "present": set(), "empty": set(), "null_word": set(),
                                  "nan": set(), "coded": set()}
    for (fact, column), value in answers.items():
        if fact in found and value:
            found[fact].add(column)
    trimmed = found["trimmed"] | {c for c in values if not text[c]} | set(stored or {})  # numbers have no spaces
    clean = trimmed - found["empty"]
    complete = (found["present"] & clean) - found["null_word"] - found["nan"]
    untrimmed = sorted(found["present"] - trimmed - found["empty"] - found["null_word"])  # trailing spaces: only spaces?
    if untrimmed:
        spaces_only = [f"bool_or(rtrim({values[c]}) = {literal('')})" for c in untrimmed]
        blanks = con.execute(f"SELECT {', '.join(spaces_only)} FROM {quote(relation)}").fetchone()
        complete |= {c for c, blank in zip(untrimmed, blanks, strict=True) if not blank}
    low, high = answers.get(("company_min", COMPANY)), answers.get(("company_max", COMPANY))
    one = low if low and low == high and COMPANY in complete else None
    unique = bool(answers.get(("unique_key", "")))
    if ordered_start:  # of one company, the rest of the key decides the order
        ordered = [c for c in key if not (c == COMPANY and one)]
        unique = in_key_order(con, relation, ordered) or bool(
            con.execute(f"SELECT {unique_sql([quote(c) for c in key])} FROM {quote(relation)}").fetchone()[0])
    return TextFacts(frozenset(clean), frozenset(trimmed), frozenset(found["upper"]), frozenset(complete), one,
                     unique, frozenset(found["coded"]))
