"""The tables of the HTML report: what to buy, where it runs and how busy, storage, egress, API.

Each function returns an HTML fragment; every text that comes from the plan goes through
``html.escape`` in ``table`` or ``esc``, never straight into the markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from planner.plan import Assignment, Plan
from planner.report.fmt import usd

# Periods beyond this many are folded into a <details> element (the page stays readable for a week
# of hourly periods and needs no script to expand).
FOLD_PERIODS_OVER = 24


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def table(headers: list[str], rows: Iterable[list[object]], *, numeric: Iterable[int] = (), prose: Iterable[int] = (),
          footer: list[object] | None = None, table_id: str | None = None) -> str:
    """An HTML table; columns whose index is in ``numeric`` are right-aligned, those in ``prose`` (sources,
    notes: long text and URLs) may break anywhere so that they do not widen the table."""
    classes = {**{i: ' class="prose"' for i in prose}, **{i: ' class="num"' for i in numeric}}

    def cells(tag: str, values: list[object]) -> str:
        return "".join(f"<{tag}{classes.get(i, '')}>{esc(v)}</{tag}>" for i, v in enumerate(values))

    ident = f' id="{esc(table_id)}"' if table_id else ""
    head = f"<thead><tr>{cells('th', headers)}</tr></thead>"
    body = "".join(f"<tr>{cells('td', list(r))}</tr>" for r in rows)
    foot = f"<tfoot><tr>{cells('td', footer)}</tr></tfoot>" if footer else ""
    # wide tables (the bill of materials) scroll on their own rather than widening the page
    return f'<div class="scroll"><table{ident}>{head}<tbody>{body}</tbody>{foot}</table></div>'


def bill_of_materials(plan: Plan) -> str:
    if not plan.assignments:
        return "<p>No instances: every request goes to the per-token API.</p>"
    rows = []
    for a in plan.assignments:
        price = f"{a.price_usd_per_instance_hour:.4f}"
        if a.platform_fee_usd_per_instance_hour:
            price += f" + fee {a.platform_fee_usd_per_instance_hour:.4f}"
        rows.append([a.cloud, a.region, a.instance_type, f"{a.gpus_per_instance} × {a.gpu}", a.tier, _precision(a),
                     f"{a.tp}" + (f" (PP {a.pp})" if a.pp > 1 else ""), a.replicas_per_instance,
                     min(a.instances_by_period), max(a.instances_by_period), price, usd(plan.monthly(a.cost_usd)),
                     a.price_basis, a.price_source, a.price_retrieved])
    total = usd(plan.monthly(sum(a.cost_usd for a in plan.assignments)))
    headers = ["cloud", "region", "instance type", "GPUs", "tier", "precision", "TP", "replicas per instance",
               "instances min", "instances peak", "USD/h each", "USD/month", "price basis", "price source", "retrieved"]
    return table(headers, rows, numeric=(7, 8, 9, 10, 11), prose=(13,), footer=["total", *[""] * 10, total, "", "", ""], table_id="bom-table")


def _precision(a: Assignment) -> str:
    """Precision, and how the instance serves when not whole requests at plain decoding."""
    text = a.precision if a.kv_precision == a.precision else f"{a.precision} (KV {a.kv_precision})"
    if a.speculative_draft_tokens:
        text += f", speculative k={a.speculative_draft_tokens}"
    return text + ("" if a.role == "whole" else f", {a.role} pool")


def placement(plan: Plan) -> str:
    """Instances, GPUs, capacity and cost per cloud region, summed over the assignments there."""
    if not plan.assignments:
        return "<p>No instances.</p>"
    hours = [p.hours for p in plan.periods]
    fleet = [p.capacity_rps for p in plan.periods]
    groups: dict[tuple[str, str], list[Assignment]] = {}
    for a in plan.assignments:
        groups.setdefault((a.cloud, a.region), []).append(a)
    rows = []
    for (cloud, region), members in sorted(groups.items()):
        instances = _per_period(members, lambda a, n: n)
        gpus = _per_period(members, lambda a, n: n * a.gpus_per_instance)
        capacity = _per_period(members, lambda a, n: n * a.replicas_per_instance * a.capacity_rps_per_replica * a.availability)
        share = _weighted(capacity, hours) / _weighted(fleet, hours) if _weighted(fleet, hours) else 0.0
        rows.append([cloud, region, ", ".join(sorted({a.tier for a in members})), _band(instances), max(gpus),
                     f"{_band_float(capacity)}", f"{share:.1%}", usd(plan.monthly(sum(a.cost_usd for a in members))),
                     ", ".join(sorted({u for a in members for u in a.serves_user_regions}))])
    headers = ["cloud", "region", "tiers", "instances (min–peak)", "GPUs at peak", "capacity req/s (min–peak)",
               "share of fleet capacity", "USD/month", "may serve user regions"]
    return table(headers, rows, numeric=(3, 4, 5, 6, 7), table_id="placement-table")


def utilisation_by_region(plan: Plan) -> str:
    """Per cloud region, from the plan's placement: the user regions it serves (req/s at the planning rate, hours-weighted), the
    demand it carries at the planning rate over its capacity, over the horizon and in the busiest period."""
    if not plan.placement:
        return ""
    rows = []
    for p in plan.placement:
        busiest = max((x / c for x, c in zip(p.load_rps_by_period, p.capacity_rps_by_period) if c > 0), default=0.0)
        serves = ", ".join(f"{u} {r:,.2f}" for u, r in sorted(p.serves_rps.items())) or "-"
        rows.append([p.cloud, p.region, serves, f"{p.utilisation:.1%}", f"{busiest:.1%}"])
    headers = ["cloud", "region", "serves (req/s at the planning rate, hours-weighted)", "utilisation over the horizon", "busiest period"]
    return table(headers, rows, numeric=(3, 4), table_id="utilisation-region-table")


def utilisation_by_period(plan: Plan) -> str:
    """Per period: demand at the planning rate, what the fleet must carry, capacity, and their ratios."""
    rows = []
    start = 0.0
    for p in plan.periods:
        demand = sum(p.demand_rps.values())
        fleet_demand = max(demand - p.api_rps, 0.0)
        rows.append([p.index, f"{start:g}", f"{p.hours:g}", f"{demand:,.2f}", f"{p.api_rps:,.2f}", f"{p.required_rps:,.2f}",
                     f"{p.capacity_rps:,.2f}", _ratio(fleet_demand, p.capacity_rps),
                     _ratio(p.required_rps - (1 + plan.headroom) * p.api_rps, p.capacity_rps)])
        start += p.hours
    headers = ["period", "starts at h", "hours", "demand req/s", "to the API req/s", "required req/s",
               "fleet capacity req/s", "expected utilisation (demand − API) ÷ capacity",
               "required on the fleet ÷ capacity"]
    body = table(headers, rows, numeric=range(1, 9), table_id="utilisation-period-table")
    if len(plan.periods) > FOLD_PERIODS_OVER:
        return f"<details><summary>{len(plan.periods)} periods</summary>{body}</details>"
    return body


def storage(plan: Plan) -> str:
    if not plan.storage:
        return "<p>No model storage is charged.</p>"
    rows = [[s.cloud, s.region, s.precision, f"{s.artifact_gb:,.1f}", s.service, f"{s.usd_per_gb_month:g}",
             usd(plan.monthly(s.cost_usd)), s.price_source, s.price_retrieved] for s in plan.storage]
    headers = ["cloud", "region", "precision", "weights GB", "service", "USD/GB-month", "USD/month", "price source", "retrieved"]
    return table(headers, rows, numeric=(3, 5, 6), prose=(7,), table_id="storage-table")


def egress(plan: Plan) -> str:
    if not plan.egress:
        return "<p>No egress rows: the plan sends no responses from instances.</p>"
    hours = [p.hours for p in plan.periods]
    rows = [[e.cloud, f"{_weighted(e.rps_by_period, hours) / sum(hours):,.2f}", f"{e.gb:,.3f}", f"{e.bytes_per_request:,.0f}",
             f"{e.usd_per_gb:g}" if e.priced else "not priced", usd(plan.monthly(e.cost_usd)), e.price_source]
            for e in plan.egress]
    headers = ["cloud", "mean req/s served", "GB over the horizon", "bytes per request", "USD/GB (first paid tier)",
               "USD/month", "price source"]
    return table(headers, rows, numeric=(1, 2, 3, 4, 5), prose=(6,), table_id="egress-table")


def api_use(plan: Plan) -> str:
    if not plan.api:
        return "<p>No requests go to a per-token API.</p>"
    rows = [[a.provider, a.api_model, a.user_region, f"{max(a.rps_by_period):,.2f}", f"{a.requests:,.0f}",
             f"{a.usd_per_request:.6f}", f"{a.input_usd_per_mtok:g} / {a.output_usd_per_mtok:g}",
             usd(plan.monthly(a.cost_usd)), a.price_source, a.price_retrieved] for a in plan.api]
    headers = ["provider", "API model", "user region", "peak req/s", "requests in the horizon", "USD/request",
               "USD per M input / output tokens", "USD/month", "price source", "retrieved"]
    return table(headers, rows, numeric=(3, 4, 5, 6, 7), prose=(8,), table_id="api-table")


def _per_period(members: list[Assignment], amount) -> list[float]:
    """Σ over the assignments of ``amount(assignment, instances in the period)``, per period."""
    periods = len(members[0].instances_by_period) if members else 0
    return [sum(amount(a, a.instances_by_period[t]) for a in members) for t in range(periods)]


def _ratio(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole > 0 else "n/a"


def _weighted(values: list[float], hours: list[float]) -> float:
    return sum(v * h for v, h in zip(values, hours))


def _band(values: list[float]) -> str:
    lo, hi = int(min(values)), int(max(values))
    return f"{lo}" if lo == hi else f"{lo}–{hi}"


def _band_float(values: list[float]) -> str:
    lo, hi = min(values), max(values)
    return f"{lo:,.2f}" if abs(hi - lo) < 5e-3 else f"{lo:,.2f}–{hi:,.2f}"
