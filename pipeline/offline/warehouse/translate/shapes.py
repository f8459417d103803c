"""Refuse by default: the allow-list and the shape checker, read from the registry."""

from __future__ import annotations

import re

from sqlglot import exp

from pipeline.aws.settings import RESERVED_WORDS
from pipeline.offline.warehouse.translate.errors import (
    RedshiftSqlError,
    SqlSyntaxError,
    UnsupportedSqlError,
)
from pipeline.offline.warehouse.translate.registry import REGISTRY, Function, Registry

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
    # GROUP BY's aggregation extensions (r_GROUP_BY_aggregation-extensions.html)
    exp.Rollup, exp.Cube, exp.GroupingSets,
    exp.Update, exp.Delete, exp.Create, exp.Drop, exp.TruncateTable, exp.Schema,
    exp.ColumnDef, exp.ColumnConstraint, exp.NotNullColumnConstraint, exp.PrimaryKey,
    exp.PrimaryKeyColumnConstraint, exp.DefaultColumnConstraint, exp.UniqueColumnConstraint,
    exp.Properties, exp.TemporaryProperty, exp.Tuple,
    # ALTER TABLE ADD COLUMN / DROP COLUMN / RENAME COLUMN / RENAME TO
    # (r_ALTER_TABLE.html); its other actions parse into nodes not listed, so are refused
    exp.Alter, exp.RenameColumn, exp.AlterRename,
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
    exp.Window, exp.WindowSpec, exp.WithinGroup, exp.IgnoreNulls, exp.RespectNulls,
    # `LIKE pattern ESCAPE 'c'` (r_patternmatching_condition_like.html)
    exp.Escape,
)

# The function allow-list, read from the registry: the sqlglot classes Redshift's names
# parse into (with the entry's name), and the names sqlglot keeps as plain calls.
ALLOWED_FUNCTIONS: dict[type[exp.Expr], str] = {
    node: function.name for function in reversed(REGISTRY.functions) for node in function.nodes
}
ALLOWED_CALLS = REGISTRY.call_names


# Redshift functions called without parentheses that sqlglot reads as column names.
_NILADIC_FUNCTIONS = frozenset({
    "CURRENT_AWS_ACCOUNT", "CURRENT_NAMESPACE", "CURRENT_USER_ID", "SESSION_USER", "USER",
    "CURRENT_USER", "LOCALTIMESTAMP", "LOCALTIME", "CURRENT_TIME",
})


# Operators sqlglot parses into function nodes: refused by the operator written.
_OPERATORS = {exp.RegexpILike: "operator ~*", exp.RegexpLike: "operator ~"}


def _construct_name(node: exp.Expr) -> str:
    """What the analyst wrote, as far as the tree tells: a function's name, else the syntax."""
    if type(node) in _OPERATORS and "written" not in node.meta:
        return _OPERATORS[type(node)]
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
    if isinstance(parent, exp.ColumnDef) or (isinstance(parent, exp.Schema)
                                              and identifier in parent.expressions):
        return True  # a column's name in CREATE TABLE / ADD COLUMN / INSERT's column list
    return isinstance(parent, (exp.Table, exp.TableAlias)) and parent.args.get("db") is not \
        identifier and parent.args.get("catalog") is not identifier


def _is_update_default(node: exp.Expr) -> bool:
    """`DEFAULT` as the value an UPDATE's SET gives a column."""
    parent = node.parent
    return isinstance(node, exp.Column) and len(node.parts) == 1 and not node.this.quoted \
        and node.name.upper() == "DEFAULT" and isinstance(parent, exp.EQ) \
        and parent.expression is node and isinstance(parent.parent, exp.Update)


def refuse_what_is_not_listed(tree: exp.Expr, registry: Registry = REGISTRY) -> exp.Expr:
    """Refuse every construct outside the allow-list, and those Redshift itself rejects.

    - a function call is checked against its registry entry (`check_call`): a name no
      entry has is refused by the name written, a shape outside the entry's synopsis
      gets Redshift's error; a compute-node-only function in a query that reads no
      table gets Redshift's error too;
    - a syntax node not in `_ALLOWED_SYNTAX` is refused by name;
    - `FILTER (WHERE ...)` on an aggregate, which Redshift does not have;
    - a `RANGE` (or `GROUPS`) window frame: Redshift frames are `ROWS` only
      (https://docs.aws.amazon.com/redshift/latest/dg/r_Window_function_synopsis.html).
    """
    compute_node_only: list[str] = []
    for node in list(tree.find_all(exp.Column)):
        if _is_update_default(node):
            # r_UPDATE.html: `SET column = DEFAULT`; sqlglot reads DEFAULT as a column.
            node.replace(exp.Var(this="DEFAULT"))
    for node in list(tree.walk()):
        if type(node) is exp.TryCast:
            # CONVERT(type, x) parses as TRY_CAST; Redshift's CONVERT fails on bad input
            # like CAST. A written TRY_CAST is DuckDB's, not Redshift's.
            written = node.meta.get("written", "CONVERT")
            if written != "CONVERT":
                raise UnsupportedSqlError(f"function {written}")
            cast = exp.Cast(this=node.this, to=node.to)
            node.replace(cast)
            _integer_text(cast)
            continue
        if isinstance(node, exp.Cast):
            _integer_text(node)
        if isinstance(node, exp.NthValue):
            _offset_above_zero(node)
        if isinstance(node, exp.Select) and not node.expressions:
            raise SqlSyntaxError()  # a bare SELECT: "syntax error at end of input"
        if isinstance(node, exp.Select) and isinstance(node.args.get("distinct"), exp.Distinct):
            _distinct_order_keys_selected(node)
        if isinstance(node, exp.Filter):
            raise UnsupportedSqlError("FILTER (WHERE ...) on an aggregate (Redshift has no FILTER)")
        if isinstance(node, exp.WindowSpec) and str(node.args.get("kind") or "").upper() != "ROWS":
            raise UnsupportedSqlError(
                f"{node.args.get('kind')} window frame (Redshift frames are ROWS only)"
            )
        if isinstance(node, exp.WindowSpec):
            _frame_bounded_by_the_current_row(node)
        if isinstance(node, exp.Window):
            _no_string_literal_keys(node)
        if isinstance(node, exp.Paren) and isinstance(node.this, exp.Is) and isinstance(
                node.parent, (exp.Binary, exp.Not)) and not isinstance(node.parent, exp.Connector):
            # sqlglot binds IS tighter than `<`, `=` ...; Redshift (PostgreSQL) the other
            # way round, and both spellings reach here as the same tree.
            raise UnsupportedSqlError("IS next to a comparison or operator without "
                                      "parentheses (write (a < b) IS TRUE)")
        if isinstance(node, (exp.Intersect, exp.Except)) and node.args.get("distinct") is False:
            # r_UNION.html: "INTERSECT ALL, EXCEPT ALL, and MINUS ALL aren't supported".
            raise RedshiftSqlError(f"{node.key.upper()} ALL is not supported")
        if isinstance(node, exp.Is) and isinstance(node.expression, exp.Boolean) \
                and _in_select_list(node):
            # r_Boolean_type.html: an IS comparison with a Boolean value only as a
            # predicate; in the SELECT list Redshift answers "Not implemented".
            raise RedshiftSqlError("Invalid operation: Not implemented (IS TRUE / IS FALSE "
                                   "in the SELECT list; use = TRUE)")
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
        if isinstance(node, exp.If) and not isinstance(node.parent, exp.Case):
            # IF(c, a, b) / IIF(...): sqlglot reads them as a CASE branch; not Redshift's.
            raise UnsupportedSqlError(f"function {node.meta.get('written', 'IF')}")
        if type(node) in _ALLOWED_SYNTAX:
            continue
        if isinstance(node, exp.RegexpLike) and "written" not in node.meta:
            # `expression [!] ~ pattern` (pattern-matching-conditions-posix.html): a
            # match anywhere in the string, case-sensitive; DuckDB's regexp_matches.
            continue
        if isinstance(node, exp.Func):
            function = check_call(node, registry)
            if function.compute_node_only:
                compute_node_only.append(function.name)
        else:
            raise UnsupportedSqlError(_construct_name(node))
    if compute_node_only and not _reads_a_table(tree):
        # c_SQL_functions_compute_node_only.html: the query runs on the leader node only.
        raise RedshiftSqlError(
            "One or more of the used functions must be applied on at least one user created "
            "table. Examples of user table only functions are "
            f"{', '.join(registry.compute_node_only)}"
        )
    return tree


def _distinct_order_keys_selected(select: exp.Select) -> None:
    """`SELECT DISTINCT a ... ORDER BY b`: Redshift (PostgreSQL's rule) fails with "for
    SELECT DISTINCT, ORDER BY expressions must appear in select list"; DuckDB sorts by a
    value the DISTINCT rows do not carry. An ORDER BY key passes when it is a position, an
    output column's name or alias, or an expression written in the select list; a `*` in
    the list (its columns are not known here) passes every key. DISTINCT ON is not
    Redshift's and is refused elsewhere.
    """
    order = select.args.get("order")
    distinct = select.args["distinct"]
    if order is None or distinct.args.get("on") is not None:
        return
    selected: list[exp.Expr] = []
    names: set[str] = set()
    for item in select.expressions:
        if isinstance(item, exp.Star) or (isinstance(item, exp.Column)
                                          and isinstance(item.this, exp.Star)):
            return
        if isinstance(item, exp.Alias):
            names.add(item.alias.lower())
            item = item.this
        selected.append(item)
        if isinstance(item, exp.Column):
            names.add(item.name.lower())
    for ordered in order.expressions:
        key = ordered.this
        if isinstance(key, exp.Literal) and not key.is_string:
            continue
        if isinstance(key, exp.Column) and key.name.lower() in names:
            continue
        if any(key == item for item in selected):
            continue
        raise RedshiftSqlError(
            "for SELECT DISTINCT, ORDER BY expressions must appear in select list")


_INTEGER_TYPES = frozenset({exp.DType.SMALLINT, exp.DType.INT, exp.DType.BIGINT})
_INTEGER_TEXT = re.compile(r"\s*[+-]?\d+\s*")


def _integer_text(cast: exp.Cast) -> None:
    """A string literal cast to SMALLINT, INTEGER or BIGINT must spell an integer.

    c_Supported_data_types.html: "A character string that you want to cast to a numeric
    type must contain a character representation of a number"; Redshift's integer input
    (PostgreSQL's) reads digits only, so '2.5'::INTEGER is an error, where DuckDB rounds
    it to 3. A DECIMAL or float target takes '2.5' on both. Text from a column is cast
    by DuckDB's rule (docs/redshift-sql.md, known differences).
    """
    value = cast.this
    if isinstance(value, exp.Literal) and value.is_string and cast.to.this in _INTEGER_TYPES \
            and not _INTEGER_TEXT.fullmatch(value.this):
        raise RedshiftSqlError(f'invalid input syntax for integer: "{value.this}"')


def _offset_above_zero(call: exp.NthValue) -> None:
    """r_WF_NTH.html: the offset "must be a positive integer that is greater than 0";
    DuckDB answers NULL for 0 or less. A computed offset is DuckDB's to check."""
    offset = call.args.get("offset")
    if isinstance(offset, exp.Neg) or (isinstance(offset, exp.Literal) and offset.is_int
                                       and int(offset.this) < 1):
        raise RedshiftSqlError(f"NTH_VALUE offset {offset.sql()} is not greater than 0")


def _frame_bounded_by_the_current_row(spec: exp.WindowSpec) -> None:
    """`ROWS 2 FOLLOWING` / `ROWS UNBOUNDED FOLLOWING` as Redshift reads them.

    c_Window_functions.html: "Where BETWEEN is not specified, the frame is implicitly
    bounded by the current row. For example, ROWS 5 PRECEDING is equal to ROWS BETWEEN 5
    PRECEDING AND CURRENT ROW. Also, ROWS UNBOUNDED FOLLOWING is equal to ROWS BETWEEN
    CURRENT ROW AND UNBOUNDED FOLLOWING." DuckDB reads a lone bound as the frame's start,
    which for a FOLLOWING bound it rejects; the frame is rewritten with BETWEEN.
    """
    if spec.args.get("end") is None and str(spec.args.get("start_side") or "").upper() \
            == "FOLLOWING":
        spec.set("end", spec.args["start"])
        spec.set("end_side", "FOLLOWING")
        spec.set("start", "CURRENT ROW")
        spec.set("start_side", None)


def _no_string_literal_keys(window: exp.Window) -> None:
    """c_Window_functions.html: "Amazon Redshift doesn't support string literals in
    PARTITION BY clauses" (nor in ORDER BY clauses); DuckDB would sort by the constant."""
    order = window.args.get("order")
    clauses = {"PARTITION BY": list(window.args.get("partition_by") or []),
               "ORDER BY": [o.this for o in (order.expressions if order is not None else [])]}
    for clause, keys in clauses.items():
        for key in keys:
            if isinstance(key, exp.Literal) and key.is_string:
                raise RedshiftSqlError(f"string literal {key.sql()} in a window's {clause} "
                                       "(Redshift supports none there)")


def _in_select_list(node: exp.Expr) -> bool:
    """Whether `node` is part of a select-list item's value, not of a predicate (a WHERE,
    HAVING, JOIN ON or CASE WHEN condition, or a subquery's)."""
    child, parent = node, node.parent
    while parent is not None:
        if isinstance(parent, (exp.Where, exp.Having, exp.Join, exp.Subquery, exp.Exists)):
            return False
        if isinstance(parent, exp.If) and child is parent.this:
            return False  # CASE WHEN <condition>
        if isinstance(parent, exp.Select):
            return child in parent.expressions
        child, parent = parent, parent.parent
    return False


def _reads_a_table(tree: exp.Expr) -> bool:
    """Whether the statement reads a table (not only CTEs, subqueries and literals)."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    return any(table.name.lower() not in ctes or table.db
               for table in tree.find_all(exp.Table))


def _clauses(call: exp.Func) -> tuple[exp.Window | None, bool, bool]:
    """The clauses written around a call: its OVER window, WITHIN GROUP, IGNORE NULLS."""
    within = ignore_nulls = False
    if isinstance(call.args.get("this"), (exp.IgnoreNulls, exp.RespectNulls)):
        ignore_nulls = True  # FIRST_VALUE(x IGNORE NULLS)
    top: exp.Expr = call
    parent = call.parent
    while isinstance(parent, (exp.IgnoreNulls, exp.RespectNulls, exp.WithinGroup)) \
            and parent.this is top:
        within = within or isinstance(parent, exp.WithinGroup)
        ignore_nulls = ignore_nulls or not isinstance(parent, exp.WithinGroup)
        top, parent = parent, parent.parent
    window = parent if isinstance(parent, exp.Window) and parent.this is top else None
    return window, within, ignore_nulls


def check_call(call: exp.Func, registry: Registry = REGISTRY) -> Function:
    """The registry entry of a call, after checking the call against its synopsis.

    Raises `UnsupportedSqlError` naming the function as written when no entry has
    that name (and sqlglot class), and `RedshiftSqlError` when the call's shape is
    outside the entry's synopsis: the number of arguments, DISTINCT, WITHIN GROUP,
    IGNORE NULLS, OVER, and the ORDER BY and frame inside OVER.
    """
    written = call.meta.get("written")
    if written is None:  # made by the parser without a name token (rare): by its class
        if isinstance(call, exp.Anonymous):
            written = call.name.upper()
        else:
            function = registry.canonical(call)
            if function is None:
                raise UnsupportedSqlError(_construct_name(call))
            return function
    name = written.lower()
    arity = call.meta.get("arity")
    # The arity is checked against every entry of that name first: sqlglot may parse a
    # call with the wrong number of arguments into another class (DECODE(a, b) is
    # DuckDB's binary decode).
    entries = registry.by_name.get(written.upper(), ())
    if arity is not None and entries and not any(_takes(f, arity) for f in entries):
        raise RedshiftSqlError(
            f"function {name} does not exist with {arity} argument{'s' * (arity != 1)} "
            f"(its synopsis: {entries[0].synopsis()})")
    function = registry.lookup(written, call)
    if function is None:
        raise UnsupportedSqlError(f"function {written}")
    if call.meta.get("parens") and not function.parens:
        raise SqlSyntaxError("(")  # SYSDATE() / CURRENT_DATE(): written without parentheses
    window, within, ignore_nulls = _clauses(call)
    distinct = bool(call.meta.get("distinct")) or isinstance(call.args.get("this"),
                                                             exp.Distinct)
    if distinct and function.kind != "aggregate":
        raise RedshiftSqlError(f"DISTINCT specified, but {name} is not an aggregate function")
    if distinct and function.distinct == "forbidden":
        raise RedshiftSqlError(f"DISTINCT is not allowed in {name} (its synopsis: "
                               f"{function.synopsis()})")
    if not distinct and function.distinct == "required":
        raise RedshiftSqlError(f"{name} requires DISTINCT (its synopsis: {function.synopsis()})")
    if within and function.within_group == "forbidden":
        raise RedshiftSqlError(
            f"WITHIN GROUP specified, but {name} is not an ordered-set aggregate function")
    if not within and function.within_group == "required":
        raise RedshiftSqlError(f"WITHIN GROUP is required for ordered-set aggregate {name}")
    if ignore_nulls and not function.ignore_nulls:
        raise RedshiftSqlError(f"IGNORE NULLS / RESPECT NULLS is not allowed for {name}")
    if window is None:
        if function.over == "required":
            raise RedshiftSqlError(f"window function {name} requires an OVER clause")
        return function
    if function.over == "forbidden":
        raise RedshiftSqlError(
            f"OVER specified, but {name} is not a window function nor an aggregate function")
    _check_window(function, name, window, distinct)
    return function


def _takes(function: Function, arity: int) -> bool:
    low, high = function.arity
    return low <= arity and (high is None or arity <= high)


def _check_window(function: Function, name: str, window: exp.Window, distinct: bool) -> None:
    order = window.args.get("order") is not None
    frame = window.args.get("spec") is not None
    if distinct and not function.window_distinct:
        raise RedshiftSqlError("DISTINCT is not implemented for window functions")
    if order and function.order == "forbidden":
        raise RedshiftSqlError(f"window function {name} takes no ORDER BY in its OVER clause "
                               f"(its synopsis: {function.synopsis()})")
    if not order and function.order == "required":
        raise RedshiftSqlError(f"window function {name} requires an ORDER BY clause in its "
                               "OVER clause")
    if frame and function.frame == "forbidden":
        raise RedshiftSqlError(f"window function {name} takes no frame clause "
                               f"(its synopsis: {function.synopsis()})")
    if order and not frame and function.frame == "with_order":
        # c_Window_functions.html, the frame_clause argument.
        raise RedshiftSqlError("Aggregate window functions with an ORDER BY clause require a "
                               "frame clause")
