"""The embedded AWS: moto's threaded server on 127.0.0.1, provisioned like the deployed stack.

Only the local runtime and the tests start it; production code reaches it
through the same boto3 clients as AWS, built by `boto.client(settings, ...)`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pipeline.aws import boto
from pipeline.aws.settings import Settings
from pipeline.core import staging

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

QUEUE_NAME = "telegram-messages"
DLQ_NAME = "telegram-messages-dlq"
# AWS's own values: a DLQ keeps messages 14 days, longer than the source queue's 4.
SOURCE_RETENTION_S = 4 * 24 * 3600
DLQ_RETENTION_S = 14 * 24 * 3600


@dataclass
class Emulator:
    """A running moto server and the settings that point at what it provisioned."""

    server: ThreadedMotoServer
    endpoint_url: str
    settings: Settings

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_emulator(settings: Settings) -> Emulator:
    """Start moto on a free loopback port and provision queue, DLQ and bucket from `settings`."""
    from moto.moto_api._internal.models import moto_api_backend
    from moto.server import ThreadedMotoServer

    # moto's backends are process-global and outlive a stopped server: start clean, so
    # an earlier stack's queues (other attributes, leftover messages) never leak in.
    moto_api_backend.reset()
    speed_up_moto()
    # moto signs nothing, but botocore insists on credentials; never real ones here.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "embedded")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "embedded")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint_url = f"http://{host}:{port}"
    provisioned = provision(dataclasses.replace(settings, aws_endpoint_url=endpoint_url))
    return Emulator(server=server, endpoint_url=endpoint_url, settings=provisioned)


@functools.cache  # once per process: the patched classes and modules outlive a server
def speed_up_moto() -> None:
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
