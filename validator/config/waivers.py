"""Waivers: known exceptions a site accepts until a date, read from a YAML file (`--waivers FILE` or `waivers:` in
backflush.yaml) checked against schemas/waivers.schema.json. Each names a rule, the key of the findings it waives
(exact values, or globs with * and ?), why, who owns it, a ticket, and the last day it holds."""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from validator.errors import DataError
from validator.schemas import check_document
from validator.yamlsource import YamlDocument, date_value


@dataclass(frozen=True)
class Waiver:
    rule: str
    key: tuple[tuple[str, str], ...]  # (column, value or glob), compared as SQL Server compares keys
    reason: str
    owner: str
    expires: dt.date
    where: str  # the file and line, for messages
    table: str | None = None
    ticket: str | None = None

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def matches(self, rule_id: str, table: str, key: dict[str, Any]) -> bool:
        """Whether a finding (rule, table, key) is one this waiver names: every key column it gives matches."""
        if rule_id.upper() != self.rule.upper() or (self.table and self.table.upper() != table.upper()):
            return False
        found = {column.upper(): _compared(value) for column, value in key.items()}
        return all(column.upper() in found and fnmatch.fnmatchcase(found[column.upper()], _compared(pattern))
                   for column, pattern in self.key)

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "table": self.table, "key": dict(self.key), "reason": self.reason,
                "owner": self.owner, "ticket": self.ticket, "expires": self.expires.isoformat(), "where": self.where}


def _compared(value: Any) -> str:
    """A key value as SQL Server compares it: any case, trailing spaces ignored; whole numbers without '.0'."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).rstrip().upper()


def read_waivers(path: Path) -> list[Waiver]:
    doc = YamlDocument.read(path, DataError)
    if not isinstance(doc.data, dict):
        raise DataError("a waivers file is a mapping with 'waivers:', a list of entries", location=str(path))
    check_document(doc, "waivers.schema.json", DataError)
    out = []
    for i, entry in enumerate(doc.data.get("waivers") or []):
        where = doc.where(["waivers", i])
        expires = date_value(entry["expires"], "expires", doc.where(["waivers", i, "expires"]), DataError)
        if expires is None:
            raise DataError("a waiver needs the last day it holds: expires: YYYY-MM-DD", location=where)
        ticket = entry.get("ticket")
        out.append(Waiver(entry["rule"], tuple((str(c), str(v)) for c, v in entry["key"].items()), entry["reason"],
                          entry["owner"], expires, where, entry.get("table"), None if ticket is None else str(ticket)))
    return out
