"""The frozen rule type. It imports no dataframe library."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {"info": 1, "warning": 2, "error": 3}


@dataclass(frozen=True)
class Check:
    """One table a rule judges, with the condition that makes a row of it a finding."""

    table: str
    where: Any
    message: str
    evidence: tuple[str, ...] = ()
    outcome: str = "fail"  # or "insufficient_history" (too little history) or "not_measurable": never a pass


@dataclass(frozen=True)
class Example:
    name: str
    expect: str  # "pass" or "fail"
    tables: dict[str, list[dict[str, Any]]]
    findings: tuple[tuple[str, tuple[tuple[str, Any], ...], str], ...] = ()  # (table, key, outcome)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str
    tags: tuple[str, ...]
    message: str
    remediation: str
    rationale: str
    source: str
    checks: tuple[Check, ...]
    examples: tuple[Example, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)  # name -> value in force
    param_docs: dict[str, str] = field(default_factory=dict)
    let: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    path: Path | None = None

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.table for c in self.checks))

    def overridden(self, *, severity: str | None = None, enabled: bool | None = None,
                   params: dict[str, Any] | None = None) -> Rule:
        return replace(
            self,
            severity=severity or self.severity,
            enabled=self.enabled if enabled is None else enabled,
            params={**self.params, **(params or {})},
        )
