"""The SQS source queue the publisher sends to and the dead-letter queue behind it."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_app.config import PipelineConfig
from pipeline.aws.settings import DLQ_RETENTION_DAYS


class Queues(Construct):
    """Source queue + DLQ, both SSE (SQS-managed keys) and TLS-only.

    The queue's maximum message size is the publisher's `maxMessageBytes`, so the two can never
    disagree; its visibility timeout covers six loader timeouts; after `maxReceiveCount` failed
    receives a message moves, unchanged, to the DLQ, which keeps it for 14 days.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: PipelineConfig) -> None:
        super().__init__(scope, construct_id)

        self.dlq = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(DLQ_RETENTION_DAYS),
            max_message_size_bytes=config.max_message_bytes,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(config.queue_retention_days),
            visibility_timeout=Duration.seconds(config.visibility_timeout_s),
            max_message_size_bytes=config.max_message_bytes,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dlq, max_receive_count=config.max_receive_count
            ),
        )
