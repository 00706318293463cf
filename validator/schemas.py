"""The JSON Schemas in schemas/ and the one way to check a YAML document against them."""

from __future__ import annotations

import json
from functools import cache

import jsonschema
from referencing import Registry, Resource

from validator.errors import BackflushError
from validator.resources import bundled
from validator.yamlsource import YamlDocument

SCHEMA_DIR = bundled("schemas")


@cache
def _registry() -> Registry:
    resources = []
    for path in sorted(SCHEMA_DIR.glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema)))
        resources.append((path.name, Resource.from_contents(schema)))
    return Registry().with_resources(resources)


@cache
def validator_for(name: str) -> jsonschema.Draft202012Validator:
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


def check_document(doc: YamlDocument, schema_name: str, error: type[BackflushError]) -> None:
    """Raise `error` naming file, line and JSON pointer of the first schema violation."""
    errors = sorted(validator_for(schema_name).iter_errors(doc.data), key=lambda e: list(e.absolute_path))
    if errors:
        message, path = _explain(jsonschema.exceptions.best_match(errors))
        raise error(message, location=doc.where(path))
