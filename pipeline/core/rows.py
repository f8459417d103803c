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

A NUL character, a lone surrogate, a wrong type, a null where the column
table (`pipeline.core.columns`) allows none, a missing or unexpected field, or
a timestamp outside the contract's years rejects the row to `rejected/` with
the reason; nothing is silently coerced. The checks and the staged line's
fields are read from the column table, so they agree with the reader and the DDL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.core.columns import DATASET_COLUMNS, NAMES, Kind
from pipeline.core.entities import extract_entities
from pipeline.core.envelope import format_time, parse_time
from pipeline.core.limits import BIGINT_MAX, BIGINT_MIN, EARLIEST_YEAR, LATEST_YEAR
from pipeline.core.limits import REDSHIFT_MAX_VARCHAR_BYTES as MAX_VARCHAR_BYTES

_COLUMN_SET = frozenset(NAMES)
_CANONICAL_TIME = re.compile(r"[0-9]{4}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z\Z")


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


def _int(row: dict[str, Any], name: str, nullable: bool) -> int | None:
    value = row[name]
    if value is None and nullable:
        return None
    if type(value) is not int:
        raise RowRejected(f"{name} must be an integer{' or null' if nullable else ''}, "
                          f"got {type(value).__name__}")
    if not BIGINT_MIN <= value <= BIGINT_MAX:
        raise RowRejected(f"{name}={value} does not fit in BIGINT")
    return value


def _time(row: dict[str, Any], name: str, nullable: bool) -> str | None:
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
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise RowRejected(f"{name}={value!r} is outside {EARLIEST_YEAR}..{LATEST_YEAR}")
    return value if canonical else format_time(moment)


def _text(row: dict[str, Any], name: str, nullable: bool) -> tuple[str | None, int]:
    """The text and its UTF-8 size (encoding once also finds lone surrogates)."""
    value = row[name]
    if value is None and nullable:
        return None, 0
    if not isinstance(value, str):
        raise RowRejected(f"{name} must be a string{' or null' if nullable else ''}, "
                          f"got {type(value).__name__}")
    if "\x00" in value:
        raise RowRejected(f"{name} contains a NUL character, which Redshift cannot store")
    if value.isascii():
        return value, len(value)
    try:
        return value, len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise RowRejected(f"{name} contains a lone surrogate (not valid Unicode)") from None


def truncate_utf8(text: str, limit: int = MAX_VARCHAR_BYTES) -> tuple[str, int]:
    """`text` cut to at most `limit` UTF-8 bytes on a character boundary, and its full size."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text, len(data)
    return data[:limit].decode("utf-8", errors="ignore"), len(data)


# Each dataset column's check, read from the column table once: the loader runs these on
# every row, and a dispatch on the column's kind per value cost more than the checks.
_CHECK_OF_KIND = {Kind.INT64: _int, Kind.TIMESTAMP: _time, Kind.TEXT: _text}
_CHECKS = tuple((c.name, _CHECK_OF_KIND[c.kind], c.nullable) for c in DATASET_COLUMNS)


def stage_row(row: Any, *, batch_id: str, part: int, row_no: int) -> dict[str, Any]:
    """The NDJSON line COPY loads for one valid row; raises RowRejected with the reason."""
    if not isinstance(row, dict):
        # A version 2 envelope sends each row as an array of its columns' values; one
        # that got here has the wrong number of them (envelope.decode kept it as sent).
        got = (f"an array of {len(row)} values" if isinstance(row, list)
               else type(row).__name__)
        raise RowRejected(f"row must be a JSON object, or an array of one value per column "
                          f"of its envelope, got {got}")
    if row.keys() != _COLUMN_SET:
        missing = [c for c in NAMES if c not in row]
        extra = sorted(k for k in row if k not in _COLUMN_SET)
        raise RowRejected(f"fields: missing {missing}, unexpected {extra}")
    staged: dict[str, Any] = {}
    cut: dict[str, int] = {}
    for name, check, nullable in _CHECKS:
        if check is not _text:
            staged[name] = check(row, name, nullable)
            continue
        text, size = _text(row, name, nullable)
        staged[name] = text
        if size > MAX_VARCHAR_BYTES:
            cut[name] = size
    # Entities come from the full text, before any cut: a ticker in the tail still counts.
    staged["entities"] = extract_entities(staged["message_content"] or "")
    staged["raw"] = row  # a fresh dict from the decoded body: no copy needed unless cut below
    staged["batch_id"] = batch_id
    staged["part"] = part
    staged["row_no"] = row_no
    if cut:
        raw = dict(row)
        for name, size in cut.items():
            kept, _ = truncate_utf8(staged[name])
            staged[name] = kept
            raw.update({name: kept, f"{name}_bytes": size, f"{name}_truncated": True})
        staged["raw"] = raw
    return staged
