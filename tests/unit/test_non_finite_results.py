"""NaN and the infinities in a result set: a value of their own, never NULL, never a crash.

A float8 can hold NaN, Infinity and -Infinity (PostgreSQL's float types, which Redshift's
REAL and DOUBLE PRECISION follow: https://docs.aws.amazon.com/redshift/latest/dg/r_Numeric_types201.html),
and JSON numbers cannot, so the Data API's JSON carries them as text. Before, `pipeline
query` failed with pandas' "Unable to parse string 'NaN'" or json's "Out of range float
values", and a NaN beside a NULL would have printed as NULL.
"""

from __future__ import annotations

import io
import json
import math

import pandas as pd

from pipeline.analysis.dbtypes import result_frame
from pipeline.aws.dataapi import Result
from pipeline.cli.warehouse import json_records, spell_non_finite


def _result(*values: object, type_name: str = "float8") -> Result:
    return Result("s-1", ["x"], [type_name], [[v] for v in values])


def test_non_finite_texts_become_floats_and_null_stays_none() -> None:
    frame = result_frame(_result("NaN", None, "Infinity", "-Infinity", 2.5))
    values = list(frame["x"])
    assert math.isnan(values[0]) and values[1] is None
    assert values[2:] == [math.inf, -math.inf, 2.5]


def test_a_column_without_them_is_still_float64() -> None:
    frame = result_frame(_result(1.5, None))
    assert frame["x"].dtype == "float64"
    assert json_records(frame) == [{"x": 1.5}, {"x": None}]


def test_json_spells_them_as_text_and_keeps_null() -> None:
    frame = result_frame(_result("NaN", None, "Infinity", "-Infinity", 2.5))
    records = json_records(frame)
    assert records == [{"x": "NaN"}, {"x": None}, {"x": "Infinity"}, {"x": "-Infinity"},
                       {"x": 2.5}]
    json.dumps(records, allow_nan=False)  # what `pipeline query --format json` prints


def test_csv_and_table_spell_them_too() -> None:
    frame = spell_non_finite(result_frame(_result("NaN", "Infinity", None, type_name="float4")))
    out = io.StringIO()
    frame.to_csv(out, index=False)
    assert out.getvalue().splitlines() == ["x", "NaN", "Infinity", '""']
    assert isinstance(frame, pd.DataFrame) and list(frame["x"])[:2] == ["NaN", "Infinity"]
