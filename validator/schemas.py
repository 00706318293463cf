"""The JSON Schemas in schemas/ and the one way to check a YAML document against them."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from validator.errors import BackflushError
from validator.resources import bundled
from validator.yamlsource import YamlDocument

if TYPE_CHECKING:  # jsonschema is imported when a document is checked: a run whose documents were all seen valid
    import jsonschema  # needs none of it (ValidDocuments)
    from referencing import Registry

SCHEMA_DIR = bundled("schemas")


@cache
def _registry() -> Registry:
    from referencing import Registry, Resource

    resources = []
    for path in sorted(SCHEMA_DIR.glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema)))
        resources.append((path.name, Resource.from_contents(schema)))
    return Registry().with_resources(resources)


@cache
def validator_for(name: str) -> jsonschema.Draft202012Validator:
    import jsonschema

    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def _explain(error: jsonschema.ValidationError) -> tuple[str, list]:
    """A message and the path to point at: an unknown key's own line, the deepest failing branch."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        hint = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        return f"unknown key(s) {', '.join(repr(e) for e in extra)}{hint}", path + extra[:1]
    if error.validator in ("anyOf", "oneOf") and error.context:
        deepest = max(error.context, key=lambda e: len(list(e.absolute_path)))
        if len(list(deepest.absolute_path)) > len(path):
            return _explain(deepest)
    return error.message, path


KEPT_DIGESTS = 1024  # the newest kept: a few sites' rule packs, profiles and configs, and every built-in file


class ValidDocuments:
    """The digests of documents found valid, kept as empty files in a folder across runs: a run checks only the
    documents it has not seen valid under the same schemas (the built-in rules and tables, a site's unchanged packs:
    docs/performance.md). No folder: every document is checked."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder

    def seen(self, digest: str) -> bool:
        return self.folder is not None and (self.folder / digest).is_file()

    def remember(self, digest: str) -> None:
        if self.folder is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / digest).touch()
        except OSError:  # a cache that cannot be written is only slower
            self.folder = None

    def prune(self) -> None:
        """Keep the newest KEPT_DIGESTS: once per run, not on every document remembered."""
        if self.folder is None or not self.folder.is_dir():
            return
        try:
            kept = sorted(self.folder.iterdir(), key=lambda p: p.stat().st_mtime)
            for old in kept[:-KEPT_DIGESTS]:
                old.unlink(missing_ok=True)
        except OSError:
            self.folder = None


_valid = ValidDocuments()


def remember_valid_documents(folder: Path | None) -> None:
    """Where the command line keeps the digests of valid documents (its cache folder); None: nowhere."""
    _valid.folder = folder
    _valid.prune()


@cache
def _schemas_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(SCHEMA_DIR.glob("*.schema.json")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def check_document(doc: YamlDocument, schema_name: str, error: type[BackflushError]) -> None:
    """Raise `error` naming file, line and JSON pointer of the first schema violation."""
    digest = hashlib.sha256(f"{_schemas_digest()}\0{schema_name}\0{doc.text}".encode()).hexdigest()
    if _valid.seen(digest):
        return
    errors = sorted(validator_for(schema_name).iter_errors(doc.data), key=lambda e: doc.line_of(list(e.absolute_path)))
    if errors:
        from jsonschema.exceptions import best_match

        chosen = best_match(errors)
        # jsonschema breaks ties between violations of one kind by their path, the last winning: name the first in
        # the file instead, the one a user fixes first
        chosen = next((e for e in errors if e.validator == chosen.validator and len(e.path) == len(chosen.path)), chosen)
        message, path = _explain(chosen)
        raise error(message, location=doc.where(path))
    _valid.remember(digest)
