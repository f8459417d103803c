"""Redshift SQL -> DuckDB for the embedded warehouse: sqlglot plus the project's named rules.

`translate(sql)` turns one Redshift statement into what the embedded server runs:
a `Query` (DuckDB text), or a statement the executor carries out itself (`Lock`,
`Copy`, `Transaction`, `NoOp`). It is pure and cached: the loader sends the same
texts every batch. Its one caller is the engine's entry point, `Session.run`
(engine.py), which the Data API server, `connect("local")` and the corpus call.

The package, one concern a module:

- `errors.py`: the statement kinds and the errors (`UnsupportedSqlError`,
  `RedshiftSqlError`, `SqlSyntaxError`);
- `statements.py`, `copy_grammar.py`: `STATEMENT_RULES`, the statements DuckDB must
  not see (LOCK, COPY, transaction control, maintenance, users);
- `dialect.py`: the parser (GETDATE, TO_CHAR, ADD_MONTHS and the SUPER functions kept
  as calls; every call remembers its written name and arity) and token helpers;
- `text_rules.py`: `TEXT_RULES`, Redshift-only DDL clauses sqlglot cannot parse;
- `registry.py`: one entry per Redshift function, its documented synopsis, result
  type, label and rendering; `shapes.py` checks every call and syntax node against
  it and refuses the rest (`refuse_what_is_not_listed`, the first tree rule);
- `labels.py`: result column names as Redshift gives them;
- `literals.py`: date and timestamp literals in Redshift's input formats, as ISO;
- `numeric_types.py`: Redshift's numeric result types at translation (the session's
  column types in a `Catalog`), DECIMAL arithmetic rendered exact at those types;
- `super_rules.py`, `tree_rules.py`, `text_functions.py`, `to_char.py`: the
  `TREE_RULES` rewriting SUPER, functions, operators and TO_CHAR formats into DuckDB
  that answers alike;
- sqlglot finally writes DuckDB, raising on anything it cannot express.

Anything outside the registry or the syntax allow-list raises
`UnsupportedSqlError(construct)`, never a silently different answer; Redshift-invalid
text raises `SqlSyntaxError` / `RedshiftSqlError` with Redshift's wording; `translate`
raises nothing else. tests/conformance/corpus.txt holds the documented behaviours the
result is checked against (tests/integration/test_conformance.py).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, TokenError, UnsupportedError
from sqlglot.tokens import Token, TokenType

from pipeline.offline.warehouse.translate.column_lengths import varchar_lengths_checked
from pipeline.offline.warehouse.translate.date_parts import (
    dateparts_as_redshift,
    months_between_as_the_page_counts,
)
from pipeline.offline.warehouse.translate.dialect import (
    PORTED_SUPER_FUNCTIONS,
    REDSHIFT_COMMANDS,
    STATEMENT_ROOTS,
    EmbeddedRedshift,
    tokens_of,
    word_of,
)
from pipeline.offline.warehouse.translate.errors import (
    Copy,
    Lock,
    NoOp,
    Query,
    RedshiftSqlError,
    SqlSyntaxError,
    Statement,
    Transaction,
    UnsupportedSqlError,
)
from pipeline.offline.warehouse.translate.labels import (
    identifiers_fold_to_lower_case,
    redshift_column_labels,
)
from pipeline.offline.warehouse.translate.literals import datetime_literals_as_iso
from pipeline.offline.warehouse.translate.numeric_types import (
    EMPTY,
    UNREAD,
    Catalog,
    CatalogNeeded,
    typed_division,
)
from pipeline.offline.warehouse.translate.set_operations import with_checks
from pipeline.offline.warehouse.translate.shapes import (
    ALLOWED_CALLS,
    ALLOWED_FUNCTIONS,
    refuse_what_is_not_listed,
)
from pipeline.offline.warehouse.translate.statements import STATEMENT_RULES
from pipeline.offline.warehouse.translate.super_rules import (
    array_concat_of_variants,
    json_extract_path_text,
    json_parse_to_variant,
    partiql_unnest,
    split_to_array_as_variant,
    super_attribute_names_lower_case,
    super_dynamic_typing,
    super_functions,
    super_subscript_zero_based,
    super_to_variant,
)
from pipeline.offline.warehouse.translate.text_functions import (
    chr_ascii_only,
    concat_null_is_null,
    json_text_functions,
    nullif_ignores_trailing_blanks,
    octet_length_of_text,
    quote_functions,
    regexp_instr_parameters,
    regexp_replace_every_match,
    regexp_substr_parameters,
    similar_to_as_regex,
    substring_before_position_one,
)
from pipeline.offline.warehouse.translate.text_rules import (
    UNPORTED_SUPER_FUNCTIONS,
    reject_unported_super_functions,
    strip_backup,
    strip_distkey,
    strip_diststyle,
    strip_encode,
    strip_sortkey,
)
from pipeline.offline.warehouse.translate.to_char import (
    to_char_datetime_formats,
    to_date_formats,
    to_number_formats,
)
from pipeline.offline.warehouse.translate.tree_rules import (
    SESSION_MACROS,
    add_months_keeps_month_end,
    bool_aggregates_without_distinct,
    cmp_functions,
    comparisons_ignore_trailing_blanks,
    convert_timezone_names,
    datediff_week_boundaries,
    decimal_default_precision,
    float_text_as_redshift,
    getdate_sysdate_to_utc_timestamp,
    implicit_comparisons_spelled_out,
    integer_sum_avg_as_bigint,
    listagg_like_redshift,
    math_domain_refused,
    ratio_to_report,
    redshift_spellings,
    refuse_fixed_length_char,
    reject_positional_parameters,
    reject_unpivot,
    split_part_position_above_zero,
    subsecond_dateparts,
    trunc_of_a_timestamp,
    varchar_casts_truncate,
    varchar_without_length,
)

__all__ = [
    "ALLOWED_CALLS",
    "ALLOWED_FUNCTIONS",
    "EMPTY",
    "PORTED_SUPER_FUNCTIONS",
    "SESSION_MACROS",
    "STATEMENT_RULES",
    "TEXT_RULES",
    "TREE_RULES",
    "UNPORTED_SUPER_FUNCTIONS",
    "UNREAD",
    "Catalog",
    "CatalogNeeded",
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


TREE_RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (
    refuse_what_is_not_listed,
    identifiers_fold_to_lower_case,
    redshift_column_labels,
    dateparts_as_redshift,
    datetime_literals_as_iso,
    refuse_fixed_length_char,
    reject_unpivot,
    reject_positional_parameters,
    super_to_variant,
    varchar_lengths_checked,
    varchar_casts_truncate,
    varchar_without_length,
    decimal_default_precision,
    getdate_sysdate_to_utc_timestamp,
    partiql_unnest,
    nullif_ignores_trailing_blanks,
    implicit_comparisons_spelled_out,
    comparisons_ignore_trailing_blanks,
    super_attribute_names_lower_case,
    super_subscript_zero_based,
    json_parse_to_variant,
    super_dynamic_typing,
    split_to_array_as_variant,
    array_concat_of_variants,
    super_functions,
    json_extract_path_text,
    typed_division,
    math_domain_refused,
    integer_sum_avg_as_bigint,
    listagg_like_redshift,
    datediff_week_boundaries,
    convert_timezone_names,
    octet_length_of_text,
    chr_ascii_only,
    concat_null_is_null,
    quote_functions,
    similar_to_as_regex,
    substring_before_position_one,
    regexp_replace_every_match,
    regexp_substr_parameters,
    regexp_instr_parameters,
    ratio_to_report,
    json_text_functions,
    redshift_spellings,
    trunc_of_a_timestamp,
    to_char_datetime_formats,
    to_date_formats,
    to_number_formats,
    add_months_keeps_month_end,
    months_between_as_the_page_counts,
    subsecond_dateparts,
    bool_aggregates_without_distinct,
    cmp_functions,
    split_part_position_above_zero,
    float_text_as_redshift,  # last: it rewrites the VARCHAR casts the rules above add
)


TEXT_RULES: tuple[Callable[[str], str], ...] = (
    strip_encode,
    strip_backup,
    strip_diststyle,
    strip_distkey,
    strip_sortkey,
    reject_unported_super_functions,
)


# --------------------------------------------------------------------------- pipeline


def _single_statement(sql: str) -> tuple[str, list[Token]]:
    """The one statement in `sql` (a trailing ';' is fine), and its tokens."""
    tokens = tokens_of(sql)
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
        first = word_of(tokens[0])
        if first == "SET" and len(tokens) > 1:  # session settings: valid Redshift, not ported
            raise UnsupportedSqlError(f"SET {tokens[1].text}") from err
        approximate = [i for i, t in enumerate(tokens) if word_of(t) == "APPROXIMATE"]
        if any(word_of(tokens[i + 1] if i + 1 < len(tokens) else None) == "COUNT"
               for i in approximate):
            # r_COUNT.html: APPROXIMATE COUNT ( DISTINCT expression ), nothing else.
            raise SqlSyntaxError("APPROXIMATE") from err
        if approximate:
            raise UnsupportedSqlError("APPROXIMATE (other than APPROXIMATE COUNT(DISTINCT))") \
                from err
        if first not in REDSHIFT_COMMANDS and first not in {"COPY", "LOCK"}:
            raise SqlSyntaxError(tokens[0].text) from err
        detail = err.errors[0] if err.errors else {}
        raise SqlSyntaxError(str(detail.get("highlight") or "") or None) from err
    tree = trees[0] if trees else None
    if tree is None or not isinstance(tree, STATEMENT_ROOTS):
        raise SqlSyntaxError(tokens[0].text)
    if isinstance(tree, exp.Command):
        command = str(tree.this).upper()
        if command not in REDSHIFT_COMMANDS:
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
def translate(sql: str, catalog: Catalog = EMPTY) -> Statement:
    """Translate one Redshift statement; cached, since the loader repeats its texts.

    `catalog` holds the session's column types (`numeric_types.Catalog`), from which
    Redshift's numeric result types are known at translation; without it a DECIMAL
    quotient of columns is refused at run time rather than typed by guess.

    Raises only `SqlSyntaxError` / `RedshiftSqlError` (Redshift would reject the text)
    and `UnsupportedSqlError` (the embedded warehouse refuses it), never anything else;
    and `CatalogNeeded` under `UNREAD`, when a column's type is needed after all.
    """
    try:
        return _translate(sql, catalog)
    except (RedshiftSqlError, UnsupportedSqlError, CatalogNeeded):
        raise
    except (ParseError, TokenError) as err:
        raise SqlSyntaxError(message=f"syntax error ({str(err).splitlines()[0][:200]})") from err
    except Exception as err:  # a rule met a shape it was not written for: refuse, no traceback
        raise UnsupportedSqlError(
            f"a construct the translation does not handle ({type(err).__name__}: {err})"
        ) from err


def _translate(sql: str, catalog: Catalog) -> Statement:
    text, tokens = _single_statement(sql)
    for statement_rule in STATEMENT_RULES:
        statement = statement_rule(tokens, text)
        if statement is not None:
            return statement
    for text_rule in TEXT_RULES:
        text = text_rule(text)
    tree = _parse(text, tokens_of(text))
    try:
        for tree_rule in TREE_RULES:
            # The one rule that reads the session's catalog: the types of its columns.
            tree = tree_rule(tree, catalog) if tree_rule is typed_division else tree_rule(tree)
        duckdb_sql = tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as err:  # e.g. "Unsupported property externalproperty"
        raise UnsupportedSqlError(re.sub(r"^Unsupported\s+", "", str(err))) from err
    parameters = tuple(dict.fromkeys(str(p.this) for p in tree.find_all(exp.Placeholder)))
    return Query(
        sql=with_checks(tree, duckdb_sql),
        returns_rows=isinstance(tree, (exp.Query, exp.Describe)),
        target=_target(tree),
        parameters=parameters,
    )


def to_duckdb(sql: str, catalog: Catalog = EMPTY) -> str:
    """The DuckDB text for one Redshift statement (queries, DML, DDL).

    LOCK, COPY, transaction control and no-op maintenance statements have no
    DuckDB text: the embedded server carries them out (see `translate`), so they
    raise ValueError here.
    """
    statement = translate(sql, catalog)
    if not isinstance(statement, Query):
        raise ValueError(
            f"{type(statement).__name__} statements are run by the embedded server, "
            "not as DuckDB SQL; use translate()"
        )
    return statement.sql
