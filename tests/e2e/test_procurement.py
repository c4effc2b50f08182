"""The procurement recommendation and the placement, on plans whose figures are hand-checked."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.cli import main
from planner.plan import Plan
from planner.report import procurement

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "problems" / "quickstart.yaml"


def solve(tmp_path, text, name="p.yaml"):
    path = tmp_path / name
    path.write_text(text)
    result = CliRunner().invoke(main, ["solve", str(path), "--no-baselines", "--format", "json"])
    assert result.exit_code == 0, result.output
    return Plan.model_validate(json.loads(result.stdout)), path


@pytest.fixture(scope="module")
def reserved(tmp_path_factory):
    # GCP only, no spot: a steady 5 req/s is cheapest on one reserved 2×H100 instance
    text = QUICKSTART.read_text().replace("tiers: [reserved-1y, on-demand, spot]", "tiers: [reserved-1y, on-demand]").replace(
        "clouds: [aws, gcp]", "clouds: [gcp]")
    return solve(tmp_path_factory.mktemp("reserved"), text)[0]


def test_commitment_break_even_and_saving_are_the_price_ratio_and_difference(reserved):
    [c] = procurement.commitments(reserved)
    a = c.assignment
    assert a.tier == "reserved-1y" and c.count == a.instances_by_period[0] >= 1
    assert a.on_demand_usd_per_instance_hour > a.price_usd_per_instance_hour
    assert c.break_even_utilisation == pytest.approx(a.price_usd_per_instance_hour / a.on_demand_usd_per_instance_hour)
    assert c.saving_vs_on_demand(730) == pytest.approx((a.on_demand_usd_per_instance_hour - a.price_usd_per_instance_hour) * 730 * c.count)
    # the reserved instance carries the whole demand here: load / capacity at the planning rate
    capacity = c.count * a.replicas_per_instance * a.capacity_rps_per_replica
    assert c.load_utilisation == pytest.approx(5.0 / capacity, rel=1e-5)
    text = "\n".join(procurement.recommendation_lines(reserved))
    assert f"{c.count} × {a.instance_type}" in text and "1-year term" in text and f"{c.break_even_utilisation:.0%} of hours" in text
    assert a.price_source in text


def test_against_all_on_demand_prices_the_same_instance_hours_on_demand(reserved):
    a = reserved.assignments[0]
    hours = sum(p.hours for p in reserved.periods)
    expected = a.on_demand_usd_per_instance_hour * a.instances_by_period[0] * hours
    assert procurement._all_on_demand_usd(reserved) == pytest.approx(expected)


def test_placement_serves_the_demand_within_capacity(reserved):
    [p] = reserved.placement
    assert p.serves_rps == pytest.approx({"us-east": 5.0}, rel=1e-5)
    assert all(load <= cap / 1.15 + 1e-9 for load, cap in zip(p.load_rps_by_period, p.capacity_rps_by_period))
    assert p.utilisation == pytest.approx(5.0 / p.capacity_rps_by_period[0], rel=1e-5)


def test_markdown_has_the_recommendation_placement_and_fidelity_band(tmp_path):
    text = QUICKSTART.read_text().replace("    profile: constant\n    rps: 5\n", "    profile: diurnal\n    peak_rps: 12\n    trough_rps: 2\n")
    path = tmp_path / "d.yaml"
    path.write_text(text)
    result = CliRunner().invoke(main, ["solve", str(path), "--no-baselines", "--format", "markdown"])
    assert result.exit_code == 0, result.output
    md = result.stdout
    for heading in ("## Procurement recommendation", "### Reserve", "### On-demand (autoscaling band)", "### Spot",
                    "### Per-token API", "## Placement", "## Prices used", "## Assumptions"):
        assert heading in md
    assert "performance model (fit v4" in md and "catalogs/fidelity.csv" in md
    assert "Policy: at most 30% of the required capacity rests on spot" in md or "### Spot\n- None." in md


@pytest.mark.parametrize("tamper", ["utilisation", "unknown user region", "load moved", "placement dropped"])
def test_verify_rejects_a_tampered_placement(reserved, tmp_path, tamper):
    plan = json.loads(reserved.to_json())
    p = plan["placement"][0]
    if tamper == "utilisation":
        p["utilisation"] *= 0.5
    elif tamper == "unknown user region":
        p["serves_rps"] = {"eu-west": p["serves_rps"]["us-east"]}
    elif tamper == "load moved":
        p["load_rps_by_period"][0] *= 2
    else:
        plan["placement"] = []
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    problem = tmp_path / "p.yaml"
    problem.write_text(QUICKSTART.read_text().replace("tiers: [reserved-1y, on-demand, spot]", "tiers: [reserved-1y, on-demand]").replace(
        "clouds: [aws, gcp]", "clouds: [gcp]"))
    result = CliRunner().invoke(main, ["verify", str(problem), str(path)])
    assert result.exit_code == 4 and "FAIL placement" in result.output, result.output
