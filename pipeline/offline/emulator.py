"""The embedded AWS: moto's threaded server on 127.0.0.1, provisioned like the deployed stack.

Only the local runtime and the tests start it; production code reaches it
through the same boto3 clients as AWS, built by `boto.client(settings, ...)`.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.aws import boto
from pipeline.aws.settings import Settings
from pipeline.core import staging
from pipeline.core.errors import ConfigError, PipelineError
from pipeline.offline.serving import serving_thread

QUEUE_NAME = "telegram-messages"
DLQ_NAME = "telegram-messages-dlq"
# AWS's own values: a DLQ keeps messages 14 days, longer than the source queue's 4.
SOURCE_RETENTION_S = 4 * 24 * 3600
DLQ_RETENTION_S = 14 * 24 * 3600


# The moto releases `speed_up_moto` was written against and tested on: the private functions
# it replaces are moto's own, so any other release is refused rather than patched blind.
SPEED_UPS_WRITTEN_FOR = ("5.2.5",)
QUEUE_STATE_DIR = "embedded-queue"  # beside the warehouse file, like the stack file
JOURNAL_FILE = "journal.ndjson"  # every body the source queue accepted since the last clean stop
STATE_FILE = "state.json"  # what the queues held at the last clean stop


@dataclass(frozen=True)
class Recovered:
    """What a start found left by the previous run and put back into the queues."""

    source_bodies: tuple[str, ...] = ()
    dlq_bodies: tuple[str, ...] = ()
    from_journal: bool = False  # True when the previous run did not stop cleanly (kill -9)


@dataclass
class Emulator:
    """A running moto server and the settings that point at what it provisioned."""

    server: EmbeddedMotoServer
    endpoint_url: str
    settings: Settings
    recovered: Recovered = field(default_factory=Recovered)

    def stop(self) -> None:
        """Persist what the queues still hold (for the next start), then stop the server."""
        try:
            save_queue_state(self.settings)
        finally:
            self.server.stop()

    def dlq_bodies(self) -> list[str]:
        return peek_bodies(self.settings, self.settings.dlq_url)

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_emulator(settings: Settings) -> Emulator:
    """Start moto on a free loopback port and provision queue, DLQ and bucket from `settings`.

    moto runs unpatched (`speed_up_moto` is the bench's opt-in). The queues are
    durable across runs that share a warehouse: every body the source queue
    accepts is journaled on disk before the sender sees the acknowledgement, a
    clean stop records what the queues still hold, and a start puts back what
    the previous run left, a killed one included (see `recover_queues`).
    """
    from pipeline.ops import stack_owner

    owner = stack_owner(settings)
    if owner is not None:  # its queue state is live: starting here would take it over
        raise PipelineError(
            f"a pipeline (pid {owner}) is already running on {settings.warehouse_path}: "
            "stop it first (Ctrl-C), or use it: `pipeline status`, `pipeline query`")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    directory = queue_state_dir(settings)
    server = EmbeddedMotoServer(journal=directory / JOURNAL_FILE).start()
    endpoint_url = server.endpoint_url
    # moto's backends are process-global and outlive a stopped server: start clean (its
    # documented reset endpoint), so an earlier stack's queues and messages never leak in.
    _post(f"{endpoint_url}/moto-api/reset")
    provisioned = provision(dataclasses.replace(settings, aws_endpoint_url=endpoint_url))
    try:
        recovered = recover_queues(provisioned)
    except BaseException:
        server.stop()
        raise
    return Emulator(server=server, endpoint_url=endpoint_url, settings=provisioned,
                    recovered=recovered)


def _post(url: str) -> None:
    import urllib.request

    # The loopback endpoint this process just started: never a user-given scheme.
    request = urllib.request.Request(url, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=30):  # noqa: S310
        pass


class EmbeddedMotoServer:
    """moto's WSGI application on a loopback port, behind a journal of the source queue.

    This is moto's own `ThreadedMotoServer` with one middleware in front: a
    SendMessage(Batch) to the source queue that moto accepted is appended to the
    journal (and flushed) before the response goes back, so whatever a sender saw
    acknowledged survives this process being killed, as SQS promises.
    """

    def __init__(self, journal: Path) -> None:
        self.journal = journal
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> EmbeddedMotoServer:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        self.journal.parent.mkdir(parents=True, exist_ok=True)
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server("127.0.0.1", 0, self._journaled(app), threaded=True)
        self._thread = serving_thread(self._server, "embedded-aws")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def _journaled(self, app: Any) -> Any:
        def middleware(environ: dict[str, Any], start_response: Any) -> Any:
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if target not in SEND_TARGETS:
                return app(environ, start_response)
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            seen: dict[str, str] = {}

            def remember(status: str, headers: Any, exc_info: Any = None) -> Any:
                seen["status"] = status
                return start_response(status, headers, exc_info)

            response = b"".join(app(environ, remember))
            if seen.get("status", "").startswith("200"):
                self.append(sent_bodies(target, body, response))
            return [response]

        return middleware

    def append(self, bodies: list[str]) -> None:
        if not bodies:
            return
        lines = "".join(json.dumps({"body": b}) + "\n" for b in bodies)
        with self._lock, self.journal.open("a", encoding="utf-8") as out:
            out.write(lines)
            out.flush()
            os.fsync(out.fileno())


SEND_TARGETS = frozenset({"AmazonSQS.SendMessage", "AmazonSQS.SendMessageBatch"})


def sent_bodies(target: str, request: bytes, response: bytes) -> list[str]:
    """The bodies of a SendMessage(Batch) on SQS's JSON protocol that reached the source queue."""
    sent = json.loads(request or b"{}")
    if not str(sent.get("QueueUrl", "")).endswith("/" + QUEUE_NAME):
        return []
    if target == "AmazonSQS.SendMessage":
        return [sent["MessageBody"]]
    ok = {entry["Id"] for entry in json.loads(response or b"{}").get("Successful", [])}
    return [entry["MessageBody"] for entry in sent.get("Entries", []) if entry["Id"] in ok]


def queue_state_dir(settings: Settings) -> Path:
    """Where the embedded queues keep their state: beside the warehouse file."""
    return Path(settings.warehouse_path).parent / QUEUE_STATE_DIR


def recover_queues(settings: Settings) -> Recovered:
    """Put back what the previous run left: its DLQ, and every unfinished source-queue body.

    After a clean stop that is what the queues held (the state file). After a kill
    it is that plus every body the journal holds (everything the source queue
    accepted since the last clean stop): some may be loaded already, and loading
    them again is a no-op, since the ledger makes loads exactly-once per part.
    """
    directory = queue_state_dir(settings)
    state_path, journal_path = directory / STATE_FILE, directory / JOURNAL_FILE
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    journaled = _read_journal(journal_path)
    source = list(dict.fromkeys([*state.get("source", []), *journaled]))
    dlq = list(state.get("dlq", []))
    # From here the journal is rebuilt by the resends below; the DLQ stays in the state file
    # until the next clean stop rewrites it, so a second kill loses nothing either.
    journal_path.unlink(missing_ok=True)
    state_path.write_text(json.dumps({"source": [], "dlq": dlq}))
    sqs = boto.client(settings, "sqs")
    assert settings.queue_url and settings.dlq_url
    _send_all(sqs, settings.dlq_url, dlq)
    _send_all(sqs, settings.queue_url, source)
    return Recovered(source_bodies=tuple(source), dlq_bodies=tuple(dlq),
                     from_journal=bool(journaled))


def _read_journal(path: Path) -> list[str]:
    if not path.exists():
        return []
    bodies = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            bodies.append(json.loads(line)["body"])
        except (ValueError, KeyError):
            continue  # a line cut short by the kill: its sender never saw the acknowledgement
    return bodies


def _send_all(sqs: Any, queue_url: str, bodies: list[str]) -> None:
    for body in bodies:
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)


def save_queue_state(settings: Settings) -> None:
    """At a clean stop: record the DLQ's bodies and, unless the queue drained, keep the journal.

    SQS cannot list in-flight messages, so a source queue that still holds any keeps the
    whole journal (the next start resends it; loaded parts are no-ops). A drained queue
    has nothing to resend: the journal is cleared.
    """
    if not (settings.queue_url and settings.dlq_url):
        return
    from pipeline.ops import queue_depth

    directory = queue_state_dir(settings)
    sqs = boto.client(settings, "sqs")
    dlq = peek_bodies(settings, settings.dlq_url)
    source = queue_depth(sqs, settings.queue_url)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / STATE_FILE).write_text(json.dumps({"source": [], "dlq": dlq}))
    if source["visible"] == 0 and source["in_flight"] == 0:
        (directory / JOURNAL_FILE).unlink(missing_ok=True)


def persisted_dlq(settings: Settings) -> tuple[list[str], Path] | None:
    """The DLQ bodies the last run left for this warehouse, and the file; None if no run did."""
    path = queue_state_dir(settings) / STATE_FILE
    try:
        return list(json.loads(path.read_text()).get("dlq", [])), path
    except FileNotFoundError:
        return None


def peek_bodies(settings: Settings, queue_url: str | None) -> list[str]:
    """Every visible message's body, left in the queue (visible again) afterwards."""
    if not queue_url:
        return []
    sqs = boto.client(settings, "sqs")
    seen: dict[str, dict[str, Any]] = {}
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                  VisibilityTimeout=60, WaitTimeSeconds=0).get("Messages", [])
        fresh = [m for m in got if m["MessageId"] not in seen]
        if not fresh:
            break
        seen.update((m["MessageId"], m) for m in fresh)
    messages = list(seen.values())
    for start in range(0, len(messages), 10):
        sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
            for i, m in enumerate(messages[start:start + 10])])
    return [m["Body"] for m in messages]


def speed_up_moto() -> None:
    """Opt-in for `pipeline bench --fast-moto`: replace four of moto's private per-request costs.

    Refused (ConfigError) on a moto release other than those it was written for.
    """
    import moto

    if moto.__version__ not in SPEED_UPS_WRITTEN_FOR:
        raise ConfigError(
            f"the moto speed-ups are written for moto {', '.join(SPEED_UPS_WRITTEN_FOR)} and "
            f"moto {moto.__version__} is installed: run the bench without --fast-moto")
    _speed_up_moto()


def moto_is_patched() -> bool:
    """True once `speed_up_moto` has run in this process (the guarantee tests assert False)."""
    from moto.core.responses import BaseResponse

    return bool(getattr(BaseResponse._enrich_response, "sped_up", False))


@functools.cache  # once per process: the patched classes and modules outlive a server
def _speed_up_moto() -> None:
    """Remove four of moto's per-request costs that grow with the workload, not with AWS.

    moto 5 reads the clock through datetime arithmetic, several microseconds a read, for
    every message it scans (is it visible? delayed?). It answers each received message's
    retention check by rebuilding every queue attribute, three times, and the approximate
    counts among them each scan the whole queue: a backlog makes every receive and send
    O(depth), which real SQS is not (it made the emulator the largest CPU consumer in
    `pipeline bench`). It runs a regex over every response body (megabytes per
    ReceiveMessage) to stamp an XML RequestId that SQS's JSON protocol never has. And it
    lists its own package directory on disk to route every request. The replacements
    return what the originals return; tests pin that and that they are in place, so a
    moto upgrade that moves them is noticed rather than silently slow.
    """
    from moto import backends
    from moto.core.responses import BaseResponse
    from moto.sqs import models
    from moto.sqs.models import Message, SQSBackend

    models.unix_time = _unix_time
    models.unix_time_millis = _unix_time_millis

    def is_message_valid_based_on_retention_period(
        self: SQSBackend, queue_name: str, message: Message
    ) -> bool:
        # Both set by moto at runtime (queue attributes; a sent message's timestamp).
        retention_s = self.get_queue(queue_name).message_retention_period  # type: ignore[attr-defined]
        return retention_s + message.sent_timestamp / 1000 > models.unix_time()  # type: ignore[operator]

    SQSBackend.is_message_valid_based_on_retention_period = (  # type: ignore[method-assign]
        is_message_valid_based_on_retention_period
    )

    enrich = BaseResponse._enrich_response

    def _enrich_response(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
        # moto rewrites <RequestId> in XML with a regex scan of every response body,
        # megabytes for a ReceiveMessage in SQS's JSON protocol where it never occurs.
        if isinstance(body, str) and "<RequestId>" in body:
            return enrich(headers, body)
        return enrich(headers, "")[0], body

    _enrich_response.sped_up = True  # type: ignore[attr-defined]
    BaseResponse._enrich_response = staticmethod(_enrich_response)  # type: ignore[method-assign]

    # The installed package's directories do not change while the server runs.
    listed = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: listed  # type: ignore[assignment]


def _unix_time(dt: datetime | None = None) -> float:
    """moto's `unix_time` for its SQS models without datetime arithmetic on every call.

    moto reads the clock this way for each message of each queue scan (is it visible,
    is it delayed), at several microseconds a read; `time.time()` is the same clock.
    """
    from moto.core import utils

    return time.time() if dt is None else utils.unix_time(dt)


def _unix_time_millis(dt: datetime | None = None) -> float:
    return _unix_time(dt) * 1000.0


def provision(settings: Settings) -> Settings:
    """Create queue + DLQ + bucket as the CDK stack does; returns settings with their URLs."""
    sqs = boto.client(settings, "sqs")
    dlq_url = sqs.create_queue(
        QueueName=DLQ_NAME,
        Attributes={
            "MessageRetentionPeriod": str(DLQ_RETENTION_S),
            "MaximumMessageSize": str(settings.max_message_bytes),
        },
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=QUEUE_NAME,
        Attributes={
            "VisibilityTimeout": str(settings.visibility_timeout_s),
            "MessageRetentionPeriod": str(SOURCE_RETENTION_S),
            "MaximumMessageSize": str(settings.max_message_bytes),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": settings.max_receive_count}
            ),
        },
    )["QueueUrl"]
    s3 = boto.client(settings, "s3")
    s3.create_bucket(Bucket=settings.bucket)
    s3.put_bucket_lifecycle_configuration(
        Bucket=settings.bucket,
        LifecycleConfiguration={"Rules": lifecycle_rules(settings)},
    )
    return dataclasses.replace(settings, queue_url=queue_url, dlq_url=dlq_url)


def lifecycle_rules(settings: Settings) -> list[dict[str, object]]:
    """The staging bucket's lifecycle: processed/ and rejected/ expire; incoming/ never does."""
    expiring = staging.expiry_rules(settings.processed_expiry_days, settings.rejected_expiry_days)
    rules: list[dict[str, object]] = [
        {"ID": rule.id, "Filter": {"Prefix": rule.prefix}, "Status": "Enabled",
         "Expiration": {"Days": rule.days}}
        for rule in expiring
    ]
    return [
        *rules,
        {
            "ID": "abort-incomplete-uploads",
            "Filter": {"Prefix": ""},
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {
                "DaysAfterInitiation": staging.ABORT_INCOMPLETE_UPLOADS_DAYS
            },
        },
    ]
