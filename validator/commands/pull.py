"""`backflush pull OUT_DIR`: the tables the selected rules read, pulled from Epicor's REST API (sources: epicor: in
backflush.yaml) into a snapshot that `backflush check OUT_DIR` reads like any folder of exports."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from validator.commands.columns import needed_columns
from validator.commands.setup import setup
from validator.config.ruleset import select
from validator.errors import EXIT_OK, ConfigError
from validator.sources.epicor_rest import Credentials, RestSettings, pull

DEFAULT_ENV = {"api_key_env": "EPICOR_API_KEY", "user_env": "EPICOR_USER", "password_env": "EPICOR_PASSWORD"}


def credentials(settings: dict) -> Credentials:  # noqa: ANN001 - sources: epicor: as read from backflush.yaml
    """The user, password and API key from their environment variables; a prompt for what is missing when a
    person is at the terminal, else an error naming the variable. Never from the file."""
    values = {}
    for name, default in DEFAULT_ENV.items():
        variable = settings.get(name, default)
        value = os.environ.get(variable)
        if not value:
            if not sys.stdin.isatty():
                raise ConfigError(f"set the environment variable {variable} (the Epicor {name.removesuffix('_env')}); "
                                  "secrets are never read from backflush.yaml")
            prompt = f"Epicor {name.removesuffix('_env').replace('_', ' ')} ({variable}): "
            value = input(prompt) if name == "user_env" else getpass.getpass(prompt)
        values[name] = value
    return Credentials(values["user_env"], values["password_env"], values["api_key_env"])


def main(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, TextColumn

    registry, config, _, rules = setup(args)
    given = config.sources.get("epicor")
    if not given:
        raise ConfigError("no REST source: add sources: epicor: (base_url, company) to backflush.yaml, or give it with "
                          "--config", location=str(config.path or "backflush.yaml"))
    settings = RestSettings.from_config(given)
    secrets = credentials(given)
    wanted = needed_columns(select(rules, args.ids, args.tags), registry, exported=set(settings.bo_tables()))
    keys = {t: list(registry.tables[t].key) for t in wanted}
    plants = {t: "Plant" in registry.tables[t].columns for t in wanted}
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[rows]:,} rows, "
                                                                            "{task.fields[pages]} page(s)"),
                  console=None, transient=False, disable=args.quiet) as bar:
        tasks = {t: bar.add_task(t, total=None, rows=0, pages=0) for t in wanted}

        def progress(table: str, rows: int, pages: int) -> None:
            bar.update(tasks[table], rows=rows, pages=pages)

        def waiting(message: str) -> None:
            print(message, file=sys.stderr)

        manifest = pull(settings, secrets, wanted, keys, plants, args.out_dir, force=args.force, progress=progress,
                        on_wait=waiting)
    rows = sum(t["rows"] for t in manifest["tables"].values())
    print(f"pulled {len(manifest['tables'])} table(s), {rows:,} rows, from {manifest['source']} (company "
          f"{manifest['company']}) into {args.out_dir}; check it with 'backflush check {args.out_dir}'")
    return EXIT_OK
