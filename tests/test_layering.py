"""The layers are written down as import-linter contracts in pyproject.toml (docs/architecture.md): data flows one
way, only the DuckDB engine imports duckdb, and a format receives a report without importing the run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"]


def lint(folder: Path) -> subprocess.CompletedProcess[str]:
    """import-linter's contracts checked on the package in `folder` (it imports the package from there)."""
    return subprocess.run([*LINT, "--config", str(folder / "pyproject.toml"), "--no-cache"], cwd=folder,
                          capture_output=True, text=True, env={"PYTHONPATH": str(folder), "PATH": ""}, check=False)


def test_every_import_contract_is_kept():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("site.py", "import duckdb", "Only the DuckDB engine imports duckdb"),
    ("sources/folder.py", "from validator.engines.duckdb import load", "Data flows one way"),
    ("findings.py", "from validator.commands import check", "Data flows one way"),
    ("formats/console.py", "from validator.engines import get_engine", "a format receives a report"),
    ("rules/loader.py", "import pyarrow", "The rule model, loader and analysis import no dataframe library"),
], ids=["duckdb-outside-the-engine", "source-imports-engine", "value-imports-orchestrator", "format-imports-engine",
        "rule-model-imports-arrow"])
def test_a_wrong_import_breaks_its_contract(tmp_path, module, line, contract):
    copy = tmp_path / "checkout"
    shutil.copytree(ROOT / "validator", copy / "validator", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    path = copy / "validator" / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}  # the wrong import\n", encoding="utf-8")
    result = lint(copy)
    assert result.returncode != 0
    broken = [block for block in result.stdout.split("\n\n") if "BROKEN" in block]
    assert any(contract in " ".join(block.split()) for block in broken), result.stdout
