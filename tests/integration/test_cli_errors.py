"""Every expected failure of `pipeline` is one line naming the cause and what to do.

Exit code 2 for what the user typed or configured, 1 for a failure of the run; never
a traceback (that is `--debug`'s job). Each case runs the real command in a process of
its own, as a user would.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import DATASET

pytestmark = pytest.mark.integration

Setup = Callable[[Path], tuple[list[str], dict[str, str]]]


def cli(args: list[str], env: dict[str, str] | None = None, stdin: str | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("PIPELINE_", "AWS_"))}
    base.update(env or {})
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], env=base, input=stdin,
                          capture_output=True, text=True, timeout=timeout, check=False)


def loaded(tmp: Path) -> Path:
    """A small warehouse made by `pipeline run` (one per test: tmp differs)."""
    path = tmp / "w" / "warehouse.duckdb"
    done = cli(["run", "--ticks", "1", "--interval", "0", "--seed", "1", "--json",
                "--warehouse", str(path)])
    assert done.returncode == 0, done.stderr
    return path


def bad_value_zip(tmp: Path) -> Path:
    with zipfile.ZipFile(DATASET) as zf:
        text = zf.read("telegram.csv").decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    rows[3][0] = "not-a-number"
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    path = tmp / "bad-value.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("telegram.csv", out.getvalue())
    return path


def case_bad_sql(tmp):
    return ["query", "--warehouse", str(loaded(tmp)), "SELEC 1"], {}


def case_unknown_table(tmp):
    return ["query", "--warehouse", str(loaded(tmp)), "SELECT * FROM scraped.nope"], {}


def case_missing_warehouse(tmp):
    return ["query", "--warehouse", str(tmp / "none.duckdb"), "SELECT 1"], {}


def case_missing_dataset(tmp):
    return (["run", "--ticks", "1", "--warehouse", str(tmp / "w.duckdb")],
            {"PIPELINE_DATASET_PATH": str(tmp / "none.zip")})


def case_corrupt_dataset(tmp):
    cut = tmp / "cut.zip"
    cut.write_bytes(DATASET.read_bytes()[:200_000])
    return (["run", "--ticks", "1", "--warehouse", str(tmp / "w.duckdb")],
            {"PIPELINE_DATASET_PATH": str(cut)})


def case_dataset_bad_value(tmp):
    return (["run", "--ticks", "1", "--interval", "0", "--warehouse", str(tmp / "w.duckdb")],
            {"PIPELINE_DATASET_PATH": str(bad_value_zip(tmp))})


def case_unwritable_warehouse(tmp):
    (tmp / "a-file").write_text("")
    return ["run", "--ticks", "1", "--warehouse", str(tmp / "a-file" / "w.duckdb")], {}


def case_malformed_setting(tmp):
    return ["query", "SELECT 1"], {"PIPELINE_SAMPLE_MAX": "lots"}


def case_nothing_running(tmp):
    return ["status", "--warehouse", str(tmp / "w.duckdb")], {}


def case_no_credentials(tmp):
    outputs = tmp / "outputs.json"
    outputs.write_text(json.dumps({"Stack": {
        "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
        "DlqUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq"}}))
    return (["status", "--stack-outputs", str(outputs)],
            {"AWS_CONFIG_FILE": str(tmp / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none"),
             "AWS_EC2_METADATA_DISABLED": "true"})


def case_negative_ticks(tmp):
    return ["run", "--ticks", "-1"], {}


def case_negative_interval(tmp):
    return ["run", "--interval", "-1"], {}


def case_no_pollers(tmp):
    return ["run", "--concurrency", "0"], {}


def case_negative_redrive_limit(tmp):
    return ["redrive", "--limit", "-3"], {}


def case_visibility_below_the_loader_timeout(tmp):
    return ["run", "--visibility-timeout", "0", "--warehouse", str(tmp / "w.duckdb")], {}


def case_follow_with_ticks(tmp):
    return ["run", "--follow", "--ticks", "3", "--warehouse", str(tmp / "w.duckdb")], {}


def case_no_sql(tmp):
    return ["query", "--warehouse", str(tmp / "w.duckdb"), "-f", str(tmp / "none.sql")], {}


CASES: list[tuple[Setup, int, str]] = [
    (case_bad_sql, 2, 'SQL error: syntax error at or near "SELEC"'),
    (case_unknown_table, 2, "SQL error:"),
    (case_missing_warehouse, 1, "run `make run`"),
    (case_missing_dataset, 2, "no dataset at"),
    (case_corrupt_dataset, 2, "is not a readable zip file"),
    (case_dataset_bad_value, 2, "column 'message_id': 'not-a-number' is not an integer"),
    (case_unwritable_warehouse, 1, "point --warehouse"),
    (case_malformed_setting, 2, "PIPELINE_SAMPLE_MAX='lots' is not an integer"),
    (case_nothing_running, 1, "no pipeline to talk to"),
    (case_no_credentials, 2, "no AWS credentials"),
    (case_negative_ticks, 2, "argument --ticks: must be 0 or more, got -1"),
    (case_negative_interval, 2, "argument --interval: must be 0 or more, got -1"),
    (case_no_pollers, 2, "argument --concurrency: must be 1 or more, got 0"),
    (case_negative_redrive_limit, 2, "argument --limit: must be 1 or more, got -3"),
    (case_visibility_below_the_loader_timeout, 2, "shorter than the loader's timeout"),
    (case_follow_with_ticks, 2, "do not combine it with --ticks"),
    (case_no_sql, 2, "cannot read -f"),
]


@pytest.mark.parametrize(("setup", "code", "says"), CASES,
                         ids=[c[0].__name__.removeprefix("case_") for c in CASES])
def test_an_expected_failure_is_one_line_and_an_exit_code(tmp_path, setup, code, says):
    args, env = setup(tmp_path)
    done = cli(args, env)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert len(lines) == 1, done.stderr
    assert says in lines[0]
    assert lines[0].startswith("pipeline ")


def test_debug_shows_the_traceback(tmp_path):
    done = cli(["query", "--debug", "--warehouse", str(tmp_path / "none.duckdb"), "SELECT 1"])
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "run `make run`" in done.stderr.splitlines()[-1]


def test_a_locked_warehouse_is_one_line_naming_the_lock(tmp_path):
    path = tmp_path / "locked.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('held', flush=True); time.sleep(600)", str(path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        # A run waits for a reader's statement timeout (readers on the file end by then),
        # then names the lock: a holder that is no reader keeps it out, and says so.
        done = cli(["run", "--ticks", "1", "--interval", "0", "--warehouse", str(path)],
                   env={"PIPELINE_STATEMENT_TIMEOUT_S": "1"})
    finally:
        holder.kill()
        holder.wait()
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "locked by another process" in lines[-1]
    assert all("waiting for a reader" in line for line in lines[:-1]), done.stderr


def test_query_reads_sql_from_a_file_and_from_stdin(tmp_path):
    path = loaded(tmp_path)
    sql = tmp_path / "q.sql"
    sql.write_text("SELECT COUNT(*) AS n\nFROM scraped.telegram_messages;\n")
    by_file = cli(["query", "--warehouse", str(path), "--format", "json", "-f", str(sql)])
    by_stdin = cli(["query", "--warehouse", str(path), "--format", "json"],
                   stdin=sql.read_text())
    assert by_file.returncode == by_stdin.returncode == 0, by_file.stderr + by_stdin.stderr
    assert json.loads(by_file.stdout) == json.loads(by_stdin.stdout)
    assert json.loads(by_file.stdout)[0]["n"] > 0


def test_a_second_run_on_a_warehouse_a_live_pipeline_serves_is_refused(tmp_path):
    from pipeline.aws.settings import Settings
    from pipeline.offline.stack import stack_file

    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        path = tmp_path / "w.duckdb"
        stack_file(Settings(warehouse_path=path)).write_text(json.dumps(
            {"pid": alive.pid, "env": {"PIPELINE_WAREHOUSE_PATH": str(path)}}))
        done = cli(["run", "--ticks", "1", "--warehouse", str(path)])
    finally:
        alive.kill()
        alive.wait()
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert f"a pipeline (pid {alive.pid}) is already running" in lines[0]
