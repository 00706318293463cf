"""Shared fixtures: the bundled demo site, the built-in rules, and a way to run the command."""

from __future__ import annotations

import atexit
import csv
import io
import json
import shutil
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from validator.cli import main
from validator.rules.loader import BUILTIN_RULES, load_rules
from validator.tables import builtin_registry

T = TypeVar("T")


def load_site(path: Path, registry, needs: dict[str, set[str]], con=None, documents: dict | None = None, **options):
    """A site's exports loaded by the embedded engine, as `check` loads them (into `con`, a DuckDB connection, when
    given; `documents`: table -> (file, rows))."""
    from validator.engines.duckdb import DuckDBEngine
    from validator.engines.duckdb import load as duckdb_load
    from validator.sources import open_source
    from validator.sources.memory import records

    extra = {name: records(name, file, rows) for name, (file, rows) in (documents or {}).items()}
    source = open_source(Path(path))
    if con is not None:
        return duckdb_load.load_site(source, registry, needs, con, extra, **options)
    engine = DuckDBEngine()
    site = engine.load(source, registry, needs, documents=extra, **options)
    atexit.register(engine.close, site)  # when the tests end: its spill folder goes with it
    return site


ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "fixtures" / "demo"
CASES = ROOT / "fixtures" / "cases"


@pytest.fixture(scope="session", autouse=True)
def compile_cache(tmp_path_factory) -> Path:
    """The tests keep compiled passes in a folder of their own (each worker its own), never in the user's cache."""
    folder = tmp_path_factory.mktemp("compile-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BACKFLUSH_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def registry():
    return builtin_registry()


@pytest.fixture(scope="session")
def builtin_rules(registry):
    return load_rules([BUILTIN_RULES], registry)


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *args: str | Path) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main([str(a) for a in args])
        out, err = self.capsys.readouterr()
        return code, out, err


@pytest.fixture
def cli(capsys):
    return Cli(capsys)


@pytest.fixture
def site(tmp_path) -> Path:
    """A private copy of the demo site that a test may break."""
    target = tmp_path / "site"
    shutil.copytree(DEMO, target)
    return target


def run_json(folder: Path, out: Path, *extra: str) -> tuple[int, dict]:
    code = main(["check", str(folder), "--format", "json", "--output", str(out), "--fail-on", "never", *extra])
    return code, json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}


@pytest.fixture(scope="session")
def demo_document(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("demo") / "findings.json"
    code, document = run_json(DEMO, out)
    assert code == 0
    return document


def finding_keys(document: dict) -> set[tuple[str, str, tuple]]:
    return {(f["rule_id"], f["table"], tuple(sorted(f["key"].items()))) for f in document["findings"]}


def duckdb_shows(limit: str) -> str:
    """A memory limit as DuckDB shows it (current_setting), to compare with a connection's."""
    import duckdb

    return duckdb.connect(config={"memory_limit": limit}).execute("SELECT current_setting('memory_limit')").fetchone()[0]


def connection_settings(monkeypatch, module, name: str) -> list[tuple[str, Path]]:
    """Each call of `module.name` (a function taking a DuckDB connection first) records the connection's memory
    limit and spill folder, as it was given them."""
    seen: list[tuple[str, Path]] = []
    function = getattr(module, name)

    def watched(con, *args, **kwargs):
        seen.append((con.execute("SELECT current_setting('memory_limit')").fetchone()[0],
                     Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0])))
        return function(con, *args, **kwargs)

    monkeypatch.setattr(module, name, watched)
    return seen


def export_rows(path: Path) -> list[dict[str, str]]:
    """An export's rows by Epicor column name (`Part_TrackLots`, `PartMtl.QtyPer` -> the bare name), read with the
    standard library's csv module only (UTF-8, else Windows-1252 as Excel saves), never through the validator's
    readers: expectations read this way cannot share a misread with the code under test."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    return [{name.replace(".", "_").split("_", 1)[-1]: value for name, value in row.items()}
            for row in csv.DictReader(io.StringIO(text, newline=""))]


@pytest.fixture
def sites_at_uris(monkeypatch):
    """Commands' engines read a site given as a URI as Spark's does (setup.source_of asks the engine's open_site),
    here from local folders: URI -> folder in the dict returned; the URIs opened are listed under 'opened'."""
    from validator.commands import setup
    from validator.sources import open_source

    sites: dict = {"opened": []}
    engine_for = setup.engine_for

    def reading_uris(args):
        engine = engine_for(args)
        engine.open_site = lambda uri: (sites["opened"].append(uri), open_source(sites[uri]))[1]
        return engine

    for command in ("check", "recommend", "baseline", "diff"):
        monkeypatch.setattr(f"validator.commands.{command}.engine_for", reading_uris)
    return sites


def python_peak(run: Callable[[], T]) -> tuple[T, int]:
    """What `run` returns, and the peak of Python's allocations while it ran (tracemalloc). The contracts' modules,
    imported in a thread of their own by a run that read a text export (an earlier test's in this process), are
    imported first: their allocations are no part of `run`'s."""
    for thread in threading.enumerate():
        if thread.name == "preload-contract-modules":
            thread.join()
    tracemalloc.start()
    try:
        result = run()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
