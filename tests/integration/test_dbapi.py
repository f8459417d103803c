"""`pipeline.analysis.dbapi` on both paths a reader takes: the warehouse file (target local)
and the embedded Data API reached with a `cdk deploy --outputs-file` JSON (target redshift,
as against a deployed workgroup). Same Redshift SQL, same parameters, same description and
rows; errors are one-line DB-API exceptions.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.analysis import dbapi as d
from pipeline.aws.settings import Settings
from tests.integration import test_redshift_data_api as data_api_tests
from tests.integration.test_redshift_data_api import outputs_file, point_boto3_at

pytestmark = pytest.mark.integration

# The warehouse of the Data API tests (3 seeded ticks of `pipeline run`): one fixture.
loaded = data_api_tests.loaded

# SUPER navigation, PartiQL unnesting in FROM, and parameters of three kinds.
TICKERS = (
    "SELECT t::VARCHAR AS ticker, COUNT(*) AS mentions, MIN(m.message_timestamp) AS first_seen "
    "FROM scraped.telegram_messages AS m, m.entities.tickers AS t "
    "WHERE m.part >= :part AND m.batch_id <> :batch AND m.message_timestamp < :before "
    "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5"
)
PARAMETERS = {"part": 1, "batch": "no-such-batch", "before": dt.datetime(2100, 1, 1)}


@pytest.fixture
def local(loaded: Path) -> Iterator[d.Connection]:
    with d.connect("local", Settings(warehouse_path=loaded)) as conn:
        yield conn


@pytest.fixture
def through_data_api(loaded: Path, tmp_path: Path,
                     monkeypatch: pytest.MonkeyPatch) -> Iterator[d.Connection]:
    """target redshift with a stack-outputs file, the endpoint being the embedded one."""
    from pipeline.offline.runtime import start_local

    with start_local(Settings(warehouse_path=loaded)) as stack:
        point_boto3_at(stack, monkeypatch)
        outputs = outputs_file(stack, tmp_path / "outputs.json")
        with d.connect("redshift", Settings.from_env(), stack_outputs=outputs) as conn:
            yield conn


def rows_and_description(conn: d.Connection) -> tuple[list[tuple[Any, ...]], Any]:
    cursor = conn.cursor()
    cursor.execute(TICKERS, PARAMETERS)
    return cursor.fetchall(), cursor.description


def test_local_cursor_runs_redshift_sql_with_named_parameters(local: d.Connection) -> None:
    cursor = local.cursor()
    assert cursor.description is None and cursor.rowcount == -1
    cursor.execute(TICKERS, PARAMETERS)
    assert [c[0] for c in cursor.description] == ["ticker", "mentions", "first_seen"]
    assert [c[1] for c in cursor.description] == ["varchar", "int8", "timestamptz"]
    assert cursor.description[1][1] == d.NUMBER and cursor.description[2][1] == d.DATETIME
    assert 0 < cursor.rowcount <= 5
    first = cursor.fetchone()
    assert isinstance(first[0], str) and isinstance(first[1], int)
    assert first[2].tzinfo is not None
    cursor.arraysize = 2
    assert len(cursor.fetchmany()) == min(2, cursor.rowcount - 1)
    rest = cursor.fetchall()
    assert len(rest) == cursor.rowcount - 1 - min(2, cursor.rowcount - 1)
    assert cursor.fetchone() is None and cursor.fetchall() == []


def test_pipeline_query_takes_a_stack_outputs_file_to_the_data_api(
    loaded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from pipeline.cli import main
    from pipeline.offline.runtime import start_local

    count = "SELECT COUNT(*) AS n FROM scraped.telegram_messages"
    assert main(["query", "--warehouse", str(loaded), "--format", "json", count]) == 0
    local = json.loads(capsys.readouterr().out)
    with start_local(Settings(warehouse_path=loaded)) as stack:
        point_boto3_at(stack, monkeypatch)
        outputs = outputs_file(stack, tmp_path / "outputs.json")
        assert main(["query", "--stack-outputs", str(outputs), "--format", "json", count]) == 0
        assert json.loads(capsys.readouterr().out) == local
        assert main(["query", "--stack-outputs", str(outputs), "SELECT * FROM nope"]) == 2
        assert capsys.readouterr().err.strip() == (
            'pipeline query: SQL error: relation "nope" does not exist')
    assert main(["query", "--target", "local", "--stack-outputs", str(outputs), count]) == 2
    assert "use it with --target redshift" in capsys.readouterr().err


def test_a_parameter_is_bound_by_the_warehouse_never_pasted_into_the_text(
    local: d.Connection,
) -> None:
    cursor = local.cursor()
    sneaky = "x' OR '1' = '1"
    cursor.execute("SELECT COUNT(*) AS n FROM scraped.telegram_messages WHERE batch_id = :c",
                   {"c": sneaky})
    assert cursor.fetchall() == [(0,)]
    cursor.execute("SELECT :c AS echoed", {"c": sneaky})
    assert cursor.fetchone() == (sneaky,)


def test_local_and_data_api_give_the_same_description_and_rows(
    loaded: Path, through_data_api: d.Connection,
) -> None:
    remote_rows, remote_description = rows_and_description(through_data_api)
    assert through_data_api.target == "redshift"
    # the analyst's own IAM identity: the stack's admin secret is never taken
    assert through_data_api.transport.api.settings.redshift_secret_arn is None
    assert "Redshift workgroup telegram-ingest-pipeline" in repr(through_data_api)
    # The running pipeline now holds the file: a local reader goes through its endpoint.
    with d.connect("local", Settings(warehouse_path=loaded)) as local:
        local_rows, local_description = rows_and_description(local)
    assert remote_rows and remote_rows == local_rows
    assert remote_description == local_description


def test_the_file_path_and_the_data_api_path_agree_on_the_rows(
    local: d.Connection, loaded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    file_rows, file_description = rows_and_description(local)  # no pipeline runs: the file
    from pipeline.offline.runtime import start_local

    with start_local(Settings(warehouse_path=loaded)) as stack:
        point_boto3_at(stack, monkeypatch)
        outputs = outputs_file(stack, tmp_path / "outputs.json")
        with d.connect("redshift", Settings.from_env(), stack_outputs=outputs) as remote:
            api_rows, api_description = rows_and_description(remote)
    assert file_rows and file_rows == api_rows
    assert file_description == api_description


@pytest.mark.parametrize("path", ["local", "through_data_api"])
def test_a_missing_table_is_a_one_line_programming_error(path: str,
                                                         request: pytest.FixtureRequest) -> None:
    conn = request.getfixturevalue(path)
    cursor = conn.cursor()
    with pytest.raises(d.Error) as raised:
        cursor.execute("SELECT * FROM scraped.nope")
    assert isinstance(raised.value, d.ProgrammingError)
    assert 'relation "scraped.nope" does not exist' in str(raised.value)
    assert "\n" not in str(raised.value)
    with pytest.raises(d.ProgrammingError, match="no value supplied for parameter :n"):
        cursor.execute("SELECT :n AS n")
    with pytest.raises(d.DataError, match="division by zero"):
        cursor.execute("SELECT 1 / 0 AS x")
    with pytest.raises(d.InterfaceError, match="no result set"):
        cursor.fetchall()  # the failed statement left none


def test_a_local_reader_cannot_write_and_a_closed_cursor_or_connection_says_so(
    local: d.Connection,
) -> None:
    cursor = local.cursor()
    # Refused by the engine (the file is open read-only), in Redshift's words.
    with pytest.raises(d.Error, match="permission denied"):
        cursor.execute("DELETE FROM scraped.load_ledger")
    cursor.close()
    with pytest.raises(d.InterfaceError, match="cursor is closed"):
        cursor.execute("SELECT 1")
    local.commit()
    local.rollback()  # nothing to undo: each statement commits on its own
    local.close()
    with pytest.raises(d.InterfaceError, match="connection is closed"):
        local.cursor()


def test_a_read_on_the_file_ends_at_the_statement_timeout(loaded: Path) -> None:
    # A six-way self join of some thousand rows: it never ends on its own.
    endless = "SELECT COUNT(*) FROM " + ", ".join(
        f"scraped.telegram_messages t{i}" for i in range(6))
    with d.connect("local", Settings(warehouse_path=loaded, statement_timeout_s=0.5)) as conn:
        cursor = conn.cursor()
        with pytest.raises(d.DatabaseError, match="canceled on user's request"):
            cursor.execute(endless)
        cursor.execute("SELECT 1 AS one")  # the file was let go: the next statement runs
        assert cursor.fetchall() == [(1,)]


def test_pandas_read_sql_takes_the_connection(local: d.Connection) -> None:
    import pandas as pd

    with warnings.catch_warnings():
        # pandas names SQLAlchemy and sqlite3 as the connections it tests; any DB-API works
        warnings.filterwarnings("ignore", message="pandas only supports SQLAlchemy")
        frame = pd.read_sql("SELECT m.entities.tickers[0]::VARCHAR AS first_ticker, m.part "
                            "FROM scraped.telegram_messages AS m WHERE m.part = :part "
                            "ORDER BY m.row_no LIMIT 3", local, params={"part": 1})
    assert list(frame.columns) == ["first_ticker", "part"]
    assert frame["part"].tolist() == [1] * len(frame) and len(frame) > 0


def test_the_dataframe_connect_sits_on_the_same_cursor(loaded: Path) -> None:
    from pipeline.analysis.warehouse import connect

    with connect("local", Settings(warehouse_path=loaded)) as conn:
        assert isinstance(conn.dbapi, d.Connection)
        frame = conn.query(TICKERS, PARAMETERS)
    with d.connect("local", Settings(warehouse_path=loaded)) as raw:
        rows, _ = rows_and_description(raw)
    assert frame["ticker"].tolist() == [r[0] for r in rows]
    assert frame["mentions"].tolist() == [r[1] for r in rows]
    assert str(frame["first_seen"].dt.tz) == "UTC"


def test_no_pipeline_setting_leaks_from_these_tests() -> None:
    assert not [k for k in os.environ if k.startswith("PIPELINE_")]
