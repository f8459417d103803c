"""`pipeline cost`: the monthly bill of a cdk.json profile."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from pipeline.aws.settings import LOAD_TRIGGERS, Settings
from pipeline.cli.common import UsageError, table


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
    print(table(["figure", "value"], figures))
    print()
    print(table(["loading", "Redshift per month", "total per month", "Redshift busy h/day",
                  "COPYs per day", "worst-case freshness"],
                 [[o.profile, f"${o.redshift_usd_per_month:,.0f}",
                   f"${o.total_usd_per_month:,.0f}", f"{o.redshift_busy_h_per_day:g}",
                   f"{o.copies_per_day:,.0f}", cost.human_seconds(o.worst_freshness_s)]
                  for o in options]))
    return 0


def add_parsers(sub: Any) -> None:
    """`cost`."""
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
