"""The embedded warehouse's file: commits are durable in the log, checkpoints come per row group.

DuckDB's default checkpoints at 16 MB of write-ahead log and rewrites the table's last,
partly filled row group each time, so loads of a few thousand rows rewrote every row about
nine times (docs/benchmarks.md). The writer checkpoints at `CHECKPOINT_THRESHOLD` instead;
these tests pin that the log now holds more than the default's 16 MB and that what it holds
is still durable: a writer killed without a checkpoint or a close loses no committed row.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline.offline.warehouse.engine import DuckDbWarehouse

pytestmark = pytest.mark.integration

COMMITS = 24
ROWS_PER_COMMIT = 1_000
TEXT_BYTES = 1_000  # ~24 MB of log in all: past DuckDB's default 16 MB checkpoint mark

WRITER = textwrap.dedent(f"""
    import os, sys
    from pathlib import Path
    from pipeline.offline.warehouse.engine import DuckDbWarehouse

    warehouse = DuckDbWarehouse(Path(sys.argv[1]), lambda: None)
    cursor = warehouse.cursor()
    cursor.execute("CREATE TABLE t (n BIGINT, text VARCHAR)")
    for commit in range({COMMITS}):
        cursor.execute(
            "INSERT INTO t SELECT i, repeat(chr(CAST(97 + i % 26 AS INTEGER)), {TEXT_BYTES}) "
            "FROM range(?, ?) r(i)",
            [commit * {ROWS_PER_COMMIT}, (commit + 1) * {ROWS_PER_COMMIT}])
    print("committed", flush=True)
    os._exit(9)  # killed: no checkpoint, no close
""")


def test_a_killed_writer_keeps_every_committed_row_that_only_its_log_holds(tmp_path: Path):
    path = tmp_path / "w.duckdb"
    done = subprocess.run([sys.executable, "-c", WRITER, str(path)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 9 and done.stdout.strip() == "committed", done.stderr[-2000:]
    log = path.with_name(path.name + ".wal")
    # With DuckDB's default the log would have been checkpointed into the file at 16 MB.
    assert log.stat().st_size > 20 * 1_000_000
    warehouse = DuckDbWarehouse(path, lambda: None)
    try:
        count, distinct = warehouse.cursor().execute(
            "SELECT count(*), count(DISTINCT n) FROM t").fetchone()
    finally:
        warehouse.close()
    assert count == distinct == COMMITS * ROWS_PER_COMMIT
    assert not log.exists()  # the close checkpointed what the log held
