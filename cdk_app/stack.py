"""The pipeline stack: composes the constructs, wires the grants between them, emits outputs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from cdk_app.capacity import UsageLimit
from cdk_app.config import PipelineConfig
from cdk_app.database import DatabaseSetup
from cdk_app.functions import Loader, Publisher
from cdk_app.monitoring import Monitoring
from cdk_app.network import Network
from cdk_app.queues import Queues
from cdk_app.staging import Staging
from cdk_app.trigger import LoadTrigger
from cdk_app.warehouse import RedshiftWarehouse
from pipeline.aws import settings


class PipelineStack(Stack):
    """EventBridge -> publisher -> SQS (+DLQ) -> loader -> S3 staging -> Redshift COPY."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: PipelineConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        Tags.of(self).add("project", "telegram-ingest-pipeline")

        self.staging = Staging(self, "Staging", config=config)
        self.network = Network(
            self, "Network", config=config, flow_log_bucket=self.staging.log_bucket
        )
        self.queues = Queues(self, "Queues", config=config)
        self.warehouse = RedshiftWarehouse(self, "Warehouse", config=config, network=self.network)
        if config.serverless:
            self.usage_limit = UsageLimit(self, "UsageLimit", config=config,
                                          workgroup_arn=self.warehouse.resource_arn)
        self.database = DatabaseSetup(self, "DatabaseSetup", config=config,
                                      warehouse=self.warehouse)
        self.publisher = Publisher(self, "Publisher", config=config, queue=self.queues.queue)
        self.loader = Loader(
            self,
            "Loader",
            config=config,
            queue=self.queues.queue,
            bucket_name=self.staging.bucket.bucket_name,
            warehouse_name=self.warehouse.name,
            secret_arn=self.warehouse.loader_secret.secret_arn,
            copy_role_arn=self.warehouse.copy_role.role_arn,
        )

        self.load_trigger = LoadTrigger(
            self, "LoadTrigger", config=config, function=self.loader.function,
            queue=self.queues.queue,
        )

        # Nothing is published or drained before the loader can log in (cdk_app/database.py).
        self.publisher.rule.node.add_dependency(self.database.resource)
        if self.load_trigger.rule is not None:
            self.load_trigger.rule.node.add_dependency(self.database.resource)

        # Grants (the loader's SQS consume permissions come with its trigger).
        # SendMessageBatch only (grant_send_messages would add GetQueueAttributes/GetQueueUrl,
        # which the publisher never calls: it is given the queue URL).
        self.queues.queue.grant(self.publisher.function, "sqs:SendMessage")
        self.staging.grant_loader(self.loader.function)
        self.staging.grant_copy(self.warehouse.copy_role)
        self.warehouse.grant_data_api(self.loader.function)

        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            queue=self.queues.queue,
            dlq=self.queues.dlq,
            publisher=self.publisher.function,
            loader=self.loader.function,
            workgroup_name=self.warehouse.name if config.serverless else None,
        )

        outputs = {
            settings.OUTPUT_QUEUE_URL: self.queues.queue.queue_url,
            settings.OUTPUT_DLQ_URL: self.queues.dlq.queue_url,
            settings.OUTPUT_BUCKET: self.staging.bucket.bucket_name,
            settings.OUTPUT_WORKGROUP if config.serverless else settings.OUTPUT_CLUSTER:
                self.warehouse.name,
            settings.OUTPUT_DATABASE: config.database,
            settings.OUTPUT_SECRET_ARN: self.warehouse.secret.secret_arn,
            settings.OUTPUT_REGION: self.region,
            settings.OUTPUT_COPY_ROLE_ARN: self.warehouse.copy_role.role_arn,
            settings.OUTPUT_LOADER_SECRET_ARN: self.warehouse.loader_secret.secret_arn,
            settings.OUTPUT_ALARM_TOPIC_ARN: self.monitoring.topic.topic_arn,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
