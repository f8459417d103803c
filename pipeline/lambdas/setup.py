"""Database set-up Lambda: the stack's custom resource that runs `pipeline warehouse init`.

CloudFormation invokes it once the warehouse exists, and again when the set-up SQL
changes (the resource's `SqlHash` property); the publisher's schedule waits for it.
It logs in with the admin secret (the only code that does) and runs the same idempotent
statements as `pipeline warehouse init`: schema, tables, view, the loader user with the
password of the loader secret, the read-only analyst role, the operator role, and the
analysts and operators from context.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from pipeline.aws import custom_resource, dataapi
from pipeline.aws.settings import Settings

# The custom resource's properties (cdk_app/database.py sets them).
PROP_LOADER_SECRET_ARN = "LoaderSecretArn"  # noqa: S105 (a property name, not a secret)
PROP_ANALYSTS = "Analysts"
PROP_OPERATORS = "Operators"
PROP_SQL_HASH = "SqlHash"


def set_up(settings: Settings, properties: Mapping[str, Any], client: Any = None) -> None:
    """Schema, tables, view, users and grants, as the admin (idempotent)."""
    from pipeline.aws import sql

    analysts = [sql.validate_iam_db_user(name) for name in properties.get(PROP_ANALYSTS, [])]
    operators = [sql.validate_iam_db_user(name) for name in properties.get(PROP_OPERATORS, [])]
    password = dataapi.loader_password(settings, properties[PROP_LOADER_SECRET_ARN])
    dataapi.init_warehouse(dataapi.build(settings, client), settings, password, analysts,
                           operators)


@cache
def _settings() -> Settings:
    return Settings.from_env()


def handler(event: dict[str, Any], context: Any) -> str:
    """The Lambda entry point: one CloudFormation request, always answered."""
    settings = _settings()
    return custom_resource.answer(event, lambda properties: set_up(settings, properties))
