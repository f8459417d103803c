"""JupySQL on the DB-API connection, in a real IPython shell: `%load_ext sql`, `%sql conn
--alias wh`, `%sql` / `%%sql` cells with SUPER navigation and PartiQL unnesting, `<<` into a
variable, DataFrames, and `pipeline.analysis.notebook.sql_cells` doing the set-up in one line.

The notebooks' own `%%sql` cells run on a kernel in tests/notebooks/test_notebooks.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.notebooks


SUPER_NAVIGATION = (
    "SELECT m.entities.tickers[0]::VARCHAR AS first_ticker, COUNT(*) AS messages "
    "FROM scraped.telegram_messages AS m WHERE m.entities.tickers[0] IS NOT NULL "
    "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3"
)


@pytest.fixture
def shell() -> Iterator[Any]:
    """A fresh IPython shell in this process (the kernel's InteractiveShell, without ZMQ)."""
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.clear_instance()
    ip = InteractiveShell.instance()
    yield ip
    if "wh" in _aliases():  # JupySQL keeps its connections per process, not per shell
        ip.run_line_magic("sql", "--close wh")
    InteractiveShell.clear_instance()


def _aliases() -> list[str]:
    from sql.connection import ConnectionManager

    return list(ConnectionManager.connections)


def run(ip: Any, source: str) -> Any:
    result = ip.run_cell(source, store_history=False)
    assert result.success, repr(result.error_in_exec or result.error_before_exec)
    return result.result


def test_jupysql_runs_a_super_navigation_query_on_the_dbapi_connection(
    shell: Any, loaded_warehouse: Path,
) -> None:
    shell.user_ns["warehouse"] = str(loaded_warehouse)
    run(shell, "import pipeline.analysis.dbapi as d\n"
               "from pipeline.aws.settings import Settings\n"
               "conn = d.connect('local', Settings(warehouse_path=warehouse))")
    run(shell, "%load_ext sql")
    run(shell, "%sql conn --alias wh")
    rows = run(shell, f"%sql {SUPER_NAVIGATION}")
    assert rows.keys == ["first_ticker", "messages"]
    values = list(rows)
    assert 0 < len(values) <= 3
    assert all(isinstance(t, str) and isinstance(n, int) and n > 0 for t, n in values)
    direct = shell.user_ns["conn"].cursor().execute(SUPER_NAVIGATION).fetchall()
    assert [tuple(v) for v in values] == direct


def test_sql_cells_sets_up_sql_cells_from_the_notebook_parameters_in_one_line(
    shell: Any, loaded_warehouse: Path,
) -> None:
    from pipeline.analysis.checks import NotebookTarget
    from pipeline.analysis.notebook import sql_cells

    where = NotebookTarget.from_parameters(target="local", warehouse_path=str(loaded_warehouse))
    conn = sql_cells(where, shell=shell)
    shell.user_ns["schema"] = "scraped"
    run(shell, "%%sql tickers <<\n"
               "SELECT t::VARCHAR AS ticker, COUNT(*) AS mentions\n"
               "FROM {{schema}}.telegram_messages AS m, m.entities.tickers AS t\n"
               "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5")
    tickers = shell.user_ns["tickers"]
    import pandas as pd

    assert isinstance(tickers, pd.DataFrame)
    assert list(tickers.columns) == ["ticker", "mentions"] and len(tickers) > 0
    # every ticker a message names, counted by unnesting: at least the first-named count
    first = conn.query(SUPER_NAVIGATION)
    top = dict(zip(tickers["ticker"], tickers["mentions"], strict=True))
    for ticker, messages in zip(first["first_ticker"], first["messages"], strict=True):
        if ticker in top:
            assert top[ticker] >= messages
    frame = run(shell, f"%sql {SUPER_NAVIGATION}")
    assert isinstance(frame, pd.DataFrame)
    assert frame.values.tolist() == first.values.tolist()


def test_a_failing_sql_cell_fails_with_one_line_not_a_traceback(
    shell: Any, loaded_warehouse: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from pipeline.analysis import dbapi
    from pipeline.analysis.checks import NotebookTarget
    from pipeline.analysis.notebook import sql_cells

    sql_cells(NotebookTarget.from_parameters(warehouse_path=str(loaded_warehouse)), shell=shell)
    capsys.readouterr()
    result = shell.run_cell("%sql SELECT * FROM scraped.nope", store_history=False)
    assert not result.success  # papermill stops the run on this cell
    assert isinstance(result.error_in_exec, dbapi.ProgrammingError)
    shown = capsys.readouterr()
    text = (shown.out + shown.err).strip()
    assert text == 'ProgrammingError: relation "scraped.nope" does not exist', text


def test_sql_cells_outside_ipython_says_it_needs_a_kernel(loaded_warehouse: Path) -> None:
    from pipeline.analysis.checks import NotebookTarget
    from pipeline.analysis.notebook import sql_cells
    from pipeline.core.errors import PipelineError

    with pytest.raises(PipelineError, match="needs an IPython kernel"):
        sql_cells(NotebookTarget.from_parameters(warehouse_path=str(loaded_warehouse)))
