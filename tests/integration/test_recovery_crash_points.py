"""A recovery stopped at any point is itself recovered: every published row loads once.

The set-up publishes several ticks to the embedded queue and stops it the way a
kill does (no clean stop), leaving only the journal and the published index. A
child `pipeline run --ticks 0` then recovers, drains and stops, with a fault hook
(`pipeline.offline.faults`) that stops it at the N-th fault point: SIGKILL at every
point, SIGTERM and Ctrl-C at some, and kills chained over two recoveries. After
each, one more `pipeline run` must account for every published row exactly once,
from the published index, which recovery never rewrites. Points, not sleeps: each
stop lands between two exact steps.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.aws.settings import Settings
from pipeline.offline.journal import JOURNAL_FILE, QUEUE_STATE_DIR, QueueFiles

pytestmark = pytest.mark.integration

DRIVER = Path(__file__).with_name("crash_driver.py")
# Small parts, so a few ticks journal enough bodies for several resend chunks.
PART_BYTES = 16_384
# The points the prepared journal takes a run through, at least (asserted below): recovery's
# begin, each resend chunk and retire, then the clean stop's state write and journal clear.
POINTS = 10


def cli_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}


@pytest.fixture(scope="module")
def killed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse directory as a `kill -9` of a publishing run leaves it: journal only."""
    from pipeline.lambdas import publisher
    from pipeline.offline.emulator import start_emulator
    from pipeline.offline.runtime import scheduled_event

    directory = tmp_path_factory.mktemp("killed")
    settings = Settings(warehouse_path=directory / "w.duckdb", seed=7,
                        max_message_bytes=PART_BYTES)
    emulator = start_emulator(settings)
    deps = publisher.dependencies(emulator.settings)
    for _ in range(10):  # version 2 parts hold ~1.6x the rows of version 1's: more ticks
        publisher.handle(scheduled_event(emulator.settings, datetime.now(UTC)), None, deps)
    emulator.server.stop()  # no clean stop: what SIGKILL leaves behind
    return directory


def published(directory: Path) -> dict[tuple[str, int], int]:
    return QueueFiles(directory / QUEUE_STATE_DIR).published_parts()


def copy_of(killed: Path, tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(killed, target)
    return target


def stopped_recovery(directory: Path, point: int, how: str) -> list[str]:
    """A `pipeline run --ticks 0` stopped at the `point`-th fault point; the points it passed."""
    record = directory / f"points-{point}-{how}.txt"
    done = subprocess.run(
        [sys.executable, str(DRIVER), str(point), how, str(record), "--",
         "run", "--ticks", "0", "--interval", "0", "--json",
         "--warehouse", str(directory / "w.duckdb")],
        env=cli_env(), capture_output=True, text=True, timeout=300, check=False)
    assert "Traceback" not in done.stderr, done.stderr
    points = record.read_text().split() if record.exists() else []
    if point:
        assert len(points) == point, (points, done.stderr)  # it stopped where it was told
        assert done.returncode != 0
    return points


def final_run(directory: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", "--ticks", "0", "--interval", "0",
         "--json", "--warehouse", str(directory / "w.duckdb")],
        env=cli_env(), capture_output=True, text=True, timeout=300, check=False)
    assert "Traceback" not in done.stderr, done.stderr
    summary = json.loads(done.stdout)
    summary["exit_code"] = done.returncode
    return summary


def assert_every_published_row_loaded_once(directory: Path,
                                            expected: dict[tuple[str, int], int]) -> None:
    summary = final_run(directory)
    assert summary["exit_code"] == 0, summary["problems"]
    assert summary["lost"] == [] and summary["unaccounted_rows"] == 0
    import duckdb

    con = duckdb.connect(str(directory / "w.duckdb"), read_only=True)
    try:
        ledger = {(b, int(p)): int(n) + int(r) for b, p, n, r in con.execute(
            "SELECT batch_id, part, row_count, rejected_count FROM scraped.load_ledger"
        ).fetchall()}
        rows, distinct = con.execute(
            "SELECT COUNT(*), COUNT(DISTINCT (batch_id, part, row_no)) "
            "FROM scraped.telegram_messages").fetchone()
        rejected = con.execute(
            "SELECT COALESCE(SUM(rejected_count), 0) FROM scraped.load_ledger").fetchone()[0]
    finally:
        con.close()
    assert ledger == expected  # every part once, with all its rows loaded or rejected
    assert rows == distinct == sum(expected.values()) - rejected  # and no row twice


def test_the_prepared_journal_takes_recovery_through_enough_points(killed_run: Path,
                                                                   tmp_path: Path):
    directory = copy_of(killed_run, tmp_path)
    points = stopped_recovery(directory, 0, "kill")
    assert points[0] == "recovery.begun" and points[-1] == "stop.journal_cleared"
    assert len(points) >= POINTS, points
    assert_every_published_row_loaded_once(directory, published(killed_run))


@pytest.mark.parametrize("point", range(1, POINTS + 1))
def test_kill_9_at_any_point_of_recovery_then_one_run_loads_every_row_once(
        killed_run: Path, tmp_path: Path, point: int):
    directory = copy_of(killed_run, tmp_path)
    stopped_recovery(directory, point, "kill")
    assert_every_published_row_loaded_once(directory, published(killed_run))


@pytest.mark.parametrize(("point", "how"), [(2, "term"), (5, "int")])
def test_sigterm_or_ctrl_c_during_recovery_then_one_run_loads_every_row_once(
        killed_run: Path, tmp_path: Path, point: int, how: str):
    directory = copy_of(killed_run, tmp_path)
    stopped_recovery(directory, point, how)
    assert_every_published_row_loaded_once(directory, published(killed_run))


@pytest.mark.parametrize(("first", "second"), [(3, 2), (6, 4)])
def test_a_recovery_of_an_interrupted_recovery_killed_again_still_loses_nothing(
        killed_run: Path, tmp_path: Path, first: int, second: int):
    directory = copy_of(killed_run, tmp_path)
    stopped_recovery(directory, first, "kill")
    stopped_recovery(directory, second, "kill")
    assert_every_published_row_loaded_once(directory, published(killed_run))


def test_a_journal_that_vanished_is_named_as_lost_and_the_run_exits_1(killed_run: Path,
                                                                      tmp_path: Path):
    directory = copy_of(killed_run, tmp_path)
    (directory / QUEUE_STATE_DIR / JOURNAL_FILE).unlink()  # what the old recovery did

    summary = final_run(directory)

    assert summary["exit_code"] == 1
    expected = published(killed_run)
    assert {(lost["batch_id"], lost["part"]) for lost in summary["lost"]} == set(expected)
    assert summary["unaccounted_rows"] == sum(expected.values())
    assert any("lost:" in problem for problem in summary["problems"])
