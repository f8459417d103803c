"""Shared helpers for the integration tests: publish, drain, count, fault wrappers, accounting.

`assert_accounted` is the one statement of the guarantee every fault test ends
with: each row of each part that reached the queue is in exactly one of the
warehouse (ledger row_count), rejected/ (ledger rejected_count), the DLQ, or
still in flight, and no part or row is loaded twice.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipeline.app.publisher import build_sample, send
from pipeline.aws import boto, dataapi, sql
from pipeline.aws.s3 import ObjectStore
from pipeline.aws.settings import Settings
from pipeline.aws.sqs import SqsQueue
from pipeline.core import envelope, staging
from pipeline.core.errors import PoisonMessageError, TransientError
from pipeline.core.messages import QueueMessage
from pipeline.offline.runtime import (
    DrainSchedule,
    Handler,
    Pollers,
    drain_handler,
    event_source,
    loader_handler,
    sqs_record,
    wait_drained,
)

QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:telegram-messages"
# A warehouse refusal retrying cannot fix (the Data API client does not resubmit it).
TERMINAL = "ERROR: permission denied for relation load_ledger"
Key = tuple[str, int]


# --------------------------------------------------------------------------- stack


@contextlib.contextmanager
def local_stack_with(settings: Settings, **changes: Any) -> Iterator[Any]:
    """The `local_stack` fixture with some settings changed (e.g. a larger maxReceiveCount)."""
    from pipeline.offline.runtime import start_local

    with start_local(dataclasses.replace(settings, **changes)) as stack:
        yield stack


@functools.lru_cache(maxsize=16)
def _client(settings: Settings, service: str) -> Any:
    # Building a boto3 client costs ~0.1 s; tests ask for one per check.
    if service == "redshift-data":
        return dataapi.build(settings)
    return boto.client(settings, service)


def sqs(stack: Any) -> Any:
    return _client(stack.settings, "sqs")


def store(stack: Any) -> ObjectStore:
    return ObjectStore(_client(stack.settings, "s3"), stack.settings.bucket)


def warehouse(stack: Any) -> dataapi.DataApiWarehouse:
    return _client(stack.settings, "redshift-data")


def keys(stack: Any, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in store(stack).list(prefix))


# --------------------------------------------------------------------------- publish / drain


def count(stack: Any, statement: str) -> int:
    result = warehouse(stack).query(statement)
    assert result is not None
    return result.rows[0][0]


def query(stack: Any, statement: str) -> list[list[Any]]:
    result = warehouse(stack).query(statement)
    return result.rows if result else []


def sample(stack: Any, dataset: Any, seed: int, **changes: Any) -> list[envelope.Envelope]:
    """One publisher sample (split into parts) drawn with `seed`, not sent."""
    settings = dataclasses.replace(stack.settings, **changes)
    return build_sample(dataset, settings, random.Random(seed), datetime.now(UTC))


def send_parts(stack: Any, parts: Iterable[envelope.Envelope]) -> None:
    send(SqsQueue(sqs(stack), stack.settings.queue_url), [envelope.encode(p) for p in parts])


def send_bodies(stack: Any, bodies: Iterable[str], queue_url: str | None = None) -> None:
    client = sqs(stack)
    for body in bodies:
        client.send_message(QueueUrl=queue_url or stack.settings.queue_url, MessageBody=body)


def with_bad_rows(good: list[dict[str, Any]]) -> envelope.Envelope:
    """A one-part batch of three rows, two of which the loader must reject."""
    return envelope.Envelope(
        batch_id="7d1f1f4e-0c1a-4b7e-9f5e-3a2b1c0d9e8f", part=1, parts=1,
        published_at="2026-11-25T00:00:00Z", source="test", first_row=0,
        rows=[good[0] | {"message_id": "x"}, good[1] | {"message_content": "a\x00b"}, good[2]],
    )


def publish(stack: Any, dataset: Any, seed: int, **changes: Any) -> list[envelope.Envelope]:
    """Sample with `seed` (settings `changes` applied) and send every part to the queue."""
    parts = sample(stack, dataset, seed, **changes)
    send_parts(stack, parts)
    return parts


def drain(
    stack: Any,
    concurrency: int = 1,
    *,
    handler: Callable[..., dict[str, Any]] | None = None,
    timeout_s: float = 60,
    batch_size: int | None = None,
) -> Pollers:
    """Run `concurrency` pollers of the real event source until the source queue is empty."""
    source = event_source(stack.settings, handler or stack.loader)
    if batch_size is not None:
        source.batch_size = batch_size
    pollers = Pollers(source, concurrency=concurrency).start()
    try:
        assert wait_drained(stack.settings, timeout_s=timeout_s), "the queue did not drain"
    finally:
        pollers.stop()
    return pollers


def drain_scheduled(
    stack: Any,
    *,
    handler: Handler | None = None,
    every_s: float = 0.2,
    timeout_s: float = 60,
) -> DrainSchedule:
    """Run the `schedule` trigger (a drain every `every_s`) until the source queue is empty."""
    schedule = DrainSchedule(handler or stack.drain, stack.settings, every_s=every_s).start()
    try:
        assert wait_drained(stack.settings, timeout_s=timeout_s), "the queue did not drain"
    finally:
        schedule.stop()
    return schedule


def sqs_event(bodies: Iterable[str | bytes | envelope.Envelope]) -> dict[str, Any]:
    """An SQS event of the real shape for direct handler calls (receipt handles are fake)."""
    records = []
    for index, body in enumerate(bodies):
        text = envelope.encode(body) if isinstance(body, envelope.Envelope) else body
        message = QueueMessage(message_id=f"m-{index}", receipt_handle=f"r-{index}", body=text,
                               md5_of_body="x")
        records.append(sqs_record(message, QUEUE_ARN, "us-east-1"))
    return {"Records": records}


def peek(stack: Any, queue_url: str) -> list[str]:
    """Every visible body on `queue_url`, left visible again afterwards (for the DLQ)."""
    queue = SqsQueue(sqs(stack), queue_url)
    messages: list[QueueMessage] = []
    while batch := queue.receive(wait_s=0, visibility_timeout_s=60):
        messages += batch
    assert queue.release(messages) == []
    return [m.body for m in messages]


def dlq_bodies(stack: Any) -> list[str]:
    assert stack.settings.dlq_url
    return peek(stack, stack.settings.dlq_url)


def warm(stack: Any) -> None:
    """Build the loader's cached dependencies now (schema DDL), so injected faults hit loads."""
    from pipeline.lambdas import loader

    loader.dependencies(stack.settings)


# --------------------------------------------------------------------------- fault wrappers


@dataclass
class Wired:
    """The stack's real dependencies, wrapped, and the two load triggers' handlers over them."""

    store: Any
    warehouse: Any
    loader: Handler
    drain: Handler


def wired(stack: Any, wrap_store: Callable[[ObjectStore], Any] | None = None,
          wrap_warehouse: Callable[[Any], Any] | None = None, sqs: Any = None) -> Wired:
    """Handlers over the stack's dependencies with the store or warehouse wrapped (passed in)."""
    from pipeline.lambdas import loader

    real = loader.dependencies(stack.settings)
    deps = loader.Dependencies(wrap_store(real.store) if wrap_store else real.store,
                               wrap_warehouse(real.warehouse) if wrap_warehouse
                               else real.warehouse)
    return Wired(deps.store, deps.warehouse, loader_handler(stack.settings, deps),
                 drain_handler(stack.settings, deps, sqs))


class Faults:
    """Counts calls of one operation and fails the chosen ones (1-based call numbers)."""

    def __init__(self, fail_calls: Iterable[int]) -> None:
        self.fail_calls = set(fail_calls)
        self.calls = 0
        self.failed = 0
        self._lock = threading.Lock()

    def next_fails(self) -> bool:
        with self._lock:
            self.calls += 1
            fails = self.calls in self.fail_calls
            self.failed += fails
            return fails


class FlakyStore:
    """The real object store, with chosen put or move calls failing as S3 outages do."""

    def __init__(self, real: ObjectStore, *, puts: Iterable[int] = (),
                 moves: Iterable[int] = (), copy_before_failing: bool = False,
                 on_fail: Callable[[], None] | None = None) -> None:
        self.real = real
        self.put_faults = Faults(puts)
        self.move_faults = Faults(moves)
        self.copy_before_failing = copy_before_failing
        self.on_fail = on_fail

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def put(self, key: str, body: bytes, *args: Any, **kwargs: Any) -> None:
        if self.put_faults.next_fails():
            raise TransientError(f"injected: cannot write s3://{self.real.bucket}/{key}")
        self.real.put(key, body, *args, **kwargs)

    def move(self, source: str, target: str) -> None:
        if self.move_faults.next_fails():
            if self.on_fail:
                self.on_fail()
            if self.copy_before_failing:  # the copy landed, the delete never ran
                self.real.client.copy_object(Bucket=self.real.bucket, Key=target,
                                             CopySource={"Bucket": self.real.bucket, "Key": source})
            raise TransientError(f"injected: cannot move s3://{self.real.bucket}/{source}")
        self.real.move(source, target)


class FlakyWarehouse:
    """The real warehouse whose chosen `load` calls raise before anything is submitted."""

    def __init__(self, real: Any, *, loads: Iterable[int] = (),
                 on_fail: Callable[[], None] | None = None) -> None:
        self.real = real
        self.load_faults = Faults(loads)
        self.on_fail = on_fail

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def load(self, rows_manifest_url: str, parts_manifest_url: str) -> str:
        if self.load_faults.next_fails():
            if self.on_fail:
                self.on_fail()
            raise TransientError("injected: the loader died before the warehouse load")
        return self.real.load(rows_manifest_url, parts_manifest_url)


@dataclass
class Call:
    thread: str
    message_ids: list[str]
    started: float
    ended: float = 0.0
    error: str | None = None


@dataclass
class RecordingHandler:
    """Calls a loader handler and records who handled which message when (and how it ended)."""

    inner: Callable[..., dict[str, Any]]
    calls: list[Call] = field(default_factory=list)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        call = Call(threading.current_thread().name,
                    [r["messageId"] for r in event["Records"]], time.monotonic())
        self.calls.append(call)
        try:
            return self.inner(event, context)
        except Exception as exc:
            call.error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            call.ended = time.monotonic()


# --------------------------------------------------------------------------- the invariant


@dataclass
class Accounting:
    """Where the published rows are, by the invariant's four places."""

    published_rows: int
    loaded_rows: int
    rejected_rows: int
    dlq_rows: int
    in_flight_rows: int
    ledger: dict[Key, tuple[int, int]]
    dlq_parts: set[Key]
    in_flight_parts: set[Key]
    poison_bodies: list[str]
    rejected: dict[tuple[str, int, int], str]


def _messages_by_part(stack: Any) -> Counter[tuple[str, int, int]]:
    table = sql.qualified(stack.settings.schema, sql.MESSAGES_TABLE)
    return Counter((b, p, r) for b, p, r in query(stack, f"SELECT batch_id, part, row_no "
                                                         f"FROM {table}"))


def rejected_lines(stack: Any) -> list[dict[str, Any]]:
    s = store(stack)
    lines: list[dict[str, Any]] = []
    for key in keys(stack, staging.REJECTED):
        lines += staging.read_ndjson_gz(s.get(key))
    return lines


def assert_accounted(stack: Any, parts: Iterable[envelope.Envelope], *,
                     exclusive: bool = True) -> Accounting:
    """The guarantee, checked against the warehouse, rejected/, the DLQ and the source queue.

    `parts` are the envelopes that reached the queue (or the handler). With
    `exclusive`, nothing else may be in the ledger, the table or the DLQ (poison
    bodies that do not decode aside). Rejected rows are counted through the
    ledger; rejected/ objects must hold exactly those rows, each with a reason
    (a redelivery may write the same rejected row again: the set is compared).
    Rows a failed attempt wrote to rejected/ for a part that then went to the DLQ
    are counted with the DLQ part.
    """
    published: dict[Key, envelope.Envelope] = {}
    for part in parts:
        key = (part.batch_id, part.part)
        assert published.setdefault(key, part).rows == part.rows, f"{key} published twice"
    schema = stack.settings.schema
    ledger_rows = query(stack, "SELECT batch_id, part, row_count, rejected_count FROM "
                               f"{sql.qualified(schema, sql.LEDGER_TABLE)}")
    ledger_keys = Counter((b, p) for b, p, _, _ in ledger_rows)
    assert not [k for k, n in ledger_keys.items() if n > 1], "a part is in the ledger twice"
    ledger = {(b, p): (rows, rejected) for b, p, rows, rejected in ledger_rows}
    loaded = _messages_by_part(stack)
    assert not [k for k, n in loaded.items() if n > 1], "a row is in the warehouse twice"
    loaded_by_part: dict[Key, set[int]] = {}
    for b, p, r in loaded:
        loaded_by_part.setdefault((b, p), set()).add(r)
    rejected: dict[tuple[str, int, int], str] = {}
    for line in rejected_lines(stack):
        assert line["reason"], f"rejected row without a reason: {line}"
        rejected[(line["batch_id"], line["part"], line["row_no"])] = line["reason"]
    rejected_by_part: dict[Key, set[int]] = {}
    for b, p, r in rejected:
        rejected_by_part.setdefault((b, p), set()).add(r)

    dlq: Counter[Key] = Counter()
    poison: list[str] = []
    for body in dlq_bodies(stack):
        try:
            env = envelope.decode(body)
        except PoisonMessageError:
            poison.append(body)
        else:
            dlq[(env.batch_id, env.part)] += 1
    assert stack.settings.queue_url
    depth = SqsQueue(sqs(stack), stack.settings.queue_url).depth()
    waiting = depth.visible + depth.in_flight

    in_flight: set[Key] = set()
    for key, part in published.items():
        first = part.first_row
        everything = set(range(first, first + len(part.rows)))
        if key in ledger:
            assert dlq[key] == 0, f"{key} is loaded and also dead-lettered"
            row_count, rejected_count = ledger[key]
            assert row_count + rejected_count == len(part.rows), f"{key}: ledger {ledger[key]}"
            kept = loaded_by_part.get(key, set())
            cut = rejected_by_part.get(key, set())
            assert len(kept) == row_count, f"{key}: {len(kept)} rows loaded, ledger {row_count}"
            assert len(cut) == rejected_count, f"{key}: {len(cut)} rejected, ledger says " \
                                               f"{rejected_count}"
            assert not kept & cut, f"{key}: rows both loaded and rejected: {sorted(kept & cut)}"
            assert kept | cut == everything, f"{key}: rows lost {sorted(everything - kept - cut)}"
        else:
            assert key not in loaded_by_part, f"{key}: rows loaded without a ledger entry"
            assert dlq[key] <= 1, f"{key} is in the DLQ {dlq[key]} times"
            if not dlq[key]:
                in_flight.add(key)
    assert len(in_flight) <= waiting, (
        f"parts neither loaded nor dead-lettered: {sorted(in_flight)}; "
        f"only {waiting} message(s) left on the source queue")
    if exclusive:
        extra = set(ledger) - set(published)
        assert not extra, f"unexpected ledger parts {extra}"
        assert set(loaded_by_part) <= set(published), "rows of parts never published"
        assert set(dlq) <= set(published), f"unexpected DLQ parts {set(dlq) - set(published)}"
    mine = {k: v for k, v in ledger.items() if k in published}
    dlq_parts = {k for k in published if dlq[k]}
    accounting = Accounting(
        published_rows=sum(len(p.rows) for p in published.values()),
        loaded_rows=sum(r for r, _ in mine.values()),
        rejected_rows=sum(j for _, j in mine.values()),
        dlq_rows=sum(len(published[k].rows) for k in dlq_parts),
        in_flight_rows=sum(len(published[k].rows) for k in in_flight),
        ledger=mine,
        dlq_parts=dlq_parts,
        in_flight_parts=in_flight,
        poison_bodies=poison,
        rejected=rejected,
    )
    assert accounting.published_rows == (accounting.loaded_rows + accounting.rejected_rows
                                         + accounting.dlq_rows + accounting.in_flight_rows)
    return accounting


@contextlib.contextmanager
def cloudformation_listener() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(ResponseURL, responses): a real HTTP server on 127.0.0.1 taking the JSON responses a
    custom resource PUTs to CloudFormation's pre-signed URL."""
    import json
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received: list[dict[str, Any]] = []

    class Listener(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Listener)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/response", received
    finally:
        server.shutdown()
        server.server_close()
