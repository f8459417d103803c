"""The two load triggers offline: `pipeline run` and `pipeline bench` under `schedule` and `queue`.

The `schedule` trigger's drain loads what arrived since the last one in as few COPY
transactions as its budget allows; the summary counts COPYs from the ledger (one staged
rows object per COPY transaction) and must still account for every published row.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time

import pytest

from pipeline.aws import sql
from pipeline.cli import main
from pipeline.offline.runtime import SqsEventSource, event_source
from tests.integration.helpers import count, local_stack_with, publish

pytestmark = pytest.mark.integration


def run_json(capsys, *args: str) -> dict:
    capsys.readouterr()
    assert main(["run", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def assert_balanced(summary: dict) -> None:
    assert summary["drained"]
    assert summary["published_rows"] == (summary["loaded_rows"] + summary["rejected_rows"])
    assert summary["dlq_messages"] == summary["in_flight_messages"] == 0


def test_run_with_the_schedule_trigger_loads_every_row_in_one_copy_per_drain(tmp_path, capsys):
    summary = run_json(capsys, "--trigger", "schedule", "--load-every", "2", "--ticks", "8",
                       "--interval", "1", "--seed", "3", "--warehouse",
                       str(tmp_path / "w.duckdb"))
    assert_balanced(summary)
    assert summary["trigger"] == "schedule" and summary["load_every_s"] == 2
    # Eight ticks a second apart, a drain every 2 s: a COPY per drain that found messages,
    # about four (fewer on a busy machine), never one per message.
    assert 2 <= summary["copies"] <= 6, summary
    assert summary["copies"] < summary["published_messages"]
    assert summary["rows_per_copy"] == pytest.approx(summary["loaded_rows"] / summary["copies"],
                                                     abs=0.1)


def test_run_with_the_queue_trigger_loads_per_invocation(tmp_path, capsys):
    # How many messages share an invocation depends on when the poller comes round: on a
    # busy machine a load outlasts the 2 s between ticks and the next poll finds two
    # messages (issue 24: "copies == 4" failed under four workers). What holds on any
    # machine: no COPY without an invocation, none spanning two, at most one per message.
    # That a lone message gets a COPY of its own is pinned below, one message at a time.
    summary = run_json(capsys, "--trigger", "queue", "--batching-window", "1", "--ticks", "4",
                       "--interval", "2", "--seed", "4", "--warehouse",
                       str(tmp_path / "w.duckdb"))
    assert_balanced(summary)
    assert summary["trigger"] == "queue" and summary["load_every_s"] is None
    assert summary["published_messages"] == 4
    assert 1 <= summary["copies"] <= summary["loader_invocations"]
    assert summary["copies"] <= summary["published_messages"]


def test_load_every_without_the_schedule_trigger_is_a_one_line_error(tmp_path, capsys):
    code = main(["run", "--trigger", "queue", "--load-every", "5", "--ticks", "1",
                 "--warehouse", str(tmp_path / "w.duckdb")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [
        "pipeline run: error: --load-every sets the drain's period; it needs --trigger schedule"]


# A window no test run waits out: a batch that comes back before it did not wait for it.
NEVER_REACHED_S = 120


@pytest.fixture
def windowed_stack(settings):
    """A stack whose visibility timeout outlasts the windows (as Lambda requires): a
    received message cannot come back as a second copy while a window is open."""
    with local_stack_with(settings, visibility_timeout_s=2 * NEVER_REACHED_S) as stack:
        yield stack


def test_a_window_longer_than_the_visibility_timeout_is_a_one_line_error(tmp_path, capsys):
    code = main(["run", "--trigger", "queue", "--batching-window", "5", "--ticks", "1",
                 "--warehouse", str(tmp_path / "w.duckdb")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "--batching-window 5 must be at least 0 and shorter than the visibility" in err[0]


def test_a_lone_message_waits_for_the_whole_batching_window(windowed_stack, dataset):
    # Lambda invokes when the batch is full, the window expires or the payload nears 6 MB:
    # a message alone waits the window out for company instead of being sent at once.
    local_stack = windowed_stack
    source: SqsEventSource = event_source(local_stack.settings, local_stack.loader,
                                          batching_window_s=2)
    publish(local_stack, dataset, seed=90, sample_min=10, sample_max=10)
    started = time.monotonic()
    batch = source.receive_batch()
    waited = time.monotonic() - started
    assert len(batch) == 1
    # A lower bound only: a busy machine can make the batch later, never earlier.
    assert waited >= 2.0, f"the window is 2 s; the batch came after {waited:.2f} s"


def test_each_lone_message_is_an_invocation_and_a_copy_of_its_own(windowed_stack, dataset):
    # The queue trigger's unit of work, free of timing: one message in the queue at a time.
    local_stack = windowed_stack
    source = event_source(local_stack.settings, local_stack.loader, batching_window_s=0)
    invocations = []
    for seed in (80, 81, 82):
        publish(local_stack, dataset, seed=seed, sample_min=10, sample_max=10)
        invocations.append(source.poll_once())
    assert [(i.records, i.failed) for i in invocations if i] == [(1, 0)] * 3
    ledger = sql.qualified(local_stack.settings.schema, sql.LEDGER_TABLE)
    assert count(local_stack, f"SELECT COUNT(DISTINCT object_key) FROM {ledger}") == 3


def test_messages_arriving_within_the_window_join_the_same_batch(windowed_stack, dataset):
    # The second message comes ~1 s in; the window is long enough that no busy machine
    # closes it first, and a full batch of two returns without waiting it out.
    local_stack = windowed_stack
    source = event_source(local_stack.settings, local_stack.loader,
                          batching_window_s=NEVER_REACHED_S)
    source.batch_size = 2
    publish(local_stack, dataset, seed=91, sample_min=10, sample_max=10)

    def late() -> None:
        time.sleep(1.0)
        publish(local_stack, dataset, seed=92, sample_min=10, sample_max=10)

    thread = threading.Thread(target=late)
    thread.start()
    started = time.monotonic()
    batch = source.receive_batch()
    waited = time.monotonic() - started
    thread.join()
    assert len(batch) == 2, "the second message came within the window"
    assert len({m.message_id for m in batch}) == 2
    assert waited < NEVER_REACHED_S, "a full batch returns before its window closes"


def test_a_full_batch_does_not_wait_for_the_window(windowed_stack, dataset):
    local_stack = windowed_stack
    source = event_source(local_stack.settings, local_stack.loader,
                          batching_window_s=NEVER_REACHED_S)
    source.batch_size = 3
    for seed in range(93, 96):
        publish(local_stack, dataset, seed=seed, sample_min=5, sample_max=5)
    started = time.monotonic()
    assert len(source.receive_batch()) == 3
    assert time.monotonic() - started < NEVER_REACHED_S, "returned only when the window closed"


def test_bench_with_the_schedule_trigger_reports_copies_per_minute_and_rows_per_copy():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["bench", "--rows", "3000", "--seed", "5", "--trigger", "schedule",
                     "--load-every", "1", "--json"])
    assert code == 0
    figures = json.loads(out.getvalue())
    assert figures["trigger"] == "schedule" and figures["load_every_s"] == 1
    assert figures["concurrency"] == 1, "one drain at a time"
    assert figures["rows_per_copy"] == pytest.approx(figures["rows"] / figures["loads"], abs=0.1)
    assert figures["copies_per_minute"] > 0
    assert figures["loader_invocations"] >= figures["loads"] >= 1


def test_a_run_that_stops_ticking_drains_now_instead_of_at_the_next_scheduled_drain(tmp_path):
    """With a 300 s schedule (what --follow uses), the summary comes after one more drain."""
    from pipeline.aws.settings import LOAD_SCHEDULE as SCHEDULE
    from pipeline.aws.settings import Settings
    from pipeline.offline.run import run

    settings = Settings(warehouse_path=tmp_path / "w.duckdb", visibility_timeout_s=2,
                        batching_window_s=0, batch_size=10, seed=3)
    summary = run(settings, tick_count=2, interval_s=0, trigger=SCHEDULE, load_every_s=300,
                  drain_timeout_s=60)
    assert summary.drained, "waited for the scheduled drain 300 s away instead of draining"
    assert summary.loaded_rows == summary.published_rows > 0
    assert summary.copies >= 1


def test_a_run_without_a_window_for_the_deployed_batch_size_is_a_one_line_error(tmp_path, capsys):
    # Lambda refuses a batch size over 10 without a window of at least 1 s
    # (https://docs.aws.amazon.com/lambda/latest/dg/API_EventSourceMappingConfiguration.html);
    # the deployed batch size is 100.
    code = main(["run", "--trigger", "queue", "--batching-window", "0", "--ticks", "1",
                 "--visibility-timeout", "30", "--warehouse", str(tmp_path / "w.duckdb")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "--batching-window 0: a batch size over 10 (100) needs a batching window" in err[0]
    assert "PIPELINE_BATCH_SIZE=10" in err[0]
    assert not (tmp_path / "w.duckdb").exists(), "nothing ran"
