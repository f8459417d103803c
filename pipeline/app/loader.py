"""The loader: one SQS batch of envelopes -> staged NDJSON.gz -> one warehouse transaction.

Order matters for the guarantee. Rejected rows are written first, then the
rows and parts objects and their manifests; the warehouse load commits rows
and ledger together; only then are the objects moved to processed/. A crash
at any point leaves either nothing committed (the message is redelivered and
stages the same keys again) or a committed ledger entry (the redelivery's load
is a no-op and it finishes the move).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.app.ports import ObjectStore, Warehouse
from pipeline.core import staging
from pipeline.core.envelope import Envelope
from pipeline.core.errors import PipelineError
from pipeline.core.rows import Rejection, RowRejected, stage_row

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    """One batch's parts validated and rendered, ready to stage."""

    name: str
    rows: list[dict[str, Any]]
    parts: list[dict[str, Any]]
    rejected: list[Rejection]


@dataclass(frozen=True)
class LoadOutcome:
    """What one load staged; the ledger decides how much of it was new."""

    parts: int
    rows: int
    rejected: int
    rows_key: str
    statement_id: str

    def as_dict(self) -> dict[str, Any]:
        return {"parts": self.parts, "rows": self.rows, "rejected": self.rejected,
                "rows_key": self.rows_key, "statement_id": self.statement_id}


def unique_parts(envelopes: Iterable[Envelope]) -> list[Envelope]:
    """Drop repeats of a (batch_id, part) within one batch (SQS may deliver a message twice)."""
    seen: dict[tuple[str, int], Envelope] = {}
    for env in envelopes:
        seen.setdefault((env.batch_id, env.part), env)
    return list(seen.values())


def prepare(envelopes: Iterable[Envelope]) -> Prepared:
    """Validate every row of every part: staged lines, per-part ledger lines, rejections."""
    parts = unique_parts(envelopes)
    name = staging.load_id((env.batch_id, env.part) for env in parts)
    rows: list[dict[str, Any]] = []
    part_lines: list[dict[str, Any]] = []
    rejected: list[Rejection] = []
    for env in parts:
        loaded = 0
        for offset, row in enumerate(env.rows):
            row_no = env.first_row + offset
            try:
                rows.append(stage_row(row, batch_id=env.batch_id, part=env.part, row_no=row_no))
                loaded += 1
            except RowRejected as exc:
                rejected.append(Rejection(env.batch_id, env.part, row_no, str(exc), row))
        part_lines.append({
            "batch_id": env.batch_id,
            "part": env.part,
            "parts": env.parts,
            "row_count": loaded,
            "rejected_count": len(env.rows) - loaded,
            "published_at": env.published_at,
        })
    return Prepared(name=name, rows=rows, parts=part_lines, rejected=rejected)


def write_manifests(store: ObjectStore, keys: staging.StagedKeys) -> None:
    """The COPY manifests naming exactly the staged rows and parts objects."""
    store.put(keys.rows_manifest, staging.manifest(store.bucket, keys.rows))
    store.put(keys.parts_manifest, staging.manifest(store.bucket, keys.parts))


def archive(store: ObjectStore, keys: staging.StagedKeys) -> None:
    """Move a committed load's objects from incoming/ to processed/ (idempotent moves)."""
    for key in keys.incoming():
        store.move(key, staging.processed_key(key))


def stage(prepared: Prepared, store: ObjectStore, now: datetime) -> staging.StagedKeys:
    """Write a prepared batch's objects under incoming/: rejected rows first, then the rows
    and parts objects and their manifests (the order the guarantee rests on)."""
    keys = staging.keys_for(prepared.name, now)
    if prepared.rejected:
        store.put(keys.rejected, staging.ndjson_gz(r.as_dict() for r in prepared.rejected))
    for line in prepared.parts:
        line["object_key"] = keys.rows
    store.put(keys.rows, staging.ndjson_gz(prepared.rows, validated=True))
    store.put(keys.parts, staging.ndjson_gz(prepared.parts, validated=True))
    write_manifests(store, keys)
    return keys


def load_batch(
    envelopes: list[Envelope], store: ObjectStore, warehouse: Warehouse, now: datetime
) -> LoadOutcome:
    """Stage, load (exactly once per part) and archive one batch of envelopes."""
    prepared = prepare(envelopes)
    keys = stage(prepared, store, now)
    try:
        statement_id = warehouse.load(
            store.url(keys.rows_manifest), store.url(keys.parts_manifest)
        )
    except PipelineError:
        # Only a committed load archives objects: if this batch's rows are in processed/,
        # another loader of the same parts (SQS delivered twice) committed them, and the
        # failure is its move pulling our staged objects away mid-COPY. Nothing is left to load.
        if not store.exists(staging.processed_key(keys.rows)):
            raise
        log.warning("already loaded by a concurrent loader", extra={
            "rows_key": keys.rows, "batch_ids": sorted({p["batch_id"] for p in prepared.parts})})
        statement_id = ""
    archive(store, keys)
    outcome = LoadOutcome(
        parts=len(prepared.parts),
        rows=len(prepared.rows),
        rejected=len(prepared.rejected),
        rows_key=keys.rows,
        statement_id=statement_id,
    )
    log.info(
        "loaded",
        extra={**outcome.as_dict(), "batch_ids": sorted({p["batch_id"] for p in prepared.parts})},
    )
    return outcome
