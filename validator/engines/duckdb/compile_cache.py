"""Compiled passes kept on disk: a run whose rules, tables and site facts are an earlier run's reuses its SQL.

Compiling the rules through ibis costs seconds of Python (docs/performance.md), and a consultant re-running a check
after fixing data, or a CI gate on every master-data change, compiles the same passes again. A pass's SQL depends
only on
- the code that compiles it (this package's compiler, table registry and engine modules; ibis, sqlglot, DuckDB),
- the rules with their parameters in force (the profile's snapshot date and window among them),
- the table registry, the names and types of the columns each export gave, and what the text scans found
  (which keys are upper case and complete, whether the site has one company),
- and the row counts that chose a semi-join (Frame.decisions): these are counted again on every reuse, and a pass
  whose counts now decide otherwise is compiled again.
All of them make the entry's name (a SHA-256), so an entry is never reused for other inputs.

The command line says where the cache lives (validator/config/settings.py). A folder that cannot be written is not used,
and an entry that cannot be read is compiled again; neither changes a finding. The newest KEEP entries are kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from validator import __version__
from validator.engines.duckdb.load import DuckDBSite as Site
from validator.engines.duckdb.sql_text import quote
from validator.rules.model import Check, Rule
from validator.rules.passes import CompiledCheck, CompiledTable, semi_join_pays
from validator.rules.what_if import check_index, indexed_checks
from validator.site import JoinKeys
from validator.tables import Registry

if TYPE_CHECKING:
    from validator.engines.duckdb import DuckDBEngine

KEEP = 256  # entries kept; each is a few passes' SQL (the demo's largest: ~60 KB)
PACKAGE = Path(__file__).resolve().parents[2]  # validator/
COMPILER_CODE = ("rules", "engines", "tables.py")  # what writes a pass's SQL (this module is in engines/)


def _code_version() -> str:
    # the versions as installed, read without importing ibis and sqlglot: a run reusing its passes needs neither
    digest = hashlib.sha256(f"{__version__} ibis {version('ibis-framework')} sqlglot {version('sqlglot')} "
                            f"duckdb {duckdb.__version__}".encode())
    for name in COMPILER_CODE:
        path = PACKAGE / name
        for source in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(source.relative_to(PACKAGE).as_posix().encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()


def site_inputs(site: Site, registry: Registry, keys: JoinKeys) -> str:
    """What of a site a compiled pass depends on, besides its rules: the registry, the columns of every table
    read (name and type) and what the text scans found."""
    schemas = {name: site.con.execute(f"DESCRIBE {quote(name)}").fetchall() for name in sorted(site.tables)}
    return json.dumps({"code": _code_version(), "registry": repr(registry.tables), "schemas": schemas,
                       "upper": sorted(keys.upper), "complete": sorted(keys.complete), "one_company": keys.one_company},
                      default=str, sort_keys=True)


class CompileCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def passes(self, engine: DuckDBEngine, site: Site, table: str, items: list[tuple[Rule, Check]], inputs: str,
               compile_passes: Callable[[], list[CompiledTable]]) -> list[CompiledTable]:
        """The passes of the checks `items` on `table`, with their SQL: reused when an earlier run compiled them
        from the same inputs and the row counts still decide the same, else compiled (and kept)."""
        key = hashlib.sha256(f"{engine.name}\n{inputs}\n{table}\n{repr(items)}".encode()).hexdigest()
        path = self.folder / f"{key}.json"
        reused = _restored(path, items, engine, site)
        if reused is not None:
            return reused
        compiled = [replace(c, sql=engine.sql(c.query)) for c in compile_passes()]
        self._keep(path, [_entry(c, engine) for c in compiled])
        return compiled

    def _keep(self, path: Path, entry: list[dict]) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=self.folder, suffix=".tmp", delete=False, encoding="utf-8") as out:
                json.dump(entry, out)
            os.replace(out.name, path)
            kept = sorted(self.folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in kept[KEEP:]:
                old.unlink(missing_ok=True)
        except OSError:
            pass  # a cache that cannot be written is not used: the run compiled its passes anyway


def _entry(compiled: CompiledTable, engine: DuckDBEngine) -> dict:
    return {"table": compiled.table, "sql": compiled.sql, "key": list(compiled.key),
            "checks": [[c.rule.id, check_index(c.rule, c.check), c.hit, [list(e) for e in c.evidence]]
                       for c in compiled.checks],
            "component": [list(c) for c in compiled.component],
            "decisions": [[engine.sql(candidates), target, semi] for candidates, target, semi in compiled.decisions]}


def _restored(path: Path, items: list[tuple[Rule, Check]], engine: DuckDBEngine, site: Site) -> list[CompiledTable] | None:
    """The kept passes, or None when there are none, they cannot be read, or a row count now decides otherwise."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    rules = {rule.id: rule for rule, _ in items}
    counted: dict[str, int] = {}  # a pass's decisions often weigh the same candidates
    try:
        passes = []
        for entry in entries:
            for candidates, target, semi in entry["decisions"]:
                if candidates not in counted:
                    counted[candidates] = engine.count_sql(site, candidates)
                if semi_join_pays(counted[candidates], engine.count(site, target)) != semi:
                    return None
            checks = tuple(CompiledCheck(rules[rule_id], dict(indexed_checks(rules[rule_id]))[index], hit,
                                         tuple((ref, column) for ref, column in evidence))
                           for rule_id, index, hit, evidence in entry["checks"])
            passes.append(CompiledTable(entry["table"], None, tuple(entry["key"]), checks,
                                        tuple((role, column) for role, column in entry["component"]), None,
                                        sql=entry["sql"]))
        return passes
    except (KeyError, IndexError, TypeError, ValueError):
        return None
