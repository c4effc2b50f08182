"""Text and markdown rendering of ``planner tco`` (the dict of ``planner.lifecycle.tco``)."""

from __future__ import annotations

import math

from planner.report.fmt import usd

NAMES = {"plan": "the plan", "cloud": "renting only (cloud)", "api": "per-token API only"}


def _cell(x, unit: str = "usd") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return usd(x) if unit == "usd" else f"{x:,.0f}"


def render_text(result: dict, markdown: bool = False) -> str:
    years, rate = result["years"], result["discount_rate"]
    out = [f"{'# ' if markdown else ''}Total cost of ownership of {result['problem']} over {years} year(s) "
           f"(discount rate {rate:.1%})", ""]
    plan = result["sides"]["plan"]
    later = plan.get("invested_usd", plan["capex_usd"]) - plan["capex_usd"]  # later purchases and replacements
    out.append(f"the plan: capex {usd(plan['capex_usd'])}" + (f" upfront, {usd(later)} more later (purchases, replacements)" if later > 0 else "")
               + f", then {usd(plan['monthly_usd'])}/month"
               + (f"; owned: {', '.join(plan['fleet'])}" if plan.get("fleet") else "; nothing owned")
               + (f" (bought later, not counted: {', '.join(plan['not_counted'])})" if plan.get("not_counted") else ""))
    for name in ("cloud", "api"):
        if name in result["sides"]:
            out.append(f"{NAMES[name]}: {usd(result['sides'][name]['monthly_usd'])}/month")
    out.append("")
    alternatives = [k for k in ("cloud", "api") if k in result["totals_usd"]]
    head = ["year", "capex", "owned running", "other spend", "plan total", "depreciation", "kWh", "t CO2",
            *[f"{NAMES[k]}" for k in alternatives]]
    rows = [[str(r["year"]), _cell(r["capex"]), _cell(r["owned_running"]), _cell(r["other_spend"]), _cell(r["plan_spend"]),
             _cell(r["depreciation"]), _cell(r["kwh"], "n"),
             "-" if r["kg_co2"] is None or (isinstance(r["kg_co2"], float) and math.isnan(r["kg_co2"])) else f"{r['kg_co2'] / 1000:,.1f}",
             *[_cell(r[f"{k}_spend"]) for k in alternatives]] for r in result["per_year"]]
    if markdown:
        out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]
    else:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
        out += ["  ".join(h.rjust(w) for h, w in zip(head, widths))] + ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    out.append("")
    bullet = "- " if markdown else ""
    out += [bullet + line for line in summary_lines(result)]
    return "\n".join(out) + "\n"


def summary_lines(result: dict) -> list[str]:
    """Totals, NPVs, break-even and ROI against each alternative, energy and CO2, lead time."""
    years, rate = result["years"], result["discount_rate"]
    lines = [f"total over {years} year(s): " + ", ".join(f"{NAMES[k]} {usd(v)}" for k, v in result["totals_usd"].items()),
             f"NPV at {rate:.1%}: " + ", ".join(f"{NAMES[k]} {usd(v)}" for k, v in result["npv_usd"].items())]
    for k in (k for k in ("cloud", "api") if k in result["totals_usd"]):
        month, roi = result["break_even_month"][k], result["roi"][k]
        lines.append(f"against {NAMES[k]}: " + (f"breaks even in month {month}" if month else "no break-even within the horizon")
                     + ("" if roi is None else f"; ROI {roi:+.1%}"))
    if result.get("residual_book_value_usd"):
        lines.append(f"book value of the owned servers after {years} year(s): {usd(result['residual_book_value_usd'])} "
                     "(straight-line; not credited in the totals)")
    if result["energy_kwh"]:
        lines.append(f"energy of owned servers: {result['energy_kwh']:,.0f} kWh"
                     + (f", {result['co2_t']:,.1f} t CO2" if result["co2_t"] is not None else " (no grid intensity for the site)"))
    if result.get("lead_time_weeks"):
        lines.append(f"owned servers take {result['lead_time_weeks']:g} weeks to arrive: rent until then")
    return lines
