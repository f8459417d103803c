"""UNION, INTERSECT and EXCEPT operands must have columns of one type category.

r_UNION.html: "The two expressions must contain the same number of output columns with
compatible data types ... Set operations don't allow implicit conversion between
different categories of data types" (c_Supported_data_types.html names the categories:
numbers, character strings, datetimes, booleans, ...). DuckDB converts instead (an
INTEGER column and a VARCHAR column union into VARCHAR, a BOOLEAN into an INTEGER), so
`SELECT catid ... UNION SELECT catname ...` answered rows where Redshift fails.

The translator cannot see a column's type, DuckDB can: `set_operation_checks` writes, for
each set operation, a DuckDB query that DESCRIBEs both operands and fails with Redshift's
error (`UNION types smallint and varchar cannot be matched`) when a column pair falls in
two categories. The statement's DuckDB text runs the checks first (`with_checks`), so a
mismatch fails before anything runs, as Redshift's planner does. Not checked, to stay
exact: a column that is a string literal or NULL in an operand (Redshift gives an untyped
literal the other side's type), a set operation inside an expression (a subquery in
WHERE or in a select list may be correlated, and DESCRIBE of it alone would fail), one
inside a recursive CTE, and statements with parameters (DuckDB binds parameters to the
whole text).
"""

from __future__ import annotations

from sqlglot import exp

# DuckDB type names by Redshift category; a type not listed is its own category.
_NUMBER = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
           "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE")
_DATETIME = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS",
             "TIMESTAMP_NS")
_TIME = ("TIME", "TIME WITH TIME ZONE")
# Where a set operation may sit and still be described on its own: a statement's root,
# an operand of another, a CTE or a subquery in FROM / JOIN (not a correlated one).
_CONTAINERS = (exp.SetOperation, exp.Subquery, exp.From, exp.Join, exp.CTE, exp.With,
               exp.Insert, exp.Create)


def _category(column: str) -> str:
    def names(types: tuple[str, ...]) -> str:
        return ", ".join(f"'{t}'" for t in types)

    return (f"CASE WHEN {column} IN ({names(_NUMBER)}) OR {column} LIKE 'DECIMAL%' THEN 'number' "
            f"WHEN {column} IN ({names(_DATETIME)}) THEN 'datetime' "
            f"WHEN {column} IN ({names(_TIME)}) THEN 'time' ELSE {column} END")


def _untyped_positions(operand: exp.Expr) -> set[int]:
    """1-based positions where some SELECT of `operand` gives a string literal or NULL."""
    positions: set[int] = set()
    selects = [operand] if isinstance(operand, exp.Select) else list(operand.find_all(exp.Select))
    for select in selects:
        for i, column in enumerate(select.expressions, start=1):
            value = column.unalias()
            if isinstance(value, exp.Null) or (isinstance(value, exp.Literal) and value.is_string):
                positions.add(i)
    return positions


def _describable(node: exp.SetOperation) -> bool:
    """Whether `node` can be DESCRIBEd alone: its ancestors are containers, and a SELECT
    holds it only in its FROM, a JOIN or its WITH, never in a recursive CTE."""
    child, parent = node, node.parent
    while parent is not None:
        if isinstance(parent, exp.Select):
            if not isinstance(child, (exp.From, exp.Join, exp.With)):
                return False
        elif not isinstance(parent, _CONTAINERS):
            return False
        if isinstance(parent, exp.With) and parent.args.get("recursive"):
            return False
        child, parent = parent, parent.parent
    return True


def set_operation_checks(tree: exp.Expr) -> tuple[str, ...]:
    """The DuckDB check queries for the set operations of `tree` (module docstring)."""
    if any(True for _ in tree.find_all(exp.Placeholder, exp.Parameter)):
        return ()
    with_ = tree.args.get("with_") if isinstance(tree, exp.Query) else None
    checks = []
    for node in tree.find_all(exp.SetOperation):
        if not _describable(node):
            continue
        operands = []
        for operand in (node.this, node.expression):
            alone = operand.unnest().copy() if isinstance(operand, exp.Subquery) else operand.copy()
            if with_ is not None and not alone.args.get("with_"):
                alone.set("with_", with_.copy())
            operands.append(alone)
        skip = _untyped_positions(node.this) | _untyped_positions(node.expression)
        described = [f"(SELECT row_number() OVER () AS i, column_type AS t FROM (DESCRIBE "
                     f"{operand.sql(dialect='duckdb')}))" for operand in operands]
        where = f"({_category('l.t')}) <> ({_category('r.t')}) AND l.t <> '\"NULL\"' AND " \
                "r.t <> '\"NULL\"'"
        if skip:
            where += f" AND l.i NOT IN ({', '.join(str(i) for i in sorted(skip))})"
        keyword = node.key.upper()
        checks.append(f"SELECT error('{keyword} types ' || lower(l.t) || ' and ' || lower(r.t) "
                      f"|| ' cannot be matched') FROM {described[0]} AS l JOIN {described[1]} "
                      f"AS r ON l.i = r.i WHERE {where}")
    return tuple(checks)


def with_checks(tree: exp.Expr, duckdb_sql: str) -> str:
    """`duckdb_sql` preceded by the set-operation checks of `tree`, as one DuckDB text
    (DuckDB runs the statements in turn and answers with the last one's result)."""
    return "; ".join((*set_operation_checks(tree), duckdb_sql))
