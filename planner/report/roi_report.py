"""Text and markdown rendering of ``planner roi`` (the dict of ``planner.roi.roi``)."""

from __future__ import annotations

from planner.report.fmt import usd


def _ms(x) -> str:
    return "-" if x is None else f"{x:,.0f}"


def _side_lines(side: dict) -> list[str]:
    settings = ", ".join(f"{k}={v}" for k, v in side["settings"].items()) or "the problem as given"
    if side["status"] == "infeasible":
        return [f"{side['label']} ({settings}): infeasible: " + "; ".join(side["reason"][:3])]
    lines = [f"{side['label']} ({settings}): {usd(side['monthly_cost_usd'])}/month, "
             f"{usd(side['cost_per_mtok_output_usd'])} per 1M output tokens, {side['peak_gpus']} GPUs at the peak; "
             f"P99 TTFT {_ms(side['ttft_p99_ms_mean'])} ms (worst {_ms(side['ttft_p99_ms_worst'])}), "
             f"TPOT {_ms(side['tpot_p99_ms_mean'])} ms (worst {_ms(side['tpot_p99_ms_worst'])}), "
             f"e2e {_ms(side['e2e_p99_ms_mean'])} ms (worst {_ms(side['e2e_p99_ms_worst'])})"]
    lines += [f"    {f}" for f in side["fleet"]]
    return lines


def render_text(result: dict, markdown: bool = False) -> str:
    bullet = "- " if markdown else ""
    out = [f"{'# ' if markdown else ''}ROI of {result['technique']} for {result['problem']}", ""]
    for key in ("without", "with"):
        lines = _side_lines(result[key])
        out.append(bullet + lines[0])
        out += [("  " if markdown else "") + line for line in lines[1:]]
    out.append("")
    if "saving_usd_per_month" in result:
        out.append(f"{bullet}saving: {usd(result['saving_usd_per_month'])}/month ({result['saving_pct']:.1f} %)")
        if result["engineering_cost_usd"]:
            payback = result["payback_months"]
            out.append(f"{bullet}engineering cost {usd(result['engineering_cost_usd'])}: payback "
                       + ("never" if payback is None else f"{payback:.1f} months")
                       + f"; net over 12 months {usd(result['net_usd_over_12_months'])}")
        change = result["latency_change"]
        out.append(f"{bullet}P99 latency change (load-weighted mean): "
                   + ", ".join(f"{m.upper()} {change[f'{m}_p99_ms_mean_change']:+,.0f} ms"
                               for m in ("ttft", "tpot", "e2e") if change[f"{m}_p99_ms_mean_change"] is not None))
    out.append(f"{bullet}verdict: {result['verdict']}")
    return "\n".join(out) + "\n"
