"""The ports the app layer is written against; adapters in `pipeline.aws` implement them.

Structural (Protocols): the S3 adapter, the Data API warehouse and boto3's SQS client
satisfy them without importing this module, and so do the in-memory fakes the unit
tests use to reach every crash point of the load sequence in milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol


class ObjectStore(Protocol):
    """One bucket. Failures surface as `TransientError`: the message is retried."""

    bucket: str

    def url(self, key: str) -> str: ...

    def put(self, key: str, body: bytes, content_type: str = ...) -> None: ...

    def get(self, key: str) -> bytes: ...

    def move(self, source: str, target: str) -> None:
        """Idempotent: a source already gone whose target exists counts as moved."""

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> Iterator[dict[str, Any]]:
        """Every object under `prefix`, as dicts with at least `Key` and `Size`."""


class Warehouse(Protocol):
    """What the loader needs of a warehouse: one transaction per load, exactly once per part."""

    def load(self, rows_manifest_url: str, parts_manifest_url: str) -> str:
        """COPY the manifests' objects and record their parts in the ledger; the statement id."""


class Queue(Protocol):
    """The SQS calls the publisher makes, with SQS's own request and response shapes.

    boto3's SQS client is the adapter; keeping SQS's shapes means partial failures
    (`Failed` entries, `SenderFault`) mean here exactly what SQS documents.
    """

    def send_message_batch(
        self, *, QueueUrl: str, Entries: Sequence[dict[str, str]]  # noqa: N803 (SQS's names)
    ) -> dict[str, Any]: ...


class DrainQueue(Protocol):
    """The SQS calls a scheduled drain makes, with SQS's own request and response shapes.

    boto3's SQS client is the adapter. A drain deletes only what its load committed and
    never changes a message's visibility on failure: SQS's redrive (maxReceiveCount ->
    DLQ) stays the one retry policy, as with the event source.
    """

    def receive_message(self, **kwargs: Any) -> dict[str, Any]: ...

    def delete_message_batch(
        self, *, QueueUrl: str, Entries: Sequence[dict[str, str]]  # noqa: N803 (SQS's names)
    ) -> dict[str, Any]: ...

    def change_message_visibility_batch(
        self, *, QueueUrl: str, Entries: Sequence[dict[str, Any]]  # noqa: N803 (SQS's names)
    ) -> dict[str, Any]: ...


class PublishSettings(Protocol):
    """The settings a publisher tick reads (`pipeline.aws.settings.Settings` has them)."""

    @property
    def queue_url(self) -> str | None: ...

    @property
    def sample_min(self) -> int: ...

    @property
    def sample_max(self) -> int: ...

    @property
    def source(self) -> str: ...

    @property
    def max_message_bytes(self) -> int: ...
