"""Entry point of `cdk synth` / `cdk deploy` (`cdk.json`: `python -m cdk_app.app`).

Context is read once here into a `PipelineConfig`; cdk-nag's AwsSolutions pack runs as a CDK
policy-validation plugin, so synth fails on any finding that is not acknowledged with a reason.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from cdk_app.config import PipelineConfig
from cdk_app.stack import PipelineStack
from pipeline.core.errors import ConfigError


def build_app(
    context: Mapping[str, Any] | None = None, outdir: str | None = None
) -> tuple[App, PipelineStack]:
    """Build the app and its one stack (tests pass `cdk.json`'s context and a temp `outdir`)."""
    app = App(context=dict(context) if context is not None else None, outdir=outdir)
    config = PipelineConfig.from_context(app.node.try_get_context)
    if config.account:
        # Answer CDK's availability-zone lookup from cdk.json, so synth needs no credentials.
        app.node.set_context(
            f"availability-zones:account={config.account}:region={config.region}",
            list(config.availability_zones),
        )
    stack = PipelineStack(
        app,
        config.stack_name,
        config=config,
        env=Environment(account=config.account, region=config.region),
        description="Telegram trading-chat ingest: EventBridge, Lambda, SQS, S3, Redshift",
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return app, stack


def main() -> None:
    try:
        app, _ = build_app()
    except ConfigError as err:  # a context mistake: say which key, skip the traceback
        sys.exit(f"cdk_app: {err}")
    app.synth()


if __name__ == "__main__":
    main()
