"""Queue messages as the app layer sees them: values, whatever queue service carried them.

The SQS adapter (`pipeline.aws.sqs`) turns SQS's response shapes into these, so the
drain, the publisher and the operator commands read fields, not SQS's dictionaries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class QueueMessage:
    """One received message: its body and the handle that deletes or releases it."""

    message_id: str
    body: str
    receipt_handle: str
    # SQS's system attributes (ApproximateReceiveCount, SentTimestamp, ...), as received.
    attributes: Mapping[str, str] = field(default_factory=dict)
    message_attributes: Mapping[str, Any] = field(default_factory=dict)
    md5_of_body: str = ""

    @property
    def receive_count(self) -> int:
        """How many times the queue has handed this message out (1 on the first receive)."""
        return int(self.attributes.get("ApproximateReceiveCount", 0))

    @property
    def sent_ms(self) -> int:
        """When the queue accepted the message, in milliseconds since the epoch (0: unknown)."""
        return int(self.attributes.get("SentTimestamp", 0))


@dataclass(frozen=True)
class EntryFailure:
    """One entry of a batch call the queue did not carry out, with the queue's reason.

    `sender_fault` says whether resending the same entry can ever succeed: SQS marks
    a refused message (too big, malformed) as the sender's fault, a throttled one not.
    """

    id: str
    code: str
    message: str
    sender_fault: bool


@dataclass(frozen=True)
class QueueDepth:
    """Messages waiting (visible) and received but not yet deleted (in flight)."""

    visible: int
    in_flight: int
