"""Owned servers (tier 'owned', options.on_prem): priced by hand, planned beside the cloud, verified."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from planner.cli import main

ROOT = Path(__file__).resolve().parents[2]
HYBRID = ROOT / "problems" / "hybrid-onprem.yaml"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def plan():
    result = run("solve", HYBRID, "--format", "json", "--no-baselines")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_owned_price_per_hour_by_hand(plan):
    owned = [a for a in plan["assignments"] if a["tier"] == "owned"]
    assert owned and all(a["cloud"] == "onprem" and a["instance_type"] == "dgx-h100" for a in owned)
    # DGX H100: 199,000 USD, 10.2 kW; site: PUE 1.58, 0.0895 USD/kWh, 184.06 USD/kW-month (energy.csv us-east)
    energy = 10.2 * 1.0 * 1.58 * 730 * 0.0895  # 1,052.95 a month
    colo = 10.2 * 184.06  # 1,877.41
    support = 199_000 * 0.20 / 12  # 3,316.67
    crf = 0.10 * 1.1 ** 5 / (1.1 ** 5 - 1)  # 0.263797
    per_hour = (199_000 * crf + 12 * (energy + colo + support)) / 8760
    assert round(per_hour, 2) == 14.55
    assert owned[0]["price_usd_per_instance_hour"] == pytest.approx(per_hour, rel=1e-9)
    counts = owned[0]["instances_by_period"]
    assert len(set(counts)) == 1  # bought for the horizon
    assert owned[0]["cost_usd"] == pytest.approx(per_hour * counts[0] * plan["horizon_hours"])


def test_hybrid_plan_verifies_and_a_cheaper_owned_price_is_caught(plan, tmp_path):
    assert {a["tier"] for a in plan["assignments"]} - {"owned"}  # cloud instances for the peaks
    good = tmp_path / "plan.json"
    good.write_text(json.dumps(plan))
    assert run("verify", HYBRID, good).exit_code == 0
    changed = json.loads(json.dumps(plan))
    a = next(a for a in changed["assignments"] if a["tier"] == "owned")
    a["price_usd_per_instance_hour"] *= 0.9
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(changed))
    result = run("verify", HYBRID, bad)
    assert result.exit_code != 0 and "price" in result.output


@pytest.mark.parametrize("edit, message", [
    (("sites: [{name: nova-colo, geo: us-east, pue: 1.58}]", "sites: [{name: x, geo: eu-west, pue: 1.4}]"),
     "catalogs/energy.csv has no colo_usd_per_kw_month for 'eu-west'"),
    (("lead_time_weeks: 10", "lead_time_weeks: 10\n    servers: [dgx-h10]"), "did you mean 'dgx-h100'"),
    (("tiers: [owned, ", "tiers: ["), "tier 'owned' needs on_prem"),
    (("geo: us-east, pue", "geo: us-est, pue"), "unknown geography 'us-est'"),
])
def test_bad_on_prem_inputs_exit_3(tmp_path, edit, message):
    text = HYBRID.read_text().replace("data/azure2023", str(ROOT / "problems" / "data" / "azure2023"))
    assert edit[0] in text
    path = tmp_path / "p.yaml"
    path.write_text(text.replace(edit[0], edit[1]))
    result = run("solve", path, "--no-baselines")
    assert result.exit_code == 3, result.output
    assert message in result.output and "Traceback" not in result.output


@pytest.fixture(scope="module")
def lifecycle_result():
    from planner.catalog import load_catalogs
    from planner.lifecycle import tco
    from planner.milp.data import SolverOptions
    from planner.problem import load_problem

    return tco(load_problem(HYBRID), load_catalogs(), SolverOptions(gap=0.005, time_limit_s=60), 3)


def test_tco_years_add_up_like_a_spreadsheet(lifecycle_result):
    r = lifecycle_result
    rows = r["per_year"]
    servers = 2 if "2 × dgx-h100" in r["sides"]["plan"]["fleet"][0] else None
    assert servers == 2
    running = 12 * (10.2 * 1.58 * 730 * 0.0895 + 10.2 * 184.06 + 199_000 * 0.20 / 12)  # a year per server
    assert rows[0]["capex"] == 398_000 and rows[1]["capex"] == 0
    assert rows[0]["owned_running"] == pytest.approx(2 * running, rel=1e-9)
    assert rows[0]["depreciation"] == pytest.approx(398_000 / 5)
    assert rows[0]["kwh"] == pytest.approx(2 * 10.2 * 1.58 * 730 * 12)
    assert rows[0]["kg_co2"] == pytest.approx(rows[0]["kwh"] * 0.403)
    plan_monthly = r["sides"]["plan"]["monthly_usd"]
    assert r["totals_usd"]["plan"] == pytest.approx(398_000 + 36 * plan_monthly)
    cloud = r["sides"]["cloud"]["monthly_usd"]
    assert r["totals_usd"]["cloud"] == pytest.approx(36 * cloud)
    month = r["break_even_month"]["cloud"]  # first m with 398,000 + m plan <= m cloud
    assert month == int(np.ceil(398_000 / (cloud - plan_monthly)))
    i = 1.10 ** (1 / 12) - 1
    assert r["npv_usd"]["cloud"] == pytest.approx(cloud * (1 - (1 + i) ** -36) / i)
    assert r["roi"]["cloud"] == pytest.approx((36 * cloud - r["totals_usd"]["plan"]) / 398_000)  # per dollar invested
    assert r["residual_book_value_usd"] == pytest.approx(398_000 * (1 - 36 / 60))  # 2 of 5 years left


def test_tco_other_spend_is_the_plan_less_its_owned_servers(plan, lifecycle_result):
    owned = sum(a["price_usd_per_instance_hour"] * a["instances_by_period"][0] for a in plan["assignments"] if a["tier"] == "owned")
    other_monthly = plan["monthly_cost_usd"] - owned * 730
    assert lifecycle_result["per_year"][0]["other_spend"] == pytest.approx(12 * other_monthly, rel=1e-9)


def test_tco_only_owned_tier_and_onprem_named_in_clouds(tmp_path):
    from planner.lifecycle import renting_only
    from planner.problem import load_problem

    text = HYBRID.read_text().replace("data/azure2023", str(ROOT / "problems" / "data" / "azure2023"))
    path = tmp_path / "p.yaml"
    path.write_text(text.replace("tiers: [owned, reserved-1y, on-demand, spot]", "tiers: [owned]")
                    .replace("clouds: [aws, gcp]", "clouds: [aws, gcp, onprem]"))
    rented = renting_only(load_problem(path)).problem.options
    assert rented.tiers == ["on-demand"] and rented.clouds == ["aws", "gcp"] and rented.on_prem is None
    result = run("tco", path, "--years", "1", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "cloud" in data["sides"] and data["sides"]["plan"]["capex_usd"] > 0


def test_tco_command_formats(tmp_path):
    out = tmp_path / "tco.json"
    result = run("tco", HYBRID, "--years", "2", "--format", "json", "-o", out)
    assert result.exit_code == 0, result.output
    def no_nan(constant):
        raise AssertionError(f"{constant} in JSON output")

    data = json.loads(out.read_text(), parse_constant=no_nan)
    assert [r["year"] for r in data["per_year"]] == [1, 2]
    assert data["break_even_month"]["cloud"] is not None
    text = run("tco", HYBRID, "--years", "2", "--format", "markdown").stdout
    assert "| year | capex |" in text and "breaks even in month" in text and "t CO2" in text
    assert run("tco", HYBRID, "--years", "11").exit_code == 2  # click range: usage error


def test_html_report_carries_the_tco_section(plan, lifecycle_result):
    from planner.plan import Plan
    from planner.report.html_report import render_html

    page = render_html(Plan.model_validate(plan), tco=lifecycle_result)
    assert 'id="tco"' in page and 'id="tco-table"' in page
    assert "tco-plan" in page and "tco-cloud" in page and "tco-api" in page
    month = lifecycle_result["break_even_month"]["cloud"]
    assert f"breaks even in month {month}" in page


def test_a_european_site_takes_eurostat_electricity_and_its_own_colocation(tmp_path):
    from planner.catalog import load_catalogs
    from planner.onprem import site_figures
    from planner.problem import load_problem

    text = HYBRID.read_text().replace("data/azure2023", str(ROOT / "problems" / "data" / "azure2023"))
    path = tmp_path / "p.yaml"
    path.write_text(text.replace("sites: [{name: nova-colo, geo: us-east, pue: 1.58}]",
                                 "sites: [{name: dublin, geo: eu-west, pue: 1.4, colo_usd_per_kw_month: 200}]"))
    (figures,) = site_figures(load_problem(path), load_catalogs())
    # Eurostat: Ireland EUR 0.256/kWh (H1 2024) × 1.08238 USD/EUR (IMF 2024 average) = 0.2771; IE grid 352 g
    assert figures.usd_per_kwh == pytest.approx(0.2771) and figures.kg_co2_per_kwh == pytest.approx(0.352)
    assert figures.colo_usd_per_kw_month == 200
    assert any("Eurostat" in s or "eurostat" in s for s in figures.sources)
