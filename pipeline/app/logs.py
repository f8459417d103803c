"""Structured JSON logs for every entry point, with batch ids and never secrets."""

from __future__ import annotations

import logging
import os
import sys

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

SERVICE = "telegram-pipeline"


class _CurrentStderr:
    """Whatever sys.stderr is when a line is written (test capture replaces it, then closes it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(level: str = "INFO") -> Logger:
    """One JSON formatter (Powertools') for the `pipeline.*` loggers; returns the service logger.

    In Lambda the logs go to stdout (CloudWatch reads it); elsewhere to stderr, so a
    command's stdout stays its result (`pipeline run --json` prints one object).
    """
    in_lambda = "AWS_LAMBDA_FUNCTION_NAME" in os.environ
    stream = sys.stdout if in_lambda else _CurrentStderr()
    logger = Logger(service=SERVICE, level=level)
    handler = logger.registered_handler
    if isinstance(handler, logging.StreamHandler):
        handler.setStream(stream)
    copy_config_to_registered_loggers(source_logger=logger, include={"pipeline"}, log_level=level)
    logging.getLogger("pipeline").setLevel(level)
    return logger
