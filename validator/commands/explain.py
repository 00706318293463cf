"""`backflush explain`: what a rule judges, why, what it reads, and the SQL a DBA can run."""

from __future__ import annotations

import argparse
import datetime as dt

import ibis
from ibis.common.exceptions import OperationNotDefinedError, UnsupportedOperationError

from validator.commands.check import with_run_params
from validator.commands.docs import reads
from validator.commands.readable_sql import named_ctes
from validator.commands.setup import setup
from validator.config.profile import RUN_PARAMS, Profile
from validator.errors import EXIT_OK, ConfigError
from validator.rules.analysis import rule_needs
from validator.rules.compile import CANONICAL, compile_check, never_canonical
from validator.rules.compile.database_fields import database_table
from validator.rules.model import Rule
from validator.rules.what_if import twin
from validator.tables import Registry

DIALECTS = {"duckdb": "duckdb", "tsql": "mssql", "postgres": "postgres", "spark": "pyspark"}
TSQL_MEDIAN = "APPROX_PERCENTILE_CONT"  # SQL Server's only median that aggregates a group (2022 and later)


def _tsql_median() -> None:
    """SQL Server has no MEDIAN; PERCENTILE_CONT is a window function there and cannot aggregate a group. Its
    aggregate is APPROX_PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY x) (SQL Server 2022, Azure SQL): ibis' T-SQL
    compiler gets it for the median. The printed query says it is approximate."""
    from ibis.backends.sql.compilers.mssql import MSSQLCompiler
    from sqlglot import exp

    def visit_median(self, op, *, arg, where):  # noqa: ANN001, ANN202 - ibis' visitor signature
        return self.visit_ApproxQuantile(op, arg=arg, quantile=exp.Literal.number(0.5), where=where)

    MSSQLCompiler.visit_Median = visit_median


def sql_for(rule: Rule, registry: Registry, dialect: str, profile: Profile | None = None,
            latest: dt.date | None = None) -> list[tuple[str, str]]:
    """(table, SQL) per check, against the Erp schema of an Epicor database. The profile's snapshot date and
    window are literals of the query (today's date when neither the profile nor `latest` gives one)."""
    if dialect not in DIALECTS:
        raise ConfigError(f"unknown SQL dialect {dialect!r}; available: {', '.join(DIALECTS)}")
    needed = reads(rule, registry)

    def catalog(name: str) -> ibis.Table:
        return database_table(registry.tables[name], needed.get(name) or list(registry.tables[name].key))

    run = (profile or Profile()).run_params(latest)
    (rule,) = with_run_params([rule], {**run, **SENTINELS})
    if dialect == "spark":
        _spark_options()
    if dialect == "tsql":
        _tsql_median()
    out = []
    for check in rule.checks:
        # SQL Server's default collation already compares keys case-insensitively, ignoring trailing
        # spaces: its query joins keys as they are. Other databases get UPPER(...) on both sides.
        canonical = (lambda table, column: CANONICAL) if dialect == "tsql" else never_canonical
        compiled = compile_check(rule, check, registry, catalog, canonical)
        query = compiled.rows
        try:
            sql = str(ibis.to_sql(query, dialect=DIALECTS[dialect]))
        except (OperationNotDefinedError, UnsupportedOperationError) as exc:
            raise ConfigError(f"{rule.id} on {check.table} uses an operation {dialect} SQL does not have ({exc}); "
                              "print it for another dialect") from None
        sql = named_ctes(sql, dialect, dict(compiled.labels))
        out.append((check.table, _with_parameters(sql, dialect, run)))
    return out


# The run parameters a DBA changes in one place: the query is compiled with a sentinel for each, which then
# becomes a declared variable (T-SQL) or a column of a `params` CTE (the other dialects).
SENTINELS = {"snapshot_date": dt.date(1900, 1, 1), "window_start": dt.date(1900, 1, 2), "job_scope": "job-scope-param"}
TSQL_NAMES = {"snapshot_date": "@SnapshotDate", "window_start": "@WindowStart", "job_scope": "@JobScope"}


def _printed(name: str, dialect: str) -> str:
    """How a sentinel prints in the dialect's SQL."""
    value = SENTINELS[name]
    if isinstance(value, dt.date):
        return f"{'DATEFROMPARTS' if dialect == 'tsql' else 'MAKE_DATE'}({value.year}, {value.month}, {value.day})"
    return f"'{value}'"


def _with_parameters(sql: str, dialect: str, run: dict) -> str:
    """The query with its run parameters declared once at its head: `DECLARE @SnapshotDate date = ...` for SQL
    Server, a `params` CTE elsewhere, so that a DBA judges another day or window, or every job, by changing one line."""
    used = [name for name in SENTINELS if _printed(name, dialect) in sql]
    if not used:
        return sql
    window = (run["snapshot_date"] - run["window_start"]).days
    if dialect == "tsql":
        for name in used:
            sql = sql.replace(_printed(name, dialect), TSQL_NAMES[name])
        declared = {
            "snapshot_date": f"DECLARE @SnapshotDate DATE = '{run['snapshot_date'].isoformat()}';  -- the day the history "
                             "is judged at",
            "window_start": f"DECLARE @WindowStart DATE = DATEADD(DAY, -{window}, @SnapshotDate);  -- the first day of "
                            "the history window",
            "job_scope": f"DECLARE @JobScope VARCHAR(4) = '{run['job_scope']}';  -- the jobs judged: open or all",
        }
        if "window_start" in used and "snapshot_date" not in used:
            used.insert(0, "snapshot_date")
        return "\n".join(declared[name] for name in SENTINELS if name in used) + "\n" + sql
    values = {"snapshot_date": f"DATE '{run['snapshot_date'].isoformat()}'",
              "window_start": f"DATE '{run['window_start'].isoformat()}'", "job_scope": f"'{run['job_scope']}'"}
    for name in used:
        sql = sql.replace(_printed(name, dialect), f"(SELECT {name} FROM params)")
    params = f"params AS (SELECT {', '.join(f'{values[name]} AS {name}' for name in used)})"
    body = sql.lstrip()
    if body[:5].upper() == "WITH ":
        return f"WITH {params},\n{body[5:]}"
    return f"WITH {params}\n{body}"


class _SparkOptions(ibis.config.Config):
    """The options ibis's PySpark compiler reads; registered by its backend, which needs pyspark installed."""

    treat_nan_as_null: bool = False


def _spark_options() -> None:
    """Printing Spark SQL needs only the compiler, not a Spark installation."""
    if ibis.options.pyspark is None:
        ibis.options.pyspark = _SparkOptions()


def explain_text(rule: Rule, registry: Registry, dialect: str, profile: Profile | None = None) -> str:
    parts = [f"{rule.id}: {rule.title}", f"severity: {rule.severity}   tags: {', '.join(rule.tags)}", "",
             f"Why: {rule.rationale}", f"Evidence: {rule.source}", f"Remediation: {rule.remediation}", "",
             "Reads:"]
    parts += [f"  {table}: {', '.join(columns)}" for table, columns in reads(rule, registry).items()]
    if rule.params:
        parts += ["", "Parameters:"] + [f"  {k} = {v!r}: {rule.param_docs.get(k, '')}" for k, v in rule.params.items()]
    if any(twin(rule, check) for check in rule.checks):
        parts += ["", "What if: on a part not backflushed, each check that reads Backflushed is also run reading "
                  "BackflushedIfEnabled (its site default switched on); keys only that finds are findings with outcome "
                  "if_enabled, which judge the verdicts and never --fail-on. The SQL below is the rule as it is."]
    if "job_scope" in rule_needs(rule, registry).params:  # the checks that read JobInScope
        parts += ["", "Jobs: open jobs (neither JobComplete nor JobClosed); 'jobs: all' in backflush.yaml judges "
                  "every job (the SQL reads the run parameter job_scope)."]
    profile = profile or Profile()
    run = profile.run_params(None)
    if rule_needs(rule, registry).params & (set(RUN_PARAMS) - {"job_scope"}):
        parts += ["", f"History window (profile {profile.name}): {run['window_start']} .. {run['snapshot_date']} "
                  f"({profile.window_days} days, at least {profile.min_history} observations); the snapshot date is "
                  "the profile's snapshot_date, else today here and the latest history date in a check"]
    for table, sql in sql_for(rule, registry, dialect, profile):
        parts += ["", f"-- {rule.id} on {table} ({dialect}): one row per finding"]
        if TSQL_MEDIAN in sql:
            parts.append(f"-- its median is {TSQL_MEDIAN} (SQL Server 2022 or later): approximate, where the check "
                         "computes it exactly")
        parts.append(sql.strip() + ";")
    return "\n".join(parts)


def main(args: argparse.Namespace) -> int:
    from validator.config.ruleset import select

    registry, _, profile, rules = setup(args)
    (rule,) = select(rules, [args.rule], enabled_only=False)
    if args.sql:
        # a T-SQL statement declares its parameters: each goes in a batch of its own (GO, as SSMS separates them)
        separator = "\nGO\n\n" if args.dialect == "tsql" else "\n\n"
        print(separator.join(f"{sql.strip()};" for _, sql in sql_for(rule, registry, args.dialect, profile)))
    else:
        print(explain_text(rule, registry, args.dialect, profile))
    return EXIT_OK
