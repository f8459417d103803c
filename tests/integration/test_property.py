"""Property: whatever records an SQS event holds, the loader handler keeps the guarantee.

Hypothesis builds events from valid dataset rows, rows mutated into every kind
of contract breach, odd-but-valid text, broken envelope headers, garbage bodies
(text and non-UTF-8 bytes), repeated records and redelivered events. The oracle
is built independently of the loader: the test knows, by construction, which
records are poison and which rows are bad. One stack serves every example
(bounded: 25 examples, no deadline, no example database).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pipeline.core import envelope
from pipeline.core.dataset import COLUMNS
from pipeline.core.rows import truncate_utf8
from tests.integration.helpers import assert_accounted, query, sqs_event, warm

pytestmark = pytest.mark.integration

# A failing example is printed as found: shrinking it re-runs the stack for minutes.
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)

INT_COLUMNS = ("message_id", "reply_message_id", "trader_id", "chat_link")
TIME_COLUMNS = ("message_timestamp", "processing_time")

# Text the contract allows: anything but NUL and lone surrogates (control characters,
# quotes, SQL, RTL marks, emoji and non-characters included).
allowed_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
                       max_size=40)
# JSON has no NaN or infinity: a publisher can never send one (envelope.dumps refuses them)
json_floats = st.floats(allow_nan=False, allow_infinity=False)
json_scalars = st.one_of(st.none(), st.booleans(), json_floats, st.integers(),
                         st.text(max_size=8))


@st.composite
def valid_change(draw: Any) -> dict[str, Any]:
    """A change that keeps a row valid (it loads, text possibly cut)."""
    return draw(st.one_of(
        st.builds(lambda t: {"message_content": t}, allowed_text),
        st.just({"message_content": "€" * 21_846 + " $SOL"}),
        st.just({"message_timestamp": "2024-02-01T05:04:57+05:00"}),
        # The two columns data/README.md's dictionary lets be empty.
        st.just({"reply_message_id": None, "trader_id": None}),
        st.builds(lambda n: {"message_id": n}, st.integers(-(2**63), 2**63 - 1)),
    ))


@st.composite
def breach(draw: Any) -> Any:
    """A function turning a valid row into one the loader must reject."""
    kind = draw(st.sampled_from(["int", "time", "text", "missing", "extra", "not a row"]))
    if kind == "int":
        column = draw(st.sampled_from(INT_COLUMNS))
        value = draw(st.one_of(st.text(max_size=5), json_floats, st.booleans(),
                               st.lists(st.integers(), max_size=2),
                               st.integers(min_value=2**63, max_value=2**70)))
        return lambda row: row | {column: value}
    if kind == "time":
        column = draw(st.sampled_from(TIME_COLUMNS))
        value = draw(st.one_of(st.integers(), st.sampled_from(
            ["2024-02-30T00:00:00Z", "9999-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
             "yesterday", "2024-13-01", "", None])))
        return lambda row: row | {column: value}
    if kind == "text":
        value = draw(st.one_of(
            st.builds(lambda a, b: a + "\x00" + b, allowed_text, allowed_text),
            st.builds(lambda a: a + "\udc00", allowed_text),
            st.integers(), st.lists(st.text(max_size=3), max_size=2), st.none()))
        return lambda row: row | {"message_content": value}
    if kind == "missing":
        column = draw(st.sampled_from(COLUMNS))
        return lambda row: {k: v for k, v in row.items() if k != column}
    if kind == "extra":
        name = draw(st.text(min_size=1, max_size=8).filter(lambda n: n not in COLUMNS))
        extra = draw(json_scalars)
        return lambda row: row | {name: extra}
    value = draw(st.one_of(json_scalars, st.lists(st.integers(), max_size=3)))
    return lambda row: value


HEADER_BREACHES = {
    "version": lambda h: h | {"version": 2},
    "schema": lambda h: h | {"schema": "other"},
    "missing": lambda h: {k: v for k, v in h.items() if k != "source"},
    "extra": lambda h: h | {"attempt": 1},
    "row_count": lambda h: h | {"row_count": h["row_count"] + 1},
    "part zero": lambda h: h | {"part": 0},
    "batch id": lambda h: h | {"batch_id": h["batch_id"].upper()},
    "rows": lambda h: h | {"rows": "[]"},
    "published_at": lambda h: h | {"published_at": "soon"},
}
garbage = st.one_of(st.text(max_size=30), st.binary(max_size=30),
                    st.sampled_from(["{}", "null", "[]", '{"schema": 1}', "{" * 5000]))


class World:
    """The stack and dataset every example shares (a short repr for Hypothesis' reports)."""

    def __init__(self, stack: Any, dataset: Any) -> None:
        self.stack = stack
        self.dataset = dataset

    def __repr__(self) -> str:
        return f"World(warehouse={self.stack.settings.warehouse_path})"


@pytest.fixture
def world(local_stack, dataset) -> World:
    warm(local_stack)
    return World(local_stack, dataset)


@hypothesis_settings(max_examples=25, deadline=None, database=None, phases=NO_SHRINK,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_any_event_keeps_every_row_accounted_for_once(world, data):
    stack, dataset = world.stack, world.dataset
    batch_id = str(uuid.uuid4())  # fresh per example: examples share the warehouse
    records: list[str | bytes] = []
    poison: set[int] = set()
    parts: list[envelope.Envelope] = []
    bad_rows: set[tuple[int, int]] = set()
    count = data.draw(st.integers(1, 4), label="records")
    for number in range(1, count + 1):
        kind = data.draw(st.sampled_from(["envelope", "envelope", "header", "garbage"]),
                         label=f"record {number}")
        if kind == "garbage":
            poison.add(len(records))
            records.append(data.draw(garbage))
            continue
        first_row = data.draw(st.integers(0, 10_000))
        rows: list[Any] = []
        breached: list[tuple[int, int]] = []
        for offset in range(data.draw(st.integers(0, 6))):
            row = dataset.rows([data.draw(st.integers(0, len(dataset) - 1))])[0]
            how = data.draw(st.sampled_from(["as published", "valid change", "breach"]))
            if how == "valid change":
                row = row | data.draw(valid_change())
            elif how == "breach":
                row = data.draw(breach())(row)
                breached.append((number, first_row + offset))
            rows.append(row)
        part = envelope.Envelope(batch_id, number, count, "2026-11-25T00:00:00Z", "prop",
                                 first_row, rows)
        if kind == "header":
            broken = HEADER_BREACHES[data.draw(st.sampled_from(sorted(HEADER_BREACHES)))]
            poison.add(len(records))
            records.append(envelope.dumps(broken(part.to_dict())))
            continue
        parts.append(part)
        bad_rows.update(breached)
        records.append(envelope.encode(part))
        if data.draw(st.booleans(), label="repeat in the same event"):
            records.append(records[-1])
    event = sqs_event(records)
    expected = {"batchItemFailures": [{"itemIdentifier": f"m-{i}"} for i in sorted(poison)]}

    assert stack.loader(event, None) == expected
    if data.draw(st.booleans(), label="redelivered"):
        assert stack.loader(event, None) == expected

    accounting = assert_accounted(stack, parts, exclusive=False)
    assert accounting.dlq_parts == set() and accounting.in_flight_parts == set()
    rejected = {(p, r) for (b, p, r) in accounting.rejected if b == batch_id}
    assert rejected == bad_rows, "exactly the breached rows are rejected"
    if not parts:
        return
    loaded = query(stack, "SELECT part, row_no, message_content FROM scraped.telegram_messages "
                          f"WHERE batch_id = '{batch_id}'")  # a test's own uuid, not data
    by_key = {(p.part, p.first_row + i): row for p in parts for i, row in enumerate(p.rows)}
    for part_no, row_no, text in loaded:
        original = by_key[(part_no, row_no)]["message_content"] or ""
        assert text == truncate_utf8(original)[0], json.dumps(original)[:200]
