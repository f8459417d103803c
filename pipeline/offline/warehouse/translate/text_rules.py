"""Text rules: Redshift-only DDL clauses sqlglot cannot parse, removed token by token."""

from __future__ import annotations

import itertools

from sqlglot.tokens import TokenType

from pipeline.offline.warehouse.translate.dialect import strip_clauses, tokens_of, word_of
from pipeline.offline.warehouse.translate.errors import UnsupportedSqlError


def strip_encode(sql: str) -> str:
    """Column compression `ENCODE zstd` / table-level `ENCODE AUTO`: DuckDB picks its own."""
    return strip_clauses(sql, "ENCODE", "word")


def strip_backup(sql: str) -> str:
    """`BACKUP NO|YES` (snapshot inclusion) has no DuckDB meaning."""
    return strip_clauses(sql, "BACKUP", "word")


def strip_diststyle(sql: str) -> str:
    """`DISTSTYLE EVEN|KEY|ALL|AUTO`: one DuckDB file has no slices to distribute over."""
    return strip_clauses(sql, "DISTSTYLE", "word")


def strip_distkey(sql: str) -> str:
    """Table-level `DISTKEY (col)` and column-level `col INT DISTKEY`."""
    return strip_clauses(sql, "DISTKEY", "optional")


def strip_sortkey(sql: str) -> str:
    """`[COMPOUND|INTERLEAVED] SORTKEY (cols)`, `SORTKEY AUTO`, column-level `SORTKEY`."""
    return strip_clauses(sql, "SORTKEY", "optional", frozenset({"COMPOUND", "INTERLEAVED"}))


# Redshift SUPER functions whose DuckDB VARIANT equivalents are not written yet; a
# rule that ports one moves it to PORTED_SUPER_FUNCTIONS.
UNPORTED_SUPER_FUNCTIONS = frozenset({
    "ARRAY", "ARRAY_FLATTEN", "DECIMAL_PRECISION", "DECIMAL_SCALE", "IS_CHAR",
    "JSON_SERIALIZE_TO_VARBYTE", "JSON_SIZE", "OBJECT", "OBJECT_TRANSFORM", "SUBARRAY",
})


def reject_unported_super_functions(sql: str) -> str:
    """SUPER functions (SUBARRAY, ARRAY_CONCAT, JSON_SIZE, ...) not yet mapped to VARIANT.

    sqlglot passes unknown calls through or rewrites them into JSON-type functions
    that would run on DuckDB and answer wrongly for VARIANT, so they fail loudly.
    """
    tokens = tokens_of(sql)
    for tok, nxt in itertools.pairwise(tokens):
        name = word_of(tok)
        if name in UNPORTED_SUPER_FUNCTIONS and nxt.token_type == TokenType.L_PAREN:
            raise UnsupportedSqlError(f"SUPER function {name}()")
    return sql
