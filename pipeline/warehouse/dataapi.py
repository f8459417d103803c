"""Redshift Data API client: submit, poll with capped backoff, retry what is retriable.

The same client talks to Amazon Redshift (serverless workgroup or provisioned
cluster) and to the embedded endpoint over DuckDB: only the endpoint URL and
the target differ, chosen by settings.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, ConnectionError, EndpointConnectionError

from pipeline.errors import TerminalWarehouseError, TransientWarehouseError, WarehouseError
from pipeline.settings import Settings
from pipeline.warehouse import sql

log = logging.getLogger(__name__)

EMBEDDED_WORKGROUP = "embedded"
FINAL = frozenset({"FINISHED", "FAILED", "ABORTED"})
# Redshift's concurrency and connection errors worth a fresh attempt.
RETRIABLE_MESSAGES = (
    "1023",
    "serializable isolation violation",
    "connection reset",
    "could not connect",
    "connection refused",
    "terminating connection",
    "the server closed the connection",
)
RETRIABLE_CODES = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "ActiveStatementsExceededException",
     "ActiveSessionsExceededException", "InternalServerException", "ServiceUnavailable",
     "RequestTimeout"}
)


class StatementTimeoutError(TransientWarehouseError):
    """The statement outlived the timeout and was cancelled (it may still have committed)."""


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with full jitter for polls and retries."""

    first: float = 0.02
    factor: float = 2.0
    cap: float = 2.0

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(self.cap, delay * self.factor)

    def jittered(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.cap, self.first * self.factor**attempt) * 4)


@dataclass(frozen=True)
class Result:
    """A finished statement's result set."""

    statement_id: str
    columns: list[str]
    type_names: list[str]
    rows: list[list[Any]]


@dataclass
class DataApi:
    """Runs Redshift SQL through a boto3 `redshift-data` client."""

    client: Any
    settings: Settings
    attempts: int = 5
    poll: Backoff = field(default_factory=Backoff)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)

    def _target(self) -> dict[str, str]:
        s = self.settings
        target: dict[str, str] = {"Database": s.redshift_database}
        if s.redshift_cluster:
            target["ClusterIdentifier"] = s.redshift_cluster
        else:
            target["WorkgroupName"] = s.redshift_workgroup or EMBEDDED_WORKGROUP
        if s.redshift_secret_arn:
            target["SecretArn"] = s.redshift_secret_arn
        elif s.redshift_db_user and s.redshift_cluster:
            target["DbUser"] = s.redshift_db_user
        return target

    def execute(self, sql: str, parameters: dict[str, str] | None = None) -> Result | None:
        """Run one statement; returns its result set when it has one."""
        kwargs: dict[str, Any] = {"Sql": sql}
        if parameters:
            kwargs["Parameters"] = [{"name": k, "value": v} for k, v in parameters.items()]
        desc = self._run("execute_statement", kwargs)
        return self.fetch(desc["Id"]) if desc.get("HasResultSet") else None

    def batch(self, sqls: Sequence[str]) -> str:
        """Run statements as one transaction (BatchExecuteStatement); returns the statement id."""
        return self._run("batch_execute_statement", {"Sqls": list(sqls)})["Id"]

    def _run(self, operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Submit and wait, retrying retriable failures with jittered backoff."""
        for attempt in range(self.attempts):
            try:
                statement_id = self._submit(operation, kwargs)
                return self.wait(statement_id)
            except StatementTimeoutError:
                raise  # the caller's time is spent; redelivery (and the ledger) take over
            except TransientWarehouseError as exc:
                if attempt == self.attempts - 1:
                    raise
                delay = self.poll.jittered(attempt, self.rng)
                log.warning("retrying statement", extra={"error": str(exc), "attempt": attempt + 1,
                                                         "delay_s": round(delay, 3)})
                self.sleep(delay)
        raise AssertionError("unreachable")

    def _submit(self, operation: str, kwargs: dict[str, Any]) -> str:
        # One token per logical submission: botocore's own HTTP retries resend the same
        # token, so a request that reached Redshift but lost its answer runs once.
        token = str(uuid.UUID(int=self.rng.getrandbits(128)))
        request = {**self._target(), **kwargs, "ClientToken": token}
        try:
            return getattr(self.client, operation)(**request)["Id"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            message = exc.response.get("Error", {}).get("Message", str(exc))
            cls = TransientWarehouseError if code in RETRIABLE_CODES else TerminalWarehouseError
            raise cls(f"{operation} refused: {code}: {message}") from exc
        except (ConnectionError, EndpointConnectionError) as exc:
            raise TransientWarehouseError(f"{operation}: cannot reach the Data API: {exc}") from exc

    def describe(self, statement_id: str) -> dict[str, Any]:
        try:
            return self.client.describe_statement(Id=statement_id)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in RETRIABLE_CODES:
                return {"Id": statement_id, "Status": "STARTED"}
            raise TerminalWarehouseError(str(exc), statement_id=statement_id) from exc
        except (ConnectionError, EndpointConnectionError):
            return {"Id": statement_id, "Status": "STARTED"}

    def wait(self, statement_id: str) -> dict[str, Any]:
        """Poll until the statement ends; cancel it after the statement timeout."""
        deadline = self.clock() + self.settings.statement_timeout_s
        for delay in self.poll.delays():
            desc = self.describe(statement_id)
            status = desc["Status"]
            if status == "FINISHED":
                return desc
            if status in ("FAILED", "ABORTED"):
                raise self._error(desc)
            if self.clock() + delay > deadline:
                self.cancel(statement_id)
                raise StatementTimeoutError(
                    f"statement did not finish within {self.settings.statement_timeout_s}s "
                    "and was cancelled",
                    statement_id=statement_id,
                )
            self.sleep(delay)
        raise AssertionError("unreachable")

    def cancel(self, statement_id: str) -> None:
        try:
            self.client.cancel_statement(Id=statement_id)
        except ClientError as exc:  # already finished: nothing to cancel, say so in the log
            log.warning("cancel failed", extra={"statement_id": statement_id, "error": str(exc)})

    def _error(self, desc: dict[str, Any]) -> WarehouseError:
        message = desc.get("Error") or desc["Status"]
        failing = next(
            (s for s in desc.get("SubStatements", []) if s.get("Status") in ("FAILED", "ABORTED")),
            None,
        )
        sub = None
        if failing:
            sub = f"{failing['Id']}: {failing.get('QueryString', '')[:200]}"
            message = failing.get("Error") or message
        details: list[dict[str, Any]] = []
        if "sys_load_error_detail" in message or "stl_load_errors" in message:
            details = self.load_errors()
        if desc["Status"] == "ABORTED":
            cls: type[WarehouseError] = TransientWarehouseError
        elif any(marker in message.lower() for marker in RETRIABLE_MESSAGES):
            cls = TransientWarehouseError
        else:
            cls = TerminalWarehouseError
        return cls(message, statement_id=desc["Id"], sub_statement=sub, details=details)

    def load_errors(self, limit: int = 10) -> list[dict[str, Any]]:
        """The latest rows of sys_load_error_detail: why a COPY rejected its file."""
        try:
            result = self.execute(
                "SELECT file_name, line_number, column_name, error_message "
                f"FROM sys_load_error_detail ORDER BY start_time DESC LIMIT {int(limit)}"
            )
        except WarehouseError as exc:
            return [{"error_message": f"could not read sys_load_error_detail: {exc}"}]
        if result is None:
            return []
        return [dict(zip(result.columns, row, strict=True)) for row in result.rows]

    def fetch(self, statement_id: str) -> Result:
        """All pages of a statement's result, with Data API fields turned into Python values."""
        columns: list[str] = []
        type_names: list[str] = []
        rows: list[list[Any]] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Id": statement_id}
            if token:
                kwargs["NextToken"] = token
            page = self.client.get_statement_result(**kwargs)
            if not columns:
                columns = [c.get("label") or c["name"] for c in page["ColumnMetadata"]]
                type_names = [c.get("typeName", "") for c in page["ColumnMetadata"]]
            rows.extend([field_value(f) for f in record] for record in page["Records"])
            token = page.get("NextToken")
            if not token:
                return Result(statement_id, columns, type_names, rows)


def field_value(field_: dict[str, Any]) -> Any:
    """One Data API Field union as a Python value."""
    if field_.get("isNull"):
        return None
    for key in ("longValue", "doubleValue", "stringValue", "booleanValue"):
        if key in field_:
            return field_[key]
    if "blobValue" in field_:
        return field_["blobValue"]
    raise ValueError(f"unknown Data API field {field_!r}")


@dataclass
class DataApiWarehouse:
    """The loader's warehouse port over the Data API: schema DDL, one-transaction loads, queries."""

    api: DataApi
    schema: str
    copy_role_arn: str

    def ensure_schema(self) -> None:
        """Create schema, tables and view if missing (idempotent)."""
        self.api.batch(sql.render_ddl(self.schema))

    def load(self, rows_manifest_url: str, parts_manifest_url: str) -> str:
        """Load one staged batch exactly once per (batch_id, part); returns the statement id."""
        return self.api.batch(
            sql.render_load(self.schema, rows_manifest_url, parts_manifest_url, self.copy_role_arn)
        )

    def query(self, statement: str) -> Result | None:
        return self.api.execute(statement)


def build(settings: Settings, client: Any = None) -> DataApiWarehouse:
    """The warehouse the settings name: Redshift, or the embedded endpoint when offline."""
    if client is None:
        from pipeline import aws

        client = aws.client(settings, "redshift-data", endpoint_url=settings.data_api_endpoint_url)
    api = DataApi(client=client, settings=settings)
    return DataApiWarehouse(api=api, schema=settings.schema, copy_role_arn=settings.copy_role_arn)
