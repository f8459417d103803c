"""The Data API client against the real redshift-data request/response model (botocore Stubber).

Nothing offline can fail the way Redshift does (throttling, 1023, COPY rejects,
statements that never end), so these tests stub the service at the wire model
and assert every request's shape. Time is a fake clock: no test sleeps.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ConnectionClosedError
from botocore.stub import ANY, Stubber

from pipeline.aws import sql
from pipeline.aws.dataapi import (
    EMBEDDED_WORKGROUP,
    LOAD_ERROR_QUERIES,
    Backoff,
    DataApi,
    DataApiWarehouse,
    Result,
    StatementTimeoutError,
    build,
)
from pipeline.aws.settings import Settings
from pipeline.core.errors import (
    MissingObjectError,
    TerminalWarehouseError,
    TransientError,
    TransientWarehouseError,
)

pytestmark = pytest.mark.unit

SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:redshift-loader-AbCdEf"
ROLE = "arn:aws:iam::123456789012:role/redshift-copy"
ROWS_MANIFEST = "s3://telegram-staging/incoming/2026/01/02/abc.rows.manifest"
PARTS_MANIFEST = "s3://telegram-staging/incoming/2026/01/02/abc.parts.manifest"
SERVERLESS = Settings(redshift_workgroup="ingest", redshift_secret_arn=SECRET)
TARGET = {"WorkgroupName": "ingest", "Database": "dev", "SecretArn": SECRET}


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(scope="module")
def client() -> Any:
    return boto3.client(
        "redshift-data", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


@pytest.fixture
def stub(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def make_api(
    client: Any, fake_time: FakeTime, settings: Settings = SERVERLESS, **kw: Any
) -> DataApi:
    tokens = (f"token-{n}" for n in itertools.count(1))
    return DataApi(
        client=client,
        settings=settings,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        rng=random.Random(7),
        new_token=lambda: next(tokens),
        **kw,
    )


@pytest.fixture
def api(client: Any, fake_time: FakeTime) -> DataApi:
    return make_api(client, fake_time)


def submit(
    stub: Stubber,
    sid: str,
    token: str,
    *,
    sql_text: str | None = None,
    sqls: list[str] | None = None,
    target: dict[str, Any] = TARGET,
) -> None:
    """Queue an accepted ExecuteStatement (sql_text) or BatchExecuteStatement (sqls)."""
    if sqls is not None:
        stub.add_response(
            "batch_execute_statement", {"Id": sid}, {**target, "Sqls": sqls, "ClientToken": token}
        )
    else:
        stub.add_response(
            "execute_statement", {"Id": sid}, {**target, "Sql": sql_text, "ClientToken": token}
        )


def status(stub: Stubber, sid: str, state: str, *, wait_s: int = 0, **extra: Any) -> None:
    """Queue a DescribeStatement answer; `wait_s` is the WaitTimeSeconds it must ask for."""
    expected = {"Id": sid, **({"WaitTimeSeconds": wait_s} if wait_s else {})}
    stub.add_response("describe_statement", {"Id": sid, "Status": state, **extra}, expected)


# --- results ---------------------------------------------------------------------------


def test_execute_returns_typed_rows_from_every_result_page(stub, api, fake_time):
    query = "SELECT message_id, ticker, price, is_signal, reply_message_id FROM t"
    submit(stub, "q-1", "token-1", sql_text=query)
    status(stub, "q-1", "FINISHED", HasResultSet=True)
    columns = [
        {"name": "message_id", "typeName": "int8"},
        {"name": "ticker", "label": "ticker", "typeName": "varchar"},
        {"name": "price", "typeName": "float8"},
        {"name": "is_signal", "typeName": "bool"},
        {"name": "reply_message_id", "typeName": "int8"},
    ]
    stub.add_response(
        "get_statement_result",
        {
            "ColumnMetadata": columns,
            "NextToken": "page-2",
            "Records": [
                [
                    {"longValue": 1},
                    {"stringValue": "BTC"},
                    {"doubleValue": 64200.5},
                    {"booleanValue": True},
                    {"isNull": True},
                ]
            ],
        },
        {"Id": "q-1"},
    )
    stub.add_response(
        "get_statement_result",
        {
            "ColumnMetadata": columns,
            "Records": [
                [
                    {"longValue": 2},
                    {"stringValue": 'ÉTH|,"\n'},
                    {"doubleValue": -1.0},
                    {"booleanValue": False},
                    {"longValue": 1},
                ]
            ],
        },
        {"Id": "q-1", "NextToken": "page-2"},
    )

    result = api.execute(query)

    assert result == Result(
        statement_id="q-1",
        columns=["message_id", "ticker", "price", "is_signal", "reply_message_id"],
        type_names=["int8", "varchar", "float8", "bool", "int8"],
        rows=[[1, "BTC", 64200.5, True, None], [2, 'ÉTH|,"\n', -1.0, False, 1]],
    )
    assert fake_time.slept == []  # the first poll goes out at once


def test_execute_without_a_result_set_returns_none_and_fetches_nothing(stub, api):
    submit(stub, "q-1", "token-1", sql_text="CREATE SCHEMA IF NOT EXISTS scraped")
    status(stub, "q-1", "FINISHED", HasResultSet=False)
    assert api.execute("CREATE SCHEMA IF NOT EXISTS scraped") is None


def test_polling_sleeps_grow_from_a_quick_first_poll(stub, api, fake_time):
    submit(stub, "q-1", "token-1", sql_text="SELECT 1")
    for _ in range(4):
        status(stub, "q-1", "STARTED")
    status(stub, "q-1", "FINISHED")
    api.execute("SELECT 1")
    assert fake_time.slept == pytest.approx([0.05, 0.075, 0.1125, 0.16875])


# --- failures ---------------------------------------------------------------------------


def test_failed_batch_raises_terminal_error_with_id_message_and_failing_sub_statement(stub, api):
    sqls = ["LOCK scraped.load_ledger", "SELECT nope FROM scraped.load_ledger", "DROP TABLE x"]
    message = 'ERROR: column "nope" does not exist'
    submit(stub, "b-1", "token-1", sqls=sqls)
    status(stub, "b-1", "STARTED")
    status(
        stub,
        "b-1",
        "FAILED",
        Error=message,
        SubStatements=[
            {"Id": "b-1:1", "Status": "FINISHED", "QueryString": sqls[0]},
            {"Id": "b-1:2", "Status": "FAILED", "QueryString": sqls[1], "Error": message},
            {"Id": "b-1:3", "Status": "ABORTED", "QueryString": sqls[2]},
        ],
    )

    with pytest.raises(TerminalWarehouseError) as raised:
        api.batch(sqls)

    error = raised.value
    assert not isinstance(error, TransientError)
    assert error.statement_id == "b-1"
    assert error.error == message
    assert error.sub_statement == f"b-1:2: {sqls[1]}"
    assert error.details == []
    assert "b-1" in str(error) and message in str(error) and sqls[1] in str(error)


@pytest.mark.parametrize(("message", "missing"), [
    ('ERROR: relation "scraped.load_ledger" does not exist', True),
    ('ERROR: schema "scraped" does not exist', True),
    ('ERROR: column "nope" does not exist', False),  # a wrong query, not an empty warehouse
])
def test_a_missing_relation_or_schema_is_its_own_terminal_error(stub, api, message, missing):
    """Redshift reports 42P01 / 3F000 as text only: the adapter reads it once, into a class."""
    submit(stub, "q-1", "token-1", sql_text="SELECT 1 FROM scraped.load_ledger")
    status(stub, "q-1", "FAILED", Error=message)
    with pytest.raises(TerminalWarehouseError) as raised:
        api.execute("SELECT 1 FROM scraped.load_ledger")
    assert isinstance(raised.value, MissingObjectError) is missing


def test_aborted_statement_is_terminal_and_not_resubmitted(stub, api, fake_time):
    submit(stub, "q-1", "token-1", sql_text="SELECT 1")
    status(stub, "q-1", "ABORTED")
    with pytest.raises(TerminalWarehouseError, match="aborted") as raised:
        api.execute("SELECT 1")
    assert raised.value.statement_id == "q-1"
    assert fake_time.slept == []


@pytest.mark.parametrize(
    "message",
    [
        "ERROR: Invalid digit, Value 'x', Pos 0, Type: Long (line 1023)",
        "ERROR: permission denied for relation load_ledger",
    ],
)
def test_other_statement_failures_are_terminal_even_when_they_mention_1023(stub, api, message):
    submit(stub, "q-1", "token-1", sql_text="SELECT 1")
    status(stub, "q-1", "FAILED", Error=message)
    with pytest.raises(TerminalWarehouseError, match="statement q-1"):
        api.execute("SELECT 1")


def test_validation_error_on_submit_is_terminal_and_not_retried(stub, api, fake_time):
    stub.add_client_error(
        "execute_statement",
        "ValidationException",
        "Workgroup not found",
        expected_params={**TARGET, "Sql": "SELECT 1", "ClientToken": "token-1"},
    )
    with pytest.raises(TerminalWarehouseError, match="ValidationException: Workgroup not found"):
        api.execute("SELECT 1")
    assert fake_time.slept == []


# --- retries ----------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["ThrottlingException", "ActiveStatementsExceededException"])
def test_throttled_submit_is_retried_with_the_same_client_token(stub, api, fake_time, code):
    sqls = ["SELECT 1"]
    stub.add_client_error(
        "batch_execute_statement",
        code,
        "Rate exceeded",
        expected_params={**TARGET, "Sqls": sqls, "ClientToken": "token-1"},
    )
    submit(stub, "b-1", "token-1", sqls=sqls)
    status(stub, "b-1", "FINISHED")

    assert api.batch(sqls) == "b-1"
    assert len(fake_time.slept) == 1
    assert api.retry.delay(0) / 2 <= fake_time.slept[0] <= api.retry.delay(0)


def test_connection_reset_on_submit_is_retried_with_the_same_client_token(
    client, stub, api, fake_time
):
    resets = [ConnectionClosedError(endpoint_url="https://redshift-data.us-east-1.amazonaws.com")]

    def reset_once(model: Any, **_: Any) -> None:
        if model.name == "ExecuteStatement" and resets:
            raise resets.pop()

    # Ahead of the Stubber's own "before-call.*.*" handler, so the call dies on the wire.
    client.meta.events.register_first("before-call.*.*", reset_once)
    try:
        submit(stub, "q-1", "token-1", sql_text="SELECT 1")  # expected token: still token-1
        status(stub, "q-1", "FINISHED")
        assert api.execute("SELECT 1") is None
    finally:
        client.meta.events.unregister("before-call.*.*", reset_once)
    assert not resets
    assert len(fake_time.slept) == 1


@pytest.mark.parametrize(
    "message",
    [
        "ERROR: 1023 DETAIL: Serializable isolation violation on table - 100134, "
        "transactions forming the cycle are: 3322, 3323 (pid:1073815636)",
        "ERROR: connection reset by peer",
    ],
)
def test_retriable_statement_failure_is_resubmitted_with_a_new_client_token(
    stub, api, fake_time, message
):
    sqls = sql.render_load("scraped", ROWS_MANIFEST, PARTS_MANIFEST, ROLE)
    submit(stub, "b-1", "token-1", sqls=sqls)
    status(
        stub,
        "b-1",
        "FAILED",
        Error=message,
        SubStatements=[
            {"Id": "b-1:7", "Status": "FAILED", "QueryString": sqls[6], "Error": message},
        ],
    )
    submit(stub, "b-2", "token-2", sqls=sqls)
    status(stub, "b-2", "FINISHED")

    assert api.batch(sqls) == "b-2"
    assert len(fake_time.slept) == 1


def test_persistent_throttling_gives_up_after_bounded_attempts_with_growing_capped_delays(
    stub, client, fake_time
):
    api = make_api(client, fake_time, attempts=4, retry=Backoff(first=1.0, factor=2.0, cap=3.0))
    expected = {**TARGET, "Sql": "SELECT 1", "ClientToken": "token-1"}  # the same, every time
    for _ in range(4):
        stub.add_client_error(
            "execute_statement", "ThrottlingException", "Rate exceeded", expected_params=expected
        )

    with pytest.raises(TransientWarehouseError, match="ThrottlingException"):
        api.execute("SELECT 1")

    assert len(fake_time.slept) == 3
    for attempt, slept in enumerate(fake_time.slept):
        ceiling = min(3.0, 1.0 * 2.0**attempt)
        assert ceiling / 2 <= slept <= ceiling


def test_retries_stop_when_the_overall_timeout_would_pass(stub, client, fake_time):
    api = make_api(
        client,
        fake_time,
        settings=Settings(
            redshift_workgroup="ingest", redshift_secret_arn=SECRET, statement_timeout_s=0.3
        ),
    )
    stub.add_client_error(
        "execute_statement",
        "ThrottlingException",
        "Rate exceeded",
        expected_params={**TARGET, "Sql": "SELECT 1", "ClientToken": "token-1"},
    )
    with pytest.raises(TransientWarehouseError, match="ThrottlingException"):
        api.execute("SELECT 1")
    assert fake_time.slept == []  # the first retry delay (>= 0.25 s) would reach the deadline


# --- timeout ----------------------------------------------------------------------------


def test_timeout_cancels_the_statement_and_raises_without_resubmitting(stub, client, fake_time):
    settings = Settings(
        redshift_workgroup="ingest", redshift_secret_arn=SECRET, statement_timeout_s=1.0
    )
    api = make_api(
        client, fake_time, settings=settings, poll=Backoff(first=0.125, factor=2.0, cap=0.5)
    )
    submit(stub, "b-1", "token-1", sqls=["VACUUM"])
    for _ in range(5):  # polls at t = 0, 0.125, 0.375, 0.875 and, last, at the deadline 1.0
        status(stub, "b-1", "STARTED")
    stub.add_response("cancel_statement", {"Status": True}, {"Id": "b-1"})

    with pytest.raises(StatementTimeoutError, match="cancelled") as raised:
        api.batch(["VACUUM"])

    assert isinstance(raised.value, TransientWarehouseError)
    assert raised.value.statement_id == "b-1"
    assert fake_time.slept == [0.125, 0.25, 0.5, 0.125]  # capped, and never past the deadline
    assert fake_time.now == 1.0


# --- COPY diagnostics -------------------------------------------------------------------

COPY_ERROR = (
    "ERROR: Load into table 'stage_messages' failed. "
    "Check 'sys_load_error_detail' system table for details."
)
LOAD_ERROR_COLUMNS = [
    {"name": n, "typeName": t}
    for n, t in [
        ("file_name", "text"),
        ("line_number", "int8"),
        ("column_name", "text"),
        ("error_code", "int4"),
        ("error_message", "text"),
    ]
]
LOAD_ERROR_RECORD = [
    {"stringValue": "s3://telegram-staging/incoming/2026/01/02/abc.rows.ndjson.gz"},
    {"longValue": 3},
    {"stringValue": "trader_id"},
    {"longValue": 1207},
    {"stringValue": "Invalid digit, Value 'x', Pos 0, Type: Long"},
]
LOAD_ERROR_ROW = {
    "file_name": "s3://telegram-staging/incoming/2026/01/02/abc.rows.ndjson.gz",
    "line_number": 3,
    "column_name": "trader_id",
    "error_code": 1207,
    "error_message": "Invalid digit, Value 'x', Pos 0, Type: Long",
}


def test_load_submits_the_rendered_load_transaction_as_one_batch(stub, api):
    warehouse = DataApiWarehouse(api=api, schema="scraped", copy_role_arn=ROLE)
    expected = sql.render_load("scraped", ROWS_MANIFEST, PARTS_MANIFEST, ROLE)
    submit(stub, "b-1", "token-1", sqls=expected)
    status(stub, "b-1", "FINISHED")
    assert warehouse.load(ROWS_MANIFEST, PARTS_MANIFEST) == "b-1"


def test_copy_failure_error_carries_sys_load_error_detail_rows(stub, api):
    warehouse = DataApiWarehouse(api=api, schema="scraped", copy_role_arn=ROLE)
    sqls = sql.render_load("scraped", ROWS_MANIFEST, PARTS_MANIFEST, ROLE)
    copy = sqls[3]
    assert copy.startswith("COPY stage_messages")
    submit(stub, "b-1", "token-1", sqls=sqls)
    status(
        stub,
        "b-1",
        "FAILED",
        Error=COPY_ERROR,
        SubStatements=[
            *(
                {"Id": f"b-1:{n}", "Status": "FINISHED", "QueryString": s}
                for n, s in enumerate(sqls[:3], start=1)
            ),
            {"Id": "b-1:4", "Status": "FAILED", "QueryString": copy, "Error": COPY_ERROR},
        ],
    )
    diagnostic = LOAD_ERROR_QUERIES[0].format(limit=10)
    assert "FROM sys_load_error_detail" in diagnostic
    submit(stub, "d-1", "token-2", sql_text=diagnostic)
    status(stub, "d-1", "FINISHED", HasResultSet=True)
    stub.add_response(
        "get_statement_result",
        {"ColumnMetadata": LOAD_ERROR_COLUMNS, "Records": [LOAD_ERROR_RECORD]},
        {"Id": "d-1"},
    )

    with pytest.raises(TerminalWarehouseError) as raised:
        warehouse.load(ROWS_MANIFEST, PARTS_MANIFEST)

    error = raised.value
    assert error.statement_id == "b-1"
    assert error.sub_statement == f"b-1:4: {copy}"
    assert error.error == COPY_ERROR
    assert error.details == [LOAD_ERROR_ROW]


def test_load_errors_fall_back_to_stl_load_errors_when_the_sys_view_fails(stub, api):
    missing = 'ERROR: relation "sys_load_error_detail" does not exist'
    submit(stub, "d-1", "token-1", sql_text=LOAD_ERROR_QUERIES[0].format(limit=5))
    status(stub, "d-1", "FAILED", Error=missing)  # no recursive diagnosis of the diagnosis
    fallback = LOAD_ERROR_QUERIES[1].format(limit=5)
    assert "FROM stl_load_errors" in fallback
    submit(stub, "d-2", "token-2", sql_text=fallback)
    status(stub, "d-2", "FINISHED", HasResultSet=True)
    stub.add_response(
        "get_statement_result",
        {"ColumnMetadata": LOAD_ERROR_COLUMNS, "Records": [LOAD_ERROR_RECORD]},
        {"Id": "d-2"},
    )

    assert api.load_errors(limit=5) == [LOAD_ERROR_ROW]


def test_load_errors_report_why_when_neither_table_can_be_read(stub, api):
    for n, query in enumerate(LOAD_ERROR_QUERIES, start=1):
        submit(stub, f"d-{n}", f"token-{n}", sql_text=query.format(limit=10))
        status(stub, f"d-{n}", "FAILED", Error="ERROR: permission denied")
    [row] = api.load_errors()
    assert row["error_message"].startswith("could not read load errors")
    assert "d-1" in row["error_message"] and "d-2" in row["error_message"]


# --- targets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "target"),
    [
        pytest.param(SERVERLESS, TARGET, id="serverless-secret"),
        pytest.param(
            Settings(redshift_workgroup="ingest", redshift_db_user="ignored"),
            {"WorkgroupName": "ingest", "Database": "dev"},
            id="serverless-iam",
        ),
        pytest.param(
            Settings(
                redshift_cluster="ingest-cluster",
                redshift_db_user="loader",
                redshift_database="analytics",
            ),
            {"ClusterIdentifier": "ingest-cluster", "Database": "analytics", "DbUser": "loader"},
            id="provisioned-iam-dbuser",
        ),
        pytest.param(
            Settings(
                redshift_cluster="ingest-cluster",
                redshift_secret_arn=SECRET,
                redshift_db_user="loader",
            ),
            {"ClusterIdentifier": "ingest-cluster", "Database": "dev", "SecretArn": SECRET},
            id="provisioned-secret",
        ),
        pytest.param(
            Settings(), {"WorkgroupName": EMBEDDED_WORKGROUP, "Database": "dev"}, id="embedded"
        ),
    ],
)
def test_settings_choose_workgroup_or_cluster_and_secret_or_db_user(client, stub, settings, target):
    warehouse = build(settings, client)  # its own token source: the one place ANY is needed
    catalog_lookup(stub, target, existing=0)
    submit(stub, "b-1", ANY, sqls=sql.render_ddl(settings.schema), target=target)
    status(stub, "b-1", "FINISHED", wait_s=30)
    warehouse.ensure_schema()


def catalog_lookup(stub: Stubber, target: dict[str, Any], existing: int) -> None:
    stub.add_response(
        "execute_statement",
        {"Id": "c-1"},
        {**target, "Sql": sql.render_catalog_lookup(), "ClientToken": ANY,
         "Parameters": [{"name": "schema", "value": "scraped"}]},
    )
    status(stub, "c-1", "FINISHED", wait_s=30, HasResultSet=True)
    stub.add_response(
        "get_statement_result",
        {"ColumnMetadata": [{"name": "count", "typeName": "int8"}],
         "Records": [[{"longValue": existing}]]},
        {"Id": "c-1"},
    )


def test_ensure_schema_runs_no_ddl_when_every_object_exists(client, stub):
    catalog_lookup(stub, TARGET, existing=len(sql.CATALOG_OBJECTS))
    build(SERVERLESS, client).ensure_schema()  # a DDL batch here would find no stubbed response


# --- long polling -----------------------------------------------------------------------


def test_build_long_polls_when_this_botocore_knows_wait_time_seconds(client):
    assert build(SERVERLESS, client).api.long_poll_s == 30  # the service's maximum


def test_without_wait_time_seconds_in_the_model_polling_stays_plain():
    from pipeline.aws.dataapi import long_poll_s

    old_botocore = boto3.client(
        "redshift-data", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    shape = old_botocore.meta.service_model.operation_model("DescribeStatement").input_shape
    del shape.members["WaitTimeSeconds"]  # as in a boto3 release from before the parameter
    assert long_poll_s(old_botocore) == 0


def test_a_long_poll_waits_on_the_service_side_and_sleeps_not_at_all(stub, client, fake_time):
    api = make_api(client, fake_time, long_poll_s=20)
    submit(stub, "q-1", "token-1", sql_text="SELECT 1")
    status(stub, "q-1", "FINISHED", wait_s=20)
    assert api.execute("SELECT 1") is None
    assert fake_time.slept == []


def test_a_long_poll_never_waits_past_the_deadline(stub, client, fake_time):
    settings = Settings(redshift_workgroup="ingest", redshift_secret_arn=SECRET,
                        statement_timeout_s=2.5)
    api = make_api(client, fake_time, settings=settings, long_poll_s=20,
                   poll=Backoff(first=1.0, factor=1.0, cap=1.0))
    submit(stub, "q-1", "token-1", sql_text="SELECT 1")
    status(stub, "q-1", "STARTED", wait_s=2)  # 2.5 s left: whole seconds only
    status(stub, "q-1", "STARTED", wait_s=1)  # 1.5 s left after a 1 s sleep
    status(stub, "q-1", "FINISHED")  # 0.5 s left: too little to wait for, a plain poll
    assert api.execute("SELECT 1") is None
    assert fake_time.slept == [1.0, 1.0]


def test_too_many_waiting_requests_reads_as_still_running(stub, client, fake_time):
    api = make_api(client, fake_time, long_poll_s=20)
    submit(stub, "q-1", "token-1", sql_text="SELECT 1")
    stub.add_client_error("describe_statement", "ActiveWaitingRequestsExceededException",
                          "Active waiting requests exceeded",
                          expected_params={"Id": "q-1", "WaitTimeSeconds": 20})
    status(stub, "q-1", "FINISHED", wait_s=20)
    assert api.execute("SELECT 1") is None
    assert fake_time.slept == [0.05]  # one poll delay, then waiting again


# --- backoff ----------------------------------------------------------------------------


def test_backoff_delays_grow_geometrically_and_stop_at_the_cap():
    delays = list(itertools.islice(Backoff(first=0.05, factor=2.0, cap=2.0).delays(), 9))
    assert delays == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0])
    assert Backoff(first=0.5, cap=8.0).delay(10_000) == 8.0  # no overflow for huge attempts


def test_jittered_backoff_stays_between_half_and_the_capped_delay():
    backoff, rng = Backoff(first=0.5, factor=2.0, cap=8.0), random.Random(0)
    for attempt in range(12):
        ceiling = min(8.0, 0.5 * 2.0**attempt)
        samples = [backoff.jittered(attempt, rng) for _ in range(50)]
        assert all(ceiling / 2 <= s <= ceiling for s in samples)


def test_default_polling_starts_quick_and_is_capped(client):
    api = DataApi(client=client, settings=SERVERLESS)
    assert api.poll.delay(0) <= 0.1
    assert max(itertools.islice(api.poll.delays(), 50)) <= 2.0
    assert api.retry.delay(100) <= 10.0


@pytest.mark.parametrize(
    "bad",
    [
        {"first": 0.0},
        {"first": 3.0, "cap": 2.0},
        {"factor": 0.5},
    ],
)
def test_backoff_refuses_nonsense(bad):
    with pytest.raises(ValueError, match="bad backoff"):
        Backoff(**bad)
