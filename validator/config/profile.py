"""The readiness profile: history window, snapshot date and thresholds, from a preset or backflush.yaml.

Thresholds are rule parameters; a profile sets them for many rules at once, and backflush.yaml's
`rules:` overrides still win. The window and the snapshot date reach every rule as run parameters
(`{param: snapshot_date}`, `{param: window_start}`, `{param: window_days}`, `{param: min_history}`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from validator.errors import ConfigError
from validator.rules.grammar import RUN_PARAMS
from validator.rules.loader import BUILTIN_RULES
from validator.rules.model import Rule
from validator.schemas import check_document
from validator.yamlsource import YamlDocument, date_value

PRESETS = BUILTIN_RULES / "profiles"
DEFAULT = "default"
__all__ = ["RUN_PARAMS", "Profile", "apply_profile", "load_profile", "presets"]


@dataclass(frozen=True)
class Profile:
    name: str = DEFAULT
    window_days: int = 365
    snapshot_date: dt.date | None = None
    min_history: int = 3
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    description: str = ""

    def run_params(self, latest: dt.date | None, jobs: str = "open") -> dict[str, Any]:
        """The run parameters for a site whose latest history date is `latest` (today when it has none).
        The window holds window_days days, both ends included: window_start .. snapshot_date. `jobs`: the jobs
        the eligibility and integrity rules judge (backflush.yaml `jobs:`), open or all."""
        snapshot = self.snapshot_date or latest or dt.date.today()
        return {"snapshot_date": snapshot, "window_start": snapshot - dt.timedelta(days=self.window_days - 1),
                "window_days": self.window_days, "min_history": self.min_history, "job_scope": jobs}

    def to_dict(self, latest: dt.date | None = None) -> dict[str, Any]:
        params = self.run_params(latest)
        return {"name": self.name, "window_days": self.window_days, "min_history": self.min_history,
                "snapshot_date": params["snapshot_date"].isoformat(), "window_start": params["window_start"].isoformat(),
                "snapshot_from": "profile" if self.snapshot_date else ("data" if latest else "today")}


def presets() -> list[str]:
    return sorted(p.stem for p in PRESETS.glob("*.yaml"))


def _document(choice: str, base: Path) -> YamlDocument:
    if choice in presets():
        return YamlDocument.read(PRESETS / f"{choice}.yaml", ConfigError)
    path = (base / choice) if not Path(choice).is_absolute() else Path(choice)
    if not path.is_file():
        raise ConfigError(f"profile {choice!r} is neither a shipped preset ({', '.join(presets())}) nor a file",
                          location=str(path))
    return YamlDocument.read(path, ConfigError)


def _merge(profile: Profile, data: dict[str, Any], where: str) -> Profile:
    rules = {k: dict(v) for k, v in profile.rules.items()}
    for rule_id, params in (data.get("rules") or {}).items():
        rules.setdefault(rule_id, {}).update(params)
    snapshot = date_value(data.get("snapshot_date"), "snapshot_date", where, ConfigError)
    return Profile(
        name=data.get("name", profile.name),
        window_days=data.get("window_days", profile.window_days),
        snapshot_date=snapshot or profile.snapshot_date,
        min_history=data.get("min_history", profile.min_history),
        rules=rules,
        description=data.get("description", profile.description),
    )


def _from_document(doc: YamlDocument, seen: tuple[str, ...] = ()) -> Profile:
    data = doc.data or {}
    if not isinstance(data, dict):
        raise ConfigError("a profile is a mapping of window_days, snapshot_date, min_history and rules", location=str(doc.path))
    check_document(doc, "profile.schema.json", ConfigError)
    return _inline(data, doc, doc.path.parent, [], seen + (str(doc.path),))


def _inline(data: dict[str, Any], doc: YamlDocument, base: Path, pointer: list[str | int],
            seen: tuple[str, ...] = ()) -> Profile:
    parent = data.get("extends")
    if parent:
        parent_doc = _document(parent, base)
        if str(parent_doc.path) in seen:
            raise ConfigError(f"profile extends itself through {parent!r}", location=doc.where([*pointer, "extends"]))
        start = _from_document(parent_doc, seen)
    else:
        start = Profile()
    return _merge(start, data, doc.where([*pointer, "snapshot_date"]))


def load_profile(choice: str | None, config_value: Any = None, config_doc: YamlDocument | None = None) -> Profile:
    """The profile in force: `--profile` (preset name or file), else backflush.yaml's `profile`, else default.
    A mapping in backflush.yaml changes the preset that --profile (or its own `extends`) names."""
    base = config_doc.path.parent if config_doc else Path.cwd()
    if isinstance(config_value, dict):
        data = dict(config_value)
        if choice:
            data["extends"] = choice
        data.setdefault("extends", DEFAULT)
        assert config_doc is not None
        return _inline(data, config_doc, base, ["profile"])
    return _from_document(_document(choice or config_value or DEFAULT, base if not choice else Path.cwd()))


def apply_profile(rules: dict[str, Rule], profile: Profile) -> dict[str, Rule]:
    """Rules with the profile's thresholds; a threshold for an unknown rule or parameter is an error."""
    result = dict(rules)
    for rule_id, params in profile.rules.items():
        if rule_id not in rules:
            raise ConfigError(f"profile {profile.name!r} sets thresholds of unknown rule {rule_id}")
        unknown = sorted(set(params) - set(rules[rule_id].params))
        if unknown:
            raise ConfigError(f"profile {profile.name!r}: rule {rule_id} has no parameter {', '.join(unknown)}; "
                              f"its parameters: {', '.join(rules[rule_id].params) or 'none'}")
        result[rule_id] = rules[rule_id].overridden(params=params)
    return result
