"""The loader's sequence stopped at every step, on in-memory fakes of its ports.

Stage -> load (one transaction) -> move to processed/: whichever step a crash
interrupts, running the same batch again (SQS redelivers it) leaves every row
in the warehouse exactly once and nothing in incoming/. The integration tests
(tests/integration/test_faults.py) run the same scenarios on the real emulator
and the embedded Data API; these pin the sequence itself in milliseconds.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline.app.loader import load_batch
from pipeline.core import envelope, staging
from pipeline.core.errors import TransientError
from pipeline.core.rows import stage_row
from tests.fakes import Crash, MemoryStore, MemoryWarehouse

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def row(message_id: int, **change: object) -> dict:
    base = {
        "message_id": message_id,
        "message_timestamp": "2024-03-01T12:34:56Z",
        "message_content": f"$BTC long #{message_id}",
        "reply_message_id": None,
        "trader_id": 7,
        "chat_link": -1001234567890,
        "processing_time": "2024-03-01T12:35:01Z",
    }
    return base | change


def parts(n_rows: int = 30, max_bytes: int = 2_048, seed: int = 0) -> list[envelope.Envelope]:
    """One published sample split into several parts (a small max_bytes forces the split)."""
    rows = [row(seed * 1000 + i) for i in range(n_rows)]
    split = envelope.split(rows, batch_id=str(uuid.UUID(int=seed + 1)),
                           published_at="2026-11-29T11:59:59Z", source="test",
                           max_bytes=max_bytes)
    assert len(split) > 1
    return split


def fakes() -> tuple[MemoryStore, MemoryWarehouse]:
    store = MemoryStore()
    return store, MemoryWarehouse(store)


def assert_loaded_once(store: MemoryStore, warehouse: MemoryWarehouse,
                       published: list[envelope.Envelope]) -> None:
    expected = {(p.batch_id, p.part, p.first_row + i)
                for p in published for i in range(len(p.rows))}
    assert {(r["batch_id"], r["part"], r["row_no"]) for r in warehouse.rows} == expected
    assert warehouse.copies_of_each_row() == {1}
    assert set(warehouse.ledger) == {(p.batch_id, p.part) for p in published}
    assert store.keys(staging.INCOMING) == [], "staged objects left behind in incoming/"


def test_a_batch_stages_loads_and_archives_its_four_objects() -> None:
    store, warehouse = fakes()
    published = parts()
    outcome = load_batch(published, store, warehouse, NOW)
    assert_loaded_once(store, warehouse, published)
    assert outcome.rows == 30 and outcome.parts == len(published) and outcome.rejected == 0
    archived = store.keys(staging.PROCESSED)
    assert len(archived) == 4 and staging.processed_key(outcome.rows_key) in archived


@pytest.mark.parametrize("put", [1, 2, 3, 4])
def test_a_crash_while_staging_leaves_nothing_loaded_and_the_retry_loads_once(put: int) -> None:
    store, warehouse = fakes()
    published = parts()
    store.crash_on("put", put)
    with pytest.raises(Crash):
        load_batch(published, store, warehouse, NOW)
    assert warehouse.rows == [] and warehouse.ledger == {}
    load_batch(published, store, warehouse, NOW)
    assert_loaded_once(store, warehouse, published)


def test_a_crash_inside_the_transaction_commits_nothing_and_the_retry_loads_once() -> None:
    store, warehouse = fakes()
    published = parts()

    def die() -> None:
        raise Crash("loader killed before COMMIT")

    warehouse.before_commit = die
    with pytest.raises(Crash):
        load_batch(published, store, warehouse, NOW)
    assert warehouse.rows == [] and warehouse.ledger == {}
    warehouse.before_commit = lambda: None
    load_batch(published, store, warehouse, NOW)
    assert_loaded_once(store, warehouse, published)


def test_a_crash_after_the_commit_makes_the_redelivery_a_no_op_that_finishes_the_move() -> None:
    store, warehouse = fakes()
    published = parts()

    def die() -> None:
        raise Crash("loader killed after COMMIT, before the SQS delete")

    warehouse.after_commit = die
    with pytest.raises(Crash):
        load_batch(published, store, warehouse, NOW)
    assert len(warehouse.rows) == 30 and store.keys(staging.INCOMING), "committed, not moved"
    warehouse.after_commit = lambda: None
    outcome = load_batch(published, store, warehouse, NOW)
    assert_loaded_once(store, warehouse, published)
    assert outcome.rows == 30, "the batch staged its rows again; the ledger dropped them"


@pytest.mark.parametrize("move", [1, 2, 3, 4])
def test_a_crash_halfway_through_the_move_is_finished_by_the_redelivery(move: int) -> None:
    store, warehouse = fakes()
    published = parts()
    store.crash_on("move", move)
    with pytest.raises(Crash):
        load_batch(published, store, warehouse, NOW)
    load_batch(published, store, warehouse, NOW)
    assert_loaded_once(store, warehouse, published)
    assert len(store.keys(staging.PROCESSED)) == 4


def test_an_object_store_failure_raises_transient_so_sqs_retries_the_message() -> None:
    store, warehouse = fakes()
    published = parts()
    store.crash_on("put", 2, TransientError)
    with pytest.raises(TransientError):
        load_batch(published, store, warehouse, NOW)
    load_batch(published, store, warehouse, NOW)
    assert_loaded_once(store, warehouse, published)


def test_a_part_redelivered_inside_a_different_batch_loads_once() -> None:
    store, warehouse = fakes()
    published = parts()
    load_batch(published[:1], store, warehouse, NOW)
    load_batch(published, store, warehouse, NOW)  # SQS batched the redelivered part with others
    assert_loaded_once(store, warehouse, published)


def test_the_same_part_twice_in_one_batch_loads_once() -> None:
    store, warehouse = fakes()
    published = parts()
    outcome = load_batch(published + published[:2], store, warehouse, NOW)
    assert outcome.parts == len(published)
    assert_loaded_once(store, warehouse, published)


def test_a_loader_whose_objects_a_racing_loader_archived_mid_copy_finds_the_batch_done() -> None:
    """Two loaders of the same message: the second's COPY loses its objects to the first's move."""
    store, warehouse = fakes()
    published = parts()
    first_copy = warehouse._copy
    raced = threading.Event()

    def copy_after_the_other_loader_finished(cursor: Any, statement: Any) -> None:
        if not raced.is_set():
            raced.set()
            other = MemoryWarehouse(store, database=warehouse.database)
            load_batch(published, store, other, NOW)  # loads and moves our staged objects away
        first_copy(cursor, statement)

    warehouse._copy = copy_after_the_other_loader_finished  # type: ignore[method-assign]
    outcome = load_batch(published, store, warehouse, NOW)
    assert outcome.statement_id == "", "nothing left to load: the other loader committed it"
    assert_loaded_once(store, warehouse, published)


def test_bad_rows_go_to_rejected_with_their_reason_and_the_rest_load() -> None:
    store, warehouse = fakes()
    good = [row(i) for i in range(5)]
    bad = row(99, message_timestamp="not a time")
    published = envelope.split([*good, bad], batch_id=str(uuid.UUID(int=7)),
                               published_at="2026-11-29T11:59:59Z", source="test",
                               max_bytes=1_048_576)
    outcome = load_batch(published, store, warehouse, NOW)
    assert outcome.rows == 5 and outcome.rejected == 1
    [rejected_key] = store.keys(staging.REJECTED)
    [line] = staging.read_ndjson_gz(store.objects[rejected_key])
    assert line["row_no"] == 5 and "message_timestamp" in line["reason"]
    [ledger] = warehouse.ledger.values()
    assert (ledger["row_count"], ledger["rejected_count"]) == (5, 1)


def test_the_fake_warehouse_loads_what_the_real_row_staging_renders() -> None:
    """Guard for the fake itself: its rows are stage_row's output, not something of its own."""
    store, warehouse = fakes()
    published = parts()
    load_batch(published, store, warehouse, NOW)
    p = published[0]
    staged = stage_row(p.rows[0], batch_id=p.batch_id, part=p.part, row_no=p.first_row)
    assert warehouse.rows[0] == {k: staged[k] for k in warehouse.rows[0]}
