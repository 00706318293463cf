"""`backflush columns`: per Epicor table, the columns the selected rules read, as a BAQ field list, as a SQL SELECT
against Epicor's database and as the REST $select: what to export before a check (README "Getting the data")."""

from __future__ import annotations

import argparse
import json

from validator.commands.check import read_columns
from validator.commands.setup import emit, setup
from validator.config.ruleset import select
from validator.errors import EXIT_OK
from validator.rules.compile.database_fields import select_text
from validator.tables import Registry


def needed_columns(rules: list, registry: Registry,  # noqa: ANN001 - rules in force
                   exported: set[str] = frozenset()) -> dict[str, list[str]]:
    """Epicor table -> the database columns a check of `rules` reads, sorted: the rules', the verdicts' and the
    history dates (a column only exports carry is left out, and so is a table the tool reads from a file of its
    own). `exported`: tables read from a business object, whose calculated fields an export carries too."""
    needs = read_columns(rules, registry)
    out = {}
    for table in sorted(needs):
        spec = registry.tables[table]
        if not spec.epicor:
            continue
        out[table] = sorted(c for c in needs[table] if c in spec.columns
                            and (not spec.columns[c].export_only or table in exported))
    return out


def text(columns: dict[str, list[str]], registry: Registry, schema: str = "Erp") -> str:
    lines = []
    for table, names in columns.items():
        lines += [f"{table} ({len(names)} columns)",
                  f"  BAQ fields:  {', '.join(f'{table}.{c}' for c in names)}",
                  f"  SQL:         {select_text(registry.tables[table], names, schema)}",
                  f"  REST $select={','.join(names)}", ""]
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    registry, _, _, rules = setup(args)
    columns = needed_columns(select(rules, args.ids, args.tags), registry)
    if args.format == "json":
        emit(lambda out: out.write(json.dumps(columns, indent=2) + "\n"), args.output)
    else:
        emit(lambda out: out.write(text(columns, registry, args.schema)), args.output)
    return EXIT_OK
