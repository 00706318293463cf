"""The `backflush` command: argument parsing and exit codes only."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import NoReturn

from validator import __version__, told
from validator.config.settings import byte_size
from validator.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, BackflushError
from validator.formats import FORMATS
from validator.sources import site_location

PATH_HELP = ("folder of exports, one file per table, named after the table; or one workbook (.xlsx) with a sheet "
             "per table, named after it; or a ZIP of exports")
URI_HELP = "; with --engine spark, also a URI Spark reads (s3a://, abfss://, gs://, hdfs://)"
EPILOG_CHECK = """examples:
  backflush check fixtures/demo
  backflush check exports/ --format json --output findings.json --fail-on warning
  backflush check exports/ --format sarif:out.sarif --format junit:out.xml --format markdown:summary.md
  backflush check exports/ --rules my-rules/ --config backflush.yaml --tag eligibility
  backflush check exports/ --rule BFE001 --rule BFC003 --keep-going
  backflush check exports/ --tag readiness --profile strict
  backflush check "EPIC06 exports.xlsx"                  # one workbook, a sheet per table
  backflush check exports.zip                             # a ZIP of exports
  backflush check exports/ --date-order day-first --decimal-separator comma   # 31/12/2025 and 2,5

exit codes: 0 no finding at or above --fail-on; 1 findings at or above it; 2 bad input or configuration; 3 the engine
ran out of memory under --memory-limit; 4 a disk filled up (the temporary folder, TMPDIR, or a report's)."""

EPILOG_INIT = """examples:
  backflush init fixtures/demo                  # writes fixtures/demo/attestations.yaml, a block per site
  backflush init exports/ --plant MfgSys --output answers/mfgsys.yaml

The file holds the readiness questionnaire (rule BFR010): answer each question yes or no per site,
with who answered and when. 'backflush check' reads PATH/attestations.yaml (beside PATH when it is a
workbook), or --attestations FILE."""

EPILOG_RECOMMEND = """examples:
  backflush recommend fixtures/demo
  backflush recommend exports/ --output dmt/PartPlant-backflush.csv --profile strict

Writes the DMT Part Plant load (Company, Plant, PartNum, BackFlush) and, beside it, the reasons
(dmt.csv: dmt.reasons.csv): the action, the verdict, the rules behind it and their first messages.
Switch on: components that are ready (every readiness rule ran and passed, with enough history) and
not backflushed. Switch off: backflushed parts that are not eligible, misconfigured or at risk.
Unknown parts (readiness not assessed, too little history) need review: reasons file only.
Exit 0 when written; 2 on bad input."""

EPILOG_RULES = """examples:
  backflush rules
  backflush rules --tag eligibility
  backflush rules --format markdown --output docs/rules.md"""

EPILOG_EXPLAIN = """examples:
  backflush explain BFE001
  backflush explain BFC012 --dialect tsql     # paste into SSMS against the Epicor database
  backflush explain BFE001 --sql --dialect postgres > bfe001.sql
  backflush explain BFC001 --dialect postgres"""


def memory_size(text: str) -> str:
    """--memory-limit as the engine reads it: a number and its unit (KB, MB, GB, TB, or KiB ... TiB). DuckDB reads
    1G as a limit of almost nothing and -1GB as no limit, so a size is checked here, before any data is read."""
    if byte_size(text) is None:
        raise argparse.ArgumentTypeError(f"expected a size such as 1GB, 512MB or 2GiB, not {text!r}")
    return text.strip()


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rules", dest="rule_dirs", action="append", type=Path, default=[], metavar="DIR",
                        help="a folder of your own rule files, added to the built-in ones (repeatable)")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="backflush.yaml with overrides (default: ./backflush.yaml when it exists)")
    parser.add_argument("--profile", metavar="NAME|FILE",
                        help="readiness profile: a shipped preset (default, strict) or a profile file "
                             "(default: profile in the config, else default)")
    parser.add_argument("--debug", action="store_true", help="show the Python traceback of an error")


def _reading(parser: argparse.ArgumentParser) -> None:
    """Options of the commands that read a site's exports."""
    parser.add_argument("--date-order", choices=told.DATE_ORDERS,
                        help="dates exported with slashes: 12/31/2025 (month-first) or 31/12/2025 (day-first); "
                             "default: date_order in the config, else auto (found from the values, e.g. a 31 "
                             "first means day-first; month-first where no value tells)")
    parser.add_argument("--decimal-separator", choices=told.DECIMAL_SEPARATORS,
                        help="numbers exported as text: 2.5 (point) or 2,5 (comma, Excel on a European site); "
                             "default: decimal_separator in the config, else auto (found from the values, e.g. 2,5 "
                             "means comma; point where no value tells)")
    parser.add_argument("--keep-going", action="store_true",
                        help="on a contract violation, end the rules that need the broken table as ERROR and go on")


def _reports(parser: argparse.ArgumentParser) -> None:
    """Options of the commands that write a report and gate on it."""
    parser.add_argument("--format", dest="formats", action="append", metavar="NAME[:FILE]",
                        help=f"a report to write: {', '.join(sorted(FORMATS))}, to FILE (atomically) or else to stdout; "
                             "repeat for several in one run (default: console)")
    parser.add_argument("--output", type=Path, metavar="FILE",
                        help="the file of the one --format given without one (instead of stdout)")
    parser.add_argument("--fail-on", choices=["error", "warning", "info", "never"],
                        help="lowest severity that makes the exit code 1 (default: error, or fail_on in the config)")
    parser.add_argument("--color", action="store_true", help="colour the console report")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress display (it shows on a terminal only, once a run takes a few seconds)")


def _selection(parser: argparse.ArgumentParser, what: str = "run only") -> None:
    """--rule and --tag: the rules a command is about (`what`: how its help begins)."""
    reads = "" if what == "run only" else " reads"
    parser.add_argument("--rule", dest="ids", action="append", default=[], metavar="ID",
                        help=f"{what} this rule{reads} (repeatable)")
    parser.add_argument("--tag", dest="tags", action="append", default=[], metavar="TAG",
                        help=f"{what} the rules with this tag{reads.removesuffix('s')} (repeatable)")


def _run(parser: argparse.ArgumentParser) -> None:
    """Options of the commands that run the rules on a site."""
    _selection(parser)
    _engine(parser)
    parser.add_argument("--attestations", type=Path, metavar="FILE",
                        help="the site's answers to the readiness questionnaire (default: PATH/attestations.yaml)")
    _reading(parser)
    _common(parser)


def _engine(parser: argparse.ArgumentParser) -> None:
    """The engine that runs the rules, and its settings."""
    parser.add_argument("--engine", default="duckdb",
                        help="evaluation engine: duckdb (default, in-process, on the exports), sql (inside the "
                             "database --url names) or spark (through Spark, --spark-master)")
    parser.add_argument("--url", metavar="URL", help="--engine sql: the database, postgresql://USER@HOST/DB or "
                                                     "mssql://...; the password from the URL or the driver's settings")
    parser.add_argument("--spark-master", default="local[*]", metavar="URL",
                        help="--engine spark: the Spark master (default: local[*], on this machine)")
    parser.add_argument("--db-schema", default="Erp", metavar="NAME",
                        help="--engine sql: the schema of Epicor's tables (default: Erp)")
    parser.add_argument("--memory-limit", type=memory_size, metavar="SIZE",
                        help="engine memory limit, e.g. 1GB (spills to disk beyond)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backflush",
        description="Check an Epicor Kinetic site's exports before material backflush is switched on.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="run 'backflush COMMAND --help' for the options and examples of each command",
    )
    parser.add_argument("--version", action="version", version=f"backflush-validator {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="run the rules on a folder of Epicor exports",
                                description="Run the rules on a folder holding one export per Epicor table "
                                            "(Part.csv, PartPlant.parquet, JobMtl.xlsx, ...).",
                                epilog=EPILOG_CHECK, formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("path", type=site_location, help=PATH_HELP + URI_HELP)
    _reports(check)
    check.add_argument("--baseline", type=Path, metavar="FILE",
                       help="a baseline ('backflush baseline'): the gate fails on new findings only, and every format "
                            "counts new, persisting and fixed ones")
    check.add_argument("--waivers", type=Path, metavar="FILE",
                       help="known exceptions accepted until a date (default: waivers in the config)")
    _run(check)

    diff = commands.add_parser("diff", help="check two exports of a site and report what changed",
                               description="Check OLD and NEW with the same rules: NEW's report, with its findings "
                                           "new or persisting against OLD's, the resolved ones counted, and the parts "
                                           "whose verdict changed. The gate fails only on new findings.",
                               epilog="example:\n  backflush diff exports-2026-11/ exports-2026-12/ --format "
                                      "markdown:diff.md --fail-on warning",
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    diff.add_argument("old", type=site_location, metavar="OLD",
                      help="the exports before the change (" + PATH_HELP + URI_HELP + ")")
    diff.add_argument("new", type=site_location, metavar="NEW", help="the exports after it")
    _reports(diff)
    diff.add_argument("--waivers", type=Path, metavar="FILE",
                      help="known exceptions accepted until a date (default: waivers in the config)")
    _run(diff)

    columns = commands.add_parser("columns", help="list the columns the rules read, per table, to export them",
                                  description="Per Epicor table, the columns the selected rules read: as a BAQ field "
                                              "list, a SQL SELECT against Epicor's database and a REST $select.",
                                  epilog="examples:\n  backflush columns\n  backflush columns --tag eligibility "
                                         "--format json",
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    _selection(columns, "only the columns")
    columns.add_argument("--format", choices=["text", "json"], default="text")
    columns.add_argument("--schema", default="Erp", help="the database schema of the SQL (default: Erp)")
    columns.add_argument("--output", type=Path, metavar="FILE", help="write here (atomically) instead of stdout")
    _common(columns)

    pull = commands.add_parser("pull", help="pull the tables the rules read from Epicor's REST API into a snapshot",
                               description="Read the tables the selected rules need from Epicor Kinetic's REST API v2 "
                                           "(sources: epicor: in backflush.yaml; the API key, user and password from "
                                           "EPICOR_API_KEY, EPICOR_USER, EPICOR_PASSWORD or a prompt) into OUT_DIR: "
                                           "a Parquet file per table and a manifest, put in place only when whole.",
                               epilog="example:\n  EPICOR_API_KEY=... EPICOR_USER=... EPICOR_PASSWORD=... backflush pull "
                                      "snapshots/2026-12-06\n  backflush check snapshots/2026-12-06",
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    pull.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="the snapshot folder to write")
    _selection(pull, "only the tables and columns")
    pull.add_argument("--force", action="store_true", help="replace OUT_DIR when it exists (once the new one is whole)")
    pull.add_argument("--quiet", action="store_true", help="no progress bars")
    _common(pull)

    baseline = commands.add_parser("baseline", help="record the findings of a site, for a gate on new ones",
                                   description="Run the rules and write the fingerprints of every finding: "
                                               "'check --baseline FILE' then fails on new findings only.",
                                   epilog="example:\n  backflush baseline exports/ -o baseline.json\n"
                                          "  backflush check exports/ --baseline baseline.json",
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    baseline.add_argument("path", type=site_location, help=PATH_HELP + URI_HELP)
    baseline.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="the baseline to write")
    baseline.add_argument("--quiet", action="store_true",
                          help="no progress display (it shows on a terminal only, once a run takes a few seconds)")
    _run(baseline)

    recommend = commands.add_parser("recommend", help="list the parts to switch backflush on and off, as a DMT load",
                                    description="Run every rule and write the parts to switch backflush on (ready, "
                                                "not yet backflushed) and off (backflushed but not eligible, "
                                                "misconfigured or at risk) as a CSV for Epicor's DMT Part Plant load, "
                                                "with the reasons; parts whose verdict is unknown need review.",
                                    epilog=EPILOG_RECOMMEND, formatter_class=argparse.RawDescriptionHelpFormatter)
    recommend.add_argument("path", type=site_location, help=PATH_HELP + URI_HELP)
    recommend.add_argument("--output", type=Path, default=Path("dmt-partplant-backflush.csv"), metavar="FILE",
                           help="the DMT CSV (default: dmt-partplant-backflush.csv); reasons beside it: dmt.csv, dmt.reasons.csv")
    recommend.add_argument("--company", help="Company for rows whose PartPlant export has no Company column")
    recommend.add_argument("--attestations", type=Path, metavar="FILE",
                           help="the site's answers to the readiness questionnaire (default: PATH/attestations.yaml)")
    recommend.add_argument("--quiet", action="store_true",
                           help="no progress display (it shows on a terminal only, once a run takes a few seconds)")
    _engine(recommend)
    _reading(recommend)
    _common(recommend)

    init = commands.add_parser("init", help="write the blank readiness questionnaire for a site",
                               description="Write the readiness questionnaire (rule BFR010) with a block per site, "
                                           "ready to be answered.", epilog=EPILOG_INIT,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    init.add_argument("path", type=site_location, help="folder of exports (or a workbook with a sheet per table): its sites "
                      "(PartPlant.Plant) get a block each")
    init.add_argument("--plant", dest="plants", action="append", default=[], metavar="PLANT",
                      help="write a block for this site only (repeatable; default: every site in PartPlant)")
    init.add_argument("--output", type=Path, metavar="FILE", help="where to write (default: attestations.yaml in PATH, or beside "
                      "the workbook)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.add_argument("--config", type=Path, metavar="FILE",
                      help="backflush.yaml naming the PartPlant export (default: ./backflush.yaml when it exists)")
    init.add_argument("--debug", action="store_true", help="show the Python traceback of an error")

    rules = commands.add_parser("rules", help="list the rules in force", description="List the rules in force: "
                                "id, severity, title and tags.", epilog=EPILOG_RULES,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    rules.add_argument("--tag", dest="tags", action="append", default=[], metavar="TAG",
                       help="only rules with this tag (repeatable)")
    rules.add_argument("--id", dest="ids", action="append", default=[], metavar="ID", help="only this rule (repeatable)")
    rules.add_argument("--format", choices=["table", "markdown", "json"], default="table")
    rules.add_argument("--output", type=Path, metavar="FILE", help="write here (atomically) instead of stdout")
    _common(rules)

    explain = commands.add_parser("explain", help="show a rule: why, what it reads, and its SQL",
                                  description="Show a rule's title, rationale, evidence, remediation, the tables and "
                                              "columns it reads, and the SQL it runs.",
                                  epilog=EPILOG_EXPLAIN, formatter_class=argparse.RawDescriptionHelpFormatter)
    explain.add_argument("rule", metavar="RULE", help="rule id, e.g. BFE001")
    explain.add_argument("--dialect", choices=["duckdb", "tsql", "postgres", "spark"], default="duckdb",
                         help="SQL dialect of the printed query (default: duckdb)")
    explain.add_argument("--sql", action="store_true", help="print only the SQL, one statement per judged table")
    _common(explain)
    return parser


# each command is a module of validator/commands/ with main(args) -> exit code, imported when it runs
COMMANDS = {"check": "check", "diff": "diff", "baseline": "baseline", "columns": "columns", "pull": "pull",
            "recommend": "recommend",
            "init": "init", "rules": "docs", "explain": "explain"}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return importlib.import_module(f"validator.commands.{COMMANDS[args.command]}").main(args)
    except BackflushError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"backflush: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        return _stopped(exc)
    except RuntimeError as exc:  # a query DuckDB stopped for an interrupt says so as a RuntimeError of its own
        if not isinstance(exc.__cause__, KeyboardInterrupt):
            raise
        return _stopped(exc.__cause__)
    except BrokenPipeError:  # the reader (head, less) went away: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the run is, so that it stops as an interrupted one does: files and folders closed and
    removed on the way out."""


def _terminated(signum: int, frame: object) -> NoReturn:
    raise Terminated


def _stopped(interrupt: KeyboardInterrupt) -> int:
    terminated = isinstance(interrupt, Terminated)
    print(f"backflush: {'terminated' if terminated else 'interrupted'}", file=sys.stderr)
    return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


def run() -> NoReturn:
    """The `backflush` command: main(), then the process ends without tearing the interpreter down. Every file
    is written and closed and every connection closed by then; Python's teardown of the modules a check imports
    (pandas, pyarrow, ibis) would only add time to every run (docs/performance.md). A run told to stop (SIGTERM:
    a cancelled CI job, `kill`) stops as one interrupted, so that its spill folders go as when it ends."""
    signal.signal(signal.SIGTERM, _terminated)
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader (head, less) went away: not an error of ours
        pass
    os._exit(code)


if __name__ == "__main__":
    run()
