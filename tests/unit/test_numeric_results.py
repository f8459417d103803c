"""NUMERIC values in a result set keep their digits and their scale, on every output.

The Data API gives a NUMERIC/DECIMAL value as its text (`1.7500` for Redshift's
numeric(6,4) quotient of 7.0 / 4.0, r_numeric_computations201.html); a float64 would
print it as 1.75 and cut a DECIMAL(38, 17) value past its 17th significant digit.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal

from pipeline.analysis.dbtypes import result_frame
from pipeline.aws.dataapi import Result
from pipeline.cli.common import table
from pipeline.cli.warehouse import dumps_records, json_records

WIDE = "12345678901234567890.123456789012345678"  # DECIMAL(38,18): 38 significant digits


def _result(*values: object) -> Result:
    return Result("s-1", ["x"], ["numeric"], [[v] for v in values])


def test_a_numeric_column_holds_exact_decimals_and_null_stays_none() -> None:
    frame = result_frame(_result("1.7500", None, WIDE))
    assert list(frame["x"]) == [Decimal("1.7500"), None, Decimal(WIDE)]
    assert str(frame["x"][0]) == "1.7500"


def test_json_writes_the_numbers_with_every_digit_and_the_scale() -> None:
    text = dumps_records(json_records(result_frame(_result("1.7500", None, WIDE, "-0.10"))))
    assert text == f'[{{"x": 1.7500}}, {{"x": null}}, {{"x": {WIDE}}}, {{"x": -0.10}}]'
    assert json.loads(text, parse_float=Decimal)[2]["x"] == Decimal(WIDE)


def test_csv_and_table_print_the_text_the_data_api_gave() -> None:
    frame = result_frame(_result("1.7500", WIDE))
    out = io.StringIO()
    frame.to_csv(out, index=False)
    assert out.getvalue().splitlines() == ["x", "1.7500", WIDE]
    assert "1.7500" in table(["x"], frame.astype(object).values.tolist())


def test_a_marker_like_string_is_left_as_text() -> None:
    records = [{"s": "\0exact0\0", "x": json_records(result_frame(_result("2.50")))[0]["x"]}]
    assert json.loads(dumps_records(records)) == [{"s": "\0exact0\0", "x": 2.5}]
