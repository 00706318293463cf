"""Findings made inside DuckDB: the flagged rows of a compiled pass become finding rows in bulk.

For each check, one INSERT turns the rows its flag marks into the finding's key, message, evidence and
fingerprint, and the whole finding as one JSON document; no Python runs per row. Values are written as a
reader expects them in JSON and in text: dates as ISO text, whole numbers without a decimal point, NaN as
blank, booleans as True/False in messages. The fingerprint is the SHA-256 of rule id, table and the key as
SQL Server compares it (trailing spaces cut, upper case), so it is stable across row order and runs.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pyarrow as pa

from validator.engines.duckdb.sql_text import literal, quote
from validator.finding_documents import DOCUMENT, DocumentSpool, in_order
from validator.findings import BLOCK, FINDING_FIELDS, Findings, text_array
from validator.rules import what_if
from validator.rules.analysis import FORMATTED, message_format
from validator.rules.model import SEVERITY_RANK
from validator.rules.passes import CompiledCheck, CompiledTable
from validator.tables import COMPANY

FOUND = "__found"  # every finding row of the run, as the passes insert them
COMPONENTS = "__components"  # the run's distinct components, while the findings are fetched
FLAGGED = "__flagged"  # one pass's flagged rows, while its findings are made
# the findings' columns of few distinct values (the FOUND column -> the findings' column), fetched as codes into one
# dictionary of each column's values in the run
SHORT_COLUMNS = {"rule_id": "rule_id", "severity": "severity", "outcome": "outcome", "site_company": "site_company",
                 "site_plant": "site_plant", "tbl": "table"}
CREATE_FOUND = f"""CREATE TEMP TABLE IF NOT EXISTS {FOUND} (rank TINYINT, rule_id VARCHAR, check_index INTEGER,
    tbl VARCHAR, severity VARCHAR, outcome VARCHAR, sort_key VARCHAR[], fingerprint VARCHAR, company VARCHAR,
    plant VARCHAR, part VARCHAR, site_company VARCHAR, site_plant VARCHAR, component VARCHAR, line VARCHAR)"""
WHOLE_LIMIT = 1e15  # a whole number below this prints as an integer; larger ones keep their float form
BLANK = "(blank)"


def _numeric(sql_type: str) -> bool:
    return sql_type.startswith(("DOUBLE", "FLOAT", "REAL", "DECIMAL"))


def _number(column: str, wrap: str) -> str:
    """A number: NaN as NULL, rounded to 10 places, and then a whole number (below WHOLE_LIMIT) as an integer;
    `wrap` names the function that writes either (CAST ... AS VARCHAR for text, to_json for JSON). Rounding first
    makes a sum the engine added up in another order (461.99999999999994 or 462) print alike, run after run."""
    x = f"round(CAST({quote(column)} AS DOUBLE), 10)"
    return (f"CASE WHEN isnan({x}) THEN NULL WHEN {x} = trunc({x}) AND abs({x}) < {WHOLE_LIMIT} "
            f"THEN {wrap.format(f'CAST({x} AS BIGINT)')} ELSE {wrap.format(x)} END")


def text_of(column: str, sql_type: str) -> str:
    """A value as a message shows it (NULL when blank)."""
    col = quote(column)
    if _numeric(sql_type):
        return _number(column, "CAST({} AS VARCHAR)")
    if sql_type == "BOOLEAN":
        return f"CASE WHEN {col} THEN 'True' WHEN NOT {col} THEN 'False' END"
    if sql_type == "DATE":
        return f"strftime({col}, '%Y-%m-%d')"
    if sql_type.startswith("TIMESTAMP"):
        return f"strftime(CAST({col} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S')"
    return f"CAST({col} AS VARCHAR)"


def json_of(column: str, sql_type: str) -> str:
    """A value as JSON: the same text rules as messages, numbers and booleans as JSON numbers and booleans."""
    if _numeric(sql_type):
        return _number(column, "to_json({})")
    if sql_type == "DATE" or sql_type.startswith("TIMESTAMP"):
        return f"to_json({text_of(column, sql_type)})"
    return f"to_json({quote(column)})"


def json_object(pairs: Iterable[tuple[str, str]]) -> str:
    """A JSON object written as text from values that are JSON text already (NULL written as null): the same
    text json_object() writes, at a third of its cost (it parses each JSON value again)."""
    pieces = []
    for index, (name, value) in enumerate(pairs):
        pieces += [literal("," if index else "{"), f"to_json({literal(name)})", "':'",
                   f"coalesce(CAST({value} AS VARCHAR), 'null')"]
    return f"concat({', '.join(pieces)}, '}}')" if pieces else "'{}'"


IF_ENABLED_PREFIX = "If backflush were switched on at the site: "


def _formatted(column: str, sql_type: str, spec: str | None) -> str:
    """A value as a message shows it, in its placeholder's format (analysis.message_format): a ratio as a
    percentage with one decimal, a count with its noun in agreement."""
    fmt = message_format(spec)
    if fmt is None:
        return text_of(column, sql_type)
    kind, singular, plural = fmt
    if kind == "percent":
        return f"printf('%.1f%%', CAST({quote(column)} AS DOUBLE) * 100)"
    if kind == "decimals":
        return f"printf('%.{singular}f', CAST({quote(column)} AS DOUBLE))"
    return (f"CASE WHEN {quote(column)} IS NOT NULL THEN concat({text_of(column, sql_type)}, ' ', "
            f"CASE WHEN CAST({quote(column)} AS DOUBLE) = 1 THEN {literal(singular)} ELSE {literal(plural)} END) END")


def _message(check: CompiledCheck, compiled: CompiledTable, types: dict[str, str]) -> str:
    """The message template with the row's values; a what-if finding says it is one."""
    columns = {**{c: c for c in compiled.key}, **dict(check.evidence)}
    parts = FORMATTED.split(check.check.message)
    out = [literal((IF_ENABLED_PREFIX if check.check.outcome == what_if.IF_ENABLED else "") + parts[0])]
    for name, spec, text in zip(parts[1::3], parts[2::3], parts[3::3], strict=True):
        value = _formatted(columns[name], types[columns[name]], spec) if name in columns else "NULL"
        out += [f"coalesce({value}, {literal(BLANK)})", literal(text)]
    return f"concat({', '.join(out)})"


def _key_text(column: str, sql_type: str) -> str:
    """The key value as text for sorting and the fingerprint, as it is (2.0 stays 2.0): blank for null."""
    text = text_of(column, sql_type) if sql_type == "BOOLEAN" else f"CAST({quote(column)} AS VARCHAR)"
    return f"coalesce({text}, '')"


def _flag(compiled: CompiledTable, check: CompiledCheck, order: int) -> str:
    """SQL: the rows `check` (its rule's check `order`) makes findings of. A key that an earlier check of its rule
    in this pass flags too (a failure, then its what-if twin) is that check's finding: its losing rows are not made
    to be dropped by unique_findings."""
    earlier = [other.hit for other in compiled.checks
               if other.rule.id == check.rule.id and what_if.check_index(other.rule, other.check) < order]
    return " AND ".join([quote(check.hit), *(f"{quote(hit)} IS NOT TRUE" for hit in earlier)])


def finding_rows_sql(compiled: CompiledTable, index: int, types: dict[str, str]) -> str:
    """A SELECT of FOUND's columns: the rows of FLAGGED flagged by check `index` as finding rows."""
    check = compiled.checks[index]
    rule = check.rule
    check_index = what_if.check_index(rule, check.check)
    table = compiled.table
    key_json = json_object((c, f"CASE WHEN {quote(c)} IS NULL THEN to_json('') ELSE {json_of(c, types[c])} END")
                       for c in compiled.key)
    canonical = ", chr(31), ".join(f"{literal(c)}, chr(30), upper(rtrim({_key_text(c, types[c])}))" for c in compiled.key)
    fingerprint = f"left(sha256(concat({literal(rule.id)}, chr(29), {literal(table)}, chr(29), {canonical or literal('')})), 32)"
    roles = dict(compiled.component)
    if COMPANY in compiled.key:  # a finding's part (or site) is of the company of the row it names
        roles = {COMPANY: COMPANY, **roles}
    company = f"CAST({quote(COMPANY)} AS VARCHAR)" if COMPANY in roles else "NULL"
    plant = f"CAST({quote(roles['Plant'])} AS VARCHAR)" if "Plant" in roles else "NULL"
    part = f"CAST({quote(roles['PartNum'])} AS VARCHAR)" if "PartNum" in roles else "NULL"
    on_site = "Plant" in roles and "PartNum" not in roles
    site_plant, site_company = (plant, company) if on_site else ("NULL", "NULL")
    component = json_object((role, f"to_json({quote(column)})") for role, column in roles.items())
    evidence = json_object((ref, json_of(column, types[column])) for ref, column in check.evidence)
    sort_key = f"[{', '.join(_key_text(c, types[c]) for c in compiled.key)}]"
    fields = {"rule_id": f"to_json({literal(rule.id)})", "severity": f"to_json({literal(rule.severity)})",
              "table": f"to_json({literal(table)})", "key": "key_json", "message": "to_json(message)",
              "evidence": "evidence", "outcome": f"to_json({literal(check.check.outcome)})",
              "fingerprint": "to_json(fingerprint)"}
    line = json_object((name, fields[name]) for name in FINDING_FIELDS)  # the document's shape: findings.py
    return f"""SELECT {-SEVERITY_RANK[rule.severity]}, {literal(rule.id)}, {check_index}, {literal(table)},
            {literal(rule.severity)}, {literal(check.check.outcome)}, sort_key, fingerprint, company, plant, part,
            site_company, site_plant, component, {line}
        FROM (SELECT {key_json} AS key_json, {_message(check, compiled, types)} AS message, {evidence} AS evidence,
                {fingerprint} AS fingerprint, {sort_key} AS sort_key, {company} AS company, {plant} AS plant,
                {part} AS part, {site_company} AS site_company, {site_plant} AS site_plant, {component} AS component
              FROM {FLAGGED} WHERE {_flag(compiled, check, check_index)})"""


def collect(con: duckdb.DuckDBPyConnection, compiled: CompiledTable, query_sql: str) -> None:
    """Run one compiled pass and keep its findings in FOUND: one INSERT for all its checks (a statement per check
    cost more in DuckDB's planning than making the rows: docs/performance.md)."""
    con.execute(CREATE_FOUND)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {FLAGGED} AS {query_sql}")
    try:
        types = {name: str(kind) for name, kind, *_ in con.execute(f"DESCRIBE {FLAGGED}").fetchall()}
        selects = [finding_rows_sql(compiled, index, types) for index in range(len(compiled.checks))]
        if selects:
            con.execute(f"INSERT INTO {FOUND} " + " UNION ALL ".join(f"({select})" for select in selects))
    finally:
        con.execute(f"DROP TABLE IF EXISTS {FLAGGED}")


def unique_findings(con: duckdb.DuckDBPyConnection, held: int | None = None) -> Findings:
    """Every finding kept, once per rule and key (a rule's first check that found it wins), sorted; their documents
    read a block at a time, past `held` bytes into a file (validator/finding_documents.py)."""
    con.execute(CREATE_FOUND)
    # per rule and key: the checks that found it, and whether one of them found it twice
    shared = con.execute(f"""SELECT rule_id, tbl, fingerprint, max(n) > 1 AS twice
        FROM (SELECT rule_id, tbl, fingerprint, check_index, count(*) AS n FROM {FOUND} GROUP BY ALL)
        GROUP BY rule_id, tbl, fingerprint HAVING count(*) > 1 OR max(n) > 1 ORDER BY twice DESC LIMIT 1""").fetchone()
    if shared and shared[3]:
        (line,) = con.execute(f"SELECT line FROM {FOUND} WHERE fingerprint = ? LIMIT 1", [shared[2]]).fetchone()
        raise AssertionError(f"{shared[0]} on {shared[1]} returned one key twice ({line}): a relation it follows is "
                             "not to-one; this is a defect of the rule or the table registry")
    # a key found by two checks of one rule is one finding: a pass makes it only for the first of its checks there
    # (_flag), so the window that keeps the first runs only where a rule's checks on a table were split over passes
    first = "QUALIFY row_number() OVER (PARTITION BY rule_id, fingerprint ORDER BY check_index) = 1" if shared else ""
    # the run's distinct components, numbered: a finding holds its component's number into one dictionary of them
    # (a part has findings of several rules, far apart in their order; each batch's own dictionary would hold its
    # components again: at 50M job lines about 1 GiB: docs/performance.md)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {COMPONENTS} AS SELECT component, CAST(row_number() OVER () - 1 AS INTEGER)
        AS code FROM (SELECT DISTINCT component FROM {FOUND} WHERE component IS NOT NULL)""")
    try:
        components = con.execute(f"SELECT component FROM {COMPONENTS} ORDER BY code").to_arrow_table().column(0)
        components = components.combine_chunks() if components.num_chunks else pa.array([], components.type)
        # the short columns as DuckDB's ENUMs of their sorted values: sorted and fetched as one or two bytes a row,
        # in the order of their text (an ENUM sorts in the order its values are listed)
        values = con.execute("SELECT " + ", ".join(f"list_sort(list(DISTINCT {c}) FILTER (WHERE {c} IS NOT NULL))"
                                                    for c in SHORT_COLUMNS) + f" FROM {FOUND}").fetchone() or ()
        listed = {c: v or [""] for c, v in zip(SHORT_COLUMNS, values, strict=True)}  # an ENUM lists one value or more
        short = ", ".join(f"CAST(f.{c} AS ENUM({', '.join(literal(v) for v in listed[c])})) AS {quote(SHORT_COLUMNS[c])}"
                          for c in SHORT_COLUMNS)
        dictionaries = {SHORT_COLUMNS[c]: text_array(v) for c, v in listed.items()}
        # a relation's reader streams the sorted rows (an executed query's would copy them all first)
        reader = con.sql(f"""SELECT f.rule_id, f.severity, f.outcome, f.site_company, f.site_plant, c.code AS component,
                f.line, f."table", f.fingerprint
            FROM (SELECT {short}, f.rank, f.sort_key, f.component, f.line, f.fingerprint
                  FROM (SELECT * FROM {FOUND} {first}) f) f LEFT JOIN {COMPONENTS} c ON c.component = f.component
            ORDER BY f.rank, f.rule_id, f."table", f.sort_key""").to_arrow_reader(BLOCK)
        spool, batches, numbers = DocumentSpool(held), [], []
        for batch in reader:  # the documents go to the spool as they come
            spool.add(batch.column("line"))
            # the other columns copied out of the batch (DuckDB frees a batch's memory only when all its columns
            # go), the short ones as codes into the run's dictionaries
            numbers.append(pa.DictionaryArray.from_arrays(pa.concat_arrays([batch.column("component")]), components))
            light = batch.drop_columns(["line", "component"])
            batches.append(pa.RecordBatch.from_arrays(
                [pa.concat_arrays([c]) if name == "fingerprint"
                 else pa.DictionaryArray.from_arrays(pa.concat_arrays([c.indices]), dictionaries[name])
                 for name, c in zip(light.schema.names, light.columns, strict=True)], names=light.schema.names))
        reader.close()  # DuckDB's sorted result goes as soon as it is read: at 50M job lines 1.2 GiB
    finally:
        con.execute(f"DROP TABLE IF EXISTS {COMPONENTS}")
    schema = reader.schema
    if batches:
        table = pa.Table.from_batches(batches)
    else:
        table = schema.remove(schema.get_field_index("line")).remove(schema.get_field_index("component")).empty_table()
    # the components' column beside the others, its chunks sharing the one dictionary (unified, it would be hashed
    # once per chunk)
    kind = pa.dictionary(pa.int32(), components.type)
    table = table.add_column(schema.get_field_index("component"), "component", pa.chunked_array(numbers, kind))
    table = table.append_column(DOCUMENT, in_order(table.num_rows))
    return Findings(table, spool.done())
