"""The warehouse: Redshift SQL in, pandas DataFrame out, on Redshift or the embedded DuckDB file.

`connect()` is the analysts' (and notebooks', and `pipeline query`'s) one query
interface. The loader does not use it: it talks to the Data API (`dataapi`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pipeline.aws.settings import ENV_REDSHIFT_CLUSTER, ENV_REDSHIFT_WORKGROUP, Settings
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
    return frame


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

    `local` opens the DuckDB file (`warehouse_path`, else PIPELINE_WAREHOUSE_PATH,
    else var/warehouse.duckdb) read-only. `redshift` connects with IAM through
    redshift-connector to the workgroup or cluster in the settings;
    `redshift_options` pass through (host, region, profile, db_user, ...).
    """
    settings = settings or Settings.from_env()
    if target == "local":
        import duckdb

        path = Path(warehouse_path or settings.warehouse_path)
        if not path.exists():
            raise PipelineError(
                f"no warehouse at {path}: run `make run` (or `pipeline run`) to create one"
            )
        from pipeline.offline.warehouse.engine import SESSION_SETUP

        con = duckdb.connect(str(path), read_only=True)
        for statement in SESSION_SETUP:
            con.execute(statement)
        return DuckDBConnection(path=path, con=con)
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
