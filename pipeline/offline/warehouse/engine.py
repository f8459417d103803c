"""The embedded warehouse's engine: Redshift SQL text in, the Data API's result or error out.

`Session.run(sql, parameters)` is the one entry point: the Data API server,
`connect("local")` (pipeline/analysis/dbapi.py) and the documentation corpus all
call it, on a writer's file, a reader's read-only file or a scratch database
(`DuckDbWarehouse`). One DuckDB connection per database; every Data API request
gets its own cursor (a DuckDB session: temp tables are private to it). Redshift
behaviour the loader relies on is emulated here:

- `LOCK t`: a per-table lock held until the transaction ends; the DuckDB
  transaction only begins after the locks are held, so a second loader that
  waited sees the first one's committed ledger rows (exactly-once rests on it);
- transactions: a batch is one transaction, begun lazily and committed at the
  end, rolled back on any failure;
- errors: DuckDB's messages rewritten in Redshift's words (`ERROR: relation
  "x" does not exist`, `ERROR: 1023 DETAIL: Serializable isolation violation`);
- COPY load errors land in `sys_load_error_detail` (and the `stl_load_errors`
  view), written outside the failing transaction as Redshift does.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time as clock
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pipeline.aws.fields import non_finite_text
from pipeline.offline.warehouse.copy import CopyCancelled, CopyError, LoadErrorDetail, run_copy
from pipeline.offline.warehouse.translate import (
    EMPTY,
    SESSION_MACROS,
    UNREAD,
    Catalog,
    CatalogNeeded,
    Copy,
    Lock,
    NoOp,
    Query,
    RedshiftSqlError,
    Statement,
    Transaction,
    UnsupportedSqlError,
    translate,
)

log = logging.getLogger(__name__)

LOAD_ERROR_TABLE = "sys_load_error_detail"
_BOOTSTRAP = (
    f"""CREATE TABLE IF NOT EXISTS main.{LOAD_ERROR_TABLE} (
        user_id INTEGER, query_id BIGINT, transaction_id BIGINT, session_id INTEGER,
        database_name VARCHAR, start_time TIMESTAMP, file_name VARCHAR, line_number BIGINT,
        column_name VARCHAR, column_type VARCHAR, column_length INTEGER, position INTEGER,
        error_code INTEGER, error_message VARCHAR, raw_line VARCHAR, raw_field_value VARCHAR
    )""",
    # Provisioned clusters' older name for the same facts.
    f"""CREATE OR REPLACE VIEW main.stl_load_errors AS SELECT
        user_id AS userid, 0 AS slice, 0 AS tbl, start_time AS starttime, session_id AS session,
        query_id AS query, file_name AS filename, line_number, column_name AS colname,
        column_type AS type, column_length AS col_length, position, raw_line, raw_field_value,
        error_code AS err_code, error_message AS err_reason
    FROM main.{LOAD_ERROR_TABLE}""",
)
LOCK_POLL_S = 0.05
# Every DuckDB session that runs translated Redshift SQL: UTC, as the translation
# assumes; and the `x -> expr` lambda spelling, which older sqlglot releases write (for
# INITCAP) and DuckDB 2 only reads when asked to.
SESSION_SETUP = ("SET TimeZone = 'UTC'", "SET lambda_syntax = 'ENABLE_SINGLE_ARROW'",
                 *SESSION_MACROS)


# How a refusal reads (translate/errors.py: UnsupportedSqlError), as the Data API shows it.
REFUSAL = "ERROR: unsupported on the embedded warehouse: "


class StatementFailed(Exception):
    """A statement failed; `error` is the Redshift-like text DescribeStatement shows.

    `construct` names what the embedded warehouse refuses (`unsupported on the embedded
    warehouse: <construct>`), None for an error Redshift itself would raise.
    """

    def __init__(self, error: str, construct: str | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.construct = construct
        if construct is None and error.startswith(REFUSAL):
            self.construct = error.removeprefix(REFUSAL)


class StatementCancelled(Exception):
    """CancelStatement interrupted the statement."""


# --------------------------------------------------------------------------- locks


class TableLocks:
    """Redshift's LOCK: exclusive per-table locks owned by a transaction; deadlocks detected."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._holder: dict[str, str] = {}
        self._waiting_for: dict[str, str] = {}

    def acquire(self, owner: str, table: str, cancelled: Callable[[], bool]) -> None:
        """Block until `owner` holds `table`.

        Raises StatementCancelled on CancelStatement, StatementFailed on a deadlock.
        """
        with self._cond:
            try:
                while True:
                    holder = self._holder.get(table)
                    if holder is None or holder == owner:
                        self._holder[table] = owner
                        return
                    if self._closes_cycle(owner, holder):
                        raise StatementFailed(
                            f"ERROR: deadlock detected DETAIL: Process {owner} waits for "
                            f'AccessExclusiveLock on relation "{table}"; '
                            f"blocked by process {holder}."
                        )
                    if cancelled():
                        raise StatementCancelled()
                    self._waiting_for[owner] = table
                    self._cond.wait(LOCK_POLL_S)
            finally:
                self._waiting_for.pop(owner, None)

    def _closes_cycle(self, owner: str, holder: str) -> bool:
        seen = set()
        current: str | None = holder
        while current is not None and current not in seen:
            if current == owner:
                return True
            seen.add(current)
            table = self._waiting_for.get(current)
            current = self._holder.get(table) if table else None
        return False

    def release_all(self, owner: str) -> None:
        with self._cond:
            for table in [t for t, h in self._holder.items() if h == owner]:
                del self._holder[table]
            self._cond.notify_all()

    def held_by(self, owner: str) -> list[str]:
        with self._cond:
            return sorted(t for t, h in self._holder.items() if h == owner)


# --------------------------------------------------------------------------- results


@dataclass
class ResultSet:
    """A query's rows as Data API Field unions, with Redshift column metadata."""

    columns: list[dict[str, Any]]
    records: list[list[dict[str, Any]]]
    sizes: list[int] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return len(self.records)

    @property
    def size_bytes(self) -> int:
        return sum(self.sizes)


@dataclass(frozen=True)
class Outcome:
    """What one statement did: rows returned or affected, and its result set if any."""

    result_rows: int = 0
    result: ResultSet | None = None


def _timestamp_text(value: datetime, with_zone: bool) -> str:
    if with_zone:
        value = value.astimezone(UTC) if value.tzinfo else value
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + ("+00" if with_zone else "")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return _timestamp_text(value, value.tzinfo is not None)
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def super_json(value: Any) -> str:
    """A SUPER value as Redshift prints it: compact JSON text (a scalar string keeps its
    quotes, no spaces after ',' or ':')."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _super_text(value: Any) -> dict[str, Any]:
    """SUPER as Redshift returns it: JSON text (a scalar string keeps its quotes)."""
    return {"stringValue": super_json(value)}


def _json_text(value: Any) -> dict[str, Any]:
    # DuckDB JSON values come back as their text already.
    return {"stringValue": value} if isinstance(value, str) else _super_text(value)


def _long(value: Any) -> dict[str, Any]:
    value = int(value)
    if -(2**63) <= value < 2**63:
        return {"longValue": value}
    return {"stringValue": str(value)}


def _double(value: Any) -> dict[str, Any]:
    value = float(value)
    if math.isfinite(value):
        return {"doubleValue": value}
    return {"stringValue": non_finite_text(value)}


def _text(value: Any) -> dict[str, Any]:
    return {"stringValue": str(value)}


def _interval(value: Any) -> dict[str, Any]:
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        days, rest = divmod(seconds, 86400)
        hours, rest = divmod(rest, 3600)
        clock = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
        return {"stringValue": f"{days} days {clock}" if days else clock}
    return {"stringValue": str(value)}


# DuckDB type (prefix) -> (Redshift typeName, converter). Checked in order.
_TYPES: tuple[tuple[str, str, Callable[[Any], dict[str, Any]]], ...] = (
    ("TIMESTAMP WITH TIME ZONE", "timestamptz",
     lambda v: {"stringValue": _timestamp_text(v, True)} if isinstance(v, datetime) else _text(v)),
    ("TIMESTAMP", "timestamp",
     lambda v: {"stringValue": _timestamp_text(v, False)} if isinstance(v, datetime) else _text(v)),
    ("TIME WITH TIME ZONE", "timetz", _text),
    ("TIME", "time", _text),
    ("DATE", "date", lambda v: {"stringValue": v.isoformat() if isinstance(v, date) else str(v)}),
    ("BIGINT", "int8", _long),
    ("INTEGER", "int4", _long),
    ("SMALLINT", "int2", _long),
    ("TINYINT", "int2", _long),
    ("UBIGINT", "numeric", _long),
    ("UINTEGER", "int8", _long),
    ("USMALLINT", "int4", _long),
    ("UTINYINT", "int2", _long),
    ("HUGEINT", "numeric", _long),
    ("UHUGEINT", "numeric", _long),
    ("DECIMAL", "numeric", _text),
    ("DOUBLE", "float8", _double),
    ("FLOAT", "float4", _double),
    ("BOOLEAN", "bool", lambda v: {"booleanValue": bool(v)}),
    ("VARCHAR", "varchar", _text),
    ("UUID", "varchar", _text),
    ("ENUM", "varchar", _text),
    ("INTERVAL", "interval", _interval),
    ("BLOB", "varbyte", lambda v: {"stringValue": bytes(v).hex()}),
    ("VARIANT", "super", _super_text),
    ("JSON", "super", _json_text),
    ("STRUCT", "super", _super_text),
    ("MAP", "super", _super_text),
)
_SIGNED = frozenset({"int2", "int4", "int8", "numeric", "float4", "float8"})


def _column_type(duck_type: str) -> tuple[str, Callable[[Any], dict[str, Any]]]:
    upper = duck_type.upper()
    if upper.endswith("]"):  # LIST / ARRAY: Redshift would hold it in SUPER
        return "super", _super_text
    for prefix, name, convert in _TYPES:
        if upper.startswith(prefix):
            return name, convert
    return "varchar", _text


def result_set(description: Sequence[Sequence[Any]], rows: Sequence[Sequence[Any]]) -> ResultSet:
    """Rows from DuckDB as Data API Field unions; column metadata with Redshift type names."""
    columns: list[dict[str, Any]] = []
    converters = []
    for column in description:
        duck_type = str(column[1])
        type_name, convert = _column_type(duck_type)
        meta: dict[str, Any] = {
            "name": column[0], "label": column[0], "typeName": type_name, "nullable": 1,
            "isSigned": type_name in _SIGNED, "isCaseSensitive": type_name == "varchar",
            "isCurrency": False, "precision": 0, "scale": 0, "length": 0,
            "schemaName": "", "tableName": "",
        }
        match = re.match(r"DECIMAL\((\d+),\s*(\d+)\)", duck_type.upper())
        if match:
            meta["precision"], meta["scale"] = int(match.group(1)), int(match.group(2))
        columns.append(meta)
        converters.append(convert)
    records: list[list[dict[str, Any]]] = []
    sizes: list[int] = []
    null: dict[str, Any] = {"isNull": True}
    for row in rows:
        record = [null if v is None else conv(v) for v, conv in zip(row, converters, strict=True)]
        records.append(record)
        sizes.append(sum(len(str(f["stringValue"])) if "stringValue" in f else 8 for f in record))
    return ResultSet(columns=columns, records=records, sizes=sizes)


# --------------------------------------------------------------------------- errors


_DUCKDB_PREFIX = re.compile(r"^[A-Za-z ]*Error:\s*")
_REWRITES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    # https://docs.aws.amazon.com/redshift/latest/dg/r_numeric_computations201.html
    (re.compile(r"Division by zero|Modulo by zero"), lambda m: "division by zero"),
    (re.compile(r"No function matches the given name and argument types '(\w+)\(([^)]*)\)'"),
     lambda m: f"function {m.group(1).lower()}({m.group(2).lower()}) does not exist"),
    # An operator DuckDB has no overload for (`+` of two VARBYTE values, which Redshift
    # concatenates): refused by name rather than failed in DuckDB's words.
    (re.compile(r"No function matches the given name and argument types "
                r"'([^\w\s(]+)\(([^)]*)\)'"),
     lambda m: f"unsupported on the embedded warehouse: operator {m.group(1)} on "
               f"{_redshift_types(m.group(2))}"),
    # A cast DuckDB does not implement (SMALLINT to VARBYTE, which Redshift writes as the
    # integer's two bytes): refused by name.
    (re.compile(r"Unimplemented type for cast \((\w+) -> (\w+)\)"),
     lambda m: f"unsupported on the embedded warehouse: cast from "
               f"{_redshift_types(m.group(1))} to {_redshift_types(m.group(2))}"),
    # A select-list position past the end (PostgreSQL's words, which Redshift keeps).
    (re.compile(r"(ORDER|GROUP) term out of range"),
     lambda m: f"{m.group(1)} BY position is not in select list"),
    (re.compile(r"Could not convert string '([^']*)' to (?:DATE|TIMESTAMP)"),
     lambda m: f'invalid input syntax for type date: "{m.group(1)}"'),
    (re.compile(r"Malformed JSON|Could not convert string '.*' to JSON|Invalid JSON"),
     lambda m: "JSON parsing error"),
    # r_numeric_computations201.html: a value that does not fit an explicit cast's
    # DECIMAL(p, s) ("select pricepaid::decimal(7,3) from sales").
    (re.compile(r"Casting value .* to type DECIMAL\(\d+,\s*\d+\) failed: value is out of range"),
     lambda m: "Numeric data overflow (result precision)"),
    (re.compile(r"Overflow in|out of range for the destination type|Overflow"),
     lambda m: "numeric value out of range"),
    (re.compile(r"read-only mode|attempting to execute an unsuccessful or closed"),
     lambda m: "permission denied: readers of the embedded warehouse are read-only"),
    (re.compile(r'(?:Table|View) with name "?([^"!]+?)"? does not exist'),
     lambda m: f'relation "{m.group(1)}" does not exist'),
    (re.compile(r'Schema with name "?([^"!]+?)"? does not exist'),
     lambda m: f'schema "{m.group(1)}" does not exist'),
    (re.compile(r'(?:Table|View) with name "?([^"!]+?)"? already exists'),
     lambda m: f'relation "{m.group(1)}" already exists'),
    (re.compile(r'Referenced column "([^"]+)" not found'),
     lambda m: f'column "{m.group(1)}" does not exist'),
    (re.compile(r'Scalar Function with name "?(\w+)"? does not exist'),
     lambda m: f"function {m.group(1)} does not exist"),
    (re.compile(r'syntax error at or near "([^"]*)"'),
     lambda m: f'syntax error at or near "{m.group(1)}"'),
    (re.compile(r"syntax error at end of input"), lambda m: "syntax error at end of input"),
    (re.compile(r"Could not convert string '([^']*)' to INT"),
     lambda m: f'invalid input syntax for integer: "{m.group(1)}"'),
    # c_Supported_data_types.html: Redshift converts a number compared with text to
    # text; where DuckDB refuses to compare two columns of those types (the literal case
    # is ported), the statement is refused rather than failed with a different error.
    (re.compile(r"Cannot compare values of type (\w+) and type (\w+)"),
     lambda m: f"unsupported on the embedded warehouse: comparing {m.group(1)} with "
               f"{m.group(2)} (Redshift converts the number to text; cast one side)"),
    (re.compile(r"NOT NULL constraint failed: [\w.]*?(\w+)$", re.MULTILINE),
     lambda m: f"Cannot insert a NULL value into column {m.group(1)}"),
)


def _redshift_types(duckdb_types: str) -> str:
    """DuckDB type names in a message as Redshift's (BLOB is VARBYTE, VARCHAR stays)."""
    return re.sub(r"\bBLOB\b", "VARBYTE", duckdb_types)


def redshift_error(
    exc: BaseException, target: str | None = None, pid: int = 0, sql: str | None = None
) -> str:
    """DuckDB's error in Redshift's words, prefixed `ERROR: ` as the Data API shows it.

    `sql` (the DuckDB text that failed) lets a relation DuckDB names bare be
    reported schema-qualified, as Redshift spells it.
    """
    import duckdb

    if isinstance(exc, (UnsupportedSqlError, RedshiftSqlError)):
        return f"ERROR: {exc}"
    message = str(exc)
    if isinstance(exc, duckdb.Error) and re.search(r"conflict", message, re.IGNORECASE):
        table = target or _conflict_table(message) or "unknown"
        return (
            f"ERROR: 1023 DETAIL: Serializable isolation violation on table - {table}, "
            f"transactions forming the cycle are: {pid} (pid:{pid})"
        )
    missing = re.search(r'(?:Table|View) with name "?(\w+)"? does not exist', message)
    if missing and sql:
        qualified = re.search(rf'((?:"?\w+"?\.){{1,2}})"?{missing.group(1)}"?\b', sql)
        if qualified:
            name = qualified.group(1).replace('"', "") + missing.group(1)
            return f'ERROR: relation "{name}" does not exist'
    for pattern, rewrite in _REWRITES:
        match = pattern.search(message)
        if match:
            return f"ERROR: {rewrite(match)}"
    first = message.strip().splitlines()[0] if message.strip() else type(exc).__name__
    return f"ERROR: {_DUCKDB_PREFIX.sub('', first)}"


def _conflict_table(message: str) -> str | None:
    parts = [p for p in re.split(r"\\0|\x00", message) if p]
    return ".".join(parts[-2:]).strip('"') if len(parts) >= 2 else None


# --------------------------------------------------------------------------- warehouse


# DuckDB checkpoints when its write-ahead log passes 16 MB, and a checkpoint rewrites the
# table's last, partly filled row group (122,880 rows) whole: loads of a few thousand rows
# had every row rewritten about nine times on its way to a full row group, 12.8 us of the
# Data API's ~30 us of CPU per row (docs/benchmarks.md). The loader's rows take ~0.9 KB of
# log each, so a row group's worth is ~108 MB; at 128 MB a checkpoint writes about one row
# group. Commits still sync the log: durability is unchanged, only the rewrite is gone.
CHECKPOINT_THRESHOLD = "128MB"


def open_for_writing(path: Path, wait_s: float) -> Any:
    """The file, read-write, waiting up to `wait_s` for readers that hold it to finish.

    A reader opens the file read-only for one query, and that query ends by its
    statement timeout at the latest: so a reader delays a run, never keeps it out.
    """
    import duckdb

    deadline = clock.monotonic() + wait_s
    waited = False
    while True:
        try:
            return duckdb.connect(str(path), config={"checkpoint_threshold": CHECKPOINT_THRESHOLD})
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or clock.monotonic() >= deadline:
                raise
            if not waited:
                log.warning("waiting for a reader to close the warehouse file",
                            extra={"warehouse": str(path), "wait_s": wait_s})
                waited = True
            clock.sleep(0.2)


def _no_s3() -> Any:
    raise StatementFailed("ERROR: COPY is not available on this session of the embedded "
                          "warehouse (no S3 endpoint)")


class DuckDbWarehouse:
    """One DuckDB database opened for the embedded warehouse (UTC, load-error tables created).

    `DuckDbWarehouse(path, s3)` is the writer's file (the embedded Data API holds it);
    `reading(path)` opens the file read-only for a reader with no server to go through;
    `in_memory()` is a scratch database (the documentation corpus). Every one of them
    runs statements through the same `Session.run`.
    """

    def __init__(self, path: Path, s3: Callable[[], Any], *, wait_for_readers_s: float = 0.0
                 ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._setup(path, open_for_writing(path, wait_for_readers_s), s3)
        self._bootstrap()

    def _setup(self, path: Path, con: Any, s3: Callable[[], Any]) -> None:
        self.path = path
        self._con = con
        self._cursor_lock = threading.Lock()
        self._s3_factory = s3
        self._s3: Any = None
        self.locks = TableLocks()
        self.writable = True

    def _bootstrap(self) -> None:
        """UTC, and the load-error tables a writable database keeps."""
        self._con.execute("SET GLOBAL TimeZone = 'UTC'")
        for statement in _BOOTSTRAP:
            self._con.execute(statement)

    @classmethod
    def reading(cls, path: Path) -> DuckDbWarehouse:
        """The file opened read-only (duckdb.IOException when a writer holds it).

        Its sessions must be read-only too: COPY has no S3 client here.
        """
        import duckdb

        warehouse = cls.__new__(cls)
        warehouse._setup(path, duckdb.connect(str(path), read_only=True), _no_s3)
        warehouse.writable = False
        return warehouse

    @classmethod
    def in_memory(cls) -> DuckDbWarehouse:
        """A scratch in-memory database, set up as the writer's file is."""
        import duckdb

        warehouse = cls.__new__(cls)
        warehouse._setup(Path(":memory:"), duckdb.connect(), _no_s3)
        warehouse._bootstrap()
        return warehouse

    def cursor(self) -> Any:
        """A fresh DuckDB session (con.cursor()) set up for translated SQL (`SESSION_SETUP`)."""
        with self._cursor_lock:
            cursor = self._con.cursor()
        for statement in SESSION_SETUP:
            cursor.execute(statement)
        return cursor

    def s3(self) -> Any:
        """The S3 client COPY reads with, built on first use."""
        with self._cursor_lock:
            if self._s3 is None:
                self._s3 = self._s3_factory()
            return self._s3

    def record_load_errors(
        self, details: Sequence[LoadErrorDetail], *, query_id: int, session_id: int,
        database: str | None,
    ) -> None:
        """Append COPY failures to sys_load_error_detail, outside the failed transaction."""
        if not details:
            return
        now = datetime.now(UTC).replace(tzinfo=None)
        rows = [
            (100, query_id, query_id, session_id, database or "dev", now, d.file_name,
             d.line_number, d.column_name, d.column_type, 0, 0, d.error_code, d.error_message,
             d.raw_line, d.raw_field_value)
            for d in details
        ]
        cursor = self.cursor()
        try:
            cursor.executemany(
                f"INSERT INTO main.{LOAD_ERROR_TABLE} VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        finally:
            cursor.close()

    def close(self) -> None:
        import duckdb

        if not self.writable:
            self._con.close()
            return
        try:
            self._con.execute("CHECKPOINT")
        except duckdb.Error as exc:  # a checkpoint is a nicety; closing still persists the WAL
            log.debug("checkpoint on close failed: %s", exc)
        self._con.close()


class Session:
    """One Data API request's DuckDB session: a cursor, its transaction and its table locks.

    `autocommit` sessions (ExecuteStatement, or a batch in AUTO_COMMIT mode) run
    each statement in its own transaction; otherwise BEGIN is sent just before
    the first statement that touches data (after any LOCK), COMMIT by `finish`.
    """

    def __init__(
        self, warehouse: DuckDbWarehouse, owner: str, cancel: threading.Event, *,
        autocommit: bool, pid: int = 0, database: str | None = None, read_only: bool = False,
    ) -> None:
        self.read_only = read_only
        self.warehouse = warehouse
        self.owner = owner
        self.cancel = cancel
        self.autocommit = autocommit
        self.pid = pid
        self.database = database
        self.cursor = warehouse.cursor()
        self.in_transaction = False

    # -- transaction control

    def _begin(self) -> None:
        if not self.autocommit and not self.in_transaction:
            self.cursor.execute("BEGIN TRANSACTION")
            self.in_transaction = True

    def commit(self) -> None:
        """Commit the open transaction (if any) and release its table locks."""
        import duckdb

        try:
            if self.in_transaction:
                self.in_transaction = False
                self.cursor.execute("COMMIT")
        except duckdb.InterruptException as exc:
            raise StatementCancelled() from exc
        except duckdb.Error as exc:
            self.rollback()
            raise StatementFailed(redshift_error(exc, pid=self.pid)) from exc
        finally:
            if not self.in_transaction:
                self.warehouse.locks.release_all(self.owner)

    def rollback(self) -> None:
        """Roll back whatever is open and release the table locks."""
        import duckdb

        try:
            if self.in_transaction:
                self.cursor.execute("ROLLBACK")
        except duckdb.Error as exc:  # an interrupted or conflicted txn may be gone already
            log.debug("rollback: %s", exc)
        finally:
            self.in_transaction = False
            self.warehouse.locks.release_all(self.owner)

    def interrupt(self) -> None:
        """Abort the running DuckDB query (CancelStatement)."""
        self.cancel.set()
        try:
            self.cursor.interrupt()
        except Exception as exc:
            log.debug("interrupt: %s", exc)

    def close(self) -> None:
        self.rollback()
        try:
            self.cursor.close()
        except Exception as exc:
            log.debug("closing cursor: %s", exc)

    # -- statements

    def run(
        self, sql: str, parameters: Mapping[str, str] | None = None, *, query_id: int = 0
    ) -> Outcome:
        """Redshift SQL text in, what the Data API reports out: the engine's one entry point.

        The Data API server, `connect("local")` and the documentation corpus all call
        this, so a query gets the same rows, labels, types and error text on each path.
        Returns the statement's Outcome; raises StatementFailed with the `Error` text
        DescribeStatement shows (`construct` set for a refusal), or StatementCancelled.
        """
        try:
            try:
                statement = translate(sql, UNREAD)
            except CatalogNeeded:  # the statement's arithmetic needs a column's type
                statement = translate(sql, self.catalog())
        except UnsupportedSqlError as exc:
            raise StatementFailed(redshift_error(exc, pid=self.pid), exc.construct) from exc
        except RedshiftSqlError as exc:
            raise StatementFailed(redshift_error(exc, pid=self.pid)) from exc
        return self._execute(statement, parameters or {}, query_id=query_id)

    def catalog(self) -> Catalog:
        """The columns of the tables and views this session sees (its temporary tables
        as schema `temp`), from which the translation knows Redshift's numeric result
        types (translate/numeric_types.py)."""
        import duckdb

        try:
            rows = self.cursor.execute(
                "SELECT CASE WHEN database_name = 'temp' THEN 'temp' ELSE schema_name END, "
                "table_name, column_name, data_type FROM duckdb_columns() "
                "WHERE database_name IN (current_database(), 'temp')").fetchall()
        except duckdb.Error as exc:
            # An aborted transaction answers nothing; the statement then fails with
            # DuckDB's own error, and meanwhile no column's type is known (a DECIMAL
            # quotient of columns is refused, never typed by guess).
            log.debug("catalog unavailable: %s", exc)
            return EMPTY
        return Catalog.of(rows)

    def _execute(
        self, statement: Statement, parameters: Mapping[str, str], *, query_id: int = 0
    ) -> Outcome:
        """Run one translated statement; StatementFailed / StatementCancelled on failure."""
        import duckdb

        if self.cancel.is_set():
            raise StatementCancelled()
        target = statement.target if isinstance(statement, Query) else None
        if self.read_only:
            self._require_read(statement)
        try:
            if isinstance(statement, Lock):
                return self._lock(statement)
            if isinstance(statement, Transaction):
                return self._transaction(statement)
            if isinstance(statement, NoOp):
                return Outcome()
            self._begin()
            if isinstance(statement, Copy):
                return self._copy(statement, query_id)
            return self._query(statement, parameters)
        except (StatementFailed, StatementCancelled):
            raise
        except duckdb.InterruptException as exc:
            raise StatementCancelled() from exc
        except (duckdb.Error, UnsupportedSqlError, RedshiftSqlError) as exc:
            if self.cancel.is_set():
                raise StatementCancelled() from exc
            sql = statement.sql if isinstance(statement, Query) else None
            raise StatementFailed(redshift_error(exc, target, self.pid, sql)) from exc

    def _require_read(self, statement: Statement) -> None:
        """A read-only session runs SELECTs and transaction control, nothing else.

        Judged on the exact text DuckDB would run, by DuckDB's own parser: whatever the
        translation made of the Redshift SQL, a statement DuckDB does not call a SELECT
        is refused (fail closed), with Redshift's error for a missing privilege.
        """
        import duckdb

        if isinstance(statement, Transaction):
            return  # NoOps are refused too: GRANT, VACUUM, CREATE USER are not a reader's
        if isinstance(statement, Query):
            try:
                kinds = [s.type for s in self.cursor.extract_statements(statement.sql)]
            except duckdb.Error:
                kinds = []
            if kinds and all(kind == duckdb.StatementType.SELECT for kind in kinds):
                return
        on = (statement.target if isinstance(statement, Query) and statement.target
              else statement.tables[0] if isinstance(statement, Lock)
              else statement.table if isinstance(statement, Copy)
              else None)
        what = f"relation {on.rsplit('.', 1)[-1]}" if on else f"database {self.database or 'dev'}"
        raise StatementFailed(f"ERROR: permission denied for {what}")

    def _lock(self, statement: Lock) -> Outcome:
        for table in statement.tables:
            self.warehouse.locks.acquire(self.owner, table, self.cancel.is_set)
        for table in statement.tables:
            quoted = ".".join('"' + p.replace('"', '""') + '"' for p in table.split("."))
            # The relation must exist (Redshift checks); runs before BEGIN, so no snapshot yet.
            self.cursor.execute(f"SELECT 1 FROM {quoted} LIMIT 0").fetchall()
        if self.autocommit:  # an autocommit LOCK ends with its own (empty) transaction
            self.warehouse.locks.release_all(self.owner)
        return Outcome()

    def _transaction(self, statement: Transaction) -> Outcome:
        if statement.action == "commit":
            self.commit()
        elif statement.action == "rollback":
            self.rollback()
        # BEGIN: a batch is already one transaction and BEGIN comes lazily; nothing to do.
        return Outcome()

    def _copy(self, statement: Copy, query_id: int) -> Outcome:
        try:
            rows = run_copy(self.cursor, statement, self.warehouse.s3(),
                            cancelled=self.cancel.is_set)
        except CopyCancelled as exc:
            raise StatementCancelled() from exc
        except CopyError as exc:
            self.warehouse.record_load_errors(
                exc.details, query_id=query_id, session_id=self.pid, database=self.database
            )
            raise StatementFailed(f"ERROR: {exc.message}") from exc
        return Outcome(result_rows=rows)

    def _query(self, statement: Query, parameters: Mapping[str, str]) -> Outcome:
        missing = [p for p in statement.parameters if p not in parameters]
        if missing:
            raise StatementFailed(f"ERROR: no value supplied for parameter :{missing[0]}")
        bound = {p: parameters[p] for p in statement.parameters}
        relation = self.cursor.execute(statement.sql, bound or None)
        if statement.returns_rows:
            rows = relation.fetchall()
            result = result_set(relation.description or (), rows)
            return Outcome(result_rows=len(rows), result=result)
        affected = 0
        if relation.description and relation.description[0][0] == "Count":
            row = relation.fetchone()
            affected = int(row[0]) if row and row[0] is not None else 0
        return Outcome(result_rows=affected)
