"""`pipeline`: run the job offline, query the warehouse, and operate a deployment."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import errno
import json
import logging
import os
import signal
import sys
import traceback
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
)

from pipeline import __version__
from pipeline.aws.settings import (
    ENV_DATASET_PATH,
    ENV_LOG_LEVEL,
    ENV_WAREHOUSE_PATH,
    LOAD_QUEUE,
    LOAD_SCHEDULE,
    LOAD_TRIGGERS,
    LOG_LEVELS,
    Settings,
)
from pipeline.core.errors import ConfigError, PipelineError

EPILOG = """\
Settings come from PIPELINE_* environment variables (see README, "Configuration");
command-line options override them.

examples:
  pipeline run --ticks 20 --seed 7          publish 20 samples and load them offline
  pipeline run --follow                     the real schedule: one sample a minute, Ctrl-C stops
  pipeline query "SELECT COUNT(*) FROM scraped.telegram_messages"
  pipeline warehouse init                   create schema, tables and view (idempotent)
  pipeline validate                         run the notebooks as smoke checks, reports in reports/
  pipeline validate --stack-outputs outputs.json   the same against a deployed stack
"""


class UsageError(PipelineError):
    """Options that do not go together or are out of range: exit code 2."""


class SqlError(UsageError):
    """The warehouse refused the SQL the user gave: exit code 2."""


OPERATE_TARGETS = """

Which pipeline: --stack-outputs FILE (a deployed stack), else the PIPELINE_*
settings, else the embedded stack of a running `pipeline run --follow`."""


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line that says where help is (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def at_least(minimum: float, kind: type[int] | type[float] = int) -> Callable[[str], Any]:
    """An argparse type: a number of `kind` no smaller than `minimum`, else a clear message."""
    noun = "a whole number" if kind is int else "a number"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if value < minimum or value != value:  # NaN compares false with everything
            raise argparse.ArgumentTypeError(f"must be {minimum:g} or more, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _table(columns: list[str], rows: list[list[Any]]) -> str:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join([line, rule, *body])


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.offline.run import LOADER_TIMEOUT_S, notes, problems, run

    if args.follow and args.ticks is not None:
        raise UsageError("--follow runs until Ctrl-C; do not combine it with --ticks")
    if args.visibility_timeout < LOADER_TIMEOUT_S:
        raise UsageError(
            f"--visibility-timeout {args.visibility_timeout} is shorter than the loader's "
            f"timeout ({LOADER_TIMEOUT_S:g} s offline): a message would turn visible while it "
            "is being loaded and be counted twice (AWS refuses such a queue for a Lambda "
            f"trigger too); use {LOADER_TIMEOUT_S:g} or more")
    check_dataset(Path(settings.dataset_path))
    if args.follow:
        # Ctrl-C or a plain `kill` ends the schedule; the run then drains and summarises.
        # (SIGINT is set explicitly: a shell starts background jobs with it ignored.)
        signal.signal(signal.SIGINT, _interrupt)
        signal.signal(signal.SIGTERM, _interrupt)
    overrides: dict[str, Any] = {"visibility_timeout_s": args.visibility_timeout}
    if args.log_level is not None:  # else PIPELINE_LOG_LEVEL, else the run's WARNING
        overrides["log_level"] = args.log_level
    elif ENV_LOG_LEVEL not in os.environ:
        overrides["log_level"] = "WARNING"
    if args.seed is not None:
        overrides["seed"] = args.seed
    overrides.update(_event_source_window(args, settings))
    settings = dataclasses.replace(settings, **overrides)
    interval = args.interval if args.interval is not None else (60.0 if args.follow else 1.0)
    summary = run(
        settings,
        tick_count=None if args.follow else (args.ticks if args.ticks is not None else 10),
        interval_s=interval,
        concurrency=args.concurrency,
        **_trigger_arguments(args),
        progress=(lambda _: None) if args.json else _stderr,
    )
    found = problems(summary)
    data = summary.as_dict()
    data["problems"] = found
    if args.json:
        print(json.dumps(data))
    else:
        for key in ("batch_ids", "recovered_batch_ids", "lost", "problems"):
            data.pop(key, None)
        print(_table(["figure", "value"], [[k, v] for k, v in data.items()]))
    for line in notes(summary):
        _stderr(f"pipeline run: note: {line}")
    for line in found:
        _stderr(f"pipeline run: {line}")
    if found:
        _stderr("pipeline run: not every published row is accounted for as loaded or "
                "rejected; see `pipeline status` and docs/reliability.md")
    return FAILURE if found else 0


def check_dataset(path: Path) -> None:
    """Refuse a missing or unreadable dataset before any stack starts, naming what to do."""
    restore = (f"set {ENV_DATASET_PATH} to the dataset zip, or restore the shipped one with "
               "`git checkout data/`")
    if not path.is_file():
        raise UsageError(f"no dataset at {path}: {restore}")
    if path.suffix.lower() == ".zip" and not zipfile.is_zipfile(path):
        raise UsageError(f"{path} is not a readable zip file (truncated or corrupt): {restore}")


def _add_trigger_options(parser: argparse.ArgumentParser, default: str = LOAD_SCHEDULE) -> None:
    """`--trigger` and `--load-every`: which load trigger the offline loader emulates."""
    from pipeline.offline.run import DEFAULT_LOAD_EVERY_S

    parser.add_argument("--trigger", choices=LOAD_TRIGGERS, default=default,
                        help=f"schedule: a drain every --load-every seconds loads what the "
                             f"queue holds in as few COPYs as it can (deployed default); "
                             f"queue: the SQS event source invokes the loader per message "
                             f"batch (default here: {default})")
    parser.add_argument("--load-every", type=_positive_seconds, metavar="SECONDS",
                        help=f"with --trigger schedule: seconds between drains (default "
                             f"{DEFAULT_LOAD_EVERY_S:g}; with --follow 300, the deployed "
                             "pipeline:loadEvery of 5 minutes)")


def _add_window_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batching-window", type=int, metavar="SECONDS",
                        help="with --trigger queue: the event source's maximum batching window "
                             "(default 1 in the accelerated demo; with --follow the "
                             "PIPELINE_BATCHING_WINDOW_S setting, 5); shorter than "
                             "--visibility-timeout, as Lambda requires")


def _event_source_window(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """The window `pipeline run --trigger queue` gathers batches for, checked like Lambda does.

    Lambda keeps a batch's messages in flight for the whole window, so the queue's
    visibility timeout must outlast it, or messages come back mid-window (twice in a batch).
    """
    if args.trigger != LOAD_QUEUE:
        if args.batching_window is not None:
            raise UsageError("--batching-window is the SQS event source's; it needs "
                             "--trigger queue")
        return {}
    window = args.batching_window
    if window is None:  # a default must fit the (short, offline) visibility timeout
        window = settings.batching_window_s if args.follow else 1
        window = min(window, max(0, args.visibility_timeout - 1))
    if not 0 <= window < args.visibility_timeout:
        raise UsageError(f"--batching-window {window} must be at least 0 and shorter than "
                         f"the visibility timeout ({args.visibility_timeout} s); raise "
                         "--visibility-timeout or shorten the window")
    return {"batching_window_s": window}


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text} must be more than 0 and at most 3600 seconds")
    return value


def _trigger_arguments(args: argparse.Namespace) -> dict[str, Any]:
    from pipeline.offline.run import DEFAULT_LOAD_EVERY_S

    if args.load_every is not None and args.trigger != LOAD_SCHEDULE:
        raise UsageError("--load-every sets the drain's period; it needs --trigger schedule")
    follow = getattr(args, "follow", False)
    every = args.load_every or (300.0 if follow else DEFAULT_LOAD_EVERY_S)
    return {"trigger": args.trigger, "load_every_s": every}


def cmd_query(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.analysis import dbapi
    from pipeline.analysis.warehouse import connect

    statement = query_text(args)
    target = args.target or ("redshift" if args.stack_outputs else "local")
    if target == "local" and args.stack_outputs:
        raise UsageError("--stack-outputs names a deployed stack: use it with --target redshift")
    with connect(target=target, settings=settings, stack_outputs=args.stack_outputs) as conn:
        try:
            frame = conn.query(statement)
        except dbapi.OperationalError:  # the warehouse, not the SQL: "error", exit 1
            raise
        except dbapi.DatabaseError as exc:  # the warehouse refused the statement
            raise SqlError(exc.error) from exc
    if args.format == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(frame.to_json(orient="records", date_format="iso", force_ascii=False))
    else:
        rows = frame.astype(object).where(frame.notna(), None).values.tolist()
        print(_table([str(c) for c in frame.columns], rows))
        _stderr(f"({len(frame)} row{'s' if len(frame) != 1 else ''})")
    return 0


def query_text(args: argparse.Namespace) -> str:
    """The statement: the argument, `-f FILE`, or standard input (`-` or a pipe)."""
    if args.sql is not None and args.file is not None:
        raise UsageError("give the SQL as an argument or with -f FILE, not both")
    if args.file is not None:
        try:
            text = args.file.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read -f {args.file}: {exc.strerror or exc}") from None
    elif args.sql == "-" or (args.sql is None and not sys.stdin.isatty()):
        text = sys.stdin.read()
    else:
        text = args.sql or ""
    text = text.strip().rstrip(";").strip()
    if not text:
        raise UsageError("no SQL given: pass it as an argument, with -f FILE, or on stdin")
    return text


def cmd_warehouse_init(args: argparse.Namespace, settings: Settings) -> int:
    if args.target == "local":
        from pipeline.aws import dataapi
        from pipeline.offline.runtime import start_local

        with start_local(settings) as stack:
            dataapi.init_warehouse(dataapi.build(stack.settings), stack.settings)
    else:
        from pipeline import ops
        from pipeline.aws import dataapi
        from pipeline.aws.settings import read_stack_outputs

        if not args.stack_outputs:
            raise ConfigError("warehouse init --target redshift needs --stack-outputs FILE "
                              "(the JSON `cdk deploy --outputs-file` wrote)")
        settings = ops.from_stack_outputs(args.stack_outputs, settings)
        outputs = read_stack_outputs(args.stack_outputs)
        analysts = dataapi.init_redshift(settings, outputs, args.analyst)
        _stderr(f"loader user and analyst role granted; analysts: {', '.join(analysts)}")
    _stderr(f"schema {settings.schema} ready on {args.target}")
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline import ops

    figures = None
    if not (args.stack_outputs or settings.queue_url or ops.running_stack(settings)):
        figures = ops.stopped_status(settings)  # None: nothing ever ran here either
    if figures is None:
        figures = ops.status(ops.resolve(settings, args.stack_outputs))
    if args.json:
        print(json.dumps(figures, default=str))
    else:
        print(_table(["figure", "value"], [[k, v] for k, v in figures.items()]))
    return 0


def cmd_redrive(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline import ops

    result = ops.redrive(ops.resolve(settings, args.stack_outputs), limit=args.limit,
                         progress=_stderr)
    print(json.dumps(dataclasses.asdict(result)) if args.json
          else f"moved {result.moved} message(s) from the DLQ; {result.remaining} remain")
    return 0


def cmd_reload(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline import ops

    result = ops.reload(ops.resolve(settings, args.stack_outputs), args.key)
    print(json.dumps(result) if args.json else _table(
        ["figure", "value"], [[k, v] for k, v in result.items()]))
    return 0


BENCH_KEYS = ("rows", "rows_per_s", "batches_per_s", "latency_p50_s", "latency_p99_s",
              "loader_peak_rss_mb", "publisher_cold_load_s", "publisher_tick_ms",
              "reference_rows_per_s", "ratio", "copies_per_minute")


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.offline.bench import bench

    if args.fast_moto:
        from pipeline.offline.emulator import speed_up_moto

        speed_up_moto()  # this process's moto only; refused on releases it was not written for
    figures = bench(args.rows, seed=args.seed, scrapers=args.scrapers, interval_s=args.interval,
                    batching_window_s=args.batching_window,
                    concurrency=args.concurrency, batch_size=args.batch_size,
                    **_trigger_arguments(args),
                    progress=(lambda _: None) if args.json else _stderr)
    if args.json:
        print(json.dumps(figures))
    else:
        print(_table(["figure", "value"], [[k, figures[k]] for k in figures]))
    return 0


def cost_profile(args: argparse.Namespace) -> Any:
    """The profile `pipeline cost` prices: cdk.json's context, with the flags' overrides."""
    from cdk_app.config import PipelineConfig
    from pipeline.analysis.cost import Profile

    context = _read_context(args.context)
    profile = Profile.of_deployment(PipelineConfig.from_context(context.get))
    flags = {"trigger": args.trigger, "load_every_min": args.load_every,
             "warehouse_mode": args.warehouse_mode, "base_rpu": args.base_rpu,
             "node_type": args.node_type}
    return dataclasses.replace(profile, **{k: v for k, v in flags.items() if v is not None})


def _read_context(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path} does not exist; give the CDK app's cdk.json with "
                            "--context") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path} is not readable JSON: {exc}") from None
    context = data.get("context") if isinstance(data, dict) else None
    if not isinstance(context, dict):
        raise UsageError(f"{path} has no \"context\" object (is it a cdk.json?)")
    return context


def cmd_cost(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.analysis import cost

    prices = cost.load_prices()
    profile = cost_profile(args)
    mine = cost.estimate(profile, prices)
    options = [cost.estimate(p, prices) for p in cost.comparison(profile)]
    if args.json:
        print(json.dumps({**mine.as_dict(),
                          "comparison": [o.as_dict() for o in options]}))
        return 0
    print(f"profile: {mine.profile} ({args.context}; prices {prices['region']}, on demand, "
          f"read {mine.prices_read_on}, pipeline/analysis/prices.json)")
    even = (f"{mine.break_even_busy_h_per_day:g} h busy a day (a load every "
            f"{mine.break_even_load_every_min:g} min)"
            if mine.break_even_load_every_min else
            "n/a" if mine.break_even_busy_h_per_day is None else
            f"{mine.break_even_busy_h_per_day:g} h a day: never, serverless stays cheaper")
    figures = [
        ["COPYs per day", f"{mine.copies_per_day:,.0f}"],
        ["Redshift busy time per day", f"{mine.redshift_busy_h_per_day:g} h"],
        ["worst-case freshness", cost.human_seconds(mine.worst_freshness_s)],
        ["Redshift per month", f"${mine.redshift_usd_per_month:,.2f}"],
        ["Lambda per month", f"${mine.lambda_usd_per_month:,.2f}"],
        ["SQS + S3 per month", f"${mine.sqs_usd_per_month + mine.s3_usd_per_month:,.2f}"],
        ["Secrets Manager, alarms, dashboard", f"${mine.fixed_usd_per_month:,.2f}"],
        ["total per month", f"${mine.total_usd_per_month:,.2f}"],
        ["break-even vs one provisioned node", even],
    ]
    print(_table(["figure", "value"], figures))
    print()
    print(_table(["loading", "Redshift per month", "total per month", "Redshift busy h/day",
                  "COPYs per day", "worst-case freshness"],
                 [[o.profile, f"${o.redshift_usd_per_month:,.0f}",
                   f"${o.total_usd_per_month:,.0f}", f"{o.redshift_busy_h_per_day:g}",
                   f"{o.copies_per_day:,.0f}", cost.human_seconds(o.worst_freshness_s)]
                  for o in options]))
    return 0


def _add_cost_parser(sub: Any) -> None:
    from pipeline.analysis.cost import PROVISIONED, SERVERLESS

    cost = sub.add_parser(
        "cost", help="estimate the monthly AWS bill of a cdk.json profile",
        description="Estimate the deployment's monthly bill (us-east-1 on-demand unit prices "
        "kept in pipeline/analysis/prices.json, with the date read and each source page): "
        "Redshift busy time per day, COPYs per day, worst-case freshness, the break-even "
        "against one provisioned node, and the same for the loading options issue 14 weighs. "
        "Flags override the profile read from cdk.json.",
        epilog="examples:\n  pipeline cost\n  pipeline cost --trigger queue --base-rpu 8\n"
               "  pipeline cost --load-every 15 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cost.add_argument("--context", type=Path, default=Path("cdk.json"), metavar="FILE",
                      help="the CDK app's cdk.json whose pipeline:* context is the profile "
                           "(default ./cdk.json)")
    cost.add_argument("--trigger", choices=LOAD_TRIGGERS, help="load trigger")
    cost.add_argument("--load-every", type=_minutes, metavar="MINUTES",
                      help="with the schedule trigger: minutes between drains")
    cost.add_argument("--warehouse-mode", choices=(SERVERLESS, PROVISIONED))
    cost.add_argument("--base-rpu", type=_rpus, metavar="RPU",
                      help="serverless base capacity (4 or a multiple of 8)")
    cost.add_argument("--node-type", choices=("ra3.large", "ra3.xlplus", "dc2.large"),
                      help="provisioned node type")
    cost.add_argument("--json", action="store_true", help="print one JSON object")
    cost.set_defaults(func=cmd_cost)


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of minutes") from None
    if not 1 <= value <= 1440:
        raise argparse.ArgumentTypeError(f"{text} must be between 1 and 1440 minutes")
    return value


def _rpus(text: str) -> int:
    if not text.isdigit() or not (int(text) == 4 or (int(text) % 8 == 0 and 8 <= int(text)
                                                      <= 1024)):
        raise argparse.ArgumentTypeError(f"{text} must be 4 or a multiple of 8 up to 1024")
    return int(text)


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.analysis.validate import summary_rows, validate

    target = args.target or ("redshift" if args.stack_outputs else "local")
    results = validate(settings, target=target, stack_outputs=args.stack_outputs,
                       reports=args.reports, only=args.notebook or (), progress=_stderr)
    print(_table(["notebook", "status", "seconds", "message"], summary_rows(results)), flush=True)
    failed = [r for r in results if r.failed]
    for r in results:
        if r.status == "skipped":
            _stderr(f"pipeline validate: {r.notebook}: a check could not run: {r.message}")
    for r in failed:
        _stderr(f"pipeline validate: {r.notebook} failed: {r.message}")
    where = args.reports.absolute()
    _stderr(f"reports: {where}" + (f" (see {failed[0].report.name})"
                                   if failed and failed[0].report else ""))
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="pipeline",
        description="Telegram trading-chat ingest: SQS -> S3 -> Redshift, with an offline twin "
        "(moto + DuckDB) that runs the same code.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error (also accepted after the command)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def warehouse_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--warehouse", type=Path, metavar="PATH",
                       help=f"DuckDB warehouse file (default: ${ENV_WAREHOUSE_PATH} "
                            "or var/warehouse.duckdb)")

    run = sub.add_parser(
        "run", help="publish samples and load them on the embedded AWS + DuckDB",
        description="Start the embedded AWS (SQS, S3) and Data API over DuckDB, run the "
        "publisher on a schedule and the loader on the queue, wait for the queue to drain, "
        "and print the accounting summary. The warehouse file persists; a second run appends.",
    )
    run.add_argument("--ticks", type=at_least(0), metavar="N", help="number of scheduler ticks "
                     "(default 10; 0 publishes nothing and only drains what a killed run left)")
    run.add_argument("--interval", type=at_least(0, float), metavar="SECONDS",
                     help="seconds between ticks (default 1, or 60 with --follow; 0 = flat out)")
    run.add_argument("--follow", action="store_true",
                     help="the real rate(1 minute) schedule, until Ctrl-C")
    run.add_argument("--seed", type=int, help="seed for sample sizes, rows and batch ids")
    run.add_argument("--concurrency", type=at_least(1), default=1, metavar="N",
                     help="concurrent loader pollers (the event source's maximum concurrency)")
    run.add_argument("--visibility-timeout", type=at_least(0), default=2, metavar="SECONDS",
                     help="queue visibility timeout offline (default 2, so retries and redrive "
                          "to the DLQ happen within the run; the deployed queue uses 6x the "
                          "loader's timeout)")
    run.add_argument("--log-level", choices=LOG_LEVELS,
                     help=f"JSON logs on stderr at this level (default ${ENV_LOG_LEVEL}, else "
                     "WARNING; INFO traces every batch from publish to load)")
    run.add_argument("--json", action="store_true", help="print one JSON object, no progress")
    _add_trigger_options(run)
    _add_window_option(run)
    warehouse_option(run)
    run.set_defaults(func=cmd_run)

    query = sub.add_parser(
        "query", help="run Redshift SQL on the warehouse and print the result",
        description="Run one Redshift SQL statement through pipeline.analysis.warehouse.connect "
        "(a DB-API connection, pipeline.analysis.dbapi): on the embedded DuckDB file "
        "(translated) or on Redshift.",
    )
    query.add_argument("sql", nargs="?",
                       help="the Redshift SQL to run; `-` (or none, with a pipe) reads stdin")
    query.add_argument("-f", "--file", type=Path, metavar="FILE",
                       help="read the SQL from FILE")
    query.add_argument("--format", choices=("table", "csv", "json"), default="table")
    query.add_argument("--target", choices=("local", "redshift"),
                       help="warehouse to query (default: redshift with --stack-outputs, "
                            "else local)")
    query.add_argument("--stack-outputs", type=Path, metavar="FILE",
                       help="the JSON `cdk deploy --outputs-file` wrote: the workgroup or "
                            "cluster, database and region to query through the Data API")
    warehouse_option(query)
    query.set_defaults(func=cmd_query)

    warehouse = sub.add_parser("warehouse", help="manage the warehouse schema")
    wsub = warehouse.add_subparsers(dest="action", required=True, metavar="ACTION")
    init = wsub.add_parser("init", help="create schema, tables and view (idempotent)")
    init.add_argument("--target", choices=("local", "redshift"), default="local")
    init.add_argument("--stack-outputs", type=Path, metavar="FILE",
                      help="with --target redshift: the JSON `cdk deploy --outputs-file` wrote")
    init.add_argument("--analyst", action="append", default=[], metavar="IAM:USER|IAMR:ROLE",
                      help="also map this IAM identity to the read-only analyst role "
                           "(repeatable; the caller's own identity always is)")
    warehouse_option(init)
    init.set_defaults(func=cmd_warehouse_init)

    def operate(name: str, help_: str, description: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=description + OPERATE_TARGETS,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--stack-outputs", type=Path, metavar="FILE",
                       help="a deployed stack: the JSON written by `cdk deploy --outputs-file`")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        warehouse_option(p)
        return p

    status = operate("status", "queue and DLQ depth, staged and rejected objects, last load",
                     "Show queue depth, DLQ depth, the oldest message's age, staged objects not "
                     "yet loaded, rejected counts and the last load time.")
    status.set_defaults(func=cmd_status)
    redrive = operate("redrive", "move DLQ messages back to the source queue",
                      "Move dead-lettered messages back to the source queue unchanged, and "
                      "report how many moved. Safe to repeat: loads are exactly-once per part.")
    redrive.add_argument("--limit", type=at_least(1), metavar="N",
                         help="move at most N messages")
    redrive.set_defaults(func=cmd_redrive)
    reload = operate("reload", "load one staged or processed object again (idempotent)",
                     "Load a staged object (incoming/...) or an archived one (processed/...) "
                     "again. Parts already in the ledger are skipped, so this never duplicates.")
    reload.add_argument("--key", required=True,
                        help="the object key, e.g. incoming/2026/11/25/<name>.rows.ndjson.gz")
    reload.set_defaults(func=cmd_reload)

    bench = sub.add_parser(
        "bench", help="benchmark the local pipeline end to end",
        description="Run the whole local pipeline flat out over a fixed seeded workload and "
        "print rows/s, latency, loader peak RSS, publisher timings and the ratio to plain "
        "DuckDB ingesting the same staged files (measured in the same run: the median of "
        "three ingests). The machine's noise moves single runs: compare medians of several. "
        "docs/benchmarks.md explains every figure and the targets.",
        epilog="example: pipeline bench --rows 100000 --json",
    )
    bench.add_argument("--rows", type=at_least(1), default=200_000, metavar="N",
                       help="rows to publish (default 200,000)")
    bench.add_argument("--seed", type=int, default=42,
                       help="seed for sample sizes, rows and batch ids (default 42)")
    bench.add_argument("--scrapers", type=at_least(1), default=1, metavar="K",
                       help="publishers per tick: input grows, COPYs per minute should not")
    bench.add_argument("--interval", type=at_least(0, float), default=0.0, metavar="SECONDS",
                       help="seconds between ticks (default 0: flat out); with --scrapers, "
                            "shows COPYs per minute staying bounded as input grows")
    bench.add_argument("--batching-window", type=at_least(0), default=0, metavar="SECONDS",
                       help="the event source's maximum batching window (default 0: load "
                            "as soon as messages arrive; deployed default 5)")
    bench.add_argument("--concurrency", type=at_least(1), default=2, metavar="N",
                       help="loader processes, like the event source's maximum concurrency "
                            "(default 2, the deployed default)")
    bench.add_argument("--batch-size", type=at_least(1), default=100, metavar="N",
                       help="SQS messages per loader invocation, capped by Lambda's 6 MB "
                            "payload (default 100, the deployed default)")
    bench.add_argument("--fast-moto", action="store_true",
                       help="replace four of moto's private per-request costs (moto "
                            "releases they were written for only; docs/benchmarks.md shows "
                            "what they save): the figures then measure less of the emulator")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    _add_trigger_options(bench, default=LOAD_QUEUE)
    bench.set_defaults(func=cmd_bench)

    _add_cost_parser(sub)

    validate = sub.add_parser(
        "validate", help="run the notebooks with papermill as smoke checks; write reports",
        description="Execute every notebook in notebooks/ with papermill against the warehouse "
        "(the local DuckDB file or a deployed Redshift), write the executed notebooks and HTML "
        "reports, print a pass/fail table, and exit non-zero if any notebook fails.",
    )
    validate.add_argument("--target", choices=("local", "redshift"),
                          help="warehouse to check (default: redshift with --stack-outputs, "
                               "else local)")
    warehouse_option(validate)
    validate.add_argument("--stack-outputs", type=Path, metavar="FILE",
                          help="the JSON `cdk deploy --outputs-file` wrote: workgroup or "
                               "cluster, database, region and DLQ to check")
    validate.add_argument("--reports", type=Path, default=Path("reports"), metavar="DIR",
                          help="where executed notebooks and HTML reports go (default reports/)")
    validate.add_argument("--notebook", action="append", metavar="NAME",
                          help="run only notebooks whose file name contains NAME (repeatable)")
    validate.set_defaults(func=cmd_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted anywhere, so `pipeline query ... --debug` works too
    args = parser.parse_args([a for a in argv if a != "--debug"])
    args.debug = debug
    try:
        overrides = {"warehouse_path": getattr(args, "warehouse", None)}
        settings = Settings.from_env(**overrides)
        # Every command logs as the Lambdas do (JSON lines on stderr), warnings and up
        # unless PIPELINE_LOG_LEVEL says otherwise; results and progress stay plain text.
        from pipeline.app import logs

        logs.configure(settings.log_level if ENV_LOG_LEVEL in os.environ else "WARNING")
        return int(args.func(args, settings))
    except KeyboardInterrupt:
        # A notebook's kernel dies with the interrupt; asyncio would report its unawaited
        # execution task with a traceback at exit. The interruption is the whole story.
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        _stderr(f"pipeline {args.command}: interrupted")
        return 130
    except Exception as exc:  # every failure ends in one line; --debug shows the traceback
        if getattr(args, "debug", False):
            traceback.print_exc()
        code, line = describe_error(exc)
        _stderr(f"pipeline {args.command}: {line}")
        return code


# Exit codes: 2 for what the user typed or configured, 1 for a failure of the run itself.
USAGE, FAILURE = 2, 1
DEBUG_HINT = " (run with --debug for the traceback)"


def describe_error(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one line a user sees for an exception: cause, and what to do."""
    from pipeline.core.errors import ConfigError, WarehouseError

    text = _one_line(str(exc))
    if isinstance(exc, SqlError) or _is_translate_error(exc):
        return USAGE, f"SQL error: {text}"
    if isinstance(exc, (ConfigError, UsageError)):
        return USAGE, f"error: {text}"
    if isinstance(exc, WarehouseError):
        return FAILURE, f"warehouse error: {text}"
    if isinstance(exc, PipelineError):
        return FAILURE, f"error: {text}"
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return USAGE, ("error: no AWS credentials: configure a profile (`aws configure`) or set "
                       "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or use --target local")
    if isinstance(exc, EndpointConnectionError):
        return FAILURE, (f"error: cannot reach {exc.kwargs.get('endpoint_url', 'the endpoint')}: "
                         "is the pipeline running? (`pipeline status` names what is)")
    if isinstance(exc, (BotoCoreError, ClientError)):
        return FAILURE, f"AWS error: {text}"
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "No space left" in text:
        return FAILURE, ("error: the disk is full" + (f" (writing {exc.filename})"
                                                     if getattr(exc, "filename", None) else "")
                         + ": free some space and run again; what the queue accepted is "
                         "journaled and is put back by the next run")
    duck = _duckdb_error(exc)
    if duck is not None:
        return duck
    if isinstance(exc, zipfile.BadZipFile):
        return USAGE, (f"error: the dataset is not a readable zip file ({text}): replace it with "
                       "the original, or restore it with `git checkout data/`")
    if isinstance(exc, FileNotFoundError):
        return USAGE, f"error: no such file: {exc.filename or text}: check the path you gave"
    if isinstance(exc, OSError) and exc.filename:
        return FAILURE, (f"error: cannot use {exc.filename}: {exc.strerror or text}: point "
                         f"--warehouse ({ENV_WAREHOUSE_PATH}) at a writable directory")
    if isinstance(exc, OSError):
        return FAILURE, f"error: {text}" + DEBUG_HINT
    if isinstance(exc, csv.Error):
        return USAGE, (f"error: the dataset is not readable CSV ({text}): set "
                       f"{ENV_DATASET_PATH} to the dataset zip")
    if isinstance(exc, ValueError):  # the dataset reader's messages name file, line, column
        return USAGE, f"error: {text}"
    return FAILURE, f"unexpected error: {type(exc).__name__}: {text}" + DEBUG_HINT


def _is_translate_error(exc: BaseException) -> bool:
    """The embedded warehouse refused the SQL (a syntax error, an unsupported construct)."""
    translate = sys.modules.get("pipeline.offline.warehouse.translate")
    return translate is not None and isinstance(
        exc, translate.RedshiftSqlError | translate.UnsupportedSqlError)


def _duckdb_error(exc: BaseException) -> tuple[int, str] | None:
    """DuckDB's own errors, when duckdb is what raised (it is imported only if in use)."""
    duckdb = sys.modules.get("duckdb")
    if duckdb is None or not isinstance(exc, duckdb.Error):
        return None
    text = _one_line(str(exc))
    if isinstance(exc, duckdb.IOException) and "lock" in text.lower():
        return FAILURE, ("error: the warehouse file is locked by another process "
                         f"({text}): stop it, or query through the running pipeline")
    if isinstance(exc, duckdb.IOException):
        return FAILURE, (f"error: cannot open the warehouse ({text}): check the path and its "
                         "permissions, or move a corrupt file aside and `pipeline run` again")
    if isinstance(exc, duckdb.CatalogException | duckdb.BinderException |
                  duckdb.ParserException):
        return USAGE, f"SQL error: {text}"
    return FAILURE, f"warehouse error: {text}"


def _one_line(text: str, limit: int = 400) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


if __name__ == "__main__":
    sys.exit(main())
