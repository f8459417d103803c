"""`pipeline cost`: the issue's cost table, from the unit prices kept in the repository."""

from __future__ import annotations

import json
import re

import pytest

from pipeline.analysis import cost
from pipeline.aws.settings import REPO_ROOT
from pipeline.cli import main

pytestmark = pytest.mark.unit

PRICES = cost.load_prices()
CDK_JSON = str(REPO_ROOT / "cdk.json")


@pytest.mark.parametrize(("profile", "redshift_usd", "freshness_s"), [
    # issue 14's table (us-east-1, on demand): per message keeps the workgroup billed all day
    (cost.Profile(trigger="queue", base_rpu=8), 2190, 10),
    (cost.Profile(trigger="queue", base_rpu=4), 1095, 10),
    (cost.Profile(trigger="schedule", load_every_min=5), 220, 305),
    (cost.Profile(trigger="schedule", load_every_min=15), 75, 905),
    (cost.Profile(trigger="queue", warehouse_mode="provisioned", node_type="ra3.large"), 400, 10),
])
def test_the_estimates_match_the_issues_table_within_rounding(profile, redshift_usd,
                                                               freshness_s):
    estimate = cost.estimate(profile, PRICES)
    assert estimate.redshift_usd_per_month == pytest.approx(redshift_usd, rel=0.05)
    assert estimate.worst_freshness_s == freshness_s
    assert estimate.total_usd_per_month > estimate.redshift_usd_per_month


def test_the_default_deployment_costs_under_300_a_month():
    estimate = cost.estimate(cost.Profile(), PRICES)
    assert estimate.total_usd_per_month < 300
    assert estimate.copies_per_day == 288 and estimate.redshift_busy_h_per_day == 4.8


def test_break_even_against_one_provisioned_node():
    estimate = cost.estimate(cost.Profile(base_rpu=4), PRICES)
    # 4 RPU x $0.375 = $1.50 an hour busy vs $0.543 x 24 a day for ra3.large: 8.69 h.
    assert estimate.break_even_busy_h_per_day == pytest.approx(0.543 * 24 / 1.5, abs=0.01)
    assert estimate.break_even_load_every_min == pytest.approx(24 / 8.688, abs=0.01)


def test_every_price_names_its_source_and_the_table_its_date():
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", PRICES["read_on"])
    for name, entry in PRICES["prices"].items():
        assert entry["source"].startswith("https://"), name


def test_cost_json_has_the_issues_keys_for_the_cdk_json_profile(capsys):
    assert main(["cost", "--context", CDK_JSON, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"trigger", "redshift_usd_per_month", "total_usd_per_month", "worst_freshness_s",
            "copies_per_day"} <= data.keys()
    assert data["trigger"] == "schedule" and data["copies_per_day"] == 288
    assert [o["profile"] for o in data["comparison"]] == [
        "per message, 8 RPU", "per message, 4 RPU", "a drain every 5 min, 4 RPU",
        "a drain every 15 min, 4 RPU", "per message, provisioned ra3.large"]


def test_flags_override_the_profile(capsys):
    assert main(["cost", "--context", CDK_JSON, "--trigger", "queue", "--base-rpu", "8",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["trigger"], data["redshift_usd_per_month"]) == ("queue", 2190.0)


def test_the_table_prints_busy_time_copies_freshness_and_break_even(capsys):
    assert main(["cost", "--context", CDK_JSON]) == 0
    out = capsys.readouterr().out
    for label in ("Redshift busy time per day", "COPYs per day", "worst-case freshness",
                  "break-even vs one provisioned node", "a drain every 15 min, 4 RPU"):
        assert label in out


def test_a_missing_cdk_json_is_a_one_line_error(tmp_path, capsys):
    assert main(["cost", "--context", str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope.json does not exist" in err[0]


def test_an_invalid_base_capacity_flag_is_refused_by_argparse(capsys):
    with pytest.raises(SystemExit):
        main(["cost", "--base-rpu", "6"])
    assert "must be 4 or a multiple of 8" in capsys.readouterr().err


def test_the_cost_pages_block_is_the_commands_output(capsys):
    readme = (REPO_ROOT / "docs" / "loading-and-cost.md").read_text(encoding="utf-8")
    block = readme.split("$ pipeline cost\n", 1)[1].split("```", 1)[0].rstrip()
    assert main(["cost", "--context", CDK_JSON]) == 0
    printed = "\n".join(line.rstrip() for line in capsys.readouterr().out.rstrip().splitlines())
    assert printed.replace(f"({CDK_JSON};", "(cdk.json;") == block, (
        "regenerate the block in docs/loading-and-cost.md")
