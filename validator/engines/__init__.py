"""Engines run compiled rules. Each is one module behind one small interface, imported lazily."""

from __future__ import annotations

import importlib
from typing import Protocol

import pyarrow as pa

from validator.errors import ConfigError
from validator.readers import Site
from validator.rules.compiler import Catalog, CompiledTable

ENGINES = {"duckdb": "validator.engines.duckdb"}


class Engine(Protocol):
    name: str

    def catalog(self, site: Site) -> Catalog: ...

    def findings(self, compiled: CompiledTable) -> pa.Table: ...

    def count(self, site: Site, table: str) -> int: ...


def get_engine(name: str, **options: object) -> Engine:
    if name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r}; available: {', '.join(ENGINES)}")
    return importlib.import_module(ENGINES[name]).create(**options)
