"""sqlglot's Redshift dialect as the embedded warehouse parses it, and token helpers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from sqlglot import exp
from sqlglot.dialects.redshift import Redshift
from sqlglot.errors import TokenError
from sqlglot.parsers.redshift import RedshiftParser
from sqlglot.tokens import Token, TokenType

from pipeline.offline.warehouse.translate.errors import SqlSyntaxError
from pipeline.offline.warehouse.translate.registry import REGISTRY, TEXT_KINDS

# Redshift SUPER / JSON functions the tree rules port. sqlglot would fold several of
# them into its own JSON expressions (IS_ARRAY -> JSON_TYPE(x) = 'ARRAY', JSON_PARSE ->
# JSON(x), JSON_EXTRACT_PATH_TEXT -> a `->>` path keeping only the first key), which
# answer wrongly on VARIANT; the parser keeps them as plain calls for the rules instead.
PORTED_SUPER_FUNCTIONS = frozenset({
    "ARRAY_CONCAT", "CAN_JSON_PARSE", "GET_ARRAY_LENGTH", "IS_ARRAY", "IS_BIGINT", "IS_BOOLEAN",
    "IS_DECIMAL", "IS_FLOAT", "IS_INTEGER", "IS_OBJECT", "IS_SCALAR", "IS_SMALLINT", "IS_VARCHAR",
    "JSON_EXTRACT_PATH_TEXT", "JSON_PARSE", "JSON_SERIALIZE", "JSON_TYPEOF", "SPLIT_TO_ARRAY",
})


# Arguments never converted to text: text already, NULL, `*`, lambdas, named arguments,
# and DISTINCT (DuckDB's LISTAGG(DISTINCT x ORDER BY x) needs x itself; its LISTAGG
# converts a number to text by itself).
_NOT_CONVERTED = (exp.Null, exp.Star, exp.Distinct, exp.PropertyEQ, exp.Kwarg, exp.Lambda,
                  exp.Placeholder)


# The text arguments of the calls sqlglot parses with its own function parsers (the
# keyword forms SUBSTRING(s FROM 2), POSITION(a IN s), TRIM('x' FROM s)), which
# `_parse_function_args` does not see, by sqlglot's argument name.
_KEYWORD_FORM_TEXT: dict[type[exp.Expr], tuple[str, ...]] = {
    exp.Substring: ("this",), exp.StrPosition: ("this", "substr"),
    exp.Trim: ("this", "expression"),
}
_TEMPORAL_KINDS = {"timestamp": "TIMESTAMP", "date": "DATE", "timestamptz": "TIMESTAMPTZ"}


def _as_text(arg: exp.Expr) -> exp.Expr:
    if isinstance(arg, _NOT_CONVERTED) or (isinstance(arg, exp.Literal) and arg.is_string) \
            or arg.meta.get("implicit_text"):
        return arg
    cast = exp.Cast(this=arg, to=exp.DataType.build("VARCHAR"))
    cast.meta["implicit_text"] = True
    return cast


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
        "TO_DATE": _call("TO_DATE"),  # the same, for `to_date_formats`
        "TO_TIMESTAMP": _call("TO_TIMESTAMP"),  # and TO_TIMESTAMP, its TIMESTAMPTZ sibling
        "TO_NUMBER": _call("TO_NUMBER"),  # for `to_number_formats`
        "MONTHS_BETWEEN": _call("MONTHS_BETWEEN"),
        "REPLICATE": exp.Repeat.from_arg_list,  # r_REPLICATE.html: a synonym of REPEAT
        # sqlglot folds ADD_MONTHS into DATEADD; their month-end rules differ.
        "ADD_MONTHS": _call("ADD_MONTHS"),
        **{name: _call(name) for name in PORTED_SUPER_FUNCTIONS},
    }

    def _parse_function_args(self, alias: bool = False) -> list[exp.Expr]:
        """A call's arguments, with text implicitly converted where the registry's
        synopsis takes text (LEN(12345), SPLIT_PART(a_timestamp, '-', 1)): Redshift
        converts a number, date or timestamp to a character string there, and DuckDB
        has no such functions. The cast is marked `implicit_text`, so a SUPER argument
        keeps Redshift's own rule instead (only a string counts: `super_dynamic_typing`)."""
        name = self._tokens[self._index - 2].text if self._index >= 2 else ""
        args = super()._parse_function_args(alias)
        kinds = REGISTRY.argument_kinds(name)
        if kinds is None:
            return args
        for i, arg in enumerate(args):
            kind = kinds[min(i, len(kinds) - 1)]
            if kind in TEXT_KINDS:
                args[i] = _as_text(arg)
            elif kind in _TEMPORAL_KINDS and isinstance(arg, exp.Literal) and arg.is_string:
                # '20080305 12:25:29' given as a timestamp: `datetime_literals_as_iso`
                # reads it the way Redshift does.
                args[i] = exp.Cast(this=arg, to=exp.DataType.build(_TEMPORAL_KINDS[kind]))
        return args

    # Redshift's prefix operators beside unary minus and ~ (r_OPERATOR_SYMBOLS.html):
    # `@` absolute value, `|/` square root, `||/` cube root. sqlglot reads `@` as a
    # parameter marker (`@ -5` was a syntax error) and binds `|/` to the nearest operand.
    _PREFIX_OPERATORS: dict[tuple[TokenType, str], type[exp.Func]] = {  # noqa: RUF012
        (TokenType.PARAMETER, "@"): exp.Abs,
        (TokenType.PIPE_SLASH, "|/"): exp.Sqrt,
        (TokenType.DPIPE_SLASH, "||/"): exp.Cbrt,
    }

    def _parse_unary(self) -> exp.Expr | None:
        """A prefix operator takes, as in PostgreSQL's grammar that Redshift keeps, the
        operand up to the next operator that binds less tightly than + and -:
        `@ x + 1` is ABS(x + 1), `|/ 16 + 9` is 5. Redshift has no `@name` parameters,
        so every `@` is the operator (`$1` stays a parameter)."""
        curr = self._curr
        func = curr and self._PREFIX_OPERATORS.get((curr.token_type, curr.text))
        if func:
            self._advance()
            return self.expression(func(this=self._parse_term()))
        return super()._parse_unary()

    def _parse_function_call(self, *args: Any, **kwargs: Any) -> exp.Expr | None:
        """Every call remembers how the analyst wrote it: `meta["written"]` (the name,
        `RPAD` though sqlglot's node is a Pad), `meta["arity"]` (the arguments as
        written), `meta["parens"]` and `meta["distinct"]`, which the registry's shape
        check and the column labels read; sqlglot folds synonyms and optional
        arguments into one node and forgets them."""
        start, token = self._index, self._curr
        result = super()._parse_function_call(*args, **kwargs)
        if result is None or token is None:
            return result
        call = result
        while isinstance(call, (exp.Window, exp.IgnoreNulls, exp.RespectNulls,
                                exp.WithinGroup, exp.Filter)):
            call = call.this
        if isinstance(call, exp.Func) and "written" not in call.meta:
            written = token.text.upper()
            if written == "APPROXIMATE" and start + 1 < len(self._tokens):
                start += 1  # APPROXIMATE COUNT(DISTINCT x): the call is COUNT's
                written = f"{written} {self._tokens[start].text.upper()}"
            for key in _KEYWORD_FORM_TEXT.get(type(call), ()):
                if call.args.get(key) is not None:
                    call.set(key, _as_text(call.args[key]))
            call.meta["written"] = written
            call.meta["arity"] = written_arity(self._tokens, start)
            call.meta["parens"] = start + 1 < len(self._tokens) and (
                self._tokens[start + 1].token_type == TokenType.L_PAREN)
            call.meta["distinct"] = call.meta["parens"] and start + 2 < len(self._tokens) and (
                self._tokens[start + 2].token_type == TokenType.DISTINCT)
        return result


class EmbeddedRedshift(Redshift):
    """sqlglot's Redshift dialect with GETDATE() and the SUPER functions kept as calls."""

    Parser = _EmbeddedRedshiftParser


_TOKENIZER_DIALECT = Redshift()

# Words whose sqlglot fallback to a raw Command means "valid Redshift, not ported",
# as opposed to a typo (which Redshift answers with a syntax error).
REDSHIFT_COMMANDS = frozenset({
    "ALTER", "ATTACH", "CALL", "CANCEL", "CLOSE", "COMMENT", "CREATE", "DEALLOCATE",
    "DECLARE", "DETACH", "DROP", "EXECUTE", "EXPLAIN", "FETCH", "INSERT", "MERGE",
    "PREPARE", "REFRESH", "RESET", "SELECT", "SET", "SHOW", "TRUNCATE", "UNLOAD",
    "UPDATE", "DELETE", "WITH",
})
STATEMENT_ROOTS = (
    exp.Query, exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop,
    exp.Alter, exp.TruncateTable, exp.Describe, exp.Set, exp.Comment, exp.Command,
)


# --------------------------------------------------------------------------- token helpers


def tokens_of(sql: str) -> list[Token]:
    try:
        return _TOKENIZER_DIALECT.tokenize(sql)
    except TokenError as err:
        tail = sql[sql.rfind("'"):][:40] if "'" in sql else sql[-40:]
        raise SqlSyntaxError(message=f'unterminated quoted string at or near "{tail}"') from err


def word_of(token: Token | None) -> str:
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
    if not tokens or word_of(tokens[0]) != "CREATE":
        return ()
    for i, tok in enumerate(tokens):
        if tok.token_type in (TokenType.SELECT, TokenType.WITH):
            return tokens[:i]
    return tokens


def strip_clauses(sql: str, keyword: str, takes: Literal["word", "parens", "optional"],
                   prefixes: frozenset[str] = frozenset()) -> str:
    tokens = _ddl_clause_tokens(tokens_of(sql))
    spans: list[tuple[int, int]] = []
    for i, tok in enumerate(tokens):
        if word_of(tok) != keyword:
            continue
        if i > 0 and tokens[i - 1].token_type in (TokenType.L_PAREN, TokenType.COMMA):
            continue  # a column *named* like the keyword, e.g. `(encode VARCHAR, ...)`
        start, end = tok.start, tok.end
        if i > 0 and word_of(tokens[i - 1]) in prefixes:
            start = tokens[i - 1].start
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt is not None and nxt.token_type == TokenType.L_PAREN and takes != "word":
            end = tokens[_paren_end(tokens, i + 1)].end
        elif nxt is not None and (takes == "word" or (takes == "optional"
                                                      and word_of(nxt) == "AUTO")):
            end = nxt.end
        spans.append((start, end))
    return _remove_spans(sql, spans)


# The keyword forms of a call, and the words that separate their arguments:
# EXTRACT(day FROM d), POSITION('a' IN s), SUBSTRING(s FROM 2 FOR 3), TRIM('x' FROM s).
_ARGUMENT_WORDS = {
    "EXTRACT": frozenset({TokenType.FROM}), "POSITION": frozenset({TokenType.IN}),
    "SUBSTRING": frozenset({TokenType.FROM, TokenType.FOR}), "TRIM": frozenset({TokenType.FROM}),
}


def written_arity(tokens: Sequence[Token], start: int) -> int:
    """How many arguments the call whose name is `tokens[start]` was written with.

    0 for a name without parentheses (SYSDATE) and for `()`; otherwise one more than
    the commas (and the keyword form's argument words) at the call's own depth.
    """
    if start + 1 >= len(tokens) or tokens[start + 1].token_type != TokenType.L_PAREN:
        return 0
    words = _ARGUMENT_WORDS.get(tokens[start].text.upper(), frozenset())
    depth, count, empty = 0, 1, True
    for tok in tokens[start + 1:]:
        if tok.token_type == TokenType.L_PAREN:
            depth += 1
            if depth == 1:
                continue
        elif tok.token_type == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                break
        elif depth == 1 and (tok.token_type == TokenType.COMMA
                             or tok.token_type in words):
            count += 1
        empty = False
    return 0 if empty else count
