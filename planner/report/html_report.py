"""A plan as one self-contained HTML page: summary, charts as inline SVG, and tables.

The page loads nothing and runs no script: the charts are SVG elements in the document (see
``planner.report.charts``), the style sheet is inline, and a Content-Security-Policy forbids any
fetch, so the file reads the same offline, attached to a ticket or opened years later. The output is
deterministic (no timestamps; the SVG ids are salted), so one plan renders to the same bytes.
"""

from __future__ import annotations

from planner.plan import Plan
from planner.units import HOURS_PER_MONTH
from planner.report.procurement import recommendation_lines
from planner.report import charts
from planner.report.html_tables import (api_use, bill_of_materials, egress, esc, placement, storage, table,
                                        usd, utilisation_by_region, utilisation_by_period)
from planner.report.plan_report import breakdown_text, bucket_lines, headline

# No fetches of any kind ('none'); inline <style> and the SVGs' style attributes only.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_CSS = """
body { font: 14px/1.45 system-ui, "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #222; margin: 0; background: #fafafa; }
main { max-width: 1180px; margin: 0 auto; padding: 24px; background: #fff; }
h1 { font-size: 1.6em; margin: 0 0 12px; } h2 { font-size: 1.2em; margin: 28px 0 8px; border-bottom: 1px solid #ddd; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.summary dt { font-weight: 600; } dl.summary dd { margin: 0; }
figure { margin: 8px 0 16px; } figure svg { width: 100%; height: auto; max-width: 960px; display: block; }
figcaption { font-size: 0.9em; color: #555; max-width: 960px; }
table { border-collapse: collapse; font-size: 0.85em; margin: 6px 0 12px; }
th, td { border: 1px solid #ddd; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f0f3f6; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tfoot td { font-weight: 600; } td { white-space: nowrap; } td.prose { white-space: normal; overflow-wrap: anywhere; min-width: 20em; }
div.scroll { overflow-x: auto; max-width: 100%; }
p.note { font-size: 0.9em; color: #555; } footer { margin-top: 32px; font-size: 0.8em; color: #777; }
"""


def render_html(plan: Plan, *, baselines: list[dict] | None = None, frontier: list[dict] | None = None,
                tco: dict | None = None, title: str | None = None) -> str:
    """The report page. ``baselines``: ``{"name", "monthly_cost_usd", "note"}`` per alternative plan;
    ``frontier``: ``{"label", "monthly_cost_usd", "ttft_p99_ms", "tpot_p99_ms", "e2e_p99_ms", "setting"}``
    per point of a cost/latency sweep. Their sections appear only when given."""
    heading = title if title is not None else f"Plan: {plan.name}"
    sections = [_summary(plan), _section("procurement", "Procurement recommendation", _from_markdown(recommendation_lines(plan))),
                _capacity(plan), _costs(plan)]
    if baselines is not None:
        sections.append(_baselines(plan, baselines))
    if frontier is not None:
        sections.append(_frontier(plan, frontier))
    if tco is not None:
        sections.append(_tco(tco))
    sections += [
        _section("bill-of-materials", "What to buy", bill_of_materials(plan)),
        _section("placement", "Placement per cloud and region", placement(plan) + _utilisation(plan)),
        _section("storage", "Model storage", storage(plan)),
        _section("egress", "Egress", egress(plan)),
        _section("api-use", "Per-token API", api_use(plan)),
    ]
    if plan.buckets:
        sections.append(_section("buckets", "Request-size buckets (instances serving each, averaged over the horizon)",
                                 _list(bucket_lines(plan))))
    sections.append(_section("assumptions", "Assumptions", _list(plan.assumptions)))
    footer = (f"<footer>plan schema {esc(plan.schema_version)} · catalog fingerprint {esc(plan.catalog_fingerprint)} · "
              f"solver {esc(plan.solver.name)}: {esc(plan.solver.status_detail)}</footer>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{esc(_CSP)}\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{esc(heading)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
            f"<h1>{esc(heading)}</h1>\n" + "\n".join(sections) + f"\n{footer}\n</main>\n</body>\n</html>\n")


def _summary(plan: Plan) -> str:
    rows = headline(plan) + [
        ("headroom", f"{plan.headroom:.0%} above demand in every period"),
        ("spot share", f"at most {plan.max_spot_share:.0%} of demand relies on spot"),
        ("cost breakdown", breakdown_text(plan)),
    ]
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
    return f'<section id="summary"><dl class="summary">{items}</dl></section>'


def _capacity(plan: Plan) -> str:
    caption = ("Requests/s at the SLO that each tier's instances count for in each period (instances × replicas × "
               "capacity per replica × availability; spot derated by its availability), stacked; the tiers sum to the "
               f"plan's capacity per period. The solid line is the required capacity, demand × (1 + {plan.headroom:g} "
               "headroom); the dotted line is the demand at the planning rate.")
    if any(p.api_rps > 0 for p in plan.periods):
        caption += " Hatched: requests sent to the per-token API, × (1 + headroom), the fleet capacity they relieve."
    return _section("capacity", "Capacity by tier against demand", _figure("chart-capacity", charts.capacity_chart(plan), caption))


def _costs(plan: Plan) -> str:
    caption = (f"USD per month ({plan.horizon_hours:g} h horizon scaled to {HOURS_PER_MONTH:g} h): by kind of cost (only those above "
               "zero) and by tier (instances, including platform fees, and the per-token API).")
    return _section("costs", "Cost breakdown", _figure("chart-costs", charts.cost_chart(plan), caption))


def _baselines(plan: Plan, baselines: list[dict]) -> str:
    rows = []
    for b in baselines:
        cost = b.get("monthly_cost_usd")
        saving = "not available" if cost is None else charts.savings_text(plan.monthly_cost_usd, float(cost))
        rows.append([b["name"], "—" if cost is None else usd(float(cost)), saving, b.get("note", "")])
    caption = (f"USD per month of this plan ({usd(plan.monthly_cost_usd)}) against each baseline; the label on a baseline "
               "is what this plan saves against it, in USD per month and in % of the baseline. A baseline without a cost (not "
               "available for this problem) is in the table only.")
    body = _figure("chart-baselines", charts.baselines_chart(plan, baselines), caption)
    body += table(["baseline", "USD/month", "this plan", "note"], rows, numeric=(1,), prose=(3,), table_id="baselines-table")
    return _section("baselines", "Against baselines", body)


def _frontier(plan: Plan, frontier: list[dict]) -> str:
    def ms(value) -> str:
        return "—" if value is None else f"{float(value):,.0f}"

    rows = [[p["label"], p.get("setting", ""), usd(float(p["monthly_cost_usd"])), ms(p.get("ttft_p99_ms")),
             ms(p.get("tpot_p99_ms")), ms(p.get("e2e_p99_ms"))] for p in frontier]
    caption = ("Pareto frontier of cost against P99 latency: USD per month of the cheapest plan at each setting, against "
               "the P99 latency it reaches, one panel per latency figure; the dashed line is this plan's cost.")
    body = _figure("chart-frontier", charts.frontier_chart(plan, frontier), caption)
    body += table(["point", "setting", "USD/month", "TTFT P99 ms", "TPOT P99 ms", "e2e P99 ms"], rows, numeric=(2, 3, 4, 5),
                  table_id="frontier-table")
    return _section("frontier", "Cost against latency", body)


def _tco(result: dict) -> str:
    """Owning against renting and the API over the years (``planner.lifecycle.tco``): the cumulative
    cash chart, the per-year table and the summary lines of ``planner tco``."""
    from planner.report.tco_report import NAMES, summary_lines

    alternatives = [k for k in ("cloud", "api") if k in result["totals_usd"]]

    def cell(value, kilo=False):
        if value is None:
            return "—"
        return f"{value / 1000:,.1f}" if kilo else usd(float(value))

    rows = [[str(r["year"]), cell(r["capex"]), cell(r["owned_running"]), cell(r["other_spend"]), cell(r["plan_spend"]),
             cell(r["depreciation"]), f"{r['kwh']:,.0f}", cell(r["kg_co2"], kilo=True),
             *[cell(r[f"{k}_spend"]) for k in alternatives]] for r in result["per_year"]]
    caption = (f"Cumulative cash out over {result['years']} year(s): this plan (owned servers bought at month 0, then its "
               "monthly bill) against renting only and the per-token API; where the plan's line falls below another, "
               "owning has paid for itself against it.")
    body = _figure("chart-tco", charts.tco_chart(result), caption)
    body += table(["year", "capex", "owned running", "other spend", "plan total", "depreciation", "kWh", "t CO2",
                   *[NAMES[k] for k in alternatives]], rows, numeric=tuple(range(1, 8 + len(alternatives))), table_id="tco-table")
    body += _list(summary_lines(result))
    return _section("tco", f"Total cost of ownership over {result['years']} years", body)


def _utilisation(plan: Plan) -> str:
    by_region = utilisation_by_region(plan)
    region_note = ("<p class=\"note\">Per cloud region (the plan's placement): the demand it carries in the load split at "
                   "each period's planning rate ÷ its capacity at the SLO (spot derated); with request-size buckets the "
                   "capacity is the whole-mix figure and can be exceeded by a fleet serving chosen buckets.</p>") if by_region else (
                   "<p class=\"note\">The plan records no placement, so utilisation is given per period only.</p>")
    period_note = ("<p class=\"note\">Per period, plan-wide: expected utilisation is the demand the fleet carries at the "
                   "planning rate (demand less what goes to the API) ÷ the fleet's capacity at the SLO; the last column "
                   f"is the required capacity (× {1 + plan.headroom:g}) the fleet must cover ÷ its capacity, at most 100 %.</p>")
    return f"<h3>Utilisation</h3>{region_note}{by_region}{period_note}{utilisation_by_period(plan)}"


def _section(ident: str, heading: str, body: str) -> str:
    return f'<section id="{esc(ident)}"><h2>{esc(heading)}</h2>{body}</section>'


def _figure(ident: str, svg: str, caption: str) -> str:
    return f'<figure id="{esc(ident)}">{svg}<figcaption>{esc(caption)}</figcaption></figure>'


def _from_markdown(lines: list[str]) -> str:
    """The procurement lines (### headings, '- ' items, paragraphs; **bold** dropped) as HTML."""
    out, items = [], []
    for line in lines + [""]:
        text = line.replace("**", "")
        if text.startswith("- "):
            items.append(text[2:])
            continue
        if items:
            out.append(_list(items))
            items = []
        if text.startswith("### "):
            out.append(f"<h3>{esc(text[4:])}</h3>")
        elif text.strip():
            out.append(f"<p>{esc(text)}</p>")
    return "".join(out)


def _list(lines: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{esc(x)}</li>" for x in lines) + "</ul>"

