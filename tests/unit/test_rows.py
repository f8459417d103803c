"""Row validation and the long-text policy."""

import pytest

from pipeline.core.limits import REDSHIFT_MAX_VARCHAR_BYTES as MAX_VARCHAR_BYTES
from pipeline.core.rows import RowRejected, stage_row, truncate_utf8

pytestmark = pytest.mark.unit

BATCH = "0b6f2a52-8d0c-4c4e-9d1e-0f7a0f6b9a11"


def row(**change) -> dict:
    base = {
        "message_id": 42,
        "message_timestamp": "2024-03-01T12:34:56+00:00",
        "message_content": "$BTC LONG\nEntry: 64,200 - 64,800\nTargets: 65,500 / 66,800\nSL 62,900",
        "reply_message_id": None,
        "trader_id": 7,
        "chat_link": -1001234567890,
        "processing_time": "2024-03-01T12:35:01.250Z",
    }
    return base | change


def stage(r):
    return stage_row(r, batch_id=BATCH, part=2, row_no=17)


def test_a_valid_row_is_staged_typed_with_entities_raw_and_lineage():
    staged = stage(row())
    assert staged["message_timestamp"] == "2024-03-01T12:34:56Z"
    assert staged["processing_time"] == "2024-03-01T12:35:01.250000Z"
    assert staged["entities"]["tickers"][0] == "BTC"
    assert staged["entities"]["signal"]["side"] == "long"
    assert staged["raw"] == row()
    assert (staged["batch_id"], staged["part"], staged["row_no"]) == (BATCH, 2, 17)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"message_id": "42"}, "message_id must be an integer"),
        ({"message_id": None}, "message_id must be an integer"),
        ({"message_id": 2**63}, "does not fit in BIGINT"),
        ({"chat_link": 1.5}, "chat_link must be an integer"),
        ({"trader_id": True}, "trader_id must be an integer or null"),
        ({"message_timestamp": "2024-02-30T00:00:00Z"}, "not an ISO 8601"),
        ({"message_timestamp": "1066-10-14T09:00:00Z"}, "outside 1970..2100"),
        ({"processing_time": 12}, "must be an ISO 8601 string"),
        ({"message_content": "a\x00b"}, "NUL"),
        ({"message_content": "bad \ud800 surrogate"}, "lone surrogate"),
        ({"message_content": ["list"]}, "must be a string"),
        ({"extra_field": 1}, "unexpected \\['extra_field'\\]"),
    ],
)
def test_rows_breaking_the_contract_are_rejected_with_the_reason(change, reason):
    with pytest.raises(RowRejected, match=reason):
        stage(row(**change))


def test_missing_fields_and_non_objects_are_rejected():
    broken = row()
    del broken["trader_id"]
    with pytest.raises(RowRejected, match="missing \\['trader_id'\\]"):
        stage(broken)
    with pytest.raises(RowRejected, match="must be a JSON object"):
        stage(["not", "a", "row"])


def test_sql_looking_text_is_just_text():
    text = "'; DROP TABLE scraped.telegram_messages; -- \" OR 1=1"
    assert stage(row(message_content=text))["message_content"] == text


def test_text_over_the_varchar_limit_is_cut_on_a_character_boundary_and_recorded():
    text = "🚀" * 20_000 + " $ETH tail"  # 80,010 bytes, the ticker is past the cut
    staged = stage(row(message_content=text))
    kept = staged["message_content"]
    assert len(kept.encode()) <= MAX_VARCHAR_BYTES and text.startswith(kept)
    assert staged["raw"]["message_content"] == kept
    assert staged["raw"]["message_content_bytes"] == len(text.encode())
    assert staged["raw"]["message_content_truncated"] is True
    assert "ETH" in staged["entities"]["tickers"]  # extracted before the cut


def test_truncate_utf8_keeps_short_text_whole():
    assert truncate_utf8("abc") == ("abc", 3)
    assert truncate_utf8("ééé", 5) == ("éé", 6)
