"""The rules in force: the built-in pack, the user's packs, the overrides, and the selection."""

from __future__ import annotations

from pathlib import Path

from validator.config.backflush_yaml import Config, apply_overrides
from validator.config.profile import Profile, apply_profile
from validator.errors import ConfigError
from validator.rules.loader import BUILTIN_RULES, load_rules
from validator.rules.model import Rule
from validator.tables import Registry


def rules_in_force(registry: Registry, config: Config, extra_dirs: list[Path] = (),
                   profile: Profile | None = None) -> dict[str, Rule]:
    """Rule defaults, then the profile's thresholds, then backflush.yaml's overrides."""
    folders = [BUILTIN_RULES, *config.rule_dirs, *extra_dirs]
    rules = load_rules(list(dict.fromkeys(folders)), registry)
    return apply_overrides(apply_profile(rules, profile) if profile else rules, config)


def select(rules: dict[str, Rule], ids: list[str] = (), tags: list[str] = (), *, enabled_only: bool = True) -> list[Rule]:
    """Rules by id (exact, any case) or tag; no selection means every enabled rule."""
    by_upper = {r.upper(): r for r in rules}
    unknown = [i for i in ids if i.upper() not in by_upper]
    if unknown:
        raise ConfigError(f"unknown rule id(s) {', '.join(unknown)}; known: {', '.join(sorted(rules))}")
    known_tags = {t for r in rules.values() for t in r.tags}
    bad_tags = [t for t in tags if t not in known_tags]
    if bad_tags:
        raise ConfigError(f"unknown tag(s) {', '.join(bad_tags)}; known: {', '.join(sorted(known_tags))}")
    chosen = [rules[by_upper[i.upper()]] for i in ids]
    chosen += [r for r in rules.values() if set(tags) & set(r.tags) and r not in chosen]
    if not ids and not tags:
        chosen = list(rules.values())
    if enabled_only:
        chosen = [r for r in chosen if r.enabled or r.id in {by_upper[i.upper()] for i in ids}]
    return sorted(chosen, key=lambda r: r.id)
