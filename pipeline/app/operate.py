"""Operator procedures on a pipeline: status, redrive, reload, written against the ports.

`pipeline status`, `pipeline redrive` and `pipeline reload` compose them with the
adapters of a deployed stack or of a running embedded one (`pipeline.cli.operate`).
Each keeps the load's guarantee: redrive deletes a DLQ message only once the source
queue has it (a crash between duplicates, never loses), and a reload is a load, so a
part already in the ledger is a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.app.loader import archive, write_manifests
from pipeline.app.ports import LedgerWarehouse, ObjectStore, OperatedQueue, Queue
from pipeline.core import staging
from pipeline.core.envelope import part_of
from pipeline.core.errors import MissingObjectError, PipelineError, WarehouseError
from pipeline.core.limits import SQS_MAX_BATCH_ENTRIES

log = logging.getLogger(__name__)

# How long a redrive keeps the DLQ messages it holds invisible to anyone else.
REDRIVE_HOLD_S = 30


def loaded_parts(warehouse: LedgerWarehouse) -> set[tuple[str, int]]:
    """The (batch_id, part) keys in the ledger; empty when nothing was loaded yet.

    Also empty, with a warning, when the ledger cannot be read (the warehouse still
    refusing, say): redrive then moves every message, which is safe, since loading a
    part the ledger has is a no-op.
    """
    try:
        return warehouse.loaded_parts()
    except MissingObjectError:
        return set()  # no ledger yet: the loader creates it on its first start
    except WarehouseError as exc:
        log.warning("cannot read the ledger; redriving every DLQ message: %s", exc)
        return set()


def ledger_totals(warehouse: LedgerWarehouse) -> tuple[int, int, int, Any]:
    """(parts, rows, rejected rows, last load time) of the ledger; zeros before any load."""
    try:
        return warehouse.ledger_totals()
    except MissingObjectError:
        return 0, 0, 0, None


def status(source: OperatedQueue, dlq: OperatedQueue, store: ObjectStore,
           warehouse: LedgerWarehouse, *, oldest_message_age_s: float | None,
           now: datetime) -> dict[str, Any]:
    """Queue, DLQ, staging and warehouse figures in one dictionary."""
    queue, dead = source.depth(), dlq.depth()
    staged = [o for o in store.list(staging.INCOMING) if o["Key"].endswith(staging.ROWS_SUFFIX)]
    parts, rows, rejected, last = ledger_totals(warehouse)
    return {
        "queue_visible": queue.visible,
        "queue_in_flight": queue.in_flight,
        "dlq_messages": dead.visible + dead.in_flight,
        "oldest_message_age_s": oldest_message_age_s,
        "staged_not_loaded": len(staged),
        "oldest_staged_age_s": round(max(((now - o["LastModified"]).total_seconds()
                                          for o in staged), default=0.0), 1),
        "rejected_objects": sum(1 for _ in store.list(staging.REJECTED)),
        "rejected_rows": rejected,
        "loaded_parts": parts,
        "loaded_rows": rows,
        "last_load_at": last,
    }


@dataclass(frozen=True)
class RedriveResult:
    moved: int
    remaining: int
    # DLQ messages whose parts were all in the ledger already: not moved (loading them again
    # would be a no-op), deleted from the DLQ so they are counted once, as loaded.
    already_loaded: int = 0


def redrive(dlq: OperatedQueue, source: Queue, loaded: set[tuple[str, int]],
            limit: int | None = None,
            progress: Callable[[str], None] = lambda _: None) -> RedriveResult:
    """Move DLQ messages back to the source queue, unchanged; delete each only once sent.

    A crash between send and delete duplicates a message, never loses one; the
    ledger makes the duplicate's load a no-op. A message whose part is in `loaded`
    is deleted, not moved.
    """
    moved = dropped = 0
    while limit is None or moved + dropped < limit:
        want = (SQS_MAX_BATCH_ENTRIES if limit is None
                else min(SQS_MAX_BATCH_ENTRIES, limit - moved - dropped))
        messages = dlq.receive(max_messages=want, wait_s=0,
                               visibility_timeout_s=REDRIVE_HOLD_S)
        if not messages:
            break
        done = [m for m in messages if (part_of(m.body) or ("", -1, 0))[:2] in loaded]
        if done:
            dropped += len(done) - len(dlq.delete(done))
            progress(f"dropped {dropped} message(s) already loaded")
        rest = [m for m in messages if m not in done]
        if not rest:
            continue
        refused = source.send({str(i): m.body for i, m in enumerate(rest)})
        refused_ids = {f.id for f in refused}
        sent = [m for i, m in enumerate(rest) if str(i) not in refused_ids]
        if sent:
            dlq.delete(sent)  # one left behind is moved again later: a duplicate, a no-op
        moved += len(sent)
        progress(f"moved {moved} message(s)")
        if refused:
            raise PipelineError(f"the source queue refused {len(refused)} message(s): "
                                f"{refused[0].message or refused[0].code}")
    return RedriveResult(moved=moved, remaining=dlq.depth().visible, already_loaded=dropped)


def reload(store: ObjectStore, warehouse: LedgerWarehouse, key: str) -> dict[str, Any]:
    """Load one staged (incoming/) or processed object again; parts already loaded are no-ops.

    The load's own steps (`app.loader`): fresh manifests beside the object (the old ones
    may name a key that has since moved), the one load transaction, and for an object
    still in incoming/ the move to processed/ after it.
    """
    keys = staging.StagedKeys.of(key)
    for needed in (keys.rows, keys.parts):
        if not store.exists(needed):
            raise PipelineError(f"{store.url(needed)} does not exist")
    part_lines = staging.read_ndjson_gz(store.get(keys.parts))
    before = ledger_totals(warehouse)
    write_manifests(store, keys)
    statement_id = warehouse.load(store.url(keys.rows_manifest), store.url(keys.parts_manifest))
    after = ledger_totals(warehouse)
    if keys.rows.startswith(staging.INCOMING):
        archive(store, keys)
    return {"key": keys.rows, "statement_id": statement_id, "parts_in_object": len(part_lines),
            "rows_in_object": sum(p["row_count"] for p in part_lines),
            "rows_added": after[1] - before[1]}
