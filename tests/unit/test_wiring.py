"""Wiring by arguments: handlers take settings, and only the Lambda entry point tunes the GC.

That no module writes os.environ is pinned in test_layers.py.
"""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit


def test_handler_dependencies_are_built_per_settings_object(tmp_path):
    from pipeline.aws.settings import Settings
    from pipeline.lambdas import loader

    # Two settings objects that differ only in their warehouse are two cache entries:
    # nothing global decides which warehouse a handler loads into.
    a = Settings(warehouse_path=tmp_path / "a.duckdb")
    b = Settings(warehouse_path=tmp_path / "b.duckdb")
    assert a != b and hash(a) != hash(b)
    assert loader.dependencies.cache_info().maxsize, "cached per settings, not once per process"


def test_gc_is_tuned_only_by_the_lambda_entry_point():
    # Importing the handlers, building the offline runtime's handlers and running the CLI
    # leave the collector at Python's defaults; only the Lambda entry point tunes it.
    code = (
        "import gc\n"
        "before = gc.get_threshold()\n"
        "import pipeline.lambdas.loader, pipeline.lambdas.drain, pipeline.offline.runtime\n"
        "import pipeline.offline.run, pipeline.cli\n"
        "assert gc.get_threshold() == before, gc.get_threshold()\n"
        "assert gc.get_freeze_count() == 0\n"
        "pipeline.lambdas.loader.tune_gc()\n"
        "assert gc.get_threshold()[0] == pipeline.lambdas.loader.GC_YOUNG_THRESHOLD\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert gc.get_threshold()[0] != 20_000, "pytest's own process keeps the default threshold"
