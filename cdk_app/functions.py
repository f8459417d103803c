"""The two Lambdas (publisher on a schedule, loader on the queue), packaged without Docker.

The asset is the repository root filtered down to `pipeline/**` and `data/*.zip`. The functions
need only what the Python runtime provides (boto3) and Powertools, which comes from AWS's own
layer: its ARN is read at deploy time from the public SSM parameter AWS publishes per region
(`POWERTOOLS_LAYER_PARAMETER`), so no layer version or region is maintained by hand.
Environment variable names are imported from `pipeline.aws.settings`, never retyped.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from cdk_app.config import PipelineConfig
from cdk_app.nag import acknowledge
from cdk_app.trigger import LOADER_HANDLER, loader_handler
from pipeline.aws import settings
from pipeline.aws.settings import (
    ENV_BUCKET,
    ENV_COPY_ROLE_ARN,
    ENV_DATASET_PATH,
    ENV_LOG_LEVEL,
    ENV_MAX_MESSAGE_BYTES,
    ENV_QUEUE_URL,
    ENV_REDSHIFT_CLUSTER,
    ENV_REDSHIFT_DATABASE,
    ENV_REDSHIFT_SECRET_ARN,
    ENV_REDSHIFT_WORKGROUP,
    ENV_REGION,
    ENV_SAMPLE_MAX,
    ENV_SAMPLE_MIN,
    ENV_SCHEMA,
    ENV_SOURCE,
    ENV_STATEMENT_TIMEOUT_S,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_TASK_ROOT = PurePosixPath("/var/task")
PUBLISHER_HANDLER = "pipeline.lambdas.publisher.handler"
__all__ = ["LOADER_HANDLER", "PUBLISHER_HANDLER", "Loader", "Publisher"]
RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.X86_64
# The public parameter AWS keeps pointing at the newest Powertools v3 layer of this runtime and
# architecture, in every region (https://docs.powertools.aws.dev/lambda/python/latest/#lambda-layer).
# Resolved by CloudFormation at deploy time, so synth needs no credentials and no lookup.
POWERTOOLS_LAYER_PARAMETER = (
    f"/aws/service/powertools/python/{ARCHITECTURE.name}/{RUNTIME.name}/latest"
)
# Where the dataset lands inside the function: the same relative path as in the repository.
DATASET_PATH = str(LAMBDA_TASK_ROOT / settings.DEFAULT_DATASET.relative_to(settings.REPO_ROOT))

# Glob rules applied in order (a later `!` re-includes): drop everything (`*` does not match
# dot-files, hence `.*`), then take back only the layers that run in Lambda and the dataset
# zip, then drop byte code again. The offline twin and the analyst tools never ship, nor does
# anything else in the repository (.venv, node_modules, cdk.out, tests, notebooks, var, ...).
SHIPPED_LAYERS = ("core", "app", "aws", "lambdas")
ASSET_EXCLUDE = [
    "*",
    ".*",
    "!pipeline",
    "!pipeline/__init__.py",
    *(rule for layer in SHIPPED_LAYERS for rule in (f"!pipeline/{layer}", f"!pipeline/{layer}/**")),
    "!data",
    "!data/*.zip",
    "__pycache__",
    "*.pyc",
    ".DS_Store",
]

_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
}

_L1_REASON = (
    "Pinned to Python 3.12 on purpose: the Powertools layer parameter names the runtime "
    "(.../python3.12/latest) and the runtime rehearsal test imports the handlers in a venv "
    "built for it; move runtime, parameter and rehearsal together."
)


def powertools_layer(scope: Construct) -> lambda_.ILayerVersion:
    """AWS's Powertools layer for this runtime, one per stack, resolved at deploy time."""
    stack = Stack.of(scope)
    existing = stack.node.try_find_child("PowertoolsLayer")
    if existing is not None:
        return existing  # type: ignore[return-value]
    arn = ssm.StringParameter.value_for_string_parameter(stack, POWERTOOLS_LAYER_PARAMETER)
    return lambda_.LayerVersion.from_layer_version_arn(stack, "PowertoolsLayer", arn)


def asset_code() -> lambda_.Code:
    """The one function asset both Lambdas share (same path and rules, so one upload)."""
    return lambda_.Code.from_asset(str(REPO_ROOT), exclude=ASSET_EXCLUDE)


class PipelineFunction(Construct):
    """A Python 3.12 function with its own role and log group (no managed policies)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        handler: str,
        description: str,
        service: str,
        timeout_s: int,
        memory_mb: int,
        environment: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self, "Logs", retention=_RETENTION[config.log_retention_days]
        )
        self.role = iam.Role(
            self,
            "Role",
            description=f"Execution role of the {service} Lambda",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=asset_code(),
            role=self.role,
            log_group=self.log_group,
            timeout=Duration.seconds(timeout_s),
            memory_size=memory_mb,
            layers=[powertools_layer(self)],
            environment={**environment, "POWERTOOLS_SERVICE_NAME": service},
        )
        acknowledge(self.function, "AwsSolutions-L1", _L1_REASON)


class Publisher(Construct):
    """The emulated scraper: every `schedule` tick, sample rows and send them to the queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        environment = {
            ENV_QUEUE_URL: queue.queue_url,
            ENV_MAX_MESSAGE_BYTES: str(config.max_message_bytes),
            ENV_SAMPLE_MIN: str(config.sample_min),
            ENV_SAMPLE_MAX: str(config.sample_max),
            ENV_DATASET_PATH: DATASET_PATH,
            ENV_SOURCE: config.source,
            ENV_LOG_LEVEL: config.log_level,
            ENV_REGION: Stack.of(self).region,
        }
        self.pipeline_function = PipelineFunction(
            self,
            "Lambda",
            config=config,
            handler=PUBLISHER_HANDLER,
            description="Samples telegram.csv and publishes size-bounded parts to SQS",
            service="publisher",
            timeout_s=config.publisher_timeout_s,
            memory_mb=config.publisher_memory_mb,
            environment=environment,
        )
        self.function = self.pipeline_function.function
        # A failed tick is not retried: a retry would draw a fresh sample anyway, and the
        # next tick comes within the schedule's period.
        self.function.configure_async_invoke(retry_attempts=0)
        self.rule = events.Rule(
            self,
            "Schedule",
            description="Ticks the emulated scraper",
            schedule=events.Schedule.expression(config.schedule),
            targets=[
                targets.LambdaFunction(
                    self.function, retry_attempts=2, max_event_age=Duration.minutes(5)
                )
            ],
        )


class Loader(Construct):
    """Loads queued messages into Redshift through S3 + COPY (`LoadTrigger` says when)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        queue: sqs.IQueue,
        bucket_name: str,
        warehouse_name: str,
        secret_arn: str,
        copy_role_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        environment = {
            ENV_BUCKET: bucket_name,
            ENV_SCHEMA: config.schema,
            (ENV_REDSHIFT_WORKGROUP if config.serverless else ENV_REDSHIFT_CLUSTER): warehouse_name,
            ENV_REDSHIFT_DATABASE: config.database,
            ENV_REDSHIFT_SECRET_ARN: secret_arn,
            ENV_COPY_ROLE_ARN: copy_role_arn,
            ENV_STATEMENT_TIMEOUT_S: str(config.statement_timeout_s),
            ENV_LOG_LEVEL: config.log_level,
            ENV_REGION: Stack.of(self).region,
        }
        self.pipeline_function = PipelineFunction(
            self,
            "Lambda",
            config=config,
            handler=loader_handler(config),
            description="Stages SQS batches in S3 and loads them into Redshift with COPY",
            service="loader",
            timeout_s=config.loader_timeout_s,
            memory_mb=config.loader_memory_mb,
            environment=environment,
        )
        self.function = self.pipeline_function.function
