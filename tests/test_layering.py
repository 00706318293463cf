"""Data flows one way: the core never imports the command line or the output formats."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "validator"
OUTER = ("cli.py", "__main__.py", "bench.py")  # the command line and the benchmark sit on top of everything
CORE = sorted(p for p in PACKAGE.rglob("*.py") if p.parent.name != "formats" and p.name not in OUTER)


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_modules_do_not_import_the_cli_or_the_formats(path):
    assert not {n for n in imported(path) if n.startswith(("validator.cli", "validator.formats"))}


# the compiler and its frame build ibis expressions: that is their job; the rest of rules/ is engine-free
SPEC = sorted(p for p in (PACKAGE / "rules").glob("*.py") if p.name not in ("compiler.py", "frame.py"))


@pytest.mark.parametrize("path", SPEC, ids=lambda p: p.name)
def test_the_rule_model_and_loader_import_no_engine(path):
    assert not {n for n in imported(path) if n.split(".")[0] in ("duckdb", "pandas", "pyarrow", "ibis", "pyspark")}
