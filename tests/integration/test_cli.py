"""The `pipeline` command as a user runs it: help, run, query, errors."""

from __future__ import annotations

import json

import pytest

from pipeline.cli import build_parser, main

pytestmark = pytest.mark.integration

COMMANDS = ["run", "query", "warehouse", "status", "redrive", "reload", "bench", "validate"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_a_help_page(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: pipeline {command}" in out
    assert len(out.splitlines()) > 5


def test_top_level_help_lists_every_subcommand():
    text = build_parser().format_help()
    assert all(command in text for command in COMMANDS)


def test_run_json_prints_one_object_whose_rows_all_land(tmp_path, capsys):
    warehouse = tmp_path / "w.duckdb"
    code = main(["run", "--ticks", "3", "--seed", "7", "--interval", "0", "--json",
                 "--warehouse", str(warehouse)])
    out = capsys.readouterr().out
    assert code == 0
    summary = json.loads(out)  # stdout is exactly one JSON object: logs go to stderr
    assert summary["ticks"] == 3
    assert summary["published_rows"] == summary["loaded_rows"] + summary["rejected_rows"] > 0
    assert summary["dlq_messages"] == 0
    assert summary["warehouse_rows"] == summary["ledger_rows"] == summary["loaded_rows"]

    code = main(["query", "--warehouse", str(warehouse), "--format", "json",
                 "SELECT COUNT(*) AS n FROM scraped.telegram_messages"])
    assert code == 0
    assert json.loads(capsys.readouterr().out) == [{"n": summary["loaded_rows"]}]

    # a second run appends to the same warehouse
    main(["run", "--ticks", "1", "--seed", "8", "--interval", "0", "--json",
          "--warehouse", str(warehouse)])
    again = json.loads(capsys.readouterr().out)
    assert again["warehouse_rows"] == summary["warehouse_rows"] + again["loaded_rows"]


def test_a_malformed_setting_is_an_error_naming_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("PIPELINE_SAMPLE_MAX", "lots")
    assert main(["query", "SELECT 1"]) == 2
    assert "PIPELINE_SAMPLE_MAX='lots' is not an integer" in capsys.readouterr().err


def test_query_on_a_missing_warehouse_says_how_to_make_one(tmp_path, capsys):
    assert main(["query", "--warehouse", str(tmp_path / "none.duckdb"), "SELECT 1"]) == 1
    assert "run `make run`" in capsys.readouterr().err


@pytest.mark.parametrize(("level", "logged"), [("INFO", True), (None, False)])
def test_run_honours_pipeline_log_level(tmp_path, level, logged):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    if level:
        env["PIPELINE_LOG_LEVEL"] = level
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", "--ticks", "1", "--interval", "0",
         "--json", "--warehouse", str(tmp_path / "w.duckdb")],
        env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert ('"message":"loaded"' in done.stderr) is logged
