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
   DISTKEY, SORTKEY, ...), token-aware so string literals are never touched, and
   refuse function names Redshift lacks that sqlglot would fold into ones it has;
3. sqlglot parses (`read="redshift"`, with GETDATE, TO_CHAR, ADD_MONTHS and the SUPER
   functions kept as plain calls for the rules);
4. `TREE_RULES` first refuse by default (`refuse_what_is_not_listed`: every node
   must be in the allow-list `ALLOWED_FUNCTIONS` / `ALLOWED_CALLS` /
   `_ALLOWED_SYNTAX`, and FILTER, RANGE frames and frameless ordered aggregate
   windows are refused) and label the result columns as Redshift does; then they
   rewrite the syntax tree: SUPER -> VARIANT, PartiQL unnesting, 0-based
   subscripts, SUPER dynamic typing (lax casts, comparisons, arithmetic, through
   CTEs too), the SUPER and JSON functions, typed division, SUM/AVG result types,
   LISTAGG, DATEDIFF week boundaries, time zone abbreviations, OCTET_LENGTH, CONCAT,
   SIMILAR TO, SUBSTRING, REGEXP_*, TO_CHAR, TRUNC, RATIO_TO_REPORT, trailing blanks;
5. sqlglot writes DuckDB, raising on anything it cannot express.

Extend the dialect by adding a rule to one of the tuples and the construct to the
allow-list (docs/redshift-sql.md says how). Anything else raises
`UnsupportedSqlError(construct)`, never a silently different answer; Redshift-invalid
text raises `SqlSyntaxError` with Redshift's wording; `translate` raises nothing else.
tests/conformance/corpus.txt holds the documented behaviours the result is checked
against (tests/integration/test_conformance.py).
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

from pipeline.aws.settings import RESERVED_WORDS
from pipeline.core.errors import TerminalError

__all__ = [
    "ALLOWED_CALLS",
    "ALLOWED_FUNCTIONS",
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


# Redshift SUPER / JSON functions the tree rules port. sqlglot would fold several of
# them into its own JSON expressions (IS_ARRAY -> JSON_TYPE(x) = 'ARRAY', JSON_PARSE ->
# JSON(x), JSON_EXTRACT_PATH_TEXT -> a `->>` path keeping only the first key), which
# answer wrongly on VARIANT; the parser keeps them as plain calls for the rules instead.
PORTED_SUPER_FUNCTIONS = frozenset({
    "CAN_JSON_PARSE", "GET_ARRAY_LENGTH", "IS_ARRAY", "IS_BIGINT", "IS_BOOLEAN", "IS_DECIMAL",
    "IS_FLOAT", "IS_INTEGER", "IS_OBJECT", "IS_SCALAR", "IS_SMALLINT", "IS_VARCHAR",
    "JSON_EXTRACT_PATH_TEXT", "JSON_PARSE", "JSON_SERIALIZE", "JSON_TYPEOF",
})


def _call(name: str) -> Callable[[list[exp.Expr]], exp.Expr]:
    return lambda args: exp.Anonymous(this=name, expressions=args)


class _EmbeddedRedshiftParser(RedshiftParser):
    # sqlglot folds GETDATE() into CURRENT_TIMESTAMP; Redshift's GETDATE() returns a
    # TIMESTAMP (UTC, no zone) while CURRENT_TIMESTAMP returns TIMESTAMPTZ, so keep
    # GETDATE visible for the `getdate_sysdate_to_utc_timestamp` rule.
    FUNCTIONS = {  # noqa: RUF012 - sqlglot's own class-level table
        **RedshiftParser.FUNCTIONS,
        "GETDATE": _call("GETDATE"),
        # sqlglot rewrites the format model into strftime codes at parse time, losing
        # Redshift's element case and padding rules; `to_char_datetime_formats` needs it.
        "TO_CHAR": _call("TO_CHAR"),
        # sqlglot folds ADD_MONTHS into DATEADD; their month-end rules differ.
        "ADD_MONTHS": _call("ADD_MONTHS"),
        **{name: _call(name) for name in PORTED_SUPER_FUNCTIONS},
    }


class EmbeddedRedshift(Redshift):
    """sqlglot's Redshift dialect with GETDATE() and the SUPER functions kept as calls."""

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
# rule that ports one moves it to PORTED_SUPER_FUNCTIONS.
UNPORTED_SUPER_FUNCTIONS = frozenset({
    "ARRAY", "ARRAY_CONCAT", "ARRAY_FLATTEN", "DECIMAL_PRECISION", "DECIMAL_SCALE", "IS_CHAR",
    "JSON_SERIALIZE_TO_VARBYTE", "JSON_SIZE", "OBJECT", "OBJECT_TRANSFORM", "SPLIT_TO_ARRAY",
    "SUBARRAY",
})


def reject_unported_super_functions(sql: str) -> str:
    """SUPER functions (SUBARRAY, ARRAY_CONCAT, JSON_SIZE, ...) not yet mapped to VARIANT.

    sqlglot passes unknown calls through or rewrites them into JSON-type functions
    that would run on DuckDB and answer wrongly for VARIANT, so they fail loudly.
    """
    tokens = _tokenize(sql)
    for tok, nxt in itertools.pairwise(tokens):
        name = _word(tok)
        if name in UNPORTED_SUPER_FUNCTIONS and nxt.token_type == TokenType.L_PAREN:
            raise UnsupportedSqlError(f"SUPER function {name}()")
    return sql


# Function names Redshift does not have that sqlglot's parser folds into a function
# Redshift does have (STRING_AGG -> LISTAGG, IFNULL -> NVL, INSTR -> STRPOS, ...): the
# tree no longer tells them apart, so the text is checked.
NOT_REDSHIFT_FUNCTIONS = frozenset({
    "ARG_MAX", "ARG_MIN", "ARGMAX", "ARGMIN", "ARRAY_AGG", "ARRAY_LENGTH", "CONTAINS",
    "COUNT_IF", "COUNTIF", "DATE_DIFF", "DATE_SUB", "ENDS_WITH", "EVERY", "FIRST",
    "GROUP_CONCAT", "IF", "IFNULL", "IIF", "INSTR", "ISNULL", "LAST", "LCASE", "LIST",
    "LOG10", "LOG2", "MID", "NOW", "STARTS_WITH", "STRFTIME", "STRING_AGG", "STRPTIME",
    "SUBSTRING_INDEX", "TODAY", "TRY_CAST", "UCASE",
})


def reject_duckdb_spellings(sql: str) -> str:
    """Refuse DuckDB (or other dialects') names for functions: see NOT_REDSHIFT_FUNCTIONS."""
    tokens = _tokenize(sql)
    for tok, nxt in itertools.pairwise(tokens):
        name = _word(tok)
        if name in NOT_REDSHIFT_FUNCTIONS and nxt.token_type == TokenType.L_PAREN:
            raise UnsupportedSqlError(f"function {name} (not a Redshift function)")
    return sql


TEXT_RULES: tuple[Callable[[str], str], ...] = (
    strip_encode,
    strip_backup,
    strip_diststyle,
    strip_distkey,
    strip_sortkey,
    reject_unported_super_functions,
    reject_duckdb_spellings,
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


# ---- helpers shared by the SUPER rules


@functools.lru_cache(maxsize=256)
def _template(sql: str) -> exp.Expr:
    return sqlglot.parse_one(sql, read="duckdb")


def _fill(sql: str, **parts: exp.Expr) -> exp.Expr:
    """DuckDB `sql` parsed, with each placeholder column `__name__` replaced by `parts[name]`."""
    tree = _template(sql).copy()
    for column in list(tree.find_all(exp.Column)):
        name = column.name
        if not column.table and name.startswith("__") and name.endswith("__"):
            replacement = parts[name[2:-2]].copy()
            if column is tree:
                return replacement
            column.replace(replacement)
    return tree


def _call_name(node: exp.Expr) -> str:
    return node.name.upper() if isinstance(node, exp.Anonymous) else ""


def _relations(tree: exp.Expr) -> frozenset[str]:
    """Lower-cased names a column may be qualified by: tables, aliases, CTEs, subqueries."""
    names: set[str] = set()
    for table in tree.find_all(exp.Table):
        names.add(table.alias_or_name.lower())
    for node in tree.find_all(exp.CTE, exp.Subquery, exp.Unnest, exp.Lateral):
        if node.alias:
            names.add(node.alias.lower())
    return frozenset(names)


_UNNEST_PREFIX = "_unnest_"


def _elements(tree: exp.Expr) -> frozenset[str]:
    """Names bound to SUPER array elements by PartiQL unnesting (see `partiql_unnest`)."""
    names: set[str] = set()
    for unnest in tree.find_all(exp.Unnest):
        alias = unnest.args.get("alias")
        if alias is not None:
            names.update(c.name.lower() for c in alias.columns)
    for sub in tree.find_all(exp.Subquery):
        if sub.alias.startswith(_UNNEST_PREFIX) and isinstance(sub.this, exp.Select):
            names.add(sub.this.expressions[0].alias_or_name.lower())
    return frozenset(names)


@dataclass(frozen=True)
class _Scope:
    relations: frozenset[str]
    elements: frozenset[str]
    unnests: frozenset[str]  # table aliases of the unnests binding `elements`
    # Output columns of CTEs and subqueries that carry a SUPER value, as "col" and
    # "relation.col": SUPER keeps its dynamic typing when it passes through them.
    super_outputs: frozenset[str] = frozenset()

    @classmethod
    def of(cls, tree: exp.Expr) -> _Scope:
        unnests = frozenset(u.alias.lower() for u in tree.find_all(exp.Unnest) if u.alias)
        scope = cls(_relations(tree), _elements(tree), unnests)
        for _ in range(3):  # a CTE reading a CTE: let SUPER-ness flow a few levels
            outputs = set(scope.super_outputs)
            for node in tree.find_all(exp.CTE, exp.Subquery):
                body, alias = node.this, node.alias.lower()
                if not alias or not isinstance(body, exp.Select):
                    continue
                for projection in body.expressions:
                    value = projection.this if isinstance(projection, exp.Alias) else projection
                    name = projection.alias_or_name.lower()
                    if name and scope.is_super(value):
                        outputs.update({name, f"{alias}.{name}"})
            if outputs == scope.super_outputs:
                break
            scope = cls(scope.relations, scope.elements, scope.unnests, frozenset(outputs))
        return scope

    def is_navigation(self, column: exp.Column) -> bool:
        """`alias.col.attr`, `col.attr`, `element.attr`: a path into a SUPER value.

        A dotted name whose first part names a relation is `relation.column`
        (`m.message_id`, `scraped.telegram_messages.message_id`); anything longer,
        or rooted at a column or an unnested element, navigates into SUPER.
        """
        parts = [p.name.lower() for p in column.parts]
        if len(parts) == 1:
            return False
        for i, part in enumerate(parts[:-1]):
            if part in self.relations and part not in self.elements:
                return i < len(parts) - 2
        return True

    def attribute_start(self, column: exp.Column) -> int:
        """Index in `column.parts` of the first SUPER attribute of a navigation path."""
        parts = [p.name.lower() for p in column.parts]
        for i, part in enumerate(parts[:-1]):
            if part in self.relations and part not in self.elements:
                return i + 2
        return 1

    def is_super(self, node: exp.Expr) -> bool:
        """Whether `node` is (syntactically) a SUPER value."""
        if node.meta.get("super"):
            return True
        if isinstance(node, exp.Paren):
            return self.is_super(node.this)
        if isinstance(node, exp.Column):
            parts = [p.name.lower() for p in node.parts]
            if len(parts) <= 2 and ".".join(parts) in self.super_outputs:
                return True
            return self.is_navigation(node) or (parts[-1] in self.elements and (
                len(parts) == 1 or (len(parts) == 2 and parts[0] in self.unnests)
            ))
        if isinstance(node, exp.Bracket):
            return True
        if isinstance(node, exp.Dot):  # `path.attr`, not `schema.function()`
            return isinstance(node.expression, exp.Identifier)
        if isinstance(node, (exp.Cast, exp.TryCast)):
            return node.to.this == exp.DType.VARIANT
        return _call_name(node) == "JSON_PARSE"


# variant_typeof() names of the dynamic types a SUPER value can have: INT8..UINT128,
# DOUBLE, FLOAT, DECIMAL(p, s), VARCHAR, BOOL_TRUE/BOOL_FALSE, ARRAY(n), OBJECT(keys),
# VARIANT_NULL (also for SQL NULL).
_SUPER_TESTS = {
    "int": "regexp_full_match(variant_typeof({v}), 'U?INT[0-9]+')",
    "num": "regexp_full_match(variant_typeof({v}), 'U?INT[0-9]+|DOUBLE|FLOAT|DECIMAL.*')",
    "str": "variant_typeof({v}) = 'VARCHAR'",
    "bool": "variant_typeof({v}) IN ('BOOL_TRUE', 'BOOL_FALSE')",
    "nested": "regexp_full_match(variant_typeof({v}), '(ARRAY|OBJECT)\\(.*')",
    "array": "variant_typeof({v}) LIKE 'ARRAY(%'",
    "object": "variant_typeof({v}) LIKE 'OBJECT(%'",
    "null": "variant_typeof({v}) = 'VARIANT_NULL'",
}
# typeof() names, for a typed operand whose type only DuckDB's binder knows.
_TYPED_TESTS = {
    "int": "regexp_full_match(typeof({v}), 'U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)')",
    "num": "regexp_full_match(typeof({v}), "
           "'U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|FLOAT|DOUBLE|DECIMAL.*')",
    "str": "typeof({v}) = 'VARCHAR'",
    "bool": "typeof({v}) = 'BOOLEAN'",
    "nested": "FALSE",
}
_KIND_CASTS = {"int": "HUGEINT", "num": "DOUBLE", "str": "VARCHAR", "bool": "BOOLEAN"}
_INT_TYPES = frozenset({exp.DType.TINYINT, exp.DType.SMALLINT, exp.DType.INT, exp.DType.BIGINT,
                        exp.DType.INT128, exp.DType.UBIGINT, exp.DType.UINT})
_NUM_TYPES = _INT_TYPES | {exp.DType.DOUBLE, exp.DType.FLOAT, exp.DType.DECIMAL}


@dataclass(frozen=True)
class _Operand:
    """One side of a comparison or arithmetic with a SUPER value, as template text."""

    placeholder: str
    mode: Literal["super", "static", "typed"]
    kinds: frozenset[str] = frozenset()  # what a "static" operand is

    @classmethod
    def of(cls, node: exp.Expr, placeholder: str, scope: _Scope) -> _Operand:
        if scope.is_super(node):
            return cls(placeholder, "super")
        inner = node.this if isinstance(node, exp.Paren) else node
        if isinstance(inner, exp.Literal):
            if inner.is_string:
                return cls(placeholder, "static", frozenset({"str"}))
            return cls(placeholder, "static",
                       frozenset({"int", "num"} if inner.is_int else {"num"}))
        if isinstance(inner, exp.Boolean):
            return cls(placeholder, "static", frozenset({"bool"}))
        if isinstance(inner, exp.Neg) and isinstance(inner.this, exp.Literal):
            return cls.of(inner.this, placeholder, scope)
        if isinstance(inner, exp.Cast) and inner.to.this != exp.DType.VARIANT:
            kind = inner.to.this
            kinds = ({"int", "num"} if kind in _INT_TYPES else {"num"} if kind in _NUM_TYPES
                     else {"str"} if kind == exp.DType.VARCHAR
                     else {"bool"} if kind == exp.DType.BOOLEAN else set())
            return cls(placeholder, "static", frozenset(kinds))
        return cls(placeholder, "typed")

    @property
    def v(self) -> str:
        return f"__{self.placeholder}__"

    def test(self, kind: str) -> str:
        if self.mode == "static":
            return "TRUE" if kind in self.kinds else "FALSE"
        tests = _SUPER_TESTS if self.mode == "super" else _TYPED_TESTS
        return tests[kind].format(v=self.v)

    def cast(self, duck_type: str) -> str:
        if self.mode == "super":
            return f"CAST({self.v} AS {duck_type})"
        if self.mode == "typed":
            return f"TRY_CAST({self.v} AS {duck_type})"
        return self.v


def _when(*conditions: str) -> str | None:
    """`a AND b` without the TRUEs; None when a condition is statically FALSE."""
    if "FALSE" in conditions:
        return None
    kept = [c for c in conditions if c != "TRUE"]
    return " AND ".join(kept) if kept else "TRUE"


_COMPARISONS: dict[type[exp.Expr], str] = {
    exp.EQ: "=", exp.NEQ: "<>", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">=",
}
_ARITHMETIC: dict[type[exp.Expr], str] = {
    exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "//", exp.Mod: "%",
}


def _super_comparison(node: exp.Binary, scope: _Scope) -> exp.Expr:
    """Redshift's dynamic typing for `a op b` where a side is SUPER.

    Numbers compare with numbers, strings with strings, booleans with booleans;
    `=` across different types is false (`<>` true), an ordering across types is
    null, and a null side gives null. DuckDB would instead cast the VARIANT to the
    other side's type (so 1.5 = 1.5 is false and 1.5 < 1.3 is true).
    """
    op = _COMPARISONS[type(node)]
    a = _Operand.of(node.this, "a", scope)
    b = _Operand.of(node.expression, "b", scope)
    nulls = " OR ".join(f"{o.v} IS NULL" for o in (a, b) if o.mode != "static")
    branches = [f"WHEN {nulls} THEN NULL"] if nulls else []
    for kind, duck_type in _KIND_CASTS.items():
        condition = _when(a.test(kind), b.test(kind))
        if condition is not None:
            branches.append(
                f"WHEN {condition} THEN {a.cast(duck_type)} {op} {b.cast(duck_type)}"
            )
    if op in ("=", "<>") and a.mode == b.mode == "super":
        branches.append(f"WHEN {a.test('nested')} AND {b.test('nested')} THEN {a.v} {op} {b.v}")
    mismatch = {"=": "FALSE", "<>": "TRUE"}.get(op, "NULL")
    sql = f"CASE {' '.join(branches)} ELSE {mismatch} END"
    return exp.Paren(this=_fill(sql, a=node.this, b=node.expression))


def _super_arithmetic(node: exp.Expr, scope: _Scope) -> exp.Expr:
    """`a op b` with a SUPER side: integer arithmetic on integers, else double; SUPER result.

    Redshift computes on the dynamic types and returns SUPER; a non-number gives
    null. DuckDB would cast the VARIANT to the other side's type (1.5 + 1 = 3).
    """
    a = _Operand.of(node.this, "a", scope)
    b = _Operand.of(node.expression, "b", scope)
    op = _ARITHMETIC[type(node)]
    branches = []
    for kind, duck_type in (("int", "BIGINT"), ("num", "DOUBLE")):
        condition = _when(a.test(kind), b.test(kind))
        if condition is not None:
            value = f"{a.cast(duck_type)} {op} {b.cast(duck_type)}"
            branches.append(f"WHEN {condition} THEN CAST(({value}) AS VARIANT)")
    if not branches:
        return exp.cast(exp.Null(), "VARIANT")
    result = exp.Paren(this=_fill(f"CASE {' '.join(branches)} END", a=node.this,
                                  b=node.expression))
    result.meta["super"] = True
    return result


_STRING_GUARD = "CASE WHEN variant_typeof(__x__) = 'VARCHAR' THEN CAST(__x__ AS VARCHAR) END"
# Functions (and operators) taking text: a SUPER argument passes only when it is a string.
_STRING_FUNCTIONS: tuple[type[exp.Expr], ...] = tuple(
    getattr(exp, name) for name in (
        "Length", "Upper", "Lower", "Substring", "Trim", "StrPosition", "SplitPart", "DPipe",
        "Concat", "Left", "Right", "Initcap", "RegexpLike", "RegexpILike", "RegexpExtract",
        "RegexpReplace", "Like", "ILike", "Reverse", "Pad", "Repeat", "StartsWith",
    ) if hasattr(exp, name)
)
_STRING_CALLS = frozenset({"OCTET_LENGTH", "BTRIM", "LTRIM", "RTRIM", "REPLACE", "TRANSLATE",
                           "CHARINDEX", "STRPOS", "TEXTLEN"})
_AGGREGATES: tuple[type[exp.Expr], ...] = (exp.Sum, exp.Avg, exp.Min, exp.Max, exp.Median,
                                           exp.Stddev, exp.Variance)


def super_dynamic_typing(tree: exp.Expr) -> exp.Expr:
    """SUPER values in casts, comparisons, arithmetic and text functions, as Redshift types them.

    - `x::INT`, `CAST(x AS FLOAT)`: lax, a value of the wrong type gives null
      (TRY_CAST); arrays and objects cast to VARCHAR give null; a fraction cast
      to an integer rounds half away from zero;
    - `x = 1.5`, `x < y`, `x IN (...)`, `x BETWEEN a AND b`: see `_super_comparison`;
    - `x + 1`, `x / y`: see `_super_arithmetic`;
    - `LEN(x)`, `x || 'a'`, `x LIKE 'B%'`: a SUPER argument counts only when it is
      a string (null otherwise);
    - SUM/AVG/MIN/MAX/MEDIAN of an uncast SUPER value are refused: DuckDB would
      coerce every value to one static type.
    """
    scope = _Scope.of(tree)

    def rule(node: exp.Expr) -> exp.Expr:
        if isinstance(node, (exp.Cast, exp.TryCast)) and node.to.this != exp.DType.VARIANT \
                and scope.is_super(node.this):
            if node.to.this == exp.DType.VARCHAR:
                sql = (f"CASE WHEN {_SUPER_TESTS['nested'].format(v='__x__')} THEN NULL "
                       "ELSE TRY_CAST(__x__ AS VARCHAR) END")
                return exp.Paren(this=_fill(sql, x=node.this))
            if node.to.this in _INT_TYPES:
                # A decimal rounds half away from zero on Redshift; DuckDB's cast of a
                # VARIANT DOUBLE rounds half to even (2.5 -> 2).
                sql = (f"CASE WHEN {_SUPER_TESTS['num'].format(v='__x__')} AND NOT "
                       f"{_SUPER_TESTS['int'].format(v='__x__')} THEN TRY_CAST(ROUND(CAST(__x__ "
                       "AS DOUBLE)) AS __t__) ELSE TRY_CAST(__x__ AS __t__) END")
                return exp.Paren(this=_fill(sql.replace("__t__", node.to.sql("duckdb")),
                                            x=node.this))
            return exp.TryCast(this=node.this, to=node.to)
        if isinstance(node, exp.In) and scope.is_super(node.this) and node.expressions \
                and not node.args.get("query"):
            either = [exp.EQ(this=node.this.copy(), expression=e) for e in node.expressions]
            return exp.paren(exp.or_(*[_super_comparison(e, scope) for e in either]))
        if isinstance(node, exp.Between) and scope.is_super(node.this):
            low = _super_comparison(exp.GTE(this=node.this.copy(), expression=node.args["low"]),
                                    scope)
            high = _super_comparison(exp.LTE(this=node.this.copy(),
                                             expression=node.args["high"]), scope)
            return exp.paren(exp.and_(low, high))
        if isinstance(node, tuple(_COMPARISONS)) and (
            scope.is_super(node.this) or scope.is_super(node.expression)
        ):
            return _super_comparison(node, scope)  # type: ignore[arg-type]
        if isinstance(node, tuple(_ARITHMETIC)) and (
            scope.is_super(node.this) or scope.is_super(node.expression)
        ):
            return _super_arithmetic(node, scope)
        if isinstance(node, exp.Neg) and scope.is_super(node.this):
            return _super_arithmetic(exp.Sub(this=exp.Literal.number(0), expression=node.this),
                                     scope)
        if isinstance(node, _STRING_FUNCTIONS) or _call_name(node) in _STRING_CALLS:
            for arg in list(node.iter_expressions()):
                if scope.is_super(arg):
                    arg.replace(exp.Paren(this=_fill(_STRING_GUARD, x=arg)))
            return node
        if isinstance(node, _AGGREGATES) and scope.is_super(node.this):
            name = node.key.upper()
            raise UnsupportedSqlError(
                f"{name}() of a SUPER value (cast it first, e.g. {name}(x::FLOAT))"
            )
        return node

    return _post_order(tree, rule)


def _post_order(tree: exp.Expr, rule: Callable[[exp.Expr], exp.Expr]) -> exp.Expr:
    """Apply `rule` to every node, children before parents (so a parent sees rewritten args)."""
    root = tree
    for node in reversed(list(tree.walk(bfs=False))):
        new = rule(node)
        if new is not node:
            if node is root:
                root = new
            else:
                node.replace(new)
    return root


def partiql_unnest(tree: exp.Expr) -> exp.Expr:
    """PartiQL unnesting in FROM -> a DuckDB unnest of the SUPER array, elements as SUPER.

    `FROM t AS m, m.entities.tickers AS tk` gives one row per element; a message
    whose array is empty, missing, null or not an array gives none (an inner
    join, as on Redshift). `... AS tk AT i` also binds the element's 0-based
    position. Unnesting an unnested element (`s.targets AS tg`, `arr AS el`)
    works the same way.

    DuckDB: `JOIN UNNEST(TRY_CAST(path AS VARIANT[])) AS _unnest_tk(tk) ON TRUE`;
    with AT, a lateral subquery zipping the elements with RANGE(0, LENGTH(list)).
    """
    for select in tree.find_all(exp.Select):
        known: set[str] = set()
        from_ = select.args.get("from_")
        if from_ is not None:
            known.add(from_.this.alias_or_name.lower())
        for join in select.args.get("joins") or []:
            item = join.this
            if isinstance(item, exp.Table) and item.parts[0].name.lower() in known:
                names = [part.copy() for part in item.parts]
                qualifiers = zip(("table", "db", "catalog"), reversed(names[:-1]), strict=False)
                column = exp.Column(this=names[-1], **dict(qualifiers))
                item = exp.Unnest(expressions=[column], alias=exp.TableAlias(
                    columns=[item.args["alias"].this.copy() if item.alias
                             else exp.to_identifier(item.name)]))
            if isinstance(item, exp.Unnest):
                element, path = _unnest_element(item)
                given = item.args.get("alias")
                name = (given.this if given is not None and given.this and given.columns
                        else exp.to_identifier(_UNNEST_PREFIX + element.name))
                join.set("this", exp.Unnest(
                    expressions=[exp.TryCast(this=path, to=exp.DataType.build("VARIANT[]",
                                                                            dialect="duckdb"))],
                    alias=exp.TableAlias(this=name, columns=[element]),
                ))
                if not join.args.get("on"):
                    join.set("on", exp.true())
                known.add(element.name.lower())
            elif isinstance(item, exp.AtIndex):
                aliased, index = item.this, item.expression
                element = aliased.args["alias"]
                at = ("SELECT UNNEST(__l) AS {e}, UNNEST(RANGE(0, LENGTH(__l))) AS {i} "
                      "FROM (SELECT TRY_CAST(__p__ AS VARIANT[]) AS __l) AS __list")
                sub = _fill(at.format(e=element.sql("duckdb"), i=index.sql("duckdb")),
                            p=aliased.this)
                join.set("this", exp.Subquery(
                    this=sub, alias=exp.TableAlias(this=exp.to_identifier(
                        f"{_UNNEST_PREFIX}at_{element.name}"))))
                if not join.args.get("on"):
                    join.set("on", exp.true())
                known.add(element.name.lower())
            else:
                known.add(item.alias_or_name.lower())
    return tree


def super_attribute_names_lower_case(tree: exp.Expr) -> exp.Expr:
    """`m.entities.Signal.SIDE` -> `m.entities.signal.side`: Redshift folds attribute names.

    With Redshift's default `enable_case_sensitive_identifier = off` every
    identifier, quoted or not, is folded to lower case, SUPER attribute names
    included; DuckDB matches VARIANT keys case-sensitively, so a path written in
    another case would silently find nothing.
    """
    scope = _Scope.of(tree)
    for column in list(tree.find_all(exp.Column)):
        if scope.is_navigation(column):
            for identifier in column.parts[scope.attribute_start(column):]:
                identifier.set("this", identifier.name.lower())
    for dot in tree.find_all(exp.Dot):
        if isinstance(dot.expression, exp.Identifier):
            dot.expression.set("this", dot.expression.name.lower())
    return tree


def _unnest_element(unnest: exp.Unnest) -> tuple[exp.Identifier, exp.Expr]:
    """The name an unnested element is bound to, and the array path, of one UNNEST."""
    if len(unnest.expressions) != 1:
        raise UnsupportedSqlError("UNNEST of several arrays at once")
    if unnest.args.get("offset") or unnest.args.get("ordinality"):
        raise UnsupportedSqlError("UNNEST ... WITH OFFSET (use the PartiQL AT form)")
    path = unnest.expressions[0]
    alias = unnest.args.get("alias")
    columns = alias.columns if alias is not None else []
    if len(columns) > 1:
        raise UnsupportedSqlError("UNNEST with several column aliases")
    if columns:
        return columns[0], path
    if alias is not None and alias.this:
        return alias.this, path
    if isinstance(path, exp.Column):
        return exp.to_identifier(path.name), path
    raise UnsupportedSqlError("UNNEST of an expression without an alias")


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


def json_parse_to_variant(tree: exp.Expr) -> exp.Expr:
    """`JSON_PARSE(text)` -> `CAST(CAST(text AS JSON) AS VARIANT)`.

    Invalid JSON fails, as on Redshift.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if _call_name(node) == "JSON_PARSE" and len(node.expressions) == 1:
            return _fill("CAST(CAST(__x__ AS JSON) AS VARIANT)", x=node.expressions[0])
        return node

    return tree.transform(rule)


# DuckDB text for each ported SUPER function of one argument (`__x__`). Redshift's
# introspection functions are false (JSON_TYPEOF 'null') for null input rather than null.
_SUPER_FUNCTIONS = {
    "JSON_TYPEOF": (
        f"CASE WHEN {_SUPER_TESTS['array']} THEN 'array' WHEN {_SUPER_TESTS['object']} "
        f"THEN 'object' WHEN {_SUPER_TESTS['str']} THEN 'string' WHEN {_SUPER_TESTS['bool']} "
        f"THEN 'boolean' WHEN {_SUPER_TESTS['num']} THEN 'number' ELSE 'null' END"
    ),
    "IS_ARRAY": _SUPER_TESTS["array"],
    "IS_OBJECT": _SUPER_TESTS["object"],
    "IS_VARCHAR": _SUPER_TESTS["str"],
    "IS_BOOLEAN": _SUPER_TESTS["bool"],
    "IS_SCALAR": f"NOT {_SUPER_TESTS['nested']} AND NOT {_SUPER_TESTS['null']}",
    # JSON numbers with a fraction are DECIMAL on Redshift (DOUBLE in DuckDB's VARIANT);
    # only an explicit REAL/FLOAT4 is a float.
    "IS_FLOAT": "variant_typeof({v}) = 'FLOAT'",
    "IS_DECIMAL": f"({_SUPER_TESTS['num']} AND variant_typeof({{v}}) <> 'FLOAT')",
    "IS_SMALLINT": f"({_SUPER_TESTS['int']} AND TRY_CAST({{v}} AS HUGEINT) "
                   "BETWEEN -32768 AND 32767)",
    "IS_INTEGER": f"({_SUPER_TESTS['int']} AND TRY_CAST({{v}} AS HUGEINT) "
                  "BETWEEN -2147483648 AND 2147483647)",
    "IS_BIGINT": f"({_SUPER_TESTS['int']} AND TRY_CAST({{v}} AS HUGEINT) "
                 "BETWEEN -9223372036854775808 AND 9223372036854775807)",
    "GET_ARRAY_LENGTH": (f"CASE WHEN {_SUPER_TESTS['array']} "
                         "THEN CAST(variant_array_length({v}) AS INTEGER) END"),
    "JSON_SERIALIZE": "CAST(CAST({v} AS JSON) AS VARCHAR)",
    "CAN_JSON_PARSE": "json_valid({v})",
}


def super_functions(tree: exp.Expr) -> exp.Expr:
    """JSON_TYPEOF, IS_ARRAY/OBJECT/VARCHAR/BOOLEAN/SCALAR/INTEGER/BIGINT/SMALLINT/DECIMAL/FLOAT,
    GET_ARRAY_LENGTH, JSON_SERIALIZE, CAN_JSON_PARSE -> DuckDB over `variant_typeof`.

    GET_ARRAY_LENGTH of a non-array is null (Redshift's lax typing); JSON_SERIALIZE
    writes compact JSON text (object keys in DuckDB's sorted order).
    """

    def rule(node: exp.Expr) -> exp.Expr:
        name = _call_name(node)
        if name in _SUPER_FUNCTIONS:
            if len(node.expressions) != 1:
                raise SqlSyntaxError(message=f"function {name.lower()} takes one argument")
            sql = _SUPER_FUNCTIONS[name].format(v="__x__")
            return exp.Paren(this=_fill(sql, x=node.expressions[0]))
        return node

    return tree.transform(rule)


def json_extract_path_text(tree: exp.Expr) -> exp.Expr:
    """`JSON_EXTRACT_PATH_TEXT(json, 'k1', 'k2'[, null_if_invalid])` -> `json_extract_string`.

    A missing key gives NULL (Redshift's current behaviour); with
    null_if_invalid true, invalid JSON gives NULL instead of an error. Keys must
    be string literals.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if _call_name(node) != "JSON_EXTRACT_PATH_TEXT":
            return node
        source, *keys = node.expressions
        null_if_invalid = False
        if keys and isinstance(keys[-1], exp.Boolean):
            null_if_invalid = keys.pop().this
        if not keys or not all(isinstance(k, exp.Literal) and k.is_string for k in keys):
            raise UnsupportedSqlError("JSON_EXTRACT_PATH_TEXT with a computed path element")
        if any('"' in k.this or "\\" in k.this for k in keys):
            raise UnsupportedSqlError("JSON_EXTRACT_PATH_TEXT path element with '\"' or '\\'")
        path = "$" + "".join(f'."{k.this}"' for k in keys)
        extract = exp.Anonymous(this="json_extract_string",
                                expressions=[source, exp.Literal.string(path)])
        if null_if_invalid:
            return exp.Paren(this=_fill("CASE WHEN json_valid(__s__) THEN __e__ END",
                                        s=source, e=extract))
        return extract

    return tree.transform(rule)


def typed_division(tree: exp.Expr) -> exp.Expr:
    """`a / b` -> `a // b`: integer division for integers, as on Redshift (7 / 2 = 3).

    DuckDB's `/` always divides as floating point; its `//` divides integers
    truncating toward zero and divides any other numbers exactly, which is
    Redshift's `/`.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Div):
            return exp.IntDiv(this=node.this, expression=node.expression)
        return node

    return tree.transform(rule)


_TYPE_OF_SUM = "MAX(__x__) + CAST(0 AS BIGINT)"


def _with_window(template: exp.Expr, window: exp.Window | None) -> exp.Expr:
    """Put every aggregate of `template` under a copy of `window`'s OVER clause."""
    if window is None:
        return template
    for aggregate in list(template.find_all(exp.AggFunc)):
        over = window.copy()
        over.set("this", aggregate.copy())
        if aggregate is template:
            return over
        aggregate.replace(over)
    return template


def integer_sum_avg_as_bigint(tree: exp.Expr) -> exp.Expr:
    """SUM and AVG of integers return BIGINT, and AVG of integers truncates, as on Redshift.

    DuckDB's SUM of integers is a HUGEINT (a float in pandas) and its AVG a
    DOUBLE. `cast_to_type(result, MAX(x) + 0::BIGINT)` casts to BIGINT for
    integer x and keeps DOUBLE for floating x and DECIMAL for decimal x; AVG is
    written `SUM(x) // COUNT(x)` so integers divide as integers.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Window) and isinstance(node.this, (exp.Sum, exp.Avg)):
            return _aggregate_as_redshift(node.this, node)
        if isinstance(node, (exp.Sum, exp.Avg)) and not isinstance(node.parent, exp.Window):
            return _aggregate_as_redshift(node, None)
        return node

    return _post_order(tree, rule)


def _aggregate_as_redshift(node: exp.Sum | exp.Avg, window: exp.Window | None) -> exp.Expr:
    arg = node.this
    distinct = isinstance(arg, exp.Distinct)
    value = arg.expressions[0] if distinct else arg
    prefix = "DISTINCT " if distinct else ""
    if isinstance(node, exp.Sum):
        result = _fill(f"SUM({prefix}__x__)", x=value)
    else:
        result = _fill(f"SUM({prefix}__x__) // NULLIF(COUNT({prefix}__x__), 0)", x=value)
    typed = exp.Anonymous(this="cast_to_type", expressions=[
        _with_window(result, window), _with_window(_fill(_TYPE_OF_SUM, x=value), window),
    ])
    if isinstance(node, exp.Avg):
        # r_AVG.html: a DECIMAL's average is "the same data type", without saying how the
        # extra digits go (rounded or truncated): refused rather than guessed.
        guard = ("CASE WHEN typeof(__x__) LIKE 'DECIMAL%' THEN error('unsupported on the "
                 "embedded warehouse: AVG of a DECIMAL (how Redshift rounds it is not "
                 "documented; cast it to FLOAT8 or BIGINT)') ELSE __t__ END")
        return exp.Paren(this=_fill(guard, x=_with_window(_fill(_TYPE_OF_SUM, x=value), window),
                                    t=typed))
    return typed


def listagg_like_redshift(tree: exp.Expr) -> exp.Expr:
    """LISTAGG: no delimiter by default, NULLs and empty strings skipped, DISTINCT kept.

    DuckDB's LISTAGG defaults to ',' and keeps empty strings; sqlglot also
    garbles `LISTAGG(DISTINCT x, ',')`. Rebuilt as `LISTAGG([DISTINCT] x, delim
    [ORDER BY ...]) FILTER (WHERE CAST(x AS VARCHAR) <> '')`.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.GroupConcat):
            return node
        arg, separator = node.this, node.args.get("separator")
        if isinstance(arg, exp.Distinct):
            value, *rest = arg.expressions
            separator = separator or (rest[0] if rest else None)
            arg = exp.Distinct(expressions=[value])
        else:
            value = arg
        rebuilt: exp.Expr = exp.GroupConcat(this=arg,
                                            separator=separator or exp.Literal.string(""))
        outer: exp.Expr = node
        if isinstance(node.parent, exp.WithinGroup):
            outer = node.parent
            rebuilt = exp.WithinGroup(this=rebuilt, expression=outer.expression)
        condition = _fill("CAST(__x__ AS VARCHAR) <> ''", x=value)
        filtered = exp.Filter(this=rebuilt, expression=exp.Where(this=condition))
        if outer is not node:
            outer.replace(filtered)
            return node
        return filtered

    for group_concat in list(tree.find_all(exp.GroupConcat)):
        replaced = rule(group_concat)
        if replaced is not group_concat:
            group_concat.replace(replaced)
    return tree


def datediff_week_boundaries(tree: exp.Expr) -> exp.Expr:
    """`DATEDIFF(week, a, b)`: week boundaries (Mondays) crossed, not whole weeks elapsed.

    DuckDB's date_diff('week') counts full 7-day spans; Redshift's DATEDIFF
    counts boundaries for every date part (day, hour, month, ... are already
    boundary counts in DuckDB).
    """
    template = ("DATE_DIFF('day', DATE_TRUNC('week', CAST(__a__ AS TIMESTAMP)), "
                "DATE_TRUNC('week', CAST(__b__ AS TIMESTAMP))) // 7")

    def rule(node: exp.Expr) -> exp.Expr:
        if isinstance(node, (exp.DateDiff, exp.TsOrDsDiff, exp.DatetimeDiff, exp.TimestampDiff)):
            unit = node.args.get("unit")
            if unit is not None and unit.name.upper() in {"WEEK", "WEEKS", "W", "WK", "WKS"}:
                return exp.Paren(this=_fill(template, a=node.expression, b=node.this))
        return node

    return tree.transform(rule)


# Redshift reads a time zone abbreviation as a fixed UTC offset; DuckDB (ICU) reads
# several as a region with daylight saving ('PST' is Los Angeles time, PDT in summer).
_TZ_ABBREVIATIONS = {
    "UTC": "UTC", "GMT": "UTC", "Z": "UTC", "WET": "Etc/GMT", "BST": "Etc/GMT-1",
    "CET": "Etc/GMT-1", "WEST": "Etc/GMT-1", "CEST": "Etc/GMT-2", "EET": "Etc/GMT-2",
    "EEST": "Etc/GMT-3", "MSK": "Etc/GMT-3", "EST": "Etc/GMT+5", "EDT": "Etc/GMT+4",
    "CST": "Etc/GMT+6", "CDT": "Etc/GMT+5", "MST": "Etc/GMT+7", "MDT": "Etc/GMT+6",
    "PST": "Etc/GMT+8", "PDT": "Etc/GMT+7", "AKST": "Etc/GMT+9", "AKDT": "Etc/GMT+8",
    "HST": "Etc/GMT+10", "JST": "Etc/GMT-9", "KST": "Etc/GMT-9", "SGT": "Etc/GMT-8",
    "HKT": "Etc/GMT-8", "AWST": "Etc/GMT-8", "AEST": "Etc/GMT-10", "AEDT": "Etc/GMT-11",
    "NZST": "Etc/GMT-12", "NZDT": "Etc/GMT-13",
}


def convert_timezone_names(tree: exp.Expr) -> exp.Expr:
    """CONVERT_TIMEZONE: abbreviations as the fixed offsets Redshift gives them.

    sqlglot writes both forms (`CONVERT_TIMEZONE(tz, ts)` from UTC, and
    `CONVERT_TIMEZONE(from, to, ts)`) as `CAST(ts AS TIMESTAMP) AT TIME ZONE from
    AT TIME ZONE to`, a TIMESTAMP as on Redshift. IANA names ('Europe/London')
    pass; 'PST' and friends become 'Etc/GMT+8'; POSIX specs ('EST5EDT') and
    offsets ('UTC+3') are refused, as ICU reads them differently.
    """

    def zone(literal: exp.Expr) -> exp.Expr:
        if not (isinstance(literal, exp.Literal) and literal.is_string):
            return literal
        name = literal.this.strip()
        if name.upper() in _TZ_ABBREVIATIONS:
            return exp.Literal.string(_TZ_ABBREVIATIONS[name.upper()])
        if "/" in name or (re.fullmatch(r"[A-Za-z_]+", name) and not name.isupper()):
            return literal
        raise UnsupportedSqlError(
            f"CONVERT_TIMEZONE time zone '{name}' (use an IANA name such as 'America/New_York'"
            " or a listed abbreviation)"
        )

    for node in tree.find_all(exp.ConvertTimezone):
        for key in ("source_tz", "target_tz"):
            if node.args.get(key) is not None:
                node.set(key, zone(node.args[key]))
    for at in tree.find_all(exp.AtTimeZone):  # `ts AT TIME ZONE 'MST'` reads zones alike
        if at.args.get("zone") is not None:
            at.set("zone", zone(at.args["zone"]))
    return tree


def octet_length_of_text(tree: exp.Expr) -> exp.Expr:
    """`OCTET_LENGTH(text)` -> `STRLEN(text)`: DuckDB's octet_length takes only BLOB."""

    def rule(node: exp.Expr) -> exp.Expr:
        if _call_name(node) == "OCTET_LENGTH" and len(node.expressions) == 1:
            return exp.Anonymous(this="STRLEN", expressions=node.expressions)
        return node

    return tree.transform(rule)


# ---- text functions as Redshift documents them


def concat_null_is_null(tree: exp.Expr) -> exp.Expr:
    """`CONCAT(a, b)` -> `a || b`: NULL when either is NULL.

    https://docs.aws.amazon.com/redshift/latest/dg/r_CONCAT.html (DuckDB's CONCAT
    skips NULLs, so `CONCAT('a', NULL)` would be 'a').
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Concat):
            args = node.expressions
            if len(args) != 2:
                raise SqlSyntaxError(message="function concat takes two arguments")
            return exp.Paren(this=exp.DPipe(this=args[0], expression=args[1], safe=False))
        return node

    return tree.transform(rule)


# SIMILAR TO metacharacters that are also POSIX regex ones and mean the same.
_SIMILAR_KEEP = frozenset("|*+?{}()[],-0123456789^")


def _similar_to_regex(pattern: str) -> str:
    out, i = [], 0
    in_class = False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):  # the default escape character
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if in_class:
            out.append(ch)
            in_class = ch != "]"
        elif ch == "%":
            out.append("(?s:.*)")
        elif ch == "_":
            out.append("(?s:.)")
        elif ch == "[":
            out.append(ch)
            in_class = True
        elif ch in _SIMILAR_KEEP and ch != "^":
            out.append(ch)
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def similar_to_as_regex(tree: exp.Expr) -> exp.Expr:
    """`s SIMILAR TO 'pattern'` -> `regexp_full_match(s, regex)`, matching the whole string.

    `%` and `_` become `.*` and `.`; `|`, `*`, `+`, `?`, `{m,n}`, `()` and `[...]`
    keep their meaning; anything else is literal
    (https://docs.aws.amazon.com/redshift/latest/dg/pattern-matching-conditions-similar-to.html).
    DuckDB's own SIMILAR TO reads the pattern as a regex, so `'abc' SIMILAR TO 'a%'`
    never matches. The pattern must be a literal.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.SimilarTo):
            return node
        pattern = node.expression
        if not (isinstance(pattern, exp.Literal) and pattern.is_string):
            raise UnsupportedSqlError("SIMILAR TO with a computed pattern")
        return exp.Anonymous(this="regexp_full_match", expressions=[
            node.this, exp.Literal.string(_similar_to_regex(pattern.this))])

    return tree.transform(rule)


def substring_before_position_one(tree: exp.Expr) -> exp.Expr:
    """`SUBSTRING(s, start, n)` with start < 1: the characters from `start` to `start + n - 1`
    that exist, so `SUBSTRING('abcdef', -2, 4)` is 'a'
    (https://docs.aws.amazon.com/redshift/latest/dg/r_SUBSTRING.html); DuckDB counts a
    negative start from the end of the string ('ef').
    """
    template = ("CASE WHEN __p__ >= 1 THEN SUBSTRING(__s__, __p__, __n__) "
                "WHEN __n__ < 0 THEN error('invalid input: negative substring length not "
                "allowed') ELSE SUBSTRING(__s__, 1, GREATEST(__p__ + __n__ - 1, 0)) END")
    two_args = "CASE WHEN __p__ >= 1 THEN SUBSTRING(__s__, __p__) ELSE __s__ END"

    def rule(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Substring) or node.args.get("start") is None:
            return node
        start, length = node.args["start"], node.args.get("length")
        if isinstance(start, exp.Literal) and start.is_int and int(start.this) >= 1 and (
            length is None or (isinstance(length, exp.Literal) and length.is_int)
        ):
            return node
        if length is None:
            return exp.Paren(this=_fill(two_args, s=node.this, p=start))
        return exp.Paren(this=_fill(template, s=node.this, p=start, n=length))

    return _post_order(tree, rule)


def _regex_flags(parameters: exp.Expr | None, allowed: str) -> str:
    if parameters is None:
        return ""
    if not (isinstance(parameters, exp.Literal) and parameters.is_string):
        raise UnsupportedSqlError("regular expression parameters that are not a literal")
    flags = parameters.this
    if "p" in flags:
        raise UnsupportedSqlError("regular expression parameter 'p' (PCRE dialect)")
    unknown = set(flags) - set(allowed)
    if unknown:
        raise RedshiftSqlError(f"invalid regular expression parameter '{''.join(sorted(unknown))}'")
    # the last of c/i wins, as in POSIX flag strings
    case = [f for f in flags if f in "ci"]
    return "i" if case and case[-1] == "i" else ""


def _literal_int(node: exp.Expr | None, what: str, default: int) -> int:
    if node is None:
        return default
    inner = node.this if isinstance(node, exp.Neg) else node
    if not (isinstance(inner, exp.Literal) and inner.is_int):
        raise UnsupportedSqlError(f"{what} that is not an integer literal")
    return -int(inner.this) if isinstance(node, exp.Neg) else int(inner.this)


def regexp_replace_every_match(tree: exp.Expr) -> exp.Expr:
    """`REGEXP_REPLACE(s, pattern[, replacement[, position[, parameters]]])` replaces every
    match (https://docs.aws.amazon.com/redshift/latest/dg/REGEXP_REPLACE.html); DuckDB's
    regexp_replace replaces only the first unless given the 'g' option. The replacement
    defaults to ''; a position after the first character keeps the text before it.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.RegexpReplace):
            return node
        if node.args.get("occurrence") is not None:
            raise UnsupportedSqlError("REGEXP_REPLACE with an occurrence argument")
        flags = "g" + _regex_flags(node.args.get("modifiers"), "ci")
        replacement = node.args.get("replacement") or exp.Literal.string("")
        if isinstance(replacement, exp.Literal) and re.search(r"[\\$]", replacement.this):
            raise UnsupportedSqlError("REGEXP_REPLACE replacement with back-references")
        position = _literal_int(node.args.get("position"), "REGEXP_REPLACE position", 1)
        call = exp.Anonymous(this="regexp_replace", expressions=[
            node.this, node.expression, replacement, exp.Literal.string(flags)])
        if position <= 1:
            return call
        call.expressions[0].replace(_fill("SUBSTRING(__s__, __p__)", s=node.this.copy(),
                                          p=exp.Literal.number(position)))
        return exp.Paren(this=_fill("LEFT(__s__, __k__) || __r__", s=node.this,
                                    k=exp.Literal.number(position - 1), r=call))

    return _post_order(tree, rule)


def regexp_substr_parameters(tree: exp.Expr) -> exp.Expr:
    """`REGEXP_SUBSTR(s, pattern[, position[, occurrence[, parameters]]])` with every argument
    (https://docs.aws.amazon.com/redshift/latest/dg/REGEXP_SUBSTR.html): the search starts
    at `position`, skips `occurrence - 1` matches, 'i' matches case-insensitively and 'e'
    returns the first subexpression. No match is ''; an occurrence below 1 is NULL.
    sqlglot alone drops position and occurrence.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.RegexpExtract):
            return node
        pattern = node.expression
        if not (isinstance(pattern, exp.Literal) and pattern.is_string):
            raise UnsupportedSqlError("REGEXP_SUBSTR with a computed pattern")
        params = node.args.get("parameters")
        flags = _regex_flags(params, "cie")
        text = pattern.this
        if flags:
            text = f"(?{flags})" + text
        has_group = bool(re.search(r"(?<!\\)\((?!\?)", pattern.this))
        group = 1 if params is not None and "e" in params.this and has_group else 0
        position = max(_literal_int(node.args.get("position"), "REGEXP_SUBSTR position", 1), 1)
        occurrence = _literal_int(node.args.get("occurrence"), "REGEXP_SUBSTR occurrence", 1)
        if occurrence < 1:
            return exp.cast(exp.Null(), exp.DType.VARCHAR)
        sql = (f"COALESCE(list_extract(regexp_extract_all(SUBSTRING(__s__, {position}), "
               f"__p__, {group}), {occurrence}), '')")
        return exp.Paren(this=_fill(sql, s=node.this, p=exp.Literal.string(text)))

    return _post_order(tree, rule)


def ratio_to_report(tree: exp.Expr) -> exp.Expr:
    """`RATIO_TO_REPORT(x) OVER (PARTITION BY p)` -> `x / SUM(x) OVER (PARTITION BY p)` as FLOAT8.

    https://docs.aws.amazon.com/redshift/latest/dg/r_WF_RATIO_TO_REPORT.html: the OVER
    clause takes no ORDER BY or frame.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if not (isinstance(node, exp.Window) and _call_name(node.this) == "RATIO_TO_REPORT"):
            if _call_name(node) == "RATIO_TO_REPORT" and not isinstance(node.parent, exp.Window):
                raise RedshiftSqlError("function ratio_to_report requires an OVER clause")
            return node
        if node.args.get("order") is not None or node.args.get("spec") is not None:
            raise RedshiftSqlError("RATIO_TO_REPORT's OVER clause takes no ORDER BY or frame")
        (value,) = node.this.expressions
        total = node.copy()
        total.set("this", exp.Sum(this=value.copy()))
        return exp.Paren(this=_fill("CAST(__x__ AS DOUBLE) / CAST(__t__ AS DOUBLE)",
                                    x=value, t=total))

    return _post_order(tree, rule)


# DuckDB's JSON reader accepts a trailing comma ('[1,2,]'), which Redshift's rejects
# (JSON_EXTRACT_ARRAY_ELEMENT_TEXT.html's invalid example); strings are blanked first so
# a comma inside one does not count.
_STRICT_JSON_VALID = (
    "(json_valid(__s__) AND NOT regexp_matches(regexp_replace(__s__, "
    "'\"(\\\\.|[^\"\\\\])*\"', '\"\"', 'g'), ',\\s*[\\]}]'))"
)


def json_text_functions(tree: exp.Expr) -> exp.Expr:
    """IS_VALID_JSON, IS_VALID_JSON_ARRAY, JSON_ARRAY_LENGTH, JSON_EXTRACT_ARRAY_ELEMENT_TEXT.

    - IS_VALID_JSON(s): true for a well-formed JSON object
      (https://docs.aws.amazon.com/redshift/latest/dg/IS_VALID_JSON.html); the page
      sends arrays to IS_VALID_JSON_ARRAY without saying what IS_VALID_JSON answers for
      one, so a JSON array (or scalar) is refused at run time rather than guessed;
    - IS_VALID_JSON_ARRAY(s): true for a well-formed JSON array, false otherwise;
    - JSON_ARRAY_LENGTH(s[, null_if_invalid]): elements of the outer array;
    - JSON_EXTRACT_ARRAY_ELEMENT_TEXT(s, pos[, null_if_invalid]): the element at the
      0-based `pos` as text; '' when pos is negative or out of bounds; invalid JSON
      fails (NULL with null_if_invalid true).
    """
    templates = {
        "IS_VALID_JSON": (
            f"CASE WHEN NOT COALESCE({_STRICT_JSON_VALID}, FALSE) THEN FALSE "
            "WHEN json_type(CAST(__s__ AS JSON)) = 'OBJECT' THEN TRUE "
            "ELSE error('unsupported on the embedded warehouse: IS_VALID_JSON of JSON that "
            "is not an object (the documentation does not say; use IS_VALID_JSON_ARRAY)') END"),
        "IS_VALID_JSON_ARRAY": (f"CASE WHEN NOT COALESCE({_STRICT_JSON_VALID}, FALSE) THEN FALSE "
                                "ELSE json_type(CAST(__s__ AS JSON)) = 'ARRAY' END"),
    }
    invalid = "error('invalid json array object ' || __s__)"

    def rule(node: exp.Expr) -> exp.Expr:
        name = _call_name(node)
        args = node.expressions if name else []
        if name in templates:
            if len(args) != 1:
                raise SqlSyntaxError(message=f"function {name.lower()} takes one argument")
            return exp.Paren(this=_fill(templates[name], s=args[0]))
        if name in {"JSON_ARRAY_LENGTH", "JSON_EXTRACT_ARRAY_ELEMENT_TEXT"}:
            wants = 1 if name == "JSON_ARRAY_LENGTH" else 2
            null_if_invalid = False
            if len(args) == wants + 1:
                flag = args[-1]
                if not isinstance(flag, exp.Boolean):
                    raise UnsupportedSqlError(f"{name} with a computed null_if_invalid")
                null_if_invalid = bool(flag.this)
                args = args[:-1]
            if len(args) != wants:
                raise SqlSyntaxError(message=f"wrong number of arguments to {name.lower()}")
            on_invalid = "NULL" if null_if_invalid else invalid
            if name == "JSON_ARRAY_LENGTH":
                value = ("CASE WHEN json_type(CAST(__s__ AS JSON)) = 'ARRAY' THEN "
                         "CAST(json_array_length(CAST(__s__ AS JSON)) AS INTEGER) "
                         f"ELSE {invalid} END")
            else:
                value = ("CASE WHEN json_type(CAST(__s__ AS JSON)) <> 'ARRAY' THEN "
                         f"{invalid} WHEN __p__ < 0 THEN '' ELSE COALESCE("
                         "json_extract_string(CAST(__s__ AS JSON), "
                         "concat('$[', CAST(__p__ AS VARCHAR), ']')), '') END")
            sql = (f"CASE WHEN __s__ IS NULL THEN NULL WHEN NOT {_STRICT_JSON_VALID} "
                   f"THEN {on_invalid} ELSE {value} END")
            parts = {"s": args[0]}
            if wants == 2:
                parts["p"] = args[1]
            return exp.Paren(this=_fill(sql, **parts))
        return node

    return _post_order(tree, rule)


def redshift_spellings(tree: exp.Expr) -> exp.Expr:
    """Redshift names some sqlglot versions keep as plain calls: `BTRIM(s[, chars])` ->
    DuckDB's `TRIM(s[, chars])`, `TEXTLEN(s)` -> `LENGTH(s)`
    (https://docs.aws.amazon.com/redshift/latest/dg/r_BTRIM.html, r_TEXTLEN.html)."""

    def rule(node: exp.Expr) -> exp.Expr:
        name = _call_name(node)
        if name == "BTRIM":
            return exp.Anonymous(this="TRIM", expressions=node.expressions)
        if name == "TEXTLEN":
            return exp.Anonymous(this="LENGTH", expressions=node.expressions)
        return node

    return _post_order(tree, rule)


def trunc_of_a_timestamp(tree: exp.Expr) -> exp.Expr:
    """`TRUNC(timestamp)` -> the DATE of the timestamp
    (https://docs.aws.amazon.com/redshift/latest/dg/r_TRUNC_date.html); TRUNC of a
    number stays DuckDB's TRUNC. A timestamp is recognised when it is a cast, a
    timestamp literal or a date/time function; other arguments are numbers to DuckDB,
    and a timestamp column there fails with a message saying to cast it.
    """
    temporal = (exp.TimestampTrunc, exp.TsOrDsAdd, exp.CurrentTimestamp, exp.CurrentDate,
                exp.ConvertTimezone, exp.AtTimeZone)

    def is_temporal(node: exp.Expr) -> bool:
        if isinstance(node, exp.Cast):
            return node.to.is_type(exp.DType.TIMESTAMP, exp.DType.TIMESTAMPTZ, exp.DType.DATE)
        return isinstance(node, temporal) or _call_name(node) == "GETDATE"

    def rule(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Trunc):
            return node
        if node.args.get("decimals") is not None:  # TRUNC(number, places), as DuckDB spells it
            return exp.Anonymous(this="TRUNC", expressions=[node.this, node.args["decimals"]])
        if is_temporal(node.this):
            return exp.cast(node.this, exp.DType.DATE)
        return node

    return _post_order(tree, rule)


# Redshift datetime format elements (https://docs.aws.amazon.com/redshift/latest/dg/r_FORMAT_strings.html)
# as DuckDB text over `__t__` (a TIMESTAMP). Names pad to 9 characters as on Redshift
# ('DECEMBER -THU' in the TO_CHAR page's first example); the case of the element is the
# case of the name. Longest elements first.
_DATETIME_ELEMENTS: tuple[tuple[str, str], ...] = (
    ("HH24", "strftime(__t__, '%H')"), ("HH12", "strftime(__t__, '%I')"),
    ("YYYY", "lpad(CAST(year(__t__) AS VARCHAR), 4, '0')"),
    ("MONTH", "rpad(upper(strftime(__t__, '%B')), 9, ' ')"),
    ("Month", "rpad(strftime(__t__, '%B'), 9, ' ')"),
    ("month", "rpad(lower(strftime(__t__, '%B')), 9, ' ')"),
    ("DAY", "rpad(upper(strftime(__t__, '%A')), 9, ' ')"),
    ("Day", "rpad(strftime(__t__, '%A'), 9, ' ')"),
    ("day", "rpad(lower(strftime(__t__, '%A')), 9, ' ')"),
    ("YYY", "right(lpad(CAST(year(__t__) AS VARCHAR), 4, '0'), 3)"),
    ("MON", "upper(strftime(__t__, '%b'))"), ("Mon", "strftime(__t__, '%b')"),
    ("mon", "lower(strftime(__t__, '%b'))"),
    ("DDD", "strftime(__t__, '%j')"),
    ("A.M.", "CASE WHEN hour(__t__) < 12 THEN 'A.M.' ELSE 'P.M.' END"),
    ("P.M.", "CASE WHEN hour(__t__) < 12 THEN 'A.M.' ELSE 'P.M.' END"),
    ("a.m.", "CASE WHEN hour(__t__) < 12 THEN 'a.m.' ELSE 'p.m.' END"),
    ("p.m.", "CASE WHEN hour(__t__) < 12 THEN 'a.m.' ELSE 'p.m.' END"),
    ("DY", "upper(strftime(__t__, '%a'))"), ("Dy", "strftime(__t__, '%a')"),
    ("dy", "lower(strftime(__t__, '%a'))"),
    ("YY", "strftime(__t__, '%y')"), ("MM", "strftime(__t__, '%m')"),
    ("DD", "strftime(__t__, '%d')"), ("HH", "strftime(__t__, '%I')"),
    ("MI", "strftime(__t__, '%M')"), ("SS", "strftime(__t__, '%S')"),
    ("MS", "lpad(CAST(millisecond(__t__) % 1000 AS VARCHAR), 3, '0')"),
    ("US", "lpad(CAST(microsecond(__t__) % 1000000 AS VARCHAR), 6, '0')"),
    ("CC", "lpad(CAST((year(__t__) + 99) // 100 AS VARCHAR), 2, '0')"),
    ("ID", "CAST(isodow(__t__) AS VARCHAR)"),
    ("IW", "lpad(CAST(weekofyear(__t__) AS VARCHAR), 2, '0')"),
    ("WW", "lpad(CAST((dayofyear(__t__) - 1) // 7 + 1 AS VARCHAR), 2, '0')"),
    ("AM", "CASE WHEN hour(__t__) < 12 THEN 'AM' ELSE 'PM' END"),
    ("PM", "CASE WHEN hour(__t__) < 12 THEN 'AM' ELSE 'PM' END"),
    ("am", "CASE WHEN hour(__t__) < 12 THEN 'am' ELSE 'pm' END"),
    ("pm", "CASE WHEN hour(__t__) < 12 THEN 'am' ELSE 'pm' END"),
    ("Y", "right(CAST(year(__t__) AS VARCHAR), 1)"),
    ("Q", "CAST(quarter(__t__) AS VARCHAR)"),
    ("D", "CAST(dayofweek(__t__) + 1 AS VARCHAR)"),
    ("W", "CAST((day(__t__) - 1) // 7 + 1 AS VARCHAR)"),
)
# Elements whose Redshift meaning is not carried: refused by name rather than printed
# as literal text.
_DATETIME_REFUSED = ("FM", "fm", "TM", "TH", "th", "SP", "IYYY", "IYY", "IY", "IDDD", "J",
                     "RM", "rm", "TZ", "tz", "OF", "Y,YYY", "SSSS", "BC", "AD", "B.C.", "A.D.")
# Elements whose spelling sets the case of the output; the others match in any case.
_CASED_ELEMENTS = frozenset({"MONTH", "DAY", "MON", "DY", "AM", "PM", "A.M.", "P.M.", "RM"})
_NUMERIC_FORMAT = re.compile(r"^[90.,DGSLPRMIV$ ]*$|RN|rn|EEEE", re.IGNORECASE)


def _datetime_format_pieces(fmt: str) -> list[str]:
    elements = sorted([*_DATETIME_ELEMENTS, *((r, "") for r in _DATETIME_REFUSED)],
                      key=lambda e: -len(e[0]))
    pieces: list[str] = []
    literal: list[str] = []
    i = 0

    def flush() -> None:
        if literal:
            pieces.append("'" + "".join(literal).replace("'", "''") + "'")
            literal.clear()

    while i < len(fmt):
        if fmt[i] == '"':  # quoted literal text
            end = fmt.find('"', i + 1)
            if end < 0:
                raise RedshiftSqlError("invalid datetime format: unterminated quoted text")
            literal.append(fmt[i + 1:end])
            i = end + 1
            continue
        for element, sql in elements:
            written = fmt[i:i + len(element)]
            if written == element or (element.isupper() and element not in _CASED_ELEMENTS
                                      and written.upper() == element):
                if not sql:
                    raise UnsupportedSqlError(f"TO_CHAR datetime format element {element}")
                flush()
                pieces.append(sql)
                i += len(element)
                break
        else:
            literal.append(fmt[i])
            i += 1
    flush()
    return pieces


_NUMBER_ELEMENT = re.compile(r"(MI|PR|[90.DdGgSsLl,$]|.)", re.IGNORECASE)


def _number_format_sql(fmt: str) -> str:
    """DuckDB text formatting `__x__` with a Redshift number format model (PostgreSQL's
    rules): `9` a digit or a blank, `0` a digit or a leading zero, `.`/`D` the decimal
    point, `,`/`G` a group separator (a blank before the first digit), `S` a sign
    anchored to the number (`+`/`-`) or trailing, `MI` a trailing minus, `PR` angle
    brackets for negatives, `L` the currency symbol ($), other characters literal. With
    no sign element a blank or `-` goes right before the first digit; a number with too
    many digits prints as `#`s. Anything else (RN, EEEE, V, FM, TH) is refused.
    """
    prefix: list[str] = []
    integer: list[str] = []
    fraction: list[str] = []
    suffix: list[str] = []
    sign: str | None = None
    seen_point = False
    for match in _NUMBER_ELEMENT.finditer(fmt):
        element = match.group(1)
        upper = element.upper()
        if upper in ("9", "0"):
            (fraction if seen_point else integer).append(upper)
        elif upper in (".", "D"):
            if seen_point:
                raise UnsupportedSqlError("TO_CHAR number format with two decimal points")
            seen_point = True
        elif upper in (",", "G"):
            if seen_point:
                raise UnsupportedSqlError("TO_CHAR number format with a group separator "
                                          "after the decimal point")
            integer.append(",")
        elif upper in ("S", "MI", "PR"):
            if sign is not None:
                raise UnsupportedSqlError("TO_CHAR number format with two sign elements")
            sign = upper if (upper != "S" or integer or fraction) else "S-leading"
        elif upper == "L":
            (suffix if integer or fraction else prefix).append("$")
        elif upper.isalpha():
            raise UnsupportedSqlError(f"TO_CHAR number format element {element}")
        else:
            (suffix if integer or fraction else prefix).append(element)
    digits = [c for c in integer if c != ","]
    width = len(digits)
    zeros = width - digits.index("0") if "0" in digits else 0
    # the integer and fraction digits of |x| rounded to the format's decimals
    text = (f"CAST(CAST(ABS(CAST(__x__ AS DECIMAL(38, 10))) AS DECIMAL(38, {len(fraction)})) "
            "AS VARCHAR)")
    whole = f"split_part({text}, '.', 1)"
    int_digits = f"(CASE WHEN {whole} = '0' THEN '' ELSE {whole} END)"
    if zeros:
        int_digits = f"lpad({int_digits}, {zeros}, '0')"
    slots, k = [], 0
    for char in reversed(integer):
        if char == ",":
            slots.append(f"CASE WHEN length(__d__) > {k} THEN ',' ELSE ' ' END")
        else:
            k += 1
            slots.append(f"CASE WHEN length(__d__) >= {k} THEN substr(__d__, length(__d__) - "
                         f"{k - 1}, 1) ELSE ' ' END")
    body = " || ".join(reversed(slots)) if slots else "''"
    if seen_point:
        body += " || '.'"
        if fraction:
            body += f" || split_part({text}, '.', 2)"
    negative = "CAST(__x__ AS DOUBLE) < 0"
    if sign == "MI":
        signed = f"({body}) || CASE WHEN {negative} THEN '-' ELSE ' ' END"
    elif sign == "S":
        signed = f"({body}) || CASE WHEN {negative} THEN '-' ELSE '+' END"
    elif sign == "PR":
        signed = (f"CASE WHEN {negative} THEN lpad('<' || ltrim({body}, ' '), "
                  f"CAST(length({body}) + 1 AS INTEGER)) || '>' ELSE ' ' || ({body}) || ' ' END")
    else:
        mark = "'+'" if sign == "S-leading" else "' '"
        signed = (f"lpad(CASE WHEN {negative} THEN '-' ELSE {mark} END || ltrim({body}, ' '), "
                  f"CAST(length({body}) + 1 AS INTEGER))")
        if sign == "S-leading":
            signed = f"ltrim({signed}, ' ')" if not width else signed
    overflow = f"length({int_digits}) > {width}"
    total = sum(1 for _ in integer) + (1 + len(fraction) if seen_point else 0) + 1
    result = (f"CASE WHEN __x__ IS NULL THEN NULL WHEN {overflow} THEN repeat('#', {total}) "
              f"ELSE {signed} END")
    result = result.replace("__d__", int_digits)
    literal = lambda parts: "'" + "".join(parts).replace("'", "''") + "'"  # noqa: E731
    return " || ".join(p for p in (literal(prefix) if prefix else "", f"({result})",
                                   literal(suffix) if suffix else "") if p)


def to_char_datetime_formats(tree: exp.Expr) -> exp.Expr:
    """`TO_CHAR(timestamp, 'format')` element by element, as Redshift formats it.

    Month and day names pad to nine characters and follow the element's case
    (`MONTH`, `Month`, `month`; `DY`, `Dy`, `dy`); `HH`/`HH12`, `AM`/`PM`, `DDD`, `D`
    (Sunday is 1), `ID`, `Q`, `CC`, `W`, `WW`, `IW`, `MS`, `US` and quoted text are
    rendered; other elements (FM, TH, J, RM, TZ, ...) are refused by name. A number
    format (`9`, `0`, `D`, `G`, `S`, `MI`, `PR`, `L`) is rendered by `_number_format_sql`;
    RN, EEEE, V, FM and TH in it are refused. The format must be a literal.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if _call_name(node) != "TO_CHAR":
            return node
        if len(node.expressions) != 2:
            raise SqlSyntaxError(message="function to_char takes two arguments")
        value, fmt = node.expressions
        if not (isinstance(fmt, exp.Literal) and fmt.is_string):
            raise UnsupportedSqlError("TO_CHAR with a computed format")
        numeric = isinstance(value, (exp.Literal, exp.Neg)) and not (
            isinstance(value, exp.Literal) and value.is_string)
        if numeric or (_NUMERIC_FORMAT.search(fmt.this) and re.search(r"[09]|RN|rn", fmt.this)):
            unported = re.search(r"RN|EEEE|FM|TH|V", fmt.this, re.IGNORECASE)
            if unported:
                raise UnsupportedSqlError(f"TO_CHAR number format element {unported.group(0)}")
            if not re.search(r"[09]", fmt.this):
                raise UnsupportedSqlError("TO_CHAR of a number with a datetime format")
            return exp.Paren(this=_fill(_number_format_sql(fmt.this), x=value))
        pieces = _datetime_format_pieces(fmt.this)
        if not pieces:
            return exp.Literal.string("")
        sql = " || ".join(pieces) if len(pieces) > 1 else pieces[0]
        return exp.Paren(this=_fill(sql, t=exp.cast(value, exp.DType.TIMESTAMP)))

    return _post_order(tree, rule)


# PostgreSQL type names Redshift labels a cast column with (`SELECT '1'::INT` is `int4`).
_TYPE_LABELS = {
    exp.DType.INT: "int4", exp.DType.BIGINT: "int8", exp.DType.SMALLINT: "int2",
    exp.DType.DOUBLE: "float8", exp.DType.FLOAT: "float4", exp.DType.DECIMAL: "numeric",
    exp.DType.VARCHAR: "varchar", exp.DType.TEXT: "varchar", exp.DType.CHAR: "bpchar",
    exp.DType.BOOLEAN: "bool", exp.DType.DATE: "date", exp.DType.TIMESTAMP: "timestamp",
    exp.DType.TIMESTAMPTZ: "timestamptz", exp.DType.SUPER: "super",
}


def _redshift_label(node: exp.Expr) -> str:
    """The column name Redshift gives an unaliased select-list expression."""
    if isinstance(node, exp.Column):
        return node.parts[-1].name
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Identifier):
        return node.expression.name
    if isinstance(node, exp.Cast):
        if isinstance(node.this, (exp.Column, exp.Dot)):
            return _redshift_label(node.this)
        return _TYPE_LABELS.get(node.to.this, "?column?")
    if isinstance(node, exp.Window):
        return _redshift_label(node.this)
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if isinstance(node, exp.Case):
        return "case"
    if type(node) in ALLOWED_FUNCTIONS and not isinstance(node, exp.CurrentTimestamp):
        return ALLOWED_FUNCTIONS[type(node)].split("(")[0].split()[-1].lower()
    if isinstance(node, exp.CurrentTimestamp):
        return "timestamp" if node.args.get("sysdate") else "timestamptz"
    return "?column?"


def redshift_column_labels(tree: exp.Expr) -> exp.Expr:
    """Unaliased result columns get the names Redshift gives them.

    `COUNT(*)` is `count` (DuckDB: `count_star()`), a function call is its name, a
    column (or SUPER path) its last name part, a cast of anything else the
    PostgreSQL type name, everything else `?column?`
    (https://docs.aws.amazon.com/redshift/latest/dg/r_SELECT_list.html). The query's
    own result is labelled, and the columns a CREATE TABLE AS or CREATE VIEW makes;
    subqueries keep DuckDB's names, which no one sees.
    """
    select = tree
    if isinstance(tree, exp.Create) and isinstance(tree.expression, exp.Query):
        select = tree.expression  # CREATE TABLE AS / CREATE VIEW: the columns' names
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return tree
    for projection in list(select.expressions):
        if isinstance(projection, (exp.Alias, exp.Star, exp.Column)):
            continue  # DuckDB names a column (or SUPER path) by its last part, as Redshift
        label = _redshift_label(projection)
        projection.replace(exp.alias_(projection.copy(), label, quoted=True))
    return tree


def _is_string_literal(node: exp.Expr) -> bool:
    return isinstance(node, exp.Literal) and node.is_string


def comparisons_ignore_trailing_blanks(tree: exp.Expr) -> exp.Expr:
    """`x = 'abc  '`: trailing blanks are insignificant when Redshift compares strings.

    https://docs.aws.amazon.com/redshift/latest/dg/r_Character_types.html ("Trailing
    spaces in VARCHAR and CHAR values are treated as semantically insignificant when
    values are compared"); DuckDB compares them. A comparison with a string literal
    side compares both sides without trailing blanks when the other side is text
    (`typeof` decides, so a date compared with '2008-01-01' is untouched). Column-to-
    column comparisons are left alone (a join key would lose its hash join).
    """
    scope = _Scope.of(tree)

    def rule(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, tuple(_COMPARISONS)) or isinstance(
                node.parent, (exp.Update, exp.Property, exp.Properties, exp.SetItem)):
            return node  # `SET b = 'x'` of an UPDATE is an assignment, not a comparison
        a, b = node.this, node.expression
        if scope.is_super(a) or scope.is_super(b):
            return node
        if not (_is_string_literal(a) or _is_string_literal(b)):
            return node
        op = _COMPARISONS[type(node)]
        if _is_string_literal(a) and _is_string_literal(b):
            return exp.Paren(this=_fill(f"rtrim(__a__, ' ') {op} rtrim(__b__, ' ')", a=a, b=b))
        literal, other = (a, b) if _is_string_literal(a) else (b, a)
        trimmed = exp.Literal.string(literal.this.rstrip(" "))
        left, right = ("__l__", "rtrim(CAST(__o__ AS VARCHAR), ' ')") if literal is a else (
            "rtrim(CAST(__o__ AS VARCHAR), ' ')", "__l__")
        plain = f"__r__ {op} __o__" if literal is a else f"__o__ {op} __r__"
        sql = (f"CASE WHEN typeof(__o__) = 'VARCHAR' THEN {left} {op} {right} "
               f"ELSE {plain} END")
        return exp.Paren(this=_fill(sql, o=other, l=trimmed, r=literal))

    return _post_order(tree, rule)


def refuse_fixed_length_char(tree: exp.Expr) -> exp.Expr:
    """`CHAR(n)` / `BPCHAR` columns and casts are refused: Redshift pads them with blanks
    (and returns the padding), DuckDB stores plain VARCHAR
    (https://docs.aws.amazon.com/redshift/latest/dg/r_Character_types.html)."""
    for node in tree.find_all(exp.DataType):
        if node.this in (exp.DType.CHAR, exp.DType.NCHAR, exp.DType.BPCHAR):
            raise UnsupportedSqlError("CHAR(n) fixed-length blank-padded strings (use VARCHAR)")
    return tree


def add_months_keeps_month_end(tree: exp.Expr) -> exp.Expr:
    """`ADD_MONTHS(d, n)`: a TIMESTAMP n months later; the last day of a month stays the last
    day (`ADD_MONTHS('2008-04-30', 1)` is 2008-05-31), a later day clamps to the month end
    (https://docs.aws.amazon.com/redshift/latest/dg/r_ADD_MONTHS.html). DATEADD(month)
    only clamps.
    """
    template = (
        "CASE WHEN CAST(__d__ AS DATE) = last_day(CAST(__d__ AS DATE)) "
        "THEN CAST(last_day(CAST(__d__ AS TIMESTAMP) + to_months(CAST(__n__ AS INTEGER))) AS "
        "TIMESTAMP) + (CAST(__d__ AS TIMESTAMP) - date_trunc('day', CAST(__d__ AS TIMESTAMP))) "
        "ELSE CAST(__d__ AS TIMESTAMP) + to_months(CAST(__n__ AS INTEGER)) END")

    def rule(node: exp.Expr) -> exp.Expr:
        if _call_name(node) != "ADD_MONTHS":
            return node
        if len(node.expressions) != 2:
            raise SqlSyntaxError(message="function add_months takes two arguments")
        date, months = node.expressions
        return exp.Paren(this=_fill(template, d=date, n=months))

    return _post_order(tree, rule)


# Date parts whose DuckDB value differs from Redshift's: DuckDB's millisecond and
# microsecond count the seconds in (43101 where Redshift documents 101 for 43.101 s).
_SUBSECOND_DATEPARTS = {
    **dict.fromkeys(("MS", "MSEC", "MSECS", "MSECOND", "MSECONDS", "MILLISECOND",
                     "MILLISECONDS", "MILLISECON"), ("MILLISECOND", 1000)),
    **dict.fromkeys(("US", "USEC", "USECS", "USECOND", "USECONDS", "MICROSECOND",
                     "MICROSECONDS"), ("MICROSECOND", 1000000)),
}
_REFUSED_DATEPARTS = frozenset({"TIMEZONE", "TIMEZONE_HOUR", "TIMEZONE_MINUTE"})


def subsecond_dateparts(tree: exp.Expr) -> exp.Expr:
    """DATE_PART / EXTRACT of milliseconds or microseconds: the part within the second
    (https://docs.aws.amazon.com/redshift/latest/dg/r_EXTRACT_function.html: ms of
    12:08:43.101 is 101; r_DATE_PART_function.html: microsecond of 04:05:06.789 is
    789000). Time zone fields are refused.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Extract) or node.this is None:
            return node
        part = node.this.name.upper()
        if part in _REFUSED_DATEPARTS:
            raise UnsupportedSqlError(f"date part {part.lower()} (time zone fields are not "
                                      "ported)")
        if part in _SUBSECOND_DATEPARTS:
            unit, modulus = _SUBSECOND_DATEPARTS[part]
            extract = exp.Extract(this=exp.var(unit), expression=node.expression)
            return exp.Paren(this=exp.Mod(this=extract, expression=exp.Literal.number(modulus)))
        return node

    return _post_order(tree, rule)


def reject_unpivot(tree: exp.Expr) -> exp.Expr:
    """PartiQL object unpivoting (`UNPIVOT m.entities AS v AT k`) and PIVOT are not ported."""
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


# --------------------------------------------------------------------------- the allow-list
#
# Refuse by default: a statement reaches DuckDB only when every node of its syntax tree
# is a construct listed here, which the tree rules below render as Redshift answers.
# Everything else (a Redshift function not ported yet, a DuckDB-only name that Redshift
# lacks, a clause Redshift rejects) fails with `unsupported on the embedded warehouse:
# <construct>` before DuckDB sees it. docs/redshift-sql.md lists what passes, generated
# from the documentation corpus (tests/conformance/corpus.txt).

# Syntax (not functions): queries, DML and the loader's DDL.
_ALLOWED_SYNTAX: tuple[type[exp.Expr], ...] = (
    # statements and clauses
    exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery, exp.From, exp.Join,
    exp.Where, exp.Group, exp.Having, exp.Order, exp.Ordered, exp.Limit, exp.Offset,
    exp.With, exp.CTE, exp.TableAlias, exp.Alias, exp.Values, exp.Distinct, exp.Insert,
    exp.Update, exp.Delete, exp.Create, exp.Drop, exp.TruncateTable, exp.Schema,
    exp.ColumnDef, exp.ColumnConstraint, exp.NotNullColumnConstraint, exp.PrimaryKey,
    exp.PrimaryKeyColumnConstraint, exp.DefaultColumnConstraint, exp.UniqueColumnConstraint,
    exp.Properties, exp.TemporaryProperty, exp.Tuple,
    # names and values
    exp.Table, exp.Column, exp.Identifier, exp.Literal, exp.Null, exp.Boolean, exp.Star,
    exp.Paren, exp.DataType, exp.DataTypeParam, exp.Var, exp.Interval, exp.Placeholder,
    exp.Parameter, exp.Bracket, exp.Dot, exp.Unnest, exp.AtIndex, exp.Pivot,
    # operators and conditions
    exp.And, exp.Or, exp.Not, exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE, exp.Is,
    exp.In, exp.Between, exp.Like, exp.ILike, exp.SimilarTo, exp.Add, exp.Sub, exp.Mul,
    exp.Div, exp.Mod, exp.Neg, exp.DPipe, exp.Exists, exp.Any, exp.All, exp.Case, exp.If,
    exp.Cast, exp.AtTimeZone,
    # window and ordered-set syntax (frames are checked in `refuse_what_is_not_listed`)
    exp.Window, exp.WindowSpec, exp.WithinGroup,
)

# Functions, by the sqlglot class Redshift's name parses into, with that Redshift name.
ALLOWED_FUNCTIONS: dict[type[exp.Expr], str] = {
    # numbers
    exp.Abs: "ABS", exp.Acos: "ACOS", exp.Asin: "ASIN", exp.Atan: "ATAN", exp.Atan2: "ATAN2",
    exp.Cbrt: "CBRT", exp.Ceil: "CEILING", exp.Floor: "FLOOR", exp.Cos: "COS", exp.Cot: "COT",
    exp.Sin: "SIN", exp.Tan: "TAN", exp.Degrees: "DEGREES", exp.Radians: "RADIANS",
    exp.Exp: "EXP", exp.Ln: "LN", exp.Log: "LOG", exp.Pi: "PI", exp.Pow: "POWER",
    exp.Round: "ROUND", exp.Sign: "SIGN", exp.Sqrt: "SQRT", exp.Trunc: "TRUNC",
    # text
    exp.Ascii: "ASCII", exp.Chr: "CHR", exp.Concat: "CONCAT", exp.Initcap: "INITCAP",
    exp.Left: "LEFT", exp.Right: "RIGHT", exp.Length: "LEN", exp.Lower: "LOWER",
    exp.Upper: "UPPER", exp.Pad: "LPAD", exp.Trim: "TRIM", exp.MD5: "MD5",
    exp.Repeat: "REPEAT", exp.Replace: "REPLACE", exp.Reverse: "REVERSE",
    exp.SplitPart: "SPLIT_PART", exp.StrPosition: "STRPOS", exp.Substring: "SUBSTRING",
    exp.Translate: "TRANSLATE", exp.RegexpCount: "REGEXP_COUNT",
    exp.RegexpReplace: "REGEXP_REPLACE", exp.RegexpExtract: "REGEXP_SUBSTR",
    # conditionals
    exp.Coalesce: "NVL", exp.Nvl2: "NVL2", exp.DecodeCase: "DECODE", exp.Nullif: "NULLIF",
    exp.Greatest: "GREATEST", exp.Least: "LEAST",
    # dates and times
    exp.TsOrDsAdd: "DATEADD", exp.TsOrDsDiff: "DATEDIFF", exp.TimestampTrunc: "DATE_TRUNC",
    exp.Extract: "DATE_PART", exp.ConvertTimezone: "CONVERT_TIMEZONE",
    exp.CurrentTimestamp: "SYSDATE", exp.CurrentDate: "CURRENT_DATE",
    exp.LastDay: "LAST_DAY",
    # aggregates
    exp.Count: "COUNT", exp.Sum: "SUM", exp.Avg: "AVG", exp.Min: "MIN", exp.Max: "MAX",
    exp.Median: "MEDIAN", exp.ApproxDistinct: "APPROXIMATE COUNT(DISTINCT)",
    exp.GroupConcat: "LISTAGG", exp.LogicalAnd: "BOOL_AND", exp.LogicalOr: "BOOL_OR",
    exp.Stddev: "STDDEV", exp.StddevSamp: "STDDEV_SAMP", exp.StddevPop: "STDDEV_POP",
    exp.Variance: "VARIANCE", exp.VariancePop: "VAR_POP", exp.PercentileCont: "PERCENTILE_CONT",
    # window functions
    exp.RowNumber: "ROW_NUMBER", exp.Rank: "RANK", exp.DenseRank: "DENSE_RANK",
    exp.Lag: "LAG", exp.Lead: "LEAD", exp.FirstValue: "FIRST_VALUE",
    exp.LastValue: "LAST_VALUE", exp.Ntile: "NTILE", exp.CumeDist: "CUME_DIST",
    exp.PercentRank: "PERCENT_RANK",
}
# Functions sqlglot keeps as plain calls: the SUPER/JSON functions the tree rules port,
# and Redshift functions a rule below renders.
ALLOWED_CALLS = frozenset({
    *PORTED_SUPER_FUNCTIONS, "GETDATE", "OCTET_LENGTH", "IS_VALID_JSON", "IS_VALID_JSON_ARRAY",
    "JSON_ARRAY_LENGTH", "JSON_EXTRACT_ARRAY_ELEMENT_TEXT", "RATIO_TO_REPORT", "TO_CHAR",
    "ADD_MONTHS", "BTRIM", "TEXTLEN",
})
# sqlglot folds several spellings into one class; the refusal names what was written.
_AGGREGATE_CLASSES: tuple[type[exp.Expr], ...] = (
    exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max, exp.Median, exp.ApproxDistinct,
    exp.GroupConcat, exp.LogicalAnd, exp.LogicalOr, exp.Stddev, exp.StddevSamp,
    exp.StddevPop, exp.Variance, exp.VariancePop,
)


# Redshift functions called without parentheses that sqlglot reads as column names.
_NILADIC_FUNCTIONS = frozenset({
    "CURRENT_AWS_ACCOUNT", "CURRENT_NAMESPACE", "CURRENT_USER_ID", "SESSION_USER", "USER",
    "CURRENT_USER", "LOCALTIMESTAMP", "LOCALTIME", "CURRENT_TIME",
})


def _construct_name(node: exp.Expr) -> str:
    """What the analyst wrote, as far as the tree tells: a function's name, else the syntax."""
    if isinstance(node, exp.Anonymous):
        return f"function {node.name.upper()}"
    if isinstance(node, exp.Func):
        return f"function {node.sql_name()}"
    return re.sub(r"(?<!^)(?=[A-Z])", " ", type(node).__name__).upper()


def _names_an_object(identifier: exp.Identifier) -> bool:
    """A bare name Redshift's grammar reads as an identifier: a table, an alias in FROM,
    or the first part of a column reference. After a dot (`m.raw`) or `AS` in a select
    list, PostgreSQL's grammar takes reserved words as labels, so those pass."""
    parent = identifier.parent
    if isinstance(parent, exp.Column):
        return identifier is parent.parts[0]
    return isinstance(parent, (exp.Table, exp.TableAlias)) and parent.args.get("db") is not \
        identifier and parent.args.get("catalog") is not identifier


def refuse_what_is_not_listed(tree: exp.Expr) -> exp.Expr:
    """Refuse every construct outside the allow-list, and those Redshift itself rejects.

    - a function or syntax node not in `ALLOWED_FUNCTIONS` / `ALLOWED_CALLS` /
      `_ALLOWED_SYNTAX` (DuckDB-only names such as `LIST_VALUE` included);
    - `FILTER (WHERE ...)` on an aggregate, which Redshift does not have;
    - a `RANGE` (or `GROUPS`) window frame: Redshift frames are `ROWS` only
      (https://docs.aws.amazon.com/redshift/latest/dg/r_Window_function_synopsis.html);
    - an aggregate window function with ORDER BY and no frame clause, which
      Redshift rejects ("Aggregate window functions with an ORDER BY clause
      require a frame clause"); DuckDB would default to a RANGE frame.
    """
    for node in list(tree.walk()):
        if type(node) is exp.TryCast:
            # Only CONVERT(type, x) reaches here as TRY_CAST (text TRY_CAST is refused by
            # `reject_duckdb_spellings`); Redshift's CONVERT fails on bad input like CAST.
            node.replace(exp.Cast(this=node.this, to=node.to))
            continue
        if isinstance(node, exp.Select) and not node.expressions:
            raise SqlSyntaxError()  # a bare SELECT: "syntax error at end of input"
        if isinstance(node, exp.Filter):
            raise UnsupportedSqlError("FILTER (WHERE ...) on an aggregate (Redshift has no FILTER)")
        if isinstance(node, exp.WindowSpec) and str(node.args.get("kind") or "").upper() != "ROWS":
            raise UnsupportedSqlError(
                f"{node.args.get('kind')} window frame (Redshift frames are ROWS only)"
            )
        if isinstance(node, exp.Window) and isinstance(node.this, _AGGREGATE_CLASSES) \
                and node.args.get("order") is not None and node.args.get("spec") is None:
            raise UnsupportedSqlError(
                "aggregate window function with ORDER BY and no frame clause (Redshift "
                "requires one: add ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
            )
        if isinstance(node, exp.Paren) and isinstance(node.this, exp.Is) and isinstance(
                node.parent, (exp.Binary, exp.Not)) and not isinstance(node.parent, exp.Connector):
            # sqlglot binds IS tighter than `<`, `=` ...; Redshift (PostgreSQL) the other
            # way round, and both spellings reach here as the same tree.
            raise UnsupportedSqlError("IS next to a comparison or operator without "
                                      "parentheses (write (a < b) IS TRUE)")
        if isinstance(node, (exp.Like, exp.ILike)) and isinstance(node.expression, exp.Literal) \
                and "\\" in node.expression.this:
            raise UnsupportedSqlError("LIKE pattern with a backslash (Redshift's escape "
                                      "character); DuckDB's LIKE has none")
        if isinstance(node, exp.Column) and len(node.parts) == 1 and not node.this.quoted \
                and node.name.upper() in _NILADIC_FUNCTIONS:
            raise UnsupportedSqlError(f"function {node.name.upper()}")
        if isinstance(node, exp.Values) and not isinstance(node.parent, exp.Insert):
            # r_INSERT_30.html documents VALUES lists for INSERT only.
            raise UnsupportedSqlError("VALUES list outside INSERT")
        if isinstance(node, exp.Tuple) and isinstance(node.parent, exp.Binary):
            raise UnsupportedSqlError("row constructor comparison")
        if isinstance(node, exp.Star) and any(node.args.get(k) for k in ("except_", "except",
                                                                          "replace", "rename")):
            raise UnsupportedSqlError("SELECT * EXCLUDE/REPLACE/RENAME (DuckDB only)")
        if isinstance(node, exp.Bracket) and isinstance(node.this, exp.Literal):
            raise UnsupportedSqlError("subscript of a literal (DuckDB only)")
        if isinstance(node, exp.Identifier) and not node.quoted \
                and node.name.lower() in RESERVED_WORDS and _names_an_object(node):
            raise SqlSyntaxError(node.name)  # a reserved word must be "quoted" on Redshift
        if isinstance(node, exp.Anonymous):
            if node.name.upper() not in ALLOWED_CALLS:
                raise UnsupportedSqlError(_construct_name(node))
        elif type(node) not in ALLOWED_FUNCTIONS and type(node) not in _ALLOWED_SYNTAX:
            raise UnsupportedSqlError(_construct_name(node))
    return tree


TREE_RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (
    refuse_what_is_not_listed,
    redshift_column_labels,
    refuse_fixed_length_char,
    reject_unpivot,
    reject_positional_parameters,
    super_to_variant,
    varchar_without_length,
    getdate_sysdate_to_utc_timestamp,
    partiql_unnest,
    comparisons_ignore_trailing_blanks,
    super_attribute_names_lower_case,
    super_subscript_zero_based,
    json_parse_to_variant,
    super_dynamic_typing,
    super_functions,
    json_extract_path_text,
    typed_division,
    integer_sum_avg_as_bigint,
    listagg_like_redshift,
    datediff_week_boundaries,
    convert_timezone_names,
    octet_length_of_text,
    concat_null_is_null,
    similar_to_as_regex,
    substring_before_position_one,
    regexp_replace_every_match,
    regexp_substr_parameters,
    ratio_to_report,
    json_text_functions,
    redshift_spellings,
    trunc_of_a_timestamp,
    to_char_datetime_formats,
    add_months_keeps_month_end,
    subsecond_dateparts,
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


_USER_STATEMENTS = (
    ("CREATE", "USER"), ("ALTER", "USER"), ("DROP", "USER"),
    ("CREATE", "ROLE"), ("DROP", "ROLE"), ("ALTER", "DEFAULT"),
)


def database_user_statement(tokens: Sequence[Token], sql: str) -> Statement | None:
    """CREATE/ALTER/DROP USER, CREATE/DROP ROLE, ALTER DEFAULT PRIVILEGES (issue 13).

    The embedded warehouse is one DuckDB file with no users, roles or privileges, so
    `pipeline warehouse init`'s users and grants succeed without effect (GRANT and
    REVOKE are no-ops in `maintenance_statement`).
    """
    words = tuple(_word(t) for t in tokens[:2])
    return NoOp(reason=" ".join(words)) if words in _USER_STATEMENTS else None


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
    database_user_statement,
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
        if first == "SET" and len(tokens) > 1:  # session settings: valid Redshift, not ported
            raise UnsupportedSqlError(f"SET {tokens[1].text}") from err
        if any(_word(t) == "APPROXIMATE" for t in tokens):
            raise UnsupportedSqlError("APPROXIMATE (other than APPROXIMATE COUNT(DISTINCT))") \
                from err
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
    """Translate one Redshift statement; cached, since the loader repeats its texts.

    Raises only `SqlSyntaxError` / `RedshiftSqlError` (Redshift would reject the text)
    and `UnsupportedSqlError` (the embedded warehouse refuses it), never anything else.
    """
    try:
        return _translate(sql)
    except (RedshiftSqlError, UnsupportedSqlError):
        raise
    except (ParseError, TokenError) as err:
        raise SqlSyntaxError(message=f"syntax error ({str(err).splitlines()[0][:200]})") from err
    except Exception as err:  # a rule met a shape it was not written for: refuse, no traceback
        raise UnsupportedSqlError(
            f"a construct the translation does not handle ({type(err).__name__}: {err})"
        ) from err


def _translate(sql: str) -> Statement:
    text, tokens = _single_statement(sql)
    for statement_rule in STATEMENT_RULES:
        statement = statement_rule(tokens, text)
        if statement is not None:
            return statement
    for text_rule in TEXT_RULES:
        text = text_rule(text)
    tree = _parse(text, _tokenize(text))
    try:
        for tree_rule in TREE_RULES:
            tree = tree_rule(tree)
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
