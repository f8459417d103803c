"""`kill -9` of `pipeline run` loses nothing: the next run loads every acknowledged row.

The embedded queue journals every body it accepts before the publisher hears back, so a
row the killed run published (its progress line printed) is in the warehouse after the
next `pipeline run --ticks 1 --json`, or named in that run's output as lost.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

TICK = re.compile(r"^tick \d+/\d+: published (\d+) rows in \d+ message\(s\), batch (\S+)$")


def pipeline(*args: str, **kwargs) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    return subprocess.Popen([sys.executable, "-m", "pipeline.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_rows_published_before_a_kill_9_are_loaded_by_the_next_run(tmp_path: Path):
    warehouse = str(tmp_path / "w.duckdb")
    killed = pipeline("run", "--ticks", "40", "--interval", "0.25", "--seed", "11",
                      "--warehouse", warehouse)
    published: dict[str, int] = {}
    deadline = time.monotonic() + 180
    assert killed.stderr is not None
    for line in killed.stderr:
        match = TICK.match(line.strip())
        if match:
            published[match[2]] = int(match[1])
        if len(published) >= 6 or time.monotonic() > deadline:
            break
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert len(published) >= 6, "the run did not get to six ticks"

    rerun = pipeline("run", "--ticks", "1", "--interval", "0", "--seed", "12", "--json",
                     "--warehouse", warehouse)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    summary = json.loads(out)
    assert "Traceback" not in err

    assert summary["lost"] == [] and summary["unaccounted_rows"] == 0
    assert summary["problems"] == []
    assert set(published) <= set(summary["recovered_batch_ids"])
    # every row the killed run announced, plus this run's, is loaded or rejected, once
    assert summary["recovered_rows"] >= sum(published.values())
    assert (summary["loaded_rows"] + summary["rejected_rows"]
            == summary["recovered_rows"] + summary["published_rows"])
    assert summary["warehouse_rows"] == summary["ledger_rows"] == summary["loaded_rows"]

    query = pipeline("query", "--warehouse", warehouse, "--format", "json",
                     "SELECT batch_id, SUM(row_count + rejected_count) AS n "
                     "FROM scraped.load_ledger GROUP BY batch_id")
    out, err = query.communicate(timeout=120)
    assert query.returncode == 0, err
    landed = {r["batch_id"]: r["n"] for r in json.loads(out)}
    assert {b: landed.get(b) for b in published} == published
