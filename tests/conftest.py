"""Shared fixtures: the real emulator over HTTP and the embedded warehouse in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


# `make test` spreads the suite over workers (pytest-xdist, `-n`). The slow tiers go first,
# so that no long test collected last leaves the other workers idle while it finishes; and
# the tests that share a costly or ordered fixture keep to one worker, which builds it once:
ONE_WORKER = (
    "tests/cdk/",  # the session's CDK synths, the rehearsal venv, checkov's scan
    "tests/notebooks/",  # the session's loaded warehouse
    "tests/integration/test_conformance.py",  # each corpus block carries its state in order
    "tests/integration/test_bench.py",  # one bench run
    "tests/integration/test_redshift_data_api.py",  # one module-wide stack
    "tests/integration/test_data_api_server.py",  # one module-wide stack
)
SLOW_FIRST = ("tests/integration/", "tests/notebooks/", "tests/cdk/")


TIERS = ("unit", "integration", "cdk", "notebooks")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A test's tier is its folder (`make test-unit` runs tests/unit): the marker follows it,
    # so `-m unit` selects exactly that folder, whatever a module declares itself.
    for item in items:
        parts = item.nodeid.split("/")
        if len(parts) > 2 and parts[0] == "tests" and parts[1] in TIERS:
            item.add_marker(parts[1])

    def rank(item: pytest.Item) -> int:
        return next((i for i, tier in enumerate(SLOW_FIRST) if item.nodeid.startswith(tier)),
                    len(SLOW_FIRST))

    items.sort(key=rank)  # stable: within a tier, the collection order


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Load scheduling in which each ONE_WORKER prefix is one unit of work.

    xdist's own `--dist loadgroup` renames node ids through `item._nodeid`, which pytest 9
    no longer reads: its `xdist_group` marks silently do nothing. This groups by node id.
    """
    from xdist.scheduler import LoadScopeScheduling

    class OneWorkerGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return next((p for p in ONE_WORKER if nodeid.startswith(p)), nodeid)

    return OneWorkerGroups(config, log)
