"""The scheduled drain: receive what the queue holds, up to a budget, and load it in few COPYs.

The `schedule` load trigger invokes this every few minutes instead of the SQS event
source invoking the loader per message: Redshift Serverless bills each query at least
60 s, so the number of loads, not the number of rows, sets the bill. The load itself is
`pipeline.app.loader.load_batch`, the same staging, ledger and transaction as the event
source's path, so the exactly-once guarantee is the same code.

What a drain deletes is exactly what a committed load covered. A message that does not
decode, or whose load failed, is left alone: it becomes visible again after the
visibility timeout and SQS's redrive policy (maxReceiveCount -> DLQ) decides its fate,
as it does for the event source. Drains seldom overlap (each stops at the first message
sent after it started; the function reserves no concurrency, which new accounts' quotas
refuse); when two do, the ledger still keeps one copy.
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
    messages: list[dict[str, Any]]
    envelopes: list[Envelope]
    poison: int = 0
    # Why receiving stopped: "empty", "caught-up" (a message newer than the drain came),
    # "full" (one load's budget) or "time" (the invocation's).
    ended: str = "empty"


def drain(
    queue: DrainQueue,
    queue_url: str,
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
        batch = _receive(queue, queue_url, budget, remaining_s, wait_s, started_ms)
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
        outcome.deleted += _delete(queue, queue_url, batch.messages)
        if batch.ended != "full":
            outcome.stopped = batch.ended
            break
    log.info("drained", extra=outcome.as_dict())
    return outcome


def _receive(queue: DrainQueue, queue_url: str, budget: Budget,
             remaining_s: Callable[[], float], wait_s: int, started_ms: int) -> _Batch:
    """Long-poll until the queue is empty, a message newer than the drain arrives, or one
    load's budget is full."""
    batch = _Batch(messages=[], envelopes=[])
    payload = rows = 0
    while remaining_s() >= budget.reserve_s:
        received = queue.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=SQS_MAX_BATCH_ENTRIES,
            WaitTimeSeconds=wait_s, **system_attributes(queue),
        ).get("Messages", [])
        if not received:
            return batch
        newer = any(int(m.get("Attributes", {}).get("SentTimestamp", 0)) > started_ms
                    for m in received)
        for index, message in enumerate(received):
            try:
                env = decode(message["Body"])
            except PoisonMessageError as exc:
                # Not deleted: it comes back after the visibility timeout until the redrive
                # policy moves it to the DLQ unchanged.
                batch.poison += 1
                log.warning("poison message left to the redrive policy", extra={
                    "message_id": message["MessageId"], "error": str(exc),
                    "receive_count": message.get("Attributes", {}).get("ApproximateReceiveCount")})
                continue
            size = len(message["Body"].encode())
            if batch.messages and (payload + size > budget.max_payload_bytes
                                   or rows + len(env.rows) > budget.max_rows):
                _release(queue, queue_url, received[index:])
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


# The message attributes the drain reads (receive count for the logs, sent time for "caught up").
SYSTEM_ATTRIBUTES = ("ApproximateReceiveCount", "SentTimestamp")


def system_attributes(queue: Any) -> dict[str, list[str]]:
    """ReceiveMessage's argument naming `SYSTEM_ATTRIBUTES`, in the spelling this botocore knows.

    `MessageSystemAttributeNames` exists only from botocore 1.34.101 (checked in the SQS
    service model of the 1.34.100 and 1.34.101 wheels on PyPI); older releases, which a
    Lambda runtime may bundle, reject it and every drain would fail. `AttributeNames`
    (deprecated, same meaning) is what those accept. The choice is read from the client's
    own service model, as `dataapi.long_poll_s` does for WaitTimeSeconds.
    """
    model = getattr(getattr(queue, "meta", None), "service_model", None)
    members = (model.operation_model("ReceiveMessage").input_shape.members
               if model is not None else {"MessageSystemAttributeNames": None})
    return attribute_argument(members, SYSTEM_ATTRIBUTES)


def attribute_argument(members: Any, names: tuple[str, ...]) -> dict[str, list[str]]:
    """`{"MessageSystemAttributeNames": [...]}` where the model has it, else `AttributeNames`."""
    key = "MessageSystemAttributeNames" if "MessageSystemAttributeNames" in members \
        else "AttributeNames"
    return {key: list(names)}


def _release(queue: DrainQueue, queue_url: str, messages: list[dict[str, Any]]) -> None:
    """Make received messages visible again at once, for the next load of this drain.

    Not free: SQS counts every receive toward the redrive policy's maxReceiveCount, failed
    or not, so each release brings the message one receive closer to the DLQ. The drain
    releases only what did not fit one load's budget, and that load comes right after.
    """
    for start in range(0, len(messages), SQS_MAX_BATCH_ENTRIES):
        queue.change_message_visibility_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
            for i, m in enumerate(messages[start:start + SQS_MAX_BATCH_ENTRIES])])


def _delete(queue: DrainQueue, queue_url: str, messages: list[dict[str, Any]]) -> int:
    """Delete the committed messages; one that fails to delete is redelivered, a ledger no-op."""
    deleted = 0
    for start in range(0, len(messages), SQS_MAX_BATCH_ENTRIES):
        chunk = messages[start:start + SQS_MAX_BATCH_ENTRIES]
        response = queue.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)])
        deleted += len(response.get("Successful", []))
        if response.get("Failed"):
            log.warning("some committed messages were not deleted; their redelivery is a no-op",
                        extra={"failed": response["Failed"]})
    return deleted
