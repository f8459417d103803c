"""`pipeline bench`: the local pipeline at full speed over a fixed seeded workload.

The loader runs in a child process so its peak RSS is its own, not the
emulator's or the warehouse's. The reference is plain DuckDB ingesting the
same staged NDJSON files one by one, measured in the same run, so the ratio
is comparable across noisy machines.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.aws import boto
from pipeline.aws.s3 import ObjectStore
from pipeline.aws.settings import (
    ENV_FIELDS,
    LOAD_QUEUE,
    LOAD_SCHEDULE,
    MAX_BATCH_SIZE_WITHOUT_WINDOW,
    Settings,
)
from pipeline.aws.sqs import SqsQueue
from pipeline.core import staging
from pipeline.core.envelope import parse_time
from pipeline.offline.run import percentile

Progress = Callable[[str], None]
TICK_SAMPLES = 30
REFERENCE_REPEATS = 3
LEDGER_POLL_MAX_S = 1.0  # a backstop: an invocation's notice normally comes first
SAMPLE_EVERY_S = 0.05  # CpuSampler's period


def tick_ms(dataset: Any, settings: Settings, seed: int) -> float:
    """Median wall time of one publisher tick drawing exactly 1,000 rows, send included."""
    import random

    from pipeline.app.publisher import publish_tick

    fixed = dataclasses.replace(settings, sample_min=1000, sample_max=1000)
    assert fixed.queue_url
    sqs = boto.client(fixed, "sqs")
    queue = SqsQueue(sqs, fixed.queue_url)
    rng = random.Random(seed)
    times = []
    for _ in range(TICK_SAMPLES):
        started = time.perf_counter()
        publish_tick(dataset, queue, fixed, rng, datetime.now(UTC))
        times.append(time.perf_counter() - started)
    sqs.purge_queue(QueueUrl=fixed.queue_url)
    return statistics.median(times) * 1000


def cpu_s() -> float:
    """User + system CPU seconds this process has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return round(usage.ru_utime + usage.ru_stime, 2)


def per_row_us(cpu: dict[str, float], rows: int) -> dict[str, float]:
    """Each process's CPU seconds per row, in microseconds (none for a run of no rows)."""
    return {name: round(seconds / rows * 1e6, 1) for name, seconds in cpu.items()} if rows else {}


class CpuSampler:
    """The CPU seconds of the bench's processes, sampled in a thread, read back at any instant.

    The measured span starts inside the publisher process (its first send), so the other
    processes' CPU at that instant is interpolated between the samples around it: the
    loaders and the Data API sit idle until the first message, so the error is small, and
    their whole-life `cpu_s` also counts their warm-up and the Data API's closing checkpoint,
    which are not work done per row. Reading /proc for a few processes every
    `SAMPLE_EVERY_S` costs well under 1% of one core (counted in `emulator_and_bench`).
    """

    def __init__(self, pids: dict[str, list[int]]) -> None:
        import psutil

        self._processes = {label: [psutil.Process(pid) for pid in group]
                           for label, group in pids.items()}
        self._samples: list[tuple[float, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)

    def start(self) -> CpuSampler:
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> dict[str, float]:
        """Every label's CPU seconds now (user + system, summed over its processes)."""
        now = time.time()
        cpu = {label: sum(sum(p.cpu_times()[:2]) for p in group)
               for label, group in self._processes.items()}
        self._samples.append((now, cpu))
        return cpu

    def at(self, epoch: float) -> dict[str, float]:
        """Every label's CPU seconds at `epoch`, interpolated between the samples around it."""
        before = max((s for s in self._samples if s[0] <= epoch), default=self._samples[0],
                     key=lambda s: s[0])
        after = min((s for s in self._samples if s[0] >= epoch), default=self._samples[-1],
                    key=lambda s: s[0])
        if after[0] == before[0]:
            return dict(before[1])
        share = (epoch - before[0]) / (after[0] - before[0])
        return {label: before[1][label] + share * (after[1][label] - before[1][label])
                for label in before[1]}

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self.sample()


def start_child(settings: Settings, role: str, report: Path, *args: object,
                notices: threading.Event | None = None) -> subprocess.Popen[str]:
    """A publisher or loader in its own process, as each is its own Lambda in AWS.

    Its logs go to our stderr (an unread pipe would fill and stall it); its
    figures come back in the `report` file. With `notices`, every line the child
    prints sets that event (a loader prints one per finished invocation).
    """
    env = {k: v for k, v in os.environ.items() if k not in ENV_FIELDS}
    env.update(settings.to_env())
    child = subprocess.Popen(
        [sys.executable, "-m", "pipeline.offline.bench", role, str(report), *map(str, args)],
        stdin=subprocess.PIPE, stdout=sys.stderr if notices is None else subprocess.PIPE,
        text=True, env=env,
    )
    if notices is not None:
        def relay(stream: Any = child.stdout, event: threading.Event = notices) -> None:
            for _ in stream:
                event.set()

        threading.Thread(target=relay, name=f"{role}-notices", daemon=True).start()
    return child


def loader_child(report: Path, load_every_ms: int = 0) -> None:
    """Load until stdin closes; print a line per invocation; write the figures.

    The child is a Lambda process: its settings come from its environment and it calls
    the Lambda entry points (`queue`: the loader behind an SQS event source; with
    `load_every_ms`, `schedule`: the drain every that many milliseconds).
    """
    from pipeline.lambdas import drain, loader
    from pipeline.offline.runtime import DrainSchedule, Pollers, event_source

    settings = Settings.from_env()
    def notice(_: object) -> None:
        print("invoked", flush=True)

    # A warm container: its clients built and the schema checked before the first
    # message, as Lambda's init phase would (a cold start is per container, not per row).
    (drain if load_every_ms else loader).lambda_dependencies()
    runner: Pollers | DrainSchedule
    if load_every_ms:
        runner = DrainSchedule(drain.handler, settings, every_s=load_every_ms / 1000,
                               on_invocation=notice).start()
    else:
        runner = Pollers(event_source(settings, loader.handler), concurrency=1,
                         on_invocation=notice).start()
    sys.stdin.read()
    runner.stop()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report.write_text(json.dumps({
        "invocations": len(runner.invocations),
        "records": sum(i.records for i in runner.invocations),
        "failed": sum(i.failed for i in runner.invocations),
        "errors": [i.error for i in runner.invocations if i.error][:5],
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "cpu_s": cpu_s(),
    }))


def dataapi_child(report: Path) -> None:
    """Serve the embedded Data API until stdin closes; write its endpoint to `report`.

    In AWS the warehouse is not in the queue's process either: apart, DuckDB and
    the HTTP handling do not share one interpreter lock with the emulated SQS/S3.
    """
    from pipeline.offline.warehouse import EmbeddedDataApi

    settings = Settings.from_env()
    with EmbeddedDataApi.start(settings.warehouse_path, settings) as api:
        api.connect_s3()
        report.write_text(json.dumps({"endpoint_url": api.endpoint_url}))
        sys.stdin.read()
    report.with_suffix(".cpu").write_text(str(cpu_s()))


def start_dataapi(settings: Settings, workdir: Path) -> tuple[subprocess.Popen[str], Settings]:
    report = workdir / "dataapi.json"
    child = start_child(settings, "dataapi", report)
    deadline = time.monotonic() + 60
    while not report.exists() or not report.read_text():
        if child.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the embedded Data API process did not start")
        time.sleep(0.05)
    endpoint = json.loads(report.read_text())["endpoint_url"]
    return child, dataclasses.replace(settings, data_api_endpoint_url=endpoint)


def publisher_child(report: Path, rows: int, scrapers: int, seed: int, interval_ms: int) -> None:
    """Publish until `rows` rows, `scrapers` samples per tick, a tick every `interval_ms`
    (0: flat out); write the figures."""
    import random

    from pipeline.app.publisher import publish_tick
    from pipeline.core.dataset import load_dataset

    settings = Settings.from_env()
    dataset = load_dataset(settings.dataset_path)
    assert settings.queue_url, "the bench's environment names its queue"
    queue = SqsQueue(boto.client(settings, "sqs"), settings.queue_url)
    rng = random.Random(seed)
    published = ticks = 0
    first = time.time()
    cpu_at_first = cpu_s()
    while published < rows:
        for _ in range(scrapers):
            published += publish_tick(dataset, queue, settings, rng, datetime.now(UTC)).rows
        ticks += 1
        pause = first + ticks * interval_ms / 1000 - time.time()
        if pause > 0:
            time.sleep(pause)
    report.write_text(json.dumps({"published": published, "ticks": ticks,
                                  "first_publish_epoch": first,
                                  "publish_s": time.time() - first, "cpu_s": cpu_s(),
                                  "cpu_s_at_first_publish": cpu_at_first}))


def reference_rows_per_s(store: ObjectStore, workdir: Path) -> tuple[list[float], int]:
    """Plain DuckDB ingesting the run's staged NDJSON files one by one (downloads untimed).

    Returns the rate of each of REFERENCE_REPEATS ingests (the figure is their
    median: one ingest lasts a few seconds, and on a shared machine a single one
    swung by half) and the number of files.
    """
    import duckdb

    from pipeline.aws.sql import MESSAGE_COLUMNS

    files = []
    for obj in store.list(staging.PROCESSED):
        if obj["Key"].endswith(staging.ROWS_SUFFIX):
            path = workdir / obj["Key"].replace("/", "_")
            path.write_bytes(store.get(obj["Key"]))
            files.append(path)
    types = {c.name: ("JSON" if c.type == "SUPER" else
                      "VARCHAR" if c.type.startswith("VARCHAR") else c.type)
             for c in MESSAGE_COLUMNS}
    cols = ", ".join(f"{n} {('VARIANT' if t == 'JSON' else t)}" for n, t in types.items())
    spec = "{" + ", ".join(f"'{n}': '{t}'" for n, t in types.items()) + "}"
    select = ", ".join(f"{n}::VARIANT" if t == "JSON" else n for n, t in types.items())
    rates = []
    for repeat in range(REFERENCE_REPEATS):
        # A fresh database file each time, as the run's warehouse was: replacing a table
        # in the same file measured 10-20% slower on every repeat.
        con = duckdb.connect(str(workdir / f"reference-{repeat}.duckdb"))
        con.execute(f"CREATE TABLE t ({cols})")
        started = time.perf_counter()
        try:
            for path in files:
                con.execute(f"INSERT INTO t SELECT {select} FROM read_json('{path}', "
                            f"format='newline_delimited', columns={spec})")
        except RuntimeError as exc:
            # DuckDB turns Ctrl-C during its own query into "Query interrupted".
            if "interrupted" in str(exc).lower():
                raise KeyboardInterrupt from exc
            raise
        elapsed = time.perf_counter() - started
        (rows,) = con.execute("SELECT COUNT(*) FROM t").fetchone() or (0,)
        con.close()
        rates.append(rows / elapsed)
    return rates, len(files)


def bench(
    rows: int = 200_000,
    *,
    seed: int = 42,
    scrapers: int = 1,
    interval_s: float = 0.0,
    batching_window_s: int = 0,
    concurrency: int = 2,
    batch_size: int = MAX_BATCH_SIZE_WITHOUT_WINDOW,
    trigger: str = LOAD_QUEUE,
    load_every_s: float = 5.0,
    progress: Progress = lambda _: None,
) -> dict[str, Any]:
    """Run the workload and return the figures (see docs/benchmarks.md for their meaning)."""
    from pipeline.aws import dataapi, sql
    from pipeline.core.dataset import load_dataset
    from pipeline.offline.emulator import start_emulator

    started = time.perf_counter()
    dataset = load_dataset(Settings().dataset_path)
    cold_load_s = time.perf_counter() - started

    with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as tmp:
        workdir = Path(tmp)
        settings = Settings(warehouse_path=workdir / "warehouse.duckdb", seed=seed,
                            batch_size=batch_size, batching_window_s=batching_window_s,
                            visibility_timeout_s=60,
                            log_level="WARNING")
        with start_emulator(settings) as emulator:
            server, local = start_dataapi(emulator.settings, workdir)
            warehouse = dataapi.build(local)
            warehouse.ensure_schema()
            progress("measuring publisher ticks ...")
            tick = tick_ms(dataset, local, seed)
            # The schedule trigger's drain runs one at a time (reserved concurrency 1).
            every_ms = round(load_every_s * 1000) if trigger == LOAD_SCHEDULE else 0
            loader_count = 1 if every_ms else concurrency
            reports = [workdir / f"loader-{i}.json" for i in range(loader_count)]
            invoked = threading.Event()
            loaders = [start_child(local, "loader", report, every_ms, notices=invoked)
                       for report in reports]
            # Each process's CPU over the measured span alone: this one also ran the tick
            # measurement (30,000 rows through the emulator) and the cold load.
            sampler = CpuSampler({"emulator_and_bench": [os.getpid()],
                                  "loaders": [child.pid for child in loaders],
                                  "data_api": [server.pid]}).start()
            progress(f"publishing {rows:,} rows with {scrapers} scraper(s) per tick ...")
            published_report = workdir / "publisher.json"
            publisher = start_child(local, "publisher", published_report, rows, scrapers, seed,
                                    round(interval_s * 1000))
            publisher.communicate("")
            if publisher.returncode:
                raise RuntimeError(f"the publisher process failed ({publisher.returncode})")
            publishing = json.loads(published_report.read_text())
            published = publishing["published"]
            progress(f"published {published:,} rows in {publishing['publish_s']:.1f} s; "
                     "waiting until all are queryable ...")
            ledger_sql = sql.render_ledger_lookup(local.schema)
            # The ledger is asked once per finished invocation, not on a timer: each
            # question costs CPU that the loaders and the Data API would otherwise use.
            while True:
                invoked.clear()
                result = warehouse.query(ledger_sql)
                done = (result.rows[0][1] + result.rows[0][2]) if result else 0
                if done >= published:
                    break
                if any(child.poll() is not None for child in loaders):
                    raise RuntimeError("a loader process exited early")
                invoked.wait(LEDGER_POLL_MAX_S)
            sampler.stop()  # first, so the last sample is the only one taken at the end
            at_end = sampler.sample()
            elapsed = time.time() - publishing["first_publish_epoch"]
            at_start = sampler.at(publishing["first_publish_epoch"])
            in_span = {label: round(at_end[label] - at_start[label], 2) for label in at_end}
            in_span["publisher"] = round(
                publishing["cpu_s"] - publishing["cpu_s_at_first_publish"], 2)
            for child in loaders:
                child.communicate("")
            figures = [json.loads(report.read_text()) for report in reports]
            ledger = warehouse.query(
                "SELECT object_key, published_at, loaded_at FROM "
                f"{sql.qualified(local.schema, sql.LEDGER_TABLE)}"
            )
            assert ledger
            loads = len({r[0] for r in ledger.rows})
            latencies = sorted((parse_time(r[2]) - parse_time(r[1])).total_seconds()
                               for r in ledger.rows)
            server.communicate("")
            cpu = {
                "emulator_and_bench": cpu_s(),
                "publisher": publishing["cpu_s"],
                "loaders": round(sum(f["cpu_s"] for f in figures), 2),
                "data_api": float((workdir / "dataapi.cpu").read_text()),
            }
            progress("measuring the plain-DuckDB reference on the same staged files ...")
            store = ObjectStore(boto.client(local, "s3"), local.bucket)
            references, files = reference_rows_per_s(store, workdir)
    reference = statistics.median(references)
    rows_per_s = published / elapsed
    batches_per_s = loads / elapsed
    return {
        "rows": published,
        "rows_per_s": round(rows_per_s, 1),
        "batches_per_s": round(batches_per_s, 2),
        "latency_p50_s": round(percentile(latencies, 0.50) or 0.0, 3),
        "latency_p99_s": round(percentile(latencies, 0.99) or 0.0, 3),
        "loader_peak_rss_mb": max(f["peak_rss_mb"] for f in figures),
        "publisher_cold_load_s": round(cold_load_s, 3),
        "publisher_tick_ms": round(tick, 2),
        "reference_rows_per_s": round(reference, 1),
        "reference_runs_rows_per_s": [round(r, 1) for r in references],
        "ratio": round(rows_per_s / reference, 3),
        "copies_per_minute": round(batches_per_s * 60, 1),
        "rows_per_copy": round(published / loads, 1) if loads else None,
        "trigger": trigger,
        "load_every_s": load_every_s if trigger == LOAD_SCHEDULE else None,
        "loads": loads,
        "staged_files": files,
        "loader_invocations": sum(f["invocations"] for f in figures),
        "scrapers": scrapers,
        "interval_s": interval_s,
        "batching_window_s": batching_window_s,
        "ticks": publishing["ticks"],
        "batch_size": batch_size,
        "concurrency": loader_count,
        "elapsed_s": round(elapsed, 2),
        "cpu_s": cpu,
        "cpu_s_in_span": {name: in_span[name] for name in cpu},
        "cpu_us_per_row_in_span": per_row_us({name: in_span[name] for name in cpu}, published),
        "cores_busy_in_span": round(sum(in_span.values()) / elapsed, 2),
        "cpu_us_per_row": per_row_us(cpu, published),
        # The figures above are rounded for display; a short run's 0.255 batches/s shown
        # as 0.26 is 2% off, so whoever checks one figure against another reads these.
        "unrounded": {"elapsed_s": elapsed, "rows_per_s": rows_per_s,
                      "batches_per_s": batches_per_s, "copies_per_minute": batches_per_s * 60,
                      "reference_rows_per_s": reference, "ratio": rows_per_s / reference},
    }


def child_main(argv: list[str]) -> int:
    """A bench child process. Ctrl-C reaches the whole process group: the parent says
    "interrupted" and stops the children, so a child ends quietly, with no traceback."""
    try:
        if argv[0] == "loader":
            loader_child(Path(argv[1]), int(argv[2]))
        elif argv[0] == "dataapi":
            dataapi_child(Path(argv[1]))
        elif argv[0] == "publisher":
            publisher_child(Path(argv[1]), *map(int, argv[2:6]))
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
