"""What a translation gives: the statement kinds, and the errors a refusal raises."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipeline.core.errors import TerminalError


class UnsupportedSqlError(TerminalError):
    """Valid Redshift the embedded warehouse cannot run; `construct` names what is missing."""

    def __init__(self, construct: str) -> None:
        super().__init__(f"unsupported on the embedded warehouse: {construct}")
        self.construct = construct


class RedshiftSqlError(TerminalError):
    """Redshift itself would reject the statement; the message follows Redshift's wording."""


class SqlSyntaxError(RedshiftSqlError):
    """Text Redshift's parser rejects: `syntax error at or near "..."`."""

    def __init__(self, near: str | None = None, message: str | None = None) -> None:
        if message is None:
            message = (
                f'syntax error at or near "{near}"' if near else "syntax error at end of input"
            )
        super().__init__(message)
        self.near = near


# --------------------------------------------------------------------------- statements


@dataclass(frozen=True)
class Query:
    """A statement DuckDB runs as `sql`; named `:params` became `$params`."""

    sql: str
    returns_rows: bool
    target: str | None = None  # the table a write touches (for conflict messages)
    parameters: tuple[str, ...] = ()


@dataclass(frozen=True)
class Lock:
    """`LOCK t1, t2`: table locks the executor holds until the transaction ends."""

    tables: tuple[str, ...]


@dataclass(frozen=True)
class Copy:
    """`COPY table (cols) FROM 's3://...'` of JSON 'auto' objects, run by copy.py."""

    table: str  # normalised name, e.g. "scraped.telegram_messages"
    table_sql: str  # the same, quoted for DuckDB
    columns: tuple[str, ...]  # empty: every column of the table, in order
    source: str  # s3://bucket/key: a manifest, or a key prefix
    manifest: bool
    gzip: bool
    iam_role: str | None = None


@dataclass(frozen=True)
class Transaction:
    """BEGIN / COMMIT / ROLLBACK (and their Redshift synonyms)."""

    action: Literal["begin", "commit", "rollback"]


@dataclass(frozen=True)
class NoOp:
    """A statement with no effect on the embedded warehouse (physical design, grants)."""

    reason: str


Statement = Query | Lock | Copy | Transaction | NoOp
