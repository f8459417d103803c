"""Readers of a running pipeline cannot write, hold the warehouse, or outlive a Ctrl-C.

While `pipeline run` holds the warehouse file, every reader (`pipeline query`,
`connect("local")`, any Data API caller but the loader) goes through its embedded
Data API, whose sessions other than the loader's are read-only in the engine: the
statement DuckDB would run is refused unless DuckDB's own parser calls it a SELECT,
whatever the Redshift text looked like, parseable or not. Redshift's documented
behaviours pinned here: a missing privilege is "permission denied for relation
...", `statement_timeout` ends a statement with "Query (N) canceled on user's
request" (https://docs.aws.amazon.com/redshift/latest/dg/r_statement_timeout.html),
and the Data API refuses a query string over 100 kB
(https://docs.aws.amazon.com/redshift/latest/mgmt/data-api.html, quotas).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pipeline.analysis.warehouse import connect
from pipeline.aws import boto
from pipeline.core.errors import PipelineError
from tests.integration.helpers import count, drain, publish

pytestmark = pytest.mark.integration

# Writes an analyst might try, in Redshift's words: the ones sqlglot parses and the ones it
# keeps as a bare command or cannot parse at all (SORTKEY, DISTSTYLE, SELECT INTO, ...).
WRITES = [
    "CREATE OR REPLACE TABLE scraped.load_ledger SORTKEY AUTO AS "
    "SELECT * FROM scraped.load_ledger WHERE false",
    "DELETE FROM scraped.load_ledger",
    "DELETE FROM scraped.telegram_messages WHERE part > 0",
    "UPDATE scraped.load_ledger SET row_count = 0",
    "INSERT INTO scraped.load_ledger SELECT * FROM scraped.load_ledger",
    "TRUNCATE scraped.telegram_messages",
    "DROP TABLE scraped.load_ledger",
    "DROP VIEW scraped.telegram_messages_latest",
    "ALTER TABLE scraped.load_ledger ADD COLUMN x INT",
    "CREATE TABLE scraped.copy_of DISTSTYLE ALL AS SELECT * FROM scraped.load_ledger",
    "CREATE TEMP TABLE t AS SELECT 1 AS x",
    "SELECT * INTO scraped.copy_of FROM scraped.load_ledger",
    "SELECT 1; DELETE FROM scraped.load_ledger",
    "LOCK scraped.load_ledger",
    "GRANT ALL ON scraped.load_ledger TO PUBLIC",
    "CREATE USER intruder PASSWORD 'Abcdefgh1'",
    "VACUUM scraped.telegram_messages",
    "COPY scraped.load_ledger FROM 's3://nowhere/x' IAM_ROLE 'arn:aws:iam::0:role/r' "
    "FORMAT AS JSON 'auto'",
]


# Redshift's answers: the privilege, or (for two statements in one ExecuteStatement) the
# Data API's own refusal; the embedded warehouse may also refuse a construct it lacks.
REFUSALS = ("permission denied", "cannot insert multiple commands", "unsupported")


# A six-way self join of the messages: with the hundreds of rows a seeded tick loads, some
# 10^15 rows to count, so it never ends on its own within a test.
LONG_READ = "SELECT COUNT(*) FROM " + ", ".join(
    f"scraped.telegram_messages t{i}" for i in range(6))


@pytest.fixture
def loaded(local_stack, dataset):
    publish(local_stack, dataset, seed=3)
    drain(local_stack)
    assert count(local_stack, "SELECT COUNT(*) FROM scraped.telegram_messages") >= 100
    return local_stack


def reader(stack: Any) -> Any:
    """A redshift-data client as an analyst: no SecretArn, so not the loader's identity."""
    return boto.client(stack.settings, "redshift-data",
                       endpoint_url=stack.settings.data_api_endpoint_url)


def run_as(client: Any, stack: Any, sql: str, secret: str | None = None) -> dict[str, Any]:
    target = {"WorkgroupName": "embedded", "Database": "dev"}
    if secret:
        target["SecretArn"] = secret
    statement = client.execute_statement(Sql=sql, **target)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        desc = client.describe_statement(Id=statement["Id"])
        if desc["Status"] in ("FINISHED", "FAILED", "ABORTED"):
            return desc
        time.sleep(0.05)
    raise AssertionError(f"{sql!r} did not end")


def figures(stack: Any) -> tuple[int, int]:
    return (count(stack, "SELECT COUNT(*) FROM scraped.load_ledger"),
            count(stack, "SELECT COUNT(*) FROM scraped.telegram_messages"))


@pytest.mark.parametrize("sql", WRITES)
def test_a_reader_session_cannot_change_the_warehouse_whatever_the_sql(loaded, sql):
    before = figures(loaded)

    desc = run_as(reader(loaded), loaded, sql)

    assert desc["Status"] == "FAILED"
    assert any(refusal in desc["Error"] for refusal in REFUSALS), desc["Error"]
    assert figures(loaded) == before


@pytest.mark.parametrize("sql", WRITES[:4])
def test_connect_local_through_the_running_pipeline_cannot_write(loaded, sql):
    before = figures(loaded)
    settings = dataclasses.replace(loaded.settings, queue_url=None, redshift_secret_arn=None)
    with connect("local", settings=settings) as conn, pytest.raises(PipelineError):
        conn.query(sql)
    assert figures(loaded) == before


def test_the_loader_identity_still_writes_and_readers_still_read(loaded):
    client = reader(loaded)
    desc = run_as(client, loaded, "SELECT COUNT(*) FROM scraped.load_ledger")
    assert desc["Status"] == "FINISHED"
    wrote = run_as(client, loaded, "CREATE TABLE scraped.loader_may AS SELECT 1 AS x",
                   secret=loaded.settings.redshift_secret_arn)
    assert wrote["Status"] == "FINISHED", wrote.get("Error")


def test_a_reader_statement_ends_at_its_statement_timeout(loaded):
    loaded.data_api.reader_timeout_s = 0.5
    client = reader(loaded)
    desc = run_as(client, loaded, LONG_READ)
    assert desc["Status"] == "FAILED"
    assert "canceled on user's request" in desc["Error"]


def test_the_data_api_refuses_a_query_string_over_100_kb(loaded):
    huge = "SELECT " + "+".join(["1"] * 60_000) + " AS x"
    with pytest.raises(ClientError, match="larger than 100kB") as refused:
        reader(loaded).execute_statement(Sql=huge, WorkgroupName="embedded", Database="dev")
    assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_ctrl_c_on_pipeline_query_cancels_its_statement_in_the_pipeline(loaded):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    query = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "query", "--warehouse",
         str(loaded.settings.warehouse_path),
         LONG_READ],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    started = _wait_for_a_running_reader(loaded)
    query.send_signal(signal.SIGINT)
    _, err = query.communicate(timeout=120)

    assert query.returncode == 130 and "Traceback" not in err
    assert started.done.wait(60)
    assert started.status == "ABORTED"


def _wait_for_a_running_reader(stack: Any) -> Any:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        running = [r for r in list(stack.data_api._records.values())
                   if r.read_only and r.status == "STARTED" and r.session is not None]
        if running:
            return running[0]
        time.sleep(0.05)
    raise AssertionError("the query never started in the pipeline")


def test_a_reader_on_the_file_delays_a_run_but_never_keeps_it_out(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    warehouse = tmp_path / "w.duckdb"
    first = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--ticks", "2",
                            "--seed", "5", "--interval", "0", "--warehouse", str(warehouse)],
                           env=env, capture_output=True, text=True, timeout=300, check=False)
    assert first.returncode == 0, first.stderr
    long_read = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "query", "--warehouse", str(warehouse),
         LONG_READ],
        env={**env, "PIPELINE_STATEMENT_TIMEOUT_S": "3"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_until_locked(warehouse)

    run = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--ticks", "1",
                          "--interval", "0", "--warehouse", str(warehouse)],
                         env=env, capture_output=True, text=True, timeout=300, check=False)
    _, read_err = long_read.communicate(timeout=120)

    assert run.returncode == 0, run.stderr
    assert long_read.returncode == 2 and "canceled on user's request" in read_err


def _wait_until_locked(path: Path) -> None:
    import duckdb

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            duckdb.connect(str(path)).close()
        except duckdb.IOException:
            return
        time.sleep(0.05)
    raise AssertionError("the reader never opened the file")
