"""The ports the app layer is written against; adapters in `pipeline.aws` implement them.

Structural (Protocols): the S3 and SQS adapters and the Data API warehouse
satisfy them without importing this module, and so do the in-memory fakes the unit
tests use to reach every crash point of the load sequence in milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from pipeline.core.messages import EntryFailure, QueueDepth, QueueMessage


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


class Ledger(Protocol):
    """What the operator's commands read of the load ledger (`pipeline status`, `redrive`).

    Both raise `MissingObjectError` while the ledger does not exist yet (nothing loaded).
    """

    def loaded_parts(self) -> set[tuple[str, int]]:
        """Every (batch_id, part) the ledger holds."""

    def ledger_totals(self) -> tuple[int, int, int, Any]:
        """(parts, rows, rejected rows, last load time) over the whole ledger."""


class LedgerWarehouse(Warehouse, Ledger, Protocol):
    """A warehouse the operator can load into and read the ledger of (`pipeline reload`)."""


class Queue(Protocol):
    """Where the publisher sends: the SQS adapter (`pipeline.aws.sqs.SqsQueue`) implements it.

    A call that fails as a whole raises `QueueError`; entries the queue did not take
    come back as `EntryFailure`s, with SQS's own meaning of `sender_fault`.
    """

    def send(self, bodies: Mapping[str, str]) -> list[EntryFailure]:
        """One batch call of at most ten `{entry id: body}`; the entries not sent."""


class DrainQueue(Protocol):
    """What a scheduled drain does with its queue (the SQS adapter implements it).

    A drain deletes only what its load committed and never changes a message's
    visibility on failure: SQS's redrive (maxReceiveCount -> DLQ) stays the one retry
    policy, as with the event source. `release` hands back what one load cannot take.
    """

    def receive(self, *, max_messages: int = ..., wait_s: int = ...,
                visibility_timeout_s: int | None = ...) -> list[QueueMessage]: ...

    def delete(self, messages: Sequence[QueueMessage]) -> list[EntryFailure]: ...

    def release(self, messages: Sequence[QueueMessage],
                visibility_timeout_s: int = ...) -> list[EntryFailure]: ...


class OperatedQueue(DrainQueue, Protocol):
    """A queue as the operator's commands see it: drained, and counted."""

    def depth(self) -> QueueDepth:
        """Messages waiting (visible) and received but not yet deleted (in flight)."""


class PublishSettings(Protocol):
    """The settings a publisher tick reads (`pipeline.aws.settings.Settings` has them)."""

    @property
    def sample_min(self) -> int: ...

    @property
    def sample_max(self) -> int: ...

    @property
    def source(self) -> str: ...

    @property
    def max_message_bytes(self) -> int: ...
