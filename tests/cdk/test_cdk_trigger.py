"""The loader's two triggers and Serverless sized for the load, as synthesized."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Match

from cdk_app.config import PipelineConfig
from cdk_app.trigger import DRAIN_HANDLER, LOADER_HANDLER
from pipeline.aws.settings import ENV_QUEUE_URL
from pipeline.core.errors import ConfigError

from .conftest import Synth

pytestmark = pytest.mark.cdk


def test_the_default_is_a_drain_every_five_minutes_without_reserved_concurrency(
        serverless: Synth):
    config = serverless.config
    assert (config.load_trigger, config.load_every_min) == ("schedule", 5)
    loader_id, loader = serverless.loader
    assert loader["Properties"]["Handler"] == DRAIN_HANDLER
    # A reservation fails the deploy on accounts with a low concurrency quota (new ones).
    assert "ReservedConcurrentExecutions" not in loader["Properties"]
    assert ENV_QUEUE_URL in loader["Properties"]["Environment"]["Variables"]
    serverless.template.has_resource_properties("AWS::Events::Rule", {
        "ScheduleExpression": "rate(5 minutes)",
        "State": "ENABLED",
        "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [loader_id, "Arn"]}})],
    })
    serverless.template.resource_count_is("AWS::Lambda::EventSourceMapping", 0)
    serverless.template.has_resource_properties("AWS::Lambda::EventInvokeConfig", {
        "FunctionName": {"Ref": loader_id}, "MaximumRetryAttempts": 0,
        "MaximumEventAgeInSeconds": 300,
    })


def test_the_drain_may_receive_delete_and_release_messages_of_the_source_queue(
        serverless: Synth):
    (source_id, _), _ = serverless.queues()
    loader_role = serverless.loader[1]["Properties"]["Role"]["Fn::GetAtt"][0]
    actions: set[str] = set()
    for policy in serverless.resources("AWS::IAM::Policy").values():
        if {"Ref": loader_role} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Resource"] == {"Fn::GetAtt": [source_id, "Arn"]}:
                actions |= set(statement["Action"])
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"} <= actions


def test_load_trigger_queue_is_todays_event_source_per_message(synth: Callable[..., Synth]):
    queue = synth(loadTrigger="queue")
    loader_id, loader = queue.loader
    assert loader["Properties"]["Handler"] == LOADER_HANDLER
    assert "ReservedConcurrentExecutions" not in loader["Properties"]
    queue.template.resource_count_is("AWS::Lambda::EventSourceMapping", 1)
    queue.template.resource_count_is("AWS::Events::Rule", 1)  # the publisher's only
    queue.template.has_resource_properties("AWS::Lambda::EventSourceMapping", {
        "FunctionName": {"Ref": loader_id},
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    })


def test_load_every_sets_the_drain_schedule(synth: Callable[..., Synth]):
    every15 = synth(loadEvery=15, oldestMessageAlarmSeconds=1800)
    every15.template.has_resource_properties(
        "AWS::Events::Rule", {"ScheduleExpression": "rate(15 minutes)"})


def test_serverless_base_capacity_is_4_rpu_with_a_max_capacity_cap(serverless: Synth):
    serverless.template.has_resource_properties("AWS::RedshiftServerless::Workgroup", {
        "BaseCapacity": 4, "MaxCapacity": serverless.config.max_capacity_rpu,
    })


def test_an_rpu_hours_usage_limit_with_the_breach_action_from_context(
        synth: Callable[..., Synth]):
    limited = synth(usageLimitRpuHours=100, usageLimitPeriod="weekly",
                    usageLimitBreachAction="deactivate")
    (resource,) = limited.resources("Custom::RedshiftServerlessUsageLimit").values()
    create = _joined(resource["Properties"]["Create"])
    for fragment in ('"action":"CreateUsageLimit"', '"usageType":"serverless-compute"',
                     '"amount":100', '"period":"weekly"', '"breachAction":"deactivate"'):
        assert fragment in create, fragment
    assert "WorkgroupArn" in create, "the limit applies to the pipeline's workgroup"


def test_provisioned_has_no_usage_limit_and_stays_available(provisioned: Synth):
    assert provisioned.resources("Custom::RedshiftServerlessUsageLimit") == {}
    provisioned.template.resource_count_is("AWS::Redshift::Cluster", 1)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"loadTrigger": "sqs"}, "pipeline:loadTrigger='sqs': must be one of schedule, queue"),
    ({"loadEvery": 0}, "pipeline:loadEvery=0: must be an integer between 1 and 1440"),
    ({"maxCapacityRpu": 12}, "pipeline:maxCapacityRpu=12: must be 4 or a multiple of 8"),
    ({"serverlessBaseCapacity": 16, "maxCapacityRpu": 8},
     "pipeline:maxCapacityRpu=8: must be 4 or a multiple of 8 RPUs, and at least"),
    ({"usageLimitBreachAction": "stop"}, "must be one of log, emit-metric, deactivate"),
    ({"loadEvery": 15}, "pipeline:oldestMessageAlarmSeconds=900: must exceed"),
])
def test_bad_trigger_and_capacity_context_is_reported_by_key(
        cdk_context: dict[str, Any], overrides: dict[str, Any], message: str):
    context = {**cdk_context, **{f"pipeline:{k}": v for k, v in overrides.items()}}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        PipelineConfig.from_context(context.get)


def _joined(value: Any) -> str:
    """The custom resource's JSON call, tokens rendered as their CloudFormation shape."""
    import json

    if isinstance(value, str):
        return value
    parts = value["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else json.dumps(p) for p in parts)
