"""VARCHAR(n) columns hold at most n bytes, as on Redshift.

r_Character_types.html: "Both CHAR and VARCHAR data types store strings up to n bytes in
length. An attempt to store a longer string into a column of these types results in an
error, unless the extra characters are all spaces (blanks), in which case the string is
truncated to the maximum length." Bytes, so multibyte characters count each byte. COPY
fails on such a value too unless TRUNCATECOLUMNS, which the loader does not use
(pipeline/core/rows.py cuts long text itself and records the cut). DuckDB ignores a
VARCHAR's length (`varchar_without_length` drops it), so without this rule an INSERT of a
too-long value succeeded silently.

`varchar_lengths_checked` gives each `VARCHAR(n)` / `CHARACTER VARYING(n)` /
`NVARCHAR(n)` column of a CREATE TABLE a CHECK that raises Redshift's error, which DuckDB
evaluates on every INSERT, UPDATE and COPY into the table; the bytes past n may be
blanks (they are kept, where Redshift cuts them). A column without a length (Redshift's
default is 256 bytes) and a column added by ALTER TABLE ADD COLUMN (DuckDB takes no
constraint there) are not checked: docs/redshift-sql.md lists both as known differences.
"""

from __future__ import annotations

from sqlglot import exp

from pipeline.offline.warehouse.translate.trees import fill

# VARCHAR(MAX) is 65,535 bytes (r_Character_types.html).
_MAX_BYTES = 65535
_VARYING = frozenset({exp.DType.VARCHAR, exp.DType.NVARCHAR})


def _declared_bytes(kind: exp.Expr | None) -> int | None:
    if not isinstance(kind, exp.DataType) or kind.this not in _VARYING or not kind.expressions:
        return None
    length = kind.expressions[0].this
    if isinstance(length, exp.Var) and length.name.upper() == "MAX":
        return _MAX_BYTES
    if isinstance(length, exp.Literal) and length.is_int:
        return int(length.this)
    return None


def varchar_lengths_checked(tree: exp.Expr) -> exp.Expr:
    """`CREATE TABLE t (v VARCHAR(5))` -> `... v VARCHAR CHECK (CASE WHEN strlen(rtrim(v)) >
    5 THEN error('value too long for type character varying(5)') ELSE TRUE END)`."""
    if not isinstance(tree, exp.Create) or not isinstance(tree.this, exp.Schema):
        return tree
    for column in tree.this.expressions:
        if not isinstance(column, exp.ColumnDef):
            continue
        limit = _declared_bytes(column.args.get("kind"))
        if limit is None:
            continue
        # strlen is the stored byte count; rtrim copies the text, so it runs only on the
        # rare value already over the limit (on every loaded row it cost ~4 us: load_replay).
        check = fill(f"CASE WHEN strlen(__v__) > {limit} AND strlen(rtrim(__v__, ' ')) > "
                     f"{limit} THEN error('value too long for type character varying({limit})') "
                     "ELSE TRUE END",
                     v=exp.column(column.this.copy()))
        constraints = list(column.args.get("constraints") or [])
        constraints.append(exp.ColumnConstraint(kind=exp.CheckColumnConstraint(this=check)))
        column.set("constraints", constraints)
    return tree
