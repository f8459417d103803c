"""Poison messages and bad rows through the real event source and the loader handler.

A body that is not an envelope goes to the DLQ unchanged (visibility 1 s,
maxReceiveCount 2); a bad row inside a good envelope goes to rejected/ with its
reason; everything else loads, verbatim.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline.core import envelope, staging
from pipeline.core.limits import REDSHIFT_MAX_VARCHAR_BYTES as MAX_VARCHAR_BYTES
from pipeline.core.rows import truncate_utf8
from tests.integration.helpers import (
    assert_accounted,
    dlq_bodies,
    drain,
    keys,
    publish,
    query,
    send_bodies,
    send_parts,
    sqs_event,
    store,
)

pytestmark = pytest.mark.integration

BATCH = "5f0c2a52-8d0c-4c4e-9d1e-0f7a0f6b9a11"


NOT_A_ROW = "row must be a JSON object, or an array of one value per column of its envelope"


def header(**change: Any) -> dict[str, Any]:
    """A valid one-row envelope as a dict, with `change` applied (None drops a field)."""
    body = {
        "schema": envelope.SCHEMA, "version": envelope.SCHEMA_VERSION, "batch_id": BATCH,
        "part": 1, "parts": 1, "published_at": "2026-11-25T00:00:00Z", "source": "test",
        "first_row": 0, "row_count": 1,
        "rows": [{"message_id": 1, "message_timestamp": "2024-02-01T00:00:00Z",
                  "message_content": "hi", "reply_message_id": None, "trader_id": 2,
                  "chat_link": -100, "processing_time": None}],
    }
    body.update(change)
    return {k: v for k, v in body.items() if v is not None}


# Each body is what a broken or hostile producer could put on the queue; none is an envelope.
POISON: dict[str, str] = {
    "not json": "{not json",
    "truncated json": json.dumps(header())[:-7],
    "json scalar": '"just a string"',
    "json array": "[1, 2, 3]",
    "deeply nested": "[" * 100_000,
    "unknown schema version": json.dumps(header(version=2)),
    "unknown schema": json.dumps(header(schema="telegram.reactions")),
    "missing field": json.dumps(header(rows=None)),
    "extra field": json.dumps(header(priority="high")),
    "part as a string": json.dumps(header(part="1")),
    "part beyond parts": json.dumps(header(part=3, parts=2)),
    "batch id not a uuid": json.dumps(header(batch_id="batch-1; DROP TABLE x")),
    "batch id a lone surrogate": json.dumps(header(batch_id="\ud800")),
    "rows not a list": json.dumps(header(rows={"0": {}})),
    "row count disagrees": json.dumps(header(row_count=2)),
    "published_at impossible": json.dumps(header(published_at="2026-02-30T00:00:00Z")),
}


def test_poison_messages_reach_the_dlq_unchanged_while_good_ones_load(local_stack, dataset):
    parts = publish(local_stack, dataset, seed=51, sample_min=50, sample_max=200)
    send_bodies(local_stack, POISON.values())
    pollers = drain(local_stack)
    assert sum(i.failed for i in pollers.invocations) == 2 * len(POISON), "each failed twice"
    assert sorted(dlq_bodies(local_stack)) == sorted(POISON.values())
    accounting = assert_accounted(local_stack, parts)
    assert sorted(accounting.poison_bodies) == sorted(POISON.values())
    assert accounting.loaded_rows == accounting.published_rows
    assert keys(local_stack, staging.REJECTED) == []


def test_undecodable_records_fail_alone_in_the_partial_batch_response(local_stack, dataset):
    parts = publish(local_stack, dataset, seed=52, sample_min=50, sample_max=200)
    # Bodies SQS itself could not carry reach a handler only through a broken event
    # source; they must still fail alone: bytes that are not UTF-8, a raw lone surrogate.
    bodies: list[Any] = [*parts, *POISON.values(), b"\xff\xfe{\x00", '{"schema": "\ud800"}']
    response = local_stack.loader(sqs_event(bodies), None)
    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    assert failed == [f"m-{i}" for i in range(len(parts), len(bodies))]
    accounting = assert_accounted(local_stack, parts)
    assert accounting.loaded_rows == accounting.published_rows


def edge_rows(base: dict[str, Any]) -> tuple[list[Any], dict[int, str]]:
    """Rows the loader must load verbatim or cut, and rows it must reject (offset -> reason)."""
    good = [
        base | {"message_content": "'; DROP TABLE scraped.telegram_messages; --"},
        base | {"message_content": "Robert'); DELETE FROM scraped.load_ledger WHERE ('1'='1"},
        base | {"message_content": 'He said "buy" \\ and \'sell\' | a,b;c $$ $1 :name /* x */'},
        base | {"message_content": "\x01\x07\x1b[31mred\x1b[0m\x7f\u0085\u2028\u2029\t\r\n end"},
        base | {"message_content": "e\u0301 \u202eRTL\u202c 🚀 $BTC 中文 \ufeff"},
        base | {"message_content": ""},
        base | {"message_content": "x" * MAX_VARCHAR_BYTES},  # exactly at the limit: kept whole
        base | {"message_content": "a" + "😀" * 20_000},  # 80,001 bytes: cut between emoji
        base | {"message_content": "€" * 21_846},  # 65,538 bytes: cut to 21,845 euros
        base | {"message_content": "y" * 70_000 + " $ETH long"},  # the ticker is in the cut tail
        base | {"message_timestamp": "2024-02-01T05:04:57+05:00"},  # an offset, normalised
    ]
    bad = [
        (base | {"message_id": "x"}, "message_id must be an integer"),
        (base | {"message_id": True}, "message_id must be an integer, got bool"),
        (base | {"message_id": 2**63}, "does not fit in BIGINT"),
        (base | {"chat_link": 1.5}, "chat_link must be an integer"),
        (base | {"reply_message_id": 3.0}, "reply_message_id must be an integer or null"),
        (base | {"trader_id": "7"}, "trader_id must be an integer or null"),
        (base | {"message_timestamp": "2024-02-30T00:00:00Z"}, "is not an ISO 8601 timestamp"),
        (base | {"message_timestamp": "9999-12-31T00:00:00Z"}, "outside 1970..2100"),
        (base | {"message_timestamp": "1969-12-31T23:59:59Z"}, "outside 1970..2100"),
        (base | {"message_timestamp": None}, "must be an ISO 8601 string, got NoneType"),
        (base | {"processing_time": 1_700_000_000}, "must be an ISO 8601 string, got int"),
        (base | {"message_content": 42}, "message_content must be a string"),
        # The data dictionary: empty content is "", never a null.
        (base | {"message_content": None}, "message_content must be a string, got NoneType"),
        (base | {"message_content": "a\x00b"}, "NUL"),
        # Its rejected/ line holds U+2028 and U+0085 raw: readers must split on "\n" only.
        (base | {"message_content": "line\u2028sep\u0085\x00"}, "NUL"),
        (base | {"message_content": "half \ud83d a pair"}, "lone surrogate"),
        ({k: v for k, v in base.items() if k != "trader_id"}, "missing ['trader_id']"),
        (base | {"views": 10}, "unexpected ['views']"),
        ([1, 2, 3], f"{NOT_A_ROW}, got an array of 3 values"),
        (None, f"{NOT_A_ROW}, got NoneType"),
    ]
    rows = [*good, *(row for row, _ in bad)]
    return rows, {len(good) + i: reason for i, (_, reason) in enumerate(bad)}


def test_bad_rows_are_rejected_with_reasons_and_the_rest_load_verbatim(local_stack, dataset):
    base = dataset.rows([0])[0]
    rows, reasons = edge_rows(base)
    part = envelope.Envelope(batch_id=BATCH, part=1, parts=1, published_at="2026-11-25T00:00:00Z",
                             source="test", first_row=100, rows=rows)
    send_parts(local_stack, [part])
    drain(local_stack)
    accounting = assert_accounted(local_stack, [part])
    assert accounting.ledger == {(BATCH, 1): (len(rows) - len(reasons), len(reasons))}
    rejected = {row_no - 100: reason for (_, _, row_no), reason in accounting.rejected.items()}
    assert rejected.keys() == reasons.keys()
    for offset, reason in reasons.items():
        assert reason in rejected[offset], (offset, rejected[offset])
    (rejected_key,) = keys(local_stack, staging.REJECTED)
    kept = {line["row_no"] - 100: line["row"] for line in
            staging.read_ndjson_gz(store(local_stack).get(rejected_key))}
    assert kept == {offset: rows[offset] for offset in reasons}, "rejected rows kept as published"

    loaded = query(local_stack, 'SELECT row_no, message_content, "raw", message_timestamp, '
                                "entities FROM scraped.telegram_messages ORDER BY row_no")
    assert [r[0] - 100 for r in loaded] == [i for i in range(len(rows)) if i not in reasons]
    for row_no, text, raw_text, _, entities_text in loaded:
        original = rows[row_no - 100]["message_content"] or ""
        expected, size = truncate_utf8(original)
        assert text == expected, f"row {row_no - 100} not stored verbatim"
        raw = json.loads(raw_text)
        if expected != original:
            assert len(text.encode()) <= MAX_VARCHAR_BYTES
            assert len(text.encode()) > MAX_VARCHAR_BYTES - 4, "cut at the last whole character"
            assert raw["message_content_truncated"] is True
            assert raw["message_content_bytes"] == size
            assert raw["message_content"] == text
        else:
            assert "message_content_truncated" not in raw
            assert raw["message_content"] == rows[row_no - 100]["message_content"]
        if original.endswith("$ETH long"):
            assert "ETH" in json.loads(entities_text)["tickers"], "entities use the full text"
    offset_at = next(i for i, r in enumerate(rows) if isinstance(r, dict)
                     and r["message_timestamp"] == "2024-02-01T05:04:57+05:00")
    offset_row = next(r for r in loaded if r[0] - 100 == offset_at)
    assert offset_row[3] == "2024-02-01 00:04:57+00", "05:04:57+05:00 stored as UTC"
    tables = query(local_stack, "SELECT COUNT(*) FROM scraped.load_ledger")
    assert tables == [[1]], "the SQL-looking text dropped nothing"
