"""The S3 staging bucket the loader writes NDJSON batches to, and its access-log bucket."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_app.config import PipelineConfig
from cdk_app.nag import acknowledge, wildcard_resource_finding
from pipeline.core import staging

# The staging-key prefixes of ARCHITECTURE.md ("Staging keys"), defined in pipeline.core.staging.
INCOMING_PREFIX = staging.INCOMING
PROCESSED_PREFIX = staging.PROCESSED
REJECTED_PREFIX = staging.REJECTED
STAGING_PREFIXES = (INCOMING_PREFIX, PROCESSED_PREFIX, REJECTED_PREFIX)

# Objects the loader reads, writes and moves (copy + delete). It uploads with single PUTs
# (pipeline.aws.s3.ObjectStore), so it needs no multipart permissions.
LOADER_OBJECT_ACTIONS = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
)


class Staging(Construct):
    """The staging bucket (`incoming/` -> `processed/` | `rejected/`) and its access-log bucket.

    Lifecycle: `processed/` expires after `processedExpiryDays`, `rejected/` after
    `rejectedExpiryDays`, incomplete multipart uploads are aborted after a day, and nothing in
    `incoming/` ever expires: data that has not been loaded is never dropped by a rule.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: PipelineConfig) -> None:
        super().__init__(scope, construct_id)

        self.log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-logs",
                    expiration=Duration.days(config.access_log_expiry_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )
        acknowledge(
            self.log_bucket,
            "AwsSolutions-S1",
            "This bucket is the destination of the staging bucket's server access logs and of "
            "the VPC flow logs; logging it into itself would loop, and logging it to a third "
            "bucket only moves the same finding there.",
        )

        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix="staging-bucket/",
            lifecycle_rules=[
                *(
                    s3.LifecycleRule(id=rule.id, prefix=rule.prefix,
                                     expiration=Duration.days(rule.days))
                    for rule in staging.expiry_rules(
                        config.processed_expiry_days, config.rejected_expiry_days
                    )
                ),
                # Whole bucket, but only multipart uploads that never completed: no rule ever
                # expires an object in incoming/.
                s3.LifecycleRule(
                    id="abort-incomplete-uploads",
                    abort_incomplete_multipart_upload_after=Duration.days(
                        staging.ABORT_INCOMPLETE_UPLOADS_DAYS
                    ),
                ),
            ],
        )

    def grant_loader(self, grantee: iam.IGrantable) -> None:
        """Read, write and delete objects under the three staging prefixes; list the bucket."""
        objects = [self.bucket.arn_for_objects(prefix + "*") for prefix in STAGING_PREFIXES]
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=list(LOADER_OBJECT_ACTIONS), resources=objects)
        )
        # ListBucket (no prefix condition) also makes a missing key a 404 rather than a 403,
        # which the loader's idempotency checks rely on.
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn])
        )
        for resource in objects:
            self._acknowledge_prefix(grantee, resource, "the loader")

    def grant_copy(self, grantee: iam.IGrantable) -> None:
        """What Redshift's COPY needs: read staged objects and list the bucket.

        `incoming/` for the loader's loads, `processed/` for `pipeline reload` of an
        archived object; never `rejected/`.
        """
        objects = [self.bucket.arn_for_objects(p + "*") for p in (INCOMING_PREFIX,
                                                                  PROCESSED_PREFIX)]
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=objects)
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn])
        )
        for resource in objects:
            self._acknowledge_prefix(grantee, resource, "Redshift COPY")

    def _acknowledge_prefix(self, grantee: iam.IGrantable, resource: str, who: str) -> None:
        principal = grantee.grant_principal
        if isinstance(principal, Construct):
            acknowledge(
                principal,
                wildcard_resource_finding(self, resource),
                f"Object keys are generated per batch (incoming/YYYY/MM/DD/<batch>...), so "
                f"{who} is scoped to one key prefix of the staging bucket rather than to "
                "individual objects, which cannot be known at deploy time.",
            )
