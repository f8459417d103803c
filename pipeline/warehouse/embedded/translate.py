"""Redshift SQL -> DuckDB for the embedded warehouse: sqlglot plus the project's named rules.

`translate(sql)` turns one Redshift statement into what the embedded server runs:
a `Query` (DuckDB text), or a statement the executor carries out itself (`Lock`,
`Copy`, `Transaction`, `NoOp`). It is pure and cached: the loader sends the same
texts every batch.

The work is a pipeline of small named rules, each documented with the Redshift
construct it handles and pinned by a unit test (tests/unit/test_translate.py):

1. `STATEMENT_RULES` recognise statements DuckDB must not see (LOCK, COPY,
   transaction control, physical-design maintenance);
2. `TEXT_RULES` rewrite Redshift-only clauses sqlglot cannot parse (ENCODE,
   DISTKEY, SORTKEY, ...), token-aware so string literals are never touched;
3. sqlglot parses (`read="redshift"`, with GETDATE kept distinguishable);
4. `TREE_RULES` rewrite the syntax tree (SUPER -> VARIANT, 0-based subscripts, ...);
5. sqlglot writes DuckDB, raising on anything it cannot express.

Extend the dialect by adding a rule to one of the tuples. Anything no rule or
sqlglot can carry raises `UnsupportedSqlError(construct)`; Redshift-invalid text
raises `SqlSyntaxError` with Redshift's wording.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.dialects.redshift import Redshift
from sqlglot.errors import ErrorLevel, ParseError, TokenError, UnsupportedError
from sqlglot.parsers.redshift import RedshiftParser
from sqlglot.tokens import Token, TokenType

from pipeline.errors import TerminalError

__all__ = [
    "STATEMENT_RULES",
    "TEXT_RULES",
    "TREE_RULES",
    "Copy",
    "Lock",
    "NoOp",
    "Query",
    "RedshiftSqlError",
    "SqlSyntaxError",
    "Statement",
    "Transaction",
    "UnsupportedSqlError",
    "to_duckdb",
    "translate",
]


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


# --------------------------------------------------------------------------- dialect


class _EmbeddedRedshiftParser(RedshiftParser):
    # sqlglot folds GETDATE() into CURRENT_TIMESTAMP; Redshift's GETDATE() returns a
    # TIMESTAMP (UTC, no zone) while CURRENT_TIMESTAMP returns TIMESTAMPTZ, so keep
    # GETDATE visible for the `getdate_sysdate_to_utc_timestamp` rule.
    FUNCTIONS = {  # noqa: RUF012 - sqlglot's own class-level table
        **RedshiftParser.FUNCTIONS,
        "GETDATE": lambda args: exp.Anonymous(this="GETDATE", expressions=args),
    }


class EmbeddedRedshift(Redshift):
    """sqlglot's Redshift dialect with GETDATE() kept as its own function."""

    Parser = _EmbeddedRedshiftParser


_TOKENIZER_DIALECT = Redshift()

# Words whose sqlglot fallback to a raw Command means "valid Redshift, not ported",
# as opposed to a typo (which Redshift answers with a syntax error).
_REDSHIFT_COMMANDS = frozenset({
    "ALTER", "ATTACH", "CALL", "CANCEL", "CLOSE", "COMMENT", "CREATE", "DEALLOCATE",
    "DECLARE", "DETACH", "DROP", "EXECUTE", "EXPLAIN", "FETCH", "INSERT", "MERGE",
    "PREPARE", "REFRESH", "RESET", "SELECT", "SET", "SHOW", "TRUNCATE", "UNLOAD",
    "UPDATE", "DELETE", "WITH",
})
_STATEMENT_ROOTS = (
    exp.Query, exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop,
    exp.Alter, exp.TruncateTable, exp.Describe, exp.Set, exp.Comment, exp.Command,
)


# --------------------------------------------------------------------------- token helpers


def _tokenize(sql: str) -> list[Token]:
    try:
        return _TOKENIZER_DIALECT.tokenize(sql)
    except TokenError as err:
        tail = sql[sql.rfind("'"):][:40] if "'" in sql else sql[-40:]
        raise SqlSyntaxError(message=f'unterminated quoted string at or near "{tail}"') from err


def _word(token: Token | None) -> str:
    """Upper-cased text of a bare word token; '' for strings, quoted names and punctuation."""
    if token is None or token.token_type in (TokenType.STRING, TokenType.IDENTIFIER):
        return ""
    text = token.text
    return text.upper() if text[:1].isalpha() or text[:1] == "_" else ""


def _remove_spans(sql: str, spans: Sequence[tuple[int, int]]) -> str:
    """`sql` without the inclusive character spans (start, end) taken from tokens.

    Whitespace just before a removed clause goes with it; the text between
    clauses (string literals included) is kept byte for byte.
    """
    if not spans:
        return sql
    out, pos = [], 0
    for start, end in sorted(spans):
        while start > pos and sql[start - 1] in " \t\r\n":
            start -= 1
        out.append(sql[pos:start])
        pos = max(pos, end + 1)
    out.append(sql[pos:])
    return "".join(out)


def _paren_end(tokens: Sequence[Token], i: int) -> int:
    """Index of the ')' closing the '(' at `i`."""
    depth = 0
    for j in range(i, len(tokens)):
        if tokens[j].token_type == TokenType.L_PAREN:
            depth += 1
        elif tokens[j].token_type == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return j
    raise SqlSyntaxError()


def _ddl_clause_tokens(tokens: Sequence[Token]) -> Sequence[Token]:
    """The tokens of a CREATE TABLE up to its AS SELECT (clauses after that are a query)."""
    if not tokens or _word(tokens[0]) != "CREATE":
        return ()
    for i, tok in enumerate(tokens):
        if tok.token_type in (TokenType.SELECT, TokenType.WITH):
            return tokens[:i]
    return tokens


def _strip_clauses(sql: str, keyword: str, takes: Literal["word", "parens", "optional"],
                   prefixes: frozenset[str] = frozenset()) -> str:
    tokens = _ddl_clause_tokens(_tokenize(sql))
    spans: list[tuple[int, int]] = []
    for i, tok in enumerate(tokens):
        if _word(tok) != keyword:
            continue
        if i > 0 and tokens[i - 1].token_type in (TokenType.L_PAREN, TokenType.COMMA):
            continue  # a column *named* like the keyword, e.g. `(encode VARCHAR, ...)`
        start, end = tok.start, tok.end
        if i > 0 and _word(tokens[i - 1]) in prefixes:
            start = tokens[i - 1].start
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt is not None and nxt.token_type == TokenType.L_PAREN and takes != "word":
            end = tokens[_paren_end(tokens, i + 1)].end
        elif nxt is not None and (takes == "word" or (takes == "optional"
                                                      and _word(nxt) == "AUTO")):
            end = nxt.end
        spans.append((start, end))
    return _remove_spans(sql, spans)


# --------------------------------------------------------------------------- text rules


def strip_encode(sql: str) -> str:
    """Column compression `ENCODE zstd` / table-level `ENCODE AUTO`: DuckDB picks its own."""
    return _strip_clauses(sql, "ENCODE", "word")


def strip_backup(sql: str) -> str:
    """`BACKUP NO|YES` (snapshot inclusion) has no DuckDB meaning."""
    return _strip_clauses(sql, "BACKUP", "word")


def strip_diststyle(sql: str) -> str:
    """`DISTSTYLE EVEN|KEY|ALL|AUTO`: one DuckDB file has no slices to distribute over."""
    return _strip_clauses(sql, "DISTSTYLE", "word")


def strip_distkey(sql: str) -> str:
    """Table-level `DISTKEY (col)` and column-level `col INT DISTKEY`."""
    return _strip_clauses(sql, "DISTKEY", "optional")


def strip_sortkey(sql: str) -> str:
    """`[COMPOUND|INTERLEAVED] SORTKEY (cols)`, `SORTKEY AUTO`, column-level `SORTKEY`."""
    return _strip_clauses(sql, "SORTKEY", "optional", frozenset({"COMPOUND", "INTERLEAVED"}))


# Redshift SUPER functions whose DuckDB VARIANT equivalents are not written yet; a
# rule that ports one removes it from this set.
UNPORTED_SUPER_FUNCTIONS = frozenset({
    "ARRAY", "ARRAY_CONCAT", "ARRAY_FLATTEN", "GET_ARRAY_LENGTH", "IS_ARRAY", "IS_BIGINT",
    "IS_BOOLEAN", "IS_CHAR", "IS_DECIMAL", "IS_FLOAT", "IS_INTEGER", "IS_OBJECT", "IS_SCALAR",
    "IS_SMALLINT", "IS_VARCHAR", "JSON_SERIALIZE", "JSON_SERIALIZE_TO_VARBYTE", "JSON_SIZE",
    "JSON_TYPEOF", "OBJECT", "OBJECT_TRANSFORM", "SPLIT_TO_ARRAY", "SUBARRAY",
})


def reject_unported_super_functions(sql: str) -> str:
    """SUPER functions (IS_ARRAY, JSON_TYPEOF, SUBARRAY, ...) not yet mapped to VARIANT.

    sqlglot rewrites several of them into JSON-type functions that would run on
    DuckDB and answer wrongly for VARIANT, so they fail loudly instead.
    """
    tokens = _tokenize(sql)
    for tok, nxt in itertools.pairwise(tokens):
        name = _word(tok)
        if name in UNPORTED_SUPER_FUNCTIONS and nxt.token_type == TokenType.L_PAREN:
            raise UnsupportedSqlError(f"SUPER function {name}()")
    return sql


TEXT_RULES: tuple[Callable[[str], str], ...] = (
    strip_encode,
    strip_backup,
    strip_diststyle,
    strip_distkey,
    strip_sortkey,
    reject_unported_super_functions,
)


# --------------------------------------------------------------------------- tree rules


def super_to_variant(tree: exp.Expr) -> exp.Expr:
    """`SUPER` columns and casts (`x::SUPER`) -> DuckDB `VARIANT`."""

    def rule(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.DataType) and node.this == exp.DType.SUPER:
            return exp.DataType.build("VARIANT")
        return node

    return tree.transform(rule)


_VARCHAR_TYPES = frozenset({exp.DType.VARCHAR, exp.DType.NVARCHAR, exp.DType.TEXT})


def varchar_without_length(tree: exp.Expr) -> exp.Expr:
    """`VARCHAR(n)`, `CHARACTER VARYING(n)`, `NVARCHAR(n)`, `TEXT` -> `VARCHAR`.

    DuckDB ignores a length; Redshift's 65,535-byte limit is enforced by the
    loader's long-text policy before staging, not by the warehouse.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.DataType) and node.this in _VARCHAR_TYPES:
            return exp.DataType(this=exp.DType.VARCHAR)
        return node

    return tree.transform(rule)


def getdate_sysdate_to_utc_timestamp(tree: exp.Expr) -> exp.Expr:
    """`GETDATE()` and `SYSDATE` -> `CAST(NOW() AS TIMESTAMP)`.

    Both return a zone-less TIMESTAMP in UTC on Redshift; the embedded session
    runs in UTC, so casting DuckDB's NOW() gives the same value and type.
    CURRENT_TIMESTAMP (TIMESTAMPTZ on both) is left as it is.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        is_getdate = isinstance(node, exp.Anonymous) and node.name.upper() == "GETDATE"
        is_sysdate = isinstance(node, exp.CurrentTimestamp) and node.args.get("sysdate")
        if is_getdate or is_sysdate:
            return exp.cast(exp.Anonymous(this="NOW"), exp.DType.TIMESTAMP)
        return node

    return tree.transform(rule)


def super_subscript_zero_based(tree: exp.Expr) -> exp.Expr:
    """SUPER navigation `col.attr[i]`: Redshift counts from 0, DuckDB VARIANT from 1.

    Literal indexes get +1; string subscripts (`col['key']`) are attribute
    lookups and stay. Computed or negative indexes are not ported yet. Dot
    navigation (`m.entities.tickers`) needs no rewrite: DuckDB's binder resolves
    `alias.column.field` on VARIANT the way Redshift does on SUPER.
    """
    for bracket in list(tree.find_all(exp.Bracket)):
        if len(bracket.expressions) != 1:
            raise UnsupportedSqlError("SUPER subscript with several indexes")
        index = bracket.expressions[0]
        if isinstance(index, exp.Literal) and index.is_string:
            new_index: exp.Expr = index
        elif isinstance(index, exp.Literal) and index.is_int:
            new_index = exp.Literal.number(int(index.this) + 1)
        elif isinstance(index, exp.Neg):
            raise UnsupportedSqlError("negative SUPER subscript")
        else:
            raise UnsupportedSqlError("SUPER subscript with a computed index")
        # offset=1 tells sqlglot's DuckDB writer the index is already 1-based.
        bracket.set("expressions", [new_index])
        bracket.set("offset", 1)
    return tree


def reject_partiql_unnest(tree: exp.Expr) -> exp.Expr:
    """PartiQL unnesting in FROM (`FROM t AS m, m.entities.tickers AS tk [AT i]`), UNPIVOT."""
    for node_type, construct in (
        (exp.AtIndex, "SUPER unnesting in FROM with AT (PartiQL)"),
        (exp.Unnest, "SUPER unnesting in FROM (PartiQL)"),
    ):
        if tree.find(node_type) is not None:
            raise UnsupportedSqlError(construct)
    pivot = tree.find(exp.Pivot)
    if pivot is not None:
        raise UnsupportedSqlError("UNPIVOT (PartiQL)" if pivot.args.get("unpivot") else "PIVOT")
    return tree


def reject_positional_parameters(tree: exp.Expr) -> exp.Expr:
    """The Data API binds named `:name` parameters only; `?` / `$1` are not Redshift Data API."""
    for node in tree.find_all(exp.Placeholder, exp.Parameter):
        if isinstance(node, exp.Parameter) or node.args.get("jdbc") or not node.args.get("this"):
            raise UnsupportedSqlError("positional parameters (use :name)")
    return tree


TREE_RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (
    super_to_variant,
    varchar_without_length,
    getdate_sysdate_to_utc_timestamp,
    super_subscript_zero_based,
    reject_partiql_unnest,
    reject_positional_parameters,
)


# --------------------------------------------------------------------------- statement rules

_NAME = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_QUALIFIED = rf"{_NAME}(?:\s*\.\s*{_NAME}){{0,2}}"
_LOCK = re.compile(
    rf"^\s*LOCK\s+(?:TABLE\s+)?(?P<names>{_QUALIFIED}(?:\s*,\s*{_QUALIFIED})*)\s*$",
    re.IGNORECASE,
)


def _normalise_name(name: str) -> str:
    """Redshift folds unquoted names to lower case; quoted parts keep their spelling."""
    parts = re.findall(_NAME, name)
    return ".".join(p[1:-1].replace('""', '"') if p.startswith('"') else p.lower() for p in parts)


def _quote_name(name: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def lock_statement(tokens: Sequence[Token], sql: str) -> Statement | None:
    """`LOCK [TABLE] t[, t2]`: no DuckDB statement; the executor holds per-table locks."""
    if _word(tokens[0]) != "LOCK":
        return None
    match = _LOCK.match(sql)
    if not match:
        rest = sql.split(None, 1)[1:] or [""]
        raise SqlSyntaxError(rest[0].split(None, 1)[0] if rest[0].strip() else None)
    names = re.findall(_QUALIFIED, match.group("names"))
    return Lock(tables=tuple(_normalise_name(n) for n in names))


_TX_WORDS = {
    "BEGIN": "begin", "START": "begin", "COMMIT": "commit", "END": "commit",
    "ROLLBACK": "rollback", "ABORT": "rollback",
}


def transaction_statement(tokens: Sequence[Token], sql: str) -> Statement | None:
    """`BEGIN`/`START TRANSACTION`, `COMMIT`/`END`, `ROLLBACK`/`ABORT` [TRANSACTION|WORK]."""
    action = _TX_WORDS.get(_word(tokens[0]))
    if action is None:
        return None
    if _word(tokens[0]) == "START" and _word(tokens[1] if len(tokens) > 1 else None) != (
        "TRANSACTION"
    ):
        return None
    if any(not _word(t) for t in tokens[1:]):
        raise SqlSyntaxError(tokens[1].text)
    return Transaction(action=action)  # type: ignore[arg-type]


_PHYSICAL_ALTER = frozenset({"DISTKEY", "DISTSTYLE", "SORTKEY", "ENCODE"})


def maintenance_statement(tokens: Sequence[Token], sql: str) -> Statement | None:
    """VACUUM, ANALYZE, GRANT, REVOKE, `ALTER TABLE ... ALTER DISTKEY|SORTKEY|ENCODE ...`.

    They tune storage or permissions that the single-user DuckDB file does not
    have; the statement succeeds without effect, as it would on a fresh cluster.
    """
    first = _word(tokens[0])
    if first in {"VACUUM", "ANALYZE", "GRANT", "REVOKE"}:
        return NoOp(reason=first)
    words = [_word(t) for t in tokens]
    if words[:2] == ["ALTER", "TABLE"] and "ALTER" in words[2:]:
        after = words[words.index("ALTER", 2) + 1:]
        if after and (after[0] in _PHYSICAL_ALTER or (after[:1] == ["COLUMN"] and "ENCODE" in after)
                      or after[:2] == ["COMPOUND", "SORTKEY"]):
            return NoOp(reason="ALTER TABLE physical design")
    return None


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
        if _word(self.peek()) == word:
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
            elif _word(tok):
                parts.append(tok.text.lower())
            else:
                raise SqlSyntaxError(tok.text)
            nxt = self.peek()
            if nxt is None or nxt.token_type != TokenType.DOT:
                return ".".join(parts)
            self.i += 1


# COPY options that change nothing on the embedded warehouse: statistics, the
# bucket's region, and TRUNCATECOLUMNS (DuckDB does not enforce VARCHAR lengths).
_IGNORED_COPY_OPTIONS = {"COMPUPDATE", "STATUPDATE", "REGION", "TRUNCATECOLUMNS"}


def copy_statement(tokens: Sequence[Token], sql: str) -> Statement | None:
    """`COPY t (cols) FROM 's3://…' IAM_ROLE '…' FORMAT AS JSON 'auto' [GZIP] [MANIFEST] …`.

    Parsed here by hand (sqlglot's COPY tree groups options loosely) and run by
    copy.py against the embedded S3. JSON 'auto' is the only format; TIMEFORMAT
    and DATEFORMAT accept 'auto'; COMPUPDATE/STATUPDATE/REGION/TRUNCATECOLUMNS
    are accepted and ignored; anything else is named in an UnsupportedSqlError.
    """
    if _word(tokens[0]) != "COPY":
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
        word = _word(tok)
        if word == "IAM_ROLE":
            iam_role = "default" if cur.accept("DEFAULT") else cur.string()
        elif word in {"CREDENTIALS", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN"}:
            raise UnsupportedSqlError("COPY with access-key credentials (use IAM_ROLE)")
        elif word in {"FORMAT", "JSON"}:
            if word == "FORMAT":
                cur.accept("AS")
                fmt_tok = cur.next()
                if _word(fmt_tok) != "JSON":
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
            if p is not None and (p.token_type == TokenType.STRING or _word(p) in {
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


STATEMENT_RULES: tuple[Callable[[Sequence[Token], str], Statement | None], ...] = (
    lock_statement,
    transaction_statement,
    maintenance_statement,
    copy_statement,
)


# --------------------------------------------------------------------------- pipeline


def _single_statement(sql: str) -> tuple[str, list[Token]]:
    """The one statement in `sql` (a trailing ';' is fine), and its tokens."""
    tokens = _tokenize(sql)
    groups: list[list[Token]] = [[]]
    for tok in tokens:
        if tok.token_type == TokenType.SEMICOLON:
            groups.append([])
        else:
            groups[-1].append(tok)
    statements = [g for g in groups if g]
    if not statements:
        raise SqlSyntaxError()
    if len(statements) > 1:
        # What Redshift answers when one Data API statement holds several.
        raise RedshiftSqlError("cannot insert multiple commands into a prepared statement")
    body = statements[0]
    return sql[body[0].start: body[-1].end + 1], body


def _parse(sql: str, tokens: Sequence[Token]) -> exp.Expr:
    try:
        trees = sqlglot.parse(sql, read=EmbeddedRedshift)
    except ParseError as err:
        first = _word(tokens[0])
        if first not in _REDSHIFT_COMMANDS and first not in {"COPY", "LOCK"}:
            raise SqlSyntaxError(tokens[0].text) from err
        detail = err.errors[0] if err.errors else {}
        raise SqlSyntaxError(str(detail.get("highlight") or "") or None) from err
    tree = trees[0] if trees else None
    if tree is None or not isinstance(tree, _STATEMENT_ROOTS):
        raise SqlSyntaxError(tokens[0].text)
    if isinstance(tree, exp.Command):
        command = str(tree.this).upper()
        if command not in _REDSHIFT_COMMANDS:
            raise SqlSyntaxError(tokens[0].text)
        words = str(tree.expression.this).split(None, 1) if tree.expression else []
        what = words[0].upper() if words and words[0].isalpha() else ""
        raise UnsupportedSqlError(f"{command} {what}".strip())
    return tree


def _target(tree: exp.Expr) -> str | None:
    if not isinstance(tree, (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create,
                             exp.Drop, exp.Alter, exp.TruncateTable)):
        return None
    table = tree.find(exp.Table)
    if table is None:
        return None
    return ".".join(p.name for p in table.parts)


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> Statement:
    """Translate one Redshift statement; cached, since the loader repeats its texts."""
    text, tokens = _single_statement(sql)
    for statement_rule in STATEMENT_RULES:
        statement = statement_rule(tokens, text)
        if statement is not None:
            return statement
    for text_rule in TEXT_RULES:
        text = text_rule(text)
    tree = _parse(text, _tokenize(text))
    for tree_rule in TREE_RULES:
        tree = tree_rule(tree)
    try:
        duckdb_sql = tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as err:  # e.g. "Unsupported property externalproperty"
        raise UnsupportedSqlError(re.sub(r"^Unsupported\s+", "", str(err))) from err
    parameters = tuple(dict.fromkeys(str(p.this) for p in tree.find_all(exp.Placeholder)))
    return Query(
        sql=duckdb_sql,
        returns_rows=isinstance(tree, (exp.Query, exp.Describe)),
        target=_target(tree),
        parameters=parameters,
    )


def to_duckdb(sql: str) -> str:
    """The DuckDB text for one Redshift statement (queries, DML, DDL).

    LOCK, COPY, transaction control and no-op maintenance statements have no
    DuckDB text: the embedded server carries them out (see `translate`), so they
    raise ValueError here.
    """
    statement = translate(sql)
    if not isinstance(statement, Query):
        raise ValueError(
            f"{type(statement).__name__} statements are run by the embedded server, "
            "not as DuckDB SQL; use translate()"
        )
    return statement.sql
