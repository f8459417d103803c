"""Shared fixtures: the real emulator over HTTP and the embedded warehouse in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.aws.settings import Settings

DATASET = Path(__file__).resolve().parent.parent / "data" / (
    "data-engineering-bezant-assignement-dataset.zip"
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Offline settings: a warehouse in tmp_path, fast visibility timeout, seeded."""
    return Settings(
        warehouse_path=tmp_path / "warehouse.duckdb",
        visibility_timeout_s=1,
        max_receive_count=2,
        batching_window_s=0,
        batch_size=10,
        seed=1,
    )


@pytest.fixture
def emulator(settings: Settings) -> Iterator:
    from pipeline.offline.emulator import start_emulator

    with start_emulator(settings) as em:
        yield em


@pytest.fixture
def local_stack(settings: Settings) -> Iterator:
    """Emulator + embedded Data API over a DuckDB file; `stack.loader` etc. are wired to both."""
    from pipeline.offline.runtime import start_local

    with start_local(settings) as stack:
        yield stack


@pytest.fixture(scope="session")
def dataset():
    from pipeline.core.dataset import load_dataset

    return load_dataset(DATASET)
