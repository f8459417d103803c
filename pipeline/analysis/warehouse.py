"""The warehouse: Redshift SQL in, pandas DataFrame out, on Redshift or the embedded DuckDB file.

`connect()` is the analysts' (and notebooks', and `pipeline query`'s) DataFrame
interface, a thin layer over the DB-API connection of `pipeline.analysis.dbapi`
(one path: the same transports, parameters, types and errors). Redshift is reached
through the Data API by default (IAM credentials alone, from any machine: the
workgroup stays private), or through redshift-connector over TCP where there is a
network path (`PIPELINE_REDSHIFT_TRANSPORT=connector`). The loader does not use this
module: it talks to the Data API (`dataapi`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.analysis import dbapi
from pipeline.analysis.dbapi import (  # noqa: F401 (public names of this module since before)
    LOCK_RETRY_S,
    Target,
    result_frame,
)
from pipeline.aws.settings import (
    ENV_REDSHIFT_CLUSTER,
    ENV_REDSHIFT_TRANSPORT,
    ENV_REDSHIFT_WORKGROUP,
    Settings,
)
from pipeline.core.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class Connection:
    """One query interface over either warehouse: a DB-API connection, read as DataFrames."""

    dbapi: Any  # a PEP 249 connection: pipeline.analysis.dbapi's, or redshift-connector's

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run one Redshift SQL statement (`:name` placeholders take `parameters`); its rows
        as a DataFrame typed from the column types (empty when it returns none)."""
        cursor = self.dbapi.cursor()
        try:
            cursor.execute(sql, parameters)
            return _frame(cursor)
        finally:
            cursor.close()

    def close(self) -> None:
        self.dbapi.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _frame(cursor: Any) -> pd.DataFrame:
    import pandas as pd

    if cursor.description is None:
        return pd.DataFrame()
    frame = cursor.fetch_dataframe()  # both drivers' cursors have it
    if frame is None:  # redshift-connector: no rows
        return pd.DataFrame(columns=[d[0] for d in cursor.description])
    return frame


class LocalConnection(Connection):
    """The local warehouse for a reader: the running pipeline's endpoint, else the file."""


class DataApiConnection(Connection):
    """Amazon Redshift (or an embedded endpoint) through the Redshift Data API."""


class RedshiftConnection(Connection):
    """Amazon Redshift through redshift-connector (IAM auth; serverless or provisioned)."""


def connect(
    target: Target = "local",
    settings: Settings | None = None,
    *,
    warehouse_path: str | Path | None = None,
    stack_outputs: str | Path | None = None,
    **redshift_options: Any,
) -> Connection:
    """Open the warehouse the analyst names.

    `local` reads the DuckDB file (`warehouse_path`, else PIPELINE_WAREHOUSE_PATH,
    else var/warehouse.duckdb): through the running pipeline's embedded Data API
    when one serves it, else read-only, opened per query (see `dbapi.LocalTransport`).
    `redshift` runs statements on the workgroup or cluster in the settings (or in a
    `cdk deploy --outputs-file` JSON, `stack_outputs`) through the Data API with the
    caller's IAM identity (`transport="connector"`, or the setting, uses
    redshift-connector instead; then `redshift_options` pass through: host, region,
    profile, db_user, ...).
    """
    settings = settings or Settings.from_env()
    if target == "local":
        return LocalConnection(dbapi.connect("local", settings, warehouse_path=warehouse_path,
                                             stack_outputs=stack_outputs))
    if target == "redshift":
        if stack_outputs is not None:
            settings = dbapi.with_stack_outputs(settings, stack_outputs)
        transport = redshift_options.pop("transport", None) or settings.redshift_transport
        if transport == "data-api":
            if set(redshift_options) - {"client"}:
                raise ConfigError(
                    f"{', '.join(sorted(redshift_options))}: redshift-connector options; the "
                    f"Data API transport takes none (set {ENV_REDSHIFT_TRANSPORT}=connector)"
                )
            return connect_data_api(settings, **redshift_options)
        if transport != "connector":
            raise ConfigError(
                f"unknown Redshift transport {transport!r} ({ENV_REDSHIFT_TRANSPORT}): use "
                "'data-api' or 'connector'"
            )
        import redshift_connector

        options: dict[str, Any] = {
            "iam": True,
            "database": settings.redshift_database,
            "region": settings.region,
        }
        if settings.redshift_workgroup:
            options.update(is_serverless=True, serverless_work_group=settings.redshift_workgroup)
        elif settings.redshift_cluster:
            options.update(cluster_identifier=settings.redshift_cluster,
                           db_user=settings.redshift_db_user)
        elif "host" not in redshift_options:
            raise ConfigError(
                f"target redshift needs {ENV_REDSHIFT_WORKGROUP} or {ENV_REDSHIFT_CLUSTER}"
            )
        options.update(redshift_options)
        return RedshiftConnection(redshift_connector.connect(**options))
    raise ConfigError(f"unknown target {target!r}: use 'local' or 'redshift'")


def connect_data_api(settings: Settings, client: Any = None) -> DataApiConnection:
    """A Data API connection to the settings' workgroup or cluster, as the caller's IAM identity.

    Serverless maps the caller to `IAM:<user>` / `IAMR:<role>`; a provisioned cluster
    takes `PIPELINE_REDSHIFT_DB_USER` (or a secret). `pipeline warehouse init` grants
    those users the read-only analyst role.
    """
    return DataApiConnection(
        dbapi.connect("redshift", dataclasses.replace(settings, redshift_transport="data-api"),
                      client=client))


def query_file(path: Path, sql: str) -> pd.DataFrame:
    """One query on the warehouse file, opened read-only for just that query."""
    return result_frame(dbapi.run_file(path, sql, {}))
