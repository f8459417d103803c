"""The analysts' commands: `pipeline query`, `pipeline warehouse init`, `pipeline validate`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Literal

from pipeline.aws.settings import Settings
from pipeline.cli.common import SqlError, UsageError, stderr, table, warehouse_option
from pipeline.core.errors import ConfigError


def cmd_query(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.analysis import dbapi
    from pipeline.analysis.warehouse import connect

    statement = query_text(args)
    target: Literal["local", "redshift"] = (
        "redshift" if (args.target or ("redshift" if args.stack_outputs else "local")) == "redshift"
        else "local")
    if target == "local" and args.stack_outputs:
        raise UsageError("--stack-outputs names a deployed stack: use it with --target redshift")
    with connect(target=target, settings=settings, stack_outputs=args.stack_outputs) as conn:
        try:
            frame = conn.query(statement)
        except dbapi.OperationalError:  # the warehouse, not the SQL: "error", exit 1
            raise
        except dbapi.DatabaseError as exc:  # the warehouse refused the statement
            raise SqlError(exc.error) from exc
    if args.format == "json":  # json_records spells NaN and the infinities itself
        print(dumps_records(json_records(frame)))
        return 0
    frame = spell_non_finite(frame)
    if args.format == "csv":
        frame.to_csv(sys.stdout, index=False)
    else:
        rows = frame.astype(object).where(frame.notna(), None).values.tolist()
        print(table([str(c) for c in frame.columns], rows))
        stderr(f"({len(frame)} row{'s' if len(frame) != 1 else ''})")
    return 0


def spell_non_finite(frame: Any) -> Any:
    """NaN and the infinities of a result as their text spellings (`fields.non_finite_text`),
    as the Data API's JSON carries them: pandas would print NaN as an empty field or NULL,
    which is a different value. They are in object columns only (dbtypes.result_frame): in
    a float64 column NaN is how pandas holds NULL."""
    import math

    import pandas as pd

    from pipeline.aws.fields import non_finite_text

    def spell(v: Any) -> Any:
        return non_finite_text(v) if isinstance(v, float) and not math.isfinite(v) else v

    frame = frame.copy()
    for index, dtype in enumerate(frame.dtypes):
        if dtype.kind == "O":
            frame.isetitem(index, pd.Series([spell(v) for v in frame.iloc[:, index]],
                                            index=frame.index, dtype=object))
    return frame


def json_records(frame: Any) -> list[dict[str, Any]]:
    """The rows as JSON-ready dicts, values as the Data API gives them.

    pandas' `to_json` rounds floats to 10 decimals (1e-12 becomes 0.0), keeps only
    milliseconds and writes a DATE as a midnight timestamp; here a float keeps all of
    its float8 digits, a timestamp its microseconds (ISO 8601) and a DATE stays a date;
    NaN and the infinities are spelled as text (`spell_non_finite`), a NULL is null.
    """
    import math
    from datetime import date, datetime
    from decimal import Decimal

    import pandas as pd

    def value(v: Any) -> Any:
        if v is None or v is pd.NA or v is pd.NaT:
            return None
        if isinstance(v, (datetime, date)):  # pd.Timestamp is a datetime
            return v.isoformat()
        if isinstance(v, (bool, str)):
            return v
        if hasattr(v, "item"):  # a numpy scalar
            v = v.item()
        if isinstance(v, float):
            return None if math.isnan(v) else v
        if isinstance(v, Decimal):
            return ExactNumber(v)
        return v

    frame = spell_non_finite(frame)
    columns = [str(c) for c in frame.columns]
    return [dict(zip(columns, map(value, row), strict=True))
            for row in frame.astype(object).itertuples(index=False, name=None)]


class ExactNumber(str):
    """A NUMERIC value's text (1.7500), written by `dumps_records` as a bare JSON number."""


def dumps_records(records: list[dict[str, Any]]) -> str:
    """JSON text of `json_records`, a NUMERIC value as the number the Data API gives
    (`1.7500`, all 38 digits), not a float's (`1.75`, 17 digits at most).

    The rows are flat, so each one is written key by key: a NUMERIC's text goes in bare,
    everything else through json.dumps (the format json.dumps itself gives a list of
    dicts: `[{"k": v, ...}, ...]`).
    """

    def field(value: Any) -> str:
        if isinstance(value, ExactNumber):
            return str(value)
        return json.dumps(value, ensure_ascii=False, allow_nan=False)

    rows = ("{" + ", ".join(f"{field(k)}: {field(v)}" for k, v in record.items()) + "}"
            for record in records)
    return "[" + ", ".join(rows) + "]"


def query_text(args: argparse.Namespace) -> str:
    """The statement: the argument, `-f FILE`, or standard input (`-` or a pipe)."""
    if args.sql is not None and args.file is not None:
        raise UsageError("give the SQL as an argument or with -f FILE, not both")
    if args.file is not None:
        try:
            text = args.file.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read -f {args.file}: {exc.strerror or exc}") from None
    elif args.sql == "-" or (args.sql is None and not sys.stdin.isatty()):
        text = sys.stdin.read()
    else:
        text = args.sql or ""
    text = text.strip().rstrip(";").strip()
    if not text:
        raise UsageError("no SQL given: pass it as an argument, with -f FILE, or on stdin")
    return text


def cmd_warehouse_init(args: argparse.Namespace, settings: Settings) -> int:
    if args.target == "local":
        from pipeline.aws import dataapi
        from pipeline.offline.runtime import start_local

        with start_local(settings) as stack:
            dataapi.init_warehouse(dataapi.build(stack.settings), stack.settings)
    else:
        from pipeline.aws import dataapi
        from pipeline.aws.settings import read_stack_outputs
        from pipeline.cli.operate import deployed

        if not args.stack_outputs:
            raise ConfigError("warehouse init --target redshift needs --stack-outputs FILE "
                              "(the JSON `cdk deploy --outputs-file` wrote)")
        settings = deployed(settings, args.stack_outputs)
        outputs = read_stack_outputs(args.stack_outputs)
        analysts = dataapi.init_redshift(settings, outputs, args.analyst)
        stderr(f"loader user and analyst role granted; analysts: {', '.join(analysts)}")
    stderr(f"schema {settings.schema} ready on {args.target}")
    return 0


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.analysis.validate import summary_rows, validate

    target = args.target or ("redshift" if args.stack_outputs else "local")
    results = validate(settings, target=target, stack_outputs=args.stack_outputs,
                       reports=args.reports, only=args.notebook or (), progress=stderr)
    print(table(["notebook", "status", "seconds", "message"], summary_rows(results)), flush=True)
    failed = [r for r in results if r.failed]
    for r in results:
        if r.status == "skipped":
            stderr(f"pipeline validate: {r.notebook}: a check could not run: {r.message}")
    for r in failed:
        stderr(f"pipeline validate: {r.notebook} failed: {r.message}")
    where = args.reports.absolute()
    stderr(f"reports: {where}" + (f" (see {failed[0].report.name})"
                                   if failed and failed[0].report else ""))
    return 1 if failed else 0


def add_parsers(sub: Any) -> None:
    """`query`, `warehouse init` and `validate`."""
    query = sub.add_parser(
        "query", help="run Redshift SQL on the warehouse and print the result",
        description="Run one Redshift SQL statement through pipeline.analysis.warehouse.connect "
        "(a DB-API connection, pipeline.analysis.dbapi): on the embedded DuckDB file "
        "(translated) or on Redshift.",
    )
    query.add_argument("sql", nargs="?",
                       help="the Redshift SQL to run; `-` (or none, with a pipe) reads stdin")
    query.add_argument("-f", "--file", type=Path, metavar="FILE",
                       help="read the SQL from FILE")
    query.add_argument("--format", choices=("table", "csv", "json"), default="table")
    query.add_argument("--target", choices=("local", "redshift"),
                       help="warehouse to query (default: redshift with --stack-outputs, "
                            "else local)")
    query.add_argument("--stack-outputs", type=Path, metavar="FILE",
                       help="the JSON `cdk deploy --outputs-file` wrote: the workgroup or "
                            "cluster, database and region to query through the Data API")
    warehouse_option(query)
    query.set_defaults(func=cmd_query)

    warehouse = sub.add_parser("warehouse", help="manage the warehouse schema")
    wsub = warehouse.add_subparsers(dest="action", required=True, metavar="ACTION")
    init = wsub.add_parser("init", help="create schema, tables and view (idempotent)")
    init.add_argument("--target", choices=("local", "redshift"), default="local")
    init.add_argument("--stack-outputs", type=Path, metavar="FILE",
                      help="with --target redshift: the JSON `cdk deploy --outputs-file` wrote")
    init.add_argument("--analyst", action="append", default=[], metavar="IAM:USER|IAMR:ROLE",
                      help="also map this IAM identity to the read-only analyst role "
                           "(repeatable; the caller's own identity always is)")
    warehouse_option(init)
    init.set_defaults(func=cmd_warehouse_init)

    validate = sub.add_parser(
        "validate", help="run the notebooks with papermill as smoke checks; write reports",
        description="Execute every notebook in notebooks/ with papermill against the warehouse "
        "(the local DuckDB file or a deployed Redshift), write the executed notebooks and HTML "
        "reports, print a pass/fail table, and exit non-zero if any notebook fails.",
    )
    validate.add_argument("--target", choices=("local", "redshift"),
                          help="warehouse to check (default: redshift with --stack-outputs, "
                               "else local)")
    warehouse_option(validate)
    validate.add_argument("--stack-outputs", type=Path, metavar="FILE",
                          help="the JSON `cdk deploy --outputs-file` wrote: workgroup or "
                               "cluster, database, region and DLQ to check")
    validate.add_argument("--reports", type=Path, default=Path("reports"), metavar="DIR",
                          help="where executed notebooks and HTML reports go (default reports/)")
    validate.add_argument("--notebook", action="append", metavar="NAME",
                          help="run only notebooks whose file name contains NAME (repeatable)")
    validate.set_defaults(func=cmd_validate)
