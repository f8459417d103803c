"""Structured JSON logs for every entry point, with batch ids and never secrets."""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

SERVICE = "telegram-pipeline"


def configure(level: str = "INFO") -> Logger:
    """One JSON formatter (Powertools') for the `pipeline.*` loggers; returns the service logger."""
    logger = Logger(service=SERVICE, level=level)
    copy_config_to_registered_loggers(source_logger=logger, include={"pipeline"}, log_level=level)
    logging.getLogger("pipeline").setLevel(level)
    return logger
