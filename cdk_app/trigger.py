"""What invokes the loader: a scheduled drain (`pipeline:loadTrigger` schedule) or the queue.

`schedule` (the default): an EventBridge rule invokes the loader function every
`pipeline:loadEvery` minutes with the drain handler, which receives what the queue holds
up to its budget and loads it in as few COPY transactions as it can. Redshift Serverless
bills each query at least 60 s, so this bounds the bill by the schedule, not by the traffic.
No reserved concurrency: Lambda refuses a reservation that leaves an account fewer
unreserved executions than its minimum, which new accounts' low quotas make likely, so
reserving would fail the first deploy. Drains seldom overlap (one stops at the first
message sent after it started) and, when two do, the ledger still keeps one copy of
each part (the same guarantee as two racing event-source loaders).

`queue`: Lambda's SQS event source invokes the loader handler per batch (seconds of
freshness; at one message a minute it keeps the workgroup billed around the clock).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_app.config import PipelineConfig
from pipeline.aws.settings import ENV_QUEUE_URL, LOAD_SCHEDULE

LOADER_HANDLER = "pipeline.lambdas.loader.handler"
DRAIN_HANDLER = "pipeline.lambdas.drain.handler"
# What Lambda's SQS poller does with the function's role (the managed policy
# AWSLambdaSQSQueueExecutionRole): https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
EVENT_SOURCE_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
# What the drain calls: ReceiveMessage, DeleteMessageBatch, ChangeMessageVisibilityBatch (the
# batch calls are authorized as their single counterparts).
DRAIN_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility")
# Lambda keeps an unprocessed asynchronous event between 60 s and 6 hours.
_MIN_EVENT_AGE_S = 60
_MAX_EVENT_AGE_S = 6 * 3600


def loader_handler(config: PipelineConfig) -> str:
    """The loader function's handler for the configured trigger."""
    return DRAIN_HANDLER if config.load_trigger == LOAD_SCHEDULE else LOADER_HANDLER


class LoadTrigger(Construct):
    """Connects the loader function to the queue the configured way, with its permissions."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        function: lambda_.Function,
        queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.rule: events.Rule | None = None
        if config.load_trigger != LOAD_SCHEDULE:
            # The mapping itself, not `SqsEventSource`: that one grants all of
            # `grant_consume_messages`, two actions (ChangeMessageVisibility, GetQueueUrl) more
            # than Lambda's poller uses (tests/cdk/test_call_grants.py finds unused grants).
            function.add_event_source_mapping(
                "SqsEventSource",
                event_source_arn=queue.queue_arn,
                batch_size=config.batch_size,
                max_batching_window=(
                    Duration.seconds(config.max_batching_window_s)
                    if config.max_batching_window_s
                    else None
                ),
                report_batch_item_failures=True,
                max_concurrency=config.max_concurrency,
            )
            queue.grant(function, *EVENT_SOURCE_ACTIONS)
            return
        every = Duration.minutes(config.load_every_min)
        function.add_environment(ENV_QUEUE_URL, queue.queue_url)
        # The drain receives, deletes and (for messages over its budget) releases: only those.
        queue.grant(function, *DRAIN_ACTIONS)
        # A failed drain is not retried: the next tick drains whatever is left, and what
        # the failed one received comes back after the visibility timeout. A tick throttled
        # behind a running drain is dropped once the next one is due.
        age_s = min(max(config.load_every_min * 60, _MIN_EVENT_AGE_S), _MAX_EVENT_AGE_S)
        function.configure_async_invoke(retry_attempts=0, max_event_age=Duration.seconds(age_s))
        self.rule = events.Rule(
            self,
            "Schedule",
            description=f"Drains the queue into the warehouse every {config.load_every_min} min",
            schedule=events.Schedule.rate(every),
            targets=[targets.LambdaFunction(function, retry_attempts=0)],
        )
