"""What a stopped embedded pipeline left on disk: `pipeline status` with no run going.

The queue's waiting messages (journaled, put back by the next `pipeline run`), the DLQ
a clean stop recorded, and the ledger read from the warehouse file, opened read-only
for the one query.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.aws import sql
from pipeline.aws.settings import Settings
from pipeline.offline.emulator import persisted_dlq, queue_state_dir
from pipeline.offline.journal import QueueFiles


def ledger_totals(path: Path, schema: str) -> tuple[int, int, int, Any]:
    """(parts, rows, rejected rows, last load time) from the warehouse file; zeros when the
    file has no ledger yet (nothing was loaded)."""
    import duckdb

    from pipeline.offline.warehouse.engine import SESSION_SETUP
    from pipeline.offline.warehouse.translate import to_duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        for statement in SESSION_SETUP:
            con.execute(statement)
        row = con.execute(to_duckdb(sql.render_ledger_lookup(schema))).fetchone()
    except duckdb.CatalogException:  # no schema or ledger yet: nothing was loaded
        return 0, 0, 0, None
    finally:
        con.close()
    assert row is not None, "an aggregate returns one row"
    return int(row[0]), int(row[1]), int(row[2]), row[3]


def stopped_status(settings: Settings) -> dict[str, Any] | None:
    """With no embedded pipeline running: what the last one left on disk, or None if nothing."""
    dlq = persisted_dlq(settings)
    waiting = QueueFiles(queue_state_dir(settings)).waiting_bodies()
    path = Path(settings.warehouse_path)
    if dlq is None and not waiting and not path.exists():
        return None
    parts, rows, rejected, last = (ledger_totals(path, settings.schema) if path.exists()
                                   else (0, 0, 0, None))
    return {
        "pipeline": "not running (figures from the last run's files)",
        "queue_waiting_for_next_run": waiting,
        "dlq_messages": len(dlq[0]) if dlq else 0,
        "loaded_parts": parts,
        "loaded_rows": rows,
        "rejected_rows": rejected,
        "last_load_at": last,
    }
