"""The embedded Redshift Data API over HTTP: a real boto3 client, the emulated S3, a DuckDB file."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pipeline.aws import boto, sql
from pipeline.aws.settings import Settings

pytestmark = pytest.mark.integration

TARGET = {"WorkgroupName": "embedded", "Database": "dev"}
ROLE = "arn:aws:iam::000000000000:role/embedded-copy"
FINAL = ("FINISHED", "FAILED", "ABORTED")


class Stack:
    """Emulator + embedded Data API + a redshift-data client, shared by the module's tests."""

    def __init__(self, emulator: Any, api: Any) -> None:
        self.emulator = emulator
        self.api = api
        self.settings: Settings = emulator.settings
        self.client = boto.client(self.settings, "redshift-data", endpoint_url=api.endpoint_url)
        self.s3 = boto.client(self.settings, "s3")
        self.bucket = self.settings.bucket

    def wait(self, statement_id: str, timeout_s: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            desc = self.client.describe_statement(Id=statement_id)
            if desc["Status"] in FINAL:
                return desc
            assert time.monotonic() < deadline, f"statement still {desc['Status']}"
            time.sleep(0.01)

    def run(self, statement: str, **kwargs: Any) -> dict[str, Any]:
        return self.wait(self.client.execute_statement(Sql=statement, **TARGET, **kwargs)["Id"])

    def batch(self, statements: list[str], **kwargs: Any) -> dict[str, Any]:
        response = self.client.batch_execute_statement(Sqls=statements, **TARGET, **kwargs)
        return self.wait(response["Id"])

    def rows(self, statement: str, **kwargs: Any) -> list[list[Any]]:
        desc = self.run(statement, **kwargs)
        assert desc["Status"] == "FINISHED", desc.get("Error")
        out = []
        for page in self.client.get_paginator("get_statement_result").paginate(Id=desc["Id"]):
            out.extend([_value(f) for f in record] for record in page["Records"])
        return out

    def put_ndjson(self, key: str, lines: list[dict[str, Any]]) -> str:
        body = gzip.compress(("\n".join(json.dumps(x) for x in lines) + "\n").encode())
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        return f"s3://{self.bucket}/{key}"

    def put_manifest(self, key: str, urls: list[str]) -> str:
        entries = [{"url": u, "mandatory": True} for u in urls]
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=json.dumps({"entries": entries}))
        return f"s3://{self.bucket}/{key}"

    def stage(self, rows: int = 3) -> tuple[str, list[str]]:
        """A staged part of `rows` messages: its batch id and the load transaction for it."""
        batch_id = str(uuid.uuid4())
        prefix = f"incoming/2026/11/25/{batch_id}"
        messages = [message(batch_id, i) for i in range(rows)]
        part = {"batch_id": batch_id, "part": 1, "parts": 1, "object_key": f"{prefix}.ndjson.gz",
                "row_count": rows, "rejected_count": 0, "published_at": "2024-03-01T12:00:00Z"}
        rows_manifest = self.put_manifest(f"{prefix}.rows.manifest",
                                          [self.put_ndjson(f"{prefix}.ndjson.gz", messages)])
        parts_manifest = self.put_manifest(f"{prefix}.parts.manifest",
                                           [self.put_ndjson(f"{prefix}.parts.ndjson.gz", [part])])
        return batch_id, sql.render_load("scraped", rows_manifest, parts_manifest, ROLE)

    def loaded(self, batch_id: str) -> tuple[int, int]:
        """(message rows, ledger rows) of one batch."""
        params = [{"name": "b", "value": batch_id}]
        messages = self.rows("SELECT COUNT(*) FROM scraped.telegram_messages WHERE batch_id = :b",
                             Parameters=params)[0][0]
        ledger = self.rows("SELECT COUNT(*) FROM scraped.load_ledger WHERE batch_id = :b",
                           Parameters=params)[0][0]
        return messages, ledger


def _value(field: dict[str, Any]) -> Any:
    if field.get("isNull"):
        return None
    (value,) = field.values()
    return value


def message(batch_id: str, row_no: int) -> dict[str, Any]:
    return {
        "message_id": 1000 + row_no,
        "message_timestamp": "2024-03-01T12:34:56Z",
        "message_content": f"long $BTC and $ETH #{row_no}, \"quoted\" | piped\nnewline",
        "reply_message_id": None,
        "trader_id": 42,
        "chat_link": 7,
        "processing_time": "2024-03-01T12:35:00.123456+00:00",
        "entities": {"tickers": ["BTC", "ETH"], "signal": {"side": "buy", "entry": 61000.5}},
        "raw": {"message_id": str(1000 + row_no), "extra": [1, 2]},
        "batch_id": batch_id,
        "part": 1,
        "row_no": row_no,
        "ignored_extra_key": True,
    }


def _reset_moto() -> None:
    """moto keeps its backends per process, across servers: the queue these default settings
    provision must not collide with one another module provisioned differently."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from pipeline.offline.emulator import start_emulator
    from pipeline.offline.warehouse import EmbeddedDataApi

    _reset_moto()
    try:
        path = tmp_path_factory.mktemp("embedded") / "nested" / "warehouse.duckdb"
        # the queue journal goes beside the warehouse: in tmp, never in the checkout's var/
        with (start_emulator(Settings(warehouse_path=path)) as emulator,
              EmbeddedDataApi.start(path, emulator.settings) as api):
            stack = Stack(emulator, api)
            assert stack.batch(sql.render_ddl("scraped"))["Status"] == "FINISHED"
            yield stack
    finally:
        _reset_moto()


@pytest.fixture
def faults(stack: Stack) -> Iterator[Any]:
    yield stack.api
    stack.api.reset_faults()


def test_ddl_runs_again_without_effect(stack):
    for _ in range(2):
        desc = stack.batch(sql.render_ddl("scraped"))
        assert desc["Status"] == "FINISHED", desc.get("Error")
        assert [s["Status"] for s in desc["SubStatements"]] == ["FINISHED"] * 4
    tables = stack.rows("SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = 'scraped' ORDER BY table_name")
    assert tables == [["load_ledger"], ["telegram_messages"], ["telegram_messages_latest"]]


def test_load_batch_loads_rows_with_navigable_super_columns(stack):
    batch_id, load = stack.stage(rows=3)
    desc = stack.batch(load)
    assert desc["Status"] == "FINISHED", desc.get("Error")
    subs = desc["SubStatements"]
    assert [s["Id"] for s in subs] == [f"{desc['Id']}:{i}" for i in range(1, len(load) + 1)]
    assert subs[3]["ResultRows"] == 3  # the COPY of the rows
    assert stack.loaded(batch_id) == (3, 1)
    got = stack.rows(
        "SELECT entities.tickers[0], m.entities.signal.side, m.raw.extra[1], message_timestamp, "
        "message_content, reply_message_id, loaded_at IS NOT NULL "
        "FROM scraped.telegram_messages AS m WHERE batch_id = :b ORDER BY row_no",
        Parameters=[{"name": "b", "value": batch_id}],
    )
    assert got[0] == ['"BTC"', '"buy"', "2", "2024-03-01 12:34:56+00",
                      message(batch_id, 0)["message_content"], None, True]


def test_same_load_again_is_a_no_op_through_the_ledger(stack):
    batch_id, load = stack.stage(rows=4)
    assert stack.batch(load)["Status"] == "FINISHED"
    again = stack.batch(load)
    assert again["Status"] == "FINISHED", again.get("Error")
    assert again["SubStatements"][5]["ResultRows"] == 1  # DELETE ... USING ledger dropped it
    assert again["SubStatements"][6]["ResultRows"] == 0  # nothing inserted
    assert stack.loaded(batch_id) == (4, 1)


def test_two_concurrent_identical_loads_leave_one_copy(stack):
    batch_id, load = stack.stage(rows=5)
    ids = [stack.client.batch_execute_statement(Sqls=load, **TARGET)["Id"] for _ in range(2)]
    descs = [stack.wait(i) for i in ids]
    assert [d["Status"] for d in descs] == ["FINISHED", "FINISHED"]
    # One inserted the part; the other waited on LOCK, then saw it in the ledger.
    assert sorted(d["SubStatements"][6]["ResultRows"] for d in descs) == [0, 5]
    assert stack.loaded(batch_id) == (5, 1)


def test_lock_holds_a_second_transaction_until_the_first_commits(stack):
    assert stack.run("CREATE TABLE IF NOT EXISTS scraped.lock_probe (n BIGINT)")["Status"] == (
        "FINISHED")
    slow = stack.client.batch_execute_statement(Sqls=[
        "LOCK scraped.lock_probe",
        # Hold the lock a while (about a second), in Redshift SQL: the embedded warehouse
        # refuses DuckDB-only functions such as generate_series.
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 60000)"
        " SELECT SUM(n) FROM t",
        "INSERT INTO scraped.lock_probe VALUES (1)",
    ], **TARGET)["Id"]
    while stack.client.describe_statement(Id=f"{slow}:2")["Status"] == "SUBMITTED":
        time.sleep(0.005)  # the slow batch now holds the lock
    follower = stack.client.batch_execute_statement(Sqls=[
        "LOCK scraped.lock_probe",
        "INSERT INTO scraped.lock_probe SELECT COUNT(*) + 1 FROM scraped.lock_probe",
    ], **TARGET)["Id"]
    assert stack.wait(slow)["Status"] == stack.wait(follower)["Status"] == "FINISHED"
    # The follower's snapshot was taken after the lock: it saw the first row.
    assert stack.rows("SELECT n FROM scraped.lock_probe ORDER BY n") == [[1], [2]]


def test_a_failing_statement_rolls_the_batch_back(stack):
    desc = stack.batch(["CREATE TABLE scraped.rolled_back (a INT)",
                        "INSERT INTO scraped.rolled_back VALUES (1)",
                        "SELECT * FROM scraped.nope",
                        "SELECT 1"])
    assert desc["Status"] == "FAILED"
    assert desc["Error"] == 'ERROR: relation "scraped.nope" does not exist'
    assert [s["Status"] for s in desc["SubStatements"]] == [
        "FINISHED", "FINISHED", "FAILED", "ABORTED"]
    assert stack.run("SELECT * FROM scraped.rolled_back")["Status"] == "FAILED"


@pytest.mark.parametrize(("statement", "error"), [
    ("SELECT * FROM scraped.nope", 'ERROR: relation "scraped.nope" does not exist'),
    ("SELEC 1", 'ERROR: syntax error at or near "SELEC"'),
    ("SELECT nope FROM scraped.load_ledger", 'ERROR: column "nope" does not exist'),
    ("SELECT 1; SELECT 2", "ERROR: cannot insert multiple commands into a prepared statement"),
    ("UNLOAD ('SELECT 1') TO 's3://b/x' IAM_ROLE 'r'",
     "ERROR: unsupported on the embedded warehouse: UNLOAD"),
])
def test_bad_sql_fails_with_a_redshift_like_error(stack, statement, error):
    desc = stack.run(statement)
    assert (desc["Status"], desc["Error"]) == ("FAILED", error)


def test_results_are_typed_and_paged(stack):
    desc = stack.run(
        "WITH RECURSIVE t(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM t WHERE g < 2500) "
        "SELECT g AS n, g * 1.5::float8 AS f, g % 2 = 0 AS even, 'row ' || g::varchar AS s, "
        "CAST(g AS NUMERIC(10, 2)) AS d, CAST(g AS INTEGER) AS i, "
        "TIMESTAMPTZ '2024-03-01 12:34:56.5+00' AS ts, DATE '2024-03-01' AS dt, "
        "JSON_PARSE('{\"a\": [1]}') AS sup, NULL AS nothing "
        "FROM t ORDER BY g"
    )
    assert desc["Status"] == "FINISHED", desc.get("Error")
    assert (desc["HasResultSet"], desc["ResultRows"]) == (True, 2500)
    first = stack.client.get_statement_result(Id=desc["Id"])
    assert first["TotalNumRows"] == 2500
    assert "NextToken" in first and len(first["Records"]) < 2500
    types = {c["name"]: c["typeName"] for c in first["ColumnMetadata"]}
    assert types == {"n": "int4", "f": "float8", "even": "bool", "s": "varchar", "d": "numeric",
                     "i": "int4", "ts": "timestamptz", "dt": "date", "sup": "super",
                     "nothing": "varchar"}
    assert first["Records"][0] == [
        {"longValue": 1}, {"doubleValue": 1.5}, {"booleanValue": False},
        {"stringValue": "row 1"}, {"stringValue": "1.00"}, {"longValue": 1},
        {"stringValue": "2024-03-01 12:34:56.5+00"}, {"stringValue": "2024-03-01"},
        {"stringValue": '{"a":[1]}'}, {"isNull": True},
    ]
    pages = list(stack.client.get_paginator("get_statement_result").paginate(Id=desc["Id"]))
    assert len(pages) > 1
    assert [r[0]["longValue"] for p in pages for r in p["Records"]] == list(range(1, 2501))


def test_batch_results_are_read_by_sub_statement_id(stack):
    desc = stack.batch(["SELECT 1 AS one", "SELECT 2 AS two"])
    with pytest.raises(ClientError, match="sub-statement id") as err:
        stack.client.get_statement_result(Id=desc["Id"])
    assert err.value.response["Error"]["Code"] == "ValidationException"
    second = stack.client.get_statement_result(Id=f"{desc['Id']}:2")
    assert second["Records"] == [[{"longValue": 2}]]


def test_unknown_statement_is_resource_not_found(stack):
    with pytest.raises(ClientError) as err:
        stack.client.describe_statement(Id=str(uuid.uuid4()))
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_cancel_aborts_a_delayed_statement(stack, faults):
    faults.inject_delay(10, count=1)
    statement_id = stack.client.execute_statement(Sql="SELECT 1", **TARGET)["Id"]
    assert stack.client.describe_statement(Id=statement_id)["Status"] in (
        "SUBMITTED", "PICKED", "STARTED")
    assert stack.client.cancel_statement(Id=statement_id)["Status"] is True
    assert stack.wait(statement_id)["Status"] == "ABORTED"
    with pytest.raises(ClientError, match="ABORTED"):
        stack.client.cancel_statement(Id=statement_id)


def test_cancel_interrupts_a_running_query(stack):
    statement_id = stack.client.execute_statement(
        Sql="WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 100000000)"
            " SELECT COUNT(*) FROM t", **TARGET)["Id"]
    deadline = time.monotonic() + 5
    while stack.client.describe_statement(Id=statement_id)["Status"] != "STARTED":
        assert time.monotonic() < deadline, "the query never started"
        time.sleep(0.005)
    cancelled_at = time.monotonic()
    stack.client.cancel_statement(Id=statement_id)
    assert stack.wait(statement_id)["Status"] == "ABORTED"
    # uncancelled, the query runs for minutes: ABORTED within seconds means it was interrupted
    assert time.monotonic() - cancelled_at < 5


def test_injected_failures_fail_the_next_statements_only(stack, faults):
    before = faults.statement_count()
    faults.inject_failures(1)
    failed = stack.run("SELECT 1")
    assert failed["Status"] == "FAILED" and failed["Error"].startswith("ERROR: 1023")
    assert stack.run("SELECT 1")["Status"] == "FINISHED"
    assert faults.statement_count() == before + 2


def test_client_token_makes_submission_idempotent(stack):
    token = str(uuid.uuid4())
    first = stack.client.execute_statement(Sql="SELECT 1", ClientToken=token, **TARGET)
    again = stack.client.execute_statement(Sql="SELECT 1", ClientToken=token, **TARGET)
    assert first["Id"] == again["Id"]
    with pytest.raises(ClientError) as err:
        stack.client.execute_statement(Sql="SELECT 2", ClientToken=token, **TARGET)
    assert err.value.response["Error"]["Code"] == "ValidationException"


def test_copy_of_a_missing_object_fails_and_load_errors_say_why(stack):
    missing = f"s3://{stack.bucket}/incoming/missing-{uuid.uuid4()}.ndjson.gz"
    manifest = stack.put_manifest(f"incoming/{uuid.uuid4()}.manifest", [missing])
    desc = stack.batch([
        "CREATE TEMP TABLE stage_parts (batch_id VARCHAR(36), part INTEGER)",
        f"COPY stage_parts (batch_id, part) FROM '{manifest}' IAM_ROLE '{ROLE}' "
        "FORMAT AS JSON 'auto' GZIP MANIFEST TIMEFORMAT 'auto'",
    ])
    assert desc["Status"] == "FAILED"
    assert desc["Error"] == ("ERROR: Load into table 'stage_parts' failed. "
                             "Check 'sys_load_error_detail' system table for details.")
    copy_query_id = desc["SubStatements"][1]["RedshiftQueryId"]
    details = stack.rows("SELECT query_id, TRIM(file_name), error_code, TRIM(error_message) "
                         "FROM sys_load_error_detail ORDER BY start_time DESC LIMIT 10")
    assert [copy_query_id, missing, 1212] == details[0][:3]
    assert "does not exist" in details[0][3]


def test_copy_reports_the_line_and_column_of_a_bad_value(stack):
    url = stack.put_ndjson(f"prefix-{uuid.uuid4()}/part-0.json.gz",
                           [{"a": 1, "e": {"x": 1}}, {"a": "one", "e": None}])
    desc = stack.batch([
        "CREATE TEMP TABLE t (a BIGINT NOT NULL, e SUPER)",
        f"COPY t FROM '{url.rsplit('/', 1)[0]}/' IAM_ROLE '{ROLE}' FORMAT AS JSON 'auto' GZIP",
    ])
    assert desc["Status"] == "FAILED"
    details = stack.rows("SELECT TRIM(file_name), line_number, TRIM(column_name), error_code "
                         "FROM sys_load_error_detail ORDER BY start_time DESC LIMIT 1")
    assert details == [[url, 2, "a", 1207]]
