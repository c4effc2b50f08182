"""`planner attribute`: gateway logs + a plan or a bill → showback per tenant, exact to the cent;
FOCUS export; budgets with exit code 6; the performance model's token costs."""

import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from planner.cli import main
from planner.usage import focus_problems

ROOT = Path(__file__).resolve().parents[2]
LOG = """timestamp,user,team,project,model,prompt_tokens,completion_tokens,cached_tokens
2024-05-01T10:05:00Z,alice,search,ranker,llama-3.1-8b,600,60,0
2024-05-01T11:10:00Z,alice,search,ranker,llama-3.1-8b,400,40,0
2024-05-01T12:40:00Z,bob,support,chat,llama-3.1-8b,500,300,200
"""
# weights at prefill:decode = 1:4, cached prompt tokens at 0.1 of a prefill token:
# search 1000 + 4 × 100 = 1400; support 300 + 0.1 × 200 + 4 × 300 = 1520
SEARCH, SUPPORT = 1400, 1520


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("plan") / "plan.json"
    result = run("solve", ROOT / "problems" / "quickstart.yaml", "--format", "json", "--no-baselines", "-o", path)
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "gateway.csv"
    path.write_text(LOG)
    return path


def test_allocation_by_hand_adds_up_to_the_plan_cost(plan_file, log):
    plan = json.loads(plan_file.read_text())
    result = run("attribute", log, "--plan", plan_file, "--token-costs", "1:4", "--utilisation", "0.8", "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    # the window is the logged hours, 10:00 to 13:00: 3 of the plan's 24 hours
    cost = (Decimal(repr(plan["objective_usd"])) / Decimal(24) * 3).quantize(Decimal("0.01"))
    assert Decimal(repr(out["fleet_cost_usd"])) == cost
    rows = {r["team"]: r for r in out["rows"]}
    assert sum(Decimal(repr(r["cost_usd"])) for r in out["rows"]) == cost  # exact to the cent
    assert rows["search"]["cost_usd"] == pytest.approx(float(cost) * SEARCH / (SEARCH + SUPPORT), abs=0.011)
    assert rows["search"]["weighted_tokens"] == SEARCH and rows["support"]["weighted_tokens"] == pytest.approx(SUPPORT)
    assert out["idle_usd"] == pytest.approx(float(cost) * 0.2, abs=0.011)
    assert sum(out["by_pricing_category"].values()) == pytest.approx(float(cost), abs=1e-9)


def test_token_costs_from_the_performance_model(plan_file, log):
    result = run("attribute", log, "--plan", plan_file, "--format", "json")
    assert result.exit_code == 0, result.output
    w = json.loads(result.stdout)["token_weights"]
    # a decode token (one step of a batch, memory-bound) costs more GPU time than a prefill token (compute-bound)
    assert w["decode"] > 1 and w["prefill_usd_per_mtok"] > 0 and w["configurations"]
    assert w["decode"] == pytest.approx(w["decode_usd_per_mtok"] / w["prefill_usd_per_mtok"], rel=1e-6)


def test_focus_export_passes_its_checks(plan_file, log, tmp_path):
    out = tmp_path / "chargeback.csv"
    result = run("attribute", log, "--plan", plan_file, "--token-costs", "1:4", "--format", "focus", "-o", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype=str, keep_default_na=False).replace({"": None})
    assert focus_problems(table) == []
    assert {"BilledCost", "EffectiveCost", "ChargePeriodStart", "ChargePeriodEnd", "PricingCategory", "ResourceId", "Tags",
            "x_Team", "x_PromptTokens"} <= set(table.columns)
    assert set(table["x_Team"]) == {"search", "support"}


def test_a_bill_prorated_to_the_window(log, tmp_path):
    bill = tmp_path / "bill.csv"
    bill.write_text("BilledCost,ChargePeriodStart,ChargePeriodEnd,PricingCategory\n"
                    "240.00,2024-05-01T00:00:00Z,2024-05-02T00:00:00Z,Standard\n"  # 3 of its 24 hours: 30.00
                    "999.00,2024-04-01T00:00:00Z,2024-05-01T00:00:00Z,Standard\n")  # before the window
    result = run("attribute", log, "--bill", bill, "--equal-tokens", "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["fleet_cost_usd"] == 30.0 and out["idle_usd"] == 0
    assert sum(r["cost_usd"] for r in out["rows"]) == pytest.approx(30.0, abs=1e-9)


def test_budgets_ahead_of_pace_exit_6(plan_file, log, tmp_path):
    budgets = tmp_path / "budgets.yaml"
    budgets.write_text("period: month\nbudgets:\n  - {team: search, usd: 1.00}\n  - {team: support, usd: 100000, tokens: 1.0e9}\n")
    result = run("attribute", log, "--plan", plan_file, "--token-costs", "1:4", "--budgets", budgets)
    assert result.exit_code == 6, result.output
    assert "budget alert: team search" in result.output and "team support" not in result.stderr
    # the window is the month to date: from May 1st 00:00 to 13:00, 13 of 744 hours
    out = json.loads(run("attribute", log, "--plan", plan_file, "--token-costs", "1:4", "--budgets", budgets, "--format", "json").stdout)
    assert out["window"]["start"].startswith("2024-05-01T00:00:00")
    status = {(b["value"], b["limit"]): b for b in out["budgets"]}
    assert status[("support", "tokens")]["used"] == 800 and status[("support", "tokens")]["alert"] is None
    assert status[("search", "usd")]["elapsed"] == pytest.approx(13 / 744)


@pytest.mark.parametrize("args, message", [
    ((), "give the fleet's cost: --plan PLAN.json"),
    (("--bill", "BILL"), "with --bill alone, say what a token costs"),
    (("--plan", "PLAN", "--token-costs", "one:four"), "--token-costs: 'one:four' is not PREFILL:DECODE"),
    (("--plan", "PLAN", "--by", "tenant"), "did you mean"),
])
def test_bad_requests_exit_3(plan_file, log, tmp_path, args, message):
    bill = tmp_path / "bill.csv"
    bill.write_text("cost_usd\n10\n")
    args = [{"BILL": bill, "PLAN": plan_file}.get(a, a) for a in args]
    result = run("attribute", log, *args)
    assert result.exit_code == 3, result.output
    assert message in result.output and "Traceback" not in result.output


def test_a_disaggregated_plan_prices_prompts_on_the_prefill_pool(plan_file):
    from planner.catalog import load_catalogs
    from planner.plan import read_plan
    from planner.usage.chargeback import plan_token_costs

    plan, catalogs = read_plan(plan_file), load_catalogs()
    first, second = [a for a in plan.assignments if any(a.instances_by_period)][:2]
    assert (first.gpu, first.tp) != (second.gpu, second.tp)  # two configurations in the quickstart plan
    alone = [plan_token_costs(plan.model_copy(update={"assignments": [a]}), catalogs, 550, 180) for a in (first, second)]
    pools = plan.model_copy(update={"assignments": [first.model_copy(update={"role": "prefill"}),
                                                    second.model_copy(update={"role": "decode"})]})
    both = plan_token_costs(pools, catalogs, 550, 180)
    assert both.prefill_usd_per_mtok == pytest.approx(alone[0].prefill_usd_per_mtok)
    assert both.decode_usd_per_mtok == pytest.approx(alone[1].decode_usd_per_mtok)


def test_a_bill_with_an_unknown_category_names_its_line(log, tmp_path):
    bill = tmp_path / "bill.csv"
    bill.write_text("BilledCost,PricingCategory\n10.00,Standard\n5.00,OnDemand\n")
    result = run("attribute", log, "--bill", bill, "--equal-tokens")
    assert result.exit_code == 3
    assert f"{bill}:3: PricingCategory: 'OnDemand' is not a FOCUS pricing category" in result.output


def test_platform_owner_per_key_and_notes(plan_file, log, tmp_path):
    result = run("attribute", log, log, "--plan", plan_file, "--token-costs", "1:4", "--by", "team,project", "--idle", "platform",
                 "--platform-owner", "team=platform,project=infra", "--utilisation", "0.5", "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    owner = [r for r in out["rows"] if r["team"] == "platform"]
    assert len(owner) == 1 and owner[0]["project"] == "infra" and owner[0]["cost_usd"] == pytest.approx(out["idle_usd"])
    assert sum(r["requests"] for r in out["rows"]) == 6  # the same log given twice counts twice
    spend = ROOT / "tests" / "data" / "usage" / "litellm_spend.jsonl"  # LiteLLM logs carry request ids
    twice = json.loads(run("attribute", spend, spend, "--plan", plan_file, "--token-costs", "1:4", "--format", "json").stdout)
    assert any("request id(s) appear more than once" in n for n in twice["notes"])


def test_a_usage_database_keeps_the_requests_between_runs(plan_file, log, tmp_path):
    db = tmp_path / "usage.duckdb"
    first = json.loads(run("attribute", log, "--db", db, "--plan", plan_file, "--token-costs", "1:4", "--format", "json").stdout)
    again = json.loads(run("attribute", log, "--db", db, "--plan", plan_file, "--token-costs", "1:4", "--format", "json").stdout)
    only_db = json.loads(run("attribute", "--db", db, "--plan", plan_file, "--token-costs", "1:4", "--format", "json").stdout)
    assert first["rows"] == again["rows"] == only_db["rows"]  # the log given twice is loaded once
    assert any("not loaded again" in n for n in again["notes"])
    assert run("attribute", "--plan", plan_file).exit_code == 3  # neither logs nor a database


def test_a_usage_database_knows_a_log_by_its_file_and_reloads_one_that_grew(plan_file, log, tmp_path, monkeypatch):
    import os

    db = tmp_path / "usage.duckdb"
    args = ("--db", db, "--plan", plan_file, "--token-costs", "1:4", "--format", "json")
    first = json.loads(run("attribute", log, *args).stdout)
    monkeypatch.chdir(tmp_path)  # the same file by another spelling of its path
    again = json.loads(run("attribute", "./gateway.csv", *args).stdout)
    assert sum(r["requests"] for r in again["rows"]) == sum(r["requests"] for r in first["rows"]) == 3
    with open(log, "a") as f:  # the gateway appended a request: the log is loaded again, replacing its rows
        f.write("2024-05-01T12:50:00Z,carol,ads,banner,llama-3.1-8b,100,10,0\n")
    os.utime(log, ns=(os.stat(log).st_atime_ns, os.stat(log).st_mtime_ns + 10**9))
    grown = json.loads(run("attribute", log, *args).stdout)
    assert {r["team"]: r["requests"] for r in grown["rows"]} == {"search": 2, "support": 1, "ads": 1}


def test_a_database_that_is_not_ours_exits_3(plan_file, log, tmp_path):
    import duckdb

    old = tmp_path / "old.duckdb"
    con = duckdb.connect(str(old))
    con.execute("CREATE TABLE usage (ts TIMESTAMP, model VARCHAR)")
    con.close()
    result = run("attribute", log, "--db", old, "--plan", plan_file, "--token-costs", "1:4")
    assert result.exit_code == 3 and "was not made by this version of planner attribute" in result.output
    result = run("attribute", "--db", log, "--plan", plan_file, "--token-costs", "1:4")
    assert result.exit_code == 3 and "looks like a log, not a usage database" in result.output


def test_the_readme_sample_log(plan_file):
    sample = ROOT / "problems" / "data" / "gateway_sample.jsonl"
    out = json.loads(run("attribute", sample, "--plan", plan_file, "--start", "2024-05-01T10:00:00Z", "--end",
                         "2024-05-01T10:10:00Z", "--format", "json").stdout)
    plan = json.loads(plan_file.read_text())
    assert out["fleet_cost_usd"] == pytest.approx(round(plan["objective_usd"] / 24 / 6, 2))
    assert sum(r["requests"] for r in out["rows"]) == 2992 and {r["team"] for r in out["rows"]} == {"search", "support", "research", "ads"}
    assert sum(Decimal(repr(r["cost_usd"])) for r in out["rows"]) == Decimal(repr(out["fleet_cost_usd"]))
    assert 0.5 < out["utilisation"] < 1.0 and out["token_weights"]["decode"] > 1
