"""Render a plan for people (table, markdown) and for spreadsheets (csv). JSON is ``Plan.to_json``."""

from __future__ import annotations

import io

import pandas as pd
from rich.console import Console
from rich.table import Table

from planner.plan import Plan
from planner.report import procurement
from planner.report.fmt import usd as _usd


def _band(values: list[int]) -> str:
    lo, hi = min(values), max(values)
    return f"{lo}" if lo == hi else f"{lo}–{hi}"


def assignments_frame(plan: Plan) -> pd.DataFrame:
    rows = []
    for a in plan.assignments:
        rows.append(
            {
                "where": f"{a.cloud} {a.region}",
                "instance": a.instance_type,
                "gpus": f"{a.gpus_per_instance}x {a.gpu}",
                "serving": f"{a.precision} tp{a.tp} batch≤{a.max_batch}" + (f" ×{a.replicas_per_instance}" if a.replicas_per_instance > 1 else "")
                + (f" spec k={a.speculative_draft_tokens}" if a.speculative_draft_tokens else "")
                + ("" if a.role == "whole" else f" [{a.role} pool]"),
                "tier": a.tier,
                "count": _band(a.instances_by_period),
                "$/h each": a.price_usd_per_instance_hour,
                "$/month": plan.monthly(a.cost_usd),
                "req/s per replica": a.capacity_rps_per_replica,
                "TTFT p99 ms": "measured" if a.ttft_p99_ms is None else a.ttft_p99_ms,
                "TPOT p99 ms": "measured" if a.tpot_p99_ms is None else a.tpot_p99_ms,
                "serves": ",".join(a.serves_user_regions),
            }
        )
    return pd.DataFrame(rows)


def headline(plan: Plan) -> list[tuple[str, str]]:
    gap = "n/a" if plan.solver.gap is None else f"{plan.solver.gap:.2%}"
    slo = ", ".join(f"{k.replace('_p99_ms', '').upper()} P99 ≤ {v:g} ms" for k, v in plan.slo.items() if v is not None)
    return [
        ("plan", f"{plan.name}: {plan.model} on {plan.engine}"),
        ("status", f"{plan.status} ({plan.solver.name}, gap {gap}, {plan.solver.time_s:.2f} s)"),
        ("cost per month", _usd(plan.monthly_cost_usd)),
        ("cost per 1k requests", f"${plan.cost_per_1k_requests_usd:.4f}"),
        ("cost per 1M output tokens", f"${plan.cost_per_mtok_output_usd:.3f}"),
        ("horizon", f"{plan.horizon_hours:g} h in {len(plan.periods)} periods; {plan.requests_in_horizon:,.0f} requests"),
        ("SLO", slo),
        ("candidates", f"{plan.candidates['evaluated']} evaluated, {plan.candidates['kept']} kept after pruning"),
    ]


def render_table(plan: Plan) -> str:
    console = Console(file=io.StringIO(), width=220, record=True, color_system=None)
    head = Table.grid(padding=(0, 2))
    for k, v in headline(plan):
        head.add_row(f"[bold]{k}[/bold]", v)
    console.print(head)
    frame = assignments_frame(plan)
    if frame.empty:
        console.print("[bold]What to buy[/bold]: no instances")
        frame = None
    table = Table(title="What to buy", title_justify="left")
    for c in ([] if frame is None else frame.columns):
        table.add_column(c, justify="right" if frame[c].dtype.kind == "f" else "left", no_wrap=True)
    for row in ([] if frame is None else frame.itertuples(index=False)):
        table.add_row(*[f"{v:,.2f}" if isinstance(v, float) else str(v) for v in row])
    if frame is not None:
        console.print(table)
    for line in api_lines(plan):
        console.print("[bold]per-token API[/bold] " + line)
    for line in bucket_lines(plan):
        console.print("[bold]size bucket[/bold] " + line)
    console.print("[bold]instances by period[/bold] " + _periods_summary(plan))
    console.print("[bold]cost by tier[/bold] " + ", ".join(f"{t}: {_usd(plan.monthly(c))}/month" for t, c in plan.cost_by_tier.items()))
    console.print("[bold]cost breakdown[/bold] " + breakdown_text(plan))
    for line in baseline_lines(plan, describe=False):
        console.print("[bold]baseline[/bold] " + line)
    return console.export_text()


def breakdown_text(plan: Plan) -> str:
    """Monthly cost by kind (compute, platform, storage, egress, scale-up, API), the non-zero ones."""
    parts = [f"{k.replace('_', '-')}: {_usd(plan.monthly(v))}/month" for k, v in plan.cost_breakdown.items() if v > 0]
    return ", ".join(parts) or "nothing to pay"


def api_lines(plan: Plan) -> list[str]:
    """One line per user region whose requests (partly) go to a per-token API."""
    out = []
    for a in plan.api:
        share = a.requests / plan.requests_in_horizon if plan.requests_in_horizon else 0.0
        out.append(f"{a.provider} {a.api_model} for {a.user_region}: up to {max(a.rps_by_period):,.2f} req/s, "
                   f"{a.requests:,.0f} requests ({share:.0%} of all), ${a.usd_per_request:.6f}/request "
                   f"(${a.input_usd_per_mtok:g}/${a.output_usd_per_mtok:g} per M input/output tokens), "
                   f"{_usd(plan.monthly(a.cost_usd))}/month")
    return out


def bucket_lines(plan: Plan) -> list[str]:
    """With request-size buckets: one line per bucket, its share of requests and which instances
    serve it (averaged over the horizon, in instances' time), e.g. to show short requests on small GPUs."""
    if not plan.buckets:
        return []
    hours = [p.hours for p in plan.periods]
    horizon = sum(hours) or 1.0
    where: dict[str, dict[str, float]] = {}
    instance = {a.candidate_id: a.instance_type for a in plan.assignments}
    for sp in plan.bucket_split:
        avg = sum(u * h for u, h in zip(sp.instances_by_period, hours)) / horizon
        name = instance.get(sp.candidate_id, sp.candidate_id)
        where.setdefault(sp.serves, {})[name] = where.setdefault(sp.serves, {}).get(name, 0.0) + avg
    out = []
    for b in plan.buckets:
        served = ", ".join(f"{n} {u:.2f}" for n, u in sorted(where.get(b.label, {}).items())) or "only in the whole mix"
        out.append(f"{b.label} ({b.share:.1%} of requests, mean {b.mean_input_tokens:.0f} in / {b.mean_output_tokens:.0f} out): {served}")
    mix = where.get("whole mix")
    if mix:
        out.append("whole mix as it comes: " + ", ".join(f"{n} {u:.2f}" for n, u in sorted(mix.items())))
    return out


def baseline_lines(plan: Plan, describe: bool = True) -> list[str]:
    """One line per baseline: its monthly cost and what the plan saves against it (or why none);
    ``describe`` adds what the baseline is (markdown), the table keeps to what it buys."""
    out = []
    for b in plan.baselines:
        if b.monthly_cost_usd is None:
            out.append(f"{b.name}: {b.status} ({b.detail})")
            continue
        verb = "saves" if b.saving_usd_per_month >= 0 else "costs more by"
        pct = "" if b.saving_pct is None else f", {abs(b.saving_pct):.1%}"
        gpu = f" [{b.gpu}]" if b.gpu else ""
        what = f"{b.description}: {b.detail}" if describe else b.detail
        out.append(f"{b.name}{gpu}: {_usd(b.monthly_cost_usd)}/month; the plan {verb} {_usd(abs(b.saving_usd_per_month))}/month{pct} "
                   f"— {what}")
    return out


def _periods_summary(plan: Plan) -> str:
    total = [0] * len(plan.periods)
    for a in plan.assignments:
        total = [x + y for x, y in zip(total, a.instances_by_period)]
    if len(total) <= 24:
        return " ".join(str(x) for x in total)
    return f"min {min(total)}, max {max(total)} over {len(total)} periods"


def render_markdown(plan: Plan) -> str:
    lines = [f"# Plan: {plan.name}", ""]
    lines += [f"- **{k}**: {v}" for k, v in headline(plan)]
    lines += ["", "## Procurement recommendation", ""] + procurement.recommendation_lines(plan)
    if plan.placement:
        lines += ["", "## Placement (per cloud region; utilisation at each period's planning rate)", ""] + procurement.placement_lines(plan)
    lines += ["", "## What to buy", ""]
    frame = assignments_frame(plan)
    if frame.empty:
        lines.append("No instances.")
    else:
        lines.append("| " + " | ".join(frame.columns) + " |")
        lines.append("|" + "---|" * len(frame.columns))
        for row in frame.itertuples(index=False):
            lines.append("| " + " | ".join(f"{v:,.2f}" if isinstance(v, float) else str(v) for v in row) + " |")
    if plan.api:
        lines += ["", "## Per-token API", ""] + [f"- {x}" for x in api_lines(plan)]
    if plan.buckets:
        lines += ["", "## Request-size buckets (instances serving each, averaged over the horizon)", ""]
        lines += [f"- {x}" for x in bucket_lines(plan)]
    lines += ["", f"**Cost breakdown**: {breakdown_text(plan)}"]
    if plan.baselines:
        lines += ["", "## Baselines (same demand and SLO)", ""] + [f"- {x}" for x in baseline_lines(plan)]
    lines += ["", "## Prices used", ""]
    for a in plan.assignments:
        lines.append(f"- {a.cloud} {a.region} {a.instance_type} {a.tier}: ${a.price_usd_per_instance_hour:.4f}/h "
                     f"({a.price_basis}; source {a.price_source}, retrieved {a.price_retrieved})")
    for a in plan.api:
        lines.append(f"- {a.provider} {a.api_model}: ${a.input_usd_per_mtok:g} / ${a.output_usd_per_mtok:g} per M input/output tokens "
                     f"(source {a.price_source}, retrieved {a.price_retrieved})")
    lines += ["", "## Assumptions", ""] + [f"- {x}" for x in plan.assumptions]
    return "\n".join(lines) + "\n"


def render_csv(plan: Plan) -> str:
    rows = []
    for a in plan.assignments:
        for t, n in enumerate(a.instances_by_period):
            rows.append({"period": t, "hours": plan.periods[t].hours, "candidate_id": a.candidate_id, "cloud": a.cloud,
                         "region": a.region, "instance_type": a.instance_type, "gpu": a.gpu, "tier": a.tier,
                         "instances": n, "replicas": a.replicas_by_period[t], "usd_per_instance_hour": a.price_usd_per_instance_hour,
                         "cost_usd": n * a.price_usd_per_instance_hour * plan.periods[t].hours})
    for a in plan.api:
        for t, rps in enumerate(a.rps_by_period):
            rows.append({"period": t, "hours": plan.periods[t].hours, "candidate_id": f"api/{a.provider}/{a.api_model}/{a.user_region}",
                         "cloud": a.provider, "region": a.user_region, "instance_type": a.api_model, "gpu": "", "tier": "api",
                         "instances": 0, "replicas": 0, "usd_per_instance_hour": 0.0,
                         "cost_usd": a.cost_usd * (rps * plan.periods[t].hours) / max(sum(r * p.hours for r, p in zip(a.rps_by_period, plan.periods)), 1e-300)})
    columns = ["period", "hours", "candidate_id", "cloud", "region", "instance_type", "gpu", "tier", "instances", "replicas",
               "usd_per_instance_hour", "cost_usd"]
    return pd.DataFrame(rows, columns=columns).to_csv(index=False)
