"""In-memory fakes of the app's ports (`pipeline.app.ports`), faithful to their contracts.

They stand in for S3 and Redshift in unit tests of the load sequence, where the
point is to stop it at every step and check what a retry does, in milliseconds.
Each fake keeps the semantics the real adapter documents (an S3 move that finds
its source gone but its target present is done; a COPY manifest entry marked
`mandatory` that is missing fails the load; one load is one transaction that
drops parts already in the ledger). The integration tests run the same sequence
on the real emulator and the embedded Data API.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pipeline.core import staging
from pipeline.core.errors import TerminalWarehouseError, TransientError


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


@dataclass
class MemoryWarehouse:
    """The load transaction of `pipeline.aws.sql.render_load`, over a ledger and a row list.

    `before_commit` / `after_commit` run inside `load` at those points (raise `Crash`
    to kill the loader there); the commit itself is atomic, as Redshift's is.
    """

    store: MemoryStore
    rows: list[dict[str, Any]] = field(default_factory=list)
    ledger: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    before_commit: Callable[[], None] = lambda: None
    after_commit: Callable[[], None] = lambda: None
    loads: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _copy(self, manifest_url: str) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []
        for entry in json.loads(self._object(manifest_url, "manifest"))["entries"]:
            try:
                lines.extend(staging.read_ndjson_gz(self._object(entry["url"], "object")))
            except TerminalWarehouseError:
                if entry.get("mandatory"):
                    raise
        return lines

    def _object(self, url: str, what: str) -> bytes:
        prefix = f"s3://{self.store.bucket}/"
        key = url[len(prefix):] if url.startswith(prefix) else None
        if key is None or key not in self.store.objects:
            raise TerminalWarehouseError(f"COPY: {what} {url} not found")
        return self.store.objects[key]

    def load(self, rows_manifest_url: str, parts_manifest_url: str) -> str:
        with self._lock:  # LOCK on the ledger: concurrent loads of one part serialize
            staged_rows = self._copy(rows_manifest_url)
            staged_parts = self._copy(parts_manifest_url)
            new = {(p["batch_id"], p["part"]): p for p in staged_parts
                   if (p["batch_id"], p["part"]) not in self.ledger}
            self.before_commit()
            self.rows.extend(r for r in staged_rows if (r["batch_id"], r["part"]) in new)
            self.ledger.update(new)
            self.loads += 1
        self.after_commit()
        return f"statement-{self.loads}"

    def copies_of_each_row(self) -> set[int]:
        """How many times each (batch_id, part, row_no) is present: {1} when exactly once."""
        seen: dict[tuple[str, int, int], int] = {}
        for r in self.rows:
            key = (r["batch_id"], r["part"], r["row_no"])
            seen[key] = seen.get(key, 0) + 1
        return set(seen.values())
