"""`pipeline bench` end to end on a small workload: every figure present and consistent.

Timings are never asserted (the machine is shared); what is pinned is that the bench
runs the real processes, accounts for every published row and reports what it says.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from pipeline.cli import main

REQUIRED = {
    "rows", "rows_per_s", "batches_per_s", "latency_p50_s", "latency_p99_s",
    "loader_peak_rss_mb", "publisher_cold_load_s", "publisher_tick_ms",
    "reference_rows_per_s", "ratio", "copies_per_minute",
}


@pytest.fixture(scope="module")
def figures() -> dict:
    """One run shared by the tests (capsys is per test, so stdout is captured here)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["bench", "--rows", "3000", "--seed", "5", "--json"])
    assert code == 0
    return json.loads(out.getvalue())  # stdout is exactly one JSON object


def test_bench_json_prints_every_figure_the_issue_names(figures):
    assert figures.keys() >= REQUIRED
    assert all(isinstance(figures[k], int | float) for k in REQUIRED)


def test_bench_publishes_at_least_the_rows_asked_and_loads_them_all(figures):
    assert figures["rows"] >= 3000
    assert figures["loads"] == figures["staged_files"] >= 1  # each load staged one rows file
    assert figures["loader_invocations"] >= figures["loads"]
    assert figures["concurrency"] == 2 and figures["batch_size"] == 100


def test_bench_figures_agree_with_each_other(figures):
    assert figures["ratio"] == pytest.approx(
        figures["rows_per_s"] / figures["reference_rows_per_s"], abs=0.002)
    assert figures["rows_per_s"] == pytest.approx(
        figures["rows"] / figures["elapsed_s"], rel=0.01)
    assert 0 < figures["latency_p50_s"] <= figures["latency_p99_s"] <= figures["elapsed_s"]
    assert figures["copies_per_minute"] == pytest.approx(figures["batches_per_s"] * 60, rel=0.02)
    assert figures["loader_peak_rss_mb"] > 0 and figures["publisher_tick_ms"] > 0
    assert set(figures["cpu_s"]) == {"emulator_and_bench", "publisher", "loaders", "data_api"}
