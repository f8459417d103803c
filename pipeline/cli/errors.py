"""Every failure as one line and an exit code: the cause, and what to do."""

from __future__ import annotations

import csv
import errno
import sys
import zipfile

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
)

from pipeline.aws.settings import ENV_DATASET_PATH, ENV_WAREHOUSE_PATH
from pipeline.cli.common import FAILURE, USAGE, SqlError, UsageError
from pipeline.core.errors import PipelineError

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
        filename = getattr(exc, "filename", None)
        return FAILURE, ("error: the disk is full" + (f" (writing {filename})" if filename else "")
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
