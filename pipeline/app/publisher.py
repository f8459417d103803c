"""The publisher: one scheduler tick samples the dataset and sends the sample to SQS."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pipeline.app.ports import PublishSettings, Queue
from pipeline.core import envelope, sampling
from pipeline.core.errors import PipelineError, QueueError
from pipeline.core.limits import SQS_MAX_BATCH_ENTRIES, SQS_MAX_MESSAGE_BYTES

if TYPE_CHECKING:
    from pipeline.core.dataset import Dataset

log = logging.getLogger(__name__)

# SendMessageBatch takes at most 10 entries whose bodies add up to at most 1 MiB.
MAX_BATCH_ENTRIES = SQS_MAX_BATCH_ENTRIES
MAX_BATCH_BYTES = SQS_MAX_MESSAGE_BYTES
SEND_ATTEMPTS = 5


class PublishError(PipelineError):
    """Some parts of a sample could not be sent; the message lists them."""


@dataclass(frozen=True)
class TickResult:
    """What one tick published; `rows` equals the sample size n."""

    batch_id: str
    rows: int
    messages: int
    bytes: int
    published_at: str

    def as_dict(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "rows": self.rows, "messages": self.messages,
                "bytes": self.bytes, "published_at": self.published_at}


def build_sample(
    dataset: Dataset, settings: PublishSettings, rng: random.Random, now: datetime
) -> list[envelope.Envelope]:
    """Draw n ~ U[sample_min, sample_max] rows and split them into message-sized parts."""
    n = sampling.draw_size(rng, settings.sample_min, settings.sample_max, len(dataset))
    rows = dataset.rows(sampling.draw_indices(rng, len(dataset), n))
    return envelope.split(
        rows,
        batch_id=sampling.new_batch_id(rng),
        published_at=envelope.format_time(now),
        source=settings.source,
        max_bytes=settings.max_message_bytes,
    )


def pack_batches(bodies: Sequence[str]) -> list[list[int]]:
    """Group body indices into SendMessageBatch calls within both SQS batch limits."""
    batches: list[list[int]] = []
    current: list[int] = []
    total = 0
    for index, body in enumerate(bodies):
        size = len(body.encode())
        if current and (len(current) == MAX_BATCH_ENTRIES or total + size > MAX_BATCH_BYTES):
            batches.append(current)
            current, total = [], 0
        current.append(index)
        total += size
    if current:
        batches.append(current)
    return batches


def send(
    queue: Queue,
    bodies: Sequence[str],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Send every body, retrying entries SQS reports as failed; raise if any never goes.

    Whatever stops the send (a refusal, retries spent, the client itself failing)
    surfaces as PublishError naming the parts (1-based body positions) not sent;
    the parts already sent stay sent and load.
    """
    batches = pack_batches(bodies)
    for number, batch in enumerate(batches):
        pending = {str(i): bodies[i] for i in batch}
        later = [i for b in batches[number + 1:] for i in b]
        for attempt in range(SEND_ATTEMPTS):
            try:
                failed = queue.send(pending)
            except QueueError as exc:
                raise PublishError(f"{exc}; {_not_sent(pending, later, len(bodies))}") from exc
            hard = [f for f in failed if f.sender_fault]
            if hard:
                raise PublishError(
                    f"SQS refused {len(hard)} message(s): "
                    + "; ".join(f"{f.id}: {f.message or f.code}" for f in hard)
                    + f"; {_not_sent({f.id: '' for f in failed}, later, len(bodies))}"
                )
            pending = {f.id: pending[f.id] for f in failed}
            if not pending:
                break
            sleep(min(2.0, 0.05 * 2**attempt))
        if pending:
            raise PublishError(f"{len(pending)} message(s) not sent after {SEND_ATTEMPTS} tries; "
                               f"{_not_sent(pending, later, len(bodies))}")


def _not_sent(pending: dict[str, Any], later: list[int], total: int) -> str:
    parts = sorted([int(key) + 1 for key in pending] + [i + 1 for i in later])
    return f"not sent: {len(parts)} of {total} part(s): {', '.join(map(str, parts))}"


def publish_tick(
    dataset: Dataset,
    queue: Queue,
    settings: PublishSettings,
    rng: random.Random,
    now: datetime,
) -> TickResult:
    """Sample, split and send one tick's batch to `queue`."""
    parts = build_sample(dataset, settings, rng, now)
    bodies = [envelope.encode(part) for part in parts]
    send(queue, bodies)
    result = TickResult(
        batch_id=parts[0].batch_id,
        rows=sum(len(p.rows) for p in parts),
        messages=len(parts),
        bytes=sum(len(b.encode()) for b in bodies),
        published_at=parts[0].published_at,
    )
    log.info("published", extra=result.as_dict())
    return result
