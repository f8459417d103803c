"""The database set-up is a resource of the stack, and the pipeline starts only after it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aws_cdk.assertions import Capture, Match

from cdk_app.config import PipelineConfig
from cdk_app.database import RESOURCE_TYPE, SETUP_HANDLER, sql_hash
from cdk_app.functions import PUBLISHER_HANDLER
from pipeline.core.errors import ConfigError
from pipeline.lambdas.setup import (
    PROP_ANALYSTS,
    PROP_LOADER_SECRET_ARN,
    PROP_OPERATORS,
    PROP_SQL_HASH,
)

from .conftest import Synth

pytestmark = pytest.mark.cdk


def _setup_id(synth: Synth) -> str:
    (logical_id,) = synth.resources(RESOURCE_TYPE)
    return logical_id


def test_the_database_setup_runs_the_pipelines_own_handler_with_the_loader_secret(
        any_mode: Synth) -> None:
    setup_function, _ = any_mode.function(SETUP_HANDLER)
    loader_secret = Capture()
    any_mode.template.has_resource_properties(RESOURCE_TYPE, {
        "ServiceToken": {"Fn::GetAtt": [setup_function, "Arn"]},
        PROP_LOADER_SECRET_ARN: {"Ref": loader_secret},
        PROP_ANALYSTS: [],
        PROP_OPERATORS: [],
        PROP_SQL_HASH: sql_hash(any_mode.config),
    })
    secret = any_mode.cfn["Resources"][loader_secret.as_string()]
    assert "pipeline_loader" in secret["Properties"]["GenerateSecretString"][
        "SecretStringTemplate"]


def test_the_publishers_and_the_drains_schedules_wait_for_the_setup(serverless: Synth) -> None:
    setup = _setup_id(serverless)
    rules = serverless.resources("AWS::Events::Rule")
    assert len(rules) == 2  # the publisher's tick and the drain's
    for rule in rules.values():
        assert setup in rule.get("DependsOn", []), rule["Properties"]["Description"]
    publisher_id, _ = serverless.function(PUBLISHER_HANDLER)
    serverless.template.has_resource(
        "AWS::Events::Rule",
        {"DependsOn": Match.array_with([setup]),
         "Properties": Match.object_like({"Targets": [Match.object_like(
             {"Arn": {"Fn::GetAtt": [publisher_id, "Arn"]}})]})})


def test_the_setup_waits_for_the_warehouse(any_mode: Synth) -> None:
    """Its function's environment names the workgroup / cluster, so CloudFormation creates
    the warehouse (and the function's policy) before it invokes the set-up."""
    setup_function, function = any_mode.function(SETUP_HANDLER)
    variables = function["Properties"]["Environment"]["Variables"]
    kind = ("AWS::RedshiftServerless::Workgroup" if any_mode.config.serverless
            else "AWS::Redshift::Cluster")
    (warehouse_id,) = any_mode.resources(kind)
    assert warehouse_id in str(variables)
    assert any("DefaultPolicy" in d for d in function.get("DependsOn", [])), setup_function


def test_a_change_to_the_setup_sql_changes_the_resource_so_it_runs_again(
        synth: Callable[..., Synth], serverless: Synth) -> None:
    other_schema = synth(schema="ingest")
    with_analysts = synth(analysts=["arn:aws:iam::123456789012:role/ci-validate", "IAM:alice"])
    with_operators = synth(operators="IAM:oncall")
    hashes = {sql_hash(s.config)
              for s in (serverless, other_schema, with_analysts, with_operators)}
    assert len(hashes) == 4
    with_analysts.template.has_resource_properties(RESOURCE_TYPE, {
        PROP_ANALYSTS: ["IAMR:ci-validate", "IAM:alice"],
        PROP_SQL_HASH: sql_hash(with_analysts.config),
    })
    with_operators.template.has_resource_properties(RESOURCE_TYPE, {
        PROP_OPERATORS: ["IAM:oncall"], PROP_SQL_HASH: sql_hash(with_operators.config)})


@pytest.mark.parametrize("key", ["analysts", "operators"])
def test_a_bad_identity_in_context_is_named(cdk_context: dict[str, object], key: str) -> None:
    context = {**cdk_context, f"pipeline:{key}": ["bob"]}
    with pytest.raises(ConfigError, match=rf"pipeline:{key}.*'bob' is not an IAM database user"):
        PipelineConfig.from_context(context.get)
