"""The `backflush` command: argument parsing and exit codes only."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from validator import __version__
from validator.errors import EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK, BackflushError
from validator.formats import FORMATS

EPILOG_CHECK = """examples:
  backflush check fixtures/demo
  backflush check exports/ --format json --output findings.json --fail-on warning
  backflush check exports/ --rules my-rules/ --config backflush.yaml --tag eligibility
  backflush check exports/ --rule BFE001 --rule BFC003 --keep-going
  backflush check exports/ --tag readiness --profile strict

exit codes: 0 no finding at or above --fail-on; 1 findings at or above it; 2 bad input or configuration."""

EPILOG_RULES = """examples:
  backflush rules
  backflush rules --tag eligibility
  backflush rules --format markdown --output docs/rules.md"""

EPILOG_EXPLAIN = """examples:
  backflush explain BFE001
  backflush explain BFC012 --dialect tsql     # paste into SSMS against the Epicor database
  backflush explain BFE001 --sql --dialect postgres > bfe001.sql
  backflush explain BFC001 --dialect postgres"""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rules", dest="rule_dirs", action="append", type=Path, default=[], metavar="DIR",
                        help="a folder of your own rule files, added to the built-in ones (repeatable)")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="backflush.yaml with overrides (default: ./backflush.yaml when it exists)")
    parser.add_argument("--profile", metavar="NAME|FILE",
                        help="readiness profile: a shipped preset (default, strict) or a profile file "
                             "(default: profile in the config, else default)")
    parser.add_argument("--debug", action="store_true", help="show the Python traceback of an error")


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
    check.add_argument("path", type=Path, help="folder of exports, one file per table, named after the table")
    check.add_argument("--format", default="console", choices=sorted(FORMATS), help="report format (default: console)")
    check.add_argument("--output", type=Path, metavar="FILE", help="write the report here (atomically) instead of stdout")
    check.add_argument("--fail-on", choices=["error", "warning", "info", "never"],
                       help="lowest severity that makes the exit code 1 (default: error, or fail_on in the config)")
    check.add_argument("--rule", dest="ids", action="append", default=[], metavar="ID", help="run only this rule (repeatable)")
    check.add_argument("--tag", dest="tags", action="append", default=[], metavar="TAG",
                       help="run only rules with this tag (repeatable)")
    check.add_argument("--keep-going", action="store_true",
                       help="on a contract violation, end the rules that need the broken table as ERROR and go on")
    check.add_argument("--engine", default="duckdb", help="evaluation engine (default: duckdb, in-process)")
    check.add_argument("--memory-limit", metavar="SIZE", help="engine memory limit, e.g. 1GB (spills to disk beyond)")
    check.add_argument("--color", action="store_true", help="colour the console report")
    _common(check)

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


def _emit(text_writer, output: Path | None) -> None:  # noqa: ANN001 - a callable taking a stream
    from validator.output import write_atomically

    if output is None:
        text_writer(sys.stdout)
    else:
        write_atomically(output, text_writer)


def _setup(args: argparse.Namespace):  # noqa: ANN202
    from validator.config import load_config
    from validator.profile import load_profile
    from validator.ruleset import rules_in_force
    from validator.tables import builtin_registry

    registry = builtin_registry()
    config = load_config(args.config)
    profile = load_profile(args.profile, config.profile, config.document)
    return registry, config, profile, rules_in_force(registry, config, args.rule_dirs, profile)


def cmd_check(args: argparse.Namespace) -> int:
    from validator.check import run_check
    from validator.engines import get_engine
    from validator.formats import get_format
    from validator.ruleset import select

    registry, config, profile, rules = _setup(args)
    formatter = get_format(args.format)
    engine = get_engine(args.engine, **({"memory_limit": args.memory_limit} if args.memory_limit else {}))
    report = run_check(args.path, select(rules, args.ids, args.tags), registry, engine, keep_going=args.keep_going,
                       profile=profile)
    _emit(lambda out: formatter.write(report, out, color=args.color and args.output is None), args.output)
    if args.output is not None:
        counts = report.counts()
        print(f"{len(report.findings)} finding(s) ({counts['error']} error, {counts['warning']} warning, "
              f"{counts['info']} info) written to {args.output}")
    fail_on = args.fail_on or config.fail_on or "error"
    return EXIT_FINDINGS if report.worst_at_or_above(fail_on) else EXIT_OK


def cmd_rules(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from validator.docs import reads, rules_markdown
    from validator.ruleset import select

    registry, _, _, rules = _setup(args)
    chosen = select(rules, args.ids, args.tags, enabled_only=False)
    if args.format == "markdown":
        _emit(lambda out: out.write(rules_markdown(chosen, registry)), args.output)
    elif args.format == "json":
        data = [{"id": r.id, "severity": r.severity, "title": r.title, "tags": list(r.tags), "enabled": r.enabled,
                 "tables": list(r.tables), "reads": reads(r, registry)} for r in chosen]
        _emit(lambda out: out.write(json.dumps(data, indent=2) + "\n"), args.output)
    else:
        def table(out):  # noqa: ANN001, ANN202
            grid = Table("Id", "Severity", "Title", "Tags", "Enabled")
            for r in chosen:
                grid.add_row(r.id, r.severity, r.title, ", ".join(r.tags), "yes" if r.enabled else "no")
            Console(file=out, width=140, no_color=True).print(grid)
        _emit(table, args.output)
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    from validator.explain import explain_text, sql_for
    from validator.ruleset import select

    registry, _, profile, rules = _setup(args)
    (rule,) = select(rules, [args.rule], enabled_only=False)
    if args.sql:
        print("\n\n".join(f"{sql.strip()};" for _, sql in sql_for(rule, registry, args.dialect, profile)))
    else:
        print(explain_text(rule, registry, args.dialect, profile))
    return EXIT_OK


COMMANDS = {"check": cmd_check, "rules": cmd_rules, "explain": cmd_explain}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except BackflushError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"backflush: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("backflush: interrupted", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # the reader (head, less) went away: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
