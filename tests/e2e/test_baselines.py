"""Baselines priced with every plan: never cheaper than the plan, their arithmetic, and verify."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.catalog import load_catalogs
from planner.cli import main
from planner.problem import load_problem
from planner.workload import demand_series

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "problems" / "quickstart.yaml"


def solve(problem, *extra):
    result = CliRunner().invoke(main, ["solve", str(problem), "--format", "json", "--gap", "1e-6", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def plan():
    return solve(QUICKSTART)


@pytest.fixture(scope="module")
def diurnal(tmp_path_factory):
    text = QUICKSTART.read_text().replace("    profile: constant\n    rps: 5\n", "    profile: diurnal\n    peak_rps: 12\n    trough_rps: 2\n")
    path = tmp_path_factory.mktemp("diurnal") / "diurnal.yaml"
    path.write_text(text)
    return path, solve(path)


def by_name(plan):
    return {b["name"]: b for b in plan["baselines"]}


def test_every_plan_has_the_three_baselines(plan):
    assert list(by_name(plan)) == ["peak-on-demand", "best-single-gpu", "api-only"]


@pytest.mark.parametrize("which", ["plan", "diurnal"])
def test_baselines_are_never_cheaper_than_the_plan(which, plan, diurnal):
    p = plan if which == "plan" else diurnal[1]
    for name in ("peak-on-demand", "best-single-gpu"):
        b = by_name(p)[name]
        assert b["status"] in ("optimal", "feasible")
        assert b["monthly_cost_usd"] >= p["monthly_cost_usd"] * (1 - 1e-6)
        assert b["saving_usd_per_month"] == pytest.approx(b["monthly_cost_usd"] - p["monthly_cost_usd"])
        assert b["saving_pct"] == pytest.approx(b["saving_usd_per_month"] / b["monthly_cost_usd"])
    # peak provisioning on demand pays for the trough too: dearer than the plan on a diurnal day
    assert by_name(p)["peak-on-demand"]["monthly_cost_usd"] >= by_name(p)["best-single-gpu"]["monthly_cost_usd"] * (1 - 1e-6)


def test_peak_on_demand_is_a_fixed_on_demand_fleet_for_the_peak(diurnal):
    peak = by_name(diurnal[1])["peak-on-demand"]
    assert "on-demand" in peak["detail"] and "reserved" not in peak["detail"] and "spot" not in peak["detail"]


def test_with_one_gpu_type_the_best_single_gpu_baseline_is_the_plan(tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text(QUICKSTART.read_text().replace("gpus: [L4-24GB, A10G-24GB, L40S-48GB, H100-SXM-80GB]", "gpus: [L40S-48GB]"))
    p = solve(path)
    single = by_name(p)["best-single-gpu"]
    assert single["gpu"] == "L40S-48GB"
    assert single["monthly_cost_usd"] == pytest.approx(p["monthly_cost_usd"], rel=1e-6)


def test_api_only_is_every_request_at_the_api_price(plan):
    api = by_name(plan)["api-only"]
    demand = demand_series(load_problem(QUICKSTART))
    catalogs = load_catalogs()
    rows = catalogs.api_prices[catalogs.api_prices["model"] == "llama-3.1-8b"]
    # the cheapest offer at the problem's mean lengths (1155 input, 211 output tokens)
    per_request = ((1155 * rows["input_usd_per_mtok"] + 211 * rows["output_usd_per_mtok"]) / 1e6).min()
    monthly = demand.requests * per_request * 730 / demand.horizon_hours
    assert api["monthly_cost_usd"] == pytest.approx(monthly, rel=1e-9)


def test_no_baselines_flag(tmp_path):
    assert solve(QUICKSTART, "--no-baselines")["baselines"] == []


def test_verify_rejects_a_baseline_below_the_plan(plan, tmp_path):
    problem_plan = tmp_path / "plan.json"
    problem_plan.write_text(json.dumps(plan))
    assert CliRunner().invoke(main, ["verify", str(QUICKSTART), str(problem_plan)]).exit_code == 0
    bad = json.loads(json.dumps(plan))
    b = by_name(bad)["best-single-gpu"]
    b["monthly_cost_usd"] = plan["monthly_cost_usd"] * 0.9
    b["saving_usd_per_month"] = b["monthly_cost_usd"] - plan["monthly_cost_usd"]
    problem_plan.write_text(json.dumps(bad))
    result = CliRunner().invoke(main, ["verify", str(QUICKSTART), str(problem_plan)])
    assert result.exit_code == 4 and "FAIL baselines" in result.output


def test_without_on_demand_the_peak_baseline_is_only_a_comparison(tmp_path):
    # only reserved instances allowed: the on-demand baseline is no plan of this problem and may cost less
    path = tmp_path / "reserved.yaml"
    path.write_text(QUICKSTART.read_text().replace("tiers: [reserved-1y, on-demand, spot]", "tiers: [reserved-1y]"))
    p = solve(path)
    peak, single = by_name(p)["peak-on-demand"], by_name(p)["best-single-gpu"]
    assert not peak["restriction"] and "not among the problem's tiers" in peak["description"]
    assert single["restriction"] and single["monthly_cost_usd"] >= p["monthly_cost_usd"] * (1 - 1e-6)


def test_peak_baseline_is_one_fixed_fleet_even_with_cold_starts(tmp_path):
    text = QUICKSTART.read_text().replace("    profile: constant\n    rps: 5\n", "    profile: diurnal\n    peak_rps: 12\n    trough_rps: 2\n")
    path = tmp_path / "cold.yaml"
    path.write_text(text.replace("  headroom: 0.15", "  headroom: 0.15\n  cold_start_minutes: 30"))
    peak = by_name(solve(path))["peak-on-demand"]
    assert peak["status"] in ("optimal", "feasible") and peak["monthly_cost_usd"] > 0
    assert peak["detail"].count("×") == 1  # one instance type, the same count in every period
