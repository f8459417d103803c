"""Notebooks: committed clean, parameters papermill can read, and `pipeline validate` on a kernel.

The warehouse is loaded once per session by the local runtime (the real publisher,
queue, loader and embedded Data API); `pipeline validate` then executes every
notebook on the `pipeline` kernel against it, and must fail, naming the notebook
and the check, on an empty warehouse and on a warehouse with a part loaded twice.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.analysis import checks, validate
from pipeline.aws.settings import REPO_ROOT, Settings, read_stack_outputs
from pipeline.cli import main
from pipeline.core.errors import ConfigError

pytestmark = pytest.mark.notebooks

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = ["01_explore_telegram.ipynb", "02_sampling.ipynb", "03_query_warehouse.ipynb"]


@pytest.fixture(autouse=True)
def hermetic_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No PIPELINE_* settings leak in from the shell (nothing in the package writes them)."""
    for name in [k for k in os.environ if k.startswith("PIPELINE_")]:
        monkeypatch.delenv(name)
    yield
    assert not [k for k in os.environ if k.startswith("PIPELINE_")], "a setting leaked out"


def read_notebook(path: Path) -> Any:
    """nbformat is imported here, not at collection: its jsonschema compiles some forty
    grammars on import (~2.5 s of CPU) that every test worker would pay."""
    import nbformat

    return nbformat.read(path, as_version=4)


def executed_cells(path: Path) -> list:
    return [c for c in read_notebook(path).cells if c.cell_type == "code"]


# --- the committed notebooks -------------------------------------------------------------


def test_the_three_analyst_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs_or_execution_counts(path):
    import nbformat

    notebook = read_notebook(path)
    nbformat.validate(notebook)
    dirty = [
        i for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"
    assert "papermill" not in notebook.metadata, f"{path.name} is an executed copy"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_one_parameters_cell_of_literals_papermill_can_read(path):
    import papermill

    notebook = read_notebook(path)
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: expected one cell tagged 'parameters'"
    names = []
    for statement in ast.parse(tagged[0].source).body:
        assert isinstance(statement, ast.Assign) and len(statement.targets) == 1
        assert isinstance(statement.targets[0], ast.Name)
        ast.literal_eval(statement.value)  # a literal, so papermill can override it
        names.append(statement.targets[0].id)
    # papermill skips a line it cannot parse (e.g. an '=' inside a comment) and would
    # then silently not pass that parameter.
    assert sorted(papermill.inspect_notebook(str(path))) == sorted(names)
    assert notebook.metadata["kernelspec"]["name"] == validate.KERNEL_NAME


def test_the_notebooks_write_their_queries_as_sql_cells_on_one_set_up_line():
    sql_cells = [c for p in NOTEBOOKS for c in executed_cells(p) if c.source.startswith("%%sql")]
    assert len(sql_cells) >= 3
    setup = [c for c in executed_cells(REPO_ROOT / "notebooks" / EXPECTED[2])
             if "analysis.sql_cells(where)" in c.source]
    assert len(setup) == 1


def test_top_tickers_unnest_the_tickers_array_in_from_as_redshift_is_queried():
    import sqlglot
    from sqlglot import exp

    notebook = read_notebook(REPO_ROOT / "notebooks" / EXPECTED[2])
    cell = next(c for c in notebook.cells if c.source.startswith("%%sql tickers <<"))
    text = cell.source.split("\n", 1)[1].replace("{{schema}}", "scraped").replace(
        "{{top_n}}", "15")
    query = sqlglot.parse_one(text, read="redshift")
    # sqlglot reads a SUPER array in FROM as an UNNEST joined to its table
    unnested = [j.this.sql("redshift") for j in query.args.get("joins") or []
                if isinstance(j.this, exp.Unnest)]
    assert unnested == ["m.entities.tickers AS t"], query.sql("redshift")
    # the text says what the warehouse does: no workaround for unnesting left behind
    prose = " ".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert "does not translate PartiQL" not in prose and "primary" not in prose
    assert "the embedded warehouse runs the same text" in prose


def test_the_warehouse_notebook_defaults_to_the_embedded_warehouse():
    import papermill

    declared = papermill.inspect_notebook(str(REPO_ROOT / "notebooks" / EXPECTED[2]))
    assert declared["target"]["default"] == '"local"'
    assert declared["warehouse_path"]["default"] == '"var/warehouse.duckdb"'
    assert declared["stack_outputs"]["default"] == '""'
    assert {"max_freshness_s", "dlq_url", "workgroup", "cluster", "database",
            "region"} <= set(declared)


# --- pipeline validate on a real kernel --------------------------------------------------


def test_validate_runs_every_notebook_and_writes_reports_with_plots(
    loaded_warehouse, tmp_path, capsys
):
    reports = tmp_path / "reports"
    code = main(["validate", "--warehouse", str(loaded_warehouse), "--reports", str(reports)])
    out, err = capsys.readouterr()
    assert code == 0, err
    for name in EXPECTED:
        assert any(line.startswith(name) and "PASSED" in line for line in out.splitlines()), out
        assert f"{name}: running" in err and f"{name}: passed in" in err
        html = (reports / name).with_suffix(".html").read_text(encoding="utf-8")
        assert "<img" in html, f"{name}: no plot in the HTML report"
        # renders offline: no script from a CDN (require.js, MathJax, mermaid)
        assert re.findall(r"<script[^>]*\bsrc=", html) == []
        assert "cdnjs" not in html and "import(\"http" not in html
        cells = executed_cells(reports / name)
        assert all(o.output_type != "error" for c in cells for o in c.outputs)
        assert any(c.outputs for c in cells)
    ranked = next(c for c in executed_cells(reports / EXPECTED[2])
                  if c.source.startswith("ranked = tickers"))
    table = next(o for o in ranked.outputs if o.output_type == "execute_result")
    assert "ticker" in table.data["text/plain"] and "mentions" in table.data["text/plain"]
    injected = next(c for c in executed_cells(reports / EXPECTED[2])
                    if "injected-parameters" in c.metadata.get("tags", []))
    assert str(loaded_warehouse) in injected.source
    # the offline DLQ check read the DLQ state `pipeline run` left beside the warehouse
    assert "DLQ check passed: the DLQ the last run left" in json.dumps(
        executed_cells(reports / EXPECTED[2])[-1].outputs)


def test_validate_fails_on_an_empty_warehouse_naming_the_notebook_and_no_rows(
    tmp_path, capsys
):
    empty = tmp_path / "empty.duckdb"
    assert main(["warehouse", "init", "--warehouse", str(empty)]) == 0
    capsys.readouterr()
    reports = tmp_path / "reports"
    code = main(["validate", "--warehouse", str(empty), "--reports", str(reports),
                 "--notebook", "03"])
    out, err = capsys.readouterr()
    assert code != 0
    assert "03_query_warehouse.ipynb failed" in err
    assert "SmokeCheckError: no rows in scraped.telegram_messages" in err
    assert "FAILED" in out
    # the failed run still leaves its executed notebook and report for diagnosis
    assert (reports / "03_query_warehouse.html").exists()


def test_validate_fails_when_a_part_is_loaded_twice(loaded_warehouse, tmp_path, capsys):
    import duckdb

    copy = tmp_path / "doubled.duckdb"
    shutil.copy(loaded_warehouse, copy)
    con = duckdb.connect(str(copy))
    batch_id, part = con.execute(
        "SELECT batch_id, part FROM scraped.load_ledger ORDER BY batch_id LIMIT 1"
    ).fetchone()
    # A second copy of one part: its ledger row and its rows, as a broken loader would leave.
    con.execute("INSERT INTO scraped.load_ledger SELECT * FROM scraped.load_ledger "
                "WHERE batch_id = ? AND part = ?", [batch_id, part])
    con.execute("INSERT INTO scraped.telegram_messages SELECT * FROM scraped.telegram_messages "
                "WHERE batch_id = ? AND part = ?", [batch_id, part])
    con.close()
    code = main(["validate", "--warehouse", str(copy), "--reports", str(tmp_path / "r"),
                 "--notebook", "03"])
    _, err = capsys.readouterr()
    assert code != 0
    assert "duplicate (batch_id, part) key(s) in scraped.load_ledger" in err
    assert "loaded twice" in err and batch_id in err


def test_notebooks_run_on_the_projects_kernel_installed_in_this_environment():
    from jupyter_client.kernelspec import KernelSpecManager

    if validate.KERNEL_NAME not in KernelSpecManager().find_kernel_specs():
        pytest.skip("no `pipeline` kernelspec: `make install` installs it")
    assert validate.kernel_name() == validate.KERNEL_NAME


def test_each_kernel_gets_its_own_sockets_outside_the_notebooks_folder():
    """Two validations at once (CI jobs, an analyst beside a deploy check) share no socket.

    jupyter_client's IPC default is `kernel-ipc-N` in the working directory, papermill's
    `cwd`: parallel runs took each other's sockets and failed with "Invalid Signature".
    """
    manager = validate.ipc_kernel_manager()
    first, second = manager(kernel_name="python3"), manager(kernel_name="python3")
    assert first.transport == "ipc"
    assert first.ip != second.ip
    assert Path(first.ip).is_absolute() and not Path(first.ip).is_relative_to(REPO_ROOT)


# --- parameters from a deployment --------------------------------------------------------

OUTPUTS = {
    "TelegramPipeline": {
        "QueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/telegram-messages",
        "DlqUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/telegram-messages-dlq",
        "BucketName": "telegram-staging-123",
        "WorkgroupName": "telegram",
        "Database": "analytics",
        "SecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rs-abc",
        "Region": "eu-west-1",
        "CopyRoleArn": "arn:aws:iam::123456789012:role/copy",
    }
}


def write_outputs(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(data))
    return path


def test_stack_outputs_become_the_notebooks_parameters(tmp_path):
    path = write_outputs(tmp_path, OUTPUTS)
    values = validate.parameters(Settings(redshift_cluster="old"), target="redshift",
                                 stack_outputs=path)
    assert values["target"] == "redshift"
    assert values["workgroup"] == "telegram" and values["cluster"] == ""
    assert values["database"] == "analytics"
    assert values["region"] == "eu-west-1"
    assert values["dlq_url"].endswith("telegram-messages-dlq")
    assert values["stack_outputs"] == str(path.absolute())
    assert Path(values["warehouse_path"]).is_absolute()


def test_a_notebook_reads_stack_outputs_for_what_its_parameters_leave_empty(tmp_path):
    path = write_outputs(tmp_path, OUTPUTS)
    target = checks.NotebookTarget.from_parameters(target="redshift", stack_outputs=str(path),
                                                   database="override")
    assert (target.workgroup, target.database, target.region) == (
        "telegram", "override", "eu-west-1")
    assert target.settings().redshift_workgroup == "telegram"
    assert "workgroup telegram" in target.describe()


def test_redshift_target_without_a_workgroup_or_cluster_is_a_config_error():
    with pytest.raises(ConfigError, match="workgroup or a cluster"):
        checks.NotebookTarget.from_parameters(target="redshift")


def test_the_local_target_resolves_a_relative_warehouse_from_the_repository_root():
    target = checks.NotebookTarget.from_parameters(warehouse_path="var/warehouse.duckdb")
    assert target.settings().warehouse_path == REPO_ROOT / "var" / "warehouse.duckdb"
    assert target.settings().embedded


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"A": {"DlqUrl": "x"}, "B": {"DlqUrl": "y"}}, "2 candidate stacks"),
        (["not", "a", "mapping"], "should map stack names"),
    ],
)
def test_malformed_or_ambiguous_stack_outputs_are_config_errors(tmp_path, data, message):
    with pytest.raises(ConfigError, match=message):
        read_stack_outputs(write_outputs(tmp_path, data))
    with pytest.raises(ConfigError, match="does not exist"):
        read_stack_outputs(tmp_path / "missing.json")


def test_validate_with_a_broken_stack_outputs_file_exits_with_a_config_error(tmp_path, capsys):
    path = tmp_path / "outputs.json"
    path.write_text("{not json")
    assert main(["validate", "--stack-outputs", str(path), "--reports", str(tmp_path)]) == 2
    assert "not readable JSON" in capsys.readouterr().err


# --- the DLQ check against the emulator --------------------------------------------------


def test_dlq_check_fails_when_the_dlq_holds_messages_and_passes_when_empty(emulator):
    settings = emulator.settings
    target = checks.NotebookTarget(target="redshift", dlq_url=settings.dlq_url,
                                   region=settings.region, aws_endpoint_url=emulator.endpoint_url)
    assert checks.check_dlq(target) == f"DLQ check passed: {settings.dlq_url} is empty"
    from pipeline.aws import boto

    boto.client(settings, "sqs").send_message(QueueUrl=settings.dlq_url, MessageBody="{broken")
    with pytest.raises(checks.SmokeCheckError, match="DLQ not empty: 1 message"):
        checks.check_dlq(target)


def test_dlq_check_is_skipped_locally_but_fails_a_deployment_when_unreachable(tmp_path):
    unreachable = "http://127.0.0.1:9/000000000000/telegram-messages-dlq"
    local = checks.NotebookTarget(target="local", dlq_url=unreachable,
                                  aws_endpoint_url="http://127.0.0.1:9")
    assert checks.check_dlq(local).startswith(
        checks.SKIPPED_MARK + "DLQ check: no queue reachable")
    never_run = checks.NotebookTarget(warehouse_path=tmp_path / "w.duckdb")
    assert checks.check_dlq(never_run).startswith(checks.SKIPPED_MARK + "DLQ check: no `pipeline")
    deployed = checks.NotebookTarget(target="redshift", workgroup="wg", dlq_url=unreachable,
                                     aws_endpoint_url="http://127.0.0.1:9")
    with pytest.raises(checks.SmokeCheckError, match="cannot read the DLQ"):
        checks.check_dlq(deployed)


def test_offline_dlq_check_reads_the_dlq_the_last_run_left_and_fails_when_it_holds_any(
        settings):
    from pipeline.aws import boto
    from pipeline.offline.emulator import start_emulator

    target = checks.NotebookTarget(warehouse_path=settings.warehouse_path)
    with start_emulator(settings) as em:
        boto.client(em.settings, "sqs").send_message(QueueUrl=em.settings.dlq_url,
                                                     MessageBody="{broken")
    with pytest.raises(checks.SmokeCheckError, match=r"DLQ not empty: 1 message.*last run"):
        checks.check_dlq(target)
    with start_emulator(settings) as em:  # the DLQ came back with the next start
        sqs = boto.client(em.settings, "sqs")
        sqs.purge_queue(QueueUrl=em.settings.dlq_url)
    assert checks.check_dlq(target).startswith("DLQ check passed: the DLQ the last run left")


def test_validate_shows_a_notebook_whose_check_could_not_run_as_skipped_not_passed(
        loaded_warehouse, tmp_path):
    # a warehouse no `pipeline run` wrote (copied alone): no DLQ state to read
    alone = tmp_path / "alone" / "warehouse.duckdb"
    alone.parent.mkdir()
    alone.write_bytes(loaded_warehouse.read_bytes())
    # a process of its own, so the kernel's stderr is seen too
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "validate", "--warehouse", str(alone),
         "--reports", str(tmp_path / "r"), "--notebook", "03"],
        capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert "03_query_warehouse.ipynb  SKIPPED" in done.stdout and "PASSED" not in done.stdout
    assert "a check could not run: DLQ check: no `pipeline run` has used" in done.stderr
    assert "without encryption" not in done.stderr  # the kernel runs on IPC, not TCP


# --- the checks themselves ---------------------------------------------------------------


def test_smoke_checks_raise_with_messages_an_operator_can_act_on():
    import pandas as pd

    with pytest.raises(checks.SmokeCheckError, match=r"no rows in scraped\.t"):
        checks.require_rows(0, "scraped.t")
    checks.require_rows(1, "scraped.t")
    with pytest.raises(checks.SmokeCheckError, match=r"above the threshold of 900\.0 s"):
        checks.require_fresh(901.0, 900, "latency")
    with pytest.raises(checks.SmokeCheckError, match="cannot measure latency"):
        checks.require_fresh(float("nan"), 900, "latency")
    checks.require_fresh(899.0, 900, "latency")
    checks.require_no_duplicates(pd.DataFrame(columns=["batch_id"]), "(batch_id)", "t")
    with pytest.raises(checks.SmokeCheckError, match="loaded twice"):
        checks.require_no_duplicates(pd.DataFrame({"batch_id": ["b"]}), "(batch_id)", "t")
    with pytest.raises(checks.SmokeCheckError, match="got 1, expected 2"):
        checks.require_equal(1, 2, "rows")
    with pytest.raises(checks.SmokeCheckError, match="not uniform"):
        checks.require_uniform(100.0, bins=10, what="sizes")
    with pytest.raises(checks.SmokeCheckError, match="exceed the 10-byte"):
        checks.require_parts_fit(pd.DataFrame({"bytes": [11]}), 10)
