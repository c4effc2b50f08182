"""planner.report.plan_diff: line-by-line monthly change between two plans, on real solved plans
(quickstart, its demand doubled, its horizon doubled) and on hand-made copies with known numbers."""

import json
import math
from pathlib import Path

import pytest

from planner.catalog import load_catalogs
from planner.errors import InputError
from planner.pipeline import solve_problem
from planner.plan import Plan
from planner.problem import parse_problem
from planner.report.plan_diff import (
    Change,
    diff_plans,
    diff_to_json,
    load_plan,
    render_diff_markdown,
    render_diff_text,
)

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = (ROOT / "problems" / "quickstart.yaml").read_text(encoding="utf-8")


def _variant(old: str, new: str) -> str:
    assert old in QUICKSTART  # a variant that silently equals quickstart would test nothing
    return QUICKSTART.replace(old, new)


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    catalogs = load_catalogs()
    texts = {
        "quickstart": QUICKSTART,
        "double_demand": _variant("rps: 5", "rps: 10"),
        "two_days": _variant("horizon_hours: 24", "horizon_hours: 48"),
    }
    return {name: solve_problem(parse_problem(text, f"{name}.yaml"), catalogs) for name, text in texts.items()}


def consistent(plan: Plan, **update) -> Plan:
    """A copy with ``update`` applied and its totals restated from its parts, as build_plan does."""
    plan = plan.model_copy(update=update)
    fleet = sum(a.cost_usd for a in plan.assignments)
    breakdown = dict(plan.cost_breakdown)
    breakdown["compute"] = fleet - breakdown.get("platform", 0.0)
    objective = fleet + sum(v for k, v in breakdown.items() if k not in ("compute", "platform"))
    return plan.model_copy(update={"cost_breakdown": breakdown, "objective_usd": objective,
                                   "monthly_cost_usd": objective * 730.0 / plan.horizon_hours})


def on_demand_plan(base: Plan, period_hours: list[float], instances: int, usd_per_hour: float,
                   storage_usd: float, fee_per_hour: float = 0.0) -> Plan:
    """One on-demand line with round numbers, for hand-computed monthly figures."""
    n = [instances] * len(period_hours)
    instance_hours = instances * sum(period_hours)
    assignment = base.assignments[0].model_copy(update={
        "tier": "on-demand", "instances_by_period": n, "replicas_by_period": n,
        "price_usd_per_instance_hour": usd_per_hour, "platform_fee_usd_per_instance_hour": fee_per_hour,
        "cost_usd": (usd_per_hour + fee_per_hour) * instance_hours, "instance_starts": 0, "scale_up_cost_usd": 0.0})
    periods = [base.periods[0].model_copy(update={"index": t, "hours": h}) for t, h in enumerate(period_hours)]
    breakdown = {"compute": 0.0, "egress": 0.0, "platform": fee_per_hour * instance_hours, "storage": storage_usd,
                 "api": 0.0, "scale_up": 0.0}
    return consistent(base, assignments=[assignment], periods=periods, horizon_hours=float(sum(period_hours)),
                      cost_breakdown=breakdown, api=[], storage=[], egress=[])


def test_lines_add_up_to_the_total_change(plans):
    a, b = plans["quickstart"], plans["double_demand"]
    d = diff_plans(a, b)
    assert b.monthly_cost_usd > a.monthly_cost_usd  # twice the demand cannot be cheaper
    assert math.fsum(x.delta_usd for x in d.lines) == pytest.approx(b.monthly_cost_usd - a.monthly_cost_usd, rel=1e-9)
    assert math.fsum(x.monthly_usd_a for x in d.lines) == pytest.approx(a.monthly_cost_usd, rel=1e-9)
    assert math.fsum(x.monthly_usd_b for x in d.lines) == pytest.approx(b.monthly_cost_usd, rel=1e-9)
    as_json = diff_to_json(d)
    assert math.fsum(x["monthly_usd_change"] for x in as_json["lines"]) == pytest.approx(as_json["monthly_cost_change_usd"], rel=1e-9)


def test_doubled_demand_lines_follow_the_assignments(plans):
    a, b = plans["quickstart"], plans["double_demand"]
    d = diff_plans(a, b)

    def keys(plan):
        return {(x.cloud, x.region, x.instance_type, x.gpu, x.tier, x.precision, x.tp) for x in plan.assignments}

    instance_lines = {x.key: x.change for x in d.lines if x.kind == "instances"}
    assert set(instance_lines) == keys(a) | keys(b)
    for key in keys(b) - keys(a):
        assert instance_lines[key] == Change.ADDED
    for key in keys(a) - keys(b):
        assert instance_lines[key] == Change.REMOVED
    assert any(x.change != Change.UNCHANGED for x in d.lines)
    figures = {h.field: h for h in d.headline}
    assert figures["requests_per_month"].changed
    assert figures["requests_per_month"].b == pytest.approx(2 * figures["requests_per_month"].a)
    assert not figures["model"].changed and not figures["slo.ttft_p99_ms"].changed
    assert d.notes == ()  # same model, catalogs and horizon


def test_a_plan_diffed_with_itself_changes_nothing(plans):
    a = plans["quickstart"]
    d = diff_plans(a, a)
    assert d.lines and all(x.change == Change.UNCHANGED and x.delta_usd == 0 for x in d.lines)
    assert d.delta_usd == 0 and not any(h.changed for h in d.headline) and d.notes == ()
    text = render_diff_text(d)
    assert "No cost line changed." in text
    assert text.rstrip().endswith("(+$0.00, +0.0 %)")
    assert "Headline figures" not in text
    shown = render_diff_text(d, show_unchanged=True)
    assert all(x.label in shown for x in d.lines) and "Headline figures" in shown


def test_removed_and_added_instances(plans):
    a = plans["quickstart"]
    gone = a.assignments[0]
    smaller = consistent(a, assignments=a.assignments[1:])
    removed = diff_plans(a, smaller)
    changed = [x for x in removed.lines if x.change != Change.UNCHANGED]
    assert [x.change for x in changed] == [Change.REMOVED]
    assert changed[0].key == (gone.cloud, gone.region, gone.instance_type, gone.gpu, gone.tier, gone.precision, gone.tp)
    assert changed[0].delta_usd == pytest.approx(-gone.cost_usd * 730.0 / a.horizon_hours, rel=1e-12)
    assert render_diff_text(removed).splitlines()[2].startswith(f"- {gone.cloud} {gone.region} {gone.instance_type}")
    added = diff_plans(smaller, a)
    assert [x.change for x in added.lines if x.change != Change.UNCHANGED] == [Change.ADDED]
    assert render_diff_text(added).splitlines()[2].startswith(f"+ {gone.cloud} {gone.region} {gone.instance_type}")


def test_another_gpu_is_one_line_out_and_one_in(plans):
    a = plans["quickstart"]
    moved = [x.model_copy(update={"gpu": "Z-GPU"}) if i == 0 else x for i, x in enumerate(a.assignments)]
    d = diff_plans(a, consistent(a, assignments=moved))
    changed = [x for x in d.lines if x.change != Change.UNCHANGED]
    assert sorted(x.change.marker for x in changed) == ["+", "-"]
    assert changed[0].delta_usd == pytest.approx(-changed[1].delta_usd)
    assert d.delta_usd == pytest.approx(0.0, abs=1e-9)
    # equal |Δ|: the key decides the order, so the report is the same on every run
    assert [x.key for x in changed] == sorted((x.key for x in changed), key=lambda k: tuple(map(str, k)))


def test_lines_sorted_by_size_of_change(plans):
    d = diff_plans(plans["quickstart"], plans["double_demand"])
    sizes = [abs(x.delta_usd) for x in d.lines]
    assert sizes == sorted(sizes, reverse=True)
    text = render_diff_text(d).splitlines()
    shown = [x for x in d.lines if x.change != Change.UNCHANGED]
    for row, line in zip(text[2:], shown):
        assert row.startswith(f"{line.change.marker} {line.label}")


def test_different_horizons_hand_computed(plans):
    base = plans["quickstart"]
    # A: 1 instance at $2/h for 4 × 6 h, $0.50 of storage. B: 2 instances for 7 × 24 h, $3.50 of storage
    a = on_demand_plan(base, [6.0] * 4, instances=1, usd_per_hour=2.0, storage_usd=0.5)
    b = on_demand_plan(base, [24.0] * 7, instances=2, usd_per_hour=2.0, storage_usd=3.5)
    d = diff_plans(a, b)
    fleet = next(x for x in d.lines if x.kind == "instances")
    assert fleet.monthly_usd_a == pytest.approx(48.0 * 730 / 24)  # 1,460
    assert fleet.monthly_usd_b == pytest.approx(672.0 * 730 / 168)  # 2,920
    assert fleet.change == Change.CHANGED and fleet.delta_usd == pytest.approx(1460.0)
    assert (fleet.instances_a.peak_instances, fleet.instances_a.instance_hours) == (1, 24.0)
    assert (fleet.instances_b.peak_instances, fleet.instances_b.instance_hours) == (2, 336.0)
    assert fleet.instances_b.instance_hours_per_month == pytest.approx(1460.0)
    storage = next(x for x in d.lines if x.kind == "storage")
    assert storage.monthly_usd_a == pytest.approx(0.5 * 730 / 24) and storage.change == Change.UNCHANGED  # $15.21 both
    assert d.delta_usd == pytest.approx(1460.0)
    assert any("horizons differ (24 h vs 168 h)" in n for n in d.notes)
    assert "peak 1 → 2, 24 → 336 instance-h" in render_diff_text(d)
    assert "Monthly cost change: $1,475.21 → $2,935.21 (+$1,460.00, +99.0 %)" in render_diff_text(d)


def test_same_fleet_over_a_longer_horizon_costs_the_same_per_month(plans):
    d = diff_plans(plans["quickstart"], plans["two_days"])
    assert all(x.change == Change.UNCHANGED for x in d.lines)
    assert d.delta_usd == pytest.approx(0.0, abs=1e-6)
    assert [h.field for h in d.headline if h.changed] == ["horizon_hours"]


def test_platform_fees_are_their_own_line(plans):
    base = plans["quickstart"]
    plain = on_demand_plan(base, [6.0] * 4, instances=1, usd_per_hour=2.0, storage_usd=0.0)
    managed = on_demand_plan(base, [6.0] * 4, instances=1, usd_per_hour=2.0, storage_usd=0.0, fee_per_hour=0.5)
    d = diff_plans(plain, managed)
    by_kind = {x.kind: x for x in d.lines}
    assert set(by_kind) == {"instances", "platform"}  # nothing paid for storage in either: no line
    assert by_kind["instances"].change == Change.UNCHANGED  # the cloud's bill is the same
    assert by_kind["platform"].change == Change.ADDED
    assert by_kind["platform"].delta_usd == pytest.approx(0.5 * 730)
    assert d.delta_usd == pytest.approx(0.5 * 730)


def test_notes_for_other_catalogs_and_models(plans):
    a = plans["quickstart"]
    b = a.model_copy(update={"catalog_fingerprint": "0123abcd", "model": "llama-3.1-70b"})
    d = diff_plans(a, b, label_a="a.json", label_b="b.json")
    assert any("different catalogs" in n and "0123abcd" in n for n in d.notes)
    assert any("a.json plans llama-3.1-8b and b.json plans llama-3.1-70b" in n for n in d.notes)
    assert {h.field for h in d.headline if h.changed} == {"model"}
    assert "different catalogs" in render_diff_markdown(d)


def test_markdown_and_json(plans):
    d = diff_plans(plans["quickstart"], plans["double_demand"], label_a="a.json", label_b="b.json")
    md = render_diff_markdown(d)
    assert "| | item | quantity | a.json | b.json | change |" in md
    assert md.count("\n| `") == sum(x.change != Change.UNCHANGED for x in d.lines)
    assert "**Monthly cost change**: $" in md
    as_json = json.loads(json.dumps(diff_to_json(d)))  # plain JSON types only
    assert list(as_json) == ["a", "b", "monthly_cost_change_usd", "monthly_cost_change_percent", "lines", "headline", "notes"]
    assert len(as_json["lines"]) == len(d.lines)  # unchanged lines too
    fleet = next(x for x in as_json["lines"] if x["kind"] == "instances")
    assert list(fleet["key"]) == ["cloud", "region", "instance_type", "gpu", "tier", "precision", "tp"]
    assert fleet["marker"] in "+-~ " and fleet["change"] in {c.value for c in Change}


def test_final_line_states_both_totals(plans):
    a, b = plans["quickstart"], plans["double_demand"]
    ma, mb = a.monthly_cost_usd, b.monthly_cost_usd
    expected = f"Monthly cost change: ${ma:,.2f} → ${mb:,.2f} (+${mb - ma:,.2f}, +{100 * (mb - ma) / ma:.1f} %)"
    assert render_diff_text(diff_plans(a, b)).rstrip().splitlines()[-1] == expected


def test_load_plan_round_trip(plans, tmp_path):
    path = tmp_path / "a.json"
    path.write_text(plans["quickstart"].to_json(), encoding="utf-8")
    assert load_plan(path) == plans["quickstart"]


def test_malformed_json_is_one_line(tmp_path):
    path = tmp_path / "b.json"
    path.write_text('{"name": "x",', encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_plan(path)
    assert err.value.exit_code == 3
    assert len(err.value.messages) == 1 and err.value.messages[0].startswith(f"{path}: not JSON: ")


def test_every_missing_field_reported_at_once(plans, tmp_path):
    data = json.loads(plans["quickstart"].to_json())
    del data["assignments"][0]["tier"]
    del data["periods"][1]["hours"]
    data["surprise"] = 1
    path = tmp_path / "b.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_plan(path)
    assert sorted(err.value.messages) == sorted([f"{path}: assignments.0.tier: field required",
                                                 f"{path}: periods.1.hours: field required",
                                                 f"{path}: surprise: unknown field"])


def test_other_unreadable_files(tmp_path):
    with pytest.raises(InputError, match="missing.json: file not found"):
        load_plan(tmp_path / "missing.json")
    path = tmp_path / "list.json"
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InputError, match="list.json: a plan is a JSON object, got list"):
        load_plan(path)


def test_a_plan_that_does_not_add_up_is_refused(plans, tmp_path):
    a = plans["quickstart"]
    data = json.loads(a.to_json())
    data["objective_usd"] += 10.0
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_plan(path)
    assert [m.split(":")[1].strip() for m in err.value.messages] == ["objective_usd", "monthly_cost_usd"]
    with pytest.raises(InputError, match="^B: monthly_cost_usd: "):
        diff_plans(a, a.model_copy(update={"monthly_cost_usd": a.monthly_cost_usd + 1.0}))
