"""Fixtures the notebook tier shares: one warehouse per session, loaded by `pipeline run`."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.aws.settings import Settings


@pytest.fixture(scope="session")
def loaded_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse loaded by `pipeline run`'s own function: 3 ticks, seeded."""
    from pipeline.offline.run import run

    path = tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb"
    summary = run(
        Settings(warehouse_path=path, seed=3, visibility_timeout_s=1, batching_window_s=0,
                 batch_size=10),
        tick_count=3,
        interval_s=0,
        load_every_s=1,
    )
    assert summary.drained and summary.loaded_rows == summary.published_rows > 0
    return path
