"""The DB-API module's pure parts: PEP 249's module surface, parameters as the Data API takes
them, values typed from the Data API's type names, and errors classed from Redshift's words.

The connections themselves run in tests/integration/test_dbapi.py (a DuckDB file, and
the embedded Data API reached through a stack-outputs file).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from pipeline.analysis import dbapi as d
from pipeline.core.errors import ConfigError, PipelineError

pytestmark = pytest.mark.unit


def test_the_module_declares_what_pep_249_asks_for():
    assert d.apilevel == "2.0"
    assert d.threadsafety in (0, 1, 2, 3)
    assert d.paramstyle == "named"  # the Data API's :name parameters
    for name in ("Warning", "Error", "InterfaceError", "DatabaseError", "DataError",
                 "OperationalError", "IntegrityError", "InternalError", "ProgrammingError",
                 "NotSupportedError"):
        assert isinstance(getattr(d, name), type), name
        assert getattr(d.Connection, name) is getattr(d, name)  # the optional extension
    for constructor in ("Date", "Time", "Timestamp", "DateFromTicks", "TimeFromTicks",
                        "TimestampFromTicks", "Binary"):
        assert callable(getattr(d, constructor)), constructor


def test_the_exception_hierarchy_is_pep_249s_and_every_error_is_a_one_line_pipeline_error():
    assert issubclass(d.Warning, Exception) and not issubclass(d.Warning, d.Error)
    assert issubclass(d.Error, Exception) and issubclass(d.Error, PipelineError)
    assert issubclass(d.InterfaceError, d.Error)
    assert issubclass(d.DatabaseError, d.Error)
    for name in ("DataError", "OperationalError", "IntegrityError", "InternalError",
                 "ProgrammingError", "NotSupportedError"):
        assert issubclass(getattr(d, name), d.DatabaseError), name
    assert issubclass(d.SettingsError, d.InterfaceError) and issubclass(d.SettingsError,
                                                                         ConfigError)


@pytest.mark.parametrize(("value", "text"), [
    ("BTC", "BTC"),
    (3, "3"),
    (-2.5, "-2.5"),
    (Decimal("10.50"), "10.50"),
    (True, "true"),
    (False, "false"),
    (dt.date(2024, 2, 1), "2024-02-01"),
    (dt.datetime(2024, 2, 1, 12, 38, 29), "2024-02-01 12:38:29"),
    (dt.datetime(2024, 2, 1, 12, 38, 29, 5, tzinfo=dt.UTC), "2024-02-01 12:38:29.000005+00:00"),
    (dt.time(7, 5), "07:05:00"),
    (b"\x00\xff", "00ff"),
    ("it's; DROP TABLE x", "it's; DROP TABLE x"),  # a value, never SQL text
])
def test_parameters_become_the_data_apis_name_and_string_value(value, text):
    assert d.data_api_parameters({"p": value}) == {"p": text}


@pytest.mark.parametrize(("parameters", "error", "message"), [
    ((1, 2), d.ProgrammingError, "paramstyle 'named'"),
    ({"p": None}, d.NotSupportedError, "cannot send NULL"),
    ({"p": ""}, d.NotSupportedError, "at least one character"),
    ({"p-1": 1}, d.ProgrammingError, r"\[0-9a-zA-Z_\]\+"),
    ({"p": object()}, d.ProgrammingError, "is a object"),
])
def test_parameters_the_data_api_cannot_carry_are_refused_by_name(parameters, error, message):
    with pytest.raises(error, match=message):
        d.data_api_parameters(parameters)


@pytest.mark.parametrize(("value", "type_name", "expected"), [
    ("2024-02-01 12:38:29+00", "timestamptz",
     dt.datetime(2024, 2, 1, 12, 38, 29, tzinfo=dt.UTC)),
    ("2024-02-01 12:38:29.25", "timestamp", dt.datetime(2024, 2, 1, 12, 38, 29, 250000)),
    ("2024-02-01", "date", dt.date(2024, 2, 1)),
    ("12.50", "numeric", Decimal("12.50")),
    (7, "int8", 7),
    ("NaN", "float8", "nan"),
    ('{"side":"long"}', "super", '{"side":"long"}'),  # SUPER stays its JSON text
    ("00:05:00", "interval", "00:05:00"),
    (None, "timestamptz", None),
])
def test_values_are_typed_from_the_data_apis_type_names(value, type_name, expected):
    got = d.python_value(value, type_name)
    if expected == "nan":
        assert got != got  # NaN
    else:
        assert got == expected and type(got) is type(expected)


def test_a_value_that_does_not_read_as_its_type_is_a_data_error():
    with pytest.raises(d.DataError, match="a date value 'soon' could not be read"):
        d.python_value("soon", "date")


def test_type_objects_compare_equal_to_the_type_names_they_cover():
    assert d.NUMBER == "int8" and d.NUMBER == "numeric" and d.NUMBER != "varchar"
    assert d.DATETIME == "timestamptz" and d.STRING == "super" and d.BINARY == "varbyte"
    assert "timestamptz" == d.DATETIME  # noqa: SIM300 (the order cursor.description users write)


@pytest.mark.parametrize(("message", "error"), [
    ('ERROR: relation "scraped.nope" does not exist', d.ProgrammingError),
    ('ERROR: syntax error at or near "SELEC"', d.ProgrammingError),
    ("ERROR: division by zero", d.DataError),
    ('ERROR: invalid input syntax for integer: "x"', d.DataError),
    ("ERROR: unsupported on the embedded warehouse: FILTER", d.NotSupportedError),
])
def test_a_failed_statement_is_classed_by_redshifts_message(message, error):
    raised = d._statement_error(message)
    assert type(raised) is error
    assert str(raised) == raised.error == message.removeprefix("ERROR: ")


def test_unknown_targets_and_a_local_stack_outputs_are_settings_errors(tmp_path):
    from pipeline.aws.settings import Settings

    with pytest.raises(d.SettingsError, match="unknown target 'nowhere'"):
        d.connect("nowhere", Settings())  # type: ignore[arg-type]
    with pytest.raises(d.SettingsError, match="use target='redshift'"):
        d.connect("local", Settings(), stack_outputs=tmp_path / "outputs.json")
    with pytest.raises(d.OperationalError, match=r"no warehouse at .*run `make run`"):
        d.connect("local", Settings(warehouse_path=tmp_path / "none.duckdb"))
    with pytest.raises(d.SettingsError, match="needs PIPELINE_REDSHIFT_WORKGROUP"):
        d.connect("redshift", Settings())
    with pytest.raises(d.SettingsError, match="does not exist"):
        d.connect("redshift", Settings(), stack_outputs=tmp_path / "outputs.json")
