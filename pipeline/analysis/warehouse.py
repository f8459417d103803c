"""The warehouse: Redshift SQL in, pandas DataFrame out, on Redshift or the embedded DuckDB file.

`connect()` is the analysts' (and notebooks', and `pipeline query`'s) one query
interface. Redshift is reached through the Data API by default (IAM credentials
alone, from any machine: the workgroup stays private), or through
redshift-connector over TCP where there is a network path (`PIPELINE_REDSHIFT_TRANSPORT
=connector`). The loader does not use this module: it talks to the Data API (`dataapi`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pipeline.aws.settings import (
    ENV_REDSHIFT_CLUSTER,
    ENV_REDSHIFT_TRANSPORT,
    ENV_REDSHIFT_WORKGROUP,
    Settings,
)
from pipeline.core.errors import ConfigError, PipelineError, TerminalWarehouseError

if TYPE_CHECKING:
    import pandas as pd

Target = Literal["local", "redshift"]


class Connection:
    """One query interface over either warehouse."""

    def query(self, sql: str) -> pd.DataFrame:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class DuckDBConnection(Connection):
    """The embedded warehouse file, read-only; Redshift SQL is translated before it runs."""

    path: Path
    con: Any

    def query(self, sql: str) -> pd.DataFrame:
        """Run Redshift SQL; a refusal or a failure raises a one-line PipelineError."""
        relation = _run_embedded(self.con, sql)
        if relation is None or relation.description is None:
            import pandas as pd

            return pd.DataFrame()
        return _embedded_frame(relation)

    def close(self) -> None:
        self.con.close()


class QueryError(TerminalWarehouseError):
    """A query failed on the embedded warehouse; the message is Redshift's error text."""


def _run_embedded(con: Any, sql: str) -> Any:
    """Translate and run one statement on the embedded file: the DuckDB relation, or a
    PipelineError (refused, rejected as Redshift would, or failed while running)."""
    import duckdb

    from pipeline.offline.warehouse.engine import redshift_error
    from pipeline.offline.warehouse.translate import Query, UnsupportedSqlError, translate

    statement = translate(sql)  # raises the translator's own PipelineErrors
    if not isinstance(statement, Query):
        raise UnsupportedSqlError(
            f"{type(statement).__name__.upper()} through connect() (it reads the warehouse "
            "file; the loader's statements go through the embedded Data API)"
        )
    try:
        return con.execute(statement.sql)
    except duckdb.Error as exc:
        raise QueryError(redshift_error(exc, sql=statement.sql).removeprefix("ERROR: ")) from exc


def _embedded_frame(relation: Any) -> pd.DataFrame:
    """The DataFrame Redshift's driver would give: NULL as None, SUPER as compact JSON text."""
    columns = [d[0] for d in relation.description]
    types = [str(d[1]).upper() for d in relation.description]
    frame = relation.df()
    frame.columns = columns
    for index, type_name in enumerate(types):
        if type_name.startswith("VARIANT") or type_name.endswith("]") or type_name.startswith(
            ("STRUCT", "MAP")
        ):
            frame.isetitem(index, frame.iloc[:, index].map(_super_text).astype(object))
        elif type_name.startswith("JSON"):
            frame.isetitem(index, frame.iloc[:, index].map(_null_or_value).astype(object))
        elif type_name == "DATE":  # DuckDB's .df() makes a DATE a midnight timestamp
            frame.isetitem(index, frame.iloc[:, index].map(_date_or_none).astype(object))
    return frame


def _date_or_none(value: Any) -> Any:
    value = _null_or_value(value)
    return None if value is None else value.date()


def _null_or_value(value: Any) -> Any:
    import pandas as pd

    return None if value is None or value is pd.NA or value is pd.NaT else value


def _super_text(value: Any) -> Any:
    """A SUPER value as Redshift prints it: compact JSON (a string keeps its quotes)."""
    value = _null_or_value(value)
    if value is None:
        return None
    from pipeline.offline.warehouse.engine import super_json

    return super_json(value)


@dataclass
class RedshiftConnection(Connection):
    """Amazon Redshift through redshift-connector (IAM auth; serverless or provisioned)."""

    con: Any

    def query(self, sql: str) -> pd.DataFrame:
        import pandas as pd

        cursor = self.con.cursor()
        try:
            cursor.execute(sql)
            if cursor.description is None:
                return pd.DataFrame()
            frame = cursor.fetch_dataframe()
            return frame if frame is not None else pd.DataFrame(
                columns=[d[0] for d in cursor.description]
            )
        finally:
            cursor.close()

    def close(self) -> None:
        self.con.close()


def connect(
    target: Target = "local",
    settings: Settings | None = None,
    *,
    warehouse_path: str | Path | None = None,
    **redshift_options: Any,
) -> Connection:
    """Open the warehouse the analyst names.

    `local` reads the DuckDB file (`warehouse_path`, else PIPELINE_WAREHOUSE_PATH,
    else var/warehouse.duckdb): through the running pipeline's embedded Data API
    when one serves it, else read-only, opened per query (see `LocalConnection`).
    `redshift` runs statements on the workgroup or cluster in the settings through
    the Data API with the caller's IAM identity (`transport="connector"`, or the
    setting, uses redshift-connector instead; then `redshift_options` pass through:
    host, region, profile, db_user, ...).
    """
    settings = settings or Settings.from_env()
    if target == "local":
        path = Path(warehouse_path or settings.warehouse_path)
        if not path.exists():
            raise PipelineError(
                f"no warehouse at {path}: run `make run` (or `pipeline run`) to create one"
            )
        return LocalConnection(path=path, settings=settings)
    if target == "redshift":
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
        return RedshiftConnection(con=redshift_connector.connect(**options))
    raise ConfigError(f"unknown target {target!r}: use 'local' or 'redshift'")


# ---------------------------------------------------------------------------
# Redshift through the Data API (the default transport).


@dataclass
class DataApiConnection(Connection):
    """Amazon Redshift (or the embedded endpoint) through the Redshift Data API.

    Each `query` is one ExecuteStatement, waited for and paged through with
    GetStatementResult by `pipeline.aws.dataapi.DataApi`; there is no session, so
    nothing to close but the client's connections.
    """

    api: Any  # pipeline.aws.dataapi.DataApi

    def query(self, sql: str) -> pd.DataFrame:
        result = self.api.execute(sql)
        return result_frame(result)

    def close(self) -> None:
        self.api.client.close()


def connect_data_api(settings: Settings, client: Any = None) -> DataApiConnection:
    """A Data API connection to the settings' workgroup or cluster, as the caller's IAM identity.

    Serverless maps the caller to `IAM:<user>` / `IAMR:<role>`; a provisioned cluster
    takes `PIPELINE_REDSHIFT_DB_USER` (or a secret). `pipeline warehouse init` grants
    those users the read-only analyst role.
    """
    from pipeline.aws import boto
    from pipeline.aws.dataapi import DataApi

    if not (settings.redshift_workgroup or settings.redshift_cluster):
        raise ConfigError(
            f"target redshift needs {ENV_REDSHIFT_WORKGROUP} or {ENV_REDSHIFT_CLUSTER}"
        )
    if client is None:
        client = boto.client(settings, "redshift-data", endpoint_url=settings.data_api_endpoint_url)
    return DataApiConnection(api=DataApi(client=client, settings=settings))


def result_frame(result: Any) -> pd.DataFrame:
    """A Data API result set (`dataapi.Result`, or None for no rows) as a DataFrame.

    Values are typed from the column's Redshift type name: timestamps become UTC
    datetimes (naive ones are UTC), numerics become numbers, booleans stay
    booleans; SUPER stays JSON text, as redshift-connector returns it.
    """
    import pandas as pd

    if result is None:
        return pd.DataFrame()
    frame = pd.DataFrame(result.rows, columns=result.columns, dtype=object)
    for name, type_name in zip(result.columns, result.type_names, strict=True):
        kind = type_name.lower()
        column = frame[name]
        if kind in ("timestamptz", "timestamp with time zone"):
            frame[name] = pd.to_datetime(column, utc=True, format="ISO8601")
        elif kind in ("timestamp", "timestamp without time zone"):
            frame[name] = pd.to_datetime(column, format="ISO8601")
        elif kind == "date":
            frame[name] = pd.to_datetime(column, format="ISO8601").dt.date
        elif kind in ("int2", "int4", "int8", "smallint", "integer", "bigint"):
            frame[name] = column.astype("Int64") if column.isna().any() else column.astype("int64")
        elif kind in ("float4", "float8", "real", "double precision", "numeric", "decimal"):
            frame[name] = pd.to_numeric(column)
        elif kind in ("bool", "boolean"):
            frame[name] = column.astype("boolean") if column.isna().any() else column.astype(bool)
    return frame


# One writer, many readers. DuckDB lets one process hold a file read-write, and then no
# other process may open it at all. So a local reader goes through the embedded Data API
# of the `pipeline run` that holds the file (as analysts reach Redshift), and opens the
# file itself, read-only, only while no pipeline runs, and only for the length of a query:
# a notebook left open never keeps a later `pipeline run` out.
LOCK_RETRY_S = 10.0


@dataclass
class LocalConnection(Connection):
    """The local warehouse for a reader: the running pipeline's endpoint, else the file."""

    path: Path
    settings: Settings

    def query(self, sql: str) -> pd.DataFrame:
        require_read_only(sql)
        deadline = time.monotonic() + LOCK_RETRY_S
        while True:
            stack = self.running()
            if stack is not None:
                return query_data_api(stack, sql)
            try:
                return query_file(self.path, sql)
            except Exception as exc:
                # A pipeline starting right now holds the file before it says so: wait
                # for its stack file, then go through its endpoint.
                if not _is_lock_error(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def running(self) -> Settings | None:
        """The embedded stack serving this file, if a live `pipeline run` records one."""
        from pipeline.ops import running_stack

        here = dataclasses.replace(self.settings, warehouse_path=self.path)
        stack = running_stack(here)
        if stack is None or Path(stack.warehouse_path).resolve() != self.path.resolve():
            return None
        return stack

    def close(self) -> None:
        pass  # nothing is held between queries


def query_file(path: Path, sql: str) -> pd.DataFrame:
    """One query on the warehouse file, opened read-only for just that query."""
    import duckdb

    from pipeline.offline.warehouse.engine import SESSION_SETUP

    con = duckdb.connect(str(path), read_only=True)
    try:
        for statement in SESSION_SETUP:
            con.execute(statement)
        return DuckDBConnection(path=path, con=con).query(sql)
    finally:
        con.close()


def query_data_api(stack: Settings, sql: str) -> pd.DataFrame:
    """One query through the embedded Data API endpoint, as a DataFrame shaped like the file's."""
    from pipeline.aws import dataapi

    return result_frame(dataapi.build(stack).query(sql))


READ_COMMANDS = ("SHOW", "EXPLAIN", "DESC")


def require_read_only(sql: str) -> None:
    """Refuse a statement that would change the warehouse: readers are read-only.

    The file is opened read-only; through the running pipeline's endpoint the same
    holds by this check (as an analysts' read-only role does on Redshift). SQL that
    sqlglot cannot parse is left to the endpoint, which refuses what it cannot run.
    """
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    quiet = logging.getLogger("sqlglot")  # it warns when it falls back to a bare Command
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        statements = sqlglot.parse(sql, read="redshift")
    except (ParseError, TokenError):  # not SQL sqlglot reads: the translator refuses it
        return
    finally:
        quiet.setLevel(level)
    for statement in statements:
        if statement is None or isinstance(statement, exp.Query | exp.Describe | exp.Show):
            continue
        if isinstance(statement, exp.Command) and str(statement.this).upper() in READ_COMMANDS:
            continue
        raise PipelineError(
            f"read-only: a reader cannot run {_statement_name(statement)} on the local "
            "warehouse; "
            "only the pipeline writes to it")


def _statement_name(statement: Any) -> str:
    """LOCK, INSERT, ...: what sqlglot parsed, or the keyword of what it kept as a bare command."""
    from sqlglot import exp

    if isinstance(statement, exp.Command):
        return str(statement.this).upper()
    return str(statement.key).upper()


def _is_lock_error(exc: BaseException) -> bool:
    import duckdb

    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()
