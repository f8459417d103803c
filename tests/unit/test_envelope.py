"""The envelope: lossless round trips, size-bounded parts, and poison detection."""

import json
import random

import pytest

from pipeline.core import envelope
from pipeline.core.errors import PoisonMessageError

pytestmark = pytest.mark.unit

BATCH = "0b6f2a52-8d0c-4c4e-9d1e-0f7a0f6b9a11"


def make_row(i: int, text: str = "gm $BTC") -> dict:
    return {
        "message_id": i,
        "message_timestamp": "2024-03-01T12:34:56Z",
        "message_content": text,
        "reply_message_id": None,
        "trader_id": 7,
        "chat_link": -1001234567890123,
        "processing_time": "2024-03-01T12:35:01Z",
    }


def split(rows, max_bytes=1_048_576):
    return envelope.split(rows, batch_id=BATCH, published_at="2026-11-25T10:00:00Z",
                          source="test", max_bytes=max_bytes)


def test_round_trip_keeps_unicode_nul_control_chars_and_nulls():
    text = 'привет 🚀 "quoted", a|b\nline\x00nul \x07 \ud800 lone \ufffe'
    rows = [make_row(1, text), make_row(2, "")]
    rows[1]["trader_id"] = None
    (part,) = split(rows)
    body = envelope.encode(part)
    body.encode("utf-8")  # SQS needs valid UTF-8: lone surrogates are escaped, not raw
    assert "\ud800" not in body and "\ufffe" not in body
    decoded = envelope.decode(body)
    assert decoded.rows == rows
    assert (decoded.batch_id, decoded.part, decoded.parts) == (BATCH, 1, 1)


def test_every_row_lands_in_exactly_one_part_in_order():
    rng = random.Random(3)
    rows = [make_row(i, "x" * rng.randint(0, 9000)) for i in range(400)]
    parts = split(rows, max_bytes=64 * 1024)
    assert len(parts) > 1
    assert [r for p in parts for r in p.rows] == rows
    assert [p.part for p in parts] == list(range(1, len(parts) + 1))
    assert all(p.parts == len(parts) for p in parts)
    assert [p.first_row for p in parts] == [sum(len(q.rows) for q in parts[:i])
                                            for i in range(len(parts))]


@pytest.mark.parametrize("max_bytes", [16 * 1024, 64 * 1024, 256 * 1024, 1_048_576])
def test_parts_never_exceed_the_limit_even_with_long_multibyte_rows(max_bytes):
    rows = [make_row(i, ("Длинный анализ 🚀 " * 400)[: 5000 + i]) for i in range(60)]
    for part in split(rows, max_bytes=max_bytes):
        assert len(envelope.encode(part).encode("utf-8")) <= max_bytes


def test_a_row_that_cannot_fit_alone_raises_instead_of_being_dropped():
    with pytest.raises(envelope.OversizedRowError, match="row 1"):
        split([make_row(0), make_row(1, "x" * 5000)], max_bytes=2048)


def test_a_sample_exactly_at_the_limit_is_one_part_and_one_byte_more_is_two():
    rows = [make_row(i, "x" * 300) for i in range(20)]
    exact = len(envelope.encode(split(rows)[0]).encode()) + envelope._HEADER_SLACK
    assert len(split(rows, max_bytes=exact)) == 1
    more = [*rows[:-1], make_row(19, "x" * 301)]
    parts = split(more, max_bytes=exact)
    assert len(parts) == 2 and [r for p in parts for r in p.rows] == more


@pytest.mark.parametrize("max_bytes", [4 * 1024, 1_048_576])  # many parts, and one
def test_each_body_is_the_plain_encoding_of_its_envelope(max_bytes):
    rows = [make_row(i, "$ETH 🚀 \u2028 \u00e9 \"q\" " * (i % 7)) for i in range(50)]
    for part in split(rows, max_bytes=max_bytes):
        assert envelope.encode(part) == envelope.dumps(part.to_dict())


def test_empty_sample_is_one_empty_part():
    (part,) = split([])
    assert part.rows == [] and part.parts == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe not utf-8", "not UTF-8 JSON"),
        ("{not json", "not UTF-8 JSON"),
        ("[1, 2]", "must be a JSON object"),
        ("{}", "missing"),
    ],
)
def test_undecodable_bodies_are_poison(body, reason):
    with pytest.raises(PoisonMessageError, match=reason):
        envelope.decode(body)


def _valid() -> dict:
    return json.loads(envelope.encode(split([make_row(1)])[0]))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"version": 99}, "unknown schema"),
        ({"row_count": 5}, "row_count says 5"),
        ({"batch_id": "not-a-uuid"}, "not a lower-case UUID"),
        ({"part": 2}, "outside 1..1"),
        ({"part": "1"}, "non-negative integer"),
        ({"published_at": "yesterday"}, "not an ISO 8601"),
        ({"rows": "x"}, "rows must be a list"),
        ({"surprise": 1}, "unexpected"),
    ],
)
def test_envelopes_breaking_the_contract_are_poison(change, reason):
    data = _valid() | change
    with pytest.raises(PoisonMessageError, match=reason):
        envelope.decode(json.dumps(data))


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_body_holding_nan_or_infinity_is_poison_not_a_batch_failure(constant):
    # Python's json reads them; JSON does not have them. Read as a float in a row, the row was
    # rejected, then encoding the rejected-rows object raised and failed the whole batch.
    data = json.loads(envelope.encode(split([make_row(1)])[0]))
    data["rows"][0][data["columns"].index("trader_id")] = "<constant>"
    body = json.dumps(data).replace('"<constant>"', constant, 1)
    with pytest.raises(PoisonMessageError, match=f"{constant} is not JSON"):
        envelope.decode(body)


# --- version 2: the columns once, each row an array of their values ----------------------------


def test_the_publisher_writes_version_2_with_the_columns_once_and_each_row_as_an_array():
    rows = [make_row(i) for i in range(50)]
    parts = split(rows, max_bytes=4096)
    assert len(parts) > 1
    for part in parts:
        data = json.loads(envelope.encode(part))
        assert data["version"] == 2
        assert tuple(data["columns"]) == tuple(rows[0])
        assert all(isinstance(row, list) and len(row) == 7 for row in data["rows"])
    assert [r for p in parts for r in envelope.decode(envelope.encode(p)).rows] == rows


def test_version_2_is_smaller_than_the_same_rows_as_objects():
    (part,) = split([make_row(i, "gm $BTC to the moon") for i in range(200)])
    as_objects = envelope.Envelope(part.batch_id, 1, 1, part.published_at, part.source, 0,
                                   part.rows)
    v2, v1 = envelope.encode(part), envelope.encode(as_objects)
    assert json.loads(v1)["version"] == 1
    assert envelope.decode(v1).rows == envelope.decode(v2).rows == part.rows
    assert len(v2) < 0.75 * len(v1)


@pytest.mark.parametrize(
    "odd",
    [
        {k: v for k, v in make_row(1).items() if k != "trader_id"},  # a field missing
        {**make_row(1), "extra": 1},  # one too many
        dict(reversed(make_row(1).items())),  # the right fields in another order
        ["not", "an", "object"],
        None,
    ],
)
def test_a_part_with_a_row_that_is_not_a_record_of_the_columns_goes_as_version_1(odd):
    rows = [make_row(0), odd, make_row(2)]
    (part,) = split(rows)
    body = envelope.encode(part)
    assert json.loads(body)["version"] == 1
    decoded = envelope.decode(body).rows
    assert decoded == rows
    if isinstance(odd, dict):
        assert list(decoded[1]) == list(odd)  # the row as published, its key order too


def test_a_version_2_row_with_the_wrong_number_of_values_is_kept_as_sent_and_rejected_alone():
    from pipeline.core.rows import RowRejected, stage_row

    data = json.loads(envelope.encode(split([make_row(0), make_row(1)])[0]))
    data["rows"][1] = data["rows"][1][:-1]
    decoded = envelope.decode(json.dumps(data))
    assert decoded.rows[0] == make_row(0)
    assert decoded.rows[1] == data["rows"][1]
    with pytest.raises(RowRejected, match=r"array of one value per column .* got an array of 6"):
        stage_row(decoded.rows[1], batch_id=BATCH, part=1, row_no=1)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.pop("columns"), r"missing \['columns'\]"),
        (lambda d: d.update(columns="message_id"), "columns must be a list of distinct names"),
        (lambda d: d.update(columns=[*d["columns"][:-1], "message_id"]), "distinct"),
        (lambda d: d.update(columns=[1] * 7), "distinct names"),
        (lambda d: d.update(version=1), r"unexpected \['columns'\]"),
        (lambda d: d.update(version=3), "versions 1, 2"),
        (lambda d: d.update(version=True), "versions 1, 2"),
        (lambda d: d.update(rows={}), "rows must be a list"),
    ],
)
def test_a_malformed_version_2_header_is_poison(change, reason):
    data = json.loads(envelope.encode(split([make_row(0)])[0]))
    change(data)
    with pytest.raises(PoisonMessageError, match=reason):
        envelope.decode(json.dumps(data))
