"""The scheduled drain: receive what the queue holds, up to a budget, and load it in few COPYs.

The `schedule` load trigger invokes this every few minutes instead of the SQS event
source invoking the loader per message: Redshift Serverless bills each query at least
60 s, so the number of loads, not the number of rows, sets the bill. The load itself is
`pipeline.app.loader.load_batch`, the same staging, ledger and transaction as the event
source's path, so the exactly-once guarantee is the same code.

What a drain deletes is exactly what a committed load covered. A message that does not
decode, or whose load failed, is left alone: it becomes visible again after the
visibility timeout and SQS's redrive policy (maxReceiveCount -> DLQ) decides its fate,
as it does for the event source. The drain never races another drain (the function's
reserved concurrency is 1); if it did, the ledger would still keep one copy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from pipeline.app.loader import load_batch
from pipeline.app.ports import DrainQueue, ObjectStore, Warehouse
from pipeline.core.envelope import Envelope, decode
from pipeline.core.errors import PoisonMessageError
from pipeline.core.limits import LAMBDA_MAX_INVOKE_PAYLOAD, SQS_MAX_BATCH_ENTRIES
from pipeline.core.messages import QueueMessage

log = logging.getLogger(__name__)

# One load's rows: the event source's 6 MB payload holds ~20,000 rows, a drain's load
# is bounded the same way so one COPY transaction stays the size AWS's COPY guidance likes.
DRAIN_MAX_ROWS = 50_000
# Start another receive or load only with this much of the invocation left (a load is
# seconds; a load cut off by the timeout is safe, only wasteful: nothing is deleted).
DRAIN_RESERVE_S = 15.0


@dataclass(frozen=True)
class Budget:
    """How much one load may take, and how much of the invocation must be left to start one."""

    max_payload_bytes: int = LAMBDA_MAX_INVOKE_PAYLOAD
    max_rows: int = DRAIN_MAX_ROWS
    reserve_s: float = DRAIN_RESERVE_S


@dataclass
class DrainOutcome:
    """What one drain received and what became of it."""

    loads: int = 0
    messages: int = 0
    rows: int = 0
    rejected: int = 0
    deleted: int = 0
    poison: int = 0
    failed: int = 0
    stopped: str = ""
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Batch:
    messages: list[QueueMessage]
    envelopes: list[Envelope]
    poison: int = 0
    # Why receiving stopped: "empty", "caught-up" (a message newer than the drain came),
    # "full" (one load's budget) or "time" (the invocation's).
    ended: str = "empty"


def drain(
    queue: DrainQueue,
    store: ObjectStore,
    warehouse: Warehouse,
    *,
    remaining_s: Callable[[], float],
    clock: Callable[[], datetime],
    budget: Budget = Budget(),
    wait_s: int = 1,
) -> DrainOutcome:
    """Receive up to `budget`, load it with `load_batch`, delete what committed; repeat.

    A drain loads what was queued when it started: it stops receiving at an empty long
    poll or at the first message sent after it started (that one rides along), so a
    steady stream cannot keep one drain receiving until its timeout.

    Stops when receiving ends short of the budget (the queue is drained), when
    less than the reserve (or twice the longest load so far) is left of the invocation,
    or when a load fails: then it re-raises, after deleting nothing of that load, so the
    invocation counts as failed (the Errors metric and its alarm see it).
    """
    outcome = DrainOutcome()
    longest = 0.0
    started_ms = int(clock().timestamp() * 1000)
    while True:
        if outcome.loads and remaining_s() < max(budget.reserve_s, 2 * longest):
            outcome.stopped = "time"
            break
        batch = _receive(queue, budget, remaining_s, wait_s, started_ms)
        outcome.poison += batch.poison
        if not batch.messages:
            outcome.stopped = batch.ended
            break
        started = time.monotonic()
        try:
            loaded = load_batch(batch.envelopes, store, warehouse, clock())
        except Exception as exc:
            outcome.failed += len(batch.messages)
            outcome.stopped = "error"
            outcome.error = f"{type(exc).__name__}: {exc}"
            log.warning("drain load failed; its messages are left to the queue's redrive",
                        extra={**outcome.as_dict()})
            raise
        longest = max(longest, time.monotonic() - started)
        outcome.loads += 1
        outcome.messages += len(batch.messages)
        outcome.rows += loaded.rows
        outcome.rejected += loaded.rejected
        outcome.deleted += _delete(queue, batch.messages)
        if batch.ended != "full":
            outcome.stopped = batch.ended
            break
    log.info("drained", extra=outcome.as_dict())
    return outcome


def _receive(queue: DrainQueue, budget: Budget, remaining_s: Callable[[], float],
             wait_s: int, started_ms: int) -> _Batch:
    """Long-poll until the queue is empty, a message newer than the drain arrives, or one
    load's budget is full."""
    batch = _Batch(messages=[], envelopes=[])
    payload = rows = 0
    while remaining_s() >= budget.reserve_s:
        received = queue.receive(max_messages=SQS_MAX_BATCH_ENTRIES, wait_s=wait_s)
        if not received:
            return batch
        newer = any(m.sent_ms > started_ms for m in received)
        for index, message in enumerate(received):
            try:
                env = decode(message.body)
            except PoisonMessageError as exc:
                # Not deleted: it comes back after the visibility timeout until the redrive
                # policy moves it to the DLQ unchanged.
                batch.poison += 1
                log.warning("poison message left to the redrive policy", extra={
                    "message_id": message.message_id, "error": str(exc),
                    "receive_count": message.receive_count})
                continue
            size = len(message.body.encode())
            if batch.messages and (payload + size > budget.max_payload_bytes
                                   or rows + len(env.rows) > budget.max_rows):
                # They wait for the next load at once: no retry of theirs is spent.
                queue.release(received[index:])
                batch.ended = "full"
                return batch
            batch.messages.append(message)
            batch.envelopes.append(env)
            payload += size
            rows += len(env.rows)
        if newer:
            batch.ended = "caught-up"
            return batch
    batch.ended = "time"
    return batch


def _delete(queue: DrainQueue, messages: list[QueueMessage]) -> int:
    """Delete the committed messages; one that fails to delete is redelivered, a ledger no-op."""
    failed = queue.delete(messages)
    if failed:
        log.warning("some committed messages were not deleted; their redelivery is a no-op",
                    extra={"failed": [f.code or f.message for f in failed]})
    return len(messages) - len(failed)
