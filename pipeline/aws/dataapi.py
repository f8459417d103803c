"""Redshift Data API client: submit, poll with capped backoff, retry what is retriable.

The same client talks to Amazon Redshift (serverless workgroup or provisioned
cluster) and to the embedded endpoint over DuckDB: only the endpoint URL and
the target differ, chosen by settings.
"""

from __future__ import annotations

import logging
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from pipeline.aws import sql
from pipeline.aws.settings import RuntimeSettings
from pipeline.core.errors import (
    MissingObjectError,
    TerminalWarehouseError,
    TransientWarehouseError,
    WarehouseError,
)

if TYPE_CHECKING:
    from mypy_boto3_redshift_data import RedshiftDataAPIServiceClient

log = logging.getLogger(__name__)

EMBEDDED_WORKGROUP = "embedded"
FINAL = frozenset({"FINISHED", "FAILED", "ABORTED"})
# Service-side refusals worth a fresh attempt: throttling and concurrency quotas
# (https://docs.aws.amazon.com/redshift/latest/mgmt/data-api.html#data-api-calling-considerations).
RETRIABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "ActiveStatementsExceededException",
        "ActiveSessionsExceededException",
        "ActiveWaitingRequestsExceededException",
        "InternalServerException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
# Statement failures worth a resubmission: Redshift's serializable-isolation
# conflict (error 1023) and dropped connections. Matched on the lower-cased
# message; "1023" alone is not enough (a COPY error can name line 1023).
RETRIABLE_MESSAGES = (
    "serializable isolation violation",
    "conflict with concurrent transaction",
    "connection reset",
    "could not connect",
    "connection refused",
    "terminating connection",
    "the server closed the connection",
)
_ERROR_1023 = re.compile(r"\berror:\s*1023\b", re.IGNORECASE)
# PostgreSQL's (so Redshift's) message for SQLSTATE 42P01 / 3F000, which the Data API passes
# as text only; the embedded warehouse answers the same. Read here once, so callers act on
# `MissingObjectError` rather than on words.
_MISSING_OBJECT = re.compile(r'\b(?:relation|schema) "[^"]+" does not exist')
# A COPY that rejected rows points at these system tables in its error message.
LOAD_ERROR_TABLES = ("sys_load_error_detail", "stl_load_errors")
LOAD_ERROR_QUERIES = (
    "SELECT TRIM(file_name) AS file_name, line_number, TRIM(column_name) AS column_name, "
    "error_code, TRIM(error_message) AS error_message "
    "FROM sys_load_error_detail ORDER BY start_time DESC LIMIT {limit}",
    # Provisioned clusters without the SYS views: the older STL table, same keys.
    "SELECT TRIM(filename) AS file_name, line_number, TRIM(colname) AS column_name, "
    "err_code AS error_code, TRIM(err_reason) AS error_message "
    "FROM stl_load_errors ORDER BY starttime DESC LIMIT {limit}",
)
# Reading load errors is a diagnosis of a failure already in hand: keep it short.
DIAGNOSTIC_TIMEOUT_S = 30.0


class StatementTimeoutError(TransientWarehouseError):
    """The statement outlived the timeout and was cancelled (it may still have committed)."""


@dataclass(frozen=True)
class Backoff:
    """Capped exponential delays (`first`, `first*factor`, ... never above `cap`)."""

    first: float = 0.05
    factor: float = 2.0
    cap: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.first <= self.cap or self.factor < 1:
            raise ValueError(f"bad backoff {self!r}: need 0 < first <= cap and factor >= 1")

    def delay(self, attempt: int) -> float:
        """The delay after attempt `attempt` (0-based), before jitter."""
        delay = self.first
        for _ in range(attempt):
            if delay >= self.cap:
                break
            delay *= self.factor
        return min(self.cap, delay)

    def delays(self) -> Iterator[float]:
        """Poll delays: first, first*factor, ..., cap, cap, ..."""
        attempt = 0
        while True:
            yield self.delay(attempt)
            attempt += 1

    def jittered(self, attempt: int, rng: random.Random) -> float:
        """Equal jitter: in [delay/2, delay], so retries spread out but still back off."""
        delay = self.delay(attempt)
        return delay / 2 + rng.uniform(0, delay / 2)


@dataclass(frozen=True)
class Result:
    """A finished statement's result set."""

    statement_id: str
    columns: list[str]
    type_names: list[str]
    rows: list[list[Any]]


def _new_token() -> str:
    return str(uuid.uuid4())


@dataclass
class DataApi:
    """Runs Redshift SQL through a boto3 `redshift-data` client.

    `sleep`, `clock`, `rng` and `new_token` are injectable so tests run
    instantly and deterministically.
    """

    client: RedshiftDataAPIServiceClient
    settings: RuntimeSettings
    attempts: int = 5
    # Factor 1.5, not 2: a statement is noticed at most half its run time late.
    poll: Backoff = field(default_factory=lambda: Backoff(first=0.05, factor=1.5, cap=2.0))
    retry: Backoff = field(default_factory=lambda: Backoff(first=0.5, factor=2.0, cap=8.0))
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)
    new_token: Callable[[], str] = _new_token
    # DescribeStatement's WaitTimeSeconds (0: plain polling): the service answers when the
    # statement ends, so a load is seen done at once rather than up to a poll delay late.
    long_poll_s: int = 0

    def _target(self) -> dict[str, str]:
        """Serverless (WorkgroupName) or provisioned (ClusterIdentifier), and how to log in.

        A secret works for both; without one, IAM: a provisioned cluster takes a
        DbUser (GetClusterCredentials), serverless maps the caller's IAM identity.
        """
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

    def execute(self, sql: str, parameters: Mapping[str, str] | None = None) -> Result | None:
        """Run one statement; returns its result set when it has one."""
        return self._execute(sql, parameters)

    def _execute(
        self,
        sql: str,
        parameters: Mapping[str, str] | None = None,
        *,
        diagnose: bool = True,
        timeout_s: float | None = None,
    ) -> Result | None:
        kwargs: dict[str, Any] = {"Sql": sql}
        if parameters:
            kwargs["Parameters"] = [{"name": k, "value": v} for k, v in parameters.items()]
        desc = self._run("execute_statement", kwargs, diagnose=diagnose, timeout_s=timeout_s)
        return self.fetch(desc["Id"]) if desc.get("HasResultSet") else None

    def batch(self, sqls: Sequence[str]) -> str:
        """Run statements as one transaction (BatchExecuteStatement); returns the statement id."""
        return self._run("batch_execute_statement", {"Sqls": list(sqls)})["Id"]

    def _run(
        self,
        operation: str,
        kwargs: dict[str, Any],
        *,
        diagnose: bool = True,
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """Submit and wait within one overall deadline, retrying what is retriable.

        One ClientToken per logical submission: a submit that was refused or lost
        on the wire is resent with the same token (if it did reach Redshift, the
        statement runs once), while a statement that ran and FAILED retriably is
        a new submission with a new token (the old token would return the old
        failure). A timeout is not retried here: the cancelled statement may still
        commit, and redelivery plus the ledger settle it.
        """
        deadline = self.clock() + (timeout_s or self.settings.statement_timeout_s)
        token = self.new_token()
        for attempt in range(self.attempts):
            try:
                statement_id = self._submit(operation, {**kwargs, "ClientToken": token})
            except TransientWarehouseError as exc:
                self._back_off(attempt, exc, deadline)
                continue
            try:
                return self.wait(statement_id, deadline=deadline, diagnose=diagnose)
            except StatementTimeoutError:
                raise
            except TransientWarehouseError as exc:
                self._back_off(attempt, exc, deadline)
                token = self.new_token()
        raise AssertionError("unreachable: _back_off raises on the last attempt")

    def _back_off(self, attempt: int, exc: TransientWarehouseError, deadline: float) -> None:
        """Sleep before the next attempt, or re-raise when attempts or time are spent."""
        delay = self.retry.jittered(attempt, self.rng)
        if attempt >= self.attempts - 1 or self.clock() + delay >= deadline:
            raise exc
        log.warning(
            "retrying statement",
            extra={"error": str(exc), "attempt": attempt + 1, "delay_s": round(delay, 3)},
        )
        self.sleep(delay)

    def _submit(self, operation: str, kwargs: dict[str, Any]) -> str:
        request = {**self._target(), **kwargs}
        try:
            response = getattr(self.client, operation)(**request)
        except ClientError as exc:
            raise _client_error(f"{operation} refused", exc) from exc
        except (BotoConnectionError, HTTPClientError) as exc:
            raise TransientWarehouseError(f"{operation}: cannot reach the Data API: {exc}") from exc
        return str(response["Id"])

    def describe(self, statement_id: str, wait_s: int = 0) -> dict[str, Any]:
        """DescribeStatement, waiting up to `wait_s` for the end; a throttled or dropped
        call reads as 'still running'."""
        wait = {"WaitTimeSeconds": wait_s} if wait_s else {}
        try:
            return dict(self.client.describe_statement(Id=statement_id, **wait))
        except ClientError as exc:
            error = _client_error("describe_statement", exc, statement_id)
            if isinstance(error, TransientWarehouseError):
                return {"Id": statement_id, "Status": "STARTED"}
            raise error from exc
        except (BotoConnectionError, HTTPClientError):
            return {"Id": statement_id, "Status": "STARTED"}

    def wait(
        self, statement_id: str, *, deadline: float | None = None, diagnose: bool = True
    ) -> dict[str, Any]:
        """Poll until the statement ends; cancel it at the deadline and raise StatementTimeoutError.

        The first poll goes out at once, then after capped exponentially growing
        sleeps; no sleep runs past the deadline. With `long_poll_s`, each poll also
        waits on the service's side (never past the deadline), so the sleeps only
        pace polls that came back early (throttled, or the wait ran out).
        """
        started = self.clock()
        if deadline is None:
            deadline = started + self.settings.statement_timeout_s
        try:
            return self._poll(statement_id, started, deadline, diagnose)
        except KeyboardInterrupt:  # Ctrl-C ends the statement too, not only the waiting
            self.cancel(statement_id)
            raise

    def _poll(self, statement_id: str, started: float, deadline: float, diagnose: bool
              ) -> dict[str, Any]:
        for delay in self.poll.delays():
            wait_s = min(self.long_poll_s, int(deadline - self.clock()))
            desc = self.describe(statement_id, max(wait_s, 0))
            status = desc["Status"]
            if status == "FINISHED":
                return desc
            if status in ("FAILED", "ABORTED"):
                raise self._error(desc, diagnose=diagnose)
            remaining = deadline - self.clock()
            if remaining <= 0:
                self.cancel(statement_id)
                raise StatementTimeoutError(
                    f"statement still {status} after {self.clock() - started:.1f}s of waiting; "
                    "cancelled (it may still commit)",
                    statement_id=statement_id,
                )
            self.sleep(min(delay, remaining))
        raise AssertionError("unreachable: poll delays never end")

    def cancel(self, statement_id: str) -> None:
        """CancelStatement; a statement that already ended cannot be cancelled, and that is fine."""
        try:
            self.client.cancel_statement(Id=statement_id)
        except (ClientError, BotoConnectionError, HTTPClientError) as exc:
            log.warning("cancel failed", extra={"statement_id": statement_id, "error": str(exc)})

    def _error(self, desc: Mapping[str, Any], *, diagnose: bool = True) -> WarehouseError:
        """The error for a FAILED or ABORTED statement, naming the failing sub-statement."""
        status = desc["Status"]
        message = desc.get("Error") or f"statement {status.lower()}"
        subs = desc.get("SubStatements") or []
        failing = next((s for s in subs if s.get("Status") == "FAILED"), None) or next(
            (s for s in subs if s.get("Status") == "ABORTED"), None
        )
        sub = None
        if failing:
            sub = f"{failing['Id']}: {failing.get('QueryString', '')}"
            message = failing.get("Error") or message
        details: list[dict[str, Any]] = []
        if diagnose and any(table in message.lower() for table in LOAD_ERROR_TABLES):
            details = self.load_errors()
        # ABORTED means someone cancelled it: not ours to resubmit.
        cls: type[WarehouseError] = TerminalWarehouseError
        if status == "FAILED" and _retriable_message(message):
            cls = TransientWarehouseError
        elif status == "FAILED" and _MISSING_OBJECT.search(message):
            cls = MissingObjectError
        return cls(message, statement_id=desc["Id"], sub_statement=sub, details=details)

    def load_errors(self, limit: int = 10) -> list[dict[str, Any]]:
        """The latest rows of sys_load_error_detail (else stl_load_errors): why a COPY failed."""
        failures: list[str] = []
        for query in LOAD_ERROR_QUERIES:
            try:
                result = self._execute(
                    query.format(limit=int(limit)),
                    diagnose=False,
                    timeout_s=min(DIAGNOSTIC_TIMEOUT_S, self.settings.statement_timeout_s),
                )
            except WarehouseError as exc:
                failures.append(str(exc))
                continue
            if result is None:
                return []
            return [dict(zip(result.columns, row, strict=True)) for row in result.rows]
        return [{"error_message": f"could not read load errors: {'; '.join(failures)}"}]

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
            try:
                page = self.client.get_statement_result(**kwargs)
            except ClientError as exc:
                raise _client_error("get_statement_result", exc, statement_id) from exc
            if not columns:
                columns = [c.get("label") or c["name"] for c in page["ColumnMetadata"]]
                type_names = [c.get("typeName", "") for c in page["ColumnMetadata"]]
            rows.extend([field_value(f) for f in record] for record in page["Records"])
            token = page.get("NextToken")
            if not token:
                return Result(statement_id, columns, type_names, rows)


def _retriable_message(message: str) -> bool:
    lowered = message.lower()
    return bool(_ERROR_1023.search(message)) or any(m in lowered for m in RETRIABLE_MESSAGES)


def _client_error(what: str, exc: ClientError, statement_id: str | None = None) -> WarehouseError:
    """A refused API call as the project's error: transient for throttling, else terminal."""
    error = exc.response.get("Error", {})
    code = error.get("Code", "")
    message = error.get("Message") or str(exc)
    retriable = code in RETRIABLE_CODES or _retriable_message(message)
    cls = TransientWarehouseError if retriable else TerminalWarehouseError
    return cls(f"{what}: {code}: {message}", statement_id=statement_id)


def field_value(field_: Mapping[str, Any]) -> Any:
    """One Data API Field union as a Python value."""
    if field_.get("isNull"):
        return None
    for key in ("longValue", "doubleValue", "stringValue", "booleanValue", "blobValue"):
        if key in field_:
            return field_[key]
    raise ValueError(f"unknown Data API field {field_!r}")


@dataclass
class DataApiWarehouse:
    """The loader's warehouse port over the Data API: schema DDL, one-transaction loads, queries."""

    api: DataApi
    schema: str
    copy_role_arn: str

    def ensure_schema(self) -> None:
        """Create schema, tables and view if missing (idempotent).

        Checks first: every loader cold start calls this, and concurrent
        `CREATE OR REPLACE VIEW`s conflict (1023) for no gain once all exist.
        """
        found = self.api.execute(sql.render_catalog_lookup(), {"schema": self.schema})
        if found is None or found.rows[0][0] < len(sql.CATALOG_OBJECTS):
            self.api.batch(sql.render_ddl(self.schema))

    def ensure_users(
        self, database: str, loader_password: str, analysts: Sequence[str] = (),
        operators: Sequence[str] = (),
    ) -> None:
        """Create the loader user, the analyst and operator roles and the analysts' and
        operators' IAM users, then grant (the set-up, as the admin; idempotent).

        Redshift has no CREATE USER / ROLE IF NOT EXISTS: a create that fails with
        "already exists" is the no-op, and the loader's password is reset to the secret's.
        """
        loader_md5 = sql.password_hash(sql.LOADER_USER, loader_password)
        if not self._create(sql.render_create_user(sql.LOADER_USER, loader_md5)):
            self.api.execute(sql.render_alter_user_password(sql.LOADER_USER, loader_md5))
        self._create(sql.render_create_role())
        self._create(sql.render_create_role(sql.OPERATOR_ROLE))
        for name in dict.fromkeys([*analysts, *operators]):
            self._create(sql.render_create_user(name, None))
        self.api.batch(
            sql.render_grants(self.schema, database, self.copy_role_arn, tuple(analysts),
                              operators=tuple(operators))
        )

    def _create(self, statement: str) -> bool:
        """Run a CREATE; False when the object already exists."""
        try:
            self.api.execute(statement)
        except TerminalWarehouseError as exc:
            if "already exists" not in str(exc).lower():
                raise
            return False
        return True

    def load(self, rows_manifest_url: str, parts_manifest_url: str) -> str:
        """Load one staged batch exactly once per (batch_id, part); returns the statement id."""
        return self.api.batch(
            sql.render_load(self.schema, rows_manifest_url, parts_manifest_url, self.copy_role_arn)
        )

    def loaded_parts(self) -> set[tuple[str, int]]:
        """Every (batch_id, part) in the ledger; MissingObjectError before the first load."""
        result = self.api.execute(sql.render_ledger_parts(self.schema))
        return {(str(r[0]), int(r[1])) for r in (result.rows if result else [])}

    def ledger_totals(self) -> tuple[int, int, int, Any]:
        """(parts, rows, rejected rows, last load time); MissingObjectError before the first."""
        result = self.api.execute(sql.render_ledger_lookup(self.schema))
        if result is None or not result.rows:
            return 0, 0, 0, None
        parts, rows, rejected, last = result.rows[0]
        return int(parts), int(rows), int(rejected), last

    def query(self, statement: str) -> Result | None:
        """Run one statement; its result set, if any."""
        return self.api.execute(statement)


def long_poll_s(client: Any) -> int:
    """DescribeStatement's longest wait when this botocore knows WaitTimeSeconds, else 0.

    The parameter is newer than some boto3 releases a Lambda runtime bundles; an
    unknown parameter would fail every load, so its absence means plain polling.
    """
    operation = client.meta.service_model.operation_model("DescribeStatement")
    member = operation.input_shape.members.get("WaitTimeSeconds")
    return int(member.metadata.get("max", 30)) if member is not None else 0


def build(settings: RuntimeSettings, client: Any = None) -> DataApiWarehouse:
    """The warehouse the settings name: Redshift, or the embedded endpoint when offline."""
    if client is None:
        from pipeline.aws import boto

        client = boto.client(settings, "redshift-data", endpoint_url=settings.data_api_endpoint_url)
    api = DataApi(client=client, settings=settings, long_poll_s=long_poll_s(client))
    return DataApiWarehouse(api=api, schema=settings.schema, copy_role_arn=settings.copy_role_arn)


def init_warehouse(
    warehouse: DataApiWarehouse,
    settings: RuntimeSettings,
    loader_password: str | None = None,
    analysts: Sequence[str] = (),
    operators: Sequence[str] = (),
) -> None:
    """`pipeline warehouse init`: schema, tables and view, then users and grants (idempotent).

    The embedded warehouse has no users: there the same statements run without effect, and
    the loader's password is a throwaway.
    """
    import secrets

    warehouse.ensure_schema()
    warehouse.ensure_users(
        settings.redshift_database, loader_password or secrets.token_hex(16), analysts,
        operators,
    )


def init_redshift(
    settings: RuntimeSettings, outputs: Mapping[str, str], analysts: Sequence[str] = ()
) -> list[str]:
    """`pipeline warehouse init --target redshift`, as the admin (`settings` from the stack's
    outputs; the admin secret is read from them here, the one command besides the stack's
    own set-up that uses it): schema, then the loader user with the password of the
    stack's loader secret, then the caller's IAM identity plus `analysts` (`IAM:<user>` /
    `IAMR:<role>`) mapped to the read-only analyst role. Returns the users mapped."""
    import dataclasses

    from pipeline.aws.settings import OUTPUT_LOADER_SECRET_ARN, OUTPUT_SECRET_ARN
    from pipeline.core.errors import ConfigError

    try:
        named = [sql.validate_iam_db_user(name) for name in analysts]
    except ValueError as exc:
        raise ConfigError(f"--analyst: {exc}") from None
    secret_arn = outputs.get(OUTPUT_LOADER_SECRET_ARN)
    if not secret_arn:
        raise ConfigError(
            f"the stack outputs have no {OUTPUT_LOADER_SECRET_ARN}: redeploy the stack"
        )
    admin_secret = outputs.get(OUTPUT_SECRET_ARN)
    if not admin_secret:
        raise ConfigError(f"the stack outputs have no {OUTPUT_SECRET_ARN}: redeploy the stack")
    settings = dataclasses.replace(settings, redshift_secret_arn=admin_secret)
    mapped = list(dict.fromkeys([caller_db_user(settings), *named]))
    init_warehouse(build(settings), settings, loader_password(settings, secret_arn), mapped)
    return mapped


def loader_password(settings: RuntimeSettings, secret_arn: str, client: Any = None) -> str:
    """The loader user's password from the stack's loader secret (`warehouse init` only)."""
    import json

    if client is None:
        from pipeline.aws import boto

        client = boto.client(settings, "secretsmanager")
    try:
        secret = client.get_secret_value(SecretId=secret_arn)["SecretString"]
    except ClientError as exc:
        raise _client_error(f"reading the loader secret {secret_arn}", exc) from exc
    return str(json.loads(secret)["password"])


def caller_db_user(settings: RuntimeSettings, client: Any = None) -> str:
    """The database user Redshift maps the caller's IAM identity to (`IAM:` / `IAMR:`)."""
    if client is None:
        from pipeline.aws import boto

        client = boto.client(settings, "sts")
    try:
        arn = client.get_caller_identity()["Arn"]
    except ClientError as exc:
        raise _client_error("sts get-caller-identity", exc) from exc
    try:
        return sql.iam_db_user(arn)
    except ValueError:
        from pipeline.core.errors import ConfigError

        raise ConfigError(
            f"the caller {arn} maps to no Redshift database user: run warehouse init as an "
            "IAM user or role, not the account's root user"
        ) from None
