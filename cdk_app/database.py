"""The database set-up as a resource of the stack: `cdk deploy` ends with a loading pipeline.

A Lambda-backed custom resource (`pipeline.lambdas.setup`, in the functions' shared asset:
no Docker, no extra runtime) runs what `pipeline warehouse init` runs, through the Data
API with the admin secret: schema, tables, view, the loader user, the read-only analyst
role and the analysts named in `pipeline:analysts`, the operator role and the operators
named in `pipeline:operators`. Its `SqlHash` property is a digest of
that SQL, so a change to the statements re-runs it on the next deploy; the statements are
idempotent, so a re-run is safe. The publisher's schedule (and the drain's) depend on it:
nothing is published before the loader can log in.
"""

from __future__ import annotations

import hashlib

from aws_cdk import CustomResource, Stack
from constructs import Construct

from cdk_app.config import PipelineConfig
from cdk_app.functions import PipelineFunction
from cdk_app.warehouse import RedshiftWarehouse
from pipeline.aws import sql
from pipeline.aws.settings import (
    ENV_COPY_ROLE_ARN,
    ENV_LOG_LEVEL,
    ENV_REDSHIFT_CLUSTER,
    ENV_REDSHIFT_DATABASE,
    ENV_REDSHIFT_SECRET_ARN,
    ENV_REDSHIFT_WORKGROUP,
    ENV_REGION,
    ENV_SCHEMA,
    ENV_STATEMENT_TIMEOUT_S,
)
from pipeline.lambdas.setup import (
    PROP_ANALYSTS,
    PROP_LOADER_SECRET_ARN,
    PROP_OPERATORS,
    PROP_SQL_HASH,
)

SETUP_HANDLER = "pipeline.lambdas.setup.handler"
RESOURCE_TYPE = "Custom::DatabaseSetup"
# The set-up's statements take seconds; the margin covers Data API retries on a
# workgroup that has only just become available.
SETUP_TIMEOUT_S = 600
# The copy role's ARN is a deploy-time token: the digest renders the grants with this one.
_HASH_ROLE_ARN = "arn:aws:iam::000000000000:role/copy"


def setup_sql(config: PipelineConfig) -> list[str]:
    """Every statement the set-up runs (the loader's password hash aside), in order."""
    return [
        *sql.render_ddl(config.schema),
        sql.render_create_user(sql.LOADER_USER, "md5" + "0" * 32),
        sql.render_create_role(),
        sql.render_create_role(sql.OPERATOR_ROLE),
        *(sql.render_create_user(name, None)
          for name in dict.fromkeys([*config.analysts, *config.operators])),
        *sql.render_grants(config.schema, config.database, _HASH_ROLE_ARN, config.analysts,
                           operators=config.operators),
    ]


def sql_hash(config: PipelineConfig) -> str:
    """A digest of the set-up SQL: a change to it changes the resource, which re-runs it."""
    return hashlib.sha256("\n".join(setup_sql(config)).encode()).hexdigest()


class DatabaseSetup(Construct):
    """Runs the database set-up once the warehouse exists, and whenever its SQL changes."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        warehouse: RedshiftWarehouse,
    ) -> None:
        super().__init__(scope, construct_id)
        environment = {
            ENV_SCHEMA: config.schema,
            (ENV_REDSHIFT_WORKGROUP if config.serverless else ENV_REDSHIFT_CLUSTER):
                warehouse.name,
            ENV_REDSHIFT_DATABASE: config.database,
            ENV_REDSHIFT_SECRET_ARN: warehouse.secret.secret_arn,
            ENV_COPY_ROLE_ARN: warehouse.copy_role.role_arn,
            ENV_STATEMENT_TIMEOUT_S: str(SETUP_TIMEOUT_S - 60),
            ENV_LOG_LEVEL: config.log_level,
            ENV_REGION: Stack.of(self).region,
        }
        self.pipeline_function = PipelineFunction(
            self,
            "Lambda",
            config=config,
            handler=SETUP_HANDLER,
            description="Database set-up (pipeline warehouse init) as a CloudFormation resource",
            service="database-setup",
            timeout_s=SETUP_TIMEOUT_S,
            memory_mb=256,
            environment=environment,
        )
        self.function = self.pipeline_function.function
        warehouse.grant_admin_data_api(self.function)
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.function.function_arn,
            resource_type=RESOURCE_TYPE,
            properties={
                PROP_LOADER_SECRET_ARN: warehouse.loader_secret.secret_arn,
                PROP_ANALYSTS: list(config.analysts),
                PROP_OPERATORS: list(config.operators),
                PROP_SQL_HASH: sql_hash(config),
            },
        )
