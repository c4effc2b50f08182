"""Charts of a plan as SVG strings, ready to inline in one HTML page.

Figures are built on ``matplotlib.figure.Figure`` (no pyplot, so no global figure state and no GUI
backend) and saved with the SVG backend. Output is deterministic: the id salt is fixed and the date
left out, so one plan gives byte-identical SVG. Text stays text (``svg.fonttype: none``): the page is
searchable and carries no glyph definitions; the ids matplotlib writes are prefixed with the chart's
id, so several charts can share one page.
"""

from __future__ import annotations

import functools
import io
import re

import matplotlib
from matplotlib.figure import Figure

from planner.plan import Plan
from planner.report.fmt import usd as _usd

_TIER_COLOURS = {"reserved-1y": "#1f4e79", "reserved-3y": "#2e75b6", "on-demand": "#f28e2b", "spot": "#59a14f",
                 "api": "#b07aa1"}
_OTHER_COLOURS = ["#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#bab0ac"]
_INK = "#222222"
_BREAKDOWN_LABELS = {"compute": "compute", "platform": "platform fees", "storage": "model storage", "egress": "egress",
                     "api": "per-token API", "scale_up": "cold starts",
                     "commitments_after_horizon": "terms after the horizon"}
_LATENCY_AXES = (("ttft_p99_ms", "TTFT P99 (ms)"), ("tpot_p99_ms", "TPOT P99 (ms)"), ("e2e_p99_ms", "end-to-end P99 (ms)"))


# Every chart is drawn and saved under these settings. Text is not parsed as math: plan names and
# dollar amounts contain '$'. The salt makes the SVG's generated ids the same on every run.
_RC = {"svg.fonttype": "none", "svg.hashsalt": "planner-report", "text.parse_math": False,
       "font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial"],
       "font.size": 9, "axes.edgecolor": "#888888", "axes.labelcolor": _INK, "xtick.color": "#555555",
       "ytick.color": "#555555"}


def _styled(chart):
    """Draw and save a chart under ``_RC`` only, leaving the process's rcParams as they were."""
    @functools.wraps(chart)
    def drawn(*args, **kwargs) -> str:
        with matplotlib.rc_context(_RC):
            return chart(*args, **kwargs)
    return drawn


def tier_order(tier: str) -> tuple[int, str]:
    """Stacking order: owned and reserved at the bottom (constant over the horizon, or stepping up with monthly commitment starts), then on-demand, then spot."""
    rank = 0 if tier.startswith("reserved") or tier == "owned" else {"on-demand": 1, "spot": 2}.get(tier, 3)
    return rank, tier


def tier_colour(tier: str, others: list[str]) -> str:
    if tier in _TIER_COLOURS:
        return _TIER_COLOURS[tier]
    return _OTHER_COLOURS[others.index(tier) % len(_OTHER_COLOURS)] if tier in others else _OTHER_COLOURS[0]


def capacity_by_tier(plan: Plan) -> dict[str, list[float]]:
    """Requests/s at the SLO that each tier's instances count for, per period; the tiers sum to each
    ``Period.capacity_rps`` (instances × replicas per instance × capacity per replica × availability,
    as ``planner.plan.build_plan`` counts it: spot derated by its availability)."""
    series: dict[str, list[float]] = {}
    for a in sorted(plan.assignments, key=lambda a: tier_order(a.tier)):
        per_instance = a.capacity_rps_per_replica * a.replicas_per_instance
        row = series.setdefault(a.tier, [0.0] * len(plan.periods))
        for t, n in enumerate(a.instances_by_period):
            row[t] += n * per_instance * a.availability
    return series


def period_edges(plan: Plan) -> list[float]:
    """Hours from the horizon start at which each period begins, and the horizon's end."""
    edges = [0.0]
    for p in plan.periods:
        edges.append(edges[-1] + p.hours)
    return edges


def svg_id(text: str) -> str:
    """An SVG/HTML id fragment from a domain name (tier, metric): letters, digits, '-' and '_' only."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


@_styled
def capacity_chart(plan: Plan, chart_id: str = "chart-capacity") -> str:
    """Stacked step areas of capacity per tier over the horizon, with demand and the required line."""
    fig, ax = _figure(9.0, 3.8)
    edges = period_edges(plan)
    base = [0.0] * len(plan.periods)
    series = capacity_by_tier(plan)
    others = [t for t in series if t not in _TIER_COLOURS]
    for tier, values in series.items():
        top = [b + v for b, v in zip(base, values)]
        area = ax.fill_between(edges, _stepped(base), _stepped(top), step="post", color=tier_colour(tier, others),
                               alpha=0.85, linewidth=0, label=f"{tier} capacity")
        area.set_gid(f"tier-{svg_id(tier)}")
        base = top
    headroom = 1.0 + plan.headroom
    api = [headroom * p.api_rps for p in plan.periods]
    if any(v > 0 for v in api):
        # The API relieves (1 + headroom) × its requests of fleet capacity (planner.milp.build), so
        # stacked in those units the fleet plus the API reaches the required line.
        area = ax.fill_between(edges, _stepped(base), _stepped([b + v for b, v in zip(base, api)]), step="post",
                               facecolor="none", edgecolor=_TIER_COLOURS["api"], hatch="//", linewidth=0.8,
                               label="per-token API × (1 + headroom)")
        area.set_gid("api")
    demand = [sum(p.demand_rps.values()) for p in plan.periods]
    required = [p.required_rps for p in plan.periods]
    ax.plot(edges, _stepped(required), drawstyle="steps-post", color=_INK, linewidth=1.6,
            label=f"required: demand × {headroom:g}", gid="required")
    ax.plot(edges, _stepped(demand), drawstyle="steps-post", color=_INK, linewidth=1.0, linestyle=":",
            label="demand (planning rate)", gid="demand")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(0, max([*base, *required, 1e-9]) * 1.12)
    ax.set_xlabel("hours from the horizon start")
    ax.set_ylabel("requests/s")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    return _svg(fig, chart_id)


@_styled
def cost_chart(plan: Plan, chart_id: str = "chart-costs") -> str:
    """Two panels of horizontal bars, USD per month: by kind of cost and by tier."""
    kinds = [(_BREAKDOWN_LABELS.get(k, k), plan.monthly(v)) for k, v in plan.cost_breakdown.items() if v > 0]
    tiers = [(t, plan.monthly(v)) for t, v in sorted(plan.cost_by_tier.items(), key=lambda kv: tier_order(kv[0]))]
    others = [t for t, _ in tiers if t not in _TIER_COLOURS]
    fig = _blank(9.0, 0.9 + 0.34 * max(len(kinds), len(tiers), 2))
    left, right = fig.subplots(1, 2)
    _hbars(left, kinds, ["#4e79a7"] * len(kinds), "by kind", "breakdown")
    _hbars(right, tiers, [tier_colour(t, others) for t, _ in tiers], "instances and API by tier", "tier")
    return _svg(fig, chart_id)


@_styled
def baselines_chart(plan: Plan, baselines: list[dict], chart_id: str = "chart-baselines") -> str:
    """Monthly cost of this plan against each baseline, each baseline's bar labelled with what this plan
    saves. A baseline without a cost (not available for this problem) has no bar; the table says why."""
    priced = [(str(b["name"]), float(b["monthly_cost_usd"])) for b in baselines if b.get("monthly_cost_usd") is not None]
    rows = [("this plan", plan.monthly_cost_usd), *priced]
    fig, ax = _figure(9.0, 0.9 + 0.38 * len(rows))
    colours = ["#59a14f"] + ["#9aa5b1"] * len(priced)
    notes = [""] + [savings_text(plan.monthly_cost_usd, cost) for _, cost in priced]
    _hbars(ax, rows, colours, "this plan against the baselines", "baseline", notes=notes)
    return _svg(fig, chart_id)


def savings_text(plan_cost: float, baseline_cost: float) -> str:
    """What the plan saves against a baseline, in USD per month and in % of the baseline's cost."""
    saved = baseline_cost - plan_cost
    share = abs(saved) / baseline_cost if baseline_cost > 0 else None
    if saved >= 0:
        return f"saves {_usd(saved)}" + ("" if share is None else f" ({share:.1%})")
    return f"costs {_usd(-saved)} more" + ("" if share is None else f" (+{share:.1%})")


@_styled
def frontier_chart(plan: Plan, frontier: list[dict], chart_id: str = "chart-frontier") -> str:
    """Cost per month against each P99 latency the frontier points carry, one panel per metric."""
    metrics = [(key, label) for key, label in _LATENCY_AXES if any(p.get(key) is not None for p in frontier)]
    fig = _blank(9.0, 3.6)
    if not metrics:
        fig.text(0.5, 0.5, "no P99 latency figures on the frontier points", ha="center", va="center", color=_INK)
        return _svg(fig, chart_id)
    axes = fig.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
    for ax, (key, label) in zip(axes, metrics):
        points = sorted((float(p[key]), float(p["monthly_cost_usd"]), str(p["label"])) for p in frontier if p.get(key) is not None)
        ax.plot([x for x, _, _ in points], [y for _, y, _ in points], marker="o", color="#4e79a7", linewidth=1.2,
                gid=f"frontier-{svg_id(key)}")
        for x, y, text in points:
            ax.annotate(text, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7, color=_INK)
        ax.margins(x=0.08, y=0.12)  # room for the labels of the outermost points
        ax.axhline(plan.monthly_cost_usd, color="#59a14f", linestyle="--", linewidth=1.0, label="this plan")
        ax.set_xlabel(label)
        ax.grid(color="#eeeeee", linewidth=0.6)
    axes[0].set_ylabel("USD per month")
    axes[0].legend(loc="upper right", frameon=False, fontsize=8)
    return _svg(fig, chart_id)


@_styled
def tco_chart(result: dict, chart_id: str = "chart-tco") -> str:
    """Cumulative cash out, month by month, of the plan (its owned servers' purchase at month 0, then
    its monthly bill) against renting only and the per-token API (``planner.lifecycle.tco``)."""
    months = list(range(0, result["years"] * 12 + 1))
    fig, ax = _figure(9.0, 3.6)
    styles = {"plan": ("#59a14f", "this plan"), "cloud": ("#4e79a7", "renting only"), "api": ("#9aa5b1", "per-token API only")}
    for name, (colour, label) in styles.items():
        cash = result["cumulative_usd"].get(name)
        if cash is None:
            continue
        ax.plot(months, cash, color=colour, linewidth=1.4, label=label, gid=f"tco-{name}")
    ax.set_xlabel("month")
    ax.set_ylabel("cumulative USD")
    ax.grid(color="#eeeeee", linewidth=0.6)
    ax.legend(loc="upper left", frameon=False, fontsize=8)
    return _svg(fig, chart_id)


def _stepped(values: list[float]) -> list[float]:
    """Per-period values at the period edges for step='post': the last period's value held to the end."""
    return [*values, values[-1]] if values else [0.0]


def _hbars(ax, rows: list[tuple[str, float]], colours: list[str], title: str, gid: str, notes: list[str] | None = None) -> None:
    if not rows:
        ax.text(0.5, 0.5, "nothing to pay", ha="center", va="center", transform=ax.transAxes, color=_INK)
        ax.set_axis_off()
        return
    labels = [name for name, _ in rows]
    values = [v for _, v in rows]
    positions = list(range(len(rows)))[::-1]  # first row on top
    bars = ax.barh(positions, values, color=colours, height=0.6)
    for i, bar in enumerate(bars):
        bar.set_gid(f"{gid}-{i}")  # ids are unique in the page: one per bar
    ax.set_yticks(positions, labels, fontsize=8)
    ax.set_title(title, fontsize=9, loc="left")
    top = max([*values, 1e-9])
    ax.set_xlim(0, top * (1.55 if notes else 1.3))
    for bar, value, note in zip(bars, values, notes or [""] * len(rows)):
        text = f"{_usd(value)}/month" + (f"  {note}" if note else "")
        ax.annotate(text, (bar.get_width(), bar.get_y() + bar.get_height() / 2), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=7.5, color=_INK)
    ax.tick_params(axis="x", labelsize=7.5)
    ax.set_xlabel("USD per month", fontsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)




def _blank(width_in: float, height_in: float) -> Figure:
    return Figure(figsize=(width_in, height_in), layout="constrained")


def _figure(width_in: float, height_in: float):
    fig = _blank(width_in, height_in)
    return fig, fig.subplots()


def _svg(fig: Figure, chart_id: str) -> str:
    """The figure as an ``<svg>`` element for inlining: no XML prolog, every id prefixed with the chart id."""
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.id": f"{chart_id}-svg"}):
        # No date (determinism) and no RDF block at all: its namespace URLs would look like links.
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):].rstrip()
    return _prefix_ids(text, chart_id)


def _prefix_ids(svg: str, prefix: str) -> str:
    """Inline SVGs share the page's id namespace and matplotlib names groups alike in every figure
    (figure_1, axes_1, ...): prefix each id and every reference to it so that ids stay unique."""
    root = f"{prefix}-svg"
    svg = re.sub(r'\bid="(?!' + re.escape(root) + r'")([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}-{m.group(1)})", svg)
    return re.sub(r'xlink:href="#([^"]+)"', lambda m: f'xlink:href="#{prefix}-{m.group(1)}"', svg)
