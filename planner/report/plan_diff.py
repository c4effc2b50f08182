"""What changed between two saved plans, and what it does to the monthly bill (``planner diff A.json B.json``).

Lines are keyed by what a person buys: one per (cloud, region, instance type, GPU, tier, precision,
tp) of the instances, and one per cost that is not an instance-hour (``cost_breakdown``: per-token
API, artifact storage, egress, platform fees, scale-up). An instance line carries the cloud's price
only: the platform fees on those instances are the platform-fee line, as in ``cost_breakdown``,
so no dollar is counted twice and the lines add up to ``monthly_cost_usd``.

Every figure is USD per month on its own plan's horizon (horizon cost × HOURS_PER_MONTH / horizon
hours, as ``Plan.monthly_cost_usd``), so plans over different horizons compare line by line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from pathlib import Path


from planner.errors import InputError
from planner.milp.data import RESERVED_TIERS
from planner.plan import Plan, read_plan
from planner.units import HOURS_PER_MONTH

INSTANCE_KEY = ("cloud", "region", "instance_type", "gpu", "tier", "precision", "tp")
BREAKDOWN_KEY = ("cost_breakdown",)

# cost_breakdown entries besides compute (which the instance lines itemise), in report order;
# an entry this module does not know still gets a line, named after its key, so the sum holds
BREAKDOWN_LABELS = {
    "api": "per-token API",
    "storage": "artifact storage",
    "egress": "internet egress",
    "platform": "platform fees",
    "scale_up": "scale-up (cold starts)",
    "commitments_after_horizon": "commitment terms after the horizon",
}

# summation order is the only difference between a plan's parts and its totals, so the tolerance is
# tight: a hand-edited cost shows up as an inconsistent plan instead of a diff that does not add up
_REL_TOL = 1e-9
_ABS_TOL = 1e-9


def _close(x: float, y: float) -> bool:
    return math.isclose(x, y, rel_tol=_REL_TOL, abs_tol=_ABS_TOL)


class Change(str, Enum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    UNCHANGED = "unchanged"

    @property
    def marker(self) -> str:
        return {"added": "+", "removed": "-", "changed": "~", "unchanged": " "}[self.value]


@dataclass(frozen=True)
class Instances:
    """How many instances of one line a plan buys. Reserved: ``peak_instances`` is the constant count."""

    reserved: bool
    peak_instances: int
    instance_hours: float  # over the plan's own horizon
    instance_hours_per_month: float  # what decides "changed" when horizons differ

    def text(self) -> str:
        if self.reserved:
            return f"{self.peak_instances} instance" + ("" if self.peak_instances == 1 else "s")
        return f"peak {self.peak_instances}, {self.instance_hours:,.0f} instance-h"


@dataclass(frozen=True)
class CostLine:
    kind: str  # "instances" or a cost_breakdown key
    key: tuple  # values of INSTANCE_KEY, or (kind,)
    label: str
    change: Change
    monthly_usd_a: float
    monthly_usd_b: float
    instances_a: Instances | None = None  # instance lines only; None where the plan has none
    instances_b: Instances | None = None
    detail_a: str = ""  # what a breakdown line pays for (requests, GB, starts), over the plan's horizon
    detail_b: str = ""

    @property
    def delta_usd(self) -> float:
        return self.monthly_usd_b - self.monthly_usd_a

    def quantity_text(self) -> str:
        a = self.instances_a.text() if self.instances_a else self.detail_a
        b = self.instances_b.text() if self.instances_b else self.detail_b
        if self.change == Change.ADDED or not a:
            return b
        if self.change == Change.REMOVED or not b or a == b:
            return a
        if self.instances_a and self.instances_b and not self.instances_a.reserved:
            ia, ib = self.instances_a, self.instances_b
            return f"peak {_arrow(ia.peak_instances, ib.peak_instances)}, " \
                   f"{_arrow(f'{ia.instance_hours:,.0f}', f'{ib.instance_hours:,.0f}')} instance-h"
        return f"{a} → {b}"


@dataclass(frozen=True)
class HeadlineChange:
    field: str  # the Plan field (``slo.<target>`` for SLO targets)
    label: str
    a: float | str | None
    b: float | str | None
    shown_a: str
    shown_b: str
    changed: bool


@dataclass(frozen=True)
class PlanDiff:
    label_a: str
    label_b: str
    name_a: str
    name_b: str
    horizon_hours_a: float
    horizon_hours_b: float
    monthly_usd_a: float
    monthly_usd_b: float
    lines: tuple[CostLine, ...]  # by |Δ| descending, then kind and key
    headline: tuple[HeadlineChange, ...]
    notes: tuple[str, ...]

    @property
    def delta_usd(self) -> float:
        return self.monthly_usd_b - self.monthly_usd_a

    @property
    def delta_percent(self) -> float | None:
        return None if self.monthly_usd_a == 0 else 100.0 * self.delta_usd / self.monthly_usd_a


# ------------------------------------------------------------------------------------------ loading


def load_plan(path: str | Path) -> Plan:
    """A saved plan (``planner solve --format json``), checked to add up; every problem at once,
    one ``file: field: message`` line each, as an InputError (exit code 3)."""
    path = Path(path)
    plan = read_plan(path)
    problems = plan_problems(plan)
    if problems:
        raise InputError([f"{path}: {p}" for p in problems])
    return plan


def plan_problems(plan: Plan) -> list[str]:
    """``field: message`` for each way the plan's parts fail to add up to its totals. A diff of such a
    plan would explain a change it cannot account for, so it is refused instead."""
    problems = []
    if not plan.horizon_hours > 0:
        return [f"horizon_hours: must be positive, got {plan.horizon_hours}"]
    hours = sum(p.hours for p in plan.periods)
    if not _close(hours, plan.horizon_hours):
        problems.append(f"periods: hours add to {hours:g}, horizon_hours is {plan.horizon_hours:g}")
    for i, a in enumerate(plan.assignments):
        if len(a.instances_by_period) != len(plan.periods):
            problems.append(f"assignments.{i}.instances_by_period: {len(a.instances_by_period)} periods, "
                            f"the plan has {len(plan.periods)}")
    parts = sum(cost for cost, _ in _instance_costs(plan).values()) + sum(_breakdown_costs(plan).values())
    if not _close(parts, plan.objective_usd):
        problems.append(f"objective_usd: {plan.objective_usd:.6f} USD, but its assignments and cost_breakdown "
                        f"add to {parts:.6f} USD")
    monthly = plan.objective_usd * HOURS_PER_MONTH / plan.horizon_hours
    if not _close(monthly, plan.monthly_cost_usd):
        problems.append(f"monthly_cost_usd: {plan.monthly_cost_usd:.6f} USD, but objective_usd over "
                        f"{plan.horizon_hours:g} h is {monthly:.6f} USD/month")
    return problems


# ----------------------------------------------------------------------------------------- the diff


def _instance_costs(plan: Plan) -> dict[tuple, tuple[float, Instances]]:
    """Horizon cost (the cloud's price, no platform fee) and instances per line key; assignments that
    differ only in what the buyer does not choose (max batch, candidate id) share one line."""
    hours = [p.hours for p in plan.periods]
    per_month = HOURS_PER_MONTH / plan.horizon_hours
    grouped: dict[tuple, tuple[float, list[int], float]] = {}
    for a in plan.assignments:
        key = (a.cloud, a.region, a.instance_type, a.gpu, a.tier, a.precision, a.tp)
        rate = a.price_usd_per_instance_hour + a.platform_fee_usd_per_instance_hour
        cloud_cost = a.cost_usd * a.price_usd_per_instance_hour / rate if rate else 0.0
        # a commitment is paid for every hour it is in service: constant over a horizon bought upfront,
        # month by month with monthly commitment starts
        instance_hours = float(sum(n * h for n, h in zip(a.instances_by_period, hours)))
        cost, counts, ih = grouped.get(key, (0.0, [0] * len(a.instances_by_period), 0.0))
        counts = [x + y for x, y in zip(counts, a.instances_by_period)]
        grouped[key] = (cost + cloud_cost, counts, ih + instance_hours)
    return {key: (cost, Instances(reserved=key[4] in RESERVED_TIERS, peak_instances=max(counts, default=0),
                                  instance_hours=ih, instance_hours_per_month=ih * per_month))
            for key, (cost, counts, ih) in grouped.items()}


def _breakdown_costs(plan: Plan) -> dict[str, float]:
    return {k: v for k, v in plan.cost_breakdown.items() if k != "compute"}


def _breakdown_detail(plan: Plan, kind: str) -> str:
    if kind == "api":
        return f"{sum(u.requests for u in plan.api):,.0f} requests" if plan.api else ""
    if kind == "storage":
        n = len(plan.storage)
        return f"{sum(s.artifact_gb for s in plan.storage):,.1f} GB in {n} store{'' if n == 1 else 's'}" if n else ""
    if kind == "egress":
        return f"{sum(e.gb for e in plan.egress):,.2f} GB" if plan.egress else ""
    if kind == "scale_up":
        starts = sum(a.instance_starts for a in plan.assignments)
        return f"{starts} instance start{'' if starts == 1 else 's'}" if starts else ""
    return ""


def _change(in_a: bool, in_b: bool, same: bool) -> Change:
    if not in_a:
        return Change.ADDED
    if not in_b:
        return Change.REMOVED
    return Change.UNCHANGED if same else Change.CHANGED


def _same_instances(x: Instances, y: Instances) -> bool:
    return x.peak_instances == y.peak_instances and _close(x.instance_hours_per_month, y.instance_hours_per_month)


def _lines(a: Plan, b: Plan) -> list[CostLine]:
    month_a = HOURS_PER_MONTH / a.horizon_hours
    month_b = HOURS_PER_MONTH / b.horizon_hours
    lines = []
    inst_a, inst_b = _instance_costs(a), _instance_costs(b)
    for key in inst_a.keys() | inst_b.keys():
        cost_a, qa = inst_a.get(key, (0.0, None))
        cost_b, qb = inst_b.get(key, (0.0, None))
        same = qa is not None and qb is not None and _same_instances(qa, qb) and _close(cost_a * month_a, cost_b * month_b)
        cloud, region, instance_type, gpu, tier, precision, tp = key
        lines.append(CostLine(kind="instances", key=key, label=f"{cloud} {region} {instance_type} {gpu} {tier} {precision} tp{tp}",
                              change=_change(qa is not None, qb is not None, same),
                              monthly_usd_a=cost_a * month_a, monthly_usd_b=cost_b * month_b, instances_a=qa, instances_b=qb))
    costs_a, costs_b = _breakdown_costs(a), _breakdown_costs(b)
    for kind in costs_a.keys() | costs_b.keys():
        usd_a, usd_b = costs_a.get(kind, 0.0) * month_a, costs_b.get(kind, 0.0) * month_b
        if usd_a == 0 and usd_b == 0:
            continue  # nothing paid for in either plan: not something anyone buys
        lines.append(CostLine(kind=kind, key=(kind,), label=BREAKDOWN_LABELS.get(kind, kind.replace("_", " ")),
                              change=_change(usd_a != 0, usd_b != 0, _close(usd_a, usd_b)),
                              monthly_usd_a=usd_a, monthly_usd_b=usd_b,
                              detail_a=_breakdown_detail(a, kind), detail_b=_breakdown_detail(b, kind)))
    # |Δ| rounded to a micro-dollar so that summation noise cannot reorder lines of equal change
    return sorted(lines, key=lambda x: (-round(abs(x.delta_usd), 6), x.kind != "instances", tuple(map(str, x.key))))


def _figure(field: str, label: str, a, b, show) -> HeadlineChange:
    if isinstance(a, float) and isinstance(b, float):
        changed = not _close(a, b)
    else:
        changed = a != b
    return HeadlineChange(field=field, label=label, a=a, b=b, shown_a=show(a), shown_b=show(b), changed=changed)


def _headline(a: Plan, b: Plan) -> list[HeadlineChange]:
    def usd(digits):
        return lambda v: f"${v:,.{digits}f}"

    def pct(v):
        return "n/a" if v is None else f"{100 * v:.2f} %"

    def ms(v):
        return "none" if v is None else f"{v:g} ms"

    def per_month(p: Plan) -> float:
        return p.requests_in_horizon * HOURS_PER_MONTH / p.horizon_hours

    figures = [
        _figure("model", "model", a.model, b.model, str),
        _figure("engine", "engine", a.engine, b.engine, str),
        _figure("status", "status", a.status, b.status, str),
        _figure("solver.gap", "solver gap", a.solver.gap, b.solver.gap, pct),
        _figure("horizon_hours", "horizon", a.horizon_hours, b.horizon_hours, lambda v: f"{v:g} h"),
        _figure("requests_per_month", "requests per month", per_month(a), per_month(b), lambda v: f"{v:,.0f}"),
        _figure("cost_per_1k_requests_usd", "cost per 1k requests", a.cost_per_1k_requests_usd, b.cost_per_1k_requests_usd, usd(4)),
        _figure("cost_per_mtok_output_usd", "cost per 1M output tokens", a.cost_per_mtok_output_usd, b.cost_per_mtok_output_usd, usd(3)),
        _figure("headroom", "headroom", a.headroom, b.headroom, pct),
        _figure("max_spot_share", "max spot share", a.max_spot_share, b.max_spot_share, pct),
    ]
    for target in list(a.slo) + [k for k in b.slo if k not in a.slo]:
        label = target.replace("_p99_ms", "").upper() + " P99 target"
        figures.append(_figure(f"slo.{target}", label, a.slo.get(target), b.slo.get(target), ms))
    return figures


def _notes(a: Plan, b: Plan, label_a: str, label_b: str) -> list[str]:
    notes = []
    if a.model != b.model:
        notes.append(f"{label_a} plans {a.model} and {label_b} plans {b.model}: the costs are for different models")
    if a.catalog_fingerprint != b.catalog_fingerprint:
        notes.append(f"built from different catalogs ({a.catalog_fingerprint} vs {b.catalog_fingerprint}): "
                     "a line may change with the prices alone")
    if not _close(a.horizon_hours, b.horizon_hours):
        notes.append(f"horizons differ ({a.horizon_hours:g} h vs {b.horizon_hours:g} h): each plan's costs are per month "
                     "on its own horizon; instance-hours are over each plan's horizon")
    if a.schema_version != b.schema_version:
        notes.append(f"plan schema versions differ ({a.schema_version} vs {b.schema_version})")
    return notes


def diff_plans(a: Plan, b: Plan, *, label_a: str = "A", label_b: str = "B") -> PlanDiff:
    """Line-by-line monthly change from plan ``a`` to plan ``b``; ``label_*`` name them in messages
    (the CLI passes the file names). A plan whose parts do not add up raises InputError."""
    problems = [f"{label}: {p}" for label, plan in ((label_a, a), (label_b, b)) for p in plan_problems(plan)]
    if problems:
        raise InputError(problems)
    lines = _lines(a, b)
    diff = PlanDiff(label_a=label_a, label_b=label_b, name_a=a.name, name_b=b.name,
                    horizon_hours_a=a.horizon_hours, horizon_hours_b=b.horizon_hours,
                    monthly_usd_a=a.monthly_cost_usd, monthly_usd_b=b.monthly_cost_usd,
                    lines=tuple(lines), headline=tuple(_headline(a, b)), notes=tuple(_notes(a, b, label_a, label_b)))
    # each plan's parts were checked against its total above, so the lines must explain the whole change
    tol = _REL_TOL * (abs(a.monthly_cost_usd) + abs(b.monthly_cost_usd)) + _ABS_TOL
    explained = math.fsum(line.delta_usd for line in lines)
    assert math.isclose(explained, diff.delta_usd, abs_tol=tol), (explained, diff.delta_usd)
    return diff


# ---------------------------------------------------------------------------------------- renderers


def _usd(x: float) -> str:
    return f"${x:,.2f}"


def _signed_usd(x: float) -> str:
    cents = round(x, 2)  # so that -0.001 reads +$0.00, not -$0.00
    return f"{'-' if cents < 0 else '+'}${abs(cents):,.2f}"


def _arrow(a, b) -> str:
    return f"{a}" if a == b else f"{a} → {b}"


def _total_text(d: PlanDiff) -> str:
    pct = d.delta_percent
    change = _signed_usd(d.delta_usd) + ("" if pct is None else f", {'-' if round(pct, 1) < 0 else '+'}{abs(pct):.1f} %")
    return f"{_usd(d.monthly_usd_a)} → {_usd(d.monthly_usd_b)} ({change})"


def _shown(d: PlanDiff, show_unchanged: bool) -> tuple[list[CostLine], list[HeadlineChange]]:
    return ([x for x in d.lines if show_unchanged or x.change != Change.UNCHANGED],
            [h for h in d.headline if show_unchanged or h.changed])


def _title(d: PlanDiff) -> str:
    return (f"{d.label_a} ({d.name_a}, {d.horizon_hours_a:g} h) → {d.label_b} ({d.name_b}, {d.horizon_hours_b:g} h), "
            "USD per month")


def render_diff_text(d: PlanDiff, *, show_unchanged: bool = False) -> str:
    lines, figures = _shown(d, show_unchanged)
    out = [f"Plan diff: {_title(d)}", ""]
    if lines:
        label_w = max(len(x.label) for x in lines)
        qty_w = max(len(x.quantity_text()) for x in lines)
        a_w = max(len(_usd(x.monthly_usd_a)) for x in lines)
        b_w = max(len(_usd(x.monthly_usd_b)) for x in lines)
        for x in lines:
            out.append(f"{x.change.marker} {x.label:<{label_w}}  {x.quantity_text():<{qty_w}}  "
                       f"{_usd(x.monthly_usd_a):>{a_w}} → {_usd(x.monthly_usd_b):>{b_w}}  ({_signed_usd(x.delta_usd)})")
    else:
        out.append("No cost line changed.")
    if figures:
        out += ["", "Headline figures:"]
        label_w = max(len(h.label) for h in figures)
        out += [f"  {h.label:<{label_w}}  {_arrow(h.shown_a, h.shown_b)}" for h in figures]
    if d.notes:
        out += ["", "Notes:"] + [f"  - {n}" for n in d.notes]
    out += ["", f"Monthly cost change: {_total_text(d)}"]
    return "\n".join(out) + "\n"


def render_diff_markdown(d: PlanDiff, *, show_unchanged: bool = False) -> str:
    lines, figures = _shown(d, show_unchanged)
    out = [f"## Plan diff: {_title(d)}", ""]
    if lines:
        out += [f"| | item | quantity | {d.label_a} | {d.label_b} | change |", "|---|---|---|---:|---:|---:|"]
        out += [f"| `{x.change.marker.strip() or '='}` | {x.label} | {x.quantity_text()} | {_usd(x.monthly_usd_a)} | "
                f"{_usd(x.monthly_usd_b)} | {_signed_usd(x.delta_usd)} |" for x in lines]
    else:
        out.append("No cost line changed.")
    out += ["", f"**Monthly cost change**: {_total_text(d)}"]
    if figures:
        out += ["", "### Headline figures", "", f"| figure | {d.label_a} | {d.label_b} |", "|---|---|---|"]
        out += [f"| {h.label} | {h.shown_a} | {h.shown_b} |" for h in figures]
    if d.notes:
        out += ["", "### Notes", ""] + [f"- {n}" for n in d.notes]
    return "\n".join(out) + "\n"


def _instances_json(q: Instances | None) -> dict | None:
    if q is None:
        return None
    return {"reserved": q.reserved, "peak_instances": q.peak_instances, "instance_hours": q.instance_hours,
            "instance_hours_per_month": q.instance_hours_per_month}


def diff_to_json(d: PlanDiff) -> dict:
    """Every line, unchanged ones included (a machine filters on ``change``), with stable keys."""
    def side(label, name, horizon, monthly):
        return {"label": label, "name": name, "horizon_hours": horizon, "monthly_cost_usd": monthly}

    return {
        "a": side(d.label_a, d.name_a, d.horizon_hours_a, d.monthly_usd_a),
        "b": side(d.label_b, d.name_b, d.horizon_hours_b, d.monthly_usd_b),
        "monthly_cost_change_usd": d.delta_usd,
        "monthly_cost_change_percent": d.delta_percent,
        "lines": [
            {
                "kind": x.kind,
                "key": dict(zip(INSTANCE_KEY if x.kind == "instances" else BREAKDOWN_KEY, x.key)),
                "label": x.label,
                "change": x.change.value,
                "marker": x.change.marker,
                "monthly_usd_a": x.monthly_usd_a,
                "monthly_usd_b": x.monthly_usd_b,
                "monthly_usd_change": x.delta_usd,
                "instances_a": _instances_json(x.instances_a),
                "instances_b": _instances_json(x.instances_b),
                "detail_a": x.detail_a,
                "detail_b": x.detail_b,
            }
            for x in d.lines
        ],
        "headline": [{"field": h.field, "label": h.label, "a": h.a, "b": h.b, "changed": h.changed} for h in d.headline],
        "notes": list(d.notes),
    }
