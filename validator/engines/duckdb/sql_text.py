"""SQL text helpers shared by the reader, the contracts and the engine: quoted names and string literals."""

from __future__ import annotations


def quote(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"
