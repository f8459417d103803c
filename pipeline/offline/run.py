"""The main job, offline: schedule the publisher, let the loader drain the queue, summarise.

The loader runs under either load trigger: `schedule` (a drain every `load_every_s`,
the deployed default) or `queue` (the SQS event source, per message). The summary is
an accounting: every row published by this run is loaded, rejected (counted in the
ledger), in the DLQ, or still in flight; and how many COPY transactions it took.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipeline.aws import boto, dataapi, sql
from pipeline.aws.settings import Settings
from pipeline.core.envelope import parse_time
from pipeline.offline.runtime import (
    DrainSchedule,
    LambdaContext,
    Pollers,
    event_source,
    scheduled_event,
    start_local,
    wait_drained,
)
from pipeline.ops import queue_depth

Progress = Callable[[str], None]
SCHEDULE = "schedule"
QUEUE = "queue"
TRIGGERS = (SCHEDULE, QUEUE)
# The accelerated demo drains every 5 s (the deployed default is every 5 minutes).
DEFAULT_LOAD_EVERY_S = 5.0


@dataclass
class RunSummary:
    """What `pipeline run` reports (and prints as JSON with --json)."""

    ticks: int
    published_rows: int
    published_messages: int
    loaded_rows: int
    rejected_rows: int
    dlq_messages: int
    in_flight_messages: int
    warehouse_rows: int
    ledger_rows: int
    latency_p50_s: float | None
    latency_p99_s: float | None
    elapsed_s: float
    drained: bool
    warehouse: str
    loader_invocations: int
    loader_failed_records: int
    trigger: str = QUEUE
    load_every_s: float | None = None
    copies: int = 0
    rows_per_copy: float | None = None
    batch_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ticks(count: int | None, interval_s: float, sleep: Callable[[float], None] = time.sleep
          ) -> Iterator[int]:
    """EventBridge-like schedule: `count` ticks `interval_s` apart (forever when count is None)."""
    index = 0
    next_at = time.monotonic()
    while count is None or index < count:
        delay = next_at - time.monotonic()
        if delay > 0:
            sleep(delay)
        yield index
        index += 1
        next_at += interval_s


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def run(
    settings: Settings,
    *,
    tick_count: int | None,
    interval_s: float,
    concurrency: int = 1,
    trigger: str = SCHEDULE,
    load_every_s: float = DEFAULT_LOAD_EVERY_S,
    drain_timeout_s: float = 180.0,
    progress: Progress = lambda _: None,
) -> RunSummary:
    """Run publisher and loader on the embedded stack; returns the accounting summary."""
    from pipeline.lambdas import loader as lambda_loader
    from pipeline.lambdas import publisher as lambda_publisher

    if trigger not in TRIGGERS:
        raise ValueError(f"trigger must be one of {TRIGGERS}, not {trigger!r}")
    started = time.monotonic()
    with start_local(settings) as stack:
        warehouse = dataapi.build(stack.settings)
        warehouse.ensure_schema()
        # A warm container's clients and schema check, built before the first load (in
        # AWS the cold start happens once per container, not once per run).
        lambda_loader.dependencies(stack.settings)
        lambda_publisher.dependencies(stack.settings)  # the dataset, read once
        loader: Pollers | DrainSchedule
        if trigger == QUEUE:
            loader = Pollers(event_source(stack.settings), concurrency=concurrency).start()
        else:
            loader = DrainSchedule(stack.drain, stack.settings, every_s=load_every_s).start()
        publisher = stack.publisher
        published: list[dict[str, Any]] = []
        try:
            for index in ticks(tick_count, interval_s):
                now = datetime.now(UTC)
                result = publisher(scheduled_event(stack.settings, now),
                                   LambdaContext("publisher"))
                published.append(result)
                total = "" if tick_count is None else f"/{tick_count}"
                progress(f"tick {index + 1}{total}: published {result['rows']} rows "
                         f"in {result['messages']} message(s), batch {result['batch_id']}")
        except KeyboardInterrupt:
            progress("stopping: no more ticks; draining the queue")
        progress("waiting for the loader to drain the queue ...")
        drained = wait_drained(stack.settings, drain_timeout_s)
        loader.stop()
        summary = summarize(stack.settings, warehouse, published, loader, drained,
                            time.monotonic() - started)
    summary.trigger = trigger
    summary.load_every_s = load_every_s if trigger == SCHEDULE else None
    return summary


def summarize(
    settings: Settings,
    warehouse: dataapi.DataApiWarehouse,
    published: list[dict[str, Any]],
    loader: Pollers | DrainSchedule,
    drained: bool,
    elapsed_s: float,
) -> RunSummary:
    batch_ids = {p["batch_id"] for p in published}
    ledger = warehouse.query(
        "SELECT batch_id, row_count, rejected_count, published_at, loaded_at, object_key "
        f"FROM {sql.qualified(settings.schema, sql.LEDGER_TABLE)}"
    )
    rows = ledger.rows if ledger else []
    mine = [r for r in rows if r[0] in batch_ids]
    latencies = [
        (parse_time(r[4]) - parse_time(r[3])).total_seconds() for r in mine if r[3] and r[4]
    ]
    # One COPY transaction per staged rows object: the ledger records each part's object.
    copies = len({r[5] for r in mine})
    loaded_rows = sum(r[1] for r in mine)
    counted = warehouse.query(
        f"SELECT COUNT(*) FROM {sql.qualified(settings.schema, sql.MESSAGES_TABLE)}"
    )
    sqs = boto.client(settings, "sqs")
    assert settings.queue_url and settings.dlq_url
    dlq = queue_depth(sqs, settings.dlq_url)
    source = queue_depth(sqs, settings.queue_url)
    return RunSummary(
        ticks=len(published),
        published_rows=sum(p["rows"] for p in published),
        published_messages=sum(p["messages"] for p in published),
        loaded_rows=loaded_rows,
        rejected_rows=sum(r[2] for r in mine),
        dlq_messages=dlq["visible"] + dlq["in_flight"],
        in_flight_messages=source["visible"] + source["in_flight"],
        warehouse_rows=counted.rows[0][0] if counted else 0,
        ledger_rows=sum(r[1] for r in rows),
        latency_p50_s=_rounded(percentile(latencies, 0.50)),
        latency_p99_s=_rounded(percentile(latencies, 0.99)),
        elapsed_s=round(elapsed_s, 3),
        drained=drained,
        warehouse=str(settings.warehouse_path),
        loader_invocations=len(loader.invocations),
        loader_failed_records=sum(i.failed for i in loader.invocations),
        copies=copies,
        rows_per_copy=round(loaded_rows / copies, 1) if copies else None,
        batch_ids=sorted(batch_ids),
    )
