"""CLI argument types: numbers with a bound (readers' read-only sessions: tests/integration)."""

from __future__ import annotations

import argparse

import pytest

from pipeline.cli import at_least

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("minimum", "kind", "text", "message"), [
    (0, int, "-1", "must be 0 or more, got -1"),
    (1, int, "0", "must be 1 or more, got 0"),
    (1, int, "two", "'two' is not a whole number"),
    (0, float, "-0.5", "must be 0 or more, got -0.5"),
    (0, float, "nan", "must be 0 or more, got nan"),
])
def test_numeric_options_are_refused_with_a_message_naming_the_bound(minimum, kind, text,
                                                                      message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        at_least(minimum, kind)(text)


def test_numeric_options_in_range_pass_through():
    assert at_least(0)("0") == 0 and at_least(0, float)("0.25") == 0.25


@pytest.mark.parametrize("exc", [
    OSError(28, "No space left on device", "var/embedded-queue/journal.ndjson"),
    RuntimeError("IO Error: Could not write file \"w.duckdb\": No space left on device"),
])
def test_a_full_disk_is_one_line_that_says_what_to_do(exc):
    from pipeline.cli import describe_error

    code, line = describe_error(exc)
    assert code == 1 and "\n" not in line
    assert line.startswith("error: the disk is full") and "free some space" in line
