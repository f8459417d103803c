"""The settings, one object per audience: every `PIPELINE_*` name is defined here, once.

- `RuntimeSettings`: what a Lambda reads from its environment (the CDK app sets those
  variables from these names, so a deployed function and the offline twin agree);
- `LocalOptions`: what only a local run reads, because in AWS the stack fixes it (the
  queue's visibility timeout and redrive count, the event source's batching, the
  bucket's lifecycle) or it is an analyst's tool (the warehouse file, the transport);
- `Settings`: both, for the offline twin and the CLI, which play the stack's part.

The deployment profile (what the CDK app reads, `cdk.json` context) is
`cdk_app.config.PipelineConfig`; its defaults for what the functions also read are
these objects' defaults. Precedence: explicit argument > environment > default.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.core.errors import ConfigError
from pipeline.core.limits import SQS_MAX_MESSAGE_BYTES, SQS_MIN_MESSAGE_BYTES

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATASET = REPO_ROOT / "data" / "data-engineering-bezant-assignement-dataset.zip"
DEFAULT_WAREHOUSE = Path("var") / "warehouse.duckdb"

# Every environment variable the pipeline reads. The CDK app imports these.
ENV_QUEUE_URL = "PIPELINE_QUEUE_URL"
ENV_DLQ_URL = "PIPELINE_DLQ_URL"
ENV_BUCKET = "PIPELINE_BUCKET"
ENV_SCHEMA = "PIPELINE_SCHEMA"
ENV_DATASET_PATH = "PIPELINE_DATASET_PATH"
ENV_MAX_MESSAGE_BYTES = "PIPELINE_MAX_MESSAGE_BYTES"
ENV_SAMPLE_MIN = "PIPELINE_SAMPLE_MIN"
ENV_SAMPLE_MAX = "PIPELINE_SAMPLE_MAX"
ENV_SEED = "PIPELINE_SEED"
ENV_SOURCE = "PIPELINE_SOURCE"
ENV_REGION = "PIPELINE_REGION"
ENV_AWS_ENDPOINT_URL = "PIPELINE_AWS_ENDPOINT_URL"
ENV_DATA_API_ENDPOINT_URL = "PIPELINE_DATA_API_ENDPOINT_URL"
ENV_WAREHOUSE_PATH = "PIPELINE_WAREHOUSE_PATH"
ENV_REDSHIFT_WORKGROUP = "PIPELINE_REDSHIFT_WORKGROUP"
ENV_REDSHIFT_CLUSTER = "PIPELINE_REDSHIFT_CLUSTER"
ENV_REDSHIFT_DATABASE = "PIPELINE_REDSHIFT_DATABASE"
ENV_REDSHIFT_SECRET_ARN = "PIPELINE_REDSHIFT_SECRET_ARN"  # noqa: S105 (a name, not a secret)
ENV_REDSHIFT_DB_USER = "PIPELINE_REDSHIFT_DB_USER"
ENV_REDSHIFT_TRANSPORT = "PIPELINE_REDSHIFT_TRANSPORT"
ENV_COPY_ROLE_ARN = "PIPELINE_COPY_ROLE_ARN"
ENV_STATEMENT_TIMEOUT_S = "PIPELINE_STATEMENT_TIMEOUT_S"
ENV_VISIBILITY_TIMEOUT_S = "PIPELINE_VISIBILITY_TIMEOUT_S"
ENV_MAX_RECEIVE_COUNT = "PIPELINE_MAX_RECEIVE_COUNT"
ENV_BATCH_SIZE = "PIPELINE_BATCH_SIZE"
ENV_BATCHING_WINDOW_S = "PIPELINE_BATCHING_WINDOW_S"
ENV_PROCESSED_EXPIRY_DAYS = "PIPELINE_PROCESSED_EXPIRY_DAYS"
ENV_REJECTED_EXPIRY_DAYS = "PIPELINE_REJECTED_EXPIRY_DAYS"
ENV_LOG_LEVEL = "PIPELINE_LOG_LEVEL"

# SQS accepts bodies up to 1 MiB (since August 2025); the queue's MaximumMessageSize
# and the publisher's limit are both set from ENV_MAX_MESSAGE_BYTES.
# Lambda's SQS event source accepts batches of at most 10,000 records (standard queues).
MAX_BATCH_SIZE = 10_000

# \Z, not $: "$" also matches before a final newline, which would pass "scraped\n".
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_$]{0,126}\Z")
# The levels PIPELINE_LOG_LEVEL, `pipeline run --log-level` and cdk.json's logLevel accept.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# How the loader is triggered: a drain on a schedule (few COPYs: the cheap default) or the
# SQS event source per message (seconds of freshness, a workgroup billed around the clock).
LOAD_SCHEDULE = "schedule"
LOAD_QUEUE = "queue"
LOAD_TRIGGERS = (LOAD_SCHEDULE, LOAD_QUEUE)
# The deployment profile's defaults a local run mirrors (cdk.json pipeline:loadEvery and
# pipeline:maxConcurrency): minutes between scheduled drains, the event source's concurrency.
DEPLOYED_LOAD_EVERY_MIN = 5
DEPLOYED_MAX_CONCURRENCY = 2
# How long the queues keep a message: the source queue a few days, the DLQ the longest SQS
# allows (14 days), so nothing expires there before triage. The stack and the emulator
# create their queues with these.
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
QUEUE_RETENTION_DAYS = 4
DLQ_RETENTION_DAYS = 14
# The staging bucket's lifecycle rules accept expiry days in this range (here and in cdk.json).
EXPIRY_DAYS_RANGE = (1, 3650)
# Amazon Redshift's reserved words, from
# https://docs.aws.amazon.com/redshift/latest/dg/r_pg_keywords.html: an unquoted
# identifier spelled like one fails to parse (`CREATE SCHEMA group` is a syntax error).
RESERVED_WORDS = frozenset({
    "aes128", "aes256", "all", "allowoverwrite", "analyse", "analyze", "and", "any", "array",
    "as", "asc", "authorization", "az64", "backup", "between", "binary", "blanksasnull", "both",
    "bytedict", "bzip2", "case", "cast", "check", "collate", "column", "connect", "constraint",
    "create", "credentials", "cross", "current_date", "current_time", "current_timestamp",
    "current_user", "current_user_id", "default", "deferrable", "deflate", "defrag", "delta",
    "delta32k", "desc", "disable", "distinct", "do", "else", "emptyasnull", "enable", "encode",
    "encrypt", "encryption", "end", "except", "explicit", "false", "for", "foreign", "freeze",
    "from", "full", "globaldict256", "globaldict64k", "grant", "group", "gzip", "having",
    "identity", "ignore", "ilike", "in", "initially", "inner", "intersect", "interval", "into",
    "is", "isnull", "join", "language", "leading", "left", "like", "limit", "localtime",
    "localtimestamp", "lun", "luns", "lzo", "lzop", "minus", "mostly16", "mostly32", "mostly8",
    "natural", "new", "not", "notnull", "null", "nulls", "off", "offline", "offset", "oid",
    "old", "on", "only", "open", "or", "order", "outer", "overlaps", "parallel", "partition",
    "percent", "permissions", "pivot", "placing", "primary", "raw", "readratio", "recover",
    "references", "rejectlog", "resort", "respect", "restore", "right", "select",
    "session_user", "similar", "snapshot", "some", "sysdate", "system", "start", "table", "tag",
    "tdes", "text255", "text32k", "then", "timestamp", "to", "top", "trailing", "true",
    "truncatecolumns", "union", "unique", "unnest", "unpivot", "user", "using", "verbose",
    "wallet", "when", "where", "with", "without"
})
# How analysts reach Redshift: the Data API (IAM alone, from anywhere) or redshift-connector
# over TCP (needs a network path to the private workgroup).
REDSHIFT_TRANSPORTS = ("data-api", "connector")


def validate_identifier(value: str, name: str = "identifier") -> str:
    """Return `value` if it is a safe unquoted Redshift identifier, else raise ConfigError.

    Identifiers are interpolated into SQL (they cannot be bound as parameters), so
    only lower-case names of letters, digits, `_` and `$` up to 127 bytes that are
    not Redshift reserved words pass.
    """
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        raise ConfigError(
            f"{name}={value!r} is not a valid identifier: use lower-case letters, digits, "
            "'_' or '$', starting with a letter or '_', at most 127 characters"
        )
    if value in RESERVED_WORDS:
        raise ConfigError(
            f"{name}={value!r} is a Redshift reserved word and fails unquoted: choose another "
            "name (see https://docs.aws.amazon.com/redshift/latest/dg/r_pg_keywords.html)"
        )
    return value


def _from_env(cls: type[Any], environ: Mapping[str, str] | None,
              overrides: Mapping[str, Any]) -> Any:
    """`cls` from `PIPELINE_*` variables: its own fields read, other audiences' names passed
    over, names no audience knows refused; explicit `overrides` win over the environment."""
    import os

    env = os.environ if environ is None else environ
    unknown = sorted(k for k in env if k.startswith("PIPELINE_") and k not in ENV_FIELDS)
    if unknown:
        raise ConfigError(
            f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(ENV_FIELDS))}"
        )
    values: dict[str, Any] = {}
    types = {f.name: f.type for f in dataclasses.fields(cls)}
    for env_name, attr in ENV_FIELDS.items():
        raw = env.get(env_name)
        if attr not in types or raw is None or raw == "":
            continue
        values[attr] = _parse(env_name, raw, str(types[attr]))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return cls(**values)


def _to_env(settings: Any) -> dict[str, str]:
    """The environment that reproduces `settings` (for subprocesses and notebooks)."""
    out: dict[str, str] = {}
    names = {f.name for f in dataclasses.fields(settings)}
    for env_name, attr in ENV_FIELDS.items():
        value = getattr(settings, attr) if attr in names else None
        if value is not None:
            out[env_name] = str(value)
    return out


@dataclass(frozen=True)
class RuntimeSettings:
    """What the Lambda functions read: build it with `RuntimeSettings.from_env()`.

    Every field is a `PIPELINE_*` variable the CDK app sets on the functions (or, for the
    endpoints, the offline twin sets for them).
    """

    queue_url: str | None = None
    dlq_url: str | None = None
    bucket: str = "telegram-staging"
    schema: str = "scraped"
    dataset_path: Path = DEFAULT_DATASET
    max_message_bytes: int = SQS_MAX_MESSAGE_BYTES
    sample_min: int = 1
    sample_max: int = 1000
    seed: int | None = None
    source: str = "telegram-scraper"
    region: str = "us-east-1"
    aws_endpoint_url: str | None = None
    data_api_endpoint_url: str | None = None
    redshift_workgroup: str | None = None
    redshift_cluster: str | None = None
    redshift_database: str = "dev"
    redshift_secret_arn: str | None = None
    redshift_db_user: str | None = None
    copy_role_arn: str = "arn:aws:iam::000000000000:role/embedded-copy"
    statement_timeout_s: float = 240.0
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        validate_identifier(self.schema, ENV_SCHEMA)
        _check_range(ENV_MAX_MESSAGE_BYTES, self.max_message_bytes,
                     SQS_MIN_MESSAGE_BYTES, SQS_MAX_MESSAGE_BYTES)
        _check_range(ENV_SAMPLE_MIN, self.sample_min, 1, 1_000_000)
        _check_range(ENV_SAMPLE_MAX, self.sample_max, self.sample_min, 1_000_000)
        if not 0 < self.statement_timeout_s < math.inf:  # NaN compares false: refused too
            raise ConfigError(f"{ENV_STATEMENT_TIMEOUT_S}={self.statement_timeout_s} must be a "
                              "finite number of seconds > 0")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"{ENV_LOG_LEVEL}={self.log_level!r} must be one of {LOG_LEVELS}")
        if self.redshift_workgroup and self.redshift_cluster:
            raise ConfigError(
                f"set {ENV_REDSHIFT_WORKGROUP} (serverless) or {ENV_REDSHIFT_CLUSTER} "
                "(provisioned), not both"
            )
        if not re.match(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$", self.bucket):
            raise ConfigError(f"{ENV_BUCKET}={self.bucket!r} is not a valid S3 bucket name")

    @property
    def embedded(self) -> bool:
        """True when the warehouse is the embedded Data API over DuckDB, not Redshift."""
        return not (self.redshift_workgroup or self.redshift_cluster)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None,
                 **overrides: Any) -> RuntimeSettings:
        """Read `PIPELINE_*` variables; explicit `overrides` win over the environment."""
        return _from_env(cls, environ, overrides)  # type: ignore[no-any-return]

    def to_env(self) -> dict[str, str]:
        """The environment that reproduces these settings (for subprocesses and notebooks)."""
        return _to_env(self)


@dataclass(frozen=True)
class LocalOptions:
    """What a local run reads that a Lambda does not: in AWS the stack fixes these."""

    warehouse_path: Path = DEFAULT_WAREHOUSE
    redshift_transport: str = "data-api"
    visibility_timeout_s: int = 360
    max_receive_count: int = 5
    batch_size: int = 100
    batching_window_s: int = 5
    processed_expiry_days: int = 1
    rejected_expiry_days: int = 30

    def __post_init__(self) -> None:
        _check_range(ENV_VISIBILITY_TIMEOUT_S, self.visibility_timeout_s, 0, 43_200)
        _check_range(ENV_MAX_RECEIVE_COUNT, self.max_receive_count, 1, 1_000)
        _check_range(ENV_BATCH_SIZE, self.batch_size, 1, MAX_BATCH_SIZE)
        _check_range(ENV_BATCHING_WINDOW_S, self.batching_window_s, 0, 300)
        _check_range(ENV_PROCESSED_EXPIRY_DAYS, self.processed_expiry_days, *EXPIRY_DAYS_RANGE)
        _check_range(ENV_REJECTED_EXPIRY_DAYS, self.rejected_expiry_days, *EXPIRY_DAYS_RANGE)
        refusal = batching_refusal(self.batch_size, self.batching_window_s)
        if refusal:
            raise ConfigError(f"{ENV_BATCH_SIZE}={self.batch_size} with {ENV_BATCHING_WINDOW_S}="
                              f"{self.batching_window_s}: {refusal}; set the window to 1 or "
                              f"more, or the batch size to {MAX_BATCH_SIZE_WITHOUT_WINDOW} or less")
        if self.redshift_transport not in REDSHIFT_TRANSPORTS:
            raise ConfigError(
                f"{ENV_REDSHIFT_TRANSPORT}={self.redshift_transport!r} must be one of "
                f"{', '.join(REDSHIFT_TRANSPORTS)}"
            )


@dataclass(frozen=True)
class Settings(LocalOptions, RuntimeSettings):
    """A local run's settings: the runtime settings and the local options in one object.

    The offline twin and the CLI play the stack's part, so they read both; a Lambda reads
    `RuntimeSettings` only. Build it with `Settings.from_env()`.
    """

    def __post_init__(self) -> None:
        RuntimeSettings.__post_init__(self)
        LocalOptions.__post_init__(self)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read `PIPELINE_*` variables; explicit `overrides` win over the environment."""
        return _from_env(cls, environ, overrides)  # type: ignore[no-any-return]

    def with_stack_outputs(self, path: str | Path, stack: str | None = None) -> Settings:
        """These settings pointed at a deployed stack: each output `read_stack_outputs` finds
        in `path` (QueueUrl, DlqUrl, WorkgroupName, ...) replaces the field it names."""
        outputs = read_stack_outputs(path, stack)
        fields: dict[str, Any] = {
            field: outputs[key] for key, field in STACK_OUTPUTS.items() if key in outputs}
        # A stack has a workgroup or a cluster: the one it names replaces either.
        if "redshift_workgroup" in fields:
            fields.setdefault("redshift_cluster", None)
        elif "redshift_cluster" in fields:
            fields["redshift_workgroup"] = None
        return dataclasses.replace(self, **fields)


ENV_FIELDS: dict[str, str] = {
    ENV_QUEUE_URL: "queue_url",
    ENV_DLQ_URL: "dlq_url",
    ENV_BUCKET: "bucket",
    ENV_SCHEMA: "schema",
    ENV_DATASET_PATH: "dataset_path",
    ENV_MAX_MESSAGE_BYTES: "max_message_bytes",
    ENV_SAMPLE_MIN: "sample_min",
    ENV_SAMPLE_MAX: "sample_max",
    ENV_SEED: "seed",
    ENV_SOURCE: "source",
    ENV_REGION: "region",
    ENV_AWS_ENDPOINT_URL: "aws_endpoint_url",
    ENV_DATA_API_ENDPOINT_URL: "data_api_endpoint_url",
    ENV_WAREHOUSE_PATH: "warehouse_path",
    ENV_REDSHIFT_WORKGROUP: "redshift_workgroup",
    ENV_REDSHIFT_CLUSTER: "redshift_cluster",
    ENV_REDSHIFT_DATABASE: "redshift_database",
    ENV_REDSHIFT_SECRET_ARN: "redshift_secret_arn",
    ENV_REDSHIFT_DB_USER: "redshift_db_user",
    ENV_REDSHIFT_TRANSPORT: "redshift_transport",
    ENV_COPY_ROLE_ARN: "copy_role_arn",
    ENV_STATEMENT_TIMEOUT_S: "statement_timeout_s",
    ENV_VISIBILITY_TIMEOUT_S: "visibility_timeout_s",
    ENV_MAX_RECEIVE_COUNT: "max_receive_count",
    ENV_BATCH_SIZE: "batch_size",
    ENV_BATCHING_WINDOW_S: "batching_window_s",
    ENV_PROCESSED_EXPIRY_DAYS: "processed_expiry_days",
    ENV_REJECTED_EXPIRY_DAYS: "rejected_expiry_days",
    ENV_LOG_LEVEL: "log_level",
}


def env_names(audience: type[RuntimeSettings] | type[LocalOptions]) -> frozenset[str]:
    """The `PIPELINE_*` names one audience's object reads (`RuntimeSettings`: what the CDK
    app may set on a function)."""
    fields = {f.name for f in dataclasses.fields(audience)}
    return frozenset(name for name, attr in ENV_FIELDS.items() if attr in fields)


def _parse(env_name: str, raw: str, type_name: str) -> Any:
    try:
        if type_name.startswith("int"):
            return int(raw)
        if type_name.startswith("float"):
            return float(raw)
        if type_name.startswith("Path"):
            return Path(raw)
    except ValueError:
        kind = "an integer" if type_name.startswith("int") else "a number"
        raise ConfigError(f"{env_name}={raw!r} is not {kind}") from None
    return raw


# Lambda refuses an SQS event source mapping with more than 10 records a batch and no
# batching window: "When you set BatchSize to a value greater than 10, you must set
# MaximumBatchingWindowInSeconds to at least 1."
# (https://docs.aws.amazon.com/lambda/latest/dg/API_EventSourceMappingConfiguration.html)
MAX_BATCH_SIZE_WITHOUT_WINDOW = 10


def batching_refusal(batch_size: int, batching_window_s: float) -> str | None:
    """Why Lambda would refuse an SQS event source batching this way; None if it accepts it.

    The one statement of the rule: the settings, the offline event source, `pipeline run`
    and `pipeline bench` and the CDK app's context all ask it.
    """
    if batch_size > MAX_BATCH_SIZE_WITHOUT_WINDOW and batching_window_s < 1:
        return (f"a batch size over {MAX_BATCH_SIZE_WITHOUT_WINDOW} ({batch_size}) needs a "
                f"batching window of at least 1 s, not {batching_window_s:g}: Lambda refuses "
                "the event source otherwise")
    return None


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{name}={value!r} must be an integer between {low} and {high}")


# The stack's outputs, as `cdk deploy --outputs-file` writes them (cdk_app/stack.py emits
# these names), each with the Settings field it fills. The admin secret's output fills
# none: operator commands log in as the caller's IAM identity (the operator role), and only
# `warehouse init` reads that output, explicitly.
OUTPUT_QUEUE_URL = "QueueUrl"
OUTPUT_DLQ_URL = "DlqUrl"
OUTPUT_BUCKET = "BucketName"
OUTPUT_WORKGROUP = "WorkgroupName"
OUTPUT_CLUSTER = "ClusterIdentifier"
OUTPUT_DATABASE = "Database"
OUTPUT_SECRET_ARN = "SecretArn"  # noqa: S105 (an output name, not a secret)
OUTPUT_REGION = "Region"
OUTPUT_COPY_ROLE_ARN = "CopyRoleArn"
OUTPUT_LOADER_SECRET_ARN = "LoaderSecretArn"  # noqa: S105 (an output name, not a secret)
OUTPUT_ALARM_TOPIC_ARN = "AlarmTopicArn"
STACK_OUTPUTS: dict[str, str] = {
    OUTPUT_QUEUE_URL: "queue_url",
    OUTPUT_DLQ_URL: "dlq_url",
    OUTPUT_BUCKET: "bucket",
    OUTPUT_WORKGROUP: "redshift_workgroup",
    OUTPUT_CLUSTER: "redshift_cluster",
    OUTPUT_DATABASE: "redshift_database",
    OUTPUT_REGION: "region",
    OUTPUT_COPY_ROLE_ARN: "copy_role_arn",
}


def read_stack_outputs(path: str | Path, stack: str | None = None) -> dict[str, str]:
    """One stack's outputs (`QueueUrl`, `DlqUrl`, ...) from a `cdk deploy --outputs-file` JSON.

    The file maps stack names to their outputs; a bare outputs object is taken as
    the one stack. With several stacks, the one holding a `DlqUrl` is used, or
    `stack` when given. Empty values are dropped. Raises ConfigError when the
    file is missing, malformed or ambiguous.
    """
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"stack outputs file {file} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"stack outputs file {file} is not readable JSON: {exc}") from None
    if isinstance(data, dict) and data and all(isinstance(v, str) for v in data.values()):
        data = {"stack": data}
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ConfigError(
            f"stack outputs file {file} should map stack names to outputs, as "
            "`cdk deploy --outputs-file` writes it"
        )
    if stack is not None:
        if stack not in data:
            raise ConfigError(f"stack {stack!r} is not in {file}; it has {sorted(data)}")
        chosen = data[stack]
    else:
        candidates = [name for name, out in data.items() if OUTPUT_DLQ_URL in out] or list(data)
        if len(candidates) != 1:
            raise ConfigError(
                f"stack outputs file {file} has {len(candidates)} candidate stacks "
                f"({', '.join(sorted(candidates)) or 'none'}); name one"
            )
        chosen = data[candidates[0]]
    return {key: str(value) for key, value in chosen.items() if value not in (None, "")}
