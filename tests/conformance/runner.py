"""Run the conformance table on a warehouse and compare with what Redshift returns.

Two ways to query, matching the two ways the project reads a warehouse:
`DataApiBackend` (the loader's Data API client: the embedded endpoint or a real
Redshift) and `FrameBackend` (`pipeline.analysis.warehouse.connect`, the analysts'
DataFrames). Values are normalised to plain Python before comparing (see
`normalise`); an `int` expectation also requires an integer result, so a SUM
that comes back as a float fails.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pipeline.analysis.warehouse import Connection
from pipeline.aws.dataapi import DataApiWarehouse
from tests.conformance.table import Case, Json, fixture_sql


def load_fixture(warehouse: DataApiWarehouse) -> None:
    """Create the schema with the loader's own DDL, then insert the fixture rows."""
    warehouse.ensure_schema()
    *_ddl, insert = fixture_sql(warehouse.schema)
    warehouse.query(insert)


# --------------------------------------------------------------------------- backends


@dataclass
class DataApiBackend:
    """Queries through the Data API client; values typed by the result's column metadata."""

    warehouse: DataApiWarehouse

    def rows(self, case: Case) -> list[tuple[Any, ...]]:
        result = self.warehouse.query(case.sql(self.warehouse.schema))
        assert result is not None, f"{case.name}: no result set"
        return [
            tuple(normalise(v, t) for v, t in zip(row, result.type_names, strict=True))
            for row in result.rows
        ]


@dataclass
class FrameBackend:
    """Queries through `pipeline.analysis.warehouse.connect(...)`: the DataFrames analysts get."""

    connection: Connection
    schema: str

    def rows(self, case: Case) -> list[tuple[Any, ...]]:
        frame = self.connection.query(case.sql(self.schema))
        return [tuple(normalise(v) for v in row) for row in frame.itertuples(index=False)]


# --------------------------------------------------------------------------- comparing


def _timestamp_text(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    return text + (f".{value.microsecond:06d}".rstrip("0") if value.microsecond else "")


def normalise(value: Any, type_name: str | None = None) -> Any:
    """A result value as plain Python: None, bool, int, float, str (timestamps as UTC text)."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if type(value).__name__ in {"NaTType", "NAType"}:
        return None
    if isinstance(value, dt.datetime):  # pandas.Timestamp is a datetime
        return _timestamp_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str) and type_name in ("timestamp", "timestamptz"):
        text = value[:-3] if value.endswith(("+00", "-00")) else value
        return text.removesuffix("+00:00")
    if isinstance(value, str) and type_name in ("numeric", "float4", "float8"):
        return float(value)
    return value


def _matches(actual: Any, expected: Any, *, nullable: bool) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, Json):
        if isinstance(actual, str):
            try:
                actual = json.loads(actual)
            except ValueError:
                return False
        return bool(actual == expected.value)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, int):
        if isinstance(actual, float):
            # pandas stores an integer column holding NULLs as float: only there is a
            # whole float an acceptable integer.
            return nullable and actual.is_integer() and int(actual) == expected
        return isinstance(actual, int) and actual == expected
    if isinstance(expected, float):
        return isinstance(actual, (int, float)) and math.isclose(
            actual, expected, rel_tol=1e-9, abs_tol=1e-12
        )
    return bool(actual == expected)


def mismatches(case: Case, actual: Sequence[tuple[Any, ...]]) -> list[str]:
    """What differs between `actual` and the case's expected rows (empty when they match)."""
    expected = case.expected_rows
    if len(actual) != len(expected):
        return [f"{len(actual)} rows, expected {len(expected)}: {list(actual)!r}"]
    width = len(expected[0]) if expected else 0
    nullable = [any(row[i] is None for row in expected) for i in range(width)]
    problems = []
    for n, (got, want) in enumerate(zip(actual, expected, strict=True)):
        if len(got) != len(want):
            problems.append(f"row {n}: {len(got)} columns, expected {len(want)}")
            continue
        for i, (a, e) in enumerate(zip(got, want, strict=True)):
            if not _matches(a, e, nullable=nullable[i]):
                problems.append(f"row {n} column {i}: got {a!r}, expected {e!r}")
    return problems
