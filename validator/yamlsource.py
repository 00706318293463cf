"""Reading YAML safely, and pointing at the line a JSON pointer names."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from validator.errors import BackflushError


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser when PyYAML has it
    """A safe loader that refuses a mapping with the same key twice."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class YamlDocument:
    """A parsed YAML file that remembers where each value came from."""

    def __init__(self, path: Path, text: str, error: type[BackflushError]) -> None:
        self.path = path
        self.text = text  # as read: what a schema check's digest is of (schemas.py)
        try:
            loader = _UniqueKeyLoader(text)  # parsed once: the nodes keep their lines, the data is built from them
            try:
                self.node = loader.get_single_node()
                self.data: Any = loader.construct_document(self.node) if self.node is not None else None
            finally:
                loader.dispose()
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            where = f"{path}:{mark.line + 1}" if mark else str(path)
            problem = getattr(exc, "problem", None) or str(exc)
            context, opened = getattr(exc, "context", None), getattr(exc, "context_mark", None)
            if context and opened and mark and opened.line != mark.line:  # an unclosed [ or { is found lines later
                problem += f" ({context} at line {opened.line + 1}, column {opened.column + 1})"
            raise error(f"not valid YAML: {problem}", location=where) from None

    @classmethod
    def read(cls, path: Path, error: type[BackflushError]) -> YamlDocument:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise error(f"cannot read: {exc}", location=str(path)) from None
        return cls(path, text, error)

    def line_of(self, pointer: list[str | int]) -> int:
        """The 1-based line of the deepest node the path reaches."""
        node = self.node
        line = node.start_mark.line + 1 if node is not None else 1
        for part in pointer:
            if isinstance(node, yaml.MappingNode):
                match = next((v for k, v in node.value if k.value == str(part)), None)
                key = next((k for k, _ in node.value if k.value == str(part)), None)
                if match is None:
                    break
                line = key.start_mark.line + 1
                node = match
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line

    def where(self, pointer: list[str | int]) -> str:
        json_pointer = "/" + "/".join(str(p) for p in pointer)
        return f"{self.path}:{self.line_of(pointer)} (at {json_pointer})"


def date_value(value: object, field: str, where: str, error: type[BackflushError]) -> dt.date | None:
    """A date written in YAML (a bare 2026-06-30 is already a date) or as ISO text; blank is None."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise error(f"{field} {value!r} is not a date; write it as YYYY-MM-DD", location=where) from None
