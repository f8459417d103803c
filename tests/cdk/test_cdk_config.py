"""Reading `cdk.json` context into `PipelineConfig`: defaults, coercion and clear errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cdk_app.config import CONTEXT_KEYS, PREFIX, PipelineConfig, default_warehouse_name
from pipeline.aws.settings import SQS_MAX_MESSAGE_BYTES
from pipeline.core.errors import ConfigError

pytestmark = pytest.mark.cdk


def _config(context: dict[str, Any], **overrides: Any) -> PipelineConfig:
    merged = {**context, **{PREFIX + k: v for k, v in overrides.items()}}
    return PipelineConfig.from_context(merged.get)


def test_cdk_json_builds_a_valid_config(cdk_context: dict[str, Any]) -> None:
    config = _config(cdk_context)
    assert config.warehouse_mode == "serverless"
    assert config.schedule == "rate(1 minute)"
    assert config.max_message_bytes == SQS_MAX_MESSAGE_BYTES
    assert config.visibility_timeout_s >= 6 * config.loader_timeout_s
    assert 0 < config.statement_timeout_s < config.loader_timeout_s
    assert config.warehouse_name == "telegram-ingest-pipeline"  # derived from the stack name
    assert config.alarm_email is None


def test_cdk_json_uses_only_known_keys_and_no_secret(cdk_context: dict[str, Any]) -> None:
    ours = {key for key in cdk_context if key.startswith(PREFIX)}
    assert ours <= set(CONTEXT_KEYS), ours - set(CONTEXT_KEYS)
    assert not [key for key in cdk_context if "password" in key.lower()]


def test_nothing_region_specific_or_versioned_by_hand_is_left_in_cdk_json(
    cdk_context: dict[str, Any],
) -> None:
    text = json.dumps({k: v for k, v in cdk_context.items() if k.startswith(PREFIX)})
    assert "arn:aws:lambda" not in text and ":layer:" not in text
    assert PREFIX + "layers" not in CONTEXT_KEYS
    # Any region builds: the Powertools layer is resolved by CloudFormation at deploy time.
    for region in ("ap-south-1", "sa-east-1", "eu-north-1"):
        assert _config(cdk_context, region=region).region == region


@pytest.mark.parametrize(
    ("stack_name", "expected"),
    [
        ("TelegramIngestPipeline", "telegram-ingest-pipeline"),
        ("Telegram-Ingest-Staging2", "telegram-ingest-staging2"),
        ("A1", "a1-warehouse"),
        ("X" * 128, "x" * 63),
    ],
)
def test_warehouse_names_are_derived_from_the_stack_name(
    cdk_context: dict[str, Any], stack_name: str, expected: str
) -> None:
    assert default_warehouse_name(stack_name) == expected
    assert _config(cdk_context, stackName=stack_name).warehouse_name == expected


def test_two_stacks_in_one_account_get_different_physical_names(
    cdk_context: dict[str, Any],
) -> None:
    first = _config(cdk_context, stackName="PipelineA")
    second = _config(cdk_context, stackName="PipelineB")
    assert first.warehouse_name != second.warehouse_name
    assert _config(cdk_context, warehouseName="my-warehouse").warehouse_name == "my-warehouse"


def test_alarm_email_is_optional_and_checked(cdk_context: dict[str, Any]) -> None:
    assert _config(cdk_context, alarmEmail="ops@example.com").alarm_email == "ops@example.com"
    with pytest.raises(ConfigError, match=r"pipeline:alarmEmail.*one e-mail address"):
        _config(cdk_context, alarmEmail="ops at example")


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("maxMessageBytes", SQS_MAX_MESSAGE_BYTES + 1, "between 1024 and 1048576"),
        ("warehouseMode", "dedicated", "serverless, provisioned"),
        ("nodeType", "ra3.4xlarge", "ra3.large"),
        ("schedule", "every minute", "rate(...) or cron(...)"),
        ("schema", "Scraped-Data", "not a valid identifier"),
        ("maxConcurrency", 1, "between 2 and 1000"),
        ("queueRetentionDays", 14, "between 1 and 13"),
        ("logRetentionDays", 10, "must be one of"),
        ("serverlessBaseCapacity", 12, "multiple of 8"),
        ("adminUsername", "awsuser", "well-known default"),
        ("availabilityZones", ["us-east-1a", "us-east-1b"], "three"),
        ("availabilityZoneIds", ["use1-az1", "use1-az2"], "three distinct zone IDs"),
        ("availabilityZoneIds", "use1-az1,use1-az2,usw2-az1", "of one region"),
        ("availabilityZoneIds", "us-east-1a,us-east-1b,us-east-1c", "zone IDs"),
        ("account", "123456789012", "needs pipeline:availabilityZones"),
    ],
)
def test_invalid_values_are_reported_by_context_key(
    cdk_context: dict[str, Any], key: str, value: Any, fragment: str
) -> None:
    with pytest.raises(ConfigError) as excinfo:
        _config(cdk_context, **{key: value})
    assert PREFIX + key in str(excinfo.value)
    assert fragment in str(excinfo.value)


def test_all_problems_are_reported_at_once(cdk_context: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as excinfo:
        _config(cdk_context, batchSize=0, sampleMin=0, logLevel="LOUD")
    message = str(excinfo.value)
    for key in ("batchSize", "sampleMin", "logLevel"):
        assert PREFIX + key in message


def test_cross_field_rules(cdk_context: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=r"pipeline:sampleMax.*>= pipeline:sampleMin"):
        _config(cdk_context, sampleMin=500, sampleMax=10)
    with pytest.raises(ConfigError, match=r"maxBatchingWindowSeconds.*batchSize is over 10"):
        _config(cdk_context, batchSize=100, maxBatchingWindowSeconds=0)


def test_command_line_strings_are_coerced(cdk_context: dict[str, Any]) -> None:
    config = _config(
        cdk_context,
        batchSize="50",
        rejectedExpiryDays="7",
        logRetentionDays="30",
        availabilityZones="us-east-1a,us-east-1b,us-east-1c",
    )
    assert (config.batch_size, config.rejected_expiry_days) == (50, 7)
    assert config.log_retention_days == 30
    assert config.availability_zones == ("us-east-1a", "us-east-1b", "us-east-1c")


def test_analyst_cidrs_are_opt_in_and_never_the_whole_internet(
    cdk_context: dict[str, Any],
) -> None:
    assert _config(cdk_context).analyst_cidrs == ()
    config = _config(cdk_context, analystCidrs="10.8.0.0/16, 192.168.4.0/24")
    assert config.analyst_cidrs == ("10.8.0.0/16", "192.168.4.0/24")
    with pytest.raises(ConfigError, match=r"pipeline:analystCidrs.*never 0\.0\.0\.0/0"):
        _config(cdk_context, analystCidrs=["0.0.0.0/0"])
    with pytest.raises(ConfigError, match=r"pipeline:analystCidrs.*IPv4 CIDRs"):
        _config(cdk_context, analystCidrs=["office"])
