"""What-if: the findings a part not yet backflushed would have if its site default were switched on.

A consultant switches backflush on with PartPlant.BackFlush; every method line and open job line that
inherits that default then becomes backflushed. The eligibility and integrity rules answer what that would
do with the same checks: each check that reads the effective flag `Backflushed` gets a twin reading
`BackflushedIfEnabled` instead (schemas/tables: the flag now, or the inherited default switched on). The twin
runs in the same pass; the keys only it finds are findings with the outcome `if_enabled`, which judge the
part's verdict but never the configuration as it is (`--fail-on`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from validator.rules.model import Check, Rule

IF_ENABLED = "if_enabled"
FLAG, IF_ENABLED_FLAG = "Backflushed", "BackflushedIfEnabled"
TAGS = ("eligibility", "integrity")  # the rules that judge what switching on would do
OFFSET = 1000  # a twin's index among its rule's checks: after every real check, so a real finding wins


def _swap(node: Any) -> Any:
    """The condition with every reference to the effective flag (`Backflushed`, `Rel.Backflushed`) read as the
    what-if flag, inside relations' conditions too."""
    if isinstance(node, list):
        return [_swap(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "column" and isinstance(value, str) and value.split(".")[-1] == FLAG:
            out[key] = value[: -len(FLAG)] + IF_ENABLED_FLAG
        else:
            out[key] = _swap(value)
    return out


def twin(rule: Rule, check: Check) -> Check | None:
    """The what-if twin of an eligibility or integrity check that reads the effective flag, else None."""
    if not set(rule.tags) & set(TAGS) or check.outcome != "fail":
        return None
    where = _swap(check.where)
    return None if where == check.where else replace(check, where=where, outcome=IF_ENABLED)


def indexed_checks(rule: Rule) -> list[tuple[int, Check]]:
    """A rule's checks with their index, each followed by its what-if twin (index OFFSET + its own)."""
    out: list[tuple[int, Check]] = []
    for index, check in enumerate(rule.checks):
        out.append((index, check))
        what_if = twin(rule, check)
        if what_if is not None:
            out.append((OFFSET + index, what_if))
    return out


def check_index(rule: Rule, check: Check) -> int:
    return next(index for index, item in indexed_checks(rule) if item == check)
