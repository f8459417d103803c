"""The local runtime: the embedded AWS, an EventBridge-like scheduler and an SQS event source.

It calls the same Lambda handler code with events of the real shape; only the
endpoints differ from AWS. The handlers' dependencies are built from the stack's
settings and passed in (nothing here writes the process environment): each
`LocalStack` hands out its own loader, drain and publisher handlers.

Both load triggers are emulated. `queue`: Lambda's SQS event-source mapping,
faithfully enough for retries and redrive to really happen: long polls, batch
size, the batching window as Lambda documents it (a lone message waits for the
window), the 6 MB invocation payload, deletes of what succeeded only, and
failures left to the visibility timeout. `schedule`: an EventBridge rule invoking
the drain every `load_every_s`, one at a time (reserved concurrency 1).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipeline.aws import boto
from pipeline.aws.settings import Settings, batching_refusal
from pipeline.aws.sqs import SqsQueue
from pipeline.core.errors import ConfigError
from pipeline.core.limits import LAMBDA_MAX_INVOKE_PAYLOAD, SQS_MAX_BATCH_ENTRIES
from pipeline.core.messages import QueueMessage
from pipeline.offline.emulator import Emulator, start_emulator
from pipeline.offline.stack import remove_stack_file, write_stack_file

log = logging.getLogger(__name__)

# Lambda's synchronous invocation payload limit bounds an SQS batch's size.
MAX_INVOKE_PAYLOAD = LAMBDA_MAX_INVOKE_PAYLOAD
# Per-record JSON around the body in the event (ids, receipt handle, attributes).
RECORD_OVERHEAD = 1_024
# The deployed loader's timeout (cdk.json pipeline:loaderTimeoutSeconds); a drain's budget.
DRAIN_TIMEOUT_S = 300.0

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def loader_handler(settings: Settings, deps: Any = None) -> Handler:
    """The loader Lambda's handler code with dependencies built from `settings` (or `deps`)."""
    from pipeline.lambdas import loader

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return loader.handle(event, context, deps or loader.dependencies(settings))

    return handler


def drain_handler(settings: Settings, deps: Any = None, sqs: Any = None) -> Handler:
    """The drain Lambda's handler code with dependencies built from `settings`, or with the
    loader's `deps` and an SQS client `sqs` given (a test wraps them to inject faults)."""
    from pipeline.lambdas import drain, loader

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if deps is None and sqs is None:
            return drain.handle(event, context, drain.dependencies(settings))
        assert settings.queue_url, "settings.queue_url is set by start_local()"
        queue = SqsQueue(sqs or boto.client(settings, "sqs"), settings.queue_url)
        given = drain.Dependencies(deps or loader.dependencies(settings), queue)
        return drain.handle(event, context, given)

    return handler


def publisher_handler(settings: Settings) -> Handler:
    """The publisher Lambda's handler code with dependencies built from `settings`."""
    from pipeline.lambdas import publisher

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return publisher.handle(event, context, publisher.dependencies(settings))

    return handler


@dataclass
class LocalStack:
    """The embedded AWS (moto) plus the embedded Data API over the DuckDB warehouse."""

    emulator: Emulator
    data_api: Any
    settings: Settings

    @property
    def loader(self) -> Handler:
        """The loader handler (`queue` trigger), wired to this stack."""
        return loader_handler(self.settings)

    @property
    def drain(self) -> Handler:
        """The drain handler (`schedule` trigger), wired to this stack."""
        return drain_handler(self.settings)

    @property
    def publisher(self) -> Handler:
        """The publisher handler, wired to this stack."""
        return publisher_handler(self.settings)

    def stop(self) -> None:
        remove_stack_file(self.settings)
        self.data_api.stop()
        self.emulator.stop()

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_local(settings: Settings) -> LocalStack:
    """Start moto and the embedded Data API; the stack's settings point at both."""
    from pipeline.offline.warehouse import EmbeddedDataApi

    emulator = start_emulator(settings)
    # The loader's identity: the one session the embedded Data API lets write.
    writer = settings.redshift_secret_arn or embedded_loader_secret(settings)
    try:
        data_api = EmbeddedDataApi.start(settings.warehouse_path, emulator.settings,
                                         writer=writer)
    except BaseException:
        emulator.stop()
        raise
    local = dataclasses.replace(emulator.settings, data_api_endpoint_url=data_api.endpoint_url,
                                redshift_secret_arn=writer)
    write_stack_file(local)
    return LocalStack(emulator=emulator, data_api=data_api, settings=local)


def embedded_loader_secret(settings: Settings) -> str:
    """The ARN the embedded loader signs in with, as the deployed loader uses its own secret."""
    return f"arn:aws:secretsmanager:{settings.region}:000000000000:secret:pipeline-loader"


@dataclass
class LambdaContext:
    """The parts of Lambda's context object that handlers and Powertools read."""

    function_name: str
    timeout_s: float = 60.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = ""
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self._started)) * 1000))


def scheduled_event(settings: Settings, now: datetime) -> dict[str, Any]:
    """An EventBridge `Scheduled Event` as the rule delivers it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": settings.region,
        "resources": [f"arn:aws:events:{settings.region}:000000000000:rule/publisher-schedule"],
        "detail": {},
    }


def sqs_record(message: QueueMessage, queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS message as the event-source mapping hands it to Lambda."""
    return {
        "messageId": message.message_id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": dict(message.attributes),
        "messageAttributes": dict(message.message_attributes),
        "md5OfBody": message.md5_of_body,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


@dataclass
class Invocation:
    """What one loader invocation received and what became of it."""

    records: int
    failed: int
    error: str | None = None
    loads: int | None = None  # a drain's COPY transactions (one per event-source invocation)


@dataclass
class SqsEventSource:
    """Lambda's SQS event-source mapping, for one poller."""

    queue: SqsQueue
    queue_arn: str
    handler: Callable[[dict[str, Any], Any], dict[str, Any]]
    region: str
    batch_size: int = SQS_MAX_BATCH_ENTRIES
    batching_window_s: float = 0.0
    max_payload: int = MAX_INVOKE_PAYLOAD

    def __post_init__(self) -> None:
        refusal = batching_refusal(self.batch_size, self.batching_window_s)
        if refusal:
            raise ConfigError(refusal)

    def receive_batch(self) -> list[QueueMessage]:
        """Gather one batch as Lambda's SQS poller does.

        Lambda invokes the function when the batch size is reached, the batching window
        expires, or the payload nears 6 MB, whichever comes first
        (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html#sqs-polling-behavior).
        The window opens with the first message received: a lone message waits for the
        whole window for company. An empty long poll before any message returns nothing,
        so the poller can notice it is being stopped.
        """
        messages: list[QueueMessage] = []
        payload = 0
        deadline: float | None = None
        while len(messages) < self.batch_size:
            waiting = 1.0 if deadline is None else deadline - time.monotonic()
            if waiting <= 0:
                break
            received = self.queue.receive(
                max_messages=min(SQS_MAX_BATCH_ENTRIES, self.batch_size - len(messages)),
                wait_s=1 if waiting >= 1 else 0,
            )
            for index, message in enumerate(received):
                size = len(message.body.encode()) + RECORD_OVERHEAD
                if payload + size > self.max_payload:
                    # These do not fit this invocation: hand them straight back for the next
                    # (visible again at once: not a failure, no retry is spent).
                    self.queue.release(received[index:])
                    return messages
                messages.append(message)
                payload += size
            if not messages:
                return messages
            if deadline is None:
                deadline = time.monotonic() + self.batching_window_s
            elif not received and waiting < 1:
                time.sleep(min(waiting, 0.05))  # a short poll came back empty: do not spin
        return messages

    def poll_once(self) -> Invocation | None:
        messages = self.receive_batch()
        return self.invoke(messages) if messages else None

    def invoke(self, messages: list[QueueMessage]) -> Invocation:
        """Invoke the handler with one batch; delete what succeeded, leave the rest to retry."""
        event = {"Records": [sqs_record(m, self.queue_arn, self.region) for m in messages]}
        context = LambdaContext(function_name="loader")
        try:
            response = self.handler(event, context)
            failed_ids = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            error = None
        except Exception as exc:  # a failed invocation: Lambda deletes nothing
            failed_ids = {m.message_id for m in messages}
            error = f"{type(exc).__name__}: {exc}"
            log.warning("loader invocation failed; its messages will be retried",
                        extra={"error": error, "records": len(messages)})
        undeleted = self.queue.delete([m for m in messages if m.message_id not in failed_ids])
        if undeleted:
            # Lambda logs nothing either: they come back after the visibility timeout and the
            # ledger makes their second load a no-op.
            log.warning("some loaded messages were not deleted; their redelivery is a no-op",
                        extra={"failed": [f.code or f.message for f in undeleted]})
        return Invocation(records=len(messages), failed=len(failed_ids), error=error)


def queue_arn(sqs: Any, queue_url: str) -> str:
    return SqsQueue(sqs, queue_url).attribute("QueueArn")["QueueArn"]


@dataclass
class Pollers:
    """N concurrent loader pollers (the mapping's concurrency), running until stopped."""

    source: SqsEventSource
    concurrency: int = 1
    invocations: list[Invocation] = field(default_factory=list)
    # Called from the poller's thread after each invocation (the bench's progress signal).
    on_invocation: Callable[[Invocation], None] | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Pollers:
        for index in range(self.concurrency):
            thread = threading.Thread(target=self._loop, name=f"loader-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            invocation = self.source.poll_once()
            if invocation is not None:
                with self._lock:
                    self.invocations.append(invocation)
                if self.on_invocation is not None:
                    self.on_invocation(invocation)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


def event_source(settings: Settings, handler: Callable[..., dict[str, Any]] | None = None,
                 batching_window_s: float | None = None) -> SqsEventSource:
    """The event source for the settings' queue, invoking the loader handler by default."""
    assert settings.queue_url, "settings.queue_url is set by start_local()"
    queue = SqsQueue(boto.client(settings, "sqs"), settings.queue_url)
    return SqsEventSource(
        queue=queue,
        queue_arn=queue.attribute("QueueArn")["QueueArn"],
        handler=handler or loader_handler(settings),
        region=settings.region,
        batch_size=settings.batch_size,
        batching_window_s=(
            settings.batching_window_s if batching_window_s is None else batching_window_s
        ),
    )


# Once the publisher stops, the drain schedule runs this often until the queue is empty.
FLUSH_EVERY_S = 1.0


@dataclass
class DrainSchedule:
    """The `schedule` trigger: an EventBridge rule invoking the drain every `every_s` seconds.

    One drain at a time, as the function's reserved concurrency of 1 makes it in AWS: a
    tick that comes while a drain still runs is skipped. A drain that raises is a failed
    invocation; what it did not delete comes back after the visibility timeout.
    """

    handler: Handler
    settings: Settings
    every_s: float
    timeout_s: float = DRAIN_TIMEOUT_S
    invocations: list[Invocation] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    on_invocation: Callable[[Invocation], None] | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _wake: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> DrainSchedule:
        self._thread = threading.Thread(target=self._loop, name="drain-schedule", daemon=True)
        self._thread.start()
        return self

    def invoke(self) -> Invocation:
        """One scheduled drain, now."""
        context = LambdaContext(function_name="drain", timeout_s=self.timeout_s)
        try:
            outcome = self.handler(scheduled_event(self.settings, datetime.now(UTC)), context)
            self.outcomes.append(outcome)
            invocation = Invocation(records=outcome["messages"] + outcome["poison"],
                                    failed=outcome["poison"], loads=outcome["loads"])
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning("drain failed; what it did not delete will be retried",
                        extra={"error": error})
            invocation = Invocation(records=0, failed=0, error=error)
        self.invocations.append(invocation)
        if self.on_invocation is not None:
            self.on_invocation(invocation)
        return invocation

    def drain_now(self) -> None:
        """The publisher has stopped: drain now and every second until stopped.

        A run that stops ticking wants its summary, not the next scheduled drain
        (`--follow` drains every 300 s). Still one drain at a time.
        """
        self.every_s = min(self.every_s, FLUSH_EVERY_S)
        self._wake.set()

    def _loop(self) -> None:
        next_at = time.monotonic() + self.every_s
        while not self._stop.is_set():
            self._wake.wait(max(0.0, next_at - time.monotonic()))
            if self._stop.is_set():
                break
            if self._wake.is_set():
                self._wake.clear()
                next_at = min(next_at, time.monotonic())
            if time.monotonic() < next_at:
                continue
            self.invoke()
            now = time.monotonic()
            while next_at <= now:  # ticks missed while the drain ran are skipped
                next_at += self.every_s

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout_s)


def wait_drained(settings: Settings, timeout_s: float, poll_s: float = 0.2) -> bool:
    """Wait until nothing is visible or in flight on the source queue; False on timeout.

    Two readings `poll_s` apart must both be empty: the two counts are computed one after
    the other, so a message whose visibility timeout expires between them is counted in
    neither, and one empty reading once ended a test while a retry was still due.
    """
    assert settings.queue_url
    queue = SqsQueue(boto.client(settings, "sqs"), settings.queue_url)
    deadline = time.monotonic() + timeout_s
    empty = 0
    while time.monotonic() < deadline:
        depth = queue.depth()
        empty = empty + 1 if depth.visible == 0 and depth.in_flight == 0 else 0
        if empty == 2:
            return True
        time.sleep(poll_s)
    return False
