"""COPY ... FROM 's3://...' FORMAT AS JSON 'auto': the hand-written grammar copy.py runs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot.tokens import Token, TokenType

from pipeline.offline.warehouse.translate.dialect import word_of
from pipeline.offline.warehouse.translate.errors import (
    Copy,
    SqlSyntaxError,
    Statement,
    UnsupportedSqlError,
)


def _quote_name(name: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


class _Tokens:
    """A cursor over tokens for the small hand-written COPY grammar."""

    def __init__(self, tokens: Sequence[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise SqlSyntaxError()
        self.i += 1
        return tok

    def accept(self, word: str) -> bool:
        if word_of(self.peek()) == word:
            self.i += 1
            return True
        return False

    def string(self) -> str:
        tok = self.next()
        if tok.token_type != TokenType.STRING:
            raise SqlSyntaxError(tok.text)
        return tok.text

    def name(self) -> str:
        parts = []
        while True:
            tok = self.next()
            if tok.token_type == TokenType.IDENTIFIER:
                parts.append(tok.text)
            elif word_of(tok):
                parts.append(tok.text.lower())
            else:
                raise SqlSyntaxError(tok.text)
            nxt = self.peek()
            if nxt is None or nxt.token_type != TokenType.DOT:
                return ".".join(parts)
            self.i += 1


# COPY options that change nothing on the embedded warehouse: statistics, the
# bucket's region, and TRUNCATECOLUMNS (not ported: a value longer than its VARCHAR(n)
# column fails the column's CHECK, column_lengths.py, where Redshift would cut it).
_IGNORED_COPY_OPTIONS = {"COMPUPDATE", "STATUPDATE", "REGION", "TRUNCATECOLUMNS"}


def copy_statement(tokens: Sequence[Token], sql: str) -> Statement | None:
    """`COPY t (cols) FROM 's3://…' IAM_ROLE '…' FORMAT AS JSON 'auto' [GZIP] [MANIFEST] …`.

    Parsed here by hand (sqlglot's COPY tree groups options loosely) and run by
    copy.py against the embedded S3. JSON 'auto' is the only format; TIMEFORMAT
    and DATEFORMAT accept 'auto'; COMPUPDATE/STATUPDATE/REGION/TRUNCATECOLUMNS
    are accepted and ignored; anything else is named in an UnsupportedSqlError.
    """
    if word_of(tokens[0]) != "COPY":
        return None
    cur = _Tokens(tokens)
    cur.next()
    table = cur.name()
    columns: list[str] = []
    nxt = cur.peek()
    if nxt is not None and nxt.token_type == TokenType.L_PAREN:
        cur.next()
        while True:
            columns.append(cur.name())
            tok = cur.next()
            if tok.token_type == TokenType.R_PAREN:
                break
            if tok.token_type != TokenType.COMMA:
                raise SqlSyntaxError(tok.text)
    if not cur.accept("FROM"):
        after = cur.peek()
        raise SqlSyntaxError(after.text if after is not None else None)
    source = cur.string()
    if not source.startswith("s3://"):
        raise UnsupportedSqlError("COPY from a source other than S3")
    fmt: str | None = None
    gzip = manifest = False
    iam_role: str | None = None
    while cur.peek() is not None:
        tok = cur.next()
        word = word_of(tok)
        if word == "IAM_ROLE":
            iam_role = "default" if cur.accept("DEFAULT") else cur.string()
        elif word in {"CREDENTIALS", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN"}:
            raise UnsupportedSqlError("COPY with access-key credentials (use IAM_ROLE)")
        elif word in {"FORMAT", "JSON"}:
            if word == "FORMAT":
                cur.accept("AS")
                fmt_tok = cur.next()
                if word_of(fmt_tok) != "JSON":
                    raise UnsupportedSqlError(f"COPY FORMAT {fmt_tok.text.upper()}")
            cur.accept("AS")
            option = cur.string() if (p := cur.peek()) and p.token_type == TokenType.STRING else ""
            if option.lower() != "auto":
                raise UnsupportedSqlError(f"COPY JSON '{option}' (only 'auto')")
            fmt = "json"
        elif word == "GZIP":
            gzip = True
        elif word == "MANIFEST":
            manifest = True
            cur.accept("VERBOSE")
        elif word in {"TIMEFORMAT", "DATEFORMAT"}:
            cur.accept("AS")
            value = cur.string()
            if value.lower() != "auto":
                raise UnsupportedSqlError(f"COPY {word} '{value}' (only 'auto')")
        elif word in _IGNORED_COPY_OPTIONS:
            cur.accept("AS")
            p = cur.peek()
            if p is not None and (p.token_type == TokenType.STRING or word_of(p) in {
                "ON", "OFF", "TRUE", "FALSE", "PRESET"
            }):
                cur.next()
        elif word:
            raise UnsupportedSqlError(f"COPY option {word}")
        else:
            raise SqlSyntaxError(tok.text)
    if fmt is None:
        raise UnsupportedSqlError("COPY without FORMAT AS JSON 'auto'")
    return Copy(
        table=table,
        table_sql=_quote_name(table),
        columns=tuple(columns),
        source=source,
        manifest=manifest,
        gzip=gzip,
        iam_role=iam_role,
    )
