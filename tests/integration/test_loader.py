"""The loader end to end: real emulator over HTTP, embedded Data API, DuckDB file."""

from __future__ import annotations

import json

import pytest

from pipeline.aws import boto, dataapi, sql
from pipeline.aws.s3 import ObjectStore
from pipeline.aws.sqs import SqsQueue
from pipeline.core import envelope, staging
from tests.integration.helpers import count, drain, local_stack_with, publish, sqs_event

pytestmark = pytest.mark.integration


def test_published_rows_are_all_loaded_and_objects_archived(local_stack, dataset):
    parts = publish(local_stack, dataset, seed=1, sample_min=300, sample_max=600)
    parts += publish(local_stack, dataset, seed=2, max_message_bytes=16 * 1024)
    drain(local_stack)
    published = sum(len(p.rows) for p in parts)
    assert count(local_stack, "SELECT COUNT(*) FROM scraped.telegram_messages") == published
    assert count(local_stack, "SELECT SUM(row_count) FROM scraped.load_ledger") == published
    assert count(local_stack, "SELECT COUNT(*) FROM scraped.load_ledger") == len(parts)
    store = ObjectStore(boto.client(local_stack.settings, "s3"), local_stack.settings.bucket)
    assert list(store.list(staging.INCOMING)) == []
    assert len(list(store.list(staging.PROCESSED))) >= 4


def test_redelivering_and_reloading_the_same_batch_adds_no_rows(local_stack, dataset):
    parts = publish(local_stack, dataset, seed=3)
    drain(local_stack)
    before = count(local_stack, "SELECT COUNT(*) FROM scraped.telegram_messages")
    event = sqs_event(parts)
    assert local_stack.loader(event, None) == {"batchItemFailures": []}
    assert local_stack.loader(event, None) == {"batchItemFailures": []}
    assert count(local_stack, "SELECT COUNT(*) FROM scraped.telegram_messages") == before
    assert count(local_stack, "SELECT COUNT(*) FROM scraped.load_ledger") == len(parts)


def test_exactly_once_does_not_rest_on_key_constraints():
    """Redshift enforces no keys; the DDL declares none, so the redelivery test above
    passes only because of the ledger, never because DuckDB refused a duplicate."""
    ddl = " ".join(sql.render_ddl("scraped")).upper()
    assert "PRIMARY KEY" not in ddl
    assert "UNIQUE" not in ddl


def test_a_poison_message_reaches_the_dlq_while_its_batch_mates_load(local_stack, dataset):
    sqs = boto.client(local_stack.settings, "sqs")
    parts = publish(local_stack, dataset, seed=4)
    sqs.send_message(QueueUrl=local_stack.settings.queue_url, MessageBody="{not json")
    drain(local_stack)
    dlq = sqs.receive_message(QueueUrl=local_stack.settings.dlq_url, MaxNumberOfMessages=10)
    assert [m["Body"] for m in dlq["Messages"]] == ["{not json"]  # unchanged
    loaded = count(local_stack, "SELECT COUNT(*) FROM scraped.telegram_messages")
    assert loaded == sum(len(p.rows) for p in parts)


def test_bad_rows_go_to_rejected_with_a_reason_and_the_rest_load(local_stack, dataset):
    parts = publish(local_stack, dataset, seed=5, sample_min=20, sample_max=20)
    bad = envelope.Envelope(
        batch_id="11111111-2222-4333-8444-555555555555", part=1, parts=1,
        published_at="2026-11-25T00:00:00Z", source="test", first_row=0,
        rows=[
            parts[0].rows[0] | {"message_id": "x"},
            parts[0].rows[1] | {"message_content": "\x00"},
            parts[0].rows[2],
        ],
    )
    sqs = boto.client(local_stack.settings, "sqs")
    sqs.send_message(QueueUrl=local_stack.settings.queue_url, MessageBody=envelope.encode(bad))
    drain(local_stack)
    assert count(local_stack, "SELECT SUM(rejected_count) FROM scraped.load_ledger") == 2
    store = ObjectStore(boto.client(local_stack.settings, "s3"), local_stack.settings.bucket)
    (rejected,) = [o["Key"] for o in store.list(staging.REJECTED)]
    lines = staging.read_ndjson_gz(store.get(rejected))
    assert [line["row_no"] for line in lines] == [0, 1]
    assert "message_id must be an integer" in lines[0]["reason"]
    assert "NUL" in lines[1]["reason"]
    assert lines[0]["row"]["message_content"] == parts[0].rows[0]["message_content"]
    assert count(local_stack, "SELECT COUNT(*) FROM scraped.telegram_messages") == 21


def test_super_navigation_works_in_a_redshift_query(local_stack, dataset):
    publish(local_stack, dataset, seed=6, sample_min=800, sample_max=800)
    drain(local_stack)
    result = dataapi.build(local_stack.settings).query(
        "SELECT m.entities.tickers[0] AS first_ticker, COUNT(*) AS n "
        "FROM scraped.telegram_messages AS m WHERE m.entities.signal.side = 'long' "
        "AND m.entities.tickers[0] IS NOT NULL "
        "GROUP BY 1 ORDER BY n DESC LIMIT 3"
    )
    assert result.rows, "signals with tickers exist in 800 sampled rows"
    assert all(isinstance(row[0], str) and row[0].isupper() for row in result.rows)
    raw = dataapi.build(local_stack.settings).query(
        'SELECT "raw" FROM scraped.telegram_messages LIMIT 1'
    )
    assert set(json.loads(raw.rows[0][0])) >= {"message_id", "chat_link"}


def test_two_loaders_consuming_concurrently_leave_one_copy(settings, dataset):
    # Loaders racing on the ledger, not redelivery (test_faults covers that): with the
    # suite's 1 s visibility timeout, a load slowed by a busy machine was received again
    # and, after two receives, dead-lettered although loaded. 30 s outlasts any load here.
    with local_stack_with(settings, visibility_timeout_s=30) as local_stack:
        parts = []
        for seed in range(10, 16):
            parts += publish(local_stack, dataset, seed=seed, max_message_bytes=32 * 1024)
        pollers = drain(local_stack, concurrency=3)
        assert len(pollers.invocations) >= 2
        published = sum(len(p.rows) for p in parts)
        assert count(local_stack, "SELECT COUNT(*) FROM scraped.telegram_messages") == published
        dupes = count(local_stack, "SELECT COUNT(*) FROM (SELECT batch_id, part, row_no "
                                   "FROM scraped.telegram_messages GROUP BY 1, 2, 3 "
                                   "HAVING COUNT(*) > 1) AS d")
        assert dupes == 0
        assert SqsQueue(boto.client(local_stack.settings, "sqs"),
                        local_stack.settings.dlq_url).depth().visible == 0


def test_a_refused_copy_raises_with_the_statement_and_the_load_error_rows(local_stack):
    from pipeline.core.errors import TerminalWarehouseError

    warehouse = dataapi.build(local_stack.settings)
    warehouse.ensure_schema()
    store = ObjectStore(boto.client(local_stack.settings, "s3"), local_stack.settings.bucket)
    rows_key = "incoming/2026/11/25/broken.rows.ndjson.gz"
    store.put(rows_key, staging.ndjson_gz([{"message_id": "not a number", "chat_link": 1}]))
    store.put("incoming/2026/11/25/broken.rows.manifest", staging.manifest(store.bucket, rows_key))
    manifest_url = store.url("incoming/2026/11/25/broken.rows.manifest")
    with pytest.raises(TerminalWarehouseError) as failure:
        warehouse.load(manifest_url, manifest_url)
    error = failure.value
    assert error.statement_id
    assert error.sub_statement and "COPY" in error.sub_statement
    assert error.details, "the sys_load_error_detail rows explain the failure"
    assert any(rows_key in str(row.get("file_name")) for row in error.details)
