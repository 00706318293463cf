"""What every command does first: the registry, backflush.yaml, the profile and the rules in force; the engine
and the source PATH names, with the settings read here once; and where a command's text goes."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from validator import told
from validator.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from validator.config.backflush_yaml import Config
    from validator.engines import Engine
    from validator.progress import Progress
    from validator.sources import Source
    from validator.tables import Registry


def emit(text_writer: Callable[[Any], Any], output: Path | None, *, binary: bool = False) -> None:
    from validator.output import write_atomically

    if output is None:
        if binary:
            sys.stdout.flush()
            text_writer(sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            text_writer(sys.stdout)
    else:
        write_atomically(output, text_writer, binary=binary)


def setup(args: argparse.Namespace) -> tuple[Any, Any, Any, Any]:
    from validator.config.backflush_yaml import load_config
    from validator.config.profile import load_profile
    from validator.config.ruleset import rules_in_force
    from validator.config.settings import cache_dir
    from validator.schemas import remember_valid_documents
    from validator.tables import builtin_registry

    cache = cache_dir()
    remember_valid_documents(cache / "valid-documents" if cache is not None else None)
    registry = builtin_registry()
    config = load_config(args.config)
    profile = load_profile(args.profile, config.profile, config.document)
    return registry, config, profile, rules_in_force(registry, config, args.rule_dirs, profile)


def reading_options(args: argparse.Namespace, config: Config, registry: Registry) -> dict[str, Any]:
    """How to read the exports: dates and numbers as the command's option, else the config's, else found out; the
    tables the config says may be empty; the files and headers it names."""
    from validator.config.backflush_yaml import empty_tables, export_namings

    return {"date_order": args.date_order or config.date_order or told.AUTO,
            "decimal_separator": args.decimal_separator or config.decimal_separator or told.AUTO,
            "empty_tables": empty_tables(config, list(registry.tables)), "named": export_namings(config, registry),
            "jobs": config.jobs}


def engine_for(args: argparse.Namespace) -> Engine:
    """The engine the command names, with the settings read here once: its memory limit and the compile cache."""
    from validator.config.settings import cache_dir
    from validator.engines import get_engine

    memory = getattr(args, "memory_limit", None)
    name = getattr(args, "engine", "duckdb")
    options: dict[str, Any] = {"memory_limit": memory} if memory else {}
    if name == "sql":  # the database to run in; the compile cache is the embedded engine's
        options |= {"url": getattr(args, "url", None), "schema": getattr(args, "db_schema", "Erp")}
    elif name == "spark":
        options["spark_master"] = getattr(args, "spark_master", "local[*]")
    elif getattr(args, "url", None):
        raise ConfigError("--url names a database for --engine sql; add --engine sql")
    else:
        options["cache_dir"] = cache_dir()
    return get_engine(name, **options)


@contextlib.contextmanager
def progress_for(args: argparse.Namespace) -> Iterator[Progress]:
    """The progress display of a long run: on a terminal (stderr), unless --quiet; else none."""
    from validator.progress import SILENT

    if getattr(args, "quiet", False) or not sys.stderr.isatty():
        yield SILENT
        return
    from validator.commands.progress_display import TerminalProgress

    shown = TerminalProgress()
    try:
        yield shown
    finally:
        shown.close()


def source_of(path: Path | str, engine: Engine | None = None) -> contextlib.closing[Source]:
    """The source PATH is (a folder, a workbook, a ZIP of exports; a URI the engine reads: Spark's), closed when the
    command is done with it."""
    from validator.sources import open_source

    if isinstance(path, str):  # a URI (sources.site_location)
        open_site = getattr(engine, "open_site", None)
        if open_site is None:
            raise ConfigError("a site at a URI is read through Spark: run check, recommend, baseline or diff with "
                              "--engine spark, or give a local or mounted folder", location=path)
        return contextlib.closing(open_site(path))
    return contextlib.closing(open_source(path))


def readiness_in_force(rules: dict) -> list[str]:  # noqa: ANN001 - rules in force by id
    """The readiness rules a part must pass to be ready: every enabled one in force, selected or not."""
    from validator.commands.check import READINESS

    return [r.id for r in rules.values() if r.enabled and READINESS in r.tags]


