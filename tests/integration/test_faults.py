"""Fault injection on the local runtime: crashes, outages, races; the guarantee holds after each.

Real emulator over HTTP, real embedded Data API over a DuckDB file, the real
SQS event source (visibility timeout 1 s, maxReceiveCount 2 unless a test says
otherwise). Every test ends with `assert_accounted`: each row of each part that
reached the queue is loaded, rejected, dead-lettered or still in flight, once.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from pipeline.app.operate import RedriveResult
from pipeline.app.publisher import PublishError, publish_tick
from pipeline.aws.sqs import SqsQueue
from pipeline.cli import operate
from pipeline.core import envelope, staging
from pipeline.offline.warehouse.server import INJECTED_CONFLICT
from tests.integration.helpers import (
    TERMINAL,
    FlakyStore,
    FlakyWarehouse,
    RecordingHandler,
    assert_accounted,
    count,
    dlq_bodies,
    drain,
    drain_scheduled,
    keys,
    local_stack_with,
    publish,
    sample,
    send_parts,
    sqs,
    sqs_event,
    warm,
    wired,
    with_bad_rows,
)

pytestmark = pytest.mark.integration

LEDGER_PARTS = "SELECT COUNT(*) FROM scraped.load_ledger"


def assert_all_loaded(stack: Any, parts: list[envelope.Envelope], rejected: int = 0) -> None:
    accounting = assert_accounted(stack, parts)
    assert accounting.dlq_parts == set() and accounting.in_flight_parts == set()
    assert accounting.rejected_rows == rejected
    assert accounting.loaded_rows == accounting.published_rows - rejected
    assert keys(stack, staging.INCOMING) == [], "staged objects left behind in incoming/"


# --------------------------------------------------------------------------- crashes


def test_crash_after_the_warehouse_commit_before_the_sqs_delete_loads_once(local_stack, dataset):
    parts = publish(local_stack, dataset, seed=21, sample_min=50, sample_max=200)
    bad = with_bad_rows(parts[0].rows)
    send_parts(local_stack, [bad])
    committed: list[int] = []

    def crash_after_commit(event: dict[str, Any], context: Any) -> dict[str, Any]:
        response = local_stack.loader(event, context)
        if not committed:  # the load is committed; die before the event source deletes
            committed.append(count(local_stack, LEDGER_PARTS))
            raise RuntimeError("injected: the loader died after the commit")
        return response

    pollers = drain(local_stack, handler=crash_after_commit)
    assert committed and committed[0] >= 1, "the first invocation committed before crashing"
    assert [i.error for i in pollers.invocations if i.error] == [
        "RuntimeError: injected: the loader died after the commit"]
    assert sum(i.records for i in pollers.invocations) > len(parts) + 1, "it was redelivered"
    assert_all_loaded(local_stack, [*parts, bad], rejected=2)


def test_crash_after_staging_before_the_load_restages_and_loads_once(local_stack, dataset):
    staged: list[list[str]] = []
    faulty = wired(local_stack, wrap_warehouse=lambda w: FlakyWarehouse(
        w, loads=[1], on_fail=lambda: staged.append(keys(local_stack, staging.INCOMING))))
    warehouse = faulty.warehouse
    parts = publish(local_stack, dataset, seed=22, sample_min=50, sample_max=200)
    pollers = drain(local_stack, handler=faulty.loader)
    assert warehouse.load_faults.failed == 1
    assert len(staged[0]) == 4, "rows, parts and both manifests were staged before the crash"
    assert len([i for i in pollers.invocations if i.error]) == 1
    assert_all_loaded(local_stack, parts)


def test_crash_after_the_load_before_the_move_finishes_the_move_on_redelivery(
        local_stack, dataset):
    committed: list[int] = []
    faulty = wired(local_stack, wrap_store=lambda s: FlakyStore(
        s, moves=[2], copy_before_failing=True,
        on_fail=lambda: committed.append(count(local_stack, LEDGER_PARTS))))
    flaky = faulty.store
    parts = publish(local_stack, dataset, seed=23, sample_min=50, sample_max=200)
    drain(local_stack, handler=faulty.loader)
    assert flaky.move_faults.failed == 1 and committed == [len(parts)]
    assert_all_loaded(local_stack, parts)
    processed = keys(local_stack, staging.PROCESSED)
    assert len(processed) == 4, f"one archived copy of each staged object: {processed}"


# --------------------------------------------------------------------------- outages


def test_warehouse_conflicts_for_a_while_are_retried_in_place_and_load_once(local_stack,
                                                                            dataset):
    warm(local_stack)
    parts = publish(local_stack, dataset, seed=24, sample_min=50, sample_max=200)
    before = local_stack.data_api.statement_count()
    local_stack.data_api.inject_failures(3, INJECTED_CONFLICT)
    pollers = drain(local_stack)
    assert [i.error for i in pollers.invocations] == [None], "the Data API client retried 1023"
    assert local_stack.data_api.statement_count() - before >= 4
    assert_all_loaded(local_stack, parts)


def test_warehouse_refusing_loads_dead_letters_then_redrive_loads_once(local_stack, dataset):
    warm(local_stack)
    (part,) = publish(local_stack, dataset, seed=25, sample_min=50, sample_max=200)
    local_stack.data_api.inject_failures(3, TERMINAL)
    pollers = drain(local_stack)
    errors = [i.error for i in pollers.invocations]
    assert len(errors) == 2 and all(TERMINAL in (e or "") for e in errors)
    assert dlq_bodies(local_stack) == [envelope.encode(part)], "dead-lettered unchanged"
    # The third refusal is still pending: redrive's ledger lookup (is the part loaded
    # already?) meets it and moves the message anyway, which is safe; then it loads.
    assert operate.redrive(local_stack.settings) == RedriveResult(moved=1, remaining=0)
    pollers = drain(local_stack)
    assert [bool(i.error) for i in pollers.invocations] == [False]
    assert_all_loaded(local_stack, [part])


def test_object_store_outage_is_retried_by_redelivery_and_loses_nothing(settings, dataset):
    with local_stack_with(settings, max_receive_count=5) as stack:
        # Fail the 2nd, 5th and 9th put: each attempt gets one object further before dying.
        faulty = wired(stack, wrap_store=lambda s: FlakyStore(s, puts=[2, 5, 9]))
        flaky = faulty.store
        parts = publish(stack, dataset, seed=26, sample_min=50, sample_max=200)
        pollers = drain(stack, handler=faulty.loader)
        assert flaky.put_faults.failed == 3
        assert all("TransientError" in (i.error or "") for i in pollers.invocations[:3])
        assert_all_loaded(stack, parts)


# --------------------------------------------------------------------------- races


def test_two_loaders_handling_the_same_event_at_once_leave_one_copy(local_stack, dataset):
    warm(local_stack)
    published: list[envelope.Envelope] = []
    for round_ in range(3):
        parts = sample(local_stack, dataset, seed=30 + round_, sample_min=200, sample_max=300,
                       max_message_bytes=32 * 1024)
        published += parts
        event = sqs_event(parts)
        barrier = threading.Barrier(2)
        outcomes: list[Any] = []

        def invoke(event: dict[str, Any] = event, barrier: threading.Barrier = barrier,
                   outcomes: list[Any] = outcomes) -> None:
            barrier.wait()
            try:
                outcomes.append(local_stack.loader(event, None))
            except Exception as exc:  # what the event source would see
                outcomes.append(exc)

        threads = [threading.Thread(target=invoke) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        # Both succeed: the loser finds the parts in the ledger, or its objects already
        # archived by the winner, and reports success, so SQS would not redeliver it.
        assert outcomes == [{"batchItemFailures": []}] * 2, f"round {round_}: {outcomes}"
    assert_all_loaded(local_stack, published)


def test_three_concurrent_pollers_leave_one_copy_of_every_row(settings, dataset):
    # maxReceiveCount 5: on a slow machine a 1 s visibility timeout lets pollers receive a
    # message again while it loads (the race under test); two such re-receipts must not
    # also dead-letter it, which only a visibility timeout shorter than a load can cause.
    with local_stack_with(settings, max_receive_count=5) as stack:
        published: list[envelope.Envelope] = []
        for seed in range(40, 46):
            published += publish(stack, dataset, seed=seed, sample_min=100, sample_max=400,
                                 max_message_bytes=32 * 1024)
        pollers = drain(stack, concurrency=3, batch_size=3)
        assert len(pollers.invocations) >= 3
        assert [i.error for i in pollers.invocations if i.error] == []
        assert_all_loaded(stack, published)


def test_visibility_timeout_expiring_mid_load_lets_a_second_poller_in_yet_loads_once(
        local_stack, dataset):
    warm(local_stack)
    (part,) = publish(local_stack, dataset, seed=27, sample_min=50, sample_max=200)
    local_stack.data_api.inject_delay(3.0, count=1)  # visibility timeout is 1 s
    recorder = RecordingHandler(local_stack.loader)
    drain(local_stack, concurrency=2, handler=recorder)
    first, second, *_ = sorted(recorder.calls, key=lambda c: c.started)
    assert first.message_ids == second.message_ids
    assert first.thread != second.thread
    assert second.started < first.ended, "the second poller received it while the first loaded"
    assert [c.error for c in recorder.calls] == [None] * len(recorder.calls)
    assert_all_loaded(local_stack, [part])


# --------------------------------------------------------------------------- the publisher


class SqsFailingAfterFirstBatch:
    """The real SQS client, except that every SendMessageBatch after the first fails."""

    def __init__(self, real: Any, how: str) -> None:
        self.real = real
        self.how = how
        self.sent: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def send_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        if self.sent:
            if self.how == "connection":
                raise EndpointConnectionError(endpoint_url=self.real.meta.endpoint_url)
            return {"Successful": [], "Failed": [
                {"Id": e["Id"], "SenderFault": True, "Code": "AccessDenied",
                 "Message": "injected refusal"} for e in kwargs["Entries"]]}
        response = self.real.send_message_batch(**kwargs)
        self.sent += [e["MessageBody"] for e in kwargs["Entries"]]
        return response


@pytest.mark.parametrize("how", ["connection", "refused"])
def test_publisher_failing_halfway_loads_the_parts_sent_and_nothing_else(local_stack, dataset,
                                                                         how):
    # More than ten parts: the first SendMessageBatch (ten entries) goes, the next fails.
    settings = dataclasses.replace(local_stack.settings, sample_min=260, sample_max=260,
                                   max_message_bytes=4096)
    client = SqsFailingAfterFirstBatch(sqs(local_stack), how)
    with pytest.raises(PublishError) as raised:
        publish_tick(dataset, SqsQueue(client, settings.queue_url), settings,
                     random.Random(60), datetime.now(UTC))
    sent = [envelope.decode(body) for body in client.sent]
    parts = sent[0].parts
    assert [p.part for p in sent] == list(range(1, 11)) and 10 < parts <= 20
    not_sent = ", ".join(map(str, range(11, parts + 1)))
    assert not_sent in str(raised.value), "the error names the parts not sent"
    drain(local_stack)
    assert_all_loaded(local_stack, sent)
    assert count(local_stack, "SELECT COUNT(DISTINCT batch_id) FROM scraped.load_ledger") == 1
    assert count(local_stack, "SELECT MAX(part) FROM scraped.load_ledger") == 10



# --------------------------------------------------------------------------- the scheduled drain
# The `schedule` trigger's drain deletes what it loaded itself, so its crash points are
# inside the drain: each scenario above that applies to it, through the real drain handler.


class SqsFailingDeletes:
    """The real SQS client whose first DeleteMessageBatch dies (the drain's crash point)."""

    def __init__(self, real: Any, on_fail: Any) -> None:
        self.real = real
        self.on_fail = on_fail
        self.failed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def delete_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        if not self.failed:
            self.failed += 1
            self.on_fail()
            raise RuntimeError("injected: the drain died after the commit, before the delete")
        return self.real.delete_message_batch(**kwargs)


def test_drain_crash_after_the_commit_before_the_sqs_delete_loads_once(settings, dataset):
    # A visibility timeout a drain outlasts only on purpose: at the suite's 1 s, a drain
    # slowed by a second test suite on the same cores (load average ~10) saw its messages
    # come back mid-drain and counted redeliveries that were not the crash's.
    with local_stack_with(settings, visibility_timeout_s=3, max_receive_count=5) as stack:
        drain_crash_after_the_commit_loads_once(stack, dataset)


def drain_crash_after_the_commit_loads_once(local_stack: Any, dataset: Any) -> None:
    parts = publish(local_stack, dataset, seed=71, sample_min=50, sample_max=200)
    bad = with_bad_rows(parts[0].rows)
    send_parts(local_stack, [bad])
    committed: list[int] = []
    client = SqsFailingDeletes(sqs(local_stack),
                               on_fail=lambda: committed.append(count(local_stack, LEDGER_PARTS)))
    schedule = drain_scheduled(local_stack, handler=wired(local_stack, sqs=client).drain)
    assert committed == [len(parts) + 1], "the first drain committed everything, then died"
    errors = [i.error for i in schedule.invocations if i.error]
    assert errors == ["RuntimeError: injected: the drain died after the commit, before the delete"]
    assert sum(o["messages"] for o in schedule.outcomes) == len(parts) + 1, "redelivered once"
    assert_all_loaded(local_stack, [*parts, bad], rejected=2)


def test_drain_crash_after_staging_before_the_load_restages_and_loads_once(local_stack, dataset):
    staged: list[list[str]] = []
    faulty = wired(local_stack, wrap_warehouse=lambda w: FlakyWarehouse(
        w, loads=[1], on_fail=lambda: staged.append(keys(local_stack, staging.INCOMING))))
    parts = publish(local_stack, dataset, seed=72, sample_min=50, sample_max=200)
    schedule = drain_scheduled(local_stack, handler=faulty.drain)
    assert faulty.warehouse.load_faults.failed == 1
    assert len(staged[0]) == 4, "rows, parts and both manifests were staged before the crash"
    assert [bool(i.error) for i in schedule.invocations][:1] == [True]
    assert_all_loaded(local_stack, parts)


def test_drain_of_redelivered_and_duplicated_messages_leaves_one_copy(local_stack, dataset):
    parts = publish(local_stack, dataset, seed=73, sample_min=100, sample_max=300,
                    max_message_bytes=16 * 1024)
    send_parts(local_stack, parts)  # SQS delivers at least once: every part twice
    drain_scheduled(local_stack)
    send_parts(local_stack, parts[:2])  # and once more, after they were loaded
    schedule = drain_scheduled(local_stack)
    assert [o["rows"] for o in schedule.outcomes if o["messages"]] == [
        sum(len(p.rows) for p in parts[:2])], "staged again, and the ledger made it a no-op"
    assert_all_loaded(local_stack, parts)


def test_drain_leaves_poison_to_the_redrive_policy_and_loads_the_rest(local_stack, dataset):
    parts = publish(local_stack, dataset, seed=74, sample_min=50, sample_max=200)
    poison = ["{not json", '"just a string"', "[1, 2, 3]"]
    for body in poison:
        sqs(local_stack).send_message(QueueUrl=local_stack.settings.queue_url, MessageBody=body)
    schedule = drain_scheduled(local_stack)
    assert sorted(dlq_bodies(local_stack)) == sorted(poison), "dead-lettered unchanged"
    assert [i.error for i in schedule.invocations if i.error] == []
    assert sum(o["poison"] for o in schedule.outcomes) >= 2 * len(poison), "received until DLQ"
    accounting = assert_accounted(local_stack, parts)
    assert sorted(accounting.poison_bodies) == sorted(poison)
    assert accounting.loaded_rows == accounting.published_rows


def test_drain_loads_a_backlog_in_as_few_copies_as_its_budget_allows(local_stack, dataset):
    published: list[envelope.Envelope] = []
    for seed in range(80, 86):
        published += publish(local_stack, dataset, seed=seed, sample_min=200, sample_max=400,
                             max_message_bytes=32 * 1024)
    schedule = drain_scheduled(local_stack)
    assert [o["loads"] for o in schedule.outcomes if o["messages"]] == [1]
    assert count(local_stack, "SELECT COUNT(DISTINCT object_key) FROM scraped.load_ledger") == 1
    assert_all_loaded(local_stack, published)
