"""`pipeline run` accounts for every row once and exits non-zero when any did not arrive.

And one writer, many readers: while `pipeline run --follow` holds the warehouse,
`pipeline query`, `pipeline validate` and `connect("local")` read through its
embedded Data API; a reader never keeps a later run out of the file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.analysis.warehouse import connect
from pipeline.aws.settings import Settings
from pipeline.offline.journal import JOURNAL_FILE, QUEUE_STATE_DIR, STATE_FILE
from pipeline.offline.stack import STACK_FILE

pytestmark = pytest.mark.integration


def cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def run_json(warehouse: Path, *args: str) -> tuple[int, dict, str]:
    done = cli("run", "--interval", "0", "--json", "--warehouse", str(warehouse), *args)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout), done.stderr


def test_a_run_with_a_message_in_the_dlq_exits_non_zero_and_says_why(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    queue = tmp_path / QUEUE_STATE_DIR
    queue.mkdir()
    # a body a killed run had published that no loader can parse
    (queue / JOURNAL_FILE).write_text(json.dumps({"body": "{not json"}) + "\n")

    code, summary, err = run_json(warehouse, "--ticks", "1", "--seed", "4")

    assert code == 1
    assert summary["dlq_messages"] == 1 and summary["dlq_undecodable"] == 1
    assert any("dead-lettered" in p for p in summary["problems"])
    assert "pipeline run: 1 message(s) dead-lettered" in err
    # this run's own rows all landed; the DLQ is kept for the next run and for validate
    assert summary["loaded_rows"] + summary["rejected_rows"] == summary["published_rows"]
    assert json.loads((queue / STATE_FILE).read_text())["dlq"] == ["{not json"]
    code, again, _ = run_json(warehouse, "--ticks", "0")
    assert code == 1 and again["dlq_messages"] == 1


def test_a_dlq_message_whose_part_is_loaded_is_counted_once_as_loaded(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    code, first, _ = run_json(warehouse, "--ticks", "1", "--seed", "5")
    assert code == 0 and first["problems"] == []
    loaded = {"batch_id": first["batch_ids"][0], "part": 1, "rows": [{}] * 3}
    state = tmp_path / QUEUE_STATE_DIR / STATE_FILE
    state.write_text(json.dumps({"source": [], "dlq": [json.dumps(loaded)]}))

    code, summary, err = run_json(warehouse, "--ticks", "0")

    assert code == 0, err
    assert summary["dlq_messages"] == 1 and summary["dlq_already_loaded"] == 1
    assert summary["dlq_rows"] == 0 and summary["unaccounted_rows"] == 0
    assert summary["warehouse_rows"] == first["warehouse_rows"]  # not loaded twice
    assert "hold parts already in the ledger" in err


def test_readers_go_through_the_running_pipeline_and_never_block_it(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    settings = Settings(warehouse_path=warehouse)
    code, _, _ = run_json(warehouse, "--ticks", "1", "--seed", "6")
    assert code == 0
    # a notebook's connection, open (and used) before the pipeline starts, holds nothing
    notebook = connect("local", settings, warehouse_path=warehouse)
    before = int(notebook.query("SELECT COUNT(*) AS n FROM scraped.telegram_messages")["n"][0])

    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    follow = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "run", "--follow", "--interval", "1",
         "--trigger", "queue",
         "--seed", "7", "--warehouse", str(warehouse)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / STACK_FILE).exists():
            assert follow.poll() is None, follow.stderr.read() if follow.stderr else ""
            assert time.monotonic() < deadline, "the stack file never appeared"
            time.sleep(0.2)

        # the notebook opened earlier keeps working, now through the Data API
        count = "SELECT COUNT(*) AS n FROM scraped.telegram_messages"
        while int(notebook.query(count)["n"][0]) <= before:
            assert time.monotonic() < deadline, "nothing new was loaded"
            time.sleep(0.5)
        frame = notebook.query("SELECT message_id, message_timestamp, entities "
                               "FROM scraped.telegram_messages LIMIT 3")
        assert len(frame) == 3 and str(frame["message_timestamp"].dtype).startswith("datetime")

        query = cli("query", "--warehouse", str(warehouse), "--format", "json", count)
        assert query.returncode == 0, query.stderr
        assert json.loads(query.stdout)[0]["n"] > before

        validate = cli("validate", "--warehouse", str(warehouse), "--notebook", "03",
                       "--reports", str(tmp_path / "reports"))
        assert validate.returncode == 0, validate.stderr
        assert "PASSED" in validate.stdout and "Traceback" not in validate.stderr
    finally:
        follow.send_signal(signal.SIGINT)
        _, err = follow.communicate(timeout=300)
    assert follow.returncode == 0, err
    assert "Traceback" not in err
    assert not (tmp_path / STACK_FILE).exists()
    # and with no pipeline running, the reader opens the file read-only again
    assert int(notebook.query(count)["n"][0]) > before
    notebook.close()
