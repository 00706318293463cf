"""`backflush check`: load what the rules need, keep the contracts, run every rule, collect findings."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from validator import __version__
from validator.attestations import DEFAULT_NAME as ATTESTATIONS
from validator.attestations import read_attestations
from validator.compile_cache import CompileCache, site_inputs
from validator.contracts import Violation, check_site, preload
from validator.decimals import COMMA
from validator.engines import Engine
from validator.errors import ContractError, DataError
from validator.findings import (
    ERROR,
    SKIPPED,
    STATUSES,
    Findings,
    RuleResult,
    Verdicts,
    rule_status,
    site_scores,
)
from validator.profile import Profile
from validator.readers import Site, join_keys, load_site, materialize_text_tables, own_header
from validator.rules.analysis import check_needs
from validator.rules.compiler import CompiledTable, compile_batches
from validator.rules.model import SEVERITY_RANK, Check, Rule
from validator.sources import Naming, look_alike_hint, site_dir, where_expected
from validator.tables import Registry
from validator.told import AUTO

VERDICT_COLUMNS = {"Plant", "PartNum", "BackFlush"}
READINESS = "readiness"  # the tag of the rules that judge a part as a candidate: then every component gets a verdict


@dataclass
class Report:
    site: str
    rules: dict[str, Rule]
    results: list[RuleResult]
    findings: Findings
    verdicts: Verdicts
    violations: list[Violation] = field(default_factory=list)
    engine: str = "duckdb"
    profile: dict[str, Any] = field(default_factory=dict)  # name, window, snapshot date in force
    date_orders: dict[str, str] = field(default_factory=dict)  # "Table.Column" -> order its slashed dates read in
    decimal_commas: list[str] = field(default_factory=list)  # "Table.Column" of the numbers read with a decimal comma
    column_headers: dict[str, str] = field(default_factory=dict)  # "Table.Column" -> the header it was read from,
    # where that is not its own name (a label such as `Part Num`, or a header named in backflush.yaml)

    def __enter__(self) -> Report:
        return self

    def __exit__(self, *exc: object) -> None:
        """A command that used the report ends after its verdicts' thread, even when writing the report failed."""
        self.verdicts.settle()

    def counts(self) -> dict[str, int]:
        return self.findings.counts()

    def worst_at_or_above(self, threshold: str) -> bool:
        if threshold == "never":
            return False
        return any(n and SEVERITY_RANK[severity] >= SEVERITY_RANK[threshold] for severity, n in self.counts().items())

    def summary(self) -> dict[str, Any]:
        statuses = {s: sum(r.status == s for r in self.results) for s in STATUSES}
        return {
            "findings": len(self.findings),
            "by_severity": self.counts(),
            "rules": statuses,
            "sites": site_scores(self.verdicts, self.findings),
            "partial": bool(statuses[ERROR]),
        }

    def tool(self) -> dict[str, Any]:
        return {"name": "backflush-validator", "version": __version__, "engine": self.engine, "site": self.site,
                "profile": self.profile, "date_orders": self.date_orders, "decimal_commas": self.decimal_commas,
                "column_headers": self.column_headers}


def _needs(rules: list[Rule], registry: Registry) -> dict[tuple[str, int], dict[str, set[str]]]:
    return {(r.id, i): dict(check_needs(r, c, registry).columns) for r in rules for i, c in enumerate(r.checks)}


def _judged_parts(site: Site, candidates: bool, broken: Mapping[str, str]) -> str | None:
    """SQL for the parts at a site that get a verdict, one row each: (p, k) the site and part as SQL Server compares
    them (upper case, a blank site as ''), the site and part as exported, and whether the part is backflushed. They
    are the backflushed parts, and with `candidates` (the readiness rules ran) the components too (a job material at
    that site or a method line uses them), as far as the run read them. PartPlant rows are grouped by (p, k) unless
    its kept contract says they are one per site and part already (a unique key, one company)."""
    loaded = site.tables.get("PartPlant")
    if loaded is None or not {"Plant", "PartNum", "BackFlush"} <= set(loaded.columns):
        return None
    uses = []
    if candidates and "JobMtl" in site.tables and {"PartNum", "Plant"} <= set(site.tables["JobMtl"].columns):
        uses.append('EXISTS (SELECT 1 FROM "JobMtl" j WHERE upper(j.PartNum) = upper(p.PartNum) '
                    'AND upper(j.Plant) = upper(p.Plant))')
    if candidates and "PartMtl" in site.tables and "MtlPartNum" in site.tables["PartMtl"].columns:
        uses.append('EXISTS (SELECT 1 FROM "PartMtl" m WHERE upper(m.MtlPartNum) = upper(p.PartNum))')
    used = " OR ".join(uses) or "FALSE"
    plant = "coalesce(Plant, '')" if "Plant" in loaded.facts.upper else "upper(coalesce(Plant, ''))"
    part = "PartNum" if "PartNum" in loaded.facts.upper else "upper(PartNum)"
    rows = f'FROM "PartPlant" p WHERE PartNum IS NOT NULL AND (BackFlush OR {used})'
    if loaded.facts.company is not None and "PartPlant" not in broken:
        return (f"SELECT {plant} AS p, {part} AS k, Plant AS plant, PartNum AS part, "
                f"coalesce(BackFlush, FALSE) AS backflushed {rows}")
    return (f"SELECT {plant} AS p, {part} AS k, min(Plant) AS plant, min(PartNum) AS part, "
            f"bool_or(coalesce(BackFlush, FALSE)) AS backflushed {rows} GROUP BY ALL")


def _verdicts_meanwhile(engine: Engine, site: Site, judged_sql: str | None) -> Verdicts:
    """The verdicts, made by the engine on a thread of their own while the run goes on to its report (DuckDB releases
    the GIL: a JSON report writes its findings meanwhile; on the benchmark site's 2 cores the two compete, and the
    gain is within the machine's noise); the site's connection is closed once they are made. Reading them waits for
    them; an error making them is raised there."""
    made: Future[pa.Table] = Future()

    def make() -> None:
        try:
            with contextlib.closing(site.con):
                table = engine.verdicts(site, judged_sql).table
        except BaseException as exc:  # handed to whoever reads the verdicts
            made.set_exception(exc)
        else:
            made.set_result(table)

    threading.Thread(target=make, name="verdicts").start()
    return Verdicts(made)


def latest_history_date(site: Site, registry: Registry) -> dt.date | None:
    """The latest date of the history read (LaborDtl.ClockInDate, PartTran.TranDate, ...): the default snapshot."""
    latest = None
    for name, loaded in site.tables.items():
        column = registry.tables[name].history_date
        if column and column in loaded.columns and loaded.rows:
            (value,) = site.con.execute(f'SELECT max("{column}") FROM "{name}"').fetchone()
            if value is not None and (latest is None or value > latest):
                latest = value
    return latest


def with_run_params(rules: list[Rule], params: dict[str, Any]) -> list[Rule]:
    """Every rule with the profile's run parameters (snapshot date, window); a rule's own values win."""
    return [replace(r, params={**params, **r.params}) for r in rules]


def run_rules(site: Site, rules: list[Rule], registry: Registry, engine: Engine,
              broken: dict[str, str] | None = None,
              needs: dict[tuple[str, int], dict[str, set[str]]] | None = None,
              run_params: dict[str, Any] | None = None) -> tuple[list[RuleResult], Findings]:
    """Run every check whose tables are there, all checks on one table in one engine pass. `run_params`
    (snapshot date, window) default to the default profile's on this site's history."""
    broken = broken or {}
    rules = with_run_params(rules, run_params or Profile().run_params(latest_history_date(site, registry)))
    needs = needs or _needs(rules, registry)
    notes: dict[str, list[tuple[str, str]]] = {r.id: [] for r in rules}  # rule id -> (ERROR|SKIPPED, reason)
    runnable: dict[str, list[tuple[Rule, Check]]] = {}
    for rule in rules:
        for index, check in enumerate(rule.checks):
            tables = needs[(rule.id, index)]
            bad = sorted(t for t in tables if t in broken)
            absent = sorted(t for t in tables if t in site.absent)
            no_history = sorted(f"{t}.{c}" for t, columns in tables.items() if t in site.tables for c in columns
                                if c in site.tables[t].absent_optional and registry.tables[t].columns[c].history)
            if bad:
                notes[rule.id].append((ERROR, f"{check.table}: table {', '.join(bad)} broke its contract ({broken[bad[0]]})"))
            elif absent:
                notes[rule.id].append((SKIPPED, f"{check.table}: optional table {', '.join(absent)} not exported: "
                                                f"{site.absent[absent[0]]}"))
            elif no_history:
                notes[rule.id].append((SKIPPED, f"{check.table}: history column {', '.join(no_history)} not exported"))
            else:
                runnable.setdefault(check.table, []).append((rule, check))
    catalog = engine.catalog(site)
    keys = join_keys(site)
    cache = CompileCache.default()
    inputs = site_inputs(site, registry, keys) if cache else ""
    for table, items in sorted(runnable.items()):
        def compile_passes(table: str = table, items: list[tuple[Rule, Check]] = items) -> list[CompiledTable]:
            return compile_batches(table, items, registry, catalog, keys.level, keys.one_company, engine.rows(site))
        passes = cache.passes(engine, site, table, items, inputs, compile_passes) if cache else compile_passes()
        for compiled in passes:
            engine.collect(site, compiled)
    findings = engine.findings(site)
    per_rule = findings.per_rule()
    results = []
    for rule in rules:
        checked = sum(engine.count(site, check.table) for check in rule.checks if (rule, check) in runnable.get(check.table, []))
        failed, insufficient = per_rule.get(rule.id, (0, 0))
        errors = [reason for kind, reason in notes[rule.id] if kind == ERROR]
        skipped = [reason for kind, reason in notes[rule.id] if kind == SKIPPED]
        if errors:
            status = ERROR
        elif len(skipped) == len(rule.checks):
            status = SKIPPED
        else:
            status = rule_status(failed, insufficient)
        results.append(RuleResult(rule.id, rule.severity, rule.title, status, checked, failed - insufficient,
                                  "; ".join(dict.fromkeys(errors + skipped)), insufficient))
    return results, findings


def run_check(folder: Path, rules: list[Rule], registry: Registry, engine: Engine, *,
              keep_going: bool = False, profile: Profile | None = None, attestations: Path | None = None,
              date_order: str = AUTO, decimal_separator: str = AUTO, empty_tables: frozenset[str] = frozenset(),
              named: Mapping[str, Naming] | None = None) -> Report:
    """Check a folder of exports; contract violations stop the run unless keep_going. `date_order`: of dates
    exported with slashes (validator/date_order.py); `decimal_separator`: of numbers exported as text
    (validator/decimals.py); `empty_tables`: tables whose export may hold no rows (a site without jobs yet);
    `named`: what backflush.yaml's `exports:` says of some tables' files and headers."""
    per_check = _needs(rules, registry)
    needs: dict[str, set[str]] = {}
    for table_needs in per_check.values():
        for table, columns in table_needs.items():
            needs.setdefault(table, set()).update(columns)
    if "PartPlant" in needs:
        needs["PartPlant"] |= VERDICT_COLUMNS
        if any(READINESS in r.tags for r in rules):
            for table, columns in (("JobMtl", {"PartNum", "Plant"}), ("PartMtl", {"MtlPartNum"})):
                if table in needs:
                    needs[table] |= columns
    for table, columns in needs.items():  # the default snapshot date is the latest history date read
        history = registry.tables[table].history_date
        if history:
            columns.add(history)
    documents = {}
    if "Attestation" in needs:
        path = attestations or site_dir(folder) / ATTESTATIONS
        if attestations is not None or path.is_file():
            documents["Attestation"] = (path, read_attestations(path))
    preload()
    site = load_site(folder, registry, needs, engine.connect(), documents=documents,  # type: ignore[attr-defined]
                     date_order=date_order, decimal_separator=decimal_separator, named=named)
    with contextlib.ExitStack() as connection:  # DuckDB's memory (and any spilled temp files) goes when the run ends
        connection.callback(site.con.close)
        if "Attestation" in site.absent:
            site.absent["Attestation"] = (f"no {ATTESTATIONS} in {folder} (write one with 'backflush init {folder}', "
                                          "or give --attestations FILE)")
        required = sorted(t for t in site.absent if not registry.tables[t].optional)
        if required and not keep_going:
            users = sorted({rule_id for (rule_id, _), tables in per_check.items() if set(tables) & set(required)})
            hints = "".join(look_alike_hint(folder, t, list(registry.tables)) for t in required)
            raise DataError(f"no export of required table(s) {', '.join(required)} (needed by {', '.join(users)}); "
                            f"expected {where_expected(folder, required[0])}{hints}", location=str(folder))
        violations = check_site(site, empty_tables)
        flat = [v for vs in violations.values() for v in vs]
        if flat and not keep_going:
            raise ContractError(flat)
        materialize_text_tables(site)
        broken = {t: str(vs[0]) for t, vs in violations.items()}
        broken.update({t: site.absent[t] for t in required})
        profile = profile or Profile()
        latest = latest_history_date(site, registry)
        results, findings = run_rules(site, rules, registry, engine, broken, per_check, profile.run_params(latest))
        judged = _verdicts_meanwhile(engine, site, _judged_parts(site, any(READINESS in r.tags for r in rules), broken))
        connection.pop_all()  # closed by the thread that makes the verdicts
        date_orders = {f"{name}.{column}": order for name, loaded in sorted(site.tables.items())
                       for column, order in sorted(loaded.date_orders.items())}
        decimal_commas = [f"{name}.{column}" for name, loaded in sorted(site.tables.items())
                          for column, separator in sorted(loaded.separators.items()) if separator == COMMA]
        column_headers = {f"{name}.{column}": header for name, loaded in sorted(site.tables.items())
                          for column, header in sorted(loaded.columns.items()) if not own_header(loaded.table, column, header)}
        return Report(str(folder), {r.id: r for r in rules}, results, findings, judged, flat, engine.name,
                      profile.to_dict(latest), date_orders, decimal_commas, column_headers)
