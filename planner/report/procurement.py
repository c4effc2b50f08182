"""The procurement recommendation: what to reserve, the on-demand band, the spot policy and the API
share, each with its price, source and the reasoning a buyer needs (break-even utilisation, saving
against on-demand). Pure functions of the plan: every figure is read from or derived from it."""

from __future__ import annotations

from dataclasses import dataclass

from planner.plan import Assignment, Plan
from planner.report.fmt import usd as _usd
from planner.units import HOURS_PER_MONTH

TERMS = {"reserved-1y": "1-year term", "reserved-3y": "3-year term", "owned": "owned"}


@dataclass(frozen=True)
class Commitment:
    """One reserved purchase and why it pays."""

    assignment: Assignment
    count: int  # instances in service (at most, with monthly commitment starts)
    usd_per_hour: float  # the reserved price + platform fee, per instance
    on_demand_usd_per_hour: float | None  # the same instance on demand + fee (None: not offered)
    load_utilisation: float  # demand it carries ÷ its capacity at the SLO, hours-weighted (planning rate)
    instance_hours_per_hour: float = 0.0  # instance-hours in service per hour of the horizon (count when constant)

    @property
    def break_even_utilisation(self) -> float | None:
        """Below this share of hours in use, the same instance on demand would be cheaper."""
        if not self.on_demand_usd_per_hour:
            return None
        return self.usd_per_hour / self.on_demand_usd_per_hour

    def saving_vs_on_demand(self, hours: float) -> float | None:
        """USD over ``hours`` against running the same instances on demand for the whole time."""
        if self.on_demand_usd_per_hour is None:
            return None
        return (self.on_demand_usd_per_hour - self.usd_per_hour) * hours * (self.instance_hours_per_hour or self.count)


def commitments(plan: Plan) -> list[Commitment]:
    out = []
    hours = [p.hours for p in plan.periods]
    for a in plan.assignments:
        if a.tier not in TERMS or not any(a.instances_by_period):
            continue
        od = a.on_demand_usd_per_instance_hour
        instance_hours = sum(n * h for n, h in zip(a.instances_by_period, hours))
        capacity = instance_hours * a.replicas_per_instance * a.capacity_rps_per_replica
        load = sum(x * h for x, h in zip(a.load_rps_by_period, hours))
        out.append(Commitment(a, max(a.instances_by_period), a.price_usd_per_instance_hour + a.platform_fee_usd_per_instance_hour,
                              od, load / capacity if capacity > 0 else 0.0, instance_hours / sum(hours)))
    return out


def schedule_lines(plan: Plan) -> list[str]:
    """Monthly commitment starts: what to buy when, a table row per purchase, and what the terms
    still owe after the horizon (empty when commitments are bought for the whole horizon)."""
    if not plan.purchases:
        return []
    rows = ["### What to buy when", "",
            "| month | buy | term | USD/h each | cost in the horizon | owed after the horizon |", "|---|---|---|---|---|---|"]
    for x in plan.purchases:
        what = "servers (owned)" if x.tier == "owned" else x.tier
        if x.lead_time_weeks:
            what += f", ordered {x.lead_time_weeks:g} weeks before"
        rows.append(f"| {x.start_month} | {x.count} × {x.instance_type} ({x.gpu}) in {x.cloud} {x.region} | {what}, "
                    f"{x.term_months} months | {_usd(x.usd_per_instance_hour)} | {_usd(x.cost_in_horizon_usd)} | {_usd(x.cost_after_horizon_usd)} |")
    after = sum(x.cost_after_horizon_usd for x in plan.purchases)
    paid = "commitments_after_horizon" in plan.cost_breakdown
    rows += ["", f"Months of {HOURS_PER_MONTH:g} h from the horizon's start; a commitment starts at its month's start. "
             + (f"The plan's cost pays every term in full, {_usd(after)} of it after the horizon." if paid else
                f"The plan's cost counts the hours each serves inside the horizon; their terms owe {_usd(after)} more after it "
                "(the service is assumed to go on)."), ""]
    return rows


def band(plan: Plan, tier: str) -> list[Assignment]:
    """The plan's assignments in a per-period tier (on-demand or spot) that run at some point."""
    return [a for a in plan.assignments if a.tier == tier and any(a.instances_by_period)]


def _band_line(plan: Plan, a: Assignment, tail: str) -> str:
    return (f"- {a.instance_type} ({a.gpus_per_instance}× {a.gpu}) in {a.cloud} {a.region}: {_band_text(plan, a.instances_by_period)} "
            f"instances at {_usd(a.price_usd_per_instance_hour + a.platform_fee_usd_per_instance_hour)}/h "
            f"({a.price_source}, {a.price_retrieved}){tail}.")


def _band_text(plan: Plan, counts: list[int]) -> str:
    """min–max, and per period when there are few; by hour of day when periods are hourly over days."""
    lo, hi = min(counts), max(counts)
    head = f"{lo}" if lo == hi else f"{lo}–{hi}"
    if len(counts) <= 12:
        return f"{head} (by period: {' '.join(map(str, counts))})"
    hours = [p.hours for p in plan.periods]
    if all(h == 1 for h in hours) and len(counts) % 24 == 0:
        by_hour = [max(counts[h::24]) for h in range(24)]
        return f"{head} (peak per hour of day from the horizon's start: {' '.join(map(str, by_hour))})"
    return head


def placement_lines(plan: Plan) -> list[str]:
    """Markdown table rows: per cloud region, instances, what it serves, utilisation, egress."""
    egress = {e.cloud: e for e in plan.egress}
    rows = ["| cloud | region | instances (min–max; by period) | serves (req/s at the planning rate, hours-weighted) | utilisation at the planning rate | USD/month |",
            "|---|---|---|---|---|---|"]
    for p in plan.placement:
        serves = ", ".join(f"{u} {r:,.2f}" for u, r in sorted(p.serves_rps.items())) or "-"
        rows.append(f"| {p.cloud} | {p.region} | {_band_text(plan, p.instances_by_period)} | {serves} | {p.utilisation:.0%} | "
                    f"{_usd(plan.monthly(p.cost_usd))} |")
    for cloud, e in sorted(egress.items()):
        rows.append("")
        where = f"first paid tier; {e.price_source}" if e.priced and e.price_source else "no internet-egress price in egress.csv: not charged"
        rows.append(f"Egress from {cloud}: {plan.monthly(e.gb):,.2f} GB/month at {_usd(e.usd_per_gb)}/GB "
                    f"({where}): {_usd(plan.monthly(e.cost_usd))}/month.")
    return rows


def recommendation_lines(plan: Plan) -> list[str]:
    """Markdown lines of the procurement recommendation (no heading)."""
    lines: list[str] = []
    month = HOURS_PER_MONTH
    commits = commitments(plan)
    lines.append("### Reserve" + (" and buy" if any(c.assignment.tier == "owned" for c in commits) else ""))
    if not commits:
        lines.append("- Nothing: no commitment pays for itself in this plan.")
    for c in commits:
        a = c.assignment
        be = c.break_even_utilisation
        saving = c.saving_vs_on_demand(month)
        varies = len(set(a.instances_by_period)) > 1
        text = (f"- **{'up to ' if varies else ''}{c.count} × {a.instance_type}** ({a.gpus_per_instance}× {a.gpu}) in {a.cloud} {a.region}, "
                + (f"bought for an owned site at {_usd(c.usd_per_hour)}/h of capital recovery and running cost ({a.price_source})"
                   if a.tier == "owned" else
                   f"{TERMS[a.tier]} at {_usd(c.usd_per_hour)}/h ({a.price_basis}; {a.price_source}, {a.price_retrieved})"))
        if be is not None:
            text += (f"; break-even at {be:.0%} of hours in use (on demand {_usd(c.on_demand_usd_per_hour)}/h): the plan keeps "
                     f"{'it' if c.count == 1 and not varies else 'them'} in use every hour of {'their terms' if varies else 'the horizon'} at {c.load_utilisation:.0%} load at the planning rate (the period's peak), and saves "
                     f"{_usd(saving)}/month against the same instances on demand")
        lines.append(text + ".")
    lines.append("")
    lines += schedule_lines(plan)
    lines.append("### On-demand (autoscaling band)")
    on_demand = band(plan, "on-demand")
    lines += [_band_line(plan, a, f"; {a.instance_starts} start(s) over the horizon") for a in on_demand] or ["- None."]
    lines.append("")
    lines.append("### Spot")
    spot = band(plan, "spot")
    lines += [_band_line(plan, a, f", capacity counted at {a.availability:.0%}") for a in spot] or ["- None."]
    if spot:
        lines.append(f"- Policy: at most {plan.max_spot_share:.0%} of the required capacity rests on spot; if every spot instance is "
                     f"reclaimed, reserved and on-demand capacity still serve {1 - plan.max_spot_share:.0%} of demand × (1 + headroom) "
                     f"while on-demand replacements start.")
    lines.append("")
    lines.append("### Per-token API")
    api_requests = sum(a.requests for a in plan.api)
    if not plan.api:
        lines.append("- Not used.")
    else:
        share = api_requests / plan.requests_in_horizon if plan.requests_in_horizon else 0.0
        a = plan.api[0]
        lines.append(f"- {share:.1%} of requests ({api_requests:,.0f} over the horizon) go to {a.provider} {a.api_model} at "
                     f"{_usd(a.usd_per_request * 1000)} per 1k requests ({a.price_source}, {a.price_retrieved}): "
                     f"{_usd(plan.monthly(sum(x.cost_usd for x in plan.api)))}/month.")
    on_demand_total = _all_on_demand_usd(plan)
    if on_demand_total is not None and on_demand_total > 0:
        fleet = sum(a.cost_usd for a in plan.assignments)
        lines += ["", f"**Against all on-demand** (the same instances every period, on demand): "
                      f"{_usd(plan.monthly(on_demand_total))}/month vs {_usd(plan.monthly(fleet))}/month for this fleet: "
                      f"saves {_usd(plan.monthly(on_demand_total - fleet))}/month ({(on_demand_total - fleet) / on_demand_total:.1%})."]
    return lines


def _all_on_demand_usd(plan: Plan) -> float | None:
    """The plan's instance-hours priced on demand (None when an instance has no on-demand price)."""
    hours = [p.hours for p in plan.periods]
    total = 0.0
    for a in plan.assignments:
        if a.on_demand_usd_per_instance_hour is None:
            return None
        total += a.on_demand_usd_per_instance_hour * sum(n * h for n, h in zip(a.instances_by_period, hours))
    return total
