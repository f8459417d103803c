"""Redshift with IAM alone: analysts, validation and `warehouse init` through the Data API.

The embedded Data API endpoint speaks the same HTTP protocol as Redshift's, so pointing
boto3 at it (the standard `AWS_ENDPOINT_URL_REDSHIFT_DATA` variable, as a VPC endpoint or
proxy would) runs the exact code path a laptop or CI runner takes against a deployed
workgroup: `connect("redshift")`, and `pipeline validate --target redshift
--stack-outputs FILE` executing all three notebooks.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.analysis.warehouse import DataApiConnection, connect
from pipeline.aws import settings as names
from pipeline.aws.settings import Settings
from pipeline.cli import main

pytestmark = pytest.mark.integration

WORKGROUP = "telegram-ingest-pipeline"
STACK = "TelegramIngestPipeline"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse loaded by `pipeline run`'s own function: 3 seeded ticks."""
    from pipeline.offline.run import run

    path = tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb"
    summary = run(Settings(warehouse_path=path, seed=4, visibility_timeout_s=2,
                           batching_window_s=0, batch_size=10), tick_count=3, interval_s=0)
    assert summary.drained and summary.loaded_rows > 0
    return path


@pytest.fixture
def endpoint(loaded: Path) -> Iterator[Any]:
    """The embedded AWS (moto + Data API) serving the loaded warehouse."""
    from pipeline.offline.runtime import start_local

    with start_local(Settings(warehouse_path=loaded)) as stack:
        yield stack


def outputs_file(stack: Any, path: Path) -> Path:
    """What `cdk deploy --outputs-file` writes for the serverless stack."""
    s = stack.settings
    outputs = {
        names.OUTPUT_QUEUE_URL: s.queue_url,
        names.OUTPUT_DLQ_URL: s.dlq_url,
        names.OUTPUT_BUCKET: s.bucket,
        names.OUTPUT_WORKGROUP: WORKGROUP,
        names.OUTPUT_DATABASE: s.redshift_database,
        names.OUTPUT_SECRET_ARN:
            "arn:aws:secretsmanager:us-east-1:000000000000:secret:admin-AbCdEf",
        names.OUTPUT_REGION: s.region,
        names.OUTPUT_COPY_ROLE_ARN: "arn:aws:iam::000000000000:role/copy",
        names.OUTPUT_LOADER_SECRET_ARN:
            "arn:aws:secretsmanager:us-east-1:000000000000:secret:loader-AbCdEf",
        names.OUTPUT_ALARM_TOPIC_ARN: "arn:aws:sns:us-east-1:000000000000:alarms",
    }
    path.write_text(json.dumps({STACK: outputs}, indent=2))
    return path


def point_boto3_at(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Standard boto3 endpoint variables: no project setting says "embedded" anywhere."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_REDSHIFT_DATA", stack.settings.data_api_endpoint_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", stack.settings.aws_endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "embedded")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "embedded")
    monkeypatch.setenv("AWS_DEFAULT_REGION", stack.settings.region)
    for name in [k for k in os.environ if k.startswith("PIPELINE_")]:
        monkeypatch.delenv(name)


QUERY = (
    "SELECT chat_link, COUNT(*) AS n, MAX(message_timestamp) AS latest, "
    "SUM(CASE WHEN reply_message_id IS NULL THEN 1 ELSE 0 END) AS roots "
    "FROM scraped.telegram_messages GROUP BY chat_link ORDER BY n DESC, chat_link LIMIT 5"
)


@pytest.fixture
def direct(loaded: Path) -> Any:
    """QUERY's answer from the DuckDB file itself (before the endpoint holds the file)."""
    with connect("local", Settings(warehouse_path=loaded)) as local:
        return local.query(QUERY)


def test_connect_redshift_defaults_to_the_data_api_and_returns_what_duckdb_returns(
    direct: Any, endpoint: Any,
) -> None:
    remote = Settings(redshift_workgroup=WORKGROUP,
                      data_api_endpoint_url=endpoint.settings.data_api_endpoint_url)
    with connect("redshift", remote) as conn:
        assert isinstance(conn, DataApiConnection)
        through_api = conn.query(QUERY)
    assert len(through_api) == 5
    assert list(through_api.columns) == list(direct.columns)
    assert through_api["n"].tolist() == direct["n"].tolist()
    assert through_api["chat_link"].tolist() == direct["chat_link"].tolist()
    assert str(through_api["latest"].dtype).startswith("datetime64")
    assert str(through_api["latest"].dt.tz) == "UTC"
    assert (through_api["latest"] == direct["latest"]).all()


def test_the_transport_is_a_setting_and_a_wrong_one_is_named(endpoint: Any) -> None:
    from pipeline.core.errors import ConfigError

    with pytest.raises(ConfigError, match="PIPELINE_REDSHIFT_TRANSPORT"):
        Settings.from_env({"PIPELINE_REDSHIFT_TRANSPORT": "jdbc"})
    remote = Settings(redshift_workgroup=WORKGROUP, redshift_transport="data-api",
                      data_api_endpoint_url=endpoint.settings.data_api_endpoint_url)
    with connect("redshift", remote) as conn:
        assert conn.query("SELECT 1 AS one")["one"].tolist() == [1]


def test_validate_redshift_runs_all_three_notebooks_through_the_data_api(
    endpoint: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
) -> None:
    outputs = outputs_file(endpoint, tmp_path / "outputs.json")
    point_boto3_at(endpoint, monkeypatch)
    reports = tmp_path / "reports"
    code = main(["validate", "--target", "redshift", "--stack-outputs", str(outputs),
                 "--reports", str(reports)])
    captured = capsys.readouterr()
    assert code == 0, captured.err[-3000:]
    table = captured.out
    for notebook in ("01_explore_telegram", "02_sampling", "03_query_warehouse"):
        assert f"{notebook}.ipynb" in table
    assert "FAILED" not in table
    executed = (reports / "03_query_warehouse.ipynb").read_text()
    assert f"querying Redshift workgroup {WORKGROUP}" in executed


def test_warehouse_init_on_the_embedded_warehouse_runs_the_users_and_grants_too(
    tmp_path: Path, capsys: pytest.CaptureFixture,
) -> None:
    warehouse = tmp_path / "w.duckdb"
    assert main(["warehouse", "init", "--warehouse", str(warehouse)]) == 0
    assert main(["warehouse", "init", "--warehouse", str(warehouse)]) == 0  # idempotent
    assert "schema scraped ready on local" in capsys.readouterr().err
    with connect("local", Settings(warehouse_path=warehouse)) as conn:
        assert conn.query("SELECT COUNT(*) AS n FROM scraped.load_ledger")["n"].tolist() == [0]


def test_warehouse_init_for_redshift_says_what_it_needs_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture,
) -> None:
    assert main(["warehouse", "init", "--target", "redshift"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "needs --stack-outputs FILE" in err
    stale = tmp_path / "old.json"
    stale.write_text(json.dumps({STACK: {names.OUTPUT_QUEUE_URL: "https://sqs/q",
                                         names.OUTPUT_WORKGROUP: WORKGROUP}}))
    assert main(["warehouse", "init", "--target", "redshift", "--stack-outputs",
                 str(stale)]) == 2
    assert "have no LoaderSecretArn: redeploy" in capsys.readouterr().err
    assert main(["warehouse", "init", "--target", "redshift", "--stack-outputs", str(stale),
                 "--analyst", "bob"]) == 2
    assert "--analyst: 'bob' is not an IAM database user" in capsys.readouterr().err


def test_settings_for_validation_never_carry_the_admin_secret(
    endpoint: Any, tmp_path: Path
) -> None:
    from pipeline.analysis.checks import NotebookTarget

    outputs = outputs_file(endpoint, tmp_path / "outputs.json")
    target = NotebookTarget.from_parameters(target="redshift", stack_outputs=str(outputs))
    assert target.settings().redshift_secret_arn is None  # the caller's IAM identity, mapped
    assert dataclasses.asdict(target.settings())["redshift_workgroup"] == WORKGROUP


def test_connector_transport_goes_over_tcp_and_data_api_refuses_its_options() -> None:
    import redshift_connector

    from pipeline.core.errors import ConfigError

    over_tcp = Settings(redshift_workgroup=WORKGROUP, redshift_transport="connector")
    with pytest.raises(redshift_connector.InterfaceError):  # nothing listens on port 1
        connect("redshift", over_tcp, host="127.0.0.1", port=1, iam=False, timeout=2,
                **{"user": "analyst", "password": "unused"})
    with pytest.raises(ConfigError, match="PIPELINE_REDSHIFT_TRANSPORT=connector"):
        connect("redshift", Settings(redshift_workgroup=WORKGROUP), host="127.0.0.1")
