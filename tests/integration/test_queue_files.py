"""Files the pipeline wrote itself never stop it silently or lose what they hold.

A state file it cannot read stops the start with one line naming the file and what to
do, and the file is left as it was; a journal line it cannot read is quarantined with
its file and line, the run says so and exits 1; a stack file whose pid now belongs to
another process is recognised as stale and removed with a line naming it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.offline.journal import (
    JOURNAL_FILE,
    QUARANTINE_FILE,
    QUEUE_STATE_DIR,
    STATE_FILE,
)
from pipeline.offline.stack import STACK_FILE

pytestmark = pytest.mark.integration


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def run(warehouse: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return cli("run", "--ticks", "0", "--interval", "0", "--json",
               "--warehouse", str(warehouse), *args)


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b'{"dlq": "x"}', b'{"dlq": [1]}',
                                     b"\xff\xfe"])
def test_a_state_file_it_cannot_read_stops_the_start_with_one_line_and_is_kept(
        tmp_path: Path, content: bytes):
    queue = tmp_path / QUEUE_STATE_DIR
    queue.mkdir()
    (queue / STATE_FILE).write_bytes(content)

    done = run(tmp_path / "w.duckdb")

    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert str(queue / STATE_FILE) in lines[0] and "move it aside" in lines[0]
    assert (queue / STATE_FILE).read_bytes() == content  # nothing lost


def test_an_unreadable_journal_line_is_quarantined_named_and_the_rest_loads(tmp_path: Path):
    warehouse = tmp_path / "w.duckdb"
    done = cli("run", "--ticks", "2", "--seed", "3", "--interval", "0", "--json",
               "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stderr
    queue = tmp_path / QUEUE_STATE_DIR
    good = json.dumps({"body": json.dumps({"not": "an envelope"})})
    (queue / JOURNAL_FILE).write_bytes(b'{"body": "\xff broken"}\n' + good.encode() + b"\n"
                                       + b"[1, 2]\n")

    done = run(warehouse)

    summary = json.loads(done.stdout)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    recovered = queue / "recovering-1.ndjson"  # the journal, set aside by the start
    assert summary["quarantined"] == [f"{recovered} line 1: not UTF-8",
                                      f'{recovered} line 3: not {{"body": <string>}}']
    assert any("quarantined" in p for p in summary["problems"])
    kept = [json.loads(line) for line in (queue / QUARANTINE_FILE).read_text().splitlines()]
    assert [(k["line"], k["reason"]) for k in kept] == [(1, "not UTF-8"),
                                                         (3, 'not {"body": <string>}')]
    assert kept[0]["raw_latin1"].encode("latin-1") == b'{"body": "\xff broken"}'


def test_a_stack_file_whose_pid_is_another_process_is_stale_and_named(tmp_path: Path):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        stack = tmp_path / STACK_FILE
        stack.write_text(json.dumps({"pid": other.pid, "env": {
            "PIPELINE_QUEUE_URL": "http://127.0.0.1:9/000000000000/telegram-messages",
            "PIPELINE_DATA_API_ENDPOINT_URL": "http://127.0.0.1:9",
            "PIPELINE_WAREHOUSE_PATH": str(tmp_path / "w.duckdb")}}))

        done = run(tmp_path / "w.duckdb")

        assert done.returncode == 0, done.stderr
        assert f"removing a stale stack file {stack}" in done.stderr
        assert f"process {other.pid} is not a pipeline" in done.stderr
    finally:
        other.kill()
        other.wait()
