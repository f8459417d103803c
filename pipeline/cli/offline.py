"""The offline twin's commands: `pipeline run` and `pipeline bench`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import zipfile
from pathlib import Path
from typing import Any

from pipeline.aws.settings import (
    DEPLOYED_LOAD_EVERY_MIN,
    DEPLOYED_MAX_CONCURRENCY,
    ENV_BATCH_SIZE,
    ENV_BATCHING_WINDOW_S,
    ENV_DATASET_PATH,
    ENV_LOG_LEVEL,
    LOAD_QUEUE,
    LOAD_SCHEDULE,
    LOAD_TRIGGERS,
    LOG_LEVELS,
    MAX_BATCH_SIZE_WITHOUT_WINDOW,
    Settings,
    batching_refusal,
)
from pipeline.cli.common import (
    FAILURE,
    UsageError,
    at_least,
    interrupt,
    positive_seconds,
    stderr,
    table,
    warehouse_option,
)

# `--follow` keeps the deployed drain's period (cdk.json pipeline:loadEvery, in minutes).
FOLLOW_LOAD_EVERY_S = 60.0 * DEPLOYED_LOAD_EVERY_MIN


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
        signal.signal(signal.SIGINT, interrupt)
        signal.signal(signal.SIGTERM, interrupt)
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
        progress=(lambda _: None) if args.json else stderr,
    )
    found = problems(summary)
    data = summary.as_dict()
    data["problems"] = found
    if args.json:
        print(json.dumps(data))
    else:
        for key in ("batch_ids", "recovered_batch_ids", "lost", "problems"):
            data.pop(key, None)
        print(table(["figure", "value"], [[k, v] for k, v in data.items()]))
    for line in notes(summary):
        stderr(f"pipeline run: note: {line}")
    for line in found:
        stderr(f"pipeline run: {line}")
    if found:
        stderr("pipeline run: not every published row is accounted for as loaded or "
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
    parser.add_argument("--load-every", type=positive_seconds, metavar="SECONDS",
                        help=f"with --trigger schedule: seconds between drains (default "
                             f"{DEFAULT_LOAD_EVERY_S:g}; with --follow {FOLLOW_LOAD_EVERY_S:g}, "
                             f"the deployed pipeline:loadEvery of {DEPLOYED_LOAD_EVERY_MIN} "
                             "minutes)")


def _add_window_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batching-window", type=int, metavar="SECONDS",
                        help="with --trigger queue: the event source's maximum batching window "
                             "(default 1 in the accelerated demo; with --follow the "
                             f"{ENV_BATCHING_WINDOW_S} setting, {Settings.batching_window_s}); "
                             "shorter than --visibility-timeout, as Lambda requires")


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
    refusal = batching_refusal(settings.batch_size, window)
    if refusal:
        raise UsageError(f"--batching-window {window}: {refusal}; give a window of 1 or more, "
                         f"or set {ENV_BATCH_SIZE}={MAX_BATCH_SIZE_WITHOUT_WINDOW}")
    return {"batching_window_s": window}


def _trigger_arguments(args: argparse.Namespace) -> dict[str, Any]:
    from pipeline.offline.run import DEFAULT_LOAD_EVERY_S

    if args.load_every is not None and args.trigger != LOAD_SCHEDULE:
        raise UsageError("--load-every sets the drain's period; it needs --trigger schedule")
    follow = getattr(args, "follow", False)
    every = args.load_every or (FOLLOW_LOAD_EVERY_S if follow else DEFAULT_LOAD_EVERY_S)
    return {"trigger": args.trigger, "load_every_s": every}


BENCH_KEYS = ("rows", "rows_per_s", "batches_per_s", "latency_p50_s", "latency_p99_s",
              "loader_peak_rss_mb", "publisher_cold_load_s", "publisher_tick_ms",
              "reference_rows_per_s", "ratio", "copies_per_minute")


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.offline.bench import bench

    if args.fast_moto:
        from pipeline.offline.emulator import speed_up_moto

        speed_up_moto()  # this process's moto only; refused on releases it was not written for
    batch_size = args.batch_size
    if batch_size is None:
        batch_size = (Settings.batch_size if args.batching_window >= 1
                      else MAX_BATCH_SIZE_WITHOUT_WINDOW)
    refusal = batching_refusal(batch_size, args.batching_window)
    if refusal:
        raise UsageError(f"--batch-size {batch_size} with --batching-window "
                         f"{args.batching_window}: {refusal}")
    figures = bench(args.rows, seed=args.seed, scrapers=args.scrapers, interval_s=args.interval,
                    batching_window_s=args.batching_window,
                    concurrency=args.concurrency, batch_size=batch_size,
                    **_trigger_arguments(args),
                    progress=(lambda _: None) if args.json else stderr)
    if args.json:
        print(json.dumps(figures))
    else:
        print(table(["figure", "value"], [[k, figures[k]] for k in figures]))
    return 0


def add_parsers(sub: Any) -> None:
    """`run` and `bench`."""
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
                            f"as soon as messages arrive; deployed default "
                            f"{Settings.batching_window_s})")
    bench.add_argument("--concurrency", type=at_least(1), default=DEPLOYED_MAX_CONCURRENCY,
                       metavar="N",
                       help="loader processes, like the event source's maximum concurrency "
                            f"(default {DEPLOYED_MAX_CONCURRENCY}, the deployed default)")
    bench.add_argument("--batch-size", type=at_least(1), metavar="N",
                       help="SQS messages per loader invocation, capped by Lambda's 6 MB "
                            f"payload (default {MAX_BATCH_SIZE_WITHOUT_WINDOW} without a "
                            f"batching window, the most Lambda allows; else "
                            f"{Settings.batch_size}, the deployed default)")
    bench.add_argument("--fast-moto", action="store_true",
                       help="replace four of moto's private per-request costs (moto "
                            "releases they were written for only; docs/benchmarks.md shows "
                            "what they save): the figures then measure less of the emulator")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    _add_trigger_options(bench, default=LOAD_QUEUE)
    bench.set_defaults(func=cmd_bench)
