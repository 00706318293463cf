"""backflush.yaml: where user rule packs live, and overrides of severity, enabled and parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from validator.errors import ConfigError
from validator.rules.model import Rule
from validator.schemas import check_document
from validator.sources import Naming, header_text
from validator.tables import Registry
from validator.yamlsource import YamlDocument

DEFAULT_NAME = "backflush.yaml"


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    fail_on: str | None = None
    jobs: str = "open"  # the jobs the eligibility and integrity rules judge: open or all (grammar.JOB_SCOPES)
    rule_dirs: tuple[Path, ...] = ()
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    document: YamlDocument | None = None
    profile: Any = None  # a preset name, a profile file, or the profile itself (validator/config/profile.py)
    date_order: str | None = None  # of dates exported with slashes (validator/engines/duckdb/date_order.py); None: found out
    decimal_separator: str | None = None  # of numbers exported as text (validator/engines/duckdb/decimals.py); None: found out
    empty_tables: tuple[str, ...] = ()  # tables whose export may hold no rows (a site without jobs before go-live)
    exports: dict[str, dict[str, Any]] = field(default_factory=dict)  # table -> file, sheet, columns (sources.Naming)
    waivers: Path | None = None  # the waivers file (validator/config/waivers.py), relative to this file
    sources: dict[str, Any] = field(default_factory=dict)  # where `backflush pull` reads from (sources.epicor)


def load_config(path: Path | None) -> Config:
    """Read the given file, or ./backflush.yaml when it exists; no file means no overrides."""
    if path is None:
        default = Path(DEFAULT_NAME)
        if not default.is_file():
            return Config()
        path = default
    if not path.is_file():
        raise ConfigError("configuration file not found", location=str(path))
    doc = YamlDocument.read(path, ConfigError)
    if doc.data is None:
        return Config(path=path, document=doc)
    check_document(doc, "config.schema.json", ConfigError)
    data = doc.data
    return Config(
        path=path,
        fail_on=data.get("fail_on"),
        jobs=data.get("jobs", "open"),
        rule_dirs=tuple((path.parent / d).resolve() for d in data.get("rule_dirs", [])),
        overrides=data.get("rules", {}),
        document=doc,
        profile=data.get("profile"),
        date_order=data.get("date_order"),
        decimal_separator=data.get("decimal_separator"),
        empty_tables=tuple(data.get("empty_tables", [])),
        exports=data.get("exports", {}),
        waivers=path.parent / data["waivers"] if data.get("waivers") else None,
        sources=data.get("sources", {}),
    )


def _where(config: Config, pointer: list[str | int], fallback: str) -> str:
    return config.document.where(pointer) if config.document else fallback


def _table_name(config: Config, pointer: list[str | int], name: str, tables: list[str]) -> str:
    """The Epicor table a config entry names (any case); an unknown name fails at its line."""
    by_lower = {table.lower(): table for table in tables}
    if name.lower() not in by_lower:
        raise ConfigError(f"{pointer[0]} names unknown table {name}; tables: {', '.join(sorted(tables))}",
                          location=_where(config, pointer, name))
    return by_lower[name.lower()]


def empty_tables(config: Config, tables: list[str]) -> frozenset[str]:
    """The configured empty tables by their Epicor names (any case); a name that is not a table fails."""
    return frozenset(_table_name(config, ["empty_tables", index], name, tables)
                     for index, name in enumerate(config.empty_tables))


def export_namings(config: Config, registry: Registry) -> dict[str, Naming]:
    """What `exports:` says of each table's export, by Epicor table and column names (any case in the file); an
    unknown table or column, or one header given to two columns, fails at its line."""
    namings = {}
    for name, entry in config.exports.items():
        table = registry.tables[_table_name(config, ["exports", name], name, list(registry.tables))]
        by_lower = {column.lower(): column for column in table.columns}
        headers: dict[str, str] = {}
        for column, header in entry.get("columns", {}).items():
            where = _where(config, ["exports", name, "columns", column], column)
            if column.lower() not in by_lower:
                raise ConfigError(f"{table.name} has no column {column}; its columns: {', '.join(table.columns)}",
                                  location=where)
            twice = next((c for c, h in headers.items() if header_text(h) == header_text(header)), None)
            if twice:
                raise ConfigError(f"header {header!r} is given to both {twice} and {by_lower[column.lower()]}",
                                  location=where)
            headers[by_lower[column.lower()]] = header
        if table.name in namings:
            raise ConfigError(f"table {table.name} is named twice under exports (in two cases)",
                              location=_where(config, ["exports", name], name))
        namings[table.name] = Naming(entry.get("file"), entry.get("sheet"), tuple(headers.items()),
                                     _where(config, ["exports", name], "backflush.yaml"))
    return namings


def apply_overrides(rules: dict[str, Rule], config: Config) -> dict[str, Rule]:
    """Rules with the configured severity, enabled flag and parameters; unknown ids and params fail."""
    result = dict(rules)
    for rule_id, override in config.overrides.items():
        where = _where(config, ["rules", rule_id], rule_id)
        if rule_id not in rules:
            raise ConfigError(f"names unknown rule {rule_id}; known rules: {', '.join(sorted(rules))}", location=where)
        rule = rules[rule_id]
        params = override.get("params", {})
        unknown = sorted(set(params) - set(rule.params))
        if unknown:
            raise ConfigError(
                f"rule {rule_id} has no parameter {', '.join(unknown)}; its parameters: {', '.join(rule.params) or 'none'}",
                location=where,
            )
        result[rule_id] = rule.overridden(severity=override.get("severity"), enabled=override.get("enabled"),
                                          params=params)
    return result
