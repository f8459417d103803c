"""One engine entry point: every path that runs Redshift SQL on the embedded warehouse
goes through `Session.run` (pipeline/offline/warehouse/engine.py), none translates and
executes by itself, so no path can answer differently from the Data API."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
# The Data API server, connect("local") / run_file, the documentation corpus.
PATHS = ("pipeline/offline/warehouse/server.py", "pipeline/analysis/dbapi.py",
         "tests/conformance/corpus.py")
# What running a statement by hand takes: translating it, shaping DuckDB's rows, or
# rewriting DuckDB's errors. Only the engine does these.
ENGINE_INTERNALS = frozenset({"translate", "to_duckdb", "result_set", "redshift_error",
                              "SESSION_SETUP"})


def _imported_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
            and (node.module or "").startswith("pipeline.offline.warehouse")
            for alias in node.names}


def _calls(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.func.attr for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)}


@pytest.mark.parametrize("relative", PATHS)
def test_each_path_runs_sql_through_the_engines_entry_point(relative: str) -> None:
    path = ROOT / relative
    assert not _imported_names(path) & ENGINE_INTERNALS, relative
    assert "run" in _calls(path), f"{relative} does not call Session.run"


def test_the_engine_is_the_only_caller_of_translate_outside_its_package() -> None:
    callers = []
    for path in sorted((ROOT / "pipeline").rglob("*.py")):
        if "translate" in path.relative_to(ROOT).parts[:-1]:
            continue
        if "translate" in _imported_names(path):
            callers.append(str(path.relative_to(ROOT)))
    assert callers == ["pipeline/offline/warehouse/engine.py"]
