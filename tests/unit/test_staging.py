"""Staging keys and object bodies."""

from datetime import UTC, datetime

import pytest

from pipeline.core import staging

pytestmark = pytest.mark.unit


def test_keys_are_dated_under_incoming_and_move_to_processed():
    keys = staging.keys_for("abc", datetime(2026, 11, 25, 23, 59, tzinfo=UTC))
    assert keys.rows == "incoming/2026/11/25/abc.rows.ndjson.gz"
    assert keys.rejected == "rejected/2026/11/25/abc.rejected.ndjson.gz"
    assert staging.processed_key(keys.rows) == "processed/2026/11/25/abc.rows.ndjson.gz"
    assert all(k.startswith("incoming/") for k in keys.incoming())


def test_processed_key_refuses_keys_outside_incoming():
    with pytest.raises(ValueError, match="not under incoming/"):
        staging.processed_key("rejected/x")


def test_load_id_is_the_same_for_the_same_parts_in_any_order():
    a = staging.load_id([("b", 2), ("a", 1)])
    assert a == staging.load_id([("a", 1), ("b", 2)])
    assert a != staging.load_id([("a", 1)])


def test_ndjson_round_trips_unicode_and_nulls():
    lines = [{"a": "привет\n🚀|\"", "b": None}, {"a": "", "b": 1}]
    assert staging.read_ndjson_gz(staging.ndjson_gz(lines)) == lines


def test_manifest_names_exactly_one_mandatory_object():
    import json

    body = json.loads(staging.manifest("bucket", "incoming/x.rows.ndjson.gz"))
    assert body == {"entries": [{"url": "s3://bucket/incoming/x.rows.ndjson.gz",
                                 "mandatory": True}]}


def test_ndjson_lines_split_only_on_newlines_not_unicode_line_separators():
    lines = [{"a": "before\u2028after\u2029x\x85y"}, {"a": "second"}]
    assert staging.read_ndjson_gz(staging.ndjson_gz(lines)) == lines
