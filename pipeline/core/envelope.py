"""The SQS message envelope: build, split into size-bounded parts, encode, decode.

A sample is never re-drawn or trimmed because it is large: its rows are packed
greedily, in order, into as many parts as needed, each encoding to at most the
queue's maximum message size. Pure code: clocks and ids are parameters.

Version 2 names the columns once (`columns`) and sends each row as an array of
its values in that order: the keys were ~40% of every body, paid for by every
hop (the publisher's encoding, SQS's bytes and its 64 KB billing chunks, the
loader's decoding). A part whose rows are not all records of exactly the
dataset's columns, in order (a test's odd rows, a hand-made body), is written as
version 1, rows as objects; the loader reads both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipeline.core.columns import NAMES
from pipeline.core.errors import PipelineError, PoisonMessageError

SCHEMA = "telegram.messages"
SCHEMA_VERSION = 2  # what the publisher writes
OBJECT_ROWS_VERSION = 1  # rows as JSON objects; still read, and written for odd rows
_V1_FIELDS = frozenset(
    {"schema", "version", "batch_id", "part", "parts", "published_at", "source",
     "first_row", "row_count", "rows"}
)
ENVELOPE_FIELDS = {OBJECT_ROWS_VERSION: _V1_FIELDS, SCHEMA_VERSION: _V1_FIELDS | {"columns"}}
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# SQS accepts only #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF in a body.
# json.dumps already escapes C0 controls; these are the rest to escape as \uXXXX.
_SQS_UNSAFE = re.compile("[\ud800-\udfff\ufffe\uffff]")
# One encoder instance: json.dumps with options builds a new one on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
# Headroom for the header's variable fields (part/parts/first_row/row_count digits).
_HEADER_SLACK = 64


class OversizedRowError(PipelineError):
    """One row alone does not fit in a message of the configured size."""


@dataclass(frozen=True)
class Envelope:
    """One part of one published sample."""

    batch_id: str
    part: int
    parts: int
    published_at: str
    source: str
    first_row: int
    rows: list[dict[str, Any]]
    # The rows as the JSON array split() encoded, so a part is serialized once, not twice.
    rows_json: str | None = field(default=None, compare=False, repr=False)
    # Set when the rows go as arrays of these columns' values (version 2).
    columns: tuple[str, ...] | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The envelope as sent; `rows` as arrays when `columns` is set."""
        head: dict[str, Any] = {
            "schema": SCHEMA,
            "version": OBJECT_ROWS_VERSION if self.columns is None else SCHEMA_VERSION,
            "batch_id": self.batch_id,
            "part": self.part,
            "parts": self.parts,
            "published_at": self.published_at,
            "source": self.source,
            "first_row": self.first_row,
            "row_count": len(self.rows),
        }
        if self.columns is None:
            return {**head, "rows": self.rows}
        return {**head, "columns": list(self.columns), "rows": _sent_rows(self.rows, True)}


def dumps(value: Any) -> str:
    """Compact JSON that any SQS body (and any UTF-8 encoder) accepts, Unicode kept readable."""
    text = _ENCODER.encode(value)
    return _SQS_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def encode(envelope: Envelope) -> str:
    """The SQS body: the header fields, then the rows (spliced in as encoded by split())."""
    head = envelope.to_dict()
    rows_json = envelope.rows_json if envelope.rows_json is not None else dumps(head["rows"])
    return dumps({**head, "rows": []})[:-3] + rows_json + "}"  # the head ends with "rows":[]}


def is_record(row: Any) -> bool:
    """Whether `row` goes as an array in version 2: a dict of exactly the columns, in order."""
    return type(row) is dict and tuple(row) == NAMES


def _sent_rows(rows: list[Any], columnar: bool) -> list[Any]:
    """The rows as a body holds them: arrays of their values (version 2), or the objects."""
    return [list(row.values()) for row in rows] if columnar else rows


def row_json(row: Any, columnar: bool) -> str:
    """One row's text inside an envelope's `rows` array."""
    return dumps(list(row.values()) if columnar else row)


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`: the one timestamp format on the wire and in staged files."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if utc.microsecond else "%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Inverse of format_time; accepts any ISO 8601 offset. Raises ValueError."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def split(
    rows: Sequence[dict[str, Any]],
    *,
    batch_id: str,
    published_at: str,
    source: str,
    max_bytes: int,
) -> list[Envelope]:
    """Pack `rows` in order into the fewest parts whose encoding fits in `max_bytes`.

    Every row lands in exactly one part; a row that cannot fit even alone raises
    OversizedRowError rather than being dropped or cut.
    """
    rows = list(rows)
    columns = NAMES if all(map(is_record, rows)) else None
    header = _utf8_size(encode(Envelope(batch_id, 0, 0, published_at, source, 0, [],
                                        columns=columns)))
    budget = max_bytes - header - _HEADER_SLACK
    # Most samples fit one message: encode them in one call, which is what the packing
    # below would produce ("[" + the rows joined by "," + "]"), at half the cost per row.
    whole = dumps(_sent_rows(rows, columns is not None))
    if _utf8_size(whole) - 1 <= budget:  # the packing counts a comma per row, not "[]"
        single = Envelope(batch_id, 1, 1, published_at, source, 0, rows, whole, columns)
        _check_size(single, max_bytes)
        return [single]
    groups: list[tuple[int, list[dict[str, Any]], list[str]]] = []
    current: list[dict[str, Any]] = []
    texts: list[str] = []
    used = 0
    start = 0
    for index, row in enumerate(rows):
        text = row_json(row, columns is not None)
        size = _utf8_size(text) + 1  # +1 for the separating comma
        if size > budget:
            raise OversizedRowError(
                f"row {index} encodes to {size} bytes; a message of {max_bytes} bytes "
                f"holds at most {budget} bytes of rows"
            )
        if current and used + size > budget:
            groups.append((start, current, texts))
            current, texts, used, start = [], [], 0, index
        current.append(row)
        texts.append(text)
        used += size
    if current or not groups:
        groups.append((start, current, texts))
    parts = len(groups)
    envelopes = [
        Envelope(batch_id, number, parts, published_at, source, first, group,
                 "[" + ",".join(encoded) + "]", columns)
        for number, (first, group, encoded) in enumerate(groups, start=1)
    ]
    for envelope in envelopes:
        _check_size(envelope, max_bytes)
    return envelopes


def _check_size(envelope: Envelope, max_bytes: int) -> None:
    size = _utf8_size(encode(envelope))
    if size > max_bytes:  # the budget arithmetic in split() makes this unreachable
        raise AssertionError(f"part {envelope.part} is {size} bytes > {max_bytes}")


def _not_json(constant: str) -> Any:
    """Python's json reads NaN and Infinity; JSON (RFC 8259) has neither, and no publisher
    sends them. Read as floats, one such value in a row failed the rejected-rows object's
    encoding and with it the whole batch of good messages, load after load."""
    raise ValueError(f"{constant} is not JSON")


def decode(body: str | bytes) -> Envelope:
    """Parse and validate one SQS body; anything malformed is a PoisonMessageError."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        data = json.loads(text, parse_constant=_not_json)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError, JSONDecodeError, NaN
        raise PoisonMessageError(f"body is not UTF-8 JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PoisonMessageError(f"envelope must be a JSON object, got {type(data).__name__}")
    version = data.get("version")
    known = type(version) is int and version in ENVELOPE_FIELDS
    fields = ENVELOPE_FIELDS[version if known else SCHEMA_VERSION]
    missing = fields - data.keys()
    extra = data.keys() - fields
    if missing or extra:
        raise PoisonMessageError(
            f"envelope fields: missing {sorted(missing)}, unexpected {sorted(extra)}"
        )
    if data["schema"] != SCHEMA or not known:
        raise PoisonMessageError(
            f"unknown schema {data['schema']!r} version {version!r}; this loader reads "
            f"{SCHEMA!r} versions {', '.join(map(str, sorted(ENVELOPE_FIELDS)))}"
        )
    if not isinstance(data["batch_id"], str) or not _UUID.match(data["batch_id"]):
        raise PoisonMessageError(f"batch_id {data['batch_id']!r} is not a lower-case UUID")
    for name in ("part", "parts", "first_row", "row_count"):
        if type(data[name]) is not int or data[name] < 0:
            raise PoisonMessageError(f"{name} must be a non-negative integer, got {data[name]!r}")
    if not 1 <= data["part"] <= data["parts"]:
        raise PoisonMessageError(f"part {data['part']} is outside 1..{data['parts']}")
    if not isinstance(data["rows"], list):
        raise PoisonMessageError("rows must be a list")
    rows = data["rows"] if version == OBJECT_ROWS_VERSION else _records(data)
    if data["row_count"] != len(rows):
        raise PoisonMessageError(
            f"row_count says {data['row_count']} but the envelope holds {len(data['rows'])} rows"
        )
    if not isinstance(data["source"], str):
        raise PoisonMessageError("source must be a string")
    try:
        parse_time(data["published_at"])
    except (TypeError, ValueError):
        raise PoisonMessageError(
            f"published_at {data['published_at']!r} is not an ISO 8601 timestamp"
        ) from None
    return Envelope(
        batch_id=data["batch_id"],
        part=data["part"],
        parts=data["parts"],
        published_at=data["published_at"],
        source=data["source"],
        first_row=data["first_row"],
        rows=rows,
    )


def _records(data: dict[str, Any]) -> list[Any]:
    """A version 2 envelope's rows as objects keyed by its `columns`.

    A row that is not an array of one value per column is kept as sent: the loader
    rejects that row alone (to rejected/, with the reason), as it does an object row
    with the wrong fields in version 1.
    """
    columns = data["columns"]
    if (not isinstance(columns, list) or not all(isinstance(c, str) for c in columns)
            or len(set(columns)) != len(columns)):
        raise PoisonMessageError("columns must be a list of distinct names")
    width = len(columns)
    return [dict(zip(columns, row, strict=True)) if type(row) is list and len(row) == width
            else row for row in data["rows"]]


def part_of(body: str) -> tuple[str, int, int] | None:
    """(batch_id, part, rows) of an envelope body; None for a body that is not one.

    Lighter than `decode`: accounting and redrive need the key and the row count only.
    """
    try:
        data = json.loads(body)
        return str(data["batch_id"]), int(data["part"]), len(data["rows"])
    except (ValueError, KeyError, TypeError, RecursionError):  # nesting too deep: a poison body
        return None
