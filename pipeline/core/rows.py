"""Row validation and the text policy: turn a published row into a staged line or a rejection.

Text policy (Redshift VARCHAR and strings inside SUPER hold at most 65,535
bytes): `message_content` longer than that is cut at the last whole UTF-8
character that fits, in both the typed column and `raw`; `raw` then records
`message_content_bytes` (the original size) and `message_content_truncated`.
Entities are extracted from the full text first, so tickers and signals in the
cut tail still count. We cut rather than reject because an analyst is better
served by 65 KB of a long analysis than by none, and the row's identity and
metadata stay intact; we do it ourselves rather than with COPY's
TRUNCATECOLUMNS so the cut is recorded and never splits a character.

A NUL character, a lone surrogate, a wrong type, a missing or unexpected
field, or a timestamp outside 1970..2100 rejects the row to `rejected/` with
the reason; nothing is silently coerced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.core.dataset import COLUMNS
from pipeline.core.entities import extract_entities
from pipeline.core.envelope import format_time, parse_time
from pipeline.core.limits import REDSHIFT_MAX_VARCHAR_BYTES as MAX_VARCHAR_BYTES

_INT64 = (-(2**63), 2**63 - 1)
_COLUMN_SET = frozenset(COLUMNS)
_EARLIEST_YEAR, _LATEST_YEAR = 1970, 2100
_CANONICAL_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")


class RowRejected(ValueError):
    """The row breaks the contract; the message is the recorded reason."""


@dataclass(frozen=True)
class Rejection:
    batch_id: str
    part: int
    row_no: int
    reason: str
    row: Any

    def as_dict(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "part": self.part, "row_no": self.row_no,
                "reason": self.reason, "row": self.row}


def _int(row: dict[str, Any], name: str, *, nullable: bool) -> int | None:
    value = row[name]
    if value is None and nullable:
        return None
    if type(value) is not int:
        raise RowRejected(f"{name} must be an integer{' or null' if nullable else ''}, "
                          f"got {type(value).__name__}")
    if not _INT64[0] <= value <= _INT64[1]:
        raise RowRejected(f"{name}={value} does not fit in BIGINT")
    return value


def _time(row: dict[str, Any], name: str, *, nullable: bool) -> str | None:
    value = row[name]
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise RowRejected(f"{name} must be an ISO 8601 string, got {type(value).__name__}")
    canonical = _CANONICAL_TIME.match(value) is not None
    try:
        # The publisher's own format needs no time-zone arithmetic, only validation (hot path).
        moment = datetime.fromisoformat(value) if canonical else parse_time(value)
    except ValueError:
        raise RowRejected(f"{name}={value[:64]!r} is not an ISO 8601 timestamp") from None
    if not _EARLIEST_YEAR <= moment.year <= _LATEST_YEAR:
        raise RowRejected(f"{name}={value!r} is outside {_EARLIEST_YEAR}..{_LATEST_YEAR}")
    return value if canonical else format_time(moment)


def _text(row: dict[str, Any]) -> tuple[str, int]:
    """The content and its UTF-8 size (encoding once also finds lone surrogates)."""
    value = row["message_content"]
    if value is None:
        return "", 0
    if not isinstance(value, str):
        raise RowRejected(f"message_content must be a string, got {type(value).__name__}")
    if "\x00" in value:
        raise RowRejected("message_content contains a NUL character, which Redshift cannot store")
    if value.isascii():
        return value, len(value)
    try:
        return value, len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise RowRejected("message_content contains a lone surrogate (not valid Unicode)") from None


def truncate_utf8(text: str, limit: int = MAX_VARCHAR_BYTES) -> tuple[str, int]:
    """`text` cut to at most `limit` UTF-8 bytes on a character boundary, and its full size."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text, len(data)
    return data[:limit].decode("utf-8", errors="ignore"), len(data)


def stage_row(row: Any, *, batch_id: str, part: int, row_no: int) -> dict[str, Any]:
    """The NDJSON line COPY loads for one valid row; raises RowRejected with the reason."""
    if not isinstance(row, dict):
        raise RowRejected(f"row must be a JSON object, got {type(row).__name__}")
    if row.keys() != _COLUMN_SET:
        missing = [c for c in COLUMNS if c not in row]
        extra = sorted(k for k in row if k not in _COLUMN_SET)
        raise RowRejected(f"fields: missing {missing}, unexpected {extra}")
    text, size = _text(row)
    staged = {
        "message_id": _int(row, "message_id", nullable=False),
        "message_timestamp": _time(row, "message_timestamp", nullable=False),
        "message_content": text,
        "reply_message_id": _int(row, "reply_message_id", nullable=True),
        "trader_id": _int(row, "trader_id", nullable=True),
        "chat_link": _int(row, "chat_link", nullable=False),
        "processing_time": _time(row, "processing_time", nullable=True),
        "entities": extract_entities(text),
        "raw": row,  # a fresh dict from the decoded body: no copy needed unless cut below
        "batch_id": batch_id,
        "part": part,
        "row_no": row_no,
    }
    if size > MAX_VARCHAR_BYTES:
        kept, _ = truncate_utf8(text)
        staged["message_content"] = kept
        staged["raw"] = {**row, "message_content": kept, "message_content_bytes": size,
                         "message_content_truncated": True}
    return staged
