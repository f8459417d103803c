"""Semantic deploy checks: every synthesized template read against AWS's reference data.

cfn-lint and checkov read syntax; these read meaning. Each check runs on the default
template, the queue-trigger one and the provisioned one, and each is shown to catch a
planted fault, so none passes by reading nothing (tests/cdk/reference.py has the checks).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.cdk import reference
from tests.cdk.conftest import Synth

pytestmark = pytest.mark.cdk

# The templates `cdk deploy` can produce that differ in their policies and functions.
VARIANTS = {
    "default": {},
    "queue-trigger": {"loadTrigger": "queue"},
    "provisioned": {"warehouseMode": "provisioned"},
}


@pytest.fixture(scope="module", params=list(VARIANTS))
def variant(request: pytest.FixtureRequest, synth: Callable[..., Synth]) -> Synth:
    return synth(**VARIANTS[request.param])


def _policy(statement: dict[str, Any], resources: dict[str, Any] | None = None) -> dict[str, Any]:
    """A template holding one role policy with `statement` (and `resources` beside it)."""
    return {"Resources": {
        **(resources or {}),
        "Policy": {"Type": "AWS::IAM::Policy", "Properties": {
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]}}},
    }}


WORKGROUP = {"Workgroup": {"Type": "AWS::RedshiftServerless::Workgroup", "Properties": {}}}
WORKGROUP_ARN = {"Fn::GetAtt": ["Workgroup", "Workgroup.WorkgroupArn"]}
BUCKET = {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}}}
BUCKET_ARN = {"Fn::GetAtt": ["Bucket", "Arn"]}


# --- (a) IAM actions only on the resource types the IAM reference lists ----------------------


def test_every_granted_action_fits_its_resources_per_the_iam_reference(variant: Synth) -> None:
    assert reference.iam_findings(variant.cfn) == []


def test_the_checks_read_policies_of_every_kind_in_the_template(variant: Synth) -> None:
    kinds = {variant.cfn["Resources"][logical_id]["Type"]
             for logical_id, _ in reference.statements(variant.cfn)}
    assert {"AWS::IAM::Policy", "AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy",
            "AWS::SNS::TopicPolicy"} <= kinds


@pytest.mark.parametrize(
    ("statement", "resources", "finding"),
    [
        # The fault of issue 22: usage-limit actions have no resource type, only `*` works.
        ({"Effect": "Allow", "Action": "redshift-serverless:CreateUsageLimit",
          "Resource": WORKGROUP_ARN}, WORKGROUP, 'only on "*"'),
        ({"Effect": "Allow", "Action": ["redshift-serverless:UpdateUsageLimit"],
          "Resource": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"},
                                         ":redshift-serverless:", {"Ref": "AWS::Region"}, ":",
                                         {"Ref": "AWS::AccountId"}, ":usagelimit/*"]]}},
         {}, 'only on "*"'),
        # An object action on the bucket itself, a bucket action on its objects.
        ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": BUCKET_ARN}, BUCKET,
         "only on ['accesspointobject', 'object']"),
        ({"Effect": "Allow", "Action": "s3:ListBucket",
          "Resource": {"Fn::Join": ["", [BUCKET_ARN, "/incoming/*"]]}}, BUCKET, "only on"),
        # A typo, and a pattern that names nothing.
        ({"Effect": "Allow", "Action": "sqs:SendMesage", "Resource": "*"}, {},
         "not an action of the IAM reference"),
        ({"Effect": "Allow", "Action": "sqs:Frobnicate*", "Resource": "*"}, {},
         "not an action of the IAM reference"),
        # A queue action on a queue's URL (what `Ref` of a queue gives), not its ARN.
        ({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Ref": "Queue"}},
         {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {}}}, "only on ['queue']"),
    ],
    ids=["create-usage-limit-on-workgroup", "update-usage-limit-on-arn", "object-on-bucket",
         "bucket-on-objects", "typo", "empty-pattern", "queue-url"],
)
def test_the_iam_check_catches_a_planted_fault(
        statement: dict[str, Any], resources: dict[str, Any], finding: str) -> None:
    findings = reference.iam_findings(_policy(statement, resources))
    assert len(findings) == 1 and finding in findings[0], findings


@pytest.mark.parametrize(
    ("statement", "resources"),
    [
        ({"Effect": "Allow", "Action": ["redshift-serverless:CreateUsageLimit",
                                        "redshift-serverless:DeleteUsageLimit"],
          "Resource": "*"}, {}),
        ({"Effect": "Allow", "Action": ["redshift-data:ExecuteStatement"],
          "Resource": WORKGROUP_ARN}, WORKGROUP),
        ({"Effect": "Allow", "Action": ["s3:GetObject*", "s3:List*"],
          "Resource": [BUCKET_ARN, {"Fn::Join": ["", [BUCKET_ARN, "/*"]]}]}, BUCKET),
        ({"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
          "Resource": {"Fn::GetAtt": ["Logs", "Arn"]}},
         {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {}}}),
    ],
    ids=["usage-limits-on-star", "data-api-on-workgroup", "read-bucket", "write-log-streams"],
)
def test_the_iam_check_passes_grants_iam_honours(
        statement: dict[str, Any], resources: dict[str, Any]) -> None:
    assert reference.iam_findings(_policy(statement, resources)) == []


# --- (b) no reserved concurrency in the default template --------------------------------------


def test_the_default_template_reserves_no_concurrency(serverless: Synth) -> None:
    assert reference.reserved_concurrency_findings(serverless.cfn) == []


def test_the_concurrency_check_catches_a_planted_reservation(serverless: Synth) -> None:
    planted = copy.deepcopy(serverless.cfn)
    loader_id, _ = serverless.loader
    planted["Resources"][loader_id]["Properties"]["ReservedConcurrentExecutions"] = 1
    assert reference.reserved_concurrency_findings(planted) == [f"{loader_id} reserves 1"]


# --- (c) every topic an alarm notifies lets CloudWatch publish --------------------------------


def test_every_alarm_topic_lets_cloudwatch_publish(variant: Synth) -> None:
    assert reference.alarm_topic_findings(variant.cfn) == []
    variant.template.resource_count_is("AWS::SNS::TopicPolicy", 1)  # so the check had one to read


def test_the_topic_check_catches_a_policy_without_cloudwatch(serverless: Synth) -> None:
    planted = copy.deepcopy(serverless.cfn)
    for resource in planted["Resources"].values():
        if resource["Type"] == "AWS::SNS::TopicPolicy":
            document = resource["Properties"]["PolicyDocument"]
            document["Statement"] = [s for s in document["Statement"] if s["Effect"] == "Deny"]
    findings = reference.alarm_topic_findings(planted)
    assert len(findings) == 1 and "cloudwatch.amazonaws.com" in findings[0]
