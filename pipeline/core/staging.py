"""Staging-key naming and the bytes of staged objects (NDJSON.gz and COPY manifests). Pure."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipeline.core.envelope import dumps

INCOMING = "incoming/"
PROCESSED = "processed/"
REJECTED = "rejected/"
# The objects one load stages share a base name; each is told apart by its suffix.
ROWS_SUFFIX = ".rows.ndjson.gz"
ROWS_MANIFEST_SUFFIX = ".rows.manifest"
PARTS_SUFFIX = ".parts.ndjson.gz"
PARTS_MANIFEST_SUFFIX = ".parts.manifest"
REJECTED_SUFFIX = ".rejected.ndjson.gz"
_STAGED_SUFFIXES = (ROWS_SUFFIX, ROWS_MANIFEST_SUFFIX, PARTS_SUFFIX, PARTS_MANIFEST_SUFFIX)
# An upload that never completed is aborted after this many days; nothing else in the
# bucket expires except by `expiry_rules`.
ABORT_INCOMPLETE_UPLOADS_DAYS = 1


@dataclass(frozen=True)
class ExpiryRule:
    """One lifecycle rule of the staging bucket: objects under `prefix` expire after `days`."""

    id: str
    prefix: str
    days: int


def expiry_rules(processed_days: int, rejected_days: int) -> tuple[ExpiryRule, ...]:
    """What expires, for the CDK bucket and the emulator's alike: never anything in incoming/.

    Unloaded data is never lost by a rule; loaded copies and rejected rows age out.
    """
    return (
        ExpiryRule("expire-processed", PROCESSED, processed_days),
        ExpiryRule("expire-rejected", REJECTED, rejected_days),
    )


@dataclass(frozen=True)
class StagedKeys:
    """Where one loader batch's objects live while waiting to load."""

    rows: str
    rows_manifest: str
    parts: str
    parts_manifest: str
    rejected: str

    def incoming(self) -> tuple[str, ...]:
        """The objects moved to processed/ once the load has committed."""
        return (self.rows, self.rows_manifest, self.parts, self.parts_manifest)

    @classmethod
    def of(cls, key: str) -> StagedKeys:
        """The keys staged beside `key`: any one of them (rows, parts, a manifest) or their
        base name, under incoming/ or processed/; `rejected` is where that load's
        rejections went, by the same naming."""
        base = next((key[: -len(s)] for s in _STAGED_SUFFIXES if key.endswith(s)), key)
        top, _, rest = base.partition("/")
        rejected = REJECTED + rest if f"{top}/" in (INCOMING, PROCESSED) else base
        return cls._at(base, rejected_base=rejected)

    @classmethod
    def _at(cls, base: str, *, rejected_base: str) -> StagedKeys:
        return cls(
            rows=base + ROWS_SUFFIX,
            rows_manifest=base + ROWS_MANIFEST_SUFFIX,
            parts=base + PARTS_SUFFIX,
            parts_manifest=base + PARTS_MANIFEST_SUFFIX,
            rejected=rejected_base + REJECTED_SUFFIX,
        )


def load_id(part_keys: Iterable[tuple[str, int]]) -> str:
    """A name for one loader batch, derived from its (batch_id, part)s.

    The same SQS batch redelivered stages to the same keys, so a retry
    overwrites its own objects instead of leaving copies behind.
    """
    ordered = sorted(part_keys)
    digest = hashlib.sha256(json.dumps(ordered).encode()).hexdigest()[:16]
    return f"{ordered[0][0]}-p{ordered[0][1]}-{digest}" if ordered else f"empty-{digest}"


def keys_for(name: str, now: datetime) -> StagedKeys:
    """Where a load named `name` stages on `now`'s (UTC) day."""
    day = now.astimezone(UTC).strftime("%Y/%m/%d")
    return StagedKeys._at(f"{INCOMING}{day}/{name}", rejected_base=f"{REJECTED}{day}/{name}")


def processed_key(incoming_key: str) -> str:
    """incoming/... -> processed/... (same date path and name)."""
    if not incoming_key.startswith(INCOMING):
        raise ValueError(f"{incoming_key!r} is not under {INCOMING}")
    return PROCESSED + incoming_key[len(INCOMING):]


# Validated rows hold no lone surrogates (rows.py rejects them), so they need none of
# dumps()'s escaping; rejected rows may, and go through dumps().
_NDJSON_CHUNK = 1000  # lines per write into the gzip stream
_VALIDATED = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def ndjson_gz(lines: Iterable[dict[str, Any]], *, validated: bool = False) -> bytes:
    """One compact JSON object per line, gzip-compressed.

    Level 1: on the loader's hot path, a third of level 5's CPU for files a few
    percent larger, and they live one day in processed/.
    """
    encode = _VALIDATED if validated else dumps
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as gz:
        # In chunks: a loader batch renders ~10 MB of text, which need not exist at once.
        chunk: list[str] = []
        for line in lines:
            chunk.append(f"{encode(line)}\n")
            if len(chunk) == _NDJSON_CHUNK:
                gz.write("".join(chunk).encode("utf-8"))
                chunk.clear()
        gz.write("".join(chunk).encode("utf-8"))
    return out.getvalue()


def read_ndjson_gz(data: bytes) -> list[dict[str, Any]]:
    # Split on "\n" only: str.splitlines() also breaks at U+2028, U+2029 and U+0085,
    # which dumps() leaves unescaped inside strings.
    lines = gzip.decompress(data).decode("utf-8").split("\n")
    return [json.loads(line) for line in lines if line]


def manifest(bucket: str, key: str) -> bytes:
    """A Redshift COPY manifest naming exactly one object (a COPY path alone is a prefix)."""
    entry = {"url": f"s3://{bucket}/{key}", "mandatory": True}
    return json.dumps({"entries": [entry]}).encode()
