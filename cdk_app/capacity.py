"""Redshift Serverless sized for the load: an RPU-hours usage limit on the workgroup.

Base capacity (4 RPU by default) and the max-capacity cap are properties of the workgroup
(`cdk_app/warehouse.py`). CloudFormation has no resource for a Serverless usage limit, so
this one is created, updated and deleted through the Redshift Serverless API
(CreateUsageLimit / UpdateUsageLimit / DeleteUsageLimit) by a CDK AwsCustomResource.
The limit counts every query, the analysts' too: with `deactivate` a runaway query stops
user queries (loads included: they wait in the queue, then the DLQ) until the period ends.
https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-billing-on-demand.html
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from cdk_app.config import PipelineConfig
from cdk_app.nag import acknowledge

SERVICE = "RedshiftServerless"
USAGE_TYPE = "serverless-compute"
USAGE_LIMIT_ACTIONS = ("CreateUsageLimit", "UpdateUsageLimit", "DeleteUsageLimit")
DELETE_IGNORED_ERRORS = "ResourceNotFoundException|ValidationException"


class UsageLimit(Construct):
    """`pipeline:usageLimitRpuHours` RPU-hours per `usageLimitPeriod`, then `breachAction`."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: PipelineConfig, workgroup_arn: str
    ) -> None:
        super().__init__(scope, construct_id)
        limit_id = cr.PhysicalResourceIdReference()
        created_limit = cr.PhysicalResourceId.from_response("usageLimit.usageLimitId")
        # Its own role and log group: no AWS managed policy (AWSLambdaBasicExecutionRole).
        log_group = logs.LogGroup(self, "Logs", retention=logs.RetentionDays.TWO_WEEKS)
        role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                        description="Creates, updates and deletes the workgroup's usage limit")
        log_group.grant_write(role)
        self.resource = cr.AwsCustomResource(
            self,
            "Resource",
            resource_type="Custom::RedshiftServerlessUsageLimit",
            install_latest_aws_sdk=False,
            role=role,
            log_group=log_group,
            on_create=cr.AwsSdkCall(
                service=SERVICE,
                action="CreateUsageLimit",
                parameters={
                    "resourceArn": workgroup_arn,
                    "usageType": USAGE_TYPE,
                    "amount": config.usage_limit_rpu_hours,
                    "period": config.usage_limit_period,
                    "breachAction": config.usage_limit_breach_action,
                },
                physical_resource_id=created_limit,
            ),
            # The period cannot be changed in place: change it by renaming this construct.
            on_update=cr.AwsSdkCall(
                service=SERVICE,
                action="UpdateUsageLimit",
                parameters={
                    "usageLimitId": limit_id,
                    "amount": config.usage_limit_rpu_hours,
                    "breachAction": config.usage_limit_breach_action,
                },
                physical_resource_id=created_limit,
            ),
            on_delete=cr.AwsSdkCall(
                service=SERVICE,
                action="DeleteUsageLimit",
                parameters={"usageLimitId": limit_id},
                # A limit already gone, or an id that never was one (the physical id of a
                # create that failed): either way there is nothing to delete, and a delete
                # that fails would leave the stack in DELETE_FAILED / ROLLBACK_FAILED.
                ignore_error_codes_matching=DELETE_IGNORED_ERRORS,
            ),
            # The IAM service reference lists no resource type for the usage-limit actions:
            # granted on an ARN they are denied (after the warehouse's 10-20 minute build),
            # so they can only be granted on "*". tests/cdk/test_reference_checks.py checks
            # every action of every policy against that reference.
            # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonredshiftserverless.html
            policy=cr.AwsCustomResourcePolicy.from_statements([
                iam.PolicyStatement(actions=[f"redshift-serverless:{action}"
                                             for action in USAGE_LIMIT_ACTIONS],
                                    resources=["*"]),
            ]),
        )
        acknowledge(
            self.resource,
            "AwsSolutions-IAM5[Resource::*]",
            "Create/Update/DeleteUsageLimit have no resource type in the IAM service reference: "
            "IAM honours them only on '*' (an ARN there denies the call).",
        )

