"""`pipeline cost`: the monthly bill of a deployment profile, from the unit prices in prices.json.

The model is small on purpose, and every assumption is a named constant here:

- Redshift Serverless bills the base capacity for every second a query runs, at
  least 60 s per query (`redshift_serverless_min_charge_s`). The pipeline's queries
  are its COPY transactions (a few seconds each), so each one bills the minimum,
  and loads closer together than that minimum keep the workgroup billed around the
  clock. Busy time per day is therefore min(24 h, COPYs per day x 60 s).
- A provisioned node bills every hour, loaded or not.
- Analysts' own queries come on top and are not modelled (the workgroup's max
  capacity and RPU-hours usage limit bound them).

The `queue` trigger loads once per message that arrives alone within the batching
window (one per publisher tick at the default input); the `schedule` trigger loads
once per drain (`loadEvery`), whatever arrived in between.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from pipeline.aws.settings import LOAD_QUEUE as QUEUE
from pipeline.aws.settings import LOAD_SCHEDULE as SCHEDULE

PRICES_PATH = Path(__file__).with_name("prices.json")
SERVERLESS = "serverless"
PROVISIONED = "provisioned"

HOURS_PER_MONTH = 730.0  # AWS's pricing pages use 730 hours a month
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
SECONDS_PER_DAY = 86_400
# One load end to end (stage, COPY transaction through the Data API, archive): seconds,
# so under the 60 s minimum charge. It adds to the worst-case freshness.
LOAD_S = 5.0
# Lambda durations (GB-seconds per invocation at the profiles' 1 GB): a publisher tick
# reads and sends a sample; a loader or drain waits on its load.
PUBLISHER_S = 1.0
# SQS bills each 64 KB chunk of a request as one request; a ~500-row sample is ~85 KB as a
# version 2 envelope (~170 bytes a row; ~140 KB as version 1, three chunks).
SQS_CHUNKS_PER_MESSAGE = 2
# Lambda's SQS pollers long-poll a standard queue around the clock (about five pollers,
# a 20 s long poll each); a drain asks twice per run (one receive, one empty).
EVENT_SOURCE_IDLE_POLLS_PER_DAY = 5 * 3 * 60 * 24
S3_WRITES_PER_LOAD = 13  # rows, parts and two manifests put, then copied and deleted
S3_READS_PER_LOAD = 4  # COPY reads the two manifests and two objects
# What the template bills by the month whatever the traffic: CloudFormation type -> its
# prices.json entry, and how many each warehouse mode's template holds (two secrets: the
# admin's and the loader's; Serverless has a fifth alarm, on the usage limit's daily share).
# tests/cdk/test_cost_resources.py counts them in the synthesized templates and checks that
# every other resource type there is either modelled by traffic or free.
FIXED_PRICES = {
    "AWS::SecretsManager::Secret": "secrets_manager_secret_month",
    "AWS::CloudWatch::Alarm": "cloudwatch_alarm_month",
    "AWS::CloudWatch::Dashboard": "cloudwatch_dashboard_month",
}
FIXED_COUNTS = {
    SERVERLESS: {"AWS::SecretsManager::Secret": 2, "AWS::CloudWatch::Alarm": 5,
                 "AWS::CloudWatch::Dashboard": 1},
    PROVISIONED: {"AWS::SecretsManager::Secret": 2, "AWS::CloudWatch::Alarm": 4,
                  "AWS::CloudWatch::Dashboard": 1},
}
# Billed by traffic, and modelled below: Redshift, Lambda, SQS, S3 requests.
MODELLED = frozenset({
    "AWS::RedshiftServerless::Workgroup", "AWS::Redshift::Cluster", "AWS::Lambda::Function",
    "AWS::SQS::Queue", "AWS::S3::Bucket",
})


@dataclass(frozen=True)
class Profile:
    """A deployment, as far as its bill goes (read from cdk.json context or given by flags)."""

    trigger: str = SCHEDULE
    load_every_min: float = 5
    warehouse_mode: str = SERVERLESS
    base_rpu: int = 4
    node_type: str = "ra3.large"
    publish_every_s: float = 60.0
    batching_window_s: float = 5.0
    memory_gb: float = 1.0

    @classmethod
    def of_deployment(cls, config: Any) -> Profile:
        """The bill's view of a deployment profile (`cdk_app.config.PipelineConfig`)."""
        return cls(trigger=config.load_trigger, load_every_min=config.load_every_min,
                   warehouse_mode=config.warehouse_mode,
                   base_rpu=config.serverless_base_capacity, node_type=config.node_type,
                   publish_every_s=_rate_seconds(config.schedule),
                   batching_window_s=config.max_batching_window_s,
                   memory_gb=config.loader_memory_mb / 1024)

    def label(self) -> str:
        loading = (f"a drain every {self.load_every_min:g} min" if self.trigger == SCHEDULE
                   else "per message")
        where = (f"{self.base_rpu} RPU" if self.warehouse_mode == SERVERLESS
                 else f"provisioned {self.node_type}")
        return f"{loading}, {where}"


@dataclass(frozen=True)
class Estimate:
    """One profile's monthly bill and the figures behind it."""

    profile: str
    trigger: str
    warehouse_mode: str
    copies_per_day: float
    redshift_busy_h_per_day: float
    worst_freshness_s: float
    redshift_usd_per_month: float
    lambda_usd_per_month: float
    sqs_usd_per_month: float
    s3_usd_per_month: float
    fixed_usd_per_month: float
    total_usd_per_month: float
    break_even_busy_h_per_day: float | None
    break_even_load_every_min: float | None
    prices_read_on: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_prices(path: Path = PRICES_PATH) -> dict[str, Any]:
    """The unit-price table: {name: {"usd" or "value": ..., "source": url}}, plus its date."""
    return json.loads(path.read_text(encoding="utf-8"))


def _usd(prices: dict[str, Any], name: str) -> Any:
    entry = prices["prices"][name]
    return entry["usd"] if "usd" in entry else entry["value"]


def fixed_usd(warehouse_mode: str, prices: dict[str, Any]) -> float:
    """The month's fixed charges of a warehouse mode's template (`FIXED_COUNTS`)."""
    return sum(count * float(_usd(prices, FIXED_PRICES[kind]))
               for kind, count in FIXED_COUNTS[warehouse_mode].items())


def copies_per_day(profile: Profile) -> float:
    """COPY transactions a day at the default input (one publisher tick a minute)."""
    if profile.trigger == SCHEDULE:
        # A drain with nothing to load runs no COPY, but at one tick a minute every
        # drain of 1 minute or more finds something.
        return SECONDS_PER_DAY / max(profile.load_every_min * 60, profile.publish_every_s)
    return SECONDS_PER_DAY / max(profile.publish_every_s, profile.batching_window_s)


def estimate(profile: Profile, prices: dict[str, Any]) -> Estimate:
    """The monthly estimate of `profile` at `prices`."""
    copies = copies_per_day(profile)
    min_charge_s = float(_usd(prices, "redshift_serverless_min_charge_s"))
    busy_s = min(SECONDS_PER_DAY, copies * max(min_charge_s, LOAD_S))
    rpu_hour = float(_usd(prices, "redshift_serverless_rpu_hour"))
    node_hour = float(_usd(prices, "redshift_node_hour")[profile.node_type])
    even_h: float | None = None
    even_every: float | None = None
    if profile.warehouse_mode == SERVERLESS:
        redshift = profile.base_rpu * rpu_hour * busy_s / 3600 * DAYS_PER_MONTH
        # Serverless at this base capacity costs what one provisioned node does when busy
        # this many hours a day, i.e. when loads come this often (each billing the minimum).
        even_h = node_hour * 24 / (profile.base_rpu * rpu_hour)
        even_every = (min_charge_s / 60) * 24 / even_h if even_h < 24 else None
    else:
        redshift = node_hour * HOURS_PER_MONTH
    publishes_per_day = SECONDS_PER_DAY / profile.publish_every_s
    invocations = (publishes_per_day + copies) * DAYS_PER_MONTH
    gb_s = (publishes_per_day * PUBLISHER_S + copies * LOAD_S) * profile.memory_gb * DAYS_PER_MONTH
    lambda_usd = (invocations / 1e6 * float(_usd(prices, "lambda_million_requests"))
                  + gb_s * float(_usd(prices, "lambda_gb_second")))
    idle_polls = EVENT_SOURCE_IDLE_POLLS_PER_DAY if profile.trigger == QUEUE else 2 * copies
    sqs_requests = (publishes_per_day * SQS_CHUNKS_PER_MESSAGE * 3 + idle_polls) * DAYS_PER_MONTH
    sqs_usd = sqs_requests / 1e6 * float(_usd(prices, "sqs_million_requests"))
    s3_usd = copies * DAYS_PER_MONTH * (
        S3_WRITES_PER_LOAD * float(_usd(prices, "s3_thousand_writes"))
        + S3_READS_PER_LOAD * float(_usd(prices, "s3_thousand_reads"))) / 1000
    fixed = fixed_usd(profile.warehouse_mode, prices)
    freshness = (profile.load_every_min * 60 if profile.trigger == SCHEDULE
                 else profile.batching_window_s) + LOAD_S
    total = redshift + lambda_usd + sqs_usd + s3_usd + fixed
    return Estimate(
        profile=profile.label(),
        trigger=profile.trigger,
        warehouse_mode=profile.warehouse_mode,
        copies_per_day=round(copies, 1),
        redshift_busy_h_per_day=round(busy_s / 3600, 2),
        worst_freshness_s=round(freshness, 1),
        redshift_usd_per_month=round(redshift, 2),
        lambda_usd_per_month=round(lambda_usd, 2),
        sqs_usd_per_month=round(sqs_usd, 2),
        s3_usd_per_month=round(s3_usd, 2),
        fixed_usd_per_month=round(fixed, 2),
        total_usd_per_month=round(total, 2),
        break_even_busy_h_per_day=None if even_h is None else round(even_h, 2),
        break_even_load_every_min=None if even_every is None else round(even_every, 2),
        prices_read_on=str(prices["read_on"]),
    )


def comparison(profile: Profile) -> list[Profile]:
    """The options issue 14 weighs, with the profile's other settings (docs/loading-and-cost.md)."""
    return [
        replace(profile, trigger=QUEUE, warehouse_mode=SERVERLESS, base_rpu=8),
        replace(profile, trigger=QUEUE, warehouse_mode=SERVERLESS, base_rpu=4),
        replace(profile, trigger=SCHEDULE, warehouse_mode=SERVERLESS, base_rpu=4,
                load_every_min=5),
        replace(profile, trigger=SCHEDULE, warehouse_mode=SERVERLESS, base_rpu=4,
                load_every_min=15),
        replace(profile, trigger=QUEUE, warehouse_mode=PROVISIONED, node_type="ra3.large"),
    ]


def human_seconds(seconds: float) -> str:
    """120 -> '2 min', 305 -> '~5 min', 10 -> '10 s'."""
    if seconds < 90:
        return f"{seconds:g} s"
    minutes = seconds / 60
    return f"{minutes:g} min" if minutes == int(minutes) else f"~{round(minutes)} min"


def _rate_seconds(schedule: str) -> float:
    """The publisher's period from `rate(N unit)`; a cron schedule is taken as once a minute."""
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", schedule)
    if not match:
        return 60.0
    unit = {"minute": 60, "hour": 3600, "day": 86400}[match[2].rstrip("s")]
    return float(int(match[1]) * unit)
