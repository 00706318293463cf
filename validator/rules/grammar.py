"""The closed vocabulary of the condition language, shared by the analysis and the compiler."""

from __future__ import annotations

from typing import Any, NamedTuple

from validator.errors import RuleFileError

# like_any: the text matches one of a list of SQL LIKE patterns (% any text, _ one character), any case
COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "like_any")
FLAG_TESTS = ("is", "is_not")
FUNCTIONS = ("coalesce", "add", "sub", "mul", "div", "abs", "days_between")
CONNECTIVES = ("all", "any", "not", "exists", "not_exists")
AGGREGATES = ("count", "count_distinct", "sum", "min", "max", "mean", "median", "stddev", "cv", "ratio")
ACROSS = ("count", "sum", "min", "max", "mean", "median", "stddev", "cv")  # how per-group values combine
COUNTS = ("count", "count_distinct")  # no rows counts 0; every other aggregate of no rows is blank
RUN_PARAMS = {  # parameters every rule may read; the readiness profile sets them per run (validator/config/profile.py)
    "snapshot_date": "the day the history is judged at (profile snapshot_date, else the latest history date in the data)",
    "window_start": "the first day of the history window: window_days days up to and including snapshot_date",
    "window_days": "the length of the history window, in days",
    "min_history": "the fewest observations a readiness rule judges on; fewer is too little history",
    "job_scope": "the jobs the eligibility and integrity rules judge: open (neither complete nor closed) or all "
                 "(backflush.yaml jobs:)",
}
JOB_SCOPES = ("open", "all")
OPERATORS = (*COMPARISONS, *FLAG_TESTS, *FUNCTIONS, *CONNECTIVES, "column", "value", "param", "aggregate")


class Node(NamedTuple):
    kind: str  # literal, column, param, function, aggregate, all, any, not, exists, not_exists, predicate
    op: str = ""
    args: tuple[Any, ...] = ()


def classify(node: Any, where: str = "") -> Node:
    """Name what a YAML node of a condition or value is; refuse anything outside the vocabulary."""
    if node is None or isinstance(node, (str, int, float, bool)):
        return Node("literal", args=(node,))
    if isinstance(node, list):
        return Node("literal", args=(tuple(node),))
    if not isinstance(node, dict) or not node:
        raise RuleFileError(f"expected a condition or value, got {node!r}", location=where or None)
    keys = set(node)
    unknown = keys - set(OPERATORS)
    if unknown:
        raise RuleFileError(
            f"unknown operator(s) {', '.join(sorted(map(repr, unknown)))}; valid operators: {', '.join(OPERATORS)}",
            location=where or None,
        )
    if keys == {"column"}:
        return Node("column", args=(node["column"],))
    if keys == {"param"}:
        return Node("param", args=(node["param"],))
    if keys == {"aggregate"}:
        return Node("aggregate", args=(node["aggregate"],))
    if len(keys) == 1:
        (op,) = keys
        if op in FUNCTIONS:
            operands = node[op]
            return Node("function", op, tuple(operands) if isinstance(operands, list) else (operands,))
        if op in ("all", "any"):
            return Node(op, op, tuple(node[op]))
        if op in ("not", "exists", "not_exists"):
            return Node(op, op, (node[op],))
    subject = keys & {"column", "value"}
    tests = keys - subject
    if len(subject) == 1 and len(tests) == 1:
        (test,) = tests
        if test in (*COMPARISONS, *FLAG_TESTS):
            left = {"column": node["column"]} if "column" in node else node["value"]
            return Node("predicate", test, (left, node[test]))
    raise RuleFileError(
        f"cannot read {node!r}: a predicate is one 'column' (or 'value') and one test of "
        f"{', '.join((*COMPARISONS, *FLAG_TESTS))}; connectives are {', '.join(CONNECTIVES)}",
        location=where or None,
    )


class Child(NamedTuple):
    """A node under another: its `path` below the parent (for messages), and whether it reads the `related` rows
    of a relation (an aggregate's or an exists' where) rather than the parent's own row."""

    node: Any
    path: tuple[str | int, ...]
    related: bool = False


def children(node: Any, kind: Node | None = None) -> list[Child]:
    """The nodes directly under a condition or value node: the one place that knows where each kind keeps its
    operands. Every analysis of the tree walks it through this (the loader's check, the columns a rule reads, the
    aggregates a pass shares); a column subject of a predicate is a child too."""
    kind = kind or classify(node)
    if kind.kind in ("function", "all", "any"):
        return [Child(item, (kind.op, i)) for i, item in enumerate(kind.args)]
    if kind.kind == "not":
        return [Child(kind.args[0], ("not",))]
    if kind.kind in ("exists", "not_exists", "aggregate") and isinstance(kind.args[0], dict) and "where" in kind.args[0]:
        return [Child(kind.args[0]["where"], (kind.kind, "where"), related=True)]
    if kind.kind == "predicate":
        side = "column" if isinstance(node, dict) and "column" in node else "value"
        return [Child(kind.args[0], (side,)), Child(kind.args[1], (kind.op,))]
    return []


def check_tree(node: Any, path: list[str | int]) -> tuple[list[str | int], RuleFileError] | None:
    """The first node outside the vocabulary, with its path, or None when the tree reads."""
    try:
        kind = classify(node)
    except RuleFileError as exc:
        return path, exc
    for child in children(node, kind):
        found = check_tree(child.node, [*path, *child.path])
        if found:
            return found
    return None
