"""The warehouse: Redshift SQL in, pandas DataFrame out, on Redshift or the embedded DuckDB file.

`connect()` is the analysts' (and notebooks', and `pipeline query`'s) one query
interface. The loader does not use it: it talks to the Data API (`dataapi`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pipeline.aws.settings import ENV_REDSHIFT_CLUSTER, ENV_REDSHIFT_WORKGROUP, Settings
from pipeline.core.errors import ConfigError, PipelineError

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
        from pipeline.offline.warehouse.translate import to_duckdb

        relation = self.con.execute(to_duckdb(sql))
        columns = [d[0] for d in relation.description]
        types = [str(d[1]) for d in relation.description]
        frame = relation.df()
        frame.columns = columns
        # SUPER comes back from Redshift as JSON text; make VARIANT columns match.
        for name, type_name in zip(columns, types, strict=True):
            if type_name.upper().startswith(("VARIANT", "JSON")):
                frame[name] = frame[name].map(_json_text)
        return frame

    def close(self) -> None:
        self.con.close()


def _json_text(value: Any) -> Any:
    import json

    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


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
    `redshift` connects with IAM through redshift-connector to the workgroup or cluster in
    the settings;
    `redshift_options` pass through (host, region, profile, db_user, ...).
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

    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return DuckDBConnection(path=path, con=con).query(sql)
    finally:
        con.close()


def query_data_api(stack: Settings, sql: str) -> pd.DataFrame:
    """One query through the embedded Data API endpoint, as a DataFrame shaped like the file's.

    The Data API returns timestamps as text and SUPER as JSON text; the former are
    parsed back so a notebook sees the same frame either way.
    """
    import pandas as pd

    from pipeline.aws import dataapi

    result = dataapi.build(stack).query(sql)
    if result is None:
        return pd.DataFrame()
    frame = pd.DataFrame(result.rows, columns=result.columns)
    for name, type_name in zip(result.columns, result.type_names, strict=True):
        if type_name.lower().startswith("timestamp"):
            frame[name] = pd.to_datetime(frame[name], utc="tz" in type_name.lower())
    return frame


READ_COMMANDS = ("SHOW", "EXPLAIN", "DESC")


def require_read_only(sql: str) -> None:
    """Refuse a statement that would change the warehouse: readers are read-only.

    The file is opened read-only; through the running pipeline's endpoint the same
    holds by this check (as an analysts' read-only role does on Redshift). SQL that
    sqlglot cannot parse is left to the endpoint, which refuses what it cannot run.
    """
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError

    quiet = logging.getLogger("sqlglot")  # it warns when it falls back to a bare Command
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        statements = sqlglot.parse(sql, read="redshift")
    except ParseError:
        return
    finally:
        quiet.setLevel(level)
    for statement in statements:
        if statement is None or isinstance(statement, exp.Query | exp.Describe | exp.Show):
            continue
        if isinstance(statement, exp.Command) and str(statement.this).upper() in READ_COMMANDS:
            continue
        raise PipelineError(
            f"read-only: a reader cannot run {statement.key.upper()} on the local warehouse; "
            "only the pipeline writes to it")


def _is_lock_error(exc: BaseException) -> bool:
    import duckdb

    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()
