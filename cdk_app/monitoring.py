"""Alarms, the SNS topic they notify, and a dashboard over the queue, the DLQ and the Lambdas."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_app.config import PipelineConfig
from cdk_app.nag import acknowledge

ONE_MINUTE = Duration.minutes(1)
FIVE_MINUTES = Duration.minutes(5)
ONE_DAY = Duration.days(1)
# Days in each usage-limit period (a month counted as 30): the alarm's daily share of it.
PERIOD_DAYS = {"daily": 1, "weekly": 7, "monthly": 30}


def usage_limit_daily_rpu_seconds(config: PipelineConfig) -> float:
    """The usage limit's share of one day, in RPU-seconds (what ComputeSeconds counts)."""
    return config.usage_limit_rpu_hours * 3600 / PERIOD_DAYS[config.usage_limit_period]


def compute_seconds(workgroup_name: str) -> cloudwatch.Metric:
    """RPU-seconds the workgroup used, summed over a day: the quantity the usage limit caps.

    A usage limit's breach action only logs, emits its own metric or deactivates the
    workgroup; none notifies anyone. This alarm does, whatever the breach action, over a
    rolling day (the limit's periods start at midnight UTC, so the two can differ by hours).
    https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-monitoring.html
    """
    return cloudwatch.Metric(
        namespace="AWS/Redshift-Serverless", metric_name="ComputeSeconds",
        dimensions_map={"Workgroup": workgroup_name}, statistic="Sum", period=ONE_DAY,
    )


class Monitoring(Construct):
    """Alarms: a message in the DLQ, any loader or publisher error, the oldest queued message
    older than `oldestMessageAlarmSeconds`; each notifies `topic` when it fires and when it
    clears (e-mail when `alarmEmail` is set). Dashboard: the pipeline's flow end to end."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        queue: sqs.IQueue,
        dlq: sqs.IQueue,
        publisher: lambda_.IFunction,
        loader: lambda_.IFunction,
        workgroup_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)

        self.topic = sns.Topic(self, "AlarmTopic", display_name="Telegram ingest alarms",
                               enforce_ssl=True)
        acknowledge(
            self.topic,
            "AwsSolutions-SNS2",
            "The topic carries only CloudWatch alarm notifications (alarm name, state, metric): "
            "no pipeline data. CloudWatch cannot publish to a topic under the AWS-managed SNS "
            "key, and a customer-managed KMS key would cost more than the rest of the idle stack.",
        )
        # `enforce_ssl` gives the topic a resource policy, which replaces SNS's default one:
        # without this statement CloudWatch may not publish and every alarm notifies nobody.
        # Scoped to this account's alarms (confused-deputy guard).
        # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
        stack = Stack.of(self)
        self.topic.add_to_resource_policy(iam.PolicyStatement(
            sid="CloudWatchAlarmsPublish",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["sns:Publish"],
            resources=[self.topic.topic_arn],
            conditions={
                "ArnLike": {"aws:SourceArn": stack.format_arn(
                    service="cloudwatch", resource="alarm", resource_name="*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME)},
                "StringEquals": {"aws:SourceAccount": stack.account},
            },
        ))
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        notify = cloudwatch_actions.SnsAction(self.topic)

        dlq_depth = dlq.metric_approximate_number_of_messages_visible(
            period=ONE_MINUTE, statistic="Maximum"
        )
        oldest_age = queue.metric_approximate_age_of_oldest_message(
            period=ONE_MINUTE, statistic="Maximum"
        )
        loader_errors = loader.metric_errors(period=FIVE_MINUTES, statistic="Sum")
        publisher_errors = publisher.metric_errors(period=FIVE_MINUTES, statistic="Sum")

        def alarm(alarm_id: str, description: str, metric: cloudwatch.IMetric,
                  threshold: float = 0) -> cloudwatch.Alarm:
            """Alarm as soon as one period's value goes above `threshold`; no data is fine."""
            created = cloudwatch.Alarm(
                self,
                alarm_id,
                alarm_description=description,
                metric=metric,
                threshold=threshold,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            created.add_alarm_action(notify)
            created.add_ok_action(notify)
            return created

        self.dlq_alarm = alarm(
            "DlqNotEmpty",
            "A message was dead-lettered: it failed maxReceiveCount times",
            dlq_depth,
        )
        self.loader_errors_alarm = alarm(
            "LoaderErrors", "The loader Lambda failed (whole-batch failure or crash)", loader_errors
        )
        self.publisher_errors_alarm = alarm(
            "PublisherErrors", "The publisher Lambda failed a tick", publisher_errors
        )
        self.oldest_message_alarm = alarm(
            "OldestMessageAge",
            f"The loader is falling behind: a message has waited more than "
            f"{config.oldest_message_alarm_s} s",
            oldest_age,
            threshold=config.oldest_message_alarm_s,
        )
        self.alarms = [
            self.dlq_alarm,
            self.loader_errors_alarm,
            self.publisher_errors_alarm,
            self.oldest_message_alarm,
        ]
        if workgroup_name is not None:
            self.usage_alarm = alarm(
                "WarehouseUsage",
                f"The workgroup used more than its usage limit's daily share "
                f"({usage_limit_daily_rpu_seconds(config) / 3600:g} RPU-hours) in one day",
                compute_seconds(workgroup_name),
                threshold=usage_limit_daily_rpu_seconds(config),
            )
            self.alarms.append(self.usage_alarm)

        def sqs_sum(q: sqs.IQueue, name: str, label: str) -> cloudwatch.IMetric:
            return q.metric(name, period=ONE_MINUTE, statistic="Sum", label=label)

        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{config.stack_name}-pipeline",
            default_interval=Duration.hours(3),
        )
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24, height=3),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Queue: messages sent / received / deleted",
                left=[
                    sqs_sum(queue, "NumberOfMessagesSent", "sent"),
                    sqs_sum(queue, "NumberOfMessagesReceived", "received"),
                    sqs_sum(queue, "NumberOfMessagesDeleted", "deleted"),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Queue depth and DLQ depth",
                left=[
                    queue.metric_approximate_number_of_messages_visible(
                        period=ONE_MINUTE, statistic="Maximum", label="queue visible"
                    ),
                    queue.metric_approximate_number_of_messages_not_visible(
                        period=ONE_MINUTE, statistic="Maximum", label="queue in flight"
                    ),
                    dlq.metric_approximate_number_of_messages_visible(
                        period=ONE_MINUTE, statistic="Maximum", label="DLQ visible"
                    ),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Oldest message age (s)",
                left=[oldest_age],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(
                        value=config.oldest_message_alarm_s, label="alarm"
                    )
                ],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Loader duration (ms)",
                left=[
                    loader.metric_duration(period=ONE_MINUTE, statistic="Average", label="avg"),
                    loader.metric_duration(period=ONE_MINUTE, statistic="p99", label="p99"),
                    loader.metric_duration(period=ONE_MINUTE, statistic="Maximum", label="max"),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Loader errors / throttles / concurrency",
                left=[
                    loader.metric_errors(period=ONE_MINUTE, statistic="Sum", label="errors"),
                    loader.metric_throttles(period=ONE_MINUTE, statistic="Sum", label="throttles"),
                ],
                right=[
                    loader.metric(
                        "ConcurrentExecutions",
                        period=ONE_MINUTE,
                        statistic="Maximum",
                        label="concurrency",
                    )
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Publisher invocations / errors",
                left=[
                    publisher.metric_invocations(
                        period=ONE_MINUTE, statistic="Sum", label="invocations"
                    ),
                    publisher.metric_errors(period=ONE_MINUTE, statistic="Sum", label="errors"),
                ],
                width=8,
            ),
        )
