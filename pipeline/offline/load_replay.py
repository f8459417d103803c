"""Where the embedded warehouse's time goes per load: the loader's statements, one by one.

`pipeline bench` gives the Data API's CPU as one figure. This replays loads of the shape
the bench makes (nine parts of 500 dataset rows each, staged by the loader's own code
into the embedded S3) through the engine's one entry point, `Session.run`, in this
process, and prints the CPU each statement of `render_load` took, per row and per load,
plus the checkpoint the warehouse's close would run. docs/benchmarks.md quotes it:

    .venv/bin/python -m pipeline.offline.load_replay --loads 30
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import re
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.aws import boto, sql
from pipeline.aws.s3 import ObjectStore
from pipeline.aws.settings import Settings

ROLE = "arn:aws:iam::123456789012:role/embedded-copy"
_SIZE = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|KiB|MiB|GiB)\Z")
PARTS_PER_LOAD = 9
ROWS_PER_PART = 500


def replay(loads: int, *, checkpoint_threshold: str | None = None, seed: int = 1
           ) -> dict[str, Any]:
    """CPU seconds per statement kind over `loads` loads, and the rows they loaded."""
    from pipeline.app import loader
    from pipeline.core import envelope
    from pipeline.core.dataset import load_dataset
    from pipeline.offline.emulator import start_emulator
    from pipeline.offline.warehouse.engine import DuckDbWarehouse, Session

    dataset = load_dataset(Settings().dataset_path)
    rng = random.Random(seed)
    cpu: collections.Counter[str] = collections.Counter()
    with tempfile.TemporaryDirectory(prefix="pipeline-replay-") as tmp:
        settings = Settings(warehouse_path=Path(tmp) / "emulated.duckdb", log_level="WARNING")
        with start_emulator(settings) as emulator:
            local = emulator.settings
            store = ObjectStore(boto.client(local, "s3"), local.bucket)
            warehouse = DuckDbWarehouse(Path(tmp) / "warehouse.duckdb",
                                        lambda: boto.client(local, "s3"))
            if checkpoint_threshold:
                warehouse.cursor().execute(f"SET checkpoint_threshold = '{checkpoint_threshold}'")
            admin = Session(warehouse, "admin", threading.Event(), autocommit=True)
            for statement in sql.render_ddl(local.schema):
                admin.run(statement)
            staged = []
            for _ in range(loads):
                parts = []
                for _ in range(PARTS_PER_LOAD):
                    rows = dataset.rows([rng.randrange(len(dataset)) for _ in range(ROWS_PER_PART)])
                    parts += [envelope.decode(envelope.encode(part)) for part in envelope.split(
                        rows, batch_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        published_at=envelope.format_time(datetime.now(UTC)), source="replay",
                        max_bytes=local.max_message_bytes)]
                prepared = loader.prepare(parts)
                staged.append((loader.stage(prepared, store, datetime.now(UTC)),
                               len(prepared.rows)))
            rows = 0
            for keys, count in staged:
                session = Session(warehouse, "loader", threading.Event(), autocommit=False)
                for statement in sql.render_load(local.schema, store.url(keys.rows_manifest),
                                                 store.url(keys.parts_manifest), ROLE):
                    started = time.process_time()
                    session.run(statement)
                    cpu[_kind(statement)] += time.process_time() - started
                started = time.process_time()
                session.commit()
                cpu["COMMIT"] += time.process_time() - started
                rows += count
            started = time.process_time()
            warehouse.cursor().execute("CHECKPOINT")
            cpu["CHECKPOINT (what the close runs)"] += time.process_time() - started
            warehouse.close()
    return {"loads": loads, "rows": rows, "cpu_s": dict(cpu.most_common())}


def _kind(statement: str) -> str:
    """The statement's first words: `COPY stage_messages`, `INSERT INTO scraped.load_ledger`."""
    words = statement.split()
    return " ".join(words[:3] if words[0] in ("INSERT", "DELETE", "CREATE") else words[:2])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.offline.load_replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=30, help="loads to replay (default 30)")
    parser.add_argument("--checkpoint-threshold", metavar="SIZE",
                        help="DuckDB's checkpoint_threshold for the run, e.g. 16MB (DuckDB's "
                             "default); the embedded warehouse's own setting if omitted")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.loads < 1:
        parser.error("--loads must be at least 1")
    if args.checkpoint_threshold and not _SIZE.match(args.checkpoint_threshold):
        parser.error(f"--checkpoint-threshold {args.checkpoint_threshold!r} is not a size "
                     "such as 16MB or 1GiB")
    figures = replay(args.loads, checkpoint_threshold=args.checkpoint_threshold)
    if args.json:
        print(json.dumps(figures))
        return
    rows, loads = figures["rows"], figures["loads"]
    print(f"{loads} loads, {rows:,} rows")
    print(f"{'us/row':>8} {'ms/load':>8}  statement")
    for kind, seconds in figures["cpu_s"].items():
        print(f"{seconds * 1e6 / rows:8.2f} {seconds * 1e3 / loads:8.2f}  {kind}")
    total = sum(figures["cpu_s"].values())
    print(f"{total * 1e6 / rows:8.2f} {total * 1e3 / loads:8.2f}  total")


if __name__ == "__main__":
    main()
