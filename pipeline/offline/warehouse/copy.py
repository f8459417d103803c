"""COPY on the embedded warehouse: Redshift's `FORMAT AS JSON 'auto'` load from the embedded S3.

The objects named by a manifest (or every object under a key prefix) are
downloaded to a private temporary directory and inserted in one DuckDB
statement through `read_json(format='newline_delimited')`, typed from the target
table: SUPER/VARIANT columns are read as JSON and cast to VARIANT, TIMESTAMPTZ
columns parse ISO 8601, keys missing from a line load NULL and extra keys are
ignored, as Redshift's JSON 'auto' does. No Python loop touches the rows, so a
load runs at DuckDB's speed.

A failed load raises `CopyError` with Redshift's message; its `details` are the
rows for the emulated `sys_load_error_detail` (found by re-reading the files in
Python, only after DuckDB has refused them, so the line and column are exact).
"""

from __future__ import annotations

import gzip as gzip_module
import json
import shutil
import tempfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pipeline.offline.warehouse.translate import Copy

# Redshift's stl_load_errors codes (https://docs.aws.amazon.com/redshift/latest/dg/r_Load_Error_Reference.html).
ERR_OUT_OF_RANGE = 1204
ERR_DATE = 1205
ERR_TIMESTAMP = 1206
ERR_INVALID_DIGIT = 1207
ERR_FLOAT = 1208
ERR_BOOLEAN = 1210
ERR_FILE_NOT_FOUND = 1212
ERR_NOT_NULL = 1213
ERR_INVALID_LINE = 1216
ERR_UTF8 = 1220

RAW_LIMIT = 1024
_INT_RANGES = {
    "TINYINT": (-(2**7), 2**7 - 1),
    "SMALLINT": (-(2**15), 2**15 - 1),
    "INTEGER": (-(2**31), 2**31 - 1),
    "BIGINT": (-(2**63), 2**63 - 1),
    "HUGEINT": (-(2**127), 2**127 - 1),
}
_VARIANT_TYPES = ("VARIANT", "JSON")


@dataclass(frozen=True)
class Column:
    """A target-table column as DuckDB describes it."""

    name: str
    type: str
    nullable: bool


@dataclass(frozen=True)
class LoadErrorDetail:
    """One row of the emulated sys_load_error_detail."""

    file_name: str
    error_code: int
    error_message: str
    line_number: int | None = None
    column_name: str = ""
    column_type: str = ""
    raw_line: str = ""
    raw_field_value: str = ""


class CopyCancelled(Exception):
    """CancelStatement arrived while the objects were being fetched."""


class CopyError(Exception):
    """A COPY that loaded nothing: Redshift's message, plus the load-error rows explaining it."""

    def __init__(self, message: str, details: Sequence[LoadErrorDetail] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details)


def load_failed(table: str) -> str:
    """Redshift's message for a COPY that rejected its input."""
    name = table.rsplit(".", 1)[-1]
    return (f"Load into table '{name}' failed. "
            "Check 'sys_load_error_detail' system table for details.")


def split_s3_url(url: str) -> tuple[str, str]:
    """('bucket', 'key') of s3://bucket/key."""
    if not url.startswith("s3://") or "/" not in url[5:]:
        raise CopyError(f"Invalid S3 URL '{url}'")
    bucket, key = url[5:].split("/", 1)
    return bucket, key


def table_columns(cursor: Any, table_sql: str, table: str) -> list[Column]:
    """The target table's columns (temp tables included: the cursor is the session)."""
    import duckdb

    try:
        rows = cursor.execute(f"DESCRIBE {table_sql}").fetchall()
    except duckdb.CatalogException as exc:
        raise CopyError(f'relation "{table}" does not exist') from exc
    return [Column(name=r[0], type=str(r[1]).upper(), nullable=r[2] != "NO") for r in rows]


def run_copy(
    cursor: Any,
    statement: Copy,
    s3: Any,
    *,
    cancelled: Callable[[], bool] = lambda: False,
) -> int:
    """Load `statement`'s objects into its table on `cursor`; returns the rows loaded."""
    columns = table_columns(cursor, statement.table_sql, statement.table)
    by_name = {c.name.lower(): c for c in columns}
    names = statement.columns or tuple(c.name for c in columns)
    missing = [n for n in names if n.lower() not in by_name]
    if missing:
        raise CopyError(f'column "{missing[0]}" of relation "{statement.table}" does not exist')
    targets = [by_name[n.lower()] for n in names]

    workdir = Path(tempfile.mkdtemp(prefix="embedded-copy-"))
    try:
        files = _download(s3, statement, workdir, cancelled)
        if not files:
            return 0
        return _insert(cursor, statement, targets, files)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _s3_error(exc: Exception) -> tuple[str, str]:
    """(code, Redshift-style S3ServiceException text) of a botocore error."""
    response = getattr(exc, "response", {}) or {}
    error = response.get("Error", {})
    code = str(error.get("Code", type(exc).__name__))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
    message = error.get("Message") or str(exc)
    if code in ("NoSuchKey", "404"):
        code, message = "NoSuchKey", "The specified key does not exist."
    elif code == "NoSuchBucket":
        message = "The specified bucket does not exist"
    return code, f"S3ServiceException:{message},Status {status},Error {code}"


def _entries(s3: Any, statement: Copy) -> list[tuple[str, bool]]:
    """(url, mandatory) of every object the COPY names."""
    from botocore.exceptions import ClientError

    bucket, key = split_s3_url(statement.source)
    if statement.manifest:
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            _, text = _s3_error(exc)
            raise CopyError(
                f"Problem reading manifest file - {text}",
                [LoadErrorDetail(statement.source, ERR_FILE_NOT_FOUND,
                                 f"Problem reading manifest file - {text}")],
            ) from exc
        try:
            entries = json.loads(body)["entries"]
            return [(str(e["url"]), bool(e.get("mandatory", False))) for e in entries]
        except (ValueError, KeyError, TypeError) as exc:
            message = "Manifest file is not in correct json format"
            raise CopyError(message, [LoadErrorDetail(statement.source, ERR_INVALID_LINE,
                                                      message)]) from exc
    urls: list[tuple[str, bool]] = []
    paginator = s3.get_paginator("list_objects_v2")
    try:
        for page in paginator.paginate(Bucket=bucket, Prefix=key):
            urls.extend((f"s3://{bucket}/{o['Key']}", True) for o in page.get("Contents", []))
    except ClientError as exc:
        raise CopyError(_s3_error(exc)[1]) from exc
    if not urls:
        raise CopyError(f"The specified S3 prefix '{key}' does not exist")
    return sorted(urls)


def _download(
    s3: Any, statement: Copy, workdir: Path, cancelled: Callable[[], bool]
) -> dict[Path, str]:
    """Fetch every object into `workdir`; returns {local file: s3 url} in load order."""
    from botocore.exceptions import ClientError

    files: dict[Path, str] = {}
    errors: list[LoadErrorDetail] = []
    suffix = ".json.gz" if statement.gzip else ".json"
    for i, (url, mandatory) in enumerate(_entries(s3, statement)):
        if cancelled():
            raise CopyCancelled(statement.source)
        bucket, key = split_s3_url(url)
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            code, text = _s3_error(exc)
            if code in ("NoSuchKey", "NoSuchBucket") and not mandatory:
                continue
            errors.append(LoadErrorDetail(url, ERR_FILE_NOT_FOUND, text + (
                " (mandatory manifest entry)" if statement.manifest else "")))
            continue
        if not body:
            continue  # an empty object holds no rows (and is no valid gzip stream)
        path = workdir / f"part-{i:05d}{suffix}"
        path.write_bytes(body)
        files[path] = url
    if errors:
        raise CopyError(load_failed(statement.table), errors)
    return files


def _insert(cursor: Any, statement: Copy, targets: Sequence[Column], files: dict[Path, str]) -> int:
    import duckdb

    def quoted(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    read_types = {
        c.name: ("JSON" if c.type.startswith(_VARIANT_TYPES) else c.type) for c in targets
    }
    select = ", ".join(
        f"CAST({quoted(c.name)} AS VARIANT)" if c.type.startswith("VARIANT") else quoted(c.name)
        for c in targets
    )
    sql = (
        f"INSERT INTO {statement.table_sql} ({', '.join(quoted(c.name) for c in targets)}) "
        f"SELECT {select} FROM read_json($files, format = 'newline_delimited', "
        "compression = $compression, columns = $columns)"
    )
    params = {
        "files": [str(p) for p in files],
        "compression": "gzip" if statement.gzip else "none",
        "columns": read_types,
    }
    try:
        row = cursor.execute(sql, params).fetchone()
    except duckdb.InterruptException:
        raise
    except duckdb.Error as exc:
        detail = diagnose(files, targets, gzip=statement.gzip) or LoadErrorDetail(
            next(iter(files.values())), ERR_INVALID_LINE, str(exc).splitlines()[0][:RAW_LIMIT]
        )
        raise CopyError(load_failed(statement.table), [detail]) from exc
    return int(row[0]) if row else 0


# --------------------------------------------------------------------------- diagnosis


def _lines(path: Path, gzip: bool) -> Iterator[tuple[int, bytes]]:
    opener: Any = gzip_module.open if gzip else open
    with opener(path, "rb") as fh:
        yield from enumerate(fh, start=1)


def diagnose(
    files: dict[Path, str], targets: Sequence[Column], *, gzip: bool
) -> LoadErrorDetail | None:
    """The first line and column DuckDB could not load, found the slow way (failures only)."""
    for path, url in files.items():
        try:
            for line_number, raw in _lines(path, gzip):
                found = _check_line(url, line_number, raw, targets)
                if found is not None:
                    return found
        except (OSError, EOFError, zlib.error) as exc:
            return LoadErrorDetail(url, ERR_INVALID_LINE, f"gzip: {exc}")
    return None


def _check_line(
    url: str, line_number: int, raw: bytes, targets: Sequence[Column]
) -> LoadErrorDetail | None:
    raw_line = raw[:RAW_LIMIT].decode("utf-8", errors="replace").rstrip("\n")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return LoadErrorDetail(url, ERR_UTF8, f"String contains invalid or unsupported UTF8 "
                               f"codepoints: {exc}", line_number, raw_line=raw_line)
    if not text.strip():
        return None
    try:
        obj = json.loads(text)
    except ValueError as exc:
        return LoadErrorDetail(url, ERR_INVALID_LINE, f"Invalid JSON: {exc}", line_number,
                               raw_line=raw_line)
    if not isinstance(obj, dict):
        return LoadErrorDetail(url, ERR_INVALID_LINE,
                               "Invalid JSONPath format: Member is not an object.",
                               line_number, raw_line=raw_line)
    for column in targets:
        value = obj.get(column.name)
        problem = check_value(value, column)
        if problem is not None:
            code, message = problem
            return LoadErrorDetail(url, code, message, line_number, column.name, column.type,
                                   raw_line, json.dumps(value)[:RAW_LIMIT])
    return None


def check_value(value: Any, column: Column) -> tuple[int, str] | None:
    """Why `value` cannot load into `column` ((code, message)), or None if it can."""
    kind = column.type.split("(")[0].strip()
    if value is None:
        return None if column.nullable else (ERR_NOT_NULL, "Missing data for not-null field")
    if kind in _INT_RANGES:
        return _check_int(value, kind)
    if kind.startswith("TIMESTAMP") or kind == "DATE":
        if not isinstance(value, str) or _parse_time(value, kind == "DATE") is None:
            code = ERR_DATE if kind == "DATE" else ERR_TIMESTAMP
            what = "date" if kind == "DATE" else "timestamp"
            return code, f"Invalid {what} format or value [YYYY-MM-DD HH24:MI:SS]"
        return None
    if kind in ("DOUBLE", "FLOAT", "REAL", "DECIMAL"):
        try:
            float(value)
        except (TypeError, ValueError):
            return ERR_FLOAT, f"Invalid digit, Value '{str(value)[:1]}', Type: Double"
        return None
    if kind == "BOOLEAN" and not (isinstance(value, bool) or str(value).lower() in (
        "true", "false", "t", "f", "1", "0"
    )):
        return ERR_BOOLEAN, f"Invalid boolean value '{value}'"
    return None


def _check_int(value: Any, kind: str) -> tuple[int, str] | None:
    low, high = _INT_RANGES[kind]
    if isinstance(value, (bool, dict, list)):
        return ERR_INVALID_DIGIT, f"Invalid digit, Value '{json.dumps(value)[:1]}', Type: Long"
    if isinstance(value, float):
        if not value.is_integer():
            return ERR_INVALID_DIGIT, "Invalid digit, Value '.', Type: Long"
        value = int(value)
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            bad = next((ch for ch in value if not (ch.isdigit() or ch in "+- ")), value[:1])
            return ERR_INVALID_DIGIT, f"Invalid digit, Value '{bad}', Type: Long"
    if not low <= value <= high:
        return ERR_OUT_OF_RANGE, f"Overflow, {value} ({kind.lower()}) out of range"
    return None


def _parse_time(value: str, is_date: bool) -> date | datetime | None:
    try:
        if is_date:
            return date.fromisoformat(value[:10])
        return datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    except ValueError:
        return None
