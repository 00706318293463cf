"""Rule files: YAML read safely, checked against schemas/rule.schema.json, then against the tables."""

from __future__ import annotations

from pathlib import Path

from validator.errors import RuleFileError
from validator.resources import bundled
from validator.rules.analysis import check_rule
from validator.rules.grammar import RUN_PARAMS, check_tree
from validator.rules.model import Check, Example, Rule
from validator.schemas import check_document
from validator.tables import Registry
from validator.yamlsource import YamlDocument

BUILTIN_RULES = bundled("rules")


def _grammar_error(doc: YamlDocument) -> RuleFileError | None:
    """A precise message for a condition outside the operator vocabulary (the schema only says 'anyOf')."""
    data = doc.data if isinstance(doc.data, dict) else {}
    trees = [(c.get("where"), ["checks", i, "where"]) for i, c in enumerate(data.get("checks") or [])
             if isinstance(c, dict) and "where" in c]
    trees += [(v, ["let", k]) for k, v in (data.get("let") or {}).items()] if isinstance(data.get("let"), dict) else []
    for tree, path in trees:
        found = check_tree(tree, path)
        if found:
            where, exc = found
            return RuleFileError(str(exc), location=doc.where(where))
    return None


def rule_from_document(doc: YamlDocument) -> Rule:
    try:
        check_document(doc, "rule.schema.json", RuleFileError)
    except RuleFileError as exc:
        raise _grammar_error(doc) or exc from None
    data = doc.data
    if doc.path.stem != data["id"]:
        raise RuleFileError(f"file is named {doc.path.name} but holds rule {data['id']}; name it {data['id']}.yaml",
                            location=doc.where(["id"]))
    examples = tuple(
        Example(
            name=e["name"],
            expect=e["expect"],
            tables=e["tables"],
            findings=tuple((f["table"], tuple(f["key"].items()), f.get("outcome", "fail")) for f in e.get("findings", [])),
            params=e.get("params", {}),
        )
        for e in data.get("examples", [])
    )
    params = data.get("params", {})
    reserved = sorted(set(params) & set(RUN_PARAMS))
    if reserved:
        raise RuleFileError(f"parameter {reserved[0]!r} is set by the readiness profile for every rule; "
                            "read it with {param: ...} without declaring it", location=doc.where(["params", reserved[0]]))
    return Rule(
        id=data["id"],
        title=data["title"],
        severity=data["severity"],
        tags=tuple(data["tags"]),
        message=data["message"].strip(),
        remediation=data["remediation"].strip(),
        rationale=data["rationale"].strip(),
        source=data["source"].strip(),
        checks=tuple(
            Check(c["table"], c["where"], c.get("message", data["message"]).strip(), tuple(c.get("evidence", [])),
                  c.get("outcome", "fail"))
            for c in data["checks"]
        ),
        examples=examples,
        params={k: v["default"] for k, v in params.items()},
        param_docs={k: v["description"] for k, v in params.items()},
        let=data.get("let", {}),
        enabled=data.get("enabled", True),
        path=doc.path,
    )


def load_rule_file(path: Path, registry: Registry) -> Rule:
    doc = YamlDocument.read(path, RuleFileError)
    rule = rule_from_document(doc)
    for index, check in enumerate(rule.checks):
        check_rule(rule, check, registry, doc.where(["checks", index]))
    return rule


def load_rules(directories: list[Path], registry: Registry) -> dict[str, Rule]:
    """Rules by id from each folder in turn; a later folder's rule with an existing id is an error."""
    rules: dict[str, Rule] = {}
    for directory in directories:
        if not directory.is_dir():
            raise RuleFileError("rule folder does not exist", location=str(directory))
        for path in sorted(directory.glob("*.y*ml")):
            rule = load_rule_file(path, registry)
            if rule.id in rules:
                raise RuleFileError(
                    f"duplicate rule id {rule.id}: already defined in {rules[rule.id].path}; "
                    "change a rule's severity or switch it off in backflush.yaml instead of redefining it",
                    location=str(path),
                )
            rules[rule.id] = rule
    return rules
