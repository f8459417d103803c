"""Smoke checks the notebooks run, and the parameters that say which deployment to check.

Each `require_*` function raises `SmokeCheckError` with a message an operator
can act on, so a notebook run by papermill (`pipeline validate`) fails on the
cell that found the problem, and the report names it. `NotebookTarget` turns a
notebook's parameters (and a `cdk deploy --outputs-file` JSON) into settings
and a warehouse connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.aws.settings import REPO_ROOT, Settings
from pipeline.core.errors import ConfigError, PipelineError

if TYPE_CHECKING:
    import pandas as pd

    from pipeline.analysis.warehouse import Connection

# `cdk deploy --outputs-file` keys -> notebook parameter names.
class SmokeCheckError(PipelineError):
    """A post-deploy check found the deployment unhealthy; the message says what and where."""


# ---------------------------------------------------------------------------
# Parameters.


def repo_path(path: str | Path) -> Path:
    """`path` as an absolute path; a relative one is taken from the repository root.

    Notebooks run with the notebooks folder as their working directory (under
    papermill and in JupyterLab), so `var/warehouse.duckdb` must not depend on it.
    """
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else REPO_ROOT / candidate


@dataclass(frozen=True)
class NotebookTarget:
    """Which warehouse (and DLQ) a notebook checks, from its parameters."""

    target: str = "local"
    warehouse_path: Path | None = None
    schema: str = Settings.schema
    workgroup: str | None = None
    cluster: str | None = None
    database: str = Settings.redshift_database
    region: str = Settings.region
    dlq_url: str | None = None
    aws_endpoint_url: str | None = None

    @classmethod
    def from_parameters(
        cls,
        *,
        target: str = "local",
        warehouse_path: str = "",
        schema: str = Settings.schema,
        workgroup: str = "",
        cluster: str = "",
        database: str = "",
        region: str = "",
        dlq_url: str = "",
        aws_endpoint_url: str = "",
        stack_outputs: str = "",
    ) -> NotebookTarget:
        """Build from notebook parameters; `stack_outputs` (a file) fills what was left empty."""
        if target not in ("local", "redshift"):
            raise ConfigError(f"target={target!r}: use 'local' or 'redshift'")
        given = {"workgroup": workgroup, "cluster": cluster, "database": database,
                 "region": region, "dlq_url": dlq_url}
        if stack_outputs:
            # Empty defaults: only what the outputs name fills an empty parameter.
            deployed = Settings(redshift_database="", region="").with_stack_outputs(
                repo_path(stack_outputs))
            found = {"workgroup": deployed.redshift_workgroup,
                     "cluster": deployed.redshift_cluster,
                     "database": deployed.redshift_database, "region": deployed.region,
                     "dlq_url": deployed.dlq_url}
            given = {name: value or found[name] or "" for name, value in given.items()}
        if target == "redshift" and not (given["workgroup"] or given["cluster"]):
            raise ConfigError(
                "target='redshift' needs a workgroup or a cluster (parameters `workgroup` / "
                "`cluster`, or `stack_outputs` with WorkgroupName / ClusterIdentifier)"
            )
        return cls(
            target=target,
            warehouse_path=repo_path(warehouse_path) if warehouse_path else None,
            schema=schema,
            workgroup=given["workgroup"] or None,
            cluster=given["cluster"] or None,
            database=given["database"] or Settings.redshift_database,
            region=given["region"] or Settings.region,
            dlq_url=given["dlq_url"] or None,
            aws_endpoint_url=aws_endpoint_url or None,
        )

    def settings(self) -> Settings:
        """Settings naming this warehouse (a local target never names a Redshift)."""
        redshift = self.target == "redshift"
        options: dict[str, Any] = {
            "schema": self.schema,
            "region": self.region,
            "redshift_database": self.database,
            "redshift_workgroup": self.workgroup if redshift else None,
            "redshift_cluster": self.cluster if redshift and not self.workgroup else None,
            "dlq_url": self.dlq_url,
            "aws_endpoint_url": self.aws_endpoint_url,
        }
        if self.warehouse_path is not None:
            options["warehouse_path"] = self.warehouse_path
        return Settings(**options)

    def connect(self) -> Connection:
        """Open the warehouse through `pipeline.analysis.warehouse.connect`."""
        from pipeline.analysis.warehouse import connect

        settings = self.settings()
        if self.target == "local":
            return connect("local", settings, warehouse_path=settings.warehouse_path)
        # The transport (Data API by default, or redshift-connector) is the analyst's
        # setting, PIPELINE_REDSHIFT_TRANSPORT, not a notebook parameter.
        return connect("redshift", settings, transport=Settings.from_env().redshift_transport)

    def describe(self) -> str:
        if self.target == "local":
            return f"local warehouse {self.settings().warehouse_path}"
        where = f"workgroup {self.workgroup}" if self.workgroup else f"cluster {self.cluster}"
        return f"Redshift {where}, database {self.database}, region {self.region}"


# ---------------------------------------------------------------------------
# Checks.


def require_rows(count: int, table: str, where: str = "") -> None:
    """Fail when `table` has no rows: nothing has been loaded yet, or the load is broken."""
    if int(count) <= 0:
        place = f" on {where}" if where else ""
        raise SmokeCheckError(
            f"no rows in {table}{place}: nothing has been loaded. Has the publisher run and "
            "the loader drained the queue? (offline: `pipeline run`)"
        )


def require_fresh(seconds: float | None, max_seconds: float, what: str) -> None:
    """Fail when a latency (`what`, in seconds) is above `max_seconds`."""
    if seconds is None or seconds != seconds:  # None or NaN: nothing to measure
        raise SmokeCheckError(f"cannot measure {what}: no loaded parts with timestamps")
    if float(seconds) > float(max_seconds):
        raise SmokeCheckError(
            f"{what} is {float(seconds):,.1f} s, above the threshold of {float(max_seconds):,.1f} s"
        )


# Freshness is the pipeline's latency now, not the history's: parts published within this
# many seconds before the newest load (an hour holds a dozen 5-minute drains).
FRESHNESS_WINDOW_S = 3600.0


def freshness_sql(ledger: str, quantile: float, window_s: float | None = FRESHNESS_WINDOW_S,
                  *, after_first_load: bool = True) -> str:
    """Publish-to-queryable latency (parts, p50, the `quantile`, max; seconds) as Redshift SQL.

    Measured over the parts published after the pipeline's first load (with
    `after_first_load`) and within `window_s` before the newest load (None: no window).
    A fresh deployment's backlog, queued before the loader could first run, and old
    incidents long since over, are not what the check asks about: is the pipeline fast now.
    `ledger` is a qualified table name (`sql.qualified`); the numbers are validated here.
    """
    q = float(quantile)
    if not 0 < q < 1:
        raise ConfigError(f"freshness quantile {quantile!r} must be between 0 and 1")
    where = ["published_at IS NOT NULL"]
    if after_first_load:
        where.append(f"published_at > (SELECT MIN(loaded_at) FROM {ledger})")
    if window_s is not None:
        seconds = int(window_s)
        if seconds <= 0:
            raise ConfigError(f"freshness window {window_s!r} must be a positive number of seconds")
        where.append(f"published_at >= DATEADD(second, -{seconds}, "
                     f"(SELECT MAX(loaded_at) FROM {ledger}))")
    latency = "DATEDIFF(millisecond, published_at, loaded_at)"
    return (
        f"SELECT COUNT(*) AS parts, "
        f"PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY {latency}) / 1000.0 AS p50_s, "
        f"PERCENTILE_CONT({q}) WITHIN GROUP (ORDER BY {latency}) / 1000.0 AS quantile_s, "
        f"MAX({latency}) / 1000.0 AS max_s "
        f"FROM {ledger} WHERE " + " AND ".join(where)
    )


def check_freshness(conn: Connection, ledger: str, max_seconds: float, quantile: float = 0.95,
                    window_s: float | None = FRESHNESS_WINDOW_S, *,
                    after_first_load: bool = True) -> tuple[pd.DataFrame, str]:
    """Fail when the recent publish-to-queryable latency's `quantile` is above `max_seconds`.

    Returns the figures and a line saying what was checked, or, when no part published
    after the first load has loaded yet (a deployment minutes old), a skipped line:
    `pipeline validate` shows that notebook as SKIPPED, never PASSED.
    """
    frame = conn.query(freshness_sql(ledger, quantile, window_s,
                                     after_first_load=after_first_load))
    scope = ("published after the first load" if after_first_load else "published")
    if window_s is not None:
        scope += f" within {float(window_s):g} s of the newest load"
    if int(frame["parts"].iloc[0]) == 0:
        return frame, skipped(f"freshness: no part {scope} has loaded yet; run validate "
                              "again after the next load")
    what = f"publish-to-queryable latency (p{float(quantile) * 100:g}, parts {scope})"
    require_fresh(frame["quantile_s"].iloc[0], max_seconds, what)
    return frame, f"freshness check passed: {what} within {float(max_seconds):g} s"


def require_no_duplicates(duplicates: pd.DataFrame, key: str, table: str) -> None:
    """Fail when a `GROUP BY key HAVING COUNT(*) > 1` query returned anything.

    For the ledger or the messages table this means a part was loaded twice:
    the exactly-once guarantee per (batch_id, part) is broken.
    """
    if len(duplicates):
        sample = duplicates.head(3).to_dict(orient="records")
        raise SmokeCheckError(
            f"{len(duplicates)} duplicate {key} key(s) in {table}: a part was loaded twice "
            f"(exactly-once is broken); first: {sample}"
        )


def require_equal(actual: Any, expected: Any, what: str) -> None:
    """Fail when two figures that must agree do not."""
    if actual != expected:
        raise SmokeCheckError(f"{what}: got {actual}, expected {expected}")


def require_dataset_schema(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """Fail unless the dataset has exactly `columns`, rows, and the contract's types.

    Ids are nullable 64-bit integers (`reply_message_id` never a float), both
    times are time-zone-aware timestamps, and the text is a string column.
    """
    import pandas as pd

    if list(frame.columns) != list(columns):
        raise SmokeCheckError(
            f"dataset columns are {list(frame.columns)}, expected {list(columns)}"
        )
    if frame.empty:
        raise SmokeCheckError("the dataset has no rows")
    problems = []
    for name in ("message_id", "reply_message_id", "trader_id", "chat_link"):
        if str(frame[name].dtype) != "Int64":
            problems.append(f"{name} is {frame[name].dtype}, expected Int64")
    for name in ("message_timestamp", "processing_time"):
        dtype = frame[name].dtype
        if not isinstance(dtype, pd.DatetimeTZDtype):
            problems.append(f"{name} is {dtype}, expected a UTC timestamp")
    if not pd.api.types.is_string_dtype(frame["message_content"].dtype):
        problems.append(f"message_content is {frame['message_content'].dtype}, expected string")
    if problems:
        raise SmokeCheckError("dataset types break the contract: " + "; ".join(problems))


def require_uniform(chi_square: float, bins: int, what: str) -> None:
    """Fail when a chi-square over `bins` equal bins rejects uniformity at the 0.1 % level."""
    from pipeline.analysis.notebook import chi_square_critical

    critical = chi_square_critical(bins - 1)
    if chi_square > critical:
        raise SmokeCheckError(
            f"{what} are not uniform: chi-square {chi_square:.1f} over {bins} bins exceeds "
            f"{critical:.1f} (0.1 % level)"
        )


def require_parts_fit(parts: pd.DataFrame, max_bytes: int) -> None:
    """Fail when any encoded part (a `split_profile` parts frame) exceeds the message limit."""
    over = parts[parts["bytes"] > max_bytes]
    if len(over):
        raise SmokeCheckError(
            f"{len(over)} part(s) exceed the {max_bytes:,}-byte message limit; largest "
            f"{int(over['bytes'].max()):,} bytes"
        )


def dlq_depth(
    dlq_url: str, *, region: str, endpoint_url: str | None = None, sqs: Any = None
) -> int:
    """Messages in the dead-letter queue (visible + in flight + delayed).

    Raises the client's error when the queue cannot be reached; a short
    timeout and no retries keep an unreachable endpoint from stalling a run.
    """
    if sqs is None:
        from botocore.config import Config

        from pipeline.aws import boto

        config = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 1})
        sqs = boto.client(Settings(region=region), "sqs", endpoint_url=endpoint_url,
                          config=config)
    attributes = sqs.get_queue_attributes(
        QueueUrl=dlq_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                        "ApproximateNumberOfMessagesDelayed"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


# A check that could not run says so with this mark; `pipeline validate` shows its notebook
# as SKIPPED (never PASSED) and names the reason.
SKIPPED_MARK = "SMOKE CHECK SKIPPED: "


def skipped(reason: str) -> str:
    """The line a check returns (and the notebook prints) when it could not run."""
    return SKIPPED_MARK + reason


def check_dlq(target: NotebookTarget, sqs: Any = None) -> str:
    """Fail when the DLQ holds messages; returns a line saying what was checked or skipped.

    A local target without a DLQ URL checks the embedded DLQ: the running
    pipeline's, else the state the last `pipeline run` left beside the warehouse
    (the embedded queues are durable). Skipped, with the mark, only when no run
    ever left any. For a deployed target an unreachable DLQ fails: the check
    must not pass blind.
    """
    if not target.dlq_url and target.target == "local":
        return check_embedded_dlq(target, sqs)
    if not target.dlq_url:
        return skipped("DLQ check: no DLQ URL given (pass `dlq_url` or `stack_outputs`)")
    try:
        depth = dlq_depth(target.dlq_url, region=target.region,
                          endpoint_url=target.aws_endpoint_url, sqs=sqs)
    except Exception as exc:  # any client or connection error means "not reachable"
        if target.target == "local":
            return skipped(f"DLQ check: no queue reachable at {target.dlq_url} ({exc})")
        raise SmokeCheckError(f"cannot read the DLQ {target.dlq_url}: {exc}") from exc
    return _dlq_verdict(depth, target.dlq_url)


def check_embedded_dlq(target: NotebookTarget, sqs: Any = None) -> str:
    """The embedded DLQ: the live one of a running `pipeline run`, else the last run's state."""
    from pipeline.offline.emulator import persisted_dlq
    from pipeline.offline.stack import running_stack

    settings = target.settings()
    stack = running_stack(settings)
    if stack is not None and stack.dlq_url:
        from pipeline.aws import boto

        depth = dlq_depth(stack.dlq_url, region=stack.region,
                          sqs=sqs or boto.client(stack, "sqs"))
        return _dlq_verdict(depth, f"the running pipeline's DLQ {stack.dlq_url}")
    state = persisted_dlq(settings)
    if state is None:
        return skipped(f"DLQ check: no `pipeline run` has used {settings.warehouse_path} yet, "
                       "so there is no DLQ state to read")
    bodies, where = state
    return _dlq_verdict(len(bodies), f"the DLQ the last run left ({where})")


def _dlq_verdict(depth: int, where: str) -> str:
    if depth:
        raise SmokeCheckError(
            f"DLQ not empty: {depth} message(s) in {where}; these are SQS bodies the "
            "loader could not parse or load after the redrive count. Inspect them, fix the "
            "cause, then redrive or purge"
        )
    return f"DLQ check passed: {where} is empty"
