"""`pipeline`: run the job offline, query the warehouse, and operate a deployment.

One module per command group, each adding its parsers and holding its commands:
`offline` (run, bench), `warehouse` (query, warehouse init, validate), `operate`
(status, redrive, reload), `cost`; `common` and `errors` are what they share. Every
command gets the settings read once here, with `--warehouse` over the environment.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback

from pipeline import __version__
from pipeline.aws.settings import ENV_LOG_LEVEL, Settings
from pipeline.cli import cost, offline, operate, warehouse
from pipeline.cli.common import Parser, UsageError, at_least, stderr
from pipeline.cli.errors import describe_error

__all__ = ["UsageError", "at_least", "build_parser", "main"]

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
    for group in (offline, warehouse, operate, cost):
        group.add_parsers(sub)
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
        stderr(f"pipeline {args.command}: interrupted")
        return 130
    except Exception as exc:  # every failure ends in one line; --debug shows the traceback
        if getattr(args, "debug", False):
            traceback.print_exc()
        code, line = describe_error(exc)
        stderr(f"pipeline {args.command}: {line}")
        return code
