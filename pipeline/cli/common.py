"""What every command group shares: the usage error, argument types, output helpers."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from pipeline.aws.settings import ENV_WAREHOUSE_PATH
from pipeline.core.errors import PipelineError

# Exit codes: 2 for what the user typed or configured, 1 for a failure of the run itself.
USAGE, FAILURE = 2, 1


class UsageError(PipelineError):
    """Options that do not go together or are out of range: exit code 2."""


class SqlError(UsageError):
    """The warehouse refused the SQL the user gave: exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line that says where help is (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def at_least(minimum: float, kind: type[int] | type[float] = int) -> Callable[[str], Any]:
    """An argparse type: a number of `kind` no smaller than `minimum`, else a clear message."""
    noun = "a whole number" if kind is int else "a number"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if value < minimum or value != value:  # NaN compares false with everything
            raise argparse.ArgumentTypeError(f"must be {minimum:g} or more, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def table(columns: list[str], rows: list[list[Any]]) -> str:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join([line, rule, *body])


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text} must be more than 0 and at most 3600 seconds")
    return value


def warehouse_option(parser: argparse.ArgumentParser) -> None:
    """`--warehouse PATH`: the DuckDB warehouse file (it overrides the setting)."""
    parser.add_argument("--warehouse", type=Path, metavar="PATH",
                        help=f"DuckDB warehouse file (default: ${ENV_WAREHOUSE_PATH} "
                             "or var/warehouse.duckdb)")
