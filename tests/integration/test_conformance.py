"""The conformance table on the embedded warehouse: Redshift SQL in, Redshift's rows out.

The fixture is loaded the way the loader loads: the project's DDL through the
embedded Redshift Data API (`DataApiWarehouse.ensure_schema`), then an INSERT of
JSON_PARSE'd SUPER literals, into a DuckDB file. Every case then runs, unchanged,
through both read paths: the Data API client, and `connect("local")` (the
analysts' DataFrames). tests/integration/test_redshift_live.py runs the same
table on a real Redshift.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlglot

from pipeline.analysis import dbapi
from pipeline.analysis.warehouse import connect
from pipeline.aws import boto, dataapi
from pipeline.aws.settings import Settings
from pipeline.core.errors import TerminalWarehouseError
from pipeline.offline.warehouse.translate import translate
from tests.conformance import corpus, coverage
from tests.conformance.runner import DataApiBackend, FrameBackend, load_fixture, mismatches
from tests.conformance.table import CASES, SCHEMA, Case, fixture_sql

pytestmark = pytest.mark.integration

# The constructs issue 4 asks the embedded warehouse to run as Redshift does; each
# must be exercised by at least one case (`Case.constructs`).
REQUIRED_CONSTRUCTS = frozenset({
    "dot navigation", "[i] subscript", "nested [i] subscript", "PartiQL unnest",
    "PartiQL unnest AT", "JSON_PARSE", "JSON_SERIALIZE", "IS_ARRAY", "IS_OBJECT", "IS_VARCHAR",
    "IS_INTEGER", "IS_DECIMAL", "IS_BOOLEAN", "IS_SCALAR", "GET_ARRAY_LENGTH", "JSON_TYPEOF",
    "JSON_EXTRACT_PATH_TEXT", "CAN_JSON_PARSE", "DATEDIFF", "DATEADD", "DATE_TRUNC", "GETDATE",
    "CONVERT_TIMEZONE", "NVL", "NVL2", "DECODE", "LISTAGG", "APPROXIMATE COUNT(DISTINCT)",
    "MEDIAN", "ROW_NUMBER", "RANK", "LAG", "LEAD", "SUM OVER frame", "CTE", "LEN",
    "OCTET_LENGTH", "::VARCHAR on SUPER", "::INT on SUPER", "::FLOAT on SUPER",
    "::BIGINT on SUPER", "SUPER arithmetic", "SUM(INTEGER)", "NULL ordering", "Unicode",
})


def _embedded_warehouse(api: Any, path: Path) -> dataapi.DataApiWarehouse:
    settings = Settings(warehouse_path=path, data_api_endpoint_url=api.endpoint_url)
    client = boto.client(settings, "redshift-data", endpoint_url=api.endpoint_url)
    return dataapi.build(settings, client)


@pytest.fixture(scope="module")
def aws_credentials() -> Iterator[None]:
    """Dummy credentials: botocore signs requests even to the loopback endpoint."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "embedded")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "embedded")
        yield


@pytest.fixture(scope="module")
def warehouse_file(tmp_path_factory: pytest.TempPathFactory, aws_credentials: None) -> Path:
    """A DuckDB warehouse holding the fixture, built through the embedded Data API."""
    from pipeline.offline.warehouse import EmbeddedDataApi

    path = tmp_path_factory.mktemp("conformance") / "warehouse.duckdb"
    with EmbeddedDataApi.start(path, Settings(warehouse_path=path)) as api:
        load_fixture(_embedded_warehouse(api, path))
    return path


@pytest.fixture(scope="module", params=["data-api", "dataframe"])
def backend(request: pytest.FixtureRequest, warehouse_file: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Each read path on its own copy of the fixture file."""
    from pipeline.offline.warehouse import EmbeddedDataApi

    path = tmp_path_factory.mktemp(request.param) / "warehouse.duckdb"
    shutil.copy(warehouse_file, path)
    if request.param == "dataframe":
        with connect("local", Settings(warehouse_path=path), warehouse_path=path) as conn:
            yield FrameBackend(conn, SCHEMA)
    else:
        with EmbeddedDataApi.start(path, Settings(warehouse_path=path)) as api:
            yield DataApiBackend(_embedded_warehouse(api, path))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_embedded_warehouse_returns_redshifts_rows(backend: Any, case: Case) -> None:
    problems = mismatches(case, backend.rows(case))
    assert not problems, f"{case.name}:\n{case.sql()}\n" + "\n".join(problems)


def test_the_table_covers_every_construct_of_the_issue() -> None:
    covered = {construct for case in CASES for construct in case.constructs}
    assert covered >= REQUIRED_CONSTRUCTS, sorted(REQUIRED_CONSTRUCTS - covered)


def test_cases_and_fixture_are_redshift_sql() -> None:
    """Each text parses as Redshift (sqlglot) and translates without a refusal."""
    for statement in [*fixture_sql(), *(case.sql() for case in CASES)]:
        sqlglot.parse_one(statement, read="redshift")
        translate(statement)


def test_case_names_are_unique() -> None:
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(("redshift_sql", "construct"), [
    ("SELECT SUBARRAY(m.entities.tickers, 0, 1) FROM scraped.telegram_messages AS m",
     "SUPER function SUBARRAY()"),
    ("SELECT k FROM scraped.telegram_messages AS m, UNPIVOT m.entities AS v AT k",
     "UNPIVOT (PartiQL)"),
    ("SELECT SUM(m.entities.signal.leverage) FROM scraped.telegram_messages AS m",
     "SUM() of a SUPER value (cast it first, e.g. SUM(x::FLOAT))"),
    ("SELECT m.entities.tickers[m.message_id] FROM scraped.telegram_messages AS m",
     "SUPER subscript with a computed index"),
])
def test_constructs_the_translation_cannot_carry_fail_by_name(
    backend: Any, redshift_sql: str, construct: str
) -> None:
    # The DataFrame path raises the DB-API's NotSupportedError naming the translator's
    # construct; the Data API reports it as a FAILED statement, which the client raises
    # as a terminal warehouse error.
    with pytest.raises((dbapi.NotSupportedError, TerminalWarehouseError),
                       match=re.escape(construct)) as err:
        backend.rows(Case("refused", redshift_sql, []))
    if isinstance(err.value, dbapi.NotSupportedError):
        assert err.value.construct == construct


# ------------------------------------------------------------------- the documentation corpus

_SETUP, _DOC_CASES = corpus.load()


@pytest.fixture(scope="module")
def corpus_runner() -> Iterator[corpus.Runner]:
    """The corpus's sessions, its sample tables made through the engine: one shared by the
    cases that only read, one per `!block` for the cases that build state."""
    runner = corpus.Runner(_SETUP, _DOC_CASES)
    yield runner
    runner.close()


@pytest.mark.parametrize("case", _DOC_CASES, ids=[c.id for c in _DOC_CASES])
def test_documented_behaviour_is_redshifts_or_refused(corpus_runner: corpus.Runner,
                                                      case: corpus.DocCase) -> None:
    """Each case from the developer guide gives the documented result (or error), or the
    explicit refusal; never another result, never a traceback. A case of a `!block` runs
    after the block's earlier cases, so it passes or fails on its own, even run alone."""
    problem = corpus.problem(case, corpus_runner.outcome(case))
    earlier = corpus_runner.earlier_problems(case)
    cause = "".join(f"\n(after corpus.txt line {line} of block {case.block} failed: {text})"
                    for line, text in earlier.items())
    assert problem is None, (
        f"{case.url} (corpus.txt line {case.line})\n{case.sql}\n{problem}{cause}")


def test_a_block_case_runs_after_its_earlier_cases_whatever_the_order() -> None:
    """Asked for alone, or after a later case, a block's case sees exactly the state its
    block's earlier cases build."""
    block = [c for c in _DOC_CASES if c.block == "corpus_t"]
    count_after_delete = next(c for c in block if c.sql == "SELECT COUNT(*) FROM corpus_t"
                              and c.expected == "2")
    last = block[-1]
    runner = corpus.Runner(_SETUP, _DOC_CASES)
    try:
        assert corpus.problem(count_after_delete, runner.outcome(count_after_delete)) is None
        assert corpus.problem(last, runner.outcome(last)) is None
        assert corpus.problem(count_after_delete, runner.outcome(count_after_delete)) is None
        assert runner.earlier_problems(last) == {}
    finally:
        runner.close()


def test_a_failing_block_case_is_named_to_the_cases_after_it(tmp_path: Path) -> None:
    text = ("[r_INSERT_30.html] INSERT\n!block b\nCREATE TABLE t (a INT) => (no rows)\n"
            "INSERT INTO t VALUES (1) => (no rows)\nSELECT COUNT(*) FROM t => 7\n"
            "SELECT a FROM t => 1\n!end\n")
    path = tmp_path / "cases.txt"
    path.write_text(text, encoding="utf-8")
    _, cases = corpus.load(path)
    runner = corpus.Runner([], cases)
    try:
        assert corpus.problem(cases[3], runner.outcome(cases[3])) is None
        assert list(runner.earlier_problems(cases[3])) == [cases[2].line]
        assert corpus.problem(cases[2], runner.outcome(cases[2])) is not None
    finally:
        runner.close()


@pytest.mark.parametrize("text", [
    "[r_INSERT_30.html] INSERT\nCREATE TABLE t (a INT) => (no rows)\n",
    "[r_INSERT_30.html] INSERT\n!block b\nSELECT 1 => 1\n",
    "[r_INSERT_30.html] INSERT\n!end\n",
])
def test_the_corpus_refuses_state_outside_a_closed_block(tmp_path: Path, text: str) -> None:
    path = tmp_path / "cases.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="block"):
        corpus.load(path)


def test_the_corpus_has_several_hundred_cases_from_many_pages() -> None:
    assert len(_DOC_CASES) >= 500
    assert len({case.page for case in _DOC_CASES}) >= 150


def test_the_coverage_and_function_tables_in_the_docs_are_generated() -> None:
    text = coverage.DOC.read_text(encoding="utf-8")
    for marker in (coverage.START, coverage.END, coverage.FUNCTIONS_START,
                   coverage.FUNCTIONS_END):
        assert marker in text, f"marker missing: {marker}"
    assert text == coverage.render(text, _DOC_CASES), (
        "docs/redshift-sql.md is stale: run `python -m tests.conformance.coverage`"
    )


# ------------------------------------------------- errors and results, as Redshift shows them


@pytest.fixture
def frame_connection(warehouse_file: Path, tmp_path: Path) -> Iterator[Any]:
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse_file, path)
    with connect("local", Settings(warehouse_path=path), warehouse_path=path) as conn:
        yield conn


def test_connect_query_shows_nulls_super_text_and_labels_as_redshift(frame_connection: Any) -> None:
    """NULL SUPER values (missing key, index out of range, JSON null) are None, not "<NA>";
    SUPER is compact JSON text (a string keeps its quotes); COUNT(*) is labelled `count`."""
    frame = frame_connection.query(
        "SELECT m.entities.nope, m.entities.tickers[9], m.entities.signal, "
        "m.entities.tickers[0], m.entities.signal.targets, COUNT(*) OVER () "
        f"FROM {SCHEMA}.telegram_messages AS m WHERE m.message_id = 102 AND "
        "m.batch_id = 'fixture-a'"
    )
    assert list(frame.columns) == ["nope", "?column?", "signal", "?column?", "targets", "count"]
    row = frame.astype(object).iloc[0].tolist()
    assert row[:3] == [None, None, None]
    frame = frame_connection.query(
        f"SELECT m.entities.tickers[0], m.entities.signal.targets FROM {SCHEMA}.telegram_messages"
        " AS m WHERE m.message_id = 101 AND m.batch_id = 'fixture-a'")
    assert frame.iloc[0].tolist() == ['"BTC"', "[64000,66500.5]"]


@pytest.mark.parametrize(("redshift_sql", "message"), [
    ("SELECT 1 / 0", "division by zero"),
    ("SELECT COUNT(*) FILTER (WHERE 1 = 1)", "unsupported on the embedded warehouse: FILTER"),
    ("SELEC 1", 'syntax error at or near "SELEC"'),
    ("SELECT nope FROM scraped.telegram_messages", 'column "nope" does not exist'),
    # A reader's session is read-only in the engine, as on the Data API.
    ("LOCK scraped.telegram_messages", "permission denied for relation telegram_messages"),
    ("INSERT INTO scraped.load_ledger (batch_id) VALUES ('x')", "permission denied"),
])
def test_connect_query_raises_one_line_pipeline_errors(frame_connection: Any, redshift_sql: str,
                                                       message: str) -> None:
    from pipeline.core.errors import PipelineError

    with pytest.raises(PipelineError) as raised:
        frame_connection.query(redshift_sql)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("redshift_sql", [
    "SELECT 1 / 0", "SELECT COUNT(*) FILTER (WHERE 1 = 1)", "SELEC 1", "SELECT (", "'",
    "SELECT JSON_PARSE('{')", "SELECT TO_CHAR(1, 'RN')", "", ";", "SELECT 1; SELECT 2",
])
def test_pipeline_query_prints_one_error_line_and_exits_non_zero(
    warehouse_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], redshift_sql: str
) -> None:
    from pipeline import cli

    path = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse_file, path)
    assert cli.main(["query", redshift_sql, "--warehouse", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    # The CLI's one-line form (tests/integration/test_cli_errors.py pins it): what the
    # warehouse refuses is a "SQL error", an empty statement a plain usage "error".
    assert re.fullmatch(r"pipeline query: (SQL )?error: \S.*", err), err


def test_the_data_api_fails_the_statement_with_redshifts_message(warehouse_file: Path,
                                                                 tmp_path: Path,
                                                                 aws_credentials: None) -> None:
    from pipeline.offline.warehouse import EmbeddedDataApi

    path = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse_file, path)
    with EmbeddedDataApi.start(path, Settings(warehouse_path=path)) as api:
        warehouse = _embedded_warehouse(api, path)
        with pytest.raises(TerminalWarehouseError, match="ERROR: division by zero"):
            warehouse.query("SELECT 1 / 0")
        with pytest.raises(TerminalWarehouseError, match="unsupported on the embedded warehouse: "
                                                         "RANGE window frame"):
            warehouse.query("SELECT SUM(1) OVER (ORDER BY 1 RANGE UNBOUNDED PRECEDING)")
        result = warehouse.query(
            "SELECT COUNT(*), m.entities.nope, m.entities.signal.targets "
            f"FROM {SCHEMA}.telegram_messages AS m WHERE m.message_id = 101 "
            "GROUP BY 2, 3")
        assert result is not None
        assert result.rows == [[1, None, "[64000,66500.5]"]]


_PRECISION_SQL = ("SELECT PI() AS p, 1e-12::FLOAT8 AS tiny, "
                  "'2008-01-01 10:00:00.123456'::TIMESTAMP AS ts, '2008-02-29'::DATE AS d, "
                  "NULL::DATE AS nd")


def test_pipeline_query_json_keeps_float8_digits_microseconds_and_dates(
    warehouse_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 23: pandas' to_json printed PI() as 3.1415926536, 1e-12 as 0.0, dropped the
    microseconds and printed a DATE as a midnight timestamp."""
    import json

    from pipeline import cli

    path = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse_file, path)
    assert cli.main(["query", _PRECISION_SQL, "--warehouse", str(path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{
        "p": 3.141592653589793, "tiny": 1e-12, "ts": "2008-01-01T10:00:00.123456",
        "d": "2008-02-29", "nd": None,
    }]
    assert cli.main(["query", _PRECISION_SQL, "--warehouse", str(path), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == (
        "3.141592653589793,1e-12,2008-01-01 10:00:00.123456,2008-02-29,")


def test_data_api_results_render_the_same_json(warehouse_file: Path, tmp_path: Path,
                                               aws_credentials: None) -> None:
    """The Data API path (a running pipeline's endpoint) gives the same JSON records."""
    from pipeline.analysis.warehouse import result_frame
    from pipeline.cli.warehouse import json_records
    from pipeline.offline.warehouse import EmbeddedDataApi

    path = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse_file, path)
    with EmbeddedDataApi.start(path, Settings(warehouse_path=path)) as api:
        frame = result_frame(_embedded_warehouse(api, path).query(_PRECISION_SQL))
    assert json_records(frame) == [{
        "p": 3.141592653589793, "tiny": 1e-12, "ts": "2008-01-01T10:00:00.123456",
        "d": "2008-02-29", "nd": None,
    }]


@pytest.mark.parametrize("half", ["heldout_dev.txt", "heldout_test.txt", "heldout_r2.txt",
                                  "heldout_r3.txt", "heldout_r4.txt", "heldout_r5.txt",
                                  "heldout_r6.txt"])
def test_heldout_cases_have_no_wrong_answer(half: str) -> None:
    """tests/conformance/heldout_*.txt: cases from guide pages the corpus had not used;
    each is right or refused clearly, never a wrong answer or a traceback. (The test
    half joined once it had been run, once; its first figures are in the docs.)"""
    from tests.conformance import heldout

    results = heldout.run(heldout.HERE / half)
    assert len(results) >= 90
    wrong = [f"{r.case.line}: {r.case.sql}\n    {r.detail}" for r in results
             if r.verdict == "wrong"]
    assert not wrong, "\n".join(wrong)


def test_a_case_with_labels_fails_on_another_label() -> None:
    case = corpus.DocCase("r_LPAD.html", "RPAD", "SELECT RPAD('a', 2, 'x')", "CORRECT", "ax", 1,
                          ("rpad",))
    assert corpus.problem(case, corpus.Outcome("ROWS", [["ax"]], labels=("rpad",))) is None
    assert "labelled ['lpad']" in str(
        corpus.problem(case, corpus.Outcome("ROWS", [["ax"]], labels=("lpad",))))
