"""`backflush init`: the blank readiness questionnaire for the sites of a site's exports."""

from __future__ import annotations

import argparse
from pathlib import Path

from validator.commands.setup import engine_for, source_of
from validator.config.backflush_yaml import DEFAULT_NAME as DEFAULT_CONFIG
from validator.config.starter import CONFIG, WAIVERS
from validator.errors import EXIT_OK


def main(args: argparse.Namespace) -> int:
    from validator.config.attestations import DEFAULT_NAME, blank_questionnaire
    from validator.config.backflush_yaml import export_namings, load_config
    from validator.errors import ConfigError
    from validator.output import write_atomically
    from validator.tables import builtin_registry

    registry = builtin_registry()
    engine = engine_for(args)
    with source_of(args.path) as source:
        target = args.output or source.home / DEFAULT_NAME
        if target.exists() and not args.force:
            raise ConfigError("already exists; answer it, or pass --force to overwrite it", location=str(target))
        site = engine.load(source, registry, {"PartPlant": {"Company", "Plant"}},
                           named=export_namings(load_config(args.config), registry))
        try:
            if "PartPlant" in site.absent and not args.plants:
                raise ConfigError(f"{site.absent['PartPlant']}; name the sites with --plant", location=str(args.path))
            sites: list[tuple[str | None, str]] = []
            if "PartPlant" not in site.absent:
                site.require_columns()
                sites = [(c, p) for c, p in engine.distinct(site, "PartPlant", ["Company", "Plant"]) if p is not None]
        finally:
            engine.close(site)
    if args.plants:  # the named sites, of every company that has them (or of none, when PartPlant says nothing)
        wanted = {p.upper() for p in args.plants}
        chosen = [(c, p) for c, p in sites if p.upper() in wanted]
        known = {p.upper() for _, p in chosen}
        sites = chosen + [(None, p) for p in dict.fromkeys(args.plants) if p.upper() not in known]
    write_atomically(target, lambda out: out.write(blank_questionnaire(sites)))
    names = ", ".join(f"{c} {p}" if c else p for c, p in sites)
    print(f"wrote the readiness questionnaire for {names} to {target}")
    for path, text in ((Path(DEFAULT_CONFIG), CONFIG), (Path("waivers.yaml"), WAIVERS)):
        if path.exists():  # the project's own settings are never overwritten
            print(f"kept {path}, which exists")
        else:
            write_atomically(path, lambda out, text=text: out.write(text))
            print(f"wrote {path} (commented; 'backflush check' reads ./{DEFAULT_CONFIG})")
    return EXIT_OK


