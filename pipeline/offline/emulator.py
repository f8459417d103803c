"""The embedded AWS: moto's threaded server on 127.0.0.1, provisioned like the deployed stack.

Only the local runtime and the tests start it; production code reaches it
through the same boto3 clients as AWS, built by `boto.client(settings, ...)`.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import io
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.aws import boto
from pipeline.aws.settings import DLQ_RETENTION_DAYS, QUEUE_RETENTION_DAYS, Settings
from pipeline.aws.sqs import SqsQueue
from pipeline.core import staging
from pipeline.core.errors import ConfigError, PipelineError
from pipeline.core.limits import SQS_MAX_BATCH_ENTRIES, SQS_MAX_MESSAGE_BYTES
from pipeline.core.messages import QueueMessage
from pipeline.offline import faults
from pipeline.offline.journal import (
    QUEUE_STATE_DIR,
    PartKey,
    QueueFiles,
    quarantine,
    read_journal,
)
from pipeline.offline.serving import serving_thread

QUEUE_NAME = "telegram-messages"
DLQ_NAME = "telegram-messages-dlq"
# AWS's own values: a DLQ keeps messages 14 days, longer than the source queue's 4.
SOURCE_RETENTION_S = QUEUE_RETENTION_DAYS * 24 * 3600
DLQ_RETENTION_S = DLQ_RETENTION_DAYS * 24 * 3600


# The moto releases `speed_up_moto` was written against and tested on: the private functions
# it replaces are moto's own, so any other release is refused rather than patched blind.
SPEED_UPS_WRITTEN_FOR = ("5.2.5",)
@dataclass(frozen=True)
class Recovered:
    """What a start found left by the previous run and put back into the queues."""

    source_bodies: tuple[str, ...] = ()
    dlq_bodies: tuple[str, ...] = ()
    from_journal: bool = False  # True when the previous run did not stop cleanly (kill -9)
    quarantined: tuple[str, ...] = ()  # journal lines that could not be read, file and line


@dataclass
class Emulator:
    """A running moto server and the settings that point at what it provisioned."""

    server: EmbeddedMotoServer
    endpoint_url: str
    settings: Settings
    recovered: Recovered = field(default_factory=Recovered)

    @property
    def files(self) -> QueueFiles:
        return self.server.files

    def stop(self) -> None:
        """Persist what the queues still hold (for the next start), then stop the server."""
        try:
            save_queue_state(self.settings, self.files)
        finally:
            self.server.stop()

    def compact(self, loaded: set[PartKey]) -> int:
        """Drop journaled bodies the ledger holds (see `QueueFiles.compact`)."""
        return self.files.compact(loaded)

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
    from pipeline.offline.stack import stack_file, stack_owner

    owner = stack_owner(settings)
    if owner is not None:  # its queue state is live: starting here would take it over
        raise PipelineError(
            f"a pipeline (pid {owner}) is already running on {settings.warehouse_path}: "
            "stop it first (Ctrl-C), or use it: `pipeline status`, `pipeline query` (if no "
            f"pipeline runs, remove {stack_file(settings)})")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    files = QueueFiles(queue_state_dir(settings))
    dlq = files.read_state()  # a state file it cannot read stops the start before anything changes
    server = EmbeddedMotoServer(files).start()
    endpoint_url = server.endpoint_url
    # moto's backends are process-global and outlive a stopped server: start clean (its
    # documented reset endpoint), so an earlier stack's queues and messages never leak in.
    _post(f"{endpoint_url}/moto-api/reset")
    provisioned = provision(dataclasses.replace(settings, aws_endpoint_url=endpoint_url))
    try:
        recovered = recover_queues(provisioned, files, dlq)
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
    SendMessage(Batch) to the source queue that moto accepted is appended (and fsynced)
    to the journal, and to the published index, before the response goes back, so
    whatever a sender saw acknowledged survives this process being killed, as SQS
    promises.
    """

    def __init__(self, files: QueueFiles) -> None:
        self.files = files
        self._server: Any = None
        self._connections = OpenConnections()
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> EmbeddedMotoServer:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        self.files.directory.mkdir(parents=True, exist_ok=True)
        app = SignedRoutes(DomainDispatcherApplication(create_backend_app))
        self._server = make_server("127.0.0.1", 0, self._journaled(app), threaded=True,
                                   request_handler=_keep_alive_handler(self._connections))
        self._thread = serving_thread(self._server, "embedded-aws")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            # A stopped server answers nothing, a kept-alive connection included.
            self._connections.close_all()
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
                self.files.accepted(sent_bodies(target, body, response))
            return [response]

        return middleware


# Paths moto's dispatcher routes by the path itself, before it looks at the signature.
_PATH_ROUTED = ("/moto-api", "/favicon.ico", "/latest/", "/v20180820/")


class SignedRoutes:
    """moto's dispatcher, asked once per signing service and region instead of per request.

    For a SigV4-signed request moto picks the backend from the credential scope's service
    and region alone (`infer_service_region_host` makes `{service}.{region}.amazonaws.com`
    of them and `get_backend_for_host` matches that), except for the paths it routes
    first and S3 Control's host. On the way it lists moto's package directory (an `isdir`
    per service module) and tries every backend's URL pattern, on every request: about
    3 ms of CPU per call here, more than the S3 operation itself. The first answer for a
    (service, region) is kept and reused; every other request goes to moto's dispatcher
    unchanged. moto itself is not touched: this is composition of its public WSGI parts.
    """

    def __init__(self, dispatcher: Any) -> None:
        self.dispatcher = dispatcher
        self._routes: dict[tuple[str, str], Any] = {}

    def application(self, environ: dict[str, Any]) -> Any:
        """The moto application this request goes to (what moto's dispatcher would pick)."""
        scope = _signing_scope(environ)
        if scope is None:
            return self.dispatcher.get_application(environ)
        app = self._routes.get(scope)
        if app is None:
            app = self._routes.setdefault(scope, self.dispatcher.get_application(environ))
        return app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.application(environ)(environ, start_response)


def _signing_scope(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(service, region) of an S3 or SQS request moto routes by its SigV4 scope; else None."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    path = environ.get("PATH_INFO", "")
    if (not auth.startswith("AWS4-HMAC-SHA256 Credential=") or path.startswith(_PATH_ROUTED)
            or "s3-control" in environ.get("HTTP_HOST", "")):
        return None
    scope = auth.split(",")[0].split()[1].split("/")
    if len(scope) != 5 or scope[3] not in ("s3", "sqs"):
        return None
    return scope[3], scope[2]


# An idle kept-alive connection is closed after this long, so the server's threads do not
# pile up behind clients that were dropped without closing (botocore reconnects on reuse).
KEEP_ALIVE_IDLE_S = 60


class OpenConnections:
    """The sockets a server's handler threads hold open, so its stop can close them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()

    def add(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.add(connection)

    def discard(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.discard(connection)

    def close_all(self) -> None:
        with self._lock:
            connections, self._open = self._open, set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)  # wakes its thread, which then closes it
            except OSError as exc:
                if exc.errno not in (errno.ENOTCONN, errno.EBADF):
                    raise
                # already closed by its client: nothing left to stop


def _keep_alive_handler(connections: OpenConnections) -> type[Any]:
    """werkzeug's request handler, with HTTP/1.1 keep-alive for requests of a known length.

    werkzeug closes every connection ("Connection: close") because http.server cannot
    drain an unread request body before the next request line. Here the body is read
    whole (its Content-Length) before the application runs, so the socket always stands
    at the next request: every S3 and SQS call no longer paid a new TCP connection (5%
    of the loaders' and the publisher's CPU). A request whose length is not known in
    advance (chunked) still closes its connection, as before.
    """
    from werkzeug.serving import WSGIRequestHandler

    class KeepAliveRequestHandler(WSGIRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = KEEP_ALIVE_IDLE_S
        _reusable = False

        def setup(self) -> None:
            super().setup()
            # A kept-alive connection no longer ends with a close that pushes the response's
            # last segment out: without this, Nagle held it for the client's delayed ACK,
            # 40 ms per call (the embedded Data API's server learned the same).
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connections.add(self.connection)

        def finish(self) -> None:
            connections.discard(self.connection)
            super().finish()

        def run_wsgi(self) -> None:
            length = self.headers.get("Content-Length", "0")
            if self.headers.get("Transfer-Encoding") or not length.isdigit():
                self._reusable = False
                super().run_wsgi()
                return
            if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
                # The client sends the body only after this (botocore asks for bodies > 1 MB).
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                self.wfile.flush()
                del self.headers["Expect"]
            socket_file = self.rfile
            self.rfile = io.BytesIO(socket_file.read(int(length)))  # type: ignore[assignment]
            self._reusable = True
            try:
                super().run_wsgi()
            finally:
                self.rfile = socket_file

        def send_header(self, keyword: str, value: str) -> None:
            # werkzeug's unconditional close, kept only where the body could not be drained.
            if self._reusable and keyword.lower() == "connection" and value.lower() == "close":
                return
            super().send_header(keyword, value)

    return KeepAliveRequestHandler


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


def recover_queues(settings: Settings, files: QueueFiles, dlq: list[str]) -> Recovered:
    """Put back what the previous run left: its DLQ (`dlq`, from the state file), and every
    unfinished source-queue body.

    Write-ahead: the old journal is renamed aside (`recovering-N`), every body in it
    is sent again (each resend is journaled anew by the middleware before it is
    acknowledged), and only then is the old file removed. A recovery stopped at any
    point leaves the old file in place, and the next start recovers both; bodies
    sent twice load once, since the ledger makes loads exactly-once per part.
    Lines that cannot be read are quarantined, never dropped.
    """
    assert settings.queue_url and settings.dlq_url
    sources = files.begin_recovery()
    faults.reached("recovery.begun")
    reads = [read_journal(path) for path in sources]
    bad = [q for read in reads for q in read.quarantined]
    quarantine(files.directory, bad)
    source = list(dict.fromkeys(body for read in reads for body in read.bodies))
    # Before anything reads the published index or retires a journal: what a power loss
    # cut from its unsynced tail comes back from the journaled bodies.
    files.restore_published(source)
    sqs = boto.client(settings, "sqs")
    # The DLQ is kept in the state file until the next clean stop rewrites it.
    _send_all(sqs, settings.dlq_url, dlq)
    _send_all(sqs, settings.queue_url, source)
    files.retire(sources)
    faults.reached("recovery.retired")
    return Recovered(source_bodies=tuple(source), dlq_bodies=tuple(dlq),
                     from_journal=bool(source), quarantined=tuple(str(q) for q in bad))


def _send_all(sqs: Any, queue_url: str, bodies: list[str]) -> None:
    """SendMessageBatch in chunks SQS accepts (10 entries, 1 MiB in all); any refusal raises."""
    for chunk in _chunks(bodies):
        sent = sqs.send_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)])
        if sent.get("Failed"):
            failed = sent["Failed"][0]
            raise PipelineError(f"recovery: {queue_url} refused {len(sent['Failed'])} "
                                f"message(s): {failed.get('Code')} {failed.get('Message')}")
        faults.reached("recovery.sent")


def _chunks(bodies: list[str]) -> Iterator[list[str]]:
    chunk: list[str] = []
    size = 0
    for body in bodies:
        length = len(body.encode("utf-8"))
        if chunk and (len(chunk) == SQS_MAX_BATCH_ENTRIES or size + length > SQS_MAX_MESSAGE_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(body)
        size += length
    if chunk:
        yield chunk


def save_queue_state(settings: Settings, files: QueueFiles) -> None:
    """At a clean stop: record the DLQ's bodies and, unless the queue drained, keep the journal.

    SQS cannot list in-flight messages, so a source queue that still holds any keeps the
    whole journal (the next start resends it; loaded parts are no-ops). A drained queue
    has nothing to resend: once the DLQ is durable, the journal is cleared.
    """
    if not (settings.queue_url and settings.dlq_url):
        return
    files.write_state(peek_bodies(settings, settings.dlq_url))
    faults.reached("stop.state_written")
    source = SqsQueue(boto.client(settings, "sqs"), settings.queue_url).depth()
    if source.visible == 0 and source.in_flight == 0:
        files.sync_published()  # the index outlives the journal it could be restored from
        with files.lock:
            files.journal.unlink(missing_ok=True)
        faults.reached("stop.journal_cleared")


def persisted_dlq(settings: Settings) -> tuple[list[str], Path] | None:
    """The DLQ bodies the last run left for this warehouse, and the file; None if no run did."""
    files = QueueFiles(queue_state_dir(settings))
    if not files.state.exists():
        return None
    return files.read_state(), files.state


def peek_bodies(settings: Settings, queue_url: str | None) -> list[str]:
    """Every visible message's body, left in the queue (visible again) afterwards."""
    if not queue_url:
        return []
    queue = SqsQueue(boto.client(settings, "sqs"), queue_url)
    seen: dict[str, QueueMessage] = {}
    while True:
        got = queue.receive(wait_s=0, visibility_timeout_s=60)
        fresh = [m for m in got if m.message_id not in seen]
        if not fresh:
            break
        seen.update((m.message_id, m) for m in fresh)
    messages = list(seen.values())
    queue.release(messages)
    return [m.body for m in messages]


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
