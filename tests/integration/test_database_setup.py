"""The stack's database set-up resource, played as CloudFormation plays it, on the embedded AWS.

CloudFormation invokes the set-up function with a Create (then Update, Delete) request and
waits for the answer PUT to the request's pre-signed URL: here a real HTTP server on
127.0.0.1 takes that PUT, the loader secret lives in the emulated Secrets Manager and the
statements run through the embedded Data API on a DuckDB file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.analysis.warehouse import connect
from pipeline.aws import boto, custom_resource
from pipeline.aws.settings import Settings
from pipeline.lambdas import setup
from tests.integration.helpers import cloudformation_listener

pytestmark = pytest.mark.integration


@pytest.fixture
def response_url() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    with cloudformation_listener() as listener:
        yield listener


def _event(request: str, url: str, properties: dict[str, Any]) -> dict[str, Any]:
    event = {
        "RequestType": request, "ResponseURL": url, "RequestId": f"req-{request}",
        "StackId": "arn:aws:cloudformation:us-east-1:000000000000:stack/Pipeline/1",
        "LogicalResourceId": "DatabaseSetup", "ResourceType": "Custom::DatabaseSetup",
        "ResourceProperties": properties,
    }
    if request != "Create":
        event["PhysicalResourceId"] = "DatabaseSetup"
    return event


def test_create_update_and_delete_answer_cloudformation_and_leave_the_schema_ready(
        tmp_path: Path, response_url: tuple[str, list[dict[str, Any]]]) -> None:
    from pipeline.offline.runtime import start_local

    url, received = response_url
    path = tmp_path / "warehouse.duckdb"
    with start_local(Settings(warehouse_path=path)) as stack:
        secrets = boto.client(stack.settings, "secretsmanager")
        arn = secrets.create_secret(Name="loader", SecretString=json.dumps(
            {"username": "pipeline_loader", "password": "Abcdefgh12345678"}))["ARN"]
        properties = {setup.PROP_LOADER_SECRET_ARN: arn, setup.PROP_ANALYSTS: ["IAMR:ci"],
                      setup.PROP_OPERATORS: ["IAM:oncall"], setup.PROP_SQL_HASH: "1"}

        def run(request: str, props: dict[str, Any]) -> str:
            return custom_resource.answer(_event(request, url, props),
                                          lambda p: setup.set_up(stack.settings, p))

        assert run("Create", properties) == "SUCCESS"
        assert run("Update", {**properties, setup.PROP_SQL_HASH: "2"}) == "SUCCESS"  # again
        assert run("Delete", properties) == "SUCCESS"
    assert [(r["Status"], r["RequestId"], r["PhysicalResourceId"]) for r in received] == [
        ("SUCCESS", "req-Create", "DatabaseSetup"), ("SUCCESS", "req-Update", "DatabaseSetup"),
        ("SUCCESS", "req-Delete", "DatabaseSetup")]
    with connect("local", Settings(warehouse_path=path)) as conn:
        assert conn.query("SELECT COUNT(*) AS n FROM scraped.load_ledger")["n"].tolist() == [0]


def test_a_failed_setup_answers_failed_in_one_line_and_its_rollback_delete_succeeds(
        tmp_path: Path, response_url: tuple[str, list[dict[str, Any]]]) -> None:
    from pipeline.offline.runtime import start_local

    url, received = response_url
    with start_local(Settings(warehouse_path=tmp_path / "w.duckdb")) as stack:
        missing = "arn:aws:secretsmanager:us-east-1:000000000000:secret:gone-AbCdEf"
        properties = {setup.PROP_LOADER_SECRET_ARN: missing, setup.PROP_ANALYSTS: []}
        answer = custom_resource.answer(_event("Create", url, properties),
                                        lambda p: setup.set_up(stack.settings, p))
        assert answer == "FAILED"
        assert custom_resource.answer(_event("Delete", url, properties),
                                      lambda p: setup.set_up(stack.settings, p)) == "SUCCESS"
    failed, deleted = received
    assert failed["Status"] == "FAILED" and "gone" in failed["Reason"]
    assert "\n" not in failed["Reason"] and len(failed["Reason"]) <= custom_resource.MAX_REASON
    assert deleted["Status"] == "SUCCESS"
