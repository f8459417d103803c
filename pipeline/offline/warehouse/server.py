"""The embedded Redshift Data API endpoint: AWS JSON 1.1 over HTTP on 127.0.0.1, DuckDB behind.

An unmodified `boto3.client("redshift-data", endpoint_url=api.endpoint_url)`
works against it: `POST /` with `X-Amz-Target: RedshiftData.<Operation>` and a
JSON body; errors are HTTP 400 with `{"__type": ..., "message": ...}`, so
botocore raises the same ClientError codes as AWS. Statements run
asynchronously in worker threads (ExecuteStatement returns the Id at once);
a statement that fails is FAILED with a Redshift-like `Error`, never an HTTP 500.

Operations: ExecuteStatement, BatchExecuteStatement (one transaction, or
AUTO_COMMIT), DescribeStatement, GetStatementResult (paged; `<id>:N` for a
batch's sub-statements), CancelStatement. ClientToken makes a resubmission of
the same request return the same Id, as on AWS.

Tests steer it with `inject_failures`, `inject_delay` and `statement_count`.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pipeline.aws.settings import Settings
from pipeline.offline.serving import serving_thread

log = logging.getLogger(__name__)

MAX_HISTORY = 10_000
PAGE_ROWS = 1_000
PAGE_BYTES = 4 * 1024 * 1024
MAX_WAIT_S = 30  # the Data API's WaitTimeSeconds maximum
# "Cannot process query string larger than 100kB": the Data API's statement size quota.
# https://docs.aws.amazon.com/redshift/latest/mgmt/data-api.html (Data API quotas)
MAX_SQL_BYTES = 100 * 1024
WORKERS = 32
INJECTED_CONFLICT = (
    "ERROR: 1023 DETAIL: Serializable isolation violation on table - 0, "
    "transactions forming the cycle are: 0 (pid:0)"
)
DONE = frozenset({"FINISHED", "FAILED", "ABORTED"})
_PARAMETER_NAME = re.compile(r"^[0-9a-zA-Z_]+$")
_ID = re.compile(r"^(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
                 r"(?::(?P<sub>\d+))?$")


class ApiError(Exception):
    """A refused request: HTTP 400 (or `status`) with the AWS error code as `__type`."""

    def __init__(self, code: str, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra


def _validation(message: str) -> ApiError:
    return ApiError("ValidationException", message)


@dataclass
class _Sub:
    """One SQL text of a request and what became of it."""

    index: int
    sql: str
    created_at: float
    status: str = "SUBMITTED"
    error: str | None = None
    updated_at: float = 0.0
    duration_ns: int = -1
    result_rows: int = -1
    result_size: int = -1
    has_result_set: bool = False
    result: Any = None
    query_id: int = 0


@dataclass
class _Record:
    """One ExecuteStatement or BatchExecuteStatement request."""

    id: str
    batch: bool
    subs: list[_Sub]
    request: dict[str, Any]
    created_at: float
    pid: int
    status: str = "SUBMITTED"
    error: str | None = None
    updated_at: float = 0.0
    duration_ns: int = -1
    injected_error: str | None = None
    delay_s: float = 0.0
    client_token: str | None = None
    read_only: bool = False  # any session but the loader's (see EmbeddedDataApi.writer)
    timed_out: bool = False
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    session: Any = None

    def touch(self, status: str | None = None) -> None:
        if status:
            self.status = status
        self.updated_at = time.time()


def _now() -> float:
    return time.time()


class EmbeddedDataApi:
    """The embedded Redshift Data API server over one DuckDB warehouse file.

    `writer` is the loader's identity (its SecretArn). When it is set, every other
    caller's session is read-only in the engine and ends at `reader_timeout_s`, as
    an analyst's read-only role and `statement_timeout` do on Redshift; a reader
    cannot change the warehouse or hold it for longer.
    """

    def __init__(self, warehouse_path: Path, settings: Settings, *, host: str = "127.0.0.1",
                 port: int = 0, max_history: int = MAX_HISTORY, writer: str | None = None,
                 reader_timeout_s: float | None = None) -> None:
        from pipeline.offline.warehouse.engine import DuckDbWarehouse

        self.writer = writer
        self.reader_timeout_s = reader_timeout_s or settings.statement_timeout_s
        self.settings = settings
        self.warehouse_path = Path(warehouse_path)
        self.max_history = max_history
        # A reader on the file holds it for one query, at most its statement timeout.
        self._warehouse = DuckDbWarehouse(self.warehouse_path, self._s3_client,
                                          wait_for_readers_s=settings.statement_timeout_s + 5)
        self._lock = threading.Lock()
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._tokens: dict[str, tuple[str, str]] = {}
        self._count = 0
        self._next_query_id = 1000
        self._next_pid = 1073741824
        self._failures: list[str] = []
        self._delay_s = 0.0
        self._delay_left: int | None = 0
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="embedded-sql")
        self._httpd = ThreadingHTTPServer((host, port), _handler_class(self))
        self._httpd.daemon_threads = True
        bound_port = self._httpd.server_address[1]
        self.endpoint_url = f"http://{host}:{bound_port}"
        self._thread = serving_thread(self._httpd, "embedded-data-api")
        self._stopped = False

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def start(cls, warehouse_path: Path, settings: Settings, *,
              writer: str | None = None) -> EmbeddedDataApi:
        """Open (or create) the DuckDB file and serve the Data API on a free loopback port.

        `settings.aws_endpoint_url` and `settings.region` locate the S3 that COPY reads.
        """
        api = cls(Path(warehouse_path), settings, writer=writer)
        api._thread.start()
        log.info("embedded Data API listening", extra={"endpoint_url": api.endpoint_url,
                                                       "warehouse": str(api.warehouse_path)})
        return api

    def connect_s3(self) -> None:
        """Build the S3 client COPY reads with now, not on the first COPY.

        botocore reads S3's service model to build it: ~0.5 s of CPU that a warehouse
        running for long pays once, and that a short benchmark would otherwise count
        inside its first load.
        """
        self._warehouse.s3()

    def stop(self) -> None:
        """Stop serving, abort running statements, and close the warehouse file."""
        if self._stopped:
            return
        self._stopped = True
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            running = [r for r in self._records.values() if not r.done.is_set()]
        for record in running:
            record.cancel.set()
            if record.session is not None:
                record.session.interrupt()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._warehouse.close()

    def __enter__(self) -> EmbeddedDataApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _s3_client(self) -> Any:
        from pipeline.aws import boto

        return boto.client(self.settings, "s3")

    # ------------------------------------------------------------------ fault hooks

    def inject_failures(self, count: int, error: str = INJECTED_CONFLICT) -> None:
        """Make the next `count` statements or batches FAILED with `error`, without running them."""
        with self._lock:
            self._failures.extend([error] * count)

    def inject_delay(self, seconds: float, count: int | None = None) -> None:
        """Hold the next statements in STARTED for `seconds` before they run (cancellable).

        `count=None` delays every later statement until `inject_delay(0)`.
        """
        with self._lock:
            self._delay_s = max(0.0, float(seconds))
            self._delay_left = None if count is None else int(count)

    def reset_faults(self) -> None:
        """Forget injected failures and delays."""
        with self._lock:
            self._failures.clear()
            self._delay_s, self._delay_left = 0.0, 0

    def statement_count(self) -> int:
        """Execute/BatchExecuteStatement requests accepted (ClientToken replays not counted)."""
        with self._lock:
            return self._count

    # ------------------------------------------------------------------ dispatch

    def dispatch(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        """Serve one Data API operation; ApiError for a refused request."""
        handler: Callable[[dict[str, Any]], dict[str, Any]] | None = {
            "ExecuteStatement": self._execute_statement,
            "BatchExecuteStatement": self._batch_execute_statement,
            "DescribeStatement": self._describe_statement,
            "GetStatementResult": self._get_statement_result,
            "CancelStatement": self._cancel_statement,
        }.get(operation)
        if handler is None:
            raise ApiError("UnknownOperationException",
                           f"{operation} is not served by the embedded Data API")
        return handler(body)

    # ------------------------------------------------------------------ submit

    def _target(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("SessionId") or body.get("SessionKeepAliveSeconds"):
            raise _validation("Sessions (SessionId, SessionKeepAliveSeconds) are not supported "
                              "by the embedded Data API")
        if body.get("ResultFormat", "JSON") != "JSON":
            raise _validation("ResultFormat CSV is not supported by the embedded Data API")
        cluster, workgroup = body.get("ClusterIdentifier"), body.get("WorkgroupName")
        if bool(cluster) == bool(workgroup):
            raise _validation("Either ClusterIdentifier or WorkgroupName must be specified, "
                              "not both")
        if not body.get("Database"):
            raise _validation("Database is required")
        parameters = body.get("Parameters") or []
        names = set()
        for p in parameters:
            name, value = p.get("name"), p.get("value")
            if not isinstance(name, str) or not _PARAMETER_NAME.match(name) or not isinstance(
                value, str
            ):
                raise _validation(f"Invalid parameter {p!r}: name [0-9a-zA-Z_]+ and a string value")
            if name in names:
                raise _validation(f"Parameter {name} is specified more than once")
            names.add(name)
        mode = body.get("ExecutionMode", "TRANSACTION")
        if mode not in ("TRANSACTION", "AUTO_COMMIT"):
            raise _validation(f"Invalid ExecutionMode {mode!r}")
        keep = ("ClusterIdentifier", "WorkgroupName", "Database", "DbUser", "SecretArn",
                "StatementName", "Parameters")
        return {**{k: body[k] for k in keep if body.get(k) is not None}, "ExecutionMode": mode}

    def _execute_statement(self, body: dict[str, Any]) -> dict[str, Any]:
        sql = body.get("Sql")
        if not isinstance(sql, str) or not sql.strip():
            raise _validation("Sql must be a non-empty string")
        _check_size([sql])
        return self._submit([sql], batch=False, body=body)

    def _batch_execute_statement(self, body: dict[str, Any]) -> dict[str, Any]:
        sqls = body.get("Sqls")
        if not isinstance(sqls, list) or not 1 <= len(sqls) <= 40 or not all(
            isinstance(s, str) and s.strip() for s in sqls
        ):
            raise _validation("Sqls must hold 1 to 40 non-empty SQL statements")
        _check_size(sqls)
        return self._submit(sqls, batch=True, body=body)

    def _submit(self, sqls: list[str], *, batch: bool, body: dict[str, Any]) -> dict[str, Any]:
        request = self._target(body)
        token = body.get("ClientToken")
        fingerprint = json.dumps({"sqls": sqls, "batch": batch, **request}, sort_keys=True)
        with self._lock:
            if self._stopped:
                raise ApiError("InternalServerException", "the embedded Data API is stopping",
                               status=500)
            if token and token in self._tokens:
                seen_fingerprint, seen_id = self._tokens[token]
                if seen_fingerprint != fingerprint:
                    raise _validation(f"ClientToken {token} was already used for a different "
                                      "request")
                record = self._records.get(seen_id)
                if record is not None:
                    return self._submit_response(record, body)
            now = _now()
            self._next_pid += 1
            subs = []
            for i, sql in enumerate(sqls, start=1):
                self._next_query_id += 1
                subs.append(_Sub(index=i, sql=sql, created_at=now, updated_at=now,
                                 query_id=self._next_query_id))
            record = _Record(id=str(uuid.uuid4()), batch=batch, subs=subs, request=request,
                             created_at=now, updated_at=now, pid=self._next_pid,
                             client_token=token,
                             read_only=self.writer is not None
                             and request.get("SecretArn") != self.writer)
            if self._failures:
                record.injected_error = self._failures.pop(0)
            if self._delay_s and (self._delay_left is None or self._delay_left > 0):
                record.delay_s = self._delay_s
                if self._delay_left is not None:
                    self._delay_left -= 1
            self._records[record.id] = record
            if token:
                self._tokens[token] = (fingerprint, record.id)
            self._count += 1
            self._evict()
        self._pool.submit(self._run, record)
        return self._submit_response(record, body)

    def _submit_response(self, record: _Record, body: dict[str, Any]) -> dict[str, Any]:
        wait = body.get("WaitTimeSeconds")
        if wait:
            record.done.wait(min(float(wait), MAX_WAIT_S))
        response: dict[str, Any] = {
            "Id": record.id,
            "CreatedAt": record.created_at,
            **{k: v for k, v in record.request.items()
               if k in ("ClusterIdentifier", "WorkgroupName", "Database", "DbUser", "SecretArn")},
        }
        if wait:
            response["Status"] = record.status
            response["HasResultSet"] = any(s.has_result_set for s in record.subs)
        return response

    def _evict(self) -> None:
        """Keep at most max_history statements (finished ones go first)."""
        excess = len(self._records) - self.max_history
        if excess <= 0:
            return
        for statement_id in [i for i, r in self._records.items() if r.done.is_set()][:excess]:
            record = self._records.pop(statement_id)
            if record.client_token:
                self._tokens.pop(record.client_token, None)

    # ------------------------------------------------------------------ execution

    def _run(self, record: _Record) -> None:
        """Worker: run a request's statements in one session, recording each one's fate."""
        from pipeline.offline.warehouse.engine import (
            Session,
            StatementCancelled,
            StatementFailed,
        )

        started = time.monotonic_ns()
        record.touch("PICKED")
        session = None
        timer: threading.Timer | None = None
        current: _Sub | None = None
        try:
            if record.cancel.is_set():
                raise StatementCancelled()
            if record.delay_s:
                record.touch("STARTED")
                if record.cancel.wait(record.delay_s):
                    raise StatementCancelled()
            if record.injected_error:
                current = record.subs[0]
                raise StatementFailed(record.injected_error)
            autocommit = not record.batch or record.request["ExecutionMode"] == "AUTO_COMMIT"
            session = Session(self._warehouse, record.id, record.cancel, autocommit=autocommit,
                              pid=record.pid, database=record.request.get("Database"),
                              read_only=record.read_only)
            record.session = session
            if record.read_only:
                timer = threading.Timer(self.reader_timeout_s, self._time_out, (record,))
                timer.daemon = True
                timer.start()
            record.touch("STARTED")
            parameters = {p["name"]: p["value"] for p in record.request.get("Parameters", [])}
            for sub in record.subs:
                current = sub
                sub_started = time.monotonic_ns()
                sub.status, sub.updated_at = "STARTED", _now()
                outcome = session.run(sub.sql, parameters, query_id=sub.query_id)
                sub.result = outcome.result
                sub.has_result_set = outcome.result is not None
                sub.result_rows = outcome.result_rows
                sub.result_size = outcome.result.size_bytes if outcome.result else 0
                sub.duration_ns = time.monotonic_ns() - sub_started
                sub.status, sub.updated_at = "FINISHED", _now()
            session.commit()
            current = None
            record.touch("FINISHED")
        except StatementCancelled:
            if record.timed_out:  # statement_timeout: FAILED, with the error Redshift gives
                query = current.query_id if current else record.subs[0].query_id
                self._end(record, current, "FAILED",
                          f"ERROR: Query ({query}) canceled on user's request")
            else:
                self._end(record, current, "ABORTED", "Query cancelled on user's request")
        except StatementFailed as exc:
            self._end(record, current, "FAILED", exc.error)
        except Exception as exc:  # a bug here must still end the statement, not hang it
            log.exception("embedded Data API statement crashed", extra={"id": record.id})
            self._end(record, current, "FAILED", f"ERROR: internal error: {exc}")
        finally:
            if timer is not None:
                timer.cancel()
            if session is not None:
                session.close()
            record.session = None
            record.duration_ns = time.monotonic_ns() - started
            record.done.set()

    def _time_out(self, record: _Record) -> None:
        """A reader's `statement_timeout`: interrupt it as CancelStatement does.

        Redshift ends such a statement with "Query (N) canceled on user's request"
        (https://docs.aws.amazon.com/redshift/latest/dg/r_statement_timeout.html).
        """
        if record.done.is_set():
            return
        record.timed_out = True
        self._interrupt(record)

    def _interrupt(self, record: _Record) -> None:
        record.cancel.set()
        # DuckDB's interrupt stops only a query that is already running: one sent while the
        # statement is still being translated or begun would be lost. So it is sent again until
        # the statement ends (usually ABORTED well within the wait; DescribeStatement tells).
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            session = record.session
            if session is not None:
                session.interrupt()
            if record.done.wait(0.02):
                break

    def _end(self, record: _Record, current: _Sub | None, status: str, error: str) -> None:
        now = _now()
        if current is None:  # failed at COMMIT: blame the last statement, as Redshift does
            current = record.subs[-1] if status == "FAILED" else None
        for sub in record.subs:
            if sub is current:
                sub.status, sub.error = status, error
            elif sub.status != "FINISHED":
                sub.status = "ABORTED"
            sub.updated_at = now
        record.error = error
        record.touch(status)

    # ------------------------------------------------------------------ describe / results

    def _find(self, statement_id: Any) -> tuple[_Record, _Sub | None]:
        match = _ID.match(statement_id) if isinstance(statement_id, str) else None
        if not match:
            raise _validation(f"Id {statement_id!r} is not a statement id")
        with self._lock:
            record = self._records.get(match.group("id"))
        if record is None:
            raise ApiError("ResourceNotFoundException", "Query does not exist.",
                           ResourceId=statement_id)
        if match.group("sub") is None:
            return record, None
        index = int(match.group("sub"))
        if not record.batch or not 1 <= index <= len(record.subs):
            raise ApiError("ResourceNotFoundException", "Query does not exist.",
                           ResourceId=statement_id)
        return record, record.subs[index - 1]

    def _describe_sub(self, record: _Record, sub: _Sub) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Id": f"{record.id}:{sub.index}",
            "Status": sub.status,
            "QueryString": sub.sql,
            "HasResultSet": sub.has_result_set,
            "ResultRows": sub.result_rows,
            "ResultSize": sub.result_size,
            "Duration": sub.duration_ns,
            "CreatedAt": sub.created_at,
            "UpdatedAt": sub.updated_at,
            "RedshiftQueryId": sub.query_id,
        }
        if sub.error:
            out["Error"] = sub.error
        return out

    def _describe_statement(self, body: dict[str, Any]) -> dict[str, Any]:
        record, sub = self._find(body.get("Id"))
        wait = body.get("WaitTimeSeconds")
        if wait:
            record.done.wait(min(float(wait), MAX_WAIT_S))
        if sub is not None:
            return self._describe_sub(record, sub)
        out: dict[str, Any] = {
            "Id": record.id,
            "Status": record.status,
            "CreatedAt": record.created_at,
            "UpdatedAt": record.updated_at,
            "Duration": record.duration_ns if record.done.is_set() else -1,
            "RedshiftPid": record.pid,
            "ResultFormat": "JSON",
            **{k: v for k, v in record.request.items() if k != "StatementName"},
        }
        if "Parameters" in out:
            out["QueryParameters"] = out.pop("Parameters")
        if not record.batch:
            out.pop("ExecutionMode", None)
        if record.error:
            out["Error"] = record.error
        if record.batch:
            out["QueryString"] = ";\n".join(s.sql for s in record.subs)
            out["HasResultSet"] = any(s.has_result_set for s in record.subs)
            out["ResultRows"] = sum(max(s.result_rows, 0) for s in record.subs) if (
                record.status == "FINISHED") else -1
            out["ResultSize"] = sum(max(s.result_size, 0) for s in record.subs) if (
                record.status == "FINISHED") else -1
            out["SubStatements"] = [self._describe_sub(record, s) for s in record.subs]
            out["RedshiftQueryId"] = record.subs[-1].query_id
        else:
            only = record.subs[0]
            out.update(QueryString=only.sql, HasResultSet=only.has_result_set,
                       ResultRows=only.result_rows, ResultSize=only.result_size,
                       RedshiftQueryId=only.query_id)
        return out

    def _get_statement_result(self, body: dict[str, Any]) -> dict[str, Any]:
        record, sub = self._find(body.get("Id"))
        if sub is None:
            if record.batch:
                raise _validation(
                    "BatchExecuteStatement result can only be retrieved with sub-statement id."
                )
            sub = record.subs[0]
        wait = body.get("WaitTimeSeconds")
        if wait and not record.done.is_set():
            record.done.wait(min(float(wait), MAX_WAIT_S))
        if sub.status not in DONE:
            raise _validation("Query has not finished yet. Check its status with "
                              "DescribeStatement.")
        result = sub.result
        if sub.status != "FINISHED" or result is None:
            raise _validation("Query does not have result. Please check query status with "
                              "DescribeStatement.")
        start = self._decode_token(body.get("NextToken"), record.id, sub.index)
        end, size = start, 0
        while end < result.total_rows and end - start < PAGE_ROWS and (
            end == start or size + result.sizes[end] <= PAGE_BYTES
        ):
            size += result.sizes[end]
            end += 1
        response: dict[str, Any] = {
            "Records": result.records[start:end],
            "ColumnMetadata": result.columns,
            "TotalNumRows": result.total_rows,
        }
        if end < result.total_rows:
            response["NextToken"] = self._encode_token(record.id, sub.index, end)
        return response

    @staticmethod
    def _encode_token(statement_id: str, index: int, offset: int) -> str:
        return base64.urlsafe_b64encode(f"{statement_id}|{index}|{offset}".encode()).decode()

    @staticmethod
    def _decode_token(token: Any, statement_id: str, index: int) -> int:
        if not token:
            return 0
        try:
            seen_id, seen_index, offset = base64.urlsafe_b64decode(str(token)).decode().split("|")
            if seen_id != statement_id or int(seen_index) != index or int(offset) < 0:
                raise ValueError(token)
            return int(offset)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise _validation("Invalid NextToken for this statement") from None

    # ------------------------------------------------------------------ cancel

    def _cancel_statement(self, body: dict[str, Any]) -> dict[str, Any]:
        record, _ = self._find(body.get("Id"))
        if record.status in DONE:
            raise _validation(
                f"Could not cancel a query that is already in {record.status} state."
            )
        self._interrupt(record)
        return {"Status": True}


def _check_size(sqls: list[str]) -> None:
    if any(len(sql.encode("utf-8")) > MAX_SQL_BYTES for sql in sqls):
        raise _validation("Cannot process query string larger than 100kB")


def _handler_class(api: EmbeddedDataApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: botocore pools its connections
        server_version = "EmbeddedRedshiftData/1.0"
        # Headers and body go out as two writes; with Nagle on, the body waits for the
        # client's delayed ACK of the headers: 40 ms added to every call.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            target = self.headers.get("X-Amz-Target", "")
            service, _, operation = target.partition(".")
            try:
                if service != "RedshiftData":
                    raise ApiError("UnknownOperationException",
                                   f"unknown X-Amz-Target {target!r}")
                try:
                    body = json.loads(raw or b"{}")
                except ValueError as exc:
                    raise ApiError("SerializationException", f"bad JSON body: {exc}") from exc
                if not isinstance(body, dict):
                    raise ApiError("SerializationException", "the body must be a JSON object")
                self._send(200, api.dispatch(operation, body))
            except ApiError as exc:
                self._send(exc.status, {"__type": exc.code, "message": exc.message,
                                        "Message": exc.message, **exc.extra})
            except Exception as exc:
                log.exception("embedded Data API request crashed")
                self._send(500, {"__type": "InternalServerException", "message": str(exc)})

        def do_GET(self) -> None:
            self._send(200, {"service": "RedshiftData", "endpoint": api.endpoint_url,
                             "warehouse": str(api.warehouse_path)})

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("data api: " + format, *args)

    return Handler
