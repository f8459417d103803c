"""Reading `cdk.json` context into `PipelineConfig`: defaults, coercion and clear errors."""

from __future__ import annotations

from typing import Any

import pytest

from cdk_app.config import CONTEXT_KEYS, PREFIX, PipelineConfig
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
    assert config.layers.pandas.startswith(f"arn:aws:lambda:{config.region}:")


def test_cdk_json_uses_only_known_keys_and_no_secret(cdk_context: dict[str, Any]) -> None:
    ours = {key for key in cdk_context if key.startswith(PREFIX)}
    assert ours <= set(CONTEXT_KEYS), ours - set(CONTEXT_KEYS)
    assert not [key for key in cdk_context if "password" in key.lower()]


def test_layers_are_pinned_for_the_documented_regions(cdk_context: dict[str, Any]) -> None:
    for region in ("us-east-1", "eu-west-1", "eu-central-1", "us-west-2"):
        assert _config(cdk_context, region=region).layers.powertools.split(":")[3] == region


def test_a_region_without_pinned_layers_fails_with_a_clear_message(
    cdk_context: dict[str, Any],
) -> None:
    with pytest.raises(ConfigError, match=r"no Lambda layer ARNs pinned for region 'ap-south-1'"):
        _config(cdk_context, region="ap-south-1")


def test_a_layer_for_another_runtime_is_rejected(cdk_context: dict[str, Any]) -> None:
    layers = {
        "us-east-1": {
            **cdk_context["pipeline:layers"]["us-east-1"],
            "pandas": "arn:aws:lambda:us-east-1:336392948345:layer:AWSSDKPandas-Python313:3",
        }
    }
    with pytest.raises(ConfigError, match=r"layers\.us-east-1\.pandas"):
        _config(cdk_context, layers=layers)


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
