"""The main job, offline: schedule the publisher, let the loader drain the queue, summarise.

The loader runs under either load trigger: `schedule` (a drain every `load_every_s`,
the deployed default) or `queue` (the SQS event source, per message). The summary is
an accounting: every row published by this run is loaded, rejected (counted in the
ledger), in the DLQ, or still in flight; and how many COPY transactions it took.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipeline.aws import boto, dataapi, sql
from pipeline.aws.settings import LOAD_QUEUE, LOAD_SCHEDULE, LOAD_TRIGGERS, Settings
from pipeline.aws.sqs import SqsQueue
from pipeline.core.envelope import parse_time
from pipeline.core.envelope import part_of as describe_body
from pipeline.offline.emulator import Recovered
from pipeline.offline.journal import PartKey, QueueFiles
from pipeline.offline.runtime import (
    DrainSchedule,
    LambdaContext,
    Pollers,
    event_source,
    scheduled_event,
    start_local,
    wait_drained,
)

Progress = Callable[[str], None]
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
    trigger: str = LOAD_QUEUE
    load_every_s: float | None = None
    copies: int = 0
    rows_per_copy: float | None = None
    batch_ids: list[str] = field(default_factory=list)
    # What a start put back from the previous run (the durable queue, see emulator.py).
    recovered_messages: int = 0
    recovered_rows: int = 0
    recovered_batch_ids: list[str] = field(default_factory=list)
    # The DLQ at the end: rows in it not loaded, and messages whose parts are loaded anyway.
    dlq_rows: int = 0
    dlq_already_loaded: int = 0
    dlq_undecodable: int = 0
    # Published or recovered rows in none of warehouse, ledger's rejected, DLQ, queue.
    unaccounted_rows: int = 0
    lost: list[dict[str, Any]] = field(default_factory=list)
    # Journal lines a start could not read, kept in the queue directory's quarantine file.
    quarantined: list[str] = field(default_factory=list)

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
    trigger: str = LOAD_SCHEDULE,
    load_every_s: float = DEFAULT_LOAD_EVERY_S,
    drain_timeout_s: float = 180.0,
    progress: Progress = lambda _: None,
) -> RunSummary:
    """Run publisher and loader on the embedded stack; returns the accounting summary."""
    from pipeline.lambdas import loader as lambda_loader
    from pipeline.lambdas import publisher as lambda_publisher

    if trigger not in LOAD_TRIGGERS:
        raise ValueError(f"trigger must be one of {LOAD_TRIGGERS}, not {trigger!r}")
    started = time.monotonic()
    with start_local(settings) as stack:
        warehouse = dataapi.build(stack.settings)
        warehouse.ensure_schema()
        # A warm container's clients and schema check, built before the first load (in
        # AWS the cold start happens once per container, not once per run).
        lambda_loader.dependencies(stack.settings)
        lambda_publisher.dependencies(stack.settings)  # the dataset, read once
        announce_recovery(stack.emulator.recovered, progress)
        loader: Pollers | DrainSchedule
        if trigger == LOAD_QUEUE:
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
                stack.emulator.compact(ledger_parts(stack.settings, warehouse))
        except KeyboardInterrupt:
            progress("stopping: no more ticks; draining the queue")
        progress("waiting for the loader to drain the queue ...")
        if isinstance(loader, DrainSchedule):
            loader.drain_now()
        drained = wait_drained(stack.settings, drain_timeout_s)
        loader.stop()
        summary = summarize(stack.settings, warehouse, published, loader, drained,
                            time.monotonic() - started)
        summary = account(summary, stack.settings, warehouse,
                          recovered=stack.emulator.recovered.source_bodies,
                          dlq=stack.emulator.dlq_bodies(), files=stack.emulator.files)
        summary.quarantined = list(stack.emulator.recovered.quarantined)
    summary.trigger = trigger
    summary.load_every_s = load_every_s if trigger == LOAD_SCHEDULE else None
    return summary


# The offline loader's timeout (the remaining time its context reports). A queue whose
# visibility timeout is shorter would hand a message to a second loader while the first
# still works on it; AWS refuses such an event source, and so does `pipeline run`.
LOADER_TIMEOUT_S = 2


def announce_recovery(recovered: Recovered, progress: Progress) -> None:
    if recovered.source_bodies or recovered.dlq_bodies:
        how = ("the last run's journal (it was killed, or stopped before its queue drained)"
               if recovered.from_journal else "the last run")
        progress(f"recovered from {how}: {len(recovered.source_bodies)} message(s) back in "
                 f"the queue, {len(recovered.dlq_bodies)} in the DLQ")


def ledger_parts(settings: Settings, warehouse: dataapi.DataApiWarehouse) -> set[PartKey]:
    """The (batch_id, part) keys the ledger holds."""
    ledger = warehouse.query(
        f"SELECT batch_id, part FROM {sql.qualified(settings.schema, sql.LEDGER_TABLE)}")
    return {(r[0], int(r[1])) for r in (ledger.rows if ledger else [])}


def account(summary: RunSummary, settings: Settings, warehouse: dataapi.DataApiWarehouse,
            *, recovered: Sequence[str], dlq: Sequence[str], files: QueueFiles) -> RunSummary:
    """Add the recovered messages and the DLQ to the summary, counting each row once.

    Every part the source queue ever accepted (the published index, which recovery
    never rewrites) ends in the ledger (loaded or rejected), the DLQ, the queue (if
    not drained), or nowhere: the last are named in `lost` by batch id and part, so
    a body that vanished between runs shows, whichever run notices.
    """
    in_ledger = ledger_parts(settings, warehouse)
    mine = set(summary.batch_ids)
    recovered_parts = {key[:2]: key[2] for key in map(describe_body, recovered) if key}
    extra = {k: n for k, n in recovered_parts.items() if k[0] not in mine}
    dead = [describe_body(body) for body in dlq]
    dead_parts = {d[:2]: d[2] for d in dead if d and d[:2] not in in_ledger}
    recovered_loaded = _ledger_counts(settings, warehouse, sorted(extra))
    dead_keys = {d[:2] for d in dead if d}
    published_parts = files.published_parts()
    lost = [{"batch_id": k[0], "part": k[1], "rows": n} for k, n in sorted(published_parts.items())
            if k not in in_ledger and k not in dead_keys]
    published = summary.published_rows + sum(extra.values())
    landed = (summary.loaded_rows + summary.rejected_rows + recovered_loaded[0]
              + recovered_loaded[1])
    dlq_rows = sum(n for k, n in dead_parts.items() if k[0] in mine or k in extra)
    unaccounted = (max(published - landed - dlq_rows, sum(p["rows"] for p in lost))
                   if summary.drained else 0)
    if summary.drained:
        files.compact_published(in_ledger)
    return dataclasses.replace(
        summary,
        loaded_rows=summary.loaded_rows + recovered_loaded[0],
        rejected_rows=summary.rejected_rows + recovered_loaded[1],
        recovered_messages=len(recovered),
        recovered_rows=sum(extra.values()),
        recovered_batch_ids=sorted({k[0] for k in extra}),
        dlq_rows=sum(dead_parts.values()),
        dlq_already_loaded=sum(1 for d in dead if d and d[:2] in in_ledger),
        dlq_undecodable=sum(1 for d in dead if d is None),
        unaccounted_rows=max(0, unaccounted),
        lost=lost if summary.drained else [],
    )


def _ledger_counts(settings: Settings, warehouse: dataapi.DataApiWarehouse,
                   parts: Sequence[tuple[str, int]]) -> tuple[int, int]:
    """Loaded and rejected rows the ledger holds for these (batch_id, part) keys."""
    if not parts:
        return 0, 0
    ledger = warehouse.query(
        "SELECT batch_id, part, row_count, rejected_count "
        f"FROM {sql.qualified(settings.schema, sql.LEDGER_TABLE)}")
    wanted = set(parts)
    rows = [r for r in (ledger.rows if ledger else []) if (r[0], int(r[1])) in wanted]
    return sum(int(r[2]) for r in rows), sum(int(r[3]) for r in rows)


def problems(summary: RunSummary) -> list[str]:
    """Why this run's rows are not all accounted for as loaded or rejected (empty: they are).

    `pipeline run` exits non-zero when this is not empty.
    """
    found = []
    if summary.dlq_messages - summary.dlq_already_loaded > 0:
        found.append(
            f"{summary.dlq_messages - summary.dlq_already_loaded} message(s) dead-lettered "
            f"({summary.dlq_rows} row(s) not loaded"
            + (f", {summary.dlq_undecodable} not an envelope" if summary.dlq_undecodable else "")
            + "): inspect them with `pipeline status`, fix the cause, then `pipeline redrive`")
    if not summary.drained:
        found.append(f"the queue did not drain: {summary.in_flight_messages} message(s) still "
                     "queued or in flight; a next `pipeline run` picks them up")
    if summary.quarantined:
        found.append(f"{len(summary.quarantined)} journal line(s) could not be read and were "
                     f"quarantined (first: {summary.quarantined[0]}); the quarantine file "
                     "beside the journal keeps their bytes")
    if summary.unaccounted_rows:
        named = ", ".join(f"{lost['batch_id']} part {lost['part']}" for lost in summary.lost[:5])
        found.append(f"{summary.unaccounted_rows} published row(s) are neither loaded, "
                     "rejected nor in the DLQ" + (f" (lost: {named})" if named else ""))
    return found


def notes(summary: RunSummary) -> list[str]:
    """What is worth a line but is not a failure."""
    found = []
    if summary.dlq_already_loaded:
        found.append(f"{summary.dlq_already_loaded} DLQ message(s) hold parts already in the "
                     "ledger (loaded, then dead-lettered by a redelivery): counted once, as "
                     "loaded; `pipeline redrive` drops them")
    if summary.recovered_messages:
        found.append(f"{summary.recovered_messages} message(s) ({summary.recovered_rows} rows "
                     "not from this run's ticks) were put back from the last run")
    return found


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
    dlq = SqsQueue(sqs, settings.dlq_url).depth()
    source = SqsQueue(sqs, settings.queue_url).depth()
    return RunSummary(
        ticks=len(published),
        published_rows=sum(p["rows"] for p in published),
        published_messages=sum(p["messages"] for p in published),
        loaded_rows=loaded_rows,
        rejected_rows=sum(r[2] for r in mine),
        dlq_messages=dlq.visible + dlq.in_flight,
        in_flight_messages=source.visible + source.in_flight,
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
