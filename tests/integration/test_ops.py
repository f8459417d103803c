"""Recovery commands on the embedded stack: `status`, `redrive`, `reload`, and the CLI over them."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import UTC, datetime

import pytest

from pipeline.app.loader import load_batch
from pipeline.app.operate import RedriveResult
from pipeline.aws.settings import ENV_FIELDS, ENV_WAREHOUSE_PATH
from pipeline.aws.sqs import SqsQueue
from pipeline.cli import main
from pipeline.cli import operate as ops
from pipeline.core import staging
from pipeline.core.envelope import encode, parse_time
from pipeline.core.errors import PipelineError
from pipeline.offline.stack import stack_file
from tests.integration.helpers import (
    TERMINAL,
    FlakyWarehouse,
    assert_accounted,
    count,
    dlq_bodies,
    drain,
    keys,
    publish,
    sample,
    send_bodies,
    send_parts,
    sqs,
    store,
    warehouse,
    warm,
    with_bad_rows,
)

pytestmark = pytest.mark.integration

STATUS_KEYS = {
    "queue_visible", "queue_in_flight", "dlq_messages", "oldest_message_age_s",
    "staged_not_loaded", "oldest_staged_age_s", "rejected_objects", "rejected_rows",
    "loaded_parts", "loaded_rows", "last_load_at",
}


def crash_before_load(stack, parts) -> str:
    """Stage `parts` as the loader does and die before the load; returns the rows key left."""
    with pytest.raises(PipelineError):
        load_batch(parts, store(stack), FlakyWarehouse(warehouse(stack), loads=[1]),
                   datetime.now(UTC))
    (rows_key,) = [k for k in keys(stack, staging.INCOMING) if k.endswith(".rows.ndjson.gz")]
    return rows_key


def test_status_shows_queue_dlq_staged_rejected_and_last_load(local_stack, dataset):
    warm(local_stack)  # the loader's cold start creates the schema, as `pipeline run` does
    empty = ops.status(local_stack.settings)
    assert set(empty) == STATUS_KEYS
    assert (empty["loaded_parts"], empty["last_load_at"], empty["dlq_messages"]) == (0, None, 0)

    loaded = publish(local_stack, dataset, seed=71, sample_min=50, sample_max=200)
    send_parts(local_stack, [with_bad_rows(loaded[0].rows)])
    drain(local_stack)
    crash_before_load(local_stack, sample(local_stack, dataset, seed=72, sample_max=100))
    send_bodies(local_stack, ["{not json"], queue_url=local_stack.settings.dlq_url)
    waiting = publish(local_stack, dataset, seed=73, sample_min=300, sample_max=300,
                      max_message_bytes=32 * 1024)

    figures = ops.status(local_stack.settings)
    assert set(figures) == STATUS_KEYS
    assert figures["queue_visible"] == len(waiting) and figures["queue_in_flight"] == 0
    assert figures["dlq_messages"] == 1
    assert figures["staged_not_loaded"] == 1 and figures["oldest_staged_age_s"] >= 0
    assert figures["rejected_objects"] == 1 and figures["rejected_rows"] == 2
    assert figures["loaded_parts"] == len(loaded) + 1
    assert figures["loaded_rows"] == sum(len(p.rows) for p in loaded) + 1
    last = parse_time(str(figures["last_load_at"]).replace(" ", "T"))
    assert abs((datetime.now(UTC) - last).total_seconds()) < 120
    assert figures["oldest_message_age_s"] is None  # a CloudWatch metric: none offline


def test_redrive_moves_dlq_messages_back_and_once_fixed_they_load_once(local_stack, dataset):
    warm(local_stack)
    parts = []
    for seed in (74, 75, 76):
        parts += publish(local_stack, dataset, seed=seed, sample_min=20, sample_max=100)
    local_stack.data_api.inject_failures(50, TERMINAL)  # the warehouse refuses every load
    drain(local_stack)
    dead = dlq_bodies(local_stack)
    assert len(dead) == len(parts)
    local_stack.data_api.reset_faults()  # the cause is fixed
    assert assert_accounted(local_stack, parts).dlq_rows == sum(len(p.rows) for p in parts)

    assert ops.redrive(local_stack.settings, limit=1) == RedriveResult(
        moved=1, remaining=len(parts) - 1)
    assert ops.redrive(local_stack.settings) == RedriveResult(
        moved=len(parts) - 1, remaining=0)
    assert ops.redrive(local_stack.settings) == RedriveResult(moved=0, remaining=0)
    drain(local_stack)
    accounting = assert_accounted(local_stack, parts)
    assert accounting.loaded_rows == accounting.published_rows and not accounting.dlq_parts


def test_reload_loads_what_a_crash_left_in_incoming_and_a_reload_again_adds_nothing(
        local_stack, dataset):
    warm(local_stack)
    parts = sample(local_stack, dataset, seed=77, sample_min=100, sample_max=300,
                   max_message_bytes=16 * 1024)
    rows_key = crash_before_load(local_stack, parts)
    assert count(local_stack, "SELECT COUNT(*) FROM scraped.load_ledger") == 0

    result = ops.reload(local_stack.settings, rows_key)
    published = sum(len(p.rows) for p in parts)
    assert result["rows_added"] == result["rows_in_object"] == published
    assert result["parts_in_object"] == len(parts)
    assert keys(local_stack, staging.INCOMING) == []
    processed = staging.processed_key(rows_key)
    assert processed in keys(local_stack, staging.PROCESSED)

    again = ops.reload(local_stack.settings, processed)
    assert again["rows_added"] == 0 and again["rows_in_object"] == published
    assert keys(local_stack, staging.INCOMING) == []
    with pytest.raises(PipelineError, match="does not exist"):
        ops.reload(local_stack.settings, rows_key)  # it moved
    accounting = assert_accounted(local_stack, parts)
    assert accounting.loaded_rows == published


def run_cli(*argv: str) -> tuple[int, str]:
    """`pipeline ARGV...`: exit code and stdout. Not capsys: logs.configure() would bind the
    loggers' handler to capsys' stream, which is closed once the test ends."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


def test_cli_status_finds_the_running_local_stack_through_its_stack_file(local_stack, dataset,
                                                                        monkeypatch):
    parts = publish(local_stack, dataset, seed=78, sample_min=20, sample_max=50)
    drain(local_stack)
    send_bodies(local_stack, ["{not json"], queue_url=local_stack.settings.dlq_url)
    for name in ENV_FIELDS:  # another shell: no queue URLs, only where the warehouse lives
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(ENV_WAREHOUSE_PATH, str(local_stack.settings.warehouse_path))
    assert stack_file(local_stack.settings).exists()

    code, out = run_cli("status", "--json")
    assert code == 0
    figures = json.loads(out)
    assert set(figures) == STATUS_KEYS
    assert figures["loaded_rows"] == sum(len(p.rows) for p in parts)
    assert figures["dlq_messages"] == 1 and figures["queue_visible"] == 0

    assert run_cli("redrive", "--json") == (
        0, '{"moved": 1, "remaining": 0, "already_loaded": 0}\n')


def test_redrive_of_a_dlq_message_whose_part_is_loaded_drops_it_and_moves_nothing(
        local_stack, dataset):
    parts = publish(local_stack, dataset, seed=79, sample_min=20, sample_max=50)
    drain(local_stack)
    # the same part dead-lettered after its load (a redelivery that outlived its retries)
    send_bodies(local_stack, [encode(parts[0])], queue_url=local_stack.settings.dlq_url)

    result = ops.redrive(local_stack.settings)

    assert (result.moved, result.already_loaded, result.remaining) == (0, 1, 0)
    assert SqsQueue(sqs(local_stack), local_stack.settings.queue_url).depth().visible == 0
    assert_accounted(local_stack, parts)


def test_a_stale_stack_file_is_removed_and_status_reports_what_the_last_run_left(
        tmp_path, monkeypatch):
    import subprocess
    import sys

    from pipeline.aws.settings import Settings
    from pipeline.offline.emulator import queue_state_dir
    from pipeline.offline.journal import JOURNAL_FILE, STATE_FILE

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid no process has any more: what `kill -9` of a run leaves behind
    settings = Settings(warehouse_path=tmp_path / "warehouse.duckdb")
    stale = stack_file(settings)
    stale.write_text(json.dumps({"pid": gone.pid, "env": {
        "PIPELINE_QUEUE_URL": "http://127.0.0.1:9/000000000000/telegram-messages"}}))
    queue = queue_state_dir(settings)
    queue.mkdir()
    (queue / JOURNAL_FILE).write_text('{"body": "a"}\n{"body": "b"}\n')
    (queue / STATE_FILE).write_text(json.dumps({"source": [], "dlq": ["poison"]}))
    for name in ENV_FIELDS:
        monkeypatch.delenv(name, raising=False)

    code, out = run_cli("status", "--json", "--warehouse", str(settings.warehouse_path))

    assert code == 0
    assert not stale.exists()
    figures = json.loads(out)
    assert figures["queue_waiting_for_next_run"] == 2 and figures["dlq_messages"] == 1
    assert figures["pipeline"].startswith("not running")
