"""The synthesized template: resources, wiring and the contracts ARCHITECTURE.md fixes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Capture, Match

from cdk_app.config import VISIBILITY_TIMEOUT_FACTOR
from cdk_app.database import SETUP_HANDLER
from cdk_app.functions import DATASET_PATH, PUBLISHER_HANDLER
from cdk_app.warehouse import STATEMENT_ACTIONS
from pipeline.aws.settings import (
    DEFAULT_DATASET,
    ENV_BUCKET,
    ENV_COPY_ROLE_ARN,
    ENV_DATASET_PATH,
    ENV_FIELDS,
    ENV_LOG_LEVEL,
    ENV_MAX_MESSAGE_BYTES,
    ENV_QUEUE_URL,
    ENV_REDSHIFT_CLUSTER,
    ENV_REDSHIFT_DATABASE,
    ENV_REDSHIFT_SECRET_ARN,
    ENV_REDSHIFT_WORKGROUP,
    ENV_SAMPLE_MAX,
    ENV_SAMPLE_MIN,
    ENV_SCHEMA,
    ENV_SOURCE,
    ENV_STATEMENT_TIMEOUT_S,
    RuntimeSettings,
    env_names,
)
from pipeline.aws.sql import LOADER_USER

from .conftest import Synth

pytestmark = pytest.mark.cdk

# Lambdas for custom resources (bucket auto-delete, log retention, default-SG restriction,
# ...). The stack is designed to need as few as it can; each is counted here: both modes
# have the database set-up (cdk_app/database.py, the pipeline's own asset), Serverless also
# has one for the workgroup's RPU-hours usage limit (CloudFormation has no resource for it;
# cdk_app/capacity.py).
CUSTOM_RESOURCE_FUNCTIONS = {"serverless": 2, "provisioned": 1}

COMMON_COUNTS = {
    "AWS::SQS::Queue": 2,  # source + DLQ
    "AWS::CloudWatch::Dashboard": 1,
    "AWS::S3::Bucket": 2,  # staging + access logs
    "AWS::SecretsManager::Secret": 2,  # admin (warehouse init only) + loader
    "AWS::SNS::Topic": 1,  # the alarms' notifications
    "AWS::EC2::VPC": 1,
    "AWS::EC2::Subnet": 3,
    "AWS::EC2::VPCEndpoint": 1,
    "AWS::EC2::NatGateway": 0,
    "AWS::EC2::InternetGateway": 0,
    "AWS::Logs::LogGroup": 2,
}
MODE_COUNTS = {
    "serverless": {
        "AWS::Lambda::Function": 2 + CUSTOM_RESOURCE_FUNCTIONS["serverless"],
        "AWS::Logs::LogGroup": 2 + CUSTOM_RESOURCE_FUNCTIONS["serverless"],
        "AWS::RedshiftServerless::Namespace": 1,
        "AWS::RedshiftServerless::Workgroup": 1,
        "AWS::Redshift::Cluster": 0,
        # DLQ depth, loader errors, publisher errors, oldest age; the workgroup's RPU-hours.
        "AWS::CloudWatch::Alarm": 5,
    },
    "provisioned": {
        "AWS::Lambda::Function": 2 + CUSTOM_RESOURCE_FUNCTIONS["provisioned"],
        "AWS::Logs::LogGroup": 2 + CUSTOM_RESOURCE_FUNCTIONS["provisioned"],
        "AWS::RedshiftServerless::Namespace": 0,
        "AWS::RedshiftServerless::Workgroup": 0,
        "AWS::Redshift::Cluster": 1,
        "AWS::CloudWatch::Alarm": 4,
        "AWS::Redshift::ClusterSubnetGroup": 1,
        "AWS::Redshift::ClusterParameterGroup": 1,
    },
}
PUBLISHER_ENV = {
    ENV_QUEUE_URL,
    ENV_MAX_MESSAGE_BYTES,
    ENV_SAMPLE_MIN,
    ENV_SAMPLE_MAX,
    ENV_DATASET_PATH,
    ENV_SOURCE,
    ENV_LOG_LEVEL,
}
LOADER_ENV = {
    ENV_BUCKET,
    ENV_SCHEMA,
    ENV_REDSHIFT_DATABASE,
    ENV_REDSHIFT_SECRET_ARN,
    ENV_COPY_ROLE_ARN,
    ENV_STATEMENT_TIMEOUT_S,
    ENV_LOG_LEVEL,
}


def _mode(synth: Synth) -> str:
    return synth.config.warehouse_mode


def _statements(synth: Synth) -> list[tuple[str, dict[str, Any]]]:
    """(resource type, statement) for every IAM statement: identity and resource policies."""
    out: list[tuple[str, dict[str, Any]]] = []
    for resource in synth.cfn["Resources"].values():
        props = resource.get("Properties", {})
        documents = [props.get("PolicyDocument")]
        documents += [p.get("PolicyDocument") for p in props.get("Policies", [])]
        for document in filter(None, documents):
            out += [(resource["Type"], statement) for statement in document["Statement"]]
    return out


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- resources --------------------------------------------------------------------------------


# The publisher's schedule, plus the loader's drain schedule or its SQS event source.
TRIGGER_COUNTS = {
    "schedule": {"AWS::Events::Rule": 2, "AWS::Lambda::EventSourceMapping": 0},
    "queue": {"AWS::Events::Rule": 1, "AWS::Lambda::EventSourceMapping": 1},
}


def test_resource_counts_match_the_design(any_mode: Synth) -> None:
    expected = {**COMMON_COUNTS, **MODE_COUNTS[_mode(any_mode)],
                **TRIGGER_COUNTS[any_mode.config.load_trigger]}
    for resource_type, count in expected.items():
        any_mode.template.resource_count_is(resource_type, count)


def test_schedule_rule_invokes_the_publisher(serverless: Synth) -> None:
    target = Capture()
    serverless.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": serverless.config.schedule,
            "State": "ENABLED",
            "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [target, "Arn"]}})],
        },
    )
    assert target.as_string() == serverless.publisher[0]
    assert serverless.config.schedule == "rate(1 minute)"


def test_source_queue_redrives_to_the_dlq_after_max_receive_count(any_mode: Synth) -> None:
    (_, _), (dlq_id, _) = any_mode.queues()
    any_mode.template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
                "maxReceiveCount": any_mode.config.max_receive_count,
            }
        },
    )


def test_queues_are_encrypted_sized_and_retained_as_configured(serverless: Synth) -> None:
    (_, source), (_, dlq) = serverless.queues()
    config = serverless.config
    for queue in (source, dlq):
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
        assert queue["Properties"]["MaximumMessageSize"] == config.max_message_bytes
    assert config.max_message_bytes == 1_048_576  # SQS's limit since 2025, cdk.json default
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * 86_400
    source_retention = source["Properties"]["MessageRetentionPeriod"]
    assert source_retention == config.queue_retention_days * 86_400
    assert source_retention < dlq["Properties"]["MessageRetentionPeriod"]


def test_queues_deny_requests_without_tls(serverless: Synth) -> None:
    serverless.template.resource_count_is("AWS::SQS::QueuePolicy", 2)
    serverless.template.all_resources_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                ),
                "Version": "2012-10-17",
            }
        },
    )


def test_visibility_timeout_is_at_least_six_loader_timeouts(any_mode: Synth) -> None:
    (_, source), _ = any_mode.queues()
    loader_timeout = any_mode.loader[1]["Properties"]["Timeout"]
    assert source["Properties"]["VisibilityTimeout"] >= VISIBILITY_TIMEOUT_FACTOR * loader_timeout
    assert loader_timeout == any_mode.config.loader_timeout_s


def test_publisher_message_limit_equals_the_queue_maximum(any_mode: Synth) -> None:
    (_, source), _ = any_mode.queues()
    env = any_mode.publisher[1]["Properties"]["Environment"]["Variables"]
    assert env[ENV_MAX_MESSAGE_BYTES] == str(source["Properties"]["MaximumMessageSize"])


def test_loader_consumes_the_queue_with_partial_batch_failures(
    any_mode: Synth, synth: Callable[..., Synth]
) -> None:
    any_mode = synth(warehouseMode=_mode(any_mode), loadTrigger="queue")
    (source_id, _), _ = any_mode.queues()
    config = any_mode.config
    any_mode.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [source_id, "Arn"]},
            "FunctionName": {"Ref": any_mode.loader[0]},
            "BatchSize": config.batch_size,
            "MaximumBatchingWindowInSeconds": config.max_batching_window_s,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": config.max_concurrency},
        },
    )


# --- staging bucket ---------------------------------------------------------------------------


def test_staging_bucket_is_private_encrypted_and_logged(serverless: Synth) -> None:
    log_bucket = Capture()
    serverless.template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "LoggingConfiguration": {"DestinationBucketName": {"Ref": log_bucket}},
        },
    )
    staging_id, _ = serverless.staging_bucket()
    assert log_bucket.as_string() != staging_id
    assert log_bucket.as_string() in serverless.resources("AWS::S3::Bucket")


def test_both_buckets_deny_requests_without_tls(serverless: Synth) -> None:
    policies = serverless.resources("AWS::S3::BucketPolicy").values()
    protected = {
        p["Properties"]["Bucket"]["Ref"]
        for p in policies
        if any(
            s["Effect"] == "Deny"
            and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        )
    }
    assert protected == set(serverless.resources("AWS::S3::Bucket"))


def test_lifecycle_expires_processed_and_rejected_but_never_incoming(serverless: Synth) -> None:
    _, bucket = serverless.staging_bucket()
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]

    def prefix(rule: dict[str, Any]) -> str | None:
        return rule.get("Prefix") or rule.get("Filter", {}).get("Prefix")

    by_prefix = {prefix(rule): rule for rule in rules}
    assert by_prefix["processed/"]["ExpirationInDays"] == 1
    assert by_prefix["rejected/"]["ExpirationInDays"] == serverless.config.rejected_expiry_days
    assert serverless.config.rejected_expiry_days == 30
    for rule in rules:
        assert not (prefix(rule) or "").startswith("incoming"), rule
        if prefix(rule) is None:  # a bucket-wide rule may only abort stale multipart uploads
            assert set(rule) == {"Id", "Status", "AbortIncompleteMultipartUpload"}, rule
            assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert any("AbortIncompleteMultipartUpload" in rule for rule in rules)


# --- warehouse and network --------------------------------------------------------------------


def test_serverless_workgroup_is_private_with_enhanced_vpc_routing(serverless: Synth) -> None:
    serverless.template.has_resource_properties(
        "AWS::RedshiftServerless::Workgroup",
        {
            "WorkgroupName": serverless.config.warehouse_name,
            "BaseCapacity": serverless.config.serverless_base_capacity,
            "MaxCapacity": serverless.config.max_capacity_rpu,
            "PubliclyAccessible": False,
            "EnhancedVpcRouting": True,
            "SubnetIds": Match.any_value(),
        },
    )
    workgroup = next(iter(serverless.resources("AWS::RedshiftServerless::Workgroup").values()))
    assert len(workgroup["Properties"]["SubnetIds"]) == 3  # Redshift Serverless needs 3 AZs
    assert serverless.config.serverless_base_capacity == 4  # the smallest, for cost


def test_provisioned_cluster_is_single_node_private_and_encrypted(provisioned: Synth) -> None:
    provisioned.template.has_resource_properties(
        "AWS::Redshift::Cluster",
        {
            "ClusterIdentifier": provisioned.config.warehouse_name,
            "ClusterType": "single-node",
            "NodeType": Match.string_like_regexp(r"^(ra3\.large|dc2\.large)$"),
            "PubliclyAccessible": False,
            "Encrypted": True,
            "EnhancedVpcRouting": True,
            "DBName": provisioned.config.database,
        },
    )


def test_copy_role_is_assumed_by_redshift_and_attached(any_mode: Synth) -> None:
    roles = any_mode.resources("AWS::IAM::Role")
    copy_roles = [
        logical_id
        for logical_id, role in roles.items()
        if "redshift.amazonaws.com" in json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
    ]
    assert len(copy_roles) == 1
    arn = {"Fn::GetAtt": [copy_roles[0], "Arn"]}
    if _mode(any_mode) == "serverless":
        any_mode.template.has_resource_properties(
            "AWS::RedshiftServerless::Namespace", {"IamRoles": [arn], "DefaultIamRoleArn": arn}
        )
    else:
        any_mode.template.has_resource_properties("AWS::Redshift::Cluster", {"IamRoles": [arn]})


def test_copy_role_can_only_read_the_staging_bucket(any_mode: Synth) -> None:
    staging_id, _ = any_mode.staging_bucket()
    copy_role = next(
        logical_id
        for logical_id, role in any_mode.resources("AWS::IAM::Role").items()
        if "redshift.amazonaws.com" in json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
    )
    policies = [
        p
        for p in any_mode.resources("AWS::IAM::Policy").values()
        if {"Ref": copy_role} in p["Properties"]["Roles"]
    ]
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    actions = {a for s in statements for a in _as_list(s["Action"])}
    assert actions == {"s3:GetObject", "s3:ListBucket"}
    for statement in statements:
        for resource in _as_list(statement["Resource"]):
            assert staging_id in json.dumps(resource), resource
    gets = [r for s in statements if "s3:GetObject" in _as_list(s["Action"])
            for r in _as_list(s["Resource"])]
    assert {r["Fn::Join"][1][-1] for r in gets} == {"/incoming/*", "/processed/*"}
    assert "ManagedPolicyArns" not in any_mode.resources("AWS::IAM::Role")[copy_role]["Properties"]


def test_vpc_has_only_isolated_subnets_and_an_s3_gateway_endpoint(serverless: Synth) -> None:
    for subnet in serverless.resources("AWS::EC2::Subnet").values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
    serverless.template.has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {
            "VpcEndpointType": "Gateway",
            "ServiceName": {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".s3"]]},
        },
    )
    serverless.template.resource_count_is("AWS::EC2::Route", 0)  # no default route anywhere
    serverless.template.resource_count_is("AWS::EC2::FlowLog", 1)


def test_admin_password_is_a_secrets_manager_dynamic_reference(any_mode: Synth) -> None:
    password_values: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if re.search("password$", key, re.IGNORECASE):  # AdminUserPassword, ...
                    password_values.append(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(any_mode.cfn["Resources"])
    assert password_values, "the warehouse must get its admin password from somewhere"
    for value in password_values:
        assert isinstance(value, dict), f"literal password in the template: {value!r}"
        rendered = json.dumps(value)
        assert "{{resolve:secretsmanager:" in rendered
        assert ":SecretString:password::}}" in rendered
    any_mode.template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"GenerateSecretString": Match.object_like({"GenerateStringKey": "password"})},
    )
    for secret in any_mode.resources("AWS::SecretsManager::Secret").values():
        assert "SecretString" not in secret["Properties"]


# --- functions --------------------------------------------------------------------------------


def test_functions_run_python_312_with_powertools_resolved_at_deploy_time(
    serverless: Synth,
) -> None:
    parameters = serverless.cfn["Parameters"]
    for handler in (PUBLISHER_HANDLER, serverless.loader[1]["Properties"]["Handler"]):
        serverless.template.has_resource_properties(
            "AWS::Lambda::Function",
            {"Handler": handler, "Runtime": "python3.12", "Architectures": ["x86_64"]},
        )
        _, function = serverless.function(handler)
        (layer,) = function["Properties"]["Layers"]
        parameter = parameters[layer["Ref"]]
        # CloudFormation reads AWS's public parameter when it deploys: no version, no region.
        assert parameter == {
            "Type": "AWS::SSM::Parameter::Value<String>",
            "Default": "/aws/service/powertools/python/x86_64/python3.12/latest",
        }
    assert ":layer:" not in json.dumps(serverless.cfn)


def test_function_asset_holds_only_the_layers_that_run_in_lambda_and_the_dataset(
    serverless: Synth,
) -> None:
    # (The usage-limit custom resource brings CDK's own handler as a second asset.)
    assets = [p for p in serverless.outdir.iterdir()
              if p.name.startswith("asset.") and (p / "pipeline").exists()]
    assert len(assets) == 1, "both functions share one asset"
    asset = assets[0]
    assert {p.name for p in asset.iterdir()} == {"pipeline", "data"}
    files = [p.relative_to(asset) for p in asset.rglob("*") if p.is_file()]
    shipped = {p.parts[1] for p in files if p.parts[0] == "pipeline" and len(p.parts) > 2}
    assert shipped == {"core", "app", "aws", "lambdas"}, shipped
    for relative in files:
        assert relative.parts[0] == "pipeline" or (
            relative.parent.as_posix() == "data" and relative.suffix == ".zip"
        ), relative
        assert relative.suffix in (".py", ".zip"), relative
        assert "__pycache__" not in relative.parts, relative
    top_level = {p.name for p in files if p.parts[0] == "pipeline" and len(p.parts) == 2}
    assert top_level == {"__init__.py"}, "cli.py and friends are not for Lambda"
    assert sum((asset / p).stat().st_size for p in files) < 50 * 1024 * 1024


def test_environment_names_come_from_pipeline_settings(any_mode: Synth) -> None:
    mode_env = {ENV_REDSHIFT_WORKGROUP if _mode(any_mode) == "serverless" else ENV_REDSHIFT_CLUSTER}
    for (_, function), required in (
        (any_mode.publisher, PUBLISHER_ENV),
        (any_mode.loader, LOADER_ENV | mode_env),
    ):
        names = set(function["Properties"]["Environment"]["Variables"])
        unknown = {n for n in names - set(ENV_FIELDS) if not n.startswith("POWERTOOLS_")}
        assert not unknown, f"not a pipeline.aws.settings name: {unknown}"
        local = (names & set(ENV_FIELDS)) - env_names(RuntimeSettings)
        assert not local, f"a local run's option, which no Lambda reads: {local}"
        assert required <= names, f"missing: {required - names}"
    loader_env = set(any_mode.loader[1]["Properties"]["Environment"]["Variables"])
    assert not {ENV_REDSHIFT_WORKGROUP, ENV_REDSHIFT_CLUSTER} - mode_env & loader_env


def test_lambda_environments_are_accepted_by_settings(any_mode: Synth) -> None:
    # Tokens (queue URL, bucket, ARNs) resolve at deploy time; stand in plausible values.
    stand_ins = {
        ENV_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/queue",
        ENV_BUCKET: "telegram-staging-bucket",
    }
    for _, function in (any_mode.publisher, any_mode.loader, any_mode.function(SETUP_HANDLER)):
        variables = function["Properties"]["Environment"]["Variables"]
        env = {
            name: value if isinstance(value, str) else stand_ins.get(name, "token")
            for name, value in variables.items()
            if name.startswith("PIPELINE_")
        }
        RuntimeSettings.from_env(env)


def test_publisher_reads_the_dataset_shipped_in_the_asset(serverless: Synth) -> None:
    env = serverless.publisher[1]["Properties"]["Environment"]["Variables"]
    assert env[ENV_DATASET_PATH] == DATASET_PATH
    assert f"/var/task/data/{DEFAULT_DATASET.name}" == DATASET_PATH


def test_statement_timeout_is_a_little_under_the_loader_timeout(any_mode: Synth) -> None:
    function = any_mode.loader[1]["Properties"]
    statement_timeout = float(function["Environment"]["Variables"][ENV_STATEMENT_TIMEOUT_S])
    assert 0.75 * function["Timeout"] <= statement_timeout < function["Timeout"]


# --- IAM --------------------------------------------------------------------------------------


def test_no_policy_allows_wildcard_actions_or_full_access(any_mode: Synth) -> None:
    for resource_type, statement in _statements(any_mode):
        if statement["Effect"] != "Allow":
            continue
        for action in _as_list(statement["Action"]):
            assert "*" not in action, (resource_type, statement)
    for role in any_mode.resources("AWS::IAM::Role").values():
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            assert "FullAccess" not in json.dumps(arn)


def test_only_actions_without_a_resource_type_use_a_wildcard_resource(any_mode: Synth) -> None:
    """"*" only where the IAM service reference offers nothing narrower (the Data API's
    statement calls, the Serverless usage-limit calls)."""
    from tests.cdk import reference

    for _, statement in _statements(any_mode):
        if statement["Effect"] == "Allow" and "*" in _as_list(statement["Resource"]):
            for action in _as_list(statement["Action"]):
                assert reference.resource_types(action) == {""}, (action, statement)
    data_api = [s for _, s in _statements(any_mode) if set(STATEMENT_ACTIONS) & set(
        _as_list(s["Action"]))]
    assert data_api and all(s["Resource"] == "*" for s in data_api)


def test_publisher_may_only_send_to_the_queue(serverless: Synth) -> None:
    (source_id, _), _ = serverless.queues()
    serverless.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": "sqs:SendMessage",  # SendMessageBatch; nothing else
                            "Effect": "Allow",
                            "Resource": {"Fn::GetAtt": [source_id, "Arn"]},
                        }
                    ]
                ),
                "Version": "2012-10-17",
            }
        },
    )


def _role_statements(synth: Synth, function: dict[str, Any]) -> list[dict[str, Any]]:
    """The identity-policy statements of one function's role."""
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    return [statement
            for policy in synth.resources("AWS::IAM::Policy").values()
            if {"Ref": role} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]]


@pytest.mark.parametrize("who", ["loader", "setup"])
def test_data_api_access_is_scoped_to_the_warehouse(any_mode: Synth, who: str) -> None:
    function = any_mode.loader[1] if who == "loader" else any_mode.function(SETUP_HANDLER)[1]
    statements = _role_statements(any_mode, function)
    execute = [s for s in statements if "redshift-data:ExecuteStatement" in _as_list(s["Action"])]
    assert len(execute) == 1
    assert "redshift-data:BatchExecuteStatement" in execute[0]["Action"]
    resource = json.dumps(execute[0]["Resource"])
    if _mode(any_mode) == "serverless":
        (workgroup_id,) = any_mode.resources("AWS::RedshiftServerless::Workgroup")
        assert execute[0]["Resource"] == {"Fn::GetAtt": [workgroup_id, "Workgroup.WorkgroupArn"]}
    else:
        (cluster_id,) = any_mode.resources("AWS::Redshift::Cluster")
        assert ":cluster:" in resource and cluster_id in resource
    actions = {a for s in statements for a in _as_list(s["Action"])}
    assert {"secretsmanager:GetSecretValue", *STATEMENT_ACTIONS} <= actions
    # Both log in with a secret: they need no temporary-credential calls.
    assert not actions & {"redshift-serverless:GetCredentials", "redshift:GetClusterCredentials"}


def test_only_the_database_setup_reads_the_admin_secret(any_mode: Synth) -> None:
    secrets = any_mode.resources("AWS::SecretsManager::Secret")
    by_user = {
        json.loads(s["Properties"]["GenerateSecretString"]["SecretStringTemplate"])["username"]:
            {"Ref": logical_id}
        for logical_id, s in secrets.items()
    }
    assert set(by_user) == {any_mode.config.admin_username, LOADER_USER}

    def readable(function: dict[str, Any]) -> list[Any]:
        return [r for s in _role_statements(any_mode, function)
                if "secretsmanager:GetSecretValue" in _as_list(s["Action"])
                for r in _as_list(s["Resource"])]

    assert readable(any_mode.loader[1]) == [by_user[LOADER_USER]]
    assert readable(any_mode.publisher[1]) == []
    # The set-up logs in as the admin and gives the loader user its secret's password.
    setup = readable(any_mode.function(SETUP_HANDLER)[1])
    assert sorted(map(json.dumps, setup)) == sorted(map(json.dumps, by_user.values()))
    admin_readers = [s for _, s in _statements(any_mode)
                     if by_user[any_mode.config.admin_username] in _as_list(s.get("Resource"))]
    assert len(admin_readers) == 1
    _, loader = any_mode.loader
    env = loader["Properties"]["Environment"]["Variables"]
    assert env[ENV_REDSHIFT_SECRET_ARN] == by_user[LOADER_USER]


def test_loader_reads_writes_and_deletes_only_under_the_staging_prefixes(serverless: Synth) -> None:
    objects = [
        s
        for resource_type, s in _statements(serverless)
        if resource_type == "AWS::IAM::Policy" and "s3:PutObject" in _as_list(s["Action"])
    ]
    assert len(objects) == 1
    # Single PUTs and copies only: no multipart permissions the code never uses.
    assert set(objects[0]["Action"]) == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
    suffixes = {r["Fn::Join"][1][-1] for r in objects[0]["Resource"]}
    assert suffixes == {"/incoming/*", "/processed/*", "/rejected/*"}


# --- monitoring and outputs -------------------------------------------------------------------


def test_alarms_watch_the_dlq_the_loader_and_the_queue_age(serverless: Synth) -> None:
    (source_id, _), (dlq_id, _) = serverless.queues()
    loader_id = serverless.loader[0]
    greater = "GreaterThanThreshold"
    expectations = [
        (
            "ApproximateNumberOfMessagesVisible",
            "AWS/SQS",
            0,
            "QueueName",
            {"Fn::GetAtt": [dlq_id, "QueueName"]},
        ),
        ("Errors", "AWS/Lambda", 0, "FunctionName", {"Ref": loader_id}),
        # The usage limit's daily share, in RPU-seconds (40 RPU-hours a day by default).
        ("ComputeSeconds", "AWS/Redshift-Serverless",
         serverless.config.usage_limit_rpu_hours * 3600, "Workgroup",
         {"Fn::GetAtt": [Match.any_value(), "Workgroup.WorkgroupName"]}),
        (
            "ApproximateAgeOfOldestMessage",
            "AWS/SQS",
            serverless.config.oldest_message_alarm_s,
            "QueueName",
            {"Fn::GetAtt": [source_id, "QueueName"]},
        ),
    ]
    for metric, namespace, threshold, dimension, value in expectations:
        serverless.template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "MetricName": metric,
                "Namespace": namespace,
                "Threshold": threshold,
                "ComparisonOperator": greater,
                "Dimensions": [{"Name": dimension, "Value": value}],
            },
        )


def test_every_alarm_notifies_the_topic_when_it_fires_and_when_it_clears(any_mode: Synth) -> None:
    (topic_id,) = any_mode.resources("AWS::SNS::Topic")
    alarms = any_mode.resources("AWS::CloudWatch::Alarm").values()
    assert alarms
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["Properties"]["OKActions"] == [{"Ref": topic_id}]
    assert any_mode.resources("AWS::SNS::Subscription") == {}


def test_an_alarm_email_from_context_subscribes_to_the_topic(
    synth: Callable[..., Synth],
) -> None:
    mailed = synth(alarmEmail="oncall@example.com")
    (topic_id,) = mailed.resources("AWS::SNS::Topic")
    mailed.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "email", "Endpoint": "oncall@example.com", "TopicArn": {"Ref": topic_id}},
    )


def test_destroy_keeps_a_final_snapshot_of_the_warehouse(any_mode: Synth) -> None:
    if _mode(any_mode) == "serverless":
        (namespace,) = any_mode.resources("AWS::RedshiftServerless::Namespace").values()
        assert namespace["Properties"]["FinalSnapshotName"] == (
            f"{any_mode.config.warehouse_name}-final"
        )
    else:
        (cluster,) = any_mode.resources("AWS::Redshift::Cluster").values()
        assert cluster["DeletionPolicy"] == cluster["UpdateReplacePolicy"] == "Snapshot"


def test_the_warehouse_takes_no_inbound_connection_unless_analyst_cidrs_open_5439(
    serverless: Synth, synth: Callable[..., Synth]
) -> None:
    (group,) = serverless.resources("AWS::EC2::SecurityGroup").values()
    assert "SecurityGroupIngress" not in group["Properties"]
    opened = synth(analystCidrs=["10.8.0.0/16"])
    (group,) = opened.resources("AWS::EC2::SecurityGroup").values()
    assert [
        (rule["CidrIp"], rule["IpProtocol"], rule["FromPort"], rule["ToPort"])
        for rule in group["Properties"]["SecurityGroupIngress"]
    ] == [("10.8.0.0/16", "tcp", 5439, 5439)]
    (workgroup,) = opened.resources("AWS::RedshiftServerless::Workgroup").values()
    assert workgroup["Properties"]["PubliclyAccessible"] is False


def test_physical_names_follow_the_stack_name(synth: Callable[..., Synth]) -> None:
    other = synth(stackName="IngestStaging")
    (workgroup,) = other.resources("AWS::RedshiftServerless::Workgroup").values()
    (namespace,) = other.resources("AWS::RedshiftServerless::Namespace").values()
    assert namespace["Properties"]["NamespaceName"] == "ingest-staging"
    assert workgroup["Properties"]["WorkgroupName"] == "ingest-staging"
    (dashboard,) = other.resources("AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"].startswith("IngestStaging")


def test_dashboard_shows_the_pipelines_key_figures(serverless: Synth) -> None:
    (dashboard,) = serverless.resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in (
        "NumberOfMessagesSent",
        "NumberOfMessagesReceived",
        "NumberOfMessagesDeleted",
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
        "Duration",
        "Errors",
        "Throttles",
        "ConcurrentExecutions",
        "Invocations",
    ):
        assert f'\\"{metric}\\"' in body, metric


def test_stack_outputs(any_mode: Synth) -> None:
    warehouse = "WorkgroupName" if _mode(any_mode) == "serverless" else "ClusterIdentifier"
    expected = {
        "QueueUrl",
        "DlqUrl",
        "BucketName",
        warehouse,
        "Database",
        "SecretArn",
        "Region",
        "CopyRoleArn",
        "LoaderSecretArn",
        "AlarmTopicArn",
    }
    assert set(any_mode.template.find_outputs("*")) == expected
    any_mode.template.has_output("Region", {"Value": any_mode.config.region})
    any_mode.template.has_output("Database", {"Value": any_mode.config.database})


def test_zone_ids_place_the_subnets_by_id_with_no_name_mapping(
        synth: Callable[..., Synth]) -> None:
    """Zone names differ per account, IDs do not, and the Redshift docs list supported zones
    by ID: the subnets take the IDs themselves, with or without a concrete account."""
    ids = ["use1-az2", "use1-az4", "use1-az6"]
    for placed in (synth(availabilityZoneIds=",".join(ids)),
                   synth(account="123456789012", availabilityZoneIds=ids)):
        subnets = placed.resources("AWS::EC2::Subnet").values()
        assert sorted(s["Properties"]["AvailabilityZoneId"] for s in subnets) == ids
        assert not any("AvailabilityZone" in s["Properties"] for s in subnets)
        placed.template.has_resource_properties("AWS::RedshiftServerless::Workgroup", {
            "SubnetIds": Match.array_with([{"Ref": Match.string_like_regexp("Subnet")}])})


def test_names_and_ids_together_are_refused(cdk_context: dict[str, Any]) -> None:
    from cdk_app.config import PipelineConfig
    from pipeline.core.errors import ConfigError

    context = {**cdk_context, "pipeline:availabilityZones": "us-east-1a,us-east-1b,us-east-1c",
               "pipeline:availabilityZoneIds": "use1-az2,use1-az4,use1-az6"}
    with pytest.raises(ConfigError, match="not both"):
        PipelineConfig.from_context(context.get)


def test_an_explicit_account_synthesizes_without_any_lookup(synth: Callable[..., Synth]) -> None:
    zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
    pinned = synth(account="123456789012", availabilityZones=zones)
    subnets = pinned.resources("AWS::EC2::Subnet").values()
    assert sorted(s["Properties"]["AvailabilityZone"] for s in subnets) == zones
    pinned.app.synth()
    manifest = json.loads((pinned.outdir / "manifest.json").read_text())
    assert not manifest.get("missing"), "synth left a context lookup (needs credentials)"
