"""Verdicts made inside DuckDB: which parts are judged at which site of which company, and their verdict.

A part is judged at a site when it is a component there (README "Verdicts"): a job of the site that is open,
or completed in the readiness window, uses it; or a method line of a parent made at the site does: the
revision's site alternate method, or the main method for a parent with a PartPlant row at the site; and the
part has a PartPlant row there (its site default is what a DMT load switches). Keys compare as Epicor's
SQL Server compares them (upper case, trailing spaces cut by the readers); Company joins wherever both
tables carry it, so one company's row is never judged by another's flags.
"""

from __future__ import annotations

import duckdb

from validator.engines.duckdb.findings import CREATE_FOUND, FOUND
from validator.engines.duckdb.load import DuckDBSite as Site
from validator.engines.duckdb.sql_text import literal
from validator.findings import (
    AT_RISK,
    MISCONFIGURED,
    NOT_ELIGIBLE,
    NOT_JUDGED,
    READY,
    UNKNOWN,
    VERDICT_FIELDS,
    VerdictBasis,
    Verdicts,
)
from validator.site import join_keys
from validator.tables import COMPANY

EMPTY = ("SELECT ''::VARCHAR AS c, ''::VARCHAR AS p, ''::VARCHAR AS k, NULL::VARCHAR AS company, NULL::VARCHAR AS plant, "
         "NULL::VARCHAR AS part, FALSE AS backflushed WHERE FALSE")


ALIASES = {"j": "JobMtl", "h": "JobHead", "m": "PartMtl", "r": "PartRev", "s": "PartPlant"}  # as the queries name them


class _Tables:
    """What the tables read hold. A table that broke its contract (--keep-going) is read as it is: its rows are
    grouped by key, so a part listed twice is judged once (keyed). Of a site of one company (every table that has
    Company names the same one in every row, as SQL Server compares it), rows are not compared by company: every
    pair of rows is of one company, and a join on one key fewer probes faster."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.one_company = join_keys(site).one_company

    def has(self, table: str, *columns: str) -> bool:
        loaded = self.site.tables.get(table)
        return loaded is not None and all(c in loaded.columns for c in columns)

    def key(self, alias: str, column: str) -> str:
        """A key as SQL Server compares it; a column whose every value the table's text scan found upper case is
        not upper-cased again on every row."""
        loaded = self.site.tables.get(ALIASES[alias])
        value = f"coalesce({alias}.{column}, '')"
        return value if loaded is not None and column in loaded.facts.upper else f"upper({value})"

    def company(self, alias: str) -> str:
        return self.key(alias, COMPANY) if self.has(ALIASES[alias], COMPANY) and not self.one_company else "''"

    def blank_company(self, alias: str) -> bool:
        """Whether a row may have no company: the table lacks Company, or its scan found one null or blank."""
        loaded = self.site.tables.get(ALIASES[alias])
        return loaded is None or COMPANY not in loaded.columns or COMPANY not in loaded.facts.complete

    def keyed(self, alias: str) -> bool:
        """Whether no two rows share their key as SQL Server compares it: the table kept its contract in this run
        (no key blank, none twice). Else (--keep-going past it, or no contract checked) rows are grouped by key."""
        return ALIASES[alias] in self.site.kept

    def same_company(self, a: str, b: str) -> str:
        """The rows are of one company, where both tables say which."""
        return (f"{self.key(a, COMPANY)} = {self.key(b, COMPANY)}"
                if self.has(ALIASES[a], COMPANY) and self.has(ALIASES[b], COMPANY) and not self.one_company else "TRUE")


def _uses(t: _Tables, basis: VerdictBasis) -> list[tuple[str, str]]:
    """Selects of (c, p, k): the company, site and part of every use that makes a part a component, each with the
    alias of the table its company comes from."""
    uses = []
    if t.has("JobMtl", "PartNum", "Plant"):
        if t.has("JobMtl", "JobNum") and t.has("JobHead", "JobNum", "JobComplete", "JobClosed"):
            done = "(coalesce(h.JobComplete, FALSE) OR coalesce(h.JobClosed, FALSE))"
            window = f"{literal(str(basis.window_start))}::DATE AND {literal(str(basis.snapshot_date))}::DATE"
            recent = f"h.JobCompletionDate BETWEEN {window}" if t.has("JobHead", "JobCompletionDate") else "FALSE"
            job = (f"LEFT JOIN \"JobHead\" h ON {t.key('j', 'JobNum')} = {t.key('h', 'JobNum')} "
                   f"AND {t.same_company('j', 'h')} WHERE NOT {done} OR ({recent})")
        else:  # no job status read: every job of the site counts
            job = "WHERE TRUE"
        uses.append((f"SELECT {t.company('j')} AS c, {t.key('j', 'Plant')} AS p, {t.key('j', 'PartNum')} AS k "
                     f"FROM \"JobMtl\" j {job}", "j"))
    if t.has("PartMtl", "PartNum", "MtlPartNum", "AltMethod"):
        if t.has("PartMtl", "RevisionNum") and t.has("PartRev", "PartNum", "RevisionNum", "AltMethod", "Plant"):
            uses.append((f"SELECT {t.company('m')} AS c, {t.key('r', 'Plant')} AS p, {t.key('m', 'MtlPartNum')} AS k "
                         f"FROM \"PartMtl\" m JOIN \"PartRev\" r ON {t.same_company('m', 'r')} "
                         + "".join(f"AND {t.key('m', c)} = {t.key('r', c)} " for c in ("PartNum", "RevisionNum", "AltMethod"))
                         + f"WHERE {t.key('m', 'AltMethod')} <> ''", "m"))
        uses.append((f"SELECT {t.company('m')} AS c, {t.key('s', 'Plant')} AS p, {t.key('m', 'MtlPartNum')} AS k "
                     f"FROM \"PartMtl\" m JOIN \"PartPlant\" s ON {t.same_company('m', 's')} "
                     f"AND {t.key('m', 'PartNum')} = {t.key('s', 'PartNum')} WHERE {t.key('m', 'AltMethod')} = ''", "m"))
    return uses


def judged_sql(site: Site, basis: VerdictBasis) -> str:
    """The judged parts, one row per component at a site with its PartPlant row: (c, p, k) as SQL Server compares
    them, the company, site and part as exported, and whether the site default backflushes it."""
    t = _Tables(site)
    if not t.has("PartPlant", "Plant", "PartNum", "BackFlush"):
        return EMPTY
    uses = _uses(t, basis)
    company = "s.Company" if t.has("PartPlant", COMPANY) else "NULL::VARCHAR"
    # a use names its company where its table has one; where either side has none (an export lacking Company, a
    # row without one), it meets every company. Each case is a semi join of its own (a join on an OR of conditions
    # is no hash join), and only a table that may lack a company adds its case: its scan found Company complete.
    # Of one company, every use meets every site row.
    semi = "FROM rows r SEMI JOIN uses u ON u.p = r.p AND u.k = r.k"
    matched = [f"SELECT r.* {semi}" if t.one_company else f"SELECT r.* {semi} AND u.c = r.c"]
    if not t.one_company and any(t.blank_company(alias) for _, alias in uses):
        matched.append(f"SELECT r.* {semi} AND u.c = ''")
    if not t.one_company and t.blank_company("s"):
        matched.append(f"SELECT r.* {semi} WHERE r.c = ''")
    union = " UNION ALL ".join(sql for sql, _ in uses) or "SELECT '' AS c, '' AS p, '' AS k WHERE FALSE"
    judged = ("SELECT c, p, k, company, plant, part, backflushed FROM matched" if len(matched) == 1 and t.keyed("s")
              else """SELECT c, p, k, min(company) AS company, min(plant) AS plant, min(part) AS part,
            bool_or(backflushed) AS backflushed
        FROM matched GROUP BY c, p, k""")
    return f"""WITH uses AS ({union}),
            rows AS (SELECT {t.company('s')} AS c, {t.key('s', 'Plant')} AS p, {t.key('s', 'PartNum')} AS k,
                {company} AS company, s.Plant AS plant, s.PartNum AS part, coalesce(s.BackFlush, FALSE) AS backflushed
                FROM "PartPlant" s WHERE s.PartNum IS NOT NULL),
            matched AS ({" UNION ALL ".join(matched)})
        {judged}"""


def _ids(ids: frozenset[str]) -> str:
    return f"[{', '.join(literal(i) for i in sorted(ids))}]::VARCHAR[]" if ids else "[]::VARCHAR[]"


MASK_BITS = 64  # rule ids per UBIGINT mask
JUDGED = "__judged"  # the judged parts of the run, while their verdicts are made


def _rule_masks(con: duckdb.DuckDBPyConnection, where: str) -> list[list[str]]:
    """The rule ids of the findings that may decide a verdict, sorted (as list_sort sorts them), in groups of
    MASK_BITS: a part's rules are aggregated as one bit per rule (bit_or), not as a list per part. A list aggregate
    over millions of parts cannot spill: at 50M job lines it ran out of memory under a 2GB limit
    (docs/performance.md), a bit_or's state is a number."""
    (ids,) = con.execute(f"SELECT list_sort(list(DISTINCT rule_id)) FROM {FOUND} WHERE {where}").fetchone()
    ids = ids or []
    return [ids[start:start + MASK_BITS] for start in range(0, len(ids), MASK_BITS)]


def _names(groups: list[list[str]]) -> list[str]:
    return [f"[{', '.join(literal(i) for i in group)}]::VARCHAR[]" for group in groups]


def _rules_of(groups: list[list[str]], mask: str) -> str:
    """SQL: the sorted rule ids whose bits the masks `{mask}0`, `{mask}1`... set; NULL when none is set."""
    if not groups:
        return "NULL::VARCHAR[]"
    lists = [f"list_filter({names}, lambda x, i: ({mask}{g} >> (i - 1)) & 1 = 1)" for g, names in enumerate(_names(groups))]
    joined = lists[0] if len(lists) == 1 else f"flatten([{', '.join(lists)}])"
    return f"CASE WHEN {' OR '.join(f'{mask}{g} IS NOT NULL' for g in range(len(groups)))} THEN {joined} END"


def verdicts(con: duckdb.DuckDBPyConnection, site: Site, basis: VerdictBasis) -> Verdicts:
    """One verdict per judged part, worst first: not eligible (an eligibility error, as it is or if enabled),
    misconfigured (any other error), at risk (a warning, or a readiness error, with its evidence), unknown
    (readiness not assessed in this run, or a readiness rule could not judge the part: too little history, not
    measurable), ready. Info findings, and findings on parts
    that no site judges, decide nothing."""
    eligibility, readiness = _ids(basis.eligibility), _ids(basis.readiness)
    rank = (f"CASE WHEN list_contains({_ids(frozenset(NOT_JUDGED))}, outcome) THEN 1 "
            f"WHEN severity = 'error' AND list_contains({eligibility}, rule_id) THEN 4 "
            f"WHEN severity = 'error' AND NOT list_contains({readiness}, rule_id) THEN 3 ELSE 2 END")
    label = (f"CASE coalesce(n.worst, 0) WHEN 4 THEN {literal(NOT_ELIGIBLE)} WHEN 3 THEN {literal(MISCONFIGURED)} "
             f"WHEN 2 THEN {literal(AT_RISK)} ELSE CASE WHEN {'TRUE' if basis.assessed else 'FALSE'} "
             f"AND n.insufficient IS NULL THEN {literal(READY)} ELSE {literal(UNKNOWN)} END END")
    con.execute(CREATE_FOUND)
    # the judged parts are read twice below: made once, into a table that DuckDB spills past its memory limit (as
    # a query's two references, at 50M job lines they ran out of memory under a 2GB limit: docs/performance.md)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {JUDGED} AS {judged_sql(site, basis)}")
    try:
        return _verdicts(con, rank, label)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {JUDGED}")


def _verdicts(con: duckdb.DuckDBPyConnection, rank: str, label: str) -> Verdicts:
    deciding = "severity <> 'info' AND part IS NOT NULL"
    groups = _rule_masks(con, deciding)
    bits = "".join(f", CAST(1 AS UBIGINT) << (list_position({names}, rule_id) - 1) AS b{g}"
                   for g, names in enumerate(_names(groups)))
    masks = "".join(f", bit_or(f.b{g}) FILTER (WHERE f.r > 1) AS m{g}, bit_or(f.b{g}) FILTER (WHERE f.r = 1) AS u{g}"
                    for g in range(len(groups)))
    table = con.execute(f"""
        WITH found AS (SELECT upper(coalesce(rtrim(company), '')) AS c, upper(coalesce(rtrim(plant), '')) AS p,
                upper(rtrim(part)) AS k, {rank} AS r {bits}
                FROM {FOUND} WHERE {deciding}),
            masked AS (SELECT g.c, g.p, g.k, max(f.r) FILTER (WHERE f.r > 1) AS worst {masks}
                FROM {JUDGED} g JOIN found f ON f.p = g.p AND f.k = g.k AND (f.c = g.c OR f.c = '' OR g.c = '')
                GROUP BY ALL),
            named AS (SELECT c, p, k, worst, {_rules_of(groups, "m")} AS rules, {_rules_of(groups, "u")} AS insufficient
                FROM masked),
            judged AS (SELECT g.company, g.plant, g.part AS part_num, {label} AS verdict,
                coalesce(n.rules, CAST([] AS VARCHAR[])) AS rules, g.backflushed,
                coalesce(n.insufficient, CAST([] AS VARCHAR[])) AS not_judged, g.c, g.p, g.k
                FROM {JUDGED} g LEFT JOIN named n ON n.c = g.c AND n.p = g.p AND n.k = g.k)
        SELECT {", ".join(VERDICT_FIELDS)} FROM judged ORDER BY c, p, k""").to_arrow_table()
    return Verdicts(table)
