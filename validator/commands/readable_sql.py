"""The printed SQL of a rule, laid out for a DBA: ibis writes one statement of nested subqueries named t0, t1...;
here every subquery becomes a common table expression named after what it computes in the rule's words (the
relation, the let or derived value, the table it reads), and the aggregate columns are named after their value."""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.eliminate_subqueries import eliminate_subqueries

SQLGLOT = {"duckdb": "duckdb", "tsql": "tsql", "postgres": "postgres", "spark": "spark"}
_AGGREGATE = re.compile(r"__agg(\d+)")  # an aggregate's column, as the compiler names it
_KEY = re.compile(r"(__agg\d+)__g(\d+)")  # one of its join keys
_BUCKET = re.compile(r"__m\d+")  # an aggregate per bucket (month, revision) before it is taken across buckets
_STEM = re.compile(r"([A-Za-z][A-Za-z0-9_]*?)__[A-Za-z].*")  # a related table's column, prefixed with its relation's path
_KEYED = re.compile(r"(.+)__g\d+")  # a join key of an aggregate named after its value


def named_ctes(sql: str, dialect: str, labels: dict[str, str]) -> str:
    """`sql` (one SELECT in `dialect`) with its subqueries as named CTEs; `labels`: aggregate column -> name."""
    tree = eliminate_subqueries(sqlglot.parse_one(sql, read=SQLGLOT[dialect]))
    measures = set(_rename_columns(tree, labels).values())
    with_ = tree.args.get("with_")
    ctes = list(with_.expressions) if with_ else []
    names: dict[str, str] = {}
    subjects: dict[str, str] = {}
    taken: set[str] = {t.name for t in tree.find_all(exp.Table)}
    for cte in ctes:
        name, subjects[cte.alias] = _describe(cte.this, subjects, measures)
        names[cte.alias] = _unique(name, taken)
    for cte in ctes:
        cte.set("alias", exp.TableAlias(this=exp.to_identifier(names[cte.alias], quoted=True)))
    for table in tree.find_all(exp.Table):
        if not table.db and table.name in names:
            table.set("this", exp.to_identifier(names[table.name], quoted=True))
    for select in tree.find_all(exp.Select):
        _name_aliases(select)
    return tree.sql(dialect=SQLGLOT[dialect], pretty=True)


def _rename_columns(tree: exp.Expression, labels: dict[str, str]) -> dict[str, str]:
    """`__agg3` becomes `Measured`, its join keys `Measured__g0`..., unless the name is taken already."""
    taken = {i.name for i in tree.find_all(exp.Identifier)}
    renamed: dict[str, str] = {}
    for column, label in labels.items():
        # a derived value that reads its aggregate (COALESCE(agg, 0) AS CompletedJobs) has the value's own name
        name = label if label not in taken else f"{label}_measure"
        if name not in taken and name not in renamed.values():
            renamed[column] = name
    for identifier in tree.find_all(exp.Identifier):
        name = identifier.name
        key = _KEY.fullmatch(name)
        if name in renamed:
            identifier.set("this", renamed[name])
        elif key and key[1] in renamed:
            identifier.set("this", f"{renamed[key[1]]}__g{key[2]}")
    return renamed


def _describe(select: exp.Expression, subjects: dict[str, str], labels: set[str]) -> tuple[str, str]:
    """A name for what one CTE computes, and its subject: the Epicor table (or relation) its rows are rows of.
    `subjects`: CTE alias -> subject, for the CTEs before it; `labels`: the names of the aggregate columns."""
    if not isinstance(select, exp.Select):
        return "rows", "rows"
    outputs = [(e.alias_or_name, e) for e in select.expressions if not isinstance(e, exp.Star)]
    sources = [select.args["from_"].this] if select.args.get("from_") else []
    sources += [join.this for join in select.args.get("joins") or []]
    tables = [s for s in sources if isinstance(s, exp.Table)]
    if not tables:
        return "rows", "rows"
    subject = subjects.get(tables[0].name, tables[0].name)
    measured = [alias for alias, e in outputs if e.find(exp.AggFunc) and not isinstance(e.unalias(), exp.Column)]
    if measured:
        named = [alias for alias in measured if not _BUCKET.fullmatch(alias) and not _AGGREGATE.fullmatch(alias)]
        if named:
            return f"{'_'.join(n.removesuffix('_measure') for n in named[:2])}_grouped", subject
        return ("per_bucket" if any(_BUCKET.fullmatch(a) for a in measured) else "measures"), subject
    keys = [m[1] for alias, _ in outputs if (m := _KEYED.fullmatch(alias))]
    if keys and len(tables) == 1 and all(_KEYED.fullmatch(alias) or alias in keys or alias in labels
                                         for alias, _ in outputs):
        label = keys[0].removesuffix("_measure")
        return f"{label}_by_key", label  # an aggregate's groups, their keys named to join them back
    stems = [m[1] for alias, _ in outputs if (m := _STEM.fullmatch(alias))]
    if stems and all(alias.startswith(stems[0] + "__") for alias, _ in outputs):
        return f"{stems[0]}_rows", stems[0]  # a relation's rows, its columns prefixed with its path
    if select.args.get("joins"):
        joined = [subjects.get(t.name, t.name) for t in tables[1:]]
        return f"{subject}_and_{'_'.join(joined[:2])}", subject
    derived = [alias for alias, e in outputs if not alias.startswith("__") and not isinstance(e.unalias(), exp.Column)]
    if derived:
        return f"{subject}_{'_'.join(derived[:2])}", subject
    if select.args.get("distinct"):
        return f"{subject}_keys", subject
    return f"{subject}_{'filtered' if select.args.get('where') else 'rows'}", subject


def _unique(name: str, taken: set[str]) -> str:
    candidate, index = name, 2
    while candidate in taken:
        candidate, index = f"{name}_{index}", index + 1
    taken.add(candidate)
    return candidate[:100]


def _name_aliases(select: exp.Select) -> None:
    """`FROM Erp.JobMtl AS t1` reads `FROM Erp.JobMtl AS JobMtl`, and `FROM JobMtl_rows AS t6` reads `FROM
    JobMtl_rows`, when no other source of the select has that name; the select's columns follow."""
    sources = [select.args["from_"].this] if select.args.get("from_") else []
    sources += [join.this for join in select.args.get("joins") or []]
    tables = [s for s in sources if isinstance(s, exp.Table)]
    used = {t.alias for t in tables if t.alias and not re.fullmatch(r"t\d+", t.alias)}
    used |= {t.name for t in tables if not t.alias}
    for table in tables:
        old, new = table.alias, table.name
        if not old or not re.fullmatch(r"t\d+", old) or new in used:
            continue
        used.add(new)
        table.set("alias", exp.TableAlias(this=exp.to_identifier(new, quoted=True)) if table.db else None)
        for column in select.find_all(exp.Column):
            if column.table == old and column.find_ancestor(exp.Select) is select:
                column.set("table", exp.to_identifier(new, quoted=True))
