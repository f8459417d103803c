"""Opt-in: the loader's DDL, the conformance fixture and the conformance table on a real Redshift.

Runs only when a Redshift is configured (PIPELINE_REDSHIFT_WORKGROUP or
PIPELINE_REDSHIFT_CLUSTER, with PIPELINE_REDSHIFT_DATABASE and
PIPELINE_REDSHIFT_SECRET_ARN, or PIPELINE_REDSHIFT_DB_USER for IAM on a cluster,
and AWS credentials for PIPELINE_REGION); otherwise every test is collected and
skipped with that reason. Everything goes through the loader's own client,
`pipeline.aws.dataapi.build(Settings.from_env())`, into a throwaway schema
`conformance_<random>` that is dropped at the end, so a production schema is
never touched.

    PIPELINE_REDSHIFT_WORKGROUP=analytics PIPELINE_REDSHIFT_DATABASE=dev \\
        .venv/bin/pytest -m redshift tests/integration/test_redshift_live.py

A case that passes on the embedded warehouse (test_conformance.py) and fails
here is a translation bug, or an expectation that is DuckDB-true rather than
Redshift-true: fix the one that is wrong.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator

import pytest

from pipeline.aws import dataapi
from pipeline.aws.settings import (
    ENV_REDSHIFT_CLUSTER,
    ENV_REDSHIFT_DATABASE,
    ENV_REDSHIFT_DB_USER,
    ENV_REDSHIFT_SECRET_ARN,
    ENV_REDSHIFT_WORKGROUP,
    ENV_REGION,
    Settings,
)
from tests.conformance.runner import DataApiBackend, load_fixture, mismatches
from tests.conformance.table import CASES, Case

pytestmark = pytest.mark.redshift

SKIP_REASON = (
    f"no Redshift configured: set {ENV_REDSHIFT_WORKGROUP} (serverless) or "
    f"{ENV_REDSHIFT_CLUSTER} (provisioned), plus {ENV_REDSHIFT_DATABASE} and "
    f"{ENV_REDSHIFT_SECRET_ARN} (or {ENV_REDSHIFT_DB_USER} for IAM auth on a cluster), "
    f"with AWS credentials for {ENV_REGION}, to run the conformance table on Redshift"
)


@pytest.fixture(scope="module")
def live_warehouse() -> Iterator[dataapi.DataApiWarehouse]:
    """The loader's Data API warehouse on a fresh schema holding the conformance fixture."""
    if not (os.environ.get(ENV_REDSHIFT_WORKGROUP) or os.environ.get(ENV_REDSHIFT_CLUSTER)):
        pytest.skip(SKIP_REASON)
    settings = Settings.from_env()
    schema = f"conformance_{uuid.uuid4().hex[:12]}"
    warehouse = dataapi.build(dataclasses.replace(settings, schema=schema))
    try:
        load_fixture(warehouse)
        yield warehouse
    finally:
        warehouse.query(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_the_loaders_ddl_runs_twice_on_redshift(
    live_warehouse: dataapi.DataApiWarehouse,
) -> None:
    live_warehouse.ensure_schema()  # every statement is IF NOT EXISTS / OR REPLACE
    result = live_warehouse.query(
        f"SELECT COUNT(*) FROM {live_warehouse.schema}.telegram_messages"
    )
    assert result is not None and result.rows == [[11]]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_redshift_returns_the_tables_rows(
    live_warehouse: dataapi.DataApiWarehouse, case: Case
) -> None:
    problems = mismatches(case, DataApiBackend(live_warehouse).rows(case))
    assert not problems, f"{case.name}:\n{case.sql(live_warehouse.schema)}\n" + "\n".join(
        problems
    )
