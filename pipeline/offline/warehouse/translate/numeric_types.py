"""Redshift's numeric result types, known when the query is translated, and DECIMAL
arithmetic rendered so DuckDB computes it exactly with that type.

https://docs.aws.amazon.com/redshift/latest/dg/r_numeric_computations201.html gives the
result type of `+ - * /` (an integer with a DECIMAL is a DECIMAL, a float operand makes a
FLOAT8) and the precision and scale of a DECIMAL result; DuckDB's own rules differ (its
`/` is a DOUBLE, its `*` one digit narrower). The types are read bottom-up from the
sqlglot tree: literals, casts, columns of tables (the session's catalog, `Catalog`), of
CTEs and subqueries, aggregates and the arithmetic itself. A DECIMAL quotient whose
operand types are known is computed in scaled HUGEINT arithmetic and cast to Redshift's
DECIMAL(p, s), so the Data API reports `numeric(p, s)` with every digit of the scale; one
whose types only DuckDB knows is refused at run time when it turns out DECIMAL, rather
than answered as a float8.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from sqlglot import exp

from pipeline.offline.warehouse.translate.errors import UnsupportedSqlError
from pipeline.offline.warehouse.translate.trees import fill, post_order

Kind = Literal["int2", "int4", "int8", "decimal", "float4", "float8"]
MAX_PRECISION = 38
MAX_SCALE = 37  # r_Numeric_types201.html: "The maximum scale is 37"
# r_numeric_computations201.html: an integer operand of a DECIMAL computation is cast
# to DECIMAL(5,0), (10,0) or (19,0).
_INTEGER_PRECISION = {"int2": 5, "int4": 10, "int8": 19}
_INTEGER_RANK: tuple[Kind, ...] = ("int2", "int4", "int8")


@dataclass(frozen=True)
class Numeric:
    """A Redshift numeric type: an integer, a DECIMAL(precision, scale) or a float."""

    kind: Kind
    precision: int = 0
    scale: int = 0

    @property
    def is_float(self) -> bool:
        return self.kind in ("float4", "float8")

    @property
    def is_integer(self) -> bool:
        return self.kind in _INTEGER_PRECISION

    def as_decimal(self) -> tuple[int, int]:
        """(precision, scale) as a DECIMAL operand: an integer counts as DECIMAL(n, 0)."""
        if self.is_integer:
            return _INTEGER_PRECISION[self.kind], 0
        return self.precision, self.scale

    def sql(self) -> exp.DataType:
        return exp.DataType.build(f"DECIMAL({self.precision}, {self.scale})")


def decimal(precision: int, scale: int) -> Numeric:
    return Numeric("decimal", precision, scale)


# DuckDB's type names (duckdb_columns().data_type) as Redshift's numeric types.
_DUCKDB_TYPES: dict[str, Numeric] = {
    "SMALLINT": Numeric("int2"), "INTEGER": Numeric("int4"), "BIGINT": Numeric("int8"),
    "FLOAT": Numeric("float4"), "REAL": Numeric("float4"), "DOUBLE": Numeric("float8"),
}
_DECIMAL_TEXT = re.compile(r"(?:DECIMAL|NUMERIC)\((\d+),\s*(\d+)\)")


def duckdb_type(text: str) -> Numeric | None:
    """The Redshift numeric type of a DuckDB type name (None when it is not one)."""
    upper = text.upper().strip()
    match = _DECIMAL_TEXT.fullmatch(upper)
    if match:
        return decimal(int(match.group(1)), int(match.group(2)))
    return _DUCKDB_TYPES.get(upper)


@dataclass(frozen=True)
class Catalog:
    """The columns of the session's tables and views, as the translator sees them.

    `entries` is (schema, table, column, DuckDB type) for every column (a non-numeric one
    only tells that the table has no numeric column of that name); a table named
    without a schema is looked up in the session's search path (its temporary tables,
    then `main`), as DuckDB resolves it. Hashable, so a translation is cached per
    statement text and catalog.
    """

    entries: tuple[tuple[str, str, str, str], ...] = ()
    _tables: dict[str, dict[str, Numeric]] = field(default_factory=dict, compare=False,
                                                     hash=False, repr=False)

    def __post_init__(self) -> None:
        for schema, table, column, type_text in self.entries:
            numeric = duckdb_type(type_text)
            if numeric is not None:
                key = f"{schema}.{table}".lower()
                self._tables.setdefault(key, {})[column.lower()] = numeric
            else:
                self._tables.setdefault(f"{schema}.{table}".lower(), {})
        # A bare name: the session's temporary table, else the one in `main`.
        for schema in ("main", "temp"):
            for key, columns in list(self._tables.items()):
                if key.startswith(f"{schema}.") and key.count(".") == 1:
                    self._tables[f"\0{key.split('.', 1)[1]}"] = columns

    @classmethod
    def of(cls, rows: Iterable[tuple[str, str, str, str]]) -> Catalog:
        return cls(tuple(sorted((str(s), str(t), str(c), str(d)) for s, t, c, d in rows)))

    def columns(self, table: exp.Table) -> dict[str, Numeric] | None:
        """The numeric columns of `table` (None when the table is not in the catalog)."""
        key = f"{table.db}.{table.name}" if table.db else f"\0{table.name}"
        return self._tables.get(key.lower())


EMPTY = Catalog()


class CatalogNeeded(Exception):
    """A translation under `UNREAD` looked a column's type up: translate with the catalog."""


@dataclass(frozen=True)
class _Unread(Catalog):
    """No catalog read yet: the first column lookup raises `CatalogNeeded`.

    Reading the catalog is a query per statement (~1 ms, on every statement of every
    load); most statements never look a column up, and a translation that made no
    lookup is the same under every catalog, so the engine reads it only when asked.
    """

    def columns(self, table: exp.Table) -> dict[str, Numeric] | None:
        raise CatalogNeeded(table.name)


UNREAD = _Unread()


# --------------------------------------------------------------------------- types


def literal_type(literal: exp.Literal) -> Numeric | None:
    """A number literal's type: an integer is INT4 (INT8 past its range); `48.2891` is
    DECIMAL(6,4), "a precision of 6 and a scale of 4" (r_Numeric_types201.html)."""
    text = literal.this
    if literal.is_string or "e" in text.lower():
        return None
    if "." not in text:
        value = int(text)
        return Numeric("int4") if value < 2**31 else Numeric("int8") if value < 2**63 else None
    whole, fraction = text.split(".", 1)
    scale = len(fraction)
    precision = max(len(whole.lstrip("0")) + scale, 1)
    return decimal(precision, scale) if precision <= MAX_PRECISION else None


def cast_type(to: exp.DataType) -> Numeric | None:
    if to.this == exp.DType.DECIMAL:
        params = [p.this for p in to.expressions]
        if len(params) == 2 and all(isinstance(p, exp.Literal) for p in params):
            return decimal(int(params[0].this), int(params[1].this))
        if len(params) == 1 and isinstance(params[0], exp.Literal):
            return decimal(int(params[0].this), 0)
        return None
    return {exp.DType.SMALLINT: Numeric("int2"), exp.DType.INT: Numeric("int4"),
            exp.DType.BIGINT: Numeric("int8"), exp.DType.FLOAT: Numeric("float4"),
            exp.DType.DOUBLE: Numeric("float8")}.get(to.this)


def arithmetic_type(operator: type[exp.Expr], a: Numeric, b: Numeric) -> Numeric:
    """The result type of `a <operator> b` (r_numeric_computations201.html)."""
    if a.is_float or b.is_float:
        both_real = a.kind == b.kind == "float4"
        return Numeric("float4" if both_real else "float8")
    if a.is_integer and b.is_integer:
        return Numeric(_INTEGER_RANK[max(_INTEGER_RANK.index(a.kind),
                                         _INTEGER_RANK.index(b.kind))])
    (p1, s1), (p2, s2) = a.as_decimal(), b.as_decimal()
    if operator in (exp.Add, exp.Sub):
        scale = max(s1, s2)
        return decimal(min(max(p1 - s1, p2 - s2) + 1 + scale, MAX_PRECISION), scale)
    if operator is exp.Mul:
        return decimal(min(p1 + p2 + 1, MAX_PRECISION), s1 + s2)
    scale = max(4, s1 + p2 - s2 + 1)
    precision = p1 - s1 + s2 + scale
    if scale > 100:  # "The scale limit of 100 is applied after ..."
        precision, scale = precision - (scale - 100), 100
    if precision > MAX_PRECISION:
        precision, scale = MAX_PRECISION, max(MAX_PRECISION + scale - precision, 4)
    return decimal(precision, scale)


_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv)
# The statements whose FROM (or target) names the tables a column comes from.
_SCOPES = (exp.Select, exp.Update, exp.Delete)
# Functions whose pages give an integer result type: COUNT (r_COUNT.html), DATEDIFF
# (r_DATEDIFF_function.html), ROW_NUMBER and NTILE (r_WF_ROW_NUMBER.html,
# r_WF_NTILE.html) are BIGINT; RANK and DENSE_RANK (r_WF_RANK.html,
# r_WF_DENSE_RANK.html), LEN/LENGTH, CHARINDEX, STRPOS and POSITION (r_LEN.html, ...)
# an integer.
_BIGINT_FUNCTIONS = (exp.Count, exp.DateDiff, exp.TsOrDsDiff, exp.DatetimeDiff,
                     exp.TimestampDiff, exp.RowNumber, exp.Ntile)
_INTEGER_FUNCTIONS = (exp.Rank, exp.DenseRank, exp.Length, exp.StrPosition)


class Types:
    """The Redshift numeric type of an expression of one statement, None where unknown."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._resolving: set[tuple[int, str]] = set()

    def of(self, node: exp.Expr | None) -> Numeric | None:
        if node is None:
            return None
        if isinstance(node, (exp.Paren, exp.Neg, exp.Alias, exp.Window, exp.Max, exp.Min)):
            return self.of(node.this)
        if isinstance(node, exp.Literal):
            return literal_type(node)
        if isinstance(node, exp.Cast):
            return cast_type(node.to)
        if isinstance(node, exp.Column):
            return self._column(node)
        if isinstance(node, _BIGINT_FUNCTIONS):
            return Numeric("int8")
        if isinstance(node, _INTEGER_FUNCTIONS):
            return Numeric("int4")
        if isinstance(node, exp.Extract) and node.meta.get("written") == "DATE_PART":
            return Numeric("float8")  # r_DATE_PART_function.html: DOUBLE
        if isinstance(node, exp.Sum):
            return self._sum(node.this)
        if isinstance(node, exp.Avg):
            return self._sum(node.this)  # r_AVG.html: BIGINT, DOUBLE, or DECIMAL(38, s)
        if isinstance(node, _ARITHMETIC):
            a, b = self.of(node.this), self.of(node.expression)
            if a is None or b is None:
                return None
            operator = exp.Div if isinstance(node, exp.IntDiv) else type(node)
            return arithmetic_type(operator, a, b)
        if isinstance(node, (exp.Nullif, exp.Abs)):
            return self.of(node.this)
        if isinstance(node, (exp.Case, exp.Coalesce)):
            return self._common(_branches(node))
        if isinstance(node, exp.Subquery) and isinstance(node.this, exp.Select):
            projections = node.this.expressions
            return self.of(projections[0]) if len(projections) == 1 else None
        return None

    def _common(self, branches: list[exp.Expr]) -> Numeric | None:
        """The type of CASE / COALESCE / a UNION column over `branches` (NULLs aside),
        when all are known: r_numeric_computations201.html's rule for set operators,
        COALESCE and DECODE, scale max(s1,s2) and precision min(max(p1-s1,p2-s2)+scale,
        19), for DECIMALs of at most 19 digits (wider ones stay unknown); the widest
        integer for integers; FLOAT8 with a float."""
        types = [self.of(b) for b in branches if not isinstance(b, exp.Null)]
        if not types or any(t is None for t in types):
            return None
        known = [t for t in types if t is not None]
        if any(t.is_float for t in known):
            return Numeric("float4" if all(t.kind == "float4" for t in known) else "float8")
        if all(t.is_integer for t in known):
            return Numeric(max((t.kind for t in known), key=_INTEGER_RANK.index))
        digits = [t.as_decimal() for t in known]
        if max(p for p, _ in digits) > 19:
            return None  # the page's cap of 19 would not hold the values: not guessed
        scale = max(s for _, s in digits)
        return decimal(min(max(p - s for p, s in digits) + scale, 19), scale)

    def _sum(self, arg: exp.Expr) -> Numeric | None:
        """r_SUM.html: BIGINT for the integers, DECIMAL(38, s) for a DECIMAL(p, s),
        DOUBLE PRECISION for the floats."""
        if isinstance(arg, exp.Distinct) and len(arg.expressions) == 1:
            arg = arg.expressions[0]
        argument = self.of(arg)
        if argument is None:
            return None
        if argument.is_integer:
            return Numeric("int8")
        if argument.is_float:
            return Numeric("float8")
        return decimal(MAX_PRECISION, argument.scale)

    # -- columns

    def _column(self, column: exp.Column) -> Numeric | None:
        name = column.name.lower()
        qualifier = column.table.lower()
        scope = column.find_ancestor(*_SCOPES)
        while scope is not None:
            found, typed = self._in_select(scope, name, qualifier)
            if found:
                return typed
            scope = scope.find_ancestor(*_SCOPES)  # a correlated reference
        return None

    def _in_select(self, select: exp.Expr, name: str, qualifier: str
                   ) -> tuple[bool, Numeric | None]:
        """(whether `select`'s FROM names the column, its type); unknown sources make an
        unqualified name unknown rather than guessed."""
        sources = self._sources(select)
        if qualifier:
            if qualifier not in sources:
                return False, None
            return True, self._source_column(sources[qualifier], name)
        types = [self._source_column(s, name) for s in sources.values()]
        known = [t for t in types if t is not None]
        if len(known) == 1 and len(types) == len(known) + sum(
                1 for s in sources.values() if self._has_no(s, name)):
            return True, known[0]
        return bool(sources), None

    def _sources(self, select: exp.Expr) -> dict[str, exp.Expr]:
        sources: dict[str, exp.Expr] = {}
        from_ = select.args.get("from_")
        # UPDATE t / DELETE FROM t: the target table, then UPDATE's FROM and DELETE's USING.
        items = [select.this] if isinstance(select, (exp.Update, exp.Delete)) else []
        items += [from_.this] if from_ is not None else []
        items += list(select.args.get("using") or []) if isinstance(select, exp.Delete) else []
        items += [join.this for join in select.args.get("joins") or []]
        for item in items:
            alias = item.alias_or_name.lower() if isinstance(item, (exp.Table, exp.Subquery)) \
                else ""
            sources[alias or f"\0{len(sources)}"] = item
        return sources

    def _has_no(self, source: exp.Expr, name: str) -> bool:
        """Whether `source` certainly has no numeric column `name` of a known type."""
        if isinstance(source, exp.Table) and self._cte(source) is None:
            columns = self.catalog.columns(source)
            return columns is not None and name not in columns
        return False

    def _source_column(self, source: exp.Expr, name: str) -> Numeric | None:
        if isinstance(source, exp.Table):
            cte = self._cte(source)
            if cte is None:
                columns = self.catalog.columns(source)
                return columns.get(name) if columns is not None else None
            if (id(cte), name) in self._resolving:  # a recursive CTE's own column
                return None
            self._resolving.add((id(cte), name))
            try:
                return self._query_column(cte.this, _alias_columns(cte), name)
            finally:
                self._resolving.discard((id(cte), name))
        if isinstance(source, exp.Subquery):
            return self._query_column(source.this, _alias_columns(source), name)
        return None

    def _query_column(self, query: exp.Expr, renamed: list[str], name: str
                      ) -> Numeric | None:
        """The type of column `name` of a CTE's or subquery's query; `renamed` is its
        column list (`WITH c(x, y) AS ...`, `(SELECT ...) AS s(x, y)`), if any."""
        selects = _selects(query)
        if not selects:
            return None
        index: int | None
        if renamed:  # by position: the projections' own names no longer count
            if name not in renamed or any(isinstance(p, exp.Star) for p in selects[0].expressions):
                return None
            index = renamed.index(name)
        else:
            index = self._position(selects[0], name)
        if index is None:
            return None
        if index < 0:  # `SELECT *`: the column of the query's own sources
            return self._in_select(selects[0], name, "")[1] if len(selects) == 1 else None
        branches = [sel.expressions[index] for sel in selects if index < len(sel.expressions)]
        if len(branches) != len(selects):
            return None
        # A UNION's column: the page's rule for set operators, as for COALESCE.
        return self.of(branches[0]) if len(branches) == 1 else self._common(branches)

    @staticmethod
    def _position(select: exp.Select, name: str) -> int | None:
        """The index of the projection named `name` (-1 for a `*`, None for none)."""
        for index, projection in enumerate(select.expressions):
            if isinstance(projection, exp.Star):
                return -1
            if projection.alias_or_name.lower() == name:
                return index
        return None

    def _cte(self, table: exp.Table) -> exp.CTE | None:
        """The CTE `table` names (the nearest WITH that defines it)."""
        if table.db:
            return None
        node: exp.Expr | None = table
        while node is not None:
            with_ = node.args.get("with_") or node.args.get("with")
            if isinstance(with_, exp.With):
                for cte in with_.expressions:
                    if cte.alias.lower() == table.name.lower():
                        return cte
            node = node.parent
        return None


def _alias_columns(node: exp.Expr) -> list[str]:
    alias = node.args.get("alias")
    columns = alias.columns if isinstance(alias, exp.TableAlias) else []
    return [column.name.lower() for column in columns]


def _selects(query: exp.Expr | None) -> list[exp.Select]:
    """The SELECTs of a query or of every branch of its UNION (empty when another)."""
    if isinstance(query, exp.Select):
        return [query]
    if isinstance(query, exp.Union):
        left, right = _selects(query.this), _selects(query.expression)
        return [*left, *right] if left and right else []
    return []


def _branches(node: exp.Expr) -> list[exp.Expr]:
    if isinstance(node, exp.Coalesce):
        return [node.this, *node.expressions]
    results = [case.args["true"] for case in node.args.get("ifs") or []]
    default = node.args.get("default")
    return [*results, default] if default is not None else results


# --------------------------------------------------------------------------- rendering


# A quotient whose operand types only DuckDB knows: `//` (integers divide as integers,
# floats as floats), refused when a DECIMAL meets no float (a DECIMAL with an integer, a
# DECIMAL or a text parameter), whose Redshift type cannot be known here.
_UNKNOWN_DIVISION = (
    "CASE WHEN (typeof(__a__) LIKE 'DECIMAL%' OR typeof(__b__) LIKE 'DECIMAL%') AND NOT "
    "(typeof(__a__) IN ('FLOAT', 'DOUBLE') OR typeof(__b__) IN ('FLOAT', 'DOUBLE')) THEN "
    "error('unsupported on the embedded warehouse: DECIMAL division of an expression whose "
    "precision and scale are not known when the query is translated (cast it to "
    "DECIMAL(p, s) or FLOAT8)') ELSE __a__ // __b__ END")


def _power_of_ten(exponent: int) -> exp.Expr:
    return exp.cast(exp.Literal.string("1" + "0" * exponent), exp.DType.INT128)


# A DECIMAL's digits as an integer (-1.25 is -125): DuckDB writes a DECIMAL(p, s) with
# exactly s digits after the point.
_UNSCALED = "CAST(replace(CAST(__x__ AS VARCHAR), '.', '') AS HUGEINT)"
# The quotient to one more digit than the scale, truncated (`//` on HUGEINT truncates
# toward zero), then rounded half away from zero on that digit: trunc((trunc(10x) + 5) /
# 10) is trunc((10x + 5) / 10) for x >= 0. `__q__` is written twice, each operand once.
_ROUNDED = "(__q__ + CASE WHEN __q__ < 0 THEN -5 ELSE 5 END) // 10"


def _exact_quotient(a: exp.Expr, b: exp.Expr, ta: Numeric, tb: Numeric,
                    result: Numeric) -> exp.Expr:
    """`a / b` as DuckDB computes it exactly: both operands' digits as HUGEINTs, scaled so
    the integer quotient has the result's scale (plus the rounding digit), then placed
    after the point (a DECIMAL(38,0) times 10^-scale) and cast to Redshift's DECIMAL(p, s).

    The rounding (half away from zero) is the assumption docs/redshift-sql.md states; a
    scaled operand past HUGEINT's 38 digits fails as an overflow, never wrong digits.
    """
    (p1, s1), (p2, s2) = ta.as_decimal(), tb.as_decimal()
    shift = result.scale + s2 - s1 + 1  # quotient digits = A * 10^shift / B
    digits_a = fill(_UNSCALED, x=exp.cast(a, decimal(p1, s1).sql()))
    digits_b = fill(_UNSCALED, x=exp.cast(b, decimal(p2, s2).sql()))
    numerator = exp.Mul(this=digits_a, expression=_power_of_ten(max(shift, 0)))
    denominator = exp.Mul(this=digits_b, expression=_power_of_ten(max(-shift, 0)))
    truncated = exp.Paren(this=exp.IntDiv(this=exp.Paren(this=numerator),
                                          expression=exp.Paren(this=denominator)))
    rounded = exp.Paren(this=fill(_ROUNDED, q=truncated))
    unit = exp.cast(exp.Literal.string("0." + "0" * (result.scale - 1) + "1"),
                    decimal(result.scale, result.scale).sql())
    placed = exp.Mul(this=exp.cast(rounded, decimal(MAX_PRECISION, 0).sql()), expression=unit)
    return exp.cast(exp.Paren(this=placed), result.sql())


def _float_quotient(a: exp.Expr, b: exp.Expr) -> exp.Expr:
    """A float8 quotient: the dividend as a DOUBLE, divided by DuckDB's `//`.

    DuckDB's `/` answers Infinity for a division by zero, where Redshift (and PostgreSQL)
    raise "division by zero"; its `//` raises, and divides a DOUBLE exactly. The cast
    makes the division a float's where DuckDB holds an integer that Redshift types as a
    float (DATE_PART is a DOUBLE on Redshift, a BIGINT in DuckDB: `DATE_PART(hour, ts) / 2`
    is 3.5 for 7 o'clock).
    """
    return exp.IntDiv(this=exp.cast(a, "DOUBLE"), expression=b)


def typed_division(tree: exp.Expr, catalog: Catalog = EMPTY) -> exp.Expr:
    """`+ - * /` with Redshift's result types (r_numeric_computations201.html).

    - integer / integer: `//`, integer division (7 / 2 is 3);
    - a float operand: a float8 quotient (`_float_quotient`), by zero Redshift's error;
    - DECIMAL (an integer counting as DECIMAL(5,0)/(10,0)/(19,0)) with both types known:
      `/` exactly, at the page's precision and scale (`7.0 / 4.0` is 1.7500, a
      numeric(6,4)); `*`, `+`, `-` cast to the page's precision and scale (DuckDB's `*`
      is one digit narrower); a scale past 37 is refused; a SUM of a DECIMAL(p, s) is
      DECIMAL(38, s) (r_SUM.html);
    - a type only DuckDB knows (a function's result, a parameter): `//`, refused at run
      time when it turns out a DECIMAL quotient;
    - an explicit cast of a table's DECIMAL to a smaller scale truncates
      (`_cast_not_rounded`).

    Children before parents, so an outer operation sees its operands' Redshift types.
    """
    types = Types(catalog)

    def rule(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Cast):
            return _cast_not_rounded(node, types)
        if _is_avg(node):
            typed = types.of(node)
            if typed is None or typed.kind != "decimal":
                return node
            return _decimal_average(node, typed)
        if _is_sum(node):
            typed = types.of(node)
            if typed is None or typed.kind != "decimal":
                return node
            return exp.cast(node.copy(), typed.sql())  # r_SUM.html: DECIMAL(38, s)
        if not isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Div)):
            return node
        a, b = node.this, node.expression
        ta, tb = types.of(a), types.of(b)
        if isinstance(node, exp.Div):
            if ta is None or tb is None:
                if (ta is not None and ta.is_float) or (tb is not None and tb.is_float):
                    return _float_quotient(a, b)
                if _is_integer_literal(a) and _is_integer_literal(b):
                    return exp.IntDiv(this=a, expression=b)
                return exp.Paren(this=fill(_UNKNOWN_DIVISION, a=a, b=b))
            result = arithmetic_type(exp.Div, ta, tb)
            if result.is_float:
                return _float_quotient(a, b)
            if result.is_integer:
                return exp.IntDiv(this=a, expression=b)
            _refuse_past_max_scale(result, "quotient")
            return _exact_quotient(a, b, ta, tb, result)
        if ta is None or tb is None:
            return node
        result = arithmetic_type(type(node), ta, tb)
        if result.kind != "decimal":
            return node
        _refuse_past_max_scale(result, "product" if isinstance(node, exp.Mul) else "sum")
        return exp.cast(exp.Paren(this=node.copy()), result.sql())

    return post_order(tree, rule)


def _cast_not_rounded(cast: exp.Cast, types: Types) -> exp.Expr:
    """An explicit cast of a table's DECIMAL value to a smaller scale drops the extra
    digits: r_Numeric_types201.html, "results of explicit casts of values selected from
    tables are not rounded" (a value loaded into a column is rounded; DuckDB's cast
    always rounds). A literal's cast keeps DuckDB's rounding (`CAST(1.239 AS
    DECIMAL(5,2))` is 1.24, as the cast-function page shows)."""
    target, source = cast_type(cast.to), types.of(cast.this)
    if (target is None or target.kind != "decimal" or source is None
            or source.kind != "decimal" or source.scale <= target.scale
            or cast.this.find(exp.Column) is None):
        return cast
    truncated = exp.Anonymous(this="trunc", expressions=[
        cast.this.copy(), exp.Literal.number(target.scale)])
    return exp.cast(truncated, cast.to.copy())


def _is_avg(node: exp.Expr) -> bool:
    """An AVG, or the window over one."""
    if isinstance(node, exp.Window):
        return isinstance(node.this, exp.Avg)
    return isinstance(node, exp.Avg) and not isinstance(node.parent, exp.Window)


# r_AVG.html: an AVG of a DECIMAL(p, s) is a DECIMAL(38, s), but the page does not say how
# the digits past s go (rounded or truncated). The mean is answered when it has no such
# digits (the digits of the sum divide by the count), and refused at run time otherwise.
_DECIMAL_AVERAGE = (
    "CASE WHEN __n__ = 0 THEN NULL WHEN __u__ % __n__ = 0 THEN __u__ // __n__ ELSE "
    "error('unsupported on the embedded warehouse: AVG of a DECIMAL whose mean has more "
    "digits than its scale (r_AVG.html gives the type, not how the extra digits go; cast "
    "it to FLOAT8)') END")


def _decimal_average(node: exp.Expr, result: Numeric) -> exp.Expr:
    """AVG(x) of a DECIMAL(p, s) (or its window): SUM(x)'s digits over COUNT(x), exactly,
    as a DECIMAL(38, s) (`_DECIMAL_AVERAGE`)."""
    window = node if isinstance(node, exp.Window) else None
    avg = node.this if window is not None else node
    arg = avg.this
    distinct = isinstance(arg, exp.Distinct)
    value = arg.expressions[0] if distinct else arg
    prefix = "DISTINCT " if distinct else ""

    def over(aggregate: exp.Expr) -> exp.Expr:
        if window is None:
            return aggregate
        copy = window.copy()
        copy.set("this", aggregate)
        return copy

    total = exp.cast(over(fill(f"SUM({prefix}__x__)", x=value)), result.sql())
    count = over(fill(f"COUNT({prefix}__x__)", x=value))
    digits = fill(_DECIMAL_AVERAGE, n=count, u=fill(_UNSCALED, x=total))
    placed: exp.Expr = exp.cast(exp.Paren(this=digits), decimal(MAX_PRECISION, 0).sql())
    if result.scale:
        unit = exp.cast(exp.Literal.string("0." + "0" * (result.scale - 1) + "1"),
                        decimal(result.scale, result.scale).sql())
        placed = exp.Paren(this=exp.Mul(this=placed, expression=unit))
    return exp.cast(placed, result.sql())


def _is_sum(node: exp.Expr) -> bool:
    """A SUM, or the window over one (the cast goes around the window, not inside)."""
    if isinstance(node, exp.Window):
        return isinstance(node.this, exp.Sum)
    return isinstance(node, exp.Sum) and not isinstance(node.parent, exp.Window)


def _refuse_past_max_scale(result: Numeric, what: str) -> None:
    if result.scale > MAX_SCALE:
        raise UnsupportedSqlError(
            f"a DECIMAL {what} of scale {result.scale} (r_numeric_computations201.html: the "
            f"maximum scale is {MAX_SCALE}; Redshift overflows)")


def _is_integer_literal(node: exp.Expr) -> bool:
    inner = node.this if isinstance(node, exp.Neg) else node
    return isinstance(inner, exp.Literal) and inner.is_int
