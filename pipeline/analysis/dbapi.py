"""A PEP 249 (DB-API 2.0) connection to the project's warehouses, for any SQL tool that speaks it.

`connect("local")` reads the embedded warehouse: through the running pipeline's
embedded Data API when one serves the file, else the DuckDB file opened read-only
for the length of each statement (a notebook left open never keeps a `pipeline run`
out). `connect("redshift")` runs statements on a Redshift workgroup or cluster
through the Redshift Data API with the caller's IAM identity. Either way the SQL is
Redshift SQL, parameters are the Data API's named `:name` parameters (bound by the
warehouse, never formatted into the text), and a result carries the column labels
and type names the Data API reports. JupySQL, pandas' `read_sql` and other DB-API
clients use this module; `pipeline.analysis.warehouse.connect()` (DataFrames) and
`pipeline query` sit on top of it.
"""

from __future__ import annotations

import dataclasses
import time as _time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

# PEP 249's module-level names, kept in dbtypes.py and exported from here.
from pipeline.analysis.dbtypes import (  # noqa: F401
    BINARY,
    DATETIME,
    NUMBER,
    ROWID,
    STRING,
    Binary,
    DatabaseError,
    DataError,
    Date,
    DateFromTicks,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    SettingsError,
    Time,
    TimeFromTicks,
    Timestamp,
    TimestampFromTicks,
    Warning,
    _statement_error,
    data_api_parameters,
    paramstyle,
    python_value,
    result_frame,
)
from pipeline.aws.settings import (
    ENV_REDSHIFT_CLUSTER,
    ENV_REDSHIFT_TRANSPORT,
    ENV_REDSHIFT_WORKGROUP,
    OUTPUT_CLUSTER,
    OUTPUT_DATABASE,
    OUTPUT_REGION,
    OUTPUT_WORKGROUP,
    Settings,
    read_stack_outputs,
)
from pipeline.core.errors import (
    ConfigError,
    TerminalWarehouseError,
    TransientWarehouseError,
)

if TYPE_CHECKING:
    import pandas as pd

    from pipeline.aws.dataapi import DataApi, Result

apilevel = "2.0"
# Threads may share the module, not connections or cursors (a cursor holds its result).
threadsafety = 1

Target = Literal["local", "redshift"]


# --------------------------------------------------------------------------- transports


class Transport(Protocol):
    """Runs one statement with its Data API parameters; the result set, or None."""

    def run(self, sql: str, parameters: Mapping[str, str]) -> Result | None: ...

    def close(self) -> None: ...


@dataclass
class DataApiTransport:
    """Redshift (or an embedded endpoint) through the Data API: one ExecuteStatement each."""

    api: DataApi

    def run(self, sql: str, parameters: Mapping[str, str]) -> Result | None:
        from botocore.exceptions import BotoCoreError, NoCredentialsError

        try:
            return self.api.execute(sql, parameters or None)
        except TransientWarehouseError as exc:
            raise OperationalError(exc.error) from None
        except TerminalWarehouseError as exc:
            raise _statement_error(exc.error) from None
        except NoCredentialsError:
            raise OperationalError(
                "no AWS credentials for the Data API: configure a profile (`aws configure`) "
                "or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY") from None
        except BotoCoreError as exc:
            raise OperationalError(f"the Data API could not be used: {exc}") from None

    def close(self) -> None:
        self.api.client.close()


# One writer, many readers. DuckDB lets one process hold a file read-write, and then no
# other process may open it at all. So a local reader goes through the embedded Data API
# of the `pipeline run` that holds the file (as analysts reach Redshift), and opens the
# file itself, read-only, only while no pipeline runs, and only for the length of a
# statement: a notebook left open never keeps a later `pipeline run` out.
LOCK_RETRY_S = 10.0


@dataclass
class LocalTransport:
    """The local warehouse for a reader: the running pipeline's endpoint, else the file."""

    path: Path
    settings: Settings

    def run(self, sql: str, parameters: Mapping[str, str]) -> Result | None:
        deadline = _time.monotonic() + LOCK_RETRY_S
        while True:
            stack = self.running()
            if stack is not None:
                from pipeline.aws import dataapi

                # As a reader, not with the loader's secret the stack file records.
                reader = dataclasses.replace(stack, redshift_secret_arn=None)
                return DataApiTransport(dataapi.build(reader).api).run(sql, parameters)
            try:
                return run_file(self.path, sql, parameters,
                                timeout_s=self.settings.statement_timeout_s)
            except OperationalError as exc:
                # A pipeline starting right now holds the file before it says so: wait
                # for its stack file, then go through its endpoint.
                if not getattr(exc, "locked", False) or _time.monotonic() > deadline:
                    raise
                _time.sleep(0.2)

    def running(self) -> Settings | None:
        """The embedded stack serving this file, if a live `pipeline run` records one."""
        from pipeline.offline.stack import running_stack

        here = dataclasses.replace(self.settings, warehouse_path=self.path)
        stack = running_stack(here)
        if stack is None or Path(stack.warehouse_path).resolve() != self.path.resolve():
            return None
        return stack

    def close(self) -> None:
        pass  # nothing is held between statements


def run_file(
    path: Path, sql: str, parameters: Mapping[str, str], timeout_s: float | None = None
) -> Result | None:
    """One statement on the warehouse file, opened read-only for just that statement.

    Run by the embedded warehouse's engine (`Session.run`, the entry point the embedded
    Data API uses) in a read-only session: the same translation, `:name` parameters bound
    by DuckDB, the same result shape (labels, Redshift type names, field values) and the
    same error text, so both local paths return the same thing. DuckDB does not stop for
    Ctrl-C, so the statement runs on a worker thread that this thread interrupts on
    Ctrl-C or at `timeout_s` (Redshift's statement_timeout): a reader holds the file
    for a bounded time, never longer.
    """
    import threading

    import duckdb

    from pipeline.aws.dataapi import Result, field_value
    from pipeline.offline.warehouse.engine import (
        DuckDbWarehouse,
        Session,
        StatementCancelled,
        StatementFailed,
    )

    try:
        warehouse = DuckDbWarehouse.reading(path)
    except duckdb.IOException as exc:
        raise _open_error(path, exc) from None
    session = Session(warehouse, "reader", threading.Event(), autocommit=True,
                      read_only=True)

    def work() -> Result | None:
        try:
            found = session.run(sql, parameters).result
        except StatementFailed as exc:
            error = _statement_error(exc.error)
            if exc.construct is not None:
                error.construct = exc.construct  # type: ignore[attr-defined]
            raise error from None
        except StatementCancelled:
            raise OperationalError("Query cancelled on user's request") from None
        if found is None:
            return None
        return Result(
            statement_id="",
            columns=[c["label"] for c in found.columns],
            type_names=[c["typeName"] for c in found.columns],
            rows=[[field_value(f) for f in record] for record in found.records],
        )

    try:
        return _interruptible(session.interrupt, work, timeout_s)
    finally:
        session.close()
        warehouse.close()


def _interruptible(interrupt: Callable[[], None], work: Callable[[], Result | None],
                   timeout_s: float | None) -> Result | None:
    """`work()` on a worker thread; `interrupt()` (the session's) on Ctrl-C or timeout."""
    import threading

    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="warehouse-reader", daemon=True)
    worker.start()
    deadline = None if timeout_s is None else _time.monotonic() + timeout_s
    try:
        while worker.is_alive():
            worker.join(0.05)
            if deadline is not None and _time.monotonic() > deadline and worker.is_alive():
                interrupt()
                worker.join()
                # https://docs.aws.amazon.com/redshift/latest/dg/r_statement_timeout.html
                raise _statement_error("Query canceled on user's request (statement timeout "
                                       f"of {timeout_s:g} s)")
    except KeyboardInterrupt:
        interrupt()
        worker.join()
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _open_error(path: Path, exc: BaseException) -> OperationalError:
    text = " ".join(str(exc).split())
    if "lock" in text.lower():
        error = OperationalError(
            f"the warehouse file {path} is locked by another process ({text}): stop it, or "
            "query through the running pipeline")
        error.locked = True  # type: ignore[attr-defined]
        return error
    return OperationalError(f"cannot open the warehouse {path} ({text}): check the path")


# --------------------------------------------------------------------------- connection


Description = tuple[str, str, None, None, None, None, None]


class Cursor:
    """A PEP 249 cursor: one statement's result held in memory, fetched in order."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.arraysize = 1
        self._result: Result | None = None
        self._position = 0
        self._rowcount = -1
        self._closed = False

    @property
    def description(self) -> tuple[Description, ...] | None:
        """(label, Redshift type name, None x 5) per column; None before a result set."""
        if self._result is None:
            return None
        return tuple(
            (label, type_name, None, None, None, None, None)
            for label, type_name in zip(self._result.columns, self._result.type_names,
                                        strict=True)
        )

    @property
    def rowcount(self) -> int:
        """Rows in the last result set; -1 when the statement returned none."""
        return self._rowcount

    def execute(self, operation: str, parameters: Mapping[str, Any] | None = None) -> Cursor:
        """Run one Redshift SQL statement; `:name` placeholders take `parameters`' values."""
        self._check_open()
        bound = data_api_parameters(parameters)
        self._result, self._position, self._rowcount = None, 0, -1
        result = self.connection._run(operation, bound)
        if result is not None:
            self._result = result
            self._rowcount = len(result.rows)
        return self

    def executemany(self, operation: str, seq_of_parameters: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement once per parameter mapping (no result set is kept)."""
        for parameters in seq_of_parameters:
            self.execute(operation, parameters)
        self._result, self._rowcount = None, -1

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self._take(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        return self._take(self.arraysize if size is None else size)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._take(None)

    def fetch_dataframe(self) -> pd.DataFrame:
        """The rows not fetched yet as a DataFrame typed from the column types (as
        redshift-connector's cursor offers); empty with no columns when there is no result."""
        from pipeline.aws.dataapi import Result

        if self._result is None:
            return result_frame(None)
        rest = self._result.rows[self._position:]
        self._position = len(self._result.rows)
        return result_frame(Result(self._result.statement_id, self._result.columns,
                                   self._result.type_names, rest))

    def _take(self, size: int | None) -> list[tuple[Any, ...]]:
        self._check_open()
        if self._result is None:
            raise InterfaceError("no result set: execute a statement that returns rows first")
        end = len(self._result.rows) if size is None else self._position + max(size, 0)
        rows = self._result.rows[self._position:end]
        self._position += len(rows)
        types = self._result.type_names
        return [tuple(python_value(v, t) for v, t in zip(row, types, strict=True))
                for row in rows]

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while (row := self.fetchone()) is not None:
            yield row

    def setinputsizes(self, sizes: Any) -> None:
        """PEP 249: may do nothing, and does."""

    def setoutputsize(self, size: Any, column: int | None = None) -> None:
        """PEP 249: may do nothing, and does."""

    def close(self) -> None:
        self._closed = True
        self._result = None

    def _check_open(self) -> None:
        if self._closed:
            raise InterfaceError("the cursor is closed")
        self.connection._check_open()

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Connection:
    """A PEP 249 connection. Every statement commits on its own (the Data API has no
    session here, and a local reader holds nothing between statements), so `commit` has
    nothing to do and `rollback` nothing to undo."""

    # PEP 249's optional extension: the exceptions as connection attributes.
    Warning = Warning
    Error = Error
    InterfaceError = InterfaceError
    DatabaseError = DatabaseError
    DataError = DataError
    OperationalError = OperationalError
    IntegrityError = IntegrityError
    InternalError = InternalError
    ProgrammingError = ProgrammingError
    NotSupportedError = NotSupportedError

    def __init__(self, transport: Transport, target: Target, where: str) -> None:
        self.transport = transport
        self.target = target
        self.where = where  # "local warehouse var/warehouse.duckdb", "Redshift workgroup wg"
        self._closed = False

    def cursor(self) -> Cursor:
        self._check_open()
        return Cursor(self)

    def commit(self) -> None:
        self._check_open()

    def rollback(self) -> None:
        self._check_open()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.transport.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def _run(self, sql: str, parameters: Mapping[str, str]) -> Result | None:
        return self.transport.run(sql, parameters)

    def _check_open(self) -> None:
        if self._closed:
            raise InterfaceError("the connection is closed")

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<pipeline.analysis.dbapi.Connection to {self.where}>"


def connect(
    target: Target = "local",
    settings: Settings | None = None,
    *,
    warehouse_path: str | Path | None = None,
    stack_outputs: str | Path | None = None,
    client: Any = None,
) -> Connection:
    """Open a DB-API connection to the warehouse the analyst names.

    `local` reads the DuckDB file (`warehouse_path`, else PIPELINE_WAREHOUSE_PATH,
    else var/warehouse.duckdb). `redshift` reaches the workgroup or cluster the
    settings name (PIPELINE_REDSHIFT_WORKGROUP / _CLUSTER / _DATABASE, PIPELINE_REGION)
    or the one a `cdk deploy --outputs-file` JSON (`stack_outputs`) names, through the
    Data API as the caller's IAM identity; `client` is a boto3 `redshift-data` client to
    use instead of one built from the settings.
    """
    settings = settings or Settings.from_env()
    if target == "local":
        if stack_outputs is not None:
            raise SettingsError("stack_outputs names a deployed stack: use target='redshift'")
        path = Path(warehouse_path or settings.warehouse_path)
        if not path.exists():
            raise OperationalError(
                f"no warehouse at {path}: run `make run` (or `pipeline run`) to create one")
        return Connection(LocalTransport(path=path, settings=settings), "local",
                          f"local warehouse {path}")
    if target == "redshift":
        if stack_outputs is not None:
            settings = with_stack_outputs(settings, stack_outputs)
        if settings.redshift_transport != "data-api":
            raise SettingsError(
                f"{ENV_REDSHIFT_TRANSPORT}={settings.redshift_transport}: this module speaks the "
                "Data API; redshift_connector is a DB-API module of its own")
        from pipeline.aws import boto
        from pipeline.aws.dataapi import DataApi

        if not (settings.redshift_workgroup or settings.redshift_cluster):
            raise SettingsError(
                f"target redshift needs {ENV_REDSHIFT_WORKGROUP} or {ENV_REDSHIFT_CLUSTER}, or "
                "a stack outputs file")
        if client is None:
            client = boto.client(settings, "redshift-data",
                                 endpoint_url=settings.data_api_endpoint_url)
        where = (f"workgroup {settings.redshift_workgroup}" if settings.redshift_workgroup
                 else f"cluster {settings.redshift_cluster}")
        return Connection(DataApiTransport(DataApi(client=client, settings=settings)),
                          "redshift", f"Redshift {where}, database {settings.redshift_database}")
    raise SettingsError(f"unknown target {target!r}: use 'local' or 'redshift'")


# Outputs an analyst's connection takes from the stack: where the warehouse is. Never the
# admin secret: analysts log in with their own IAM identity (mapped to the read-only role).
_ANALYST_OUTPUTS = {
    OUTPUT_WORKGROUP: "redshift_workgroup",
    OUTPUT_CLUSTER: "redshift_cluster",
    OUTPUT_DATABASE: "redshift_database",
    OUTPUT_REGION: "region",
}


def with_stack_outputs(settings: Settings, path: str | Path) -> Settings:
    """`settings` pointed at the warehouse a `cdk deploy --outputs-file` JSON names."""
    try:
        outputs = read_stack_outputs(path)
    except ConfigError as exc:
        raise SettingsError(str(exc)) from None
    changes: dict[str, Any] = {
        field: outputs[key] for key, field in _ANALYST_OUTPUTS.items() if key in outputs
    }
    if not ({"redshift_workgroup", "redshift_cluster"} & set(changes)):
        raise SettingsError(f"{path} names no {OUTPUT_WORKGROUP} or {OUTPUT_CLUSTER}: is it "
                            "`cdk deploy --outputs-file`?")
    if "redshift_workgroup" in changes:
        changes["redshift_cluster"] = None
    else:
        changes["redshift_workgroup"] = None
    return dataclasses.replace(settings, **changes)
