"""SUPER (PartiQL) on DuckDB VARIANT: navigation, unnesting, dynamic typing, SUPER functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlglot import exp

from pipeline.offline.warehouse.translate.errors import UnsupportedSqlError
from pipeline.offline.warehouse.translate.trees import call_name, fill, post_order


def super_to_variant(tree: exp.Expr) -> exp.Expr:
    """`SUPER` columns and casts (`x::SUPER`) -> DuckDB `VARIANT`."""

    def rule(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.DataType) and node.this == exp.DType.SUPER:
            return exp.DataType.build("VARIANT")
        return node

    return tree.transform(rule)


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
class Scope:
    relations: frozenset[str]
    elements: frozenset[str]
    unnests: frozenset[str]  # table aliases of the unnests binding `elements`
    # Output columns of CTEs and subqueries that carry a SUPER value, as "col" and
    # "relation.col": SUPER keeps its dynamic typing when it passes through them.
    super_outputs: frozenset[str] = frozenset()

    @classmethod
    def of(cls, tree: exp.Expr) -> Scope:
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
        return call_name(node) == "JSON_PARSE"


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
    def of(cls, node: exp.Expr, placeholder: str, scope: Scope) -> _Operand:
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


COMPARISONS: dict[type[exp.Expr], str] = {
    exp.EQ: "=", exp.NEQ: "<>", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">=",
}
_ARITHMETIC: dict[type[exp.Expr], str] = {
    exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "//", exp.Mod: "%",
}


def _super_comparison(node: exp.Binary, scope: Scope) -> exp.Expr:
    """Redshift's dynamic typing for `a op b` where a side is SUPER.

    Numbers compare with numbers, strings with strings, booleans with booleans;
    `=` across different types is false (`<>` true), an ordering across types is
    null, and a null side gives null. DuckDB would instead cast the VARIANT to the
    other side's type (so 1.5 = 1.5 is false and 1.5 < 1.3 is true).
    """
    op = COMPARISONS[type(node)]
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
    return exp.Paren(this=fill(sql, a=node.this, b=node.expression))


def _super_arithmetic(node: exp.Expr, scope: Scope) -> exp.Expr:
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
    result = exp.Paren(this=fill(f"CASE {' '.join(branches)} END", a=node.this,
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
    scope = Scope.of(tree)

    def rule(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Cast) and node.meta.get("implicit_text") \
                and scope.is_super(node.this):
            return exp.Paren(this=fill(_STRING_GUARD, x=node.this))  # LEN(x) of a SUPER x
        if isinstance(node, (exp.Cast, exp.TryCast)) and node.to.this != exp.DType.VARIANT \
                and scope.is_super(node.this):
            if node.to.this == exp.DType.VARCHAR:
                sql = (f"CASE WHEN {_SUPER_TESTS['nested'].format(v='__x__')} THEN NULL "
                       "ELSE TRY_CAST(__x__ AS VARCHAR) END")
                return exp.Paren(this=fill(sql, x=node.this))
            if node.to.this in _INT_TYPES:
                # A decimal rounds half away from zero on Redshift; DuckDB's cast of a
                # VARIANT DOUBLE rounds half to even (2.5 -> 2).
                sql = (f"CASE WHEN {_SUPER_TESTS['num'].format(v='__x__')} AND NOT "
                       f"{_SUPER_TESTS['int'].format(v='__x__')} THEN TRY_CAST(ROUND(CAST(__x__ "
                       "AS DOUBLE)) AS __t__) ELSE TRY_CAST(__x__ AS __t__) END")
                return exp.Paren(this=fill(sql.replace("__t__", node.to.sql("duckdb")),
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
        if isinstance(node, tuple(COMPARISONS)) and (
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
        if isinstance(node, _STRING_FUNCTIONS) or call_name(node) in _STRING_CALLS:
            for arg in list(node.iter_expressions()):
                if scope.is_super(arg):
                    arg.replace(exp.Paren(this=fill(_STRING_GUARD, x=arg)))
            return node
        if isinstance(node, _AGGREGATES) and scope.is_super(node.this):
            name = node.key.upper()
            raise UnsupportedSqlError(
                f"{name}() of a SUPER value (cast it first, e.g. {name}(x::FLOAT))"
            )
        return node

    return post_order(tree, rule)


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
                sub = fill(at.format(e=element.sql("duckdb"), i=index.sql("duckdb")),
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
    scope = Scope.of(tree)
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
        if call_name(node) == "JSON_PARSE" and len(node.expressions) == 1:
            return fill("CAST(CAST(__x__ AS JSON) AS VARIANT)", x=node.expressions[0])
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
        name = call_name(node)
        if name in _SUPER_FUNCTIONS:
            sql = _SUPER_FUNCTIONS[name].format(v="__x__")
            return exp.Paren(this=fill(sql, x=node.expressions[0]))
        return node

    return tree.transform(rule)


# SPLIT_TO_ARRAY's page documents one example; an empty input or an empty delimiter is
# not, so either is refused when the row meets it rather than answered by guess.
_SPLIT_TO_ARRAY = (
    "CAST(CASE WHEN __s__ = '' OR __d__ = '' THEN error('unsupported on the embedded "
    "warehouse: SPLIT_TO_ARRAY of an empty string or with an empty delimiter (Redshift''s "
    "result is not documented)') ELSE string_split(__s__, __d__) END AS VARIANT)"
)


def split_to_array_as_variant(tree: exp.Expr) -> exp.Expr:
    """`SPLIT_TO_ARRAY(string[, delimiter])` -> a VARIANT array of the parts, as text.

    split_to_array.html: the delimiter defaults to a comma and the result is a SUPER
    array of strings (`'12|345|6789', '|'` -> `["12","345","6789"]`); the delimiter is
    a plain string, not a pattern, as DuckDB's `string_split` takes it. A NULL argument
    gives NULL (the SQL rule for a function of NULL).
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if call_name(node) != "SPLIT_TO_ARRAY":
            return node
        args = node.expressions  # how many: the registry's synopsis has checked
        delimiter = args[1] if len(args) == 2 else exp.Literal.string(",")
        return exp.Paren(this=fill(_SPLIT_TO_ARRAY, s=args[0], d=delimiter))

    return tree.transform(rule)


# r_array_concat.html: "The two arguments must be valid arrays"; what Redshift does with
# anything else is not documented, so a non-array value is refused when a row meets it
# (a SQL NULL argument gives NULL, the rule for a function of NULL; DuckDB's VARIANT
# stores a JSON null as it stores NULL, so a JSON null gives NULL too).
_ARRAY_CONCAT = (
    "CASE WHEN __a__ IS NULL OR __b__ IS NULL THEN NULL "
    f"WHEN {_SUPER_TESTS['array'].format(v='__a__')} "
    f"AND {_SUPER_TESTS['array'].format(v='__b__')} "
    "THEN CAST(list_concat(CAST(__a__ AS VARIANT[]), CAST(__b__ AS VARIANT[])) AS VARIANT) "
    "ELSE error('unsupported on the embedded warehouse: ARRAY_CONCAT of a value that is not "
    "an array (Redshift''s result is not documented)') END"
)


def array_concat_of_variants(tree: exp.Expr) -> exp.Expr:
    """`ARRAY_CONCAT(array1, array2)` -> the first array's elements, then the second's.

    r_array_concat.html: a SUPER array; elements of different types mix
    (`[10001,10002,"ab","cd"]`), as they do in a VARIANT list.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if call_name(node) != "ARRAY_CONCAT":
            return node
        first, second = node.expressions  # two: the registry's synopsis has checked
        return exp.Paren(this=fill(_ARRAY_CONCAT, a=first, b=second))

    return tree.transform(rule)


def json_extract_path_text(tree: exp.Expr) -> exp.Expr:
    """`JSON_EXTRACT_PATH_TEXT(json, 'k1', 'k2'[, null_if_invalid])` -> `json_extract_string`.

    A missing key gives NULL (Redshift's current behaviour); with
    null_if_invalid true, invalid JSON gives NULL instead of an error. Keys must
    be string literals.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if call_name(node) != "JSON_EXTRACT_PATH_TEXT":
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
            return exp.Paren(this=fill("CASE WHEN json_valid(__s__) THEN __e__ END",
                                        s=source, e=extract))
        return extract

    return tree.transform(rule)
