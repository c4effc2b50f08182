"""Commitments over time (options.commitment_starts: monthly) and growth as a problem field: a
small 4-month problem solved, verified, tampered with, and compared with buying for the horizon."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.cli import main

PROBLEM = """\
name: growth-small
model: llama-3.1-8b
engine: vllm
workload:
  input_tokens:  {mean: 1155, p50: 1020, p90: 2735, p99: 4142}
  output_tokens: {mean: 211,  p50: 129,  p90: 424,  p99: 601}
  demand:
    profile: constant
    rps: 6
    period_hours: 365
    horizon_hours: 2920
    growth: "+50%/month"
  user_regions: {us-east: 1.0}
slo:
  ttft_p99_ms: 2000
  tpot_p99_ms: 60
options:
  clouds: [aws]
  gpus: [L4-24GB, L40S-48GB]
  precisions: [fp8]
  tiers: [reserved-1y, reserved-3y, on-demand]
  commitment_starts: monthly
  min_replicas: 1
  headroom: 0.15
"""


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def write(tmp_path, text, name="p.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def solve(path):
    result = run("solve", path, "--format", "json", "--no-baselines", "--gap", "1e-6")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("growth")
    path = write(tmp, PROBLEM)
    return path, solve(path)


def test_growth_is_applied_month_by_month(solved):
    _, plan = solved
    assert [p["month"] for p in plan["periods"]] == [0, 0, 1, 1, 2, 2, 3, 3]
    demand = [p["demand_rps"]["us-east"] for p in plan["periods"]]
    assert demand == pytest.approx([6, 6, 9, 9, 13.5, 13.5, 20.25, 20.25])


def test_purchases_add_up_to_the_reserved_fleet(solved):
    _, plan = solved
    assert plan["commitment_starts"] == "monthly" and plan["purchases"]
    assert len({x["start_month"] for x in plan["purchases"]}) > 1  # growing demand: bought over time
    for a in (a for a in plan["assignments"] if a["tier"].startswith("reserved")):
        mine = [x for x in plan["purchases"] if (x["candidate_id"], x["tier"]) == (a["candidate_id"], a["tier"])]
        # terms of 12 and 36 months outlast the 4-month horizon: a purchase serves every later period
        expected = [sum(x["count"] for x in mine if x["start_month"] <= p["month"]) for p in plan["periods"]]
        assert a["instances_by_period"] == expected
        assert a["cost_usd"] == pytest.approx(sum(x["cost_in_horizon_usd"] for x in mine))
    for x in plan["purchases"]:
        served = 2920 - 730 * x["start_month"]
        assert x["hours_in_horizon"] == pytest.approx(served)
        assert x["cost_after_horizon_usd"] == pytest.approx(x["usd_per_instance_hour"] * x["count"] * (x["term_months"] * 730 - served))


def test_verify_accepts_and_catches_a_moved_purchase(solved, tmp_path):
    path, plan = solved
    good = write(tmp_path, json.dumps(plan), "plan.json")
    assert run("verify", path, good).exit_code == 0
    moved = json.loads(json.dumps(plan))
    late = max(moved["purchases"], key=lambda x: x["start_month"])
    late["start_month"] -= 1  # bought a month earlier than the fleet it is in shows
    bad = write(tmp_path, json.dumps(moved), "moved.json")
    result = run("verify", path, bad)
    assert result.exit_code != 0 and "purchases in service" in result.output
    dropped = json.loads(json.dumps(plan))
    dropped["purchases"].pop()
    result = run("verify", path, write(tmp_path, json.dumps(dropped), "dropped.json"))
    assert result.exit_code != 0 and "purchases in service" in result.output


def test_buying_over_time_never_costs_more_than_buying_at_the_start(solved, tmp_path):
    _, plan = solved
    held = solve(write(tmp_path, PROBLEM.replace("commitment_starts: monthly", "commitment_starts: horizon"), "h.yaml"))
    assert held["purchases"] == [] and held["commitment_starts"] == "horizon"
    # every horizon plan is a monthly plan that buys in month 0 (terms outlast the horizon)
    assert plan["objective_usd"] <= held["objective_usd"] * (1 + 1e-5)
    assert plan["objective_usd"] < held["objective_usd"]  # and growth makes waiting pay


def test_full_term_pays_the_months_after_the_horizon(tmp_path):
    path = write(tmp_path, PROBLEM.replace("commitment_starts: monthly", "commitment_starts: monthly\n  commitment_cost: full-term"))
    plan = solve(path)
    tail = sum(x["cost_after_horizon_usd"] for x in plan["purchases"])
    assert plan["cost_breakdown"].get("commitments_after_horizon", 0.0) == pytest.approx(tail)
    assert plan["objective_usd"] == pytest.approx(sum(plan["cost_breakdown"].values()))
    assert run("verify", path, write(tmp_path, json.dumps(plan), "plan.json")).exit_code == 0
    # a 4-month service paying a 12-month term: on demand wins where a commitment would idle after the horizon
    assert all(x["tier"] != "reserved-3y" for x in plan["purchases"])


@pytest.mark.parametrize("edit, message", [
    (('growth: "+50%/month"', 'growth: "50 percent"'), "growth: '50 percent' is not a growth rate"),
    (("horizon_hours: 2920", "horizon_hours: 730"), "options.commitment_starts: 'monthly' needs a horizon of more than one month"),
    (("commitment_starts: monthly", "commitment_starts: horizon\n  commitment_cost: full-term"), "commitment_cost 'full-term' needs commitment_starts: monthly"),
])
def test_bad_inputs_exit_3(tmp_path, edit, message):
    assert edit[0] in PROBLEM
    result = run("solve", write(tmp_path, PROBLEM.replace(*edit)), "--no-baselines")
    assert result.exit_code == 3, result.output
    assert message in result.output and "Traceback" not in result.output


HYBRID = Path(__file__).resolve().parents[2] / "problems" / "hybrid-onprem.yaml"


@pytest.fixture(scope="module")
def hybrid(tmp_path_factory):
    """The hybrid example over 8 monthly periods of growing demand, owned servers bought over time
    (10 weeks' lead time: none serves before month 3)."""
    root = HYBRID.parent
    text = HYBRID.read_text().replace("data/azure2023", str(root / "data" / "azure2023"))
    for old, new in [("    profile: diurnal\n    peak_rps: 30\n    trough_rps: 10\n    peak_hour: 15\n    period_hours: 4\n    horizon_hours: 24",
                      '    profile: constant\n    rps: 20\n    period_hours: 730\n    horizon_hours: 5840\n    growth: "+15%/month"'),
                     ("  tiers: [owned, reserved-1y, on-demand, spot]", "  tiers: [owned, on-demand]\n  commitment_starts: monthly"),
                     ("  clouds: [aws, gcp]", "  clouds: [aws]"), ("  gpus: [H100-SXM-80GB, A100-SXM-80GB, A100-SXM-40GB]", "  gpus: [H100-SXM-80GB]")]:
        assert old in text
        text = text.replace(old, new)
    path = write(tmp_path_factory.mktemp("hybrid"), text)
    return path, solve(path)


def test_owned_servers_arrive_after_their_lead_time(hybrid, tmp_path):
    path, plan = hybrid
    owned = [x for x in plan["purchases"] if x["tier"] == "owned"]
    assert owned and min(x["start_month"] for x in owned) >= 3  # ceil(10 weeks × 168 h / 730 h) = 3
    assert all(x["lead_time_weeks"] == 10 and x["term_months"] == 60 for x in owned)
    early = json.loads(json.dumps(plan))
    first = min((x for x in early["purchases"] if x["tier"] == "owned"), key=lambda x: x["start_month"])
    first["start_month"] = 2
    result = run("verify", path, write(tmp_path, json.dumps(early), "early.json"))
    assert result.exit_code != 0 and "10 weeks after the order" in result.output


def test_tco_buys_each_server_in_its_month(hybrid):
    path, plan = hybrid
    result = run("tco", path, "--years", "2", "--format", "json")
    assert result.exit_code == 0, result.output
    tco = json.loads(result.stdout)
    owned = [x for x in plan["purchases"] if x["tier"] == "owned"]
    servers = sum(x["count"] for x in owned)
    assert tco["sides"]["plan"]["capex_usd"] == 0  # nothing can be bought upfront: it arrives in month 3
    assert tco["sides"]["plan"]["invested_usd"] == pytest.approx(199_000 * servers)
    assert tco["per_year"][0]["capex"] == pytest.approx(199_000 * servers) and tco["per_year"][1]["capex"] == 0
    first = min(x["start_month"] for x in owned)
    assert tco["cumulative_usd"]["plan"][first] - tco["cumulative_usd"]["plan"][first - 1] > 199_000  # the purchase's month
    be = tco["break_even_month"]["cloud"]
    assert be is not None and be > first  # owning pays back after the servers arrive, not before


def test_month_by_month_spend_adds_up_to_the_plan(solved):
    import numpy as np

    from planner.lifecycle import api_monthly, monthly_spend
    from planner.plan import Plan

    _, data = solved
    plan = Plan.model_validate(data)
    spend = monthly_spend(plan, 6, owned=True)  # 4 months of plan, then the last month's rate
    assert spend.shape == (6,) and spend[4] == spend[5] == spend[3]
    assert spend[:4].sum() == pytest.approx(plan.objective_usd)  # months of exactly 730 h: the plan's cost, month by month
    assert list(spend[:4]) == sorted(spend[:4])  # demand grows 50 % a month
    mean = np.array([[6, 6, 9, 9, 13.5, 13.5, 20.25, 20.25]])  # requests per period ∝ the grown rate
    api = api_monthly(plan, mean, 100.0, 5)
    assert api[:4].sum() == pytest.approx(400.0) and api[4] == api[3]
    assert api[:4] == pytest.approx(400.0 * np.array([6, 9, 13.5, 20.25]) / 48.75)


def test_a_runaway_growth_and_a_lead_time_without_renting_are_explained(tmp_path):
    result = run("solve", write(tmp_path, PROBLEM.replace('growth: "+50%/month"', 'growth: "+500%/day"')), "--no-baselines")
    assert result.exit_code == 3 and "workload.demand.growth: '+500%/day' takes demand beyond 1e+09 requests/s" in result.output
    text = HYBRID.read_text().replace("data/azure2023", str(HYBRID.parent / "data" / "azure2023"))
    text = text.replace("    horizon_hours: 24", "    horizon_hours: 2920").replace("    period_hours: 4", "    period_hours: 24")
    text = text.replace("  tiers: [owned, reserved-1y, on-demand, spot]", "  tiers: [owned]\n  commitment_starts: monthly")
    result = run("solve", write(tmp_path, text, "owned.yaml"), "--no-baselines")
    assert result.exit_code == 4, result.output
    assert "owned serves from month 3 at the earliest (its lead time), and no other allowed tier can serve months 0–2" in result.output


def test_the_peak_baseline_follows_each_months_peak_on_a_timeline(solved):
    from planner.baselines import peak_provisioned
    from planner.catalog import load_catalogs
    from planner.pipeline import prepare
    from planner.problem import load_problem

    path, _ = solved
    prep = prepare(load_problem(path), load_catalogs())
    fixed = peak_provisioned(prep).milp_input
    # a team resizes its on-demand fleet as demand grows: each month's peak, not the year's
    assert fixed.demand_rps[0].tolist() == pytest.approx([6, 6, 9, 9, 13.5, 13.5, 20.25, 20.25])
    assert fixed.tiers == ("on-demand",) and fixed.period_month is None
