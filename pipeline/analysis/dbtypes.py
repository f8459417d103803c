"""PEP 249's module-level parts of `pipeline.analysis.dbapi`: errors, types, values.

The exception hierarchy, the type objects and constructors, the Data API parameters
and the conversion of results to Python values and DataFrames; `dbapi` re-exports every
name, so a DB-API client sees one module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pipeline.aws.fields import NON_FINITE_FLOATS
from pipeline.core.errors import (
    ConfigError,
    PipelineError,
)

if TYPE_CHECKING:
    import pandas as pd

    from pipeline.aws.dataapi import Result

# The Redshift Data API binds `:name` parameters (ExecuteStatement's Parameters).
paramstyle = "named"

# --------------------------------------------------------------------------- exceptions
# PEP 249's hierarchy. Error is also a PipelineError, so the `pipeline` command and the
# notebooks' smoke checks report any of them in one line, never as a traceback.


class Warning(Exception):  # the name PEP 249 requires, shadowing the builtin here only
    """Important warnings (PEP 249); nothing here raises it today."""


class Error(PipelineError):
    """Base of every error this module raises (PEP 249)."""


class InterfaceError(Error):
    """The module was used wrongly: a closed cursor, a fetch with no result set."""


class DatabaseError(Error):
    """The warehouse refused or failed the statement; `error` is its own message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.error = message


class DataError(DatabaseError):
    """A value the statement met was wrong: division by zero, a malformed number or date."""


class OperationalError(DatabaseError):
    """The warehouse could not be reached or used: no file, a lock, a timeout, throttling."""


class IntegrityError(DatabaseError):
    """A constraint failed (PEP 249; readers do not write, so rare here)."""


class InternalError(DatabaseError):
    """The warehouse is in a state it should never be in (PEP 249)."""


class ProgrammingError(DatabaseError):
    """The SQL is wrong: a syntax error, a missing table or column, a write by a reader."""


class NotSupportedError(DatabaseError):
    """Redshift SQL the embedded warehouse refuses, or a DB-API feature this module lacks."""


class SettingsError(InterfaceError, ConfigError):
    """connect() was given settings it cannot use; the message names the setting."""


# Redshift's messages for bad values (the embedded warehouse words its errors the same way).
_DATA_ERRORS = (
    "division by zero",
    "invalid input syntax",
    "value out of range",
    "json parsing error",
    "cannot cast",
    "invalid digit",
    "overflow",
)


def _statement_error(message: str) -> DatabaseError:
    """The DB-API class for a statement the warehouse failed, from Redshift's message."""
    text = message.removeprefix("ERROR: ").strip()
    lowered = text.lower()
    if any(marker in lowered for marker in _DATA_ERRORS):
        return DataError(text)
    if "unsupported on the embedded warehouse" in lowered:
        return NotSupportedError(text)
    return ProgrammingError(text)


# --------------------------------------------------------------------------- types (PEP 249)


class _TypeSet(frozenset[str]):
    """A PEP 249 type object: equal to every Data API type name it covers."""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return other.lower() in self
        return frozenset.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return frozenset.__hash__(self)


STRING = _TypeSet({"varchar", "char", "bpchar", "text", "character varying", "character",
                   "name", "super", "interval"})
BINARY = _TypeSet({"varbyte", "binary varying", "varbinary", "bytea"})
NUMBER = _TypeSet({"int2", "int4", "int8", "smallint", "integer", "bigint", "float4", "float8",
                   "real", "double precision", "numeric", "decimal", "bool", "boolean"})
DATETIME = _TypeSet({"timestamp", "timestamptz", "timestamp without time zone",
                     "timestamp with time zone", "date", "time", "timetz"})
ROWID = _TypeSet()

Date = dt.date
Time = dt.time
Timestamp = dt.datetime


def DateFromTicks(ticks: float) -> dt.date:  # noqa: N802 (PEP 249's name)
    return dt.datetime.fromtimestamp(ticks, dt.UTC).date()


def TimeFromTicks(ticks: float) -> dt.time:  # noqa: N802 (PEP 249's name)
    return dt.datetime.fromtimestamp(ticks, dt.UTC).time()


def TimestampFromTicks(ticks: float) -> dt.datetime:  # noqa: N802 (PEP 249's name)
    return dt.datetime.fromtimestamp(ticks, dt.UTC)


def Binary(value: bytes | bytearray | memoryview) -> bytes:  # noqa: N802 (PEP 249's name)
    return bytes(value)


# --------------------------------------------------------------------------- parameters


def data_api_parameters(parameters: Mapping[str, Any] | None) -> dict[str, str]:
    """DB-API parameters as the Data API's (name, string value) pairs.

    The Data API takes every value as a non-empty string that Redshift converts to the
    type the statement needs, so numbers, dates and booleans are written as Redshift
    reads their literals. NULL and the empty string cannot be sent (the service requires
    a value of at least one character): write NULL or '' in the SQL instead.
    """
    if parameters is None:
        return {}
    if not isinstance(parameters, Mapping):
        raise ProgrammingError(
            f"parameters must be a mapping of :name to value (paramstyle {paramstyle!r}), "
            f"got {type(parameters).__name__}"
        )
    out: dict[str, str] = {}
    for name, value in parameters.items():
        if not isinstance(name, str) or not name or not all(
            c.isascii() and (c.isalnum() or c == "_") for c in name
        ):
            raise ProgrammingError(f"parameter name {name!r}: the Data API takes [0-9a-zA-Z_]+")
        out[name] = _parameter_text(name, value)
    return out


def _parameter_text(name: str, value: Any) -> str:
    if value is None:
        raise NotSupportedError(
            f"parameter :{name} is None: the Data API cannot send NULL; write NULL in the SQL")
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, dt.date | dt.time):
        text = value.isoformat()
    elif isinstance(value, int | float | Decimal | str):
        text = str(value)
    elif isinstance(value, bytes | bytearray | memoryview):
        text = bytes(value).hex()
    else:
        raise ProgrammingError(
            f"parameter :{name} is a {type(value).__name__}: pass a str, number, bool, date, "
            "time, datetime or bytes")
    if not text:
        raise NotSupportedError(
            f"parameter :{name} is empty: the Data API needs a value of at least one "
            "character; write '' in the SQL")
    return text


# --------------------------------------------------------------------------- values


def python_value(value: Any, type_name: str) -> Any:
    """A Data API field value as the Python value the column's Redshift type means.

    Timestamps become datetimes (timestamptz aware, in UTC), dates dates, numerics
    Decimals; SUPER stays its JSON text, as Redshift's own driver returns it.
    """
    if value is None:
        return None
    kind = type_name.lower()
    try:
        if kind in ("timestamptz", "timestamp with time zone"):
            return _timestamp(str(value), aware=True)
        if kind in ("timestamp", "timestamp without time zone"):
            return _timestamp(str(value), aware=False)
        if kind == "date":
            return dt.date.fromisoformat(str(value))
        if kind in ("numeric", "decimal"):
            return Decimal(str(value))
        if kind in ("float4", "float8", "real", "double precision") and isinstance(value, str):
            return float(value)  # NaN and Infinity come as text
    except ValueError as exc:
        raise DataError(f"a {type_name} value {value!r} could not be read: {exc}") from None
    return value


def _timestamp(text: str, *, aware: bool) -> dt.datetime:
    if aware and len(text) > 3 and text[-3] in "+-" and text[-2:].isdigit():
        text += ":00"  # Redshift writes the offset as +00
    parsed = dt.datetime.fromisoformat(text)
    if aware:
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    return parsed.replace(tzinfo=None)


def result_frame(result: Result | None) -> pd.DataFrame:
    """A Data API result set (`dataapi.Result`, or None for no rows) as a DataFrame.

    Values are typed from the column's Redshift type name: timestamps become UTC
    datetimes (naive ones are UTC), floats become float64, NUMERIC/DECIMAL values
    Decimals with their scale (a float64 would print 1.7500 as 1.75 and cut a
    DECIMAL(38, 17) quotient past its 17th digit), booleans stay booleans; SUPER stays
    JSON text, as redshift-connector returns it.
    """
    import pandas as pd

    if result is None:
        return pd.DataFrame()
    frame = pd.DataFrame(result.rows, columns=result.columns, dtype=object)
    for index, type_name in enumerate(result.type_names):
        kind = type_name.lower()
        column = frame.iloc[:, index]
        if kind in ("timestamptz", "timestamp with time zone"):
            frame.isetitem(index, pd.to_datetime(column, utc=True, format="ISO8601"))
        elif kind in ("timestamp", "timestamp without time zone"):
            frame.isetitem(index, pd.to_datetime(column, format="ISO8601"))
        elif kind == "date":
            frame.isetitem(index, pd.to_datetime(column, format="ISO8601").dt.date)
        elif kind in ("int2", "int4", "int8", "smallint", "integer", "bigint"):
            frame.isetitem(
                index, column.astype("Int64") if column.isna().any() else column.astype("int64"))
        elif kind in ("numeric", "decimal"):
            frame.isetitem(index, _decimals(column))
        elif kind in ("float4", "float8", "real", "double precision"):
            frame.isetitem(index, _numbers(column))
        elif kind in ("bool", "boolean"):
            frame.isetitem(
                index, column.astype("boolean") if column.isna().any() else column.astype(bool))
    return frame


def _decimals(column: Any) -> Any:
    """A NUMERIC/DECIMAL column as exact Decimals (an object column, None for NULL), as the
    DB-API cursor (`python_value`) and redshift-connector return them."""
    import pandas as pd

    values = [python_value(v, "numeric") for v in column]
    return pd.Series(values, index=column.index, dtype=object)


def _numbers(column: Any) -> Any:
    """A numeric column as numbers; one holding NaN or an infinity stays an object column of
    floats with None for NULL, since a float64 column would make NaN and NULL the same value."""
    import pandas as pd

    if not column.isin(list(NON_FINITE_FLOATS)).any():
        return pd.to_numeric(column)
    values = [None if v is None else float(NON_FINITE_FLOATS.get(v, v)) for v in column]
    return pd.Series(values, index=column.index, dtype=object)  # map() would infer float64
