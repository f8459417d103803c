"""In-memory stand-ins for the app's ports (`pipeline.app.ports`), faithful to their contracts.

They stand in for S3 and Redshift in unit tests of the load sequence, where the
point is to stop it at every step and check what a retry does, in milliseconds.
The store is a dict with S3's documented semantics (a move that finds its source
gone but its target present is done). The warehouse is not a copy of the load's
logic: it runs the statements `pipeline.aws.sql.render_load` renders, translated to
DuckDB, on an in-memory database, with COPY read from the store. So the ledger's
dedup these tests pin is the SQL's own: take it out of `render_load` and they fail.
The integration tests run the same sequence on the real emulator and the embedded
Data API.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb
from botocore.exceptions import ClientError

from pipeline.aws import sql
from pipeline.core.errors import TerminalWarehouseError, TransientError
from pipeline.offline.warehouse.copy import CopyError, run_copy
from pipeline.offline.warehouse.translate import Copy, Query, translate


class Crash(Exception):
    """A process dying at an injected point: nothing after it runs."""


@dataclass
class MemoryStore:
    """An S3 bucket in a dict. `crash_on(op, n)` makes the n-th call of `op` die before acting."""

    bucket: str = "fake-staging"
    objects: dict[str, bytes] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    _crashes: dict[tuple[str, int], type[BaseException]] = field(default_factory=dict)

    def crash_on(self, op: str, n: int, error: type[BaseException] = Crash) -> None:
        self._crashes[(op, n)] = error

    def _call(self, op: str, key: str) -> None:
        self.calls.append((op, key))
        n = sum(1 for done, _ in self.calls if done == op)
        error = self._crashes.pop((op, n), None)
        if error is not None:
            raise error(f"injected: {op} #{n} ({key})")

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def put(self, key: str, body: bytes, content_type: str = "application/octet-stream") -> None:
        self._call("put", key)
        self.objects[key] = bytes(body)

    def get(self, key: str) -> bytes:
        self._call("get", key)
        try:
            return self.objects[key]
        except KeyError:
            raise TransientError(f"cannot read s3://{self.bucket}/{key}: NoSuchKey") from None

    def move(self, source: str, target: str) -> None:
        self._call("move", source)
        if source not in self.objects:
            if target in self.objects:
                return  # moved already by another loader of the same batch
            raise TransientError(f"cannot move s3://{self.bucket}/{source}: NoSuchKey")
        self.objects[target] = self.objects[source]
        del self.objects[source]

    def exists(self, key: str) -> bool:
        return key in self.objects

    def list(self, prefix: str) -> Iterator[dict[str, Any]]:
        for key in sorted(self.objects):
            if key.startswith(prefix):
                yield {"Key": key, "Size": len(self.objects[key])}

    def keys(self, prefix: str = "") -> list[str]:
        return [o["Key"] for o in self.list(prefix)]


class _StoreAsS3:
    """What COPY reads of S3 (get_object, NoSuchKey), answered from a MemoryStore."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 (S3's names)
        if Bucket != self.store.bucket or Key not in self.store.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "no such key"},
                               "ResponseMetadata": {"HTTPStatusCode": 404}}, "GetObject")
        return {"Body": io.BytesIO(self.store.objects[Key])}


COPY_ROLE = "arn:aws:iam::000000000000:role/fake-copy"
SCHEMA = "scraped"


def new_database() -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse holding the pipeline's tables and view (`sql.render_ddl`)."""
    database = duckdb.connect()
    database.execute("SET TimeZone = 'UTC'")
    for statement in sql.render_ddl(SCHEMA):
        translated = translate(statement)
        if isinstance(translated, Query):
            database.execute(translated.sql)
    return database


@dataclass
class MemoryWarehouse:
    """The load transaction `pipeline.aws.sql.render_load` renders, run on in-memory DuckDB.

    `before_commit` / `after_commit` run inside `load` at those points (raise `Crash`
    to kill the loader there); the commit itself is atomic, as Redshift's is. Two
    warehouses given one `database` are two loaders of one warehouse.
    """

    store: MemoryStore
    database: duckdb.DuckDBPyConnection = field(default_factory=new_database)
    before_commit: Callable[[], None] = lambda: None
    after_commit: Callable[[], None] = lambda: None
    loads: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _copy(self, cursor: Any, statement: Copy) -> None:
        try:
            run_copy(cursor, statement, _StoreAsS3(self.store))
        except CopyError as exc:
            raise TerminalWarehouseError(f"COPY: {exc}") from exc

    def load(self, rows_manifest_url: str, parts_manifest_url: str) -> str:
        with self._lock:
            cursor = self.database.cursor()
            cursor.execute("BEGIN TRANSACTION")
            try:
                for statement in sql.render_load(SCHEMA, rows_manifest_url, parts_manifest_url,
                                                 COPY_ROLE):
                    translated = translate(statement)
                    if isinstance(translated, Copy):
                        self._copy(cursor, translated)
                    elif isinstance(translated, Query):
                        cursor.execute(translated.sql)
                self.before_commit()
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
            self.loads += 1
        self.after_commit()
        return f"statement-{self.loads}"

    def _select(self, statement: str) -> list[dict[str, Any]]:
        cursor = self.database.cursor()
        result = cursor.execute(statement)
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The loaded rows' identity and text, in load order."""
        return self._select(
            f"SELECT batch_id, part, row_no, message_id, message_content "
            f"FROM {SCHEMA}.{sql.MESSAGES_TABLE} ORDER BY loaded_at, batch_id, part, row_no")

    @property
    def ledger(self) -> dict[tuple[str, int], dict[str, Any]]:
        return {(r["batch_id"], r["part"]): r for r in self._select(
            f"SELECT * FROM {SCHEMA}.{sql.LEDGER_TABLE} ORDER BY batch_id, part")}

    def copies_of_each_row(self) -> set[int]:
        """How many times each (batch_id, part, row_no) is present: {1} when exactly once."""
        return {r["copies"] for r in self._select(
            f"SELECT COUNT(*) AS copies FROM {SCHEMA}.{sql.MESSAGES_TABLE} "
            "GROUP BY batch_id, part, row_no")}
