"""Semantic deploy checks: every synthesized template read against AWS's reference data.

cfn-lint and checkov read syntax; these read meaning: the IAM service reference, Lambda's
quotas, who may publish to an alarm's topic. Each check runs on the default
template, the queue-trigger one and the provisioned one, and each is shown to catch a
planted fault, so none passes by reading nothing (tests/cdk/reference.py has the checks).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
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


# --- (d) every function and SQS event source inside Lambda's documented quotas ---------------


def test_every_function_and_event_source_fits_lambdas_quotas(variant: Synth) -> None:
    assert reference.lambda_quota_findings(variant.cfn, variant.outdir) == []


def _plant(cfn: dict[str, Any], function_id: str, **properties: Any) -> dict[str, Any]:
    planted = copy.deepcopy(cfn)
    planted["Resources"][function_id]["Properties"].update(properties)
    return planted


@pytest.mark.parametrize(("properties", "finding"), [
    ({"Timeout": 901}, "Timeout 901 outside 1-900"),
    ({"MemorySize": 64}, "MemorySize 64 outside 128-10240"),
    ({"EphemeralStorage": {"Size": 20_000}}, "EphemeralStorage 20000 outside 512-10240"),
    ({"Layers": ["arn:aws:lambda:us-east-1:123456789012:layer:x:1"] * 6}, "6 layers"),
    ({"Environment": {"Variables": {"PIPELINE_BIG": "x" * 4000, "PIPELINE_QUEUE_URL":
                                    {"Ref": "Queue"}}}}, "environment of up to"),
    ({"Environment": {"Variables": {"AWS_REGION": "us-east-1"}}}, "reserved environment keys"),
])
def test_the_quota_check_catches_a_planted_function_fault(
        serverless: Synth, properties: dict[str, Any], finding: str) -> None:
    loader_id, _ = serverless.loader
    findings = reference.lambda_quota_findings(
        _plant(serverless.cfn, loader_id, **properties), serverless.outdir)
    assert len(findings) == 1 and finding in findings[0] and loader_id in findings[0]


def test_the_quota_check_measures_the_code_asset_unzipped(serverless: Synth,
                                                          tmp_path: Path) -> None:
    loader_id, loader = serverless.loader
    key = loader["Properties"]["Code"]["S3Key"]
    folder = tmp_path / f"asset.{key.removesuffix('.zip')}"
    folder.mkdir()
    with open(folder / "big.bin", "wb") as sparse:  # 251 MB apparent size, no disk used
        sparse.truncate(251 * 1024 * 1024)
    findings = reference.lambda_quota_findings(serverless.cfn, tmp_path)
    assert findings and all("code asset of" in f for f in findings)
    assert any(loader_id in f for f in findings)
    assert reference.lambda_quota_findings(serverless.cfn, serverless.outdir) == []


@pytest.mark.parametrize(("mapping", "finding"), [
    ({"MaximumBatchingWindowInSeconds": 0}, "needs a batching window of at least 1 s"),
    ({"BatchSize": 10_001}, "BatchSize 10001 outside 1-10000"),
    ({"MaximumBatchingWindowInSeconds": 301}, "MaximumBatchingWindowInSeconds 301"),
])
def test_the_quota_check_catches_a_planted_event_source_fault(
        synth: Callable[..., Synth], mapping: dict[str, Any], finding: str) -> None:
    queue_trigger = synth(loadTrigger="queue")
    planted = copy.deepcopy(queue_trigger.cfn)
    (mapping_id,) = [i for i, r in planted["Resources"].items()
                     if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    planted["Resources"][mapping_id]["Properties"].update(mapping)
    findings = reference.lambda_quota_findings(planted, queue_trigger.outdir)
    assert any(finding in f and mapping_id in f for f in findings), findings


def test_the_quota_check_wants_six_timeouts_and_the_window_of_visibility(
        synth: Callable[..., Synth]) -> None:
    queue_trigger = synth(loadTrigger="queue")
    planted = copy.deepcopy(queue_trigger.cfn)
    _, loader = queue_trigger.loader
    window = next(r["Properties"]["MaximumBatchingWindowInSeconds"]
                  for r in planted["Resources"].values()
                  if r["Type"] == "AWS::Lambda::EventSourceMapping")
    queue_id = next(i for i, r in planted["Resources"].items() if r["Type"] == "AWS::SQS::Queue"
                    and "RedrivePolicy" in r["Properties"])
    planted["Resources"][queue_id]["Properties"]["VisibilityTimeout"] = (
        6 * loader["Properties"]["Timeout"] + window - 1)
    findings = reference.lambda_quota_findings(planted, queue_trigger.outdir)
    assert len(findings) == 1 and "visibility timeout" in findings[0]
