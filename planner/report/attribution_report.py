"""``planner attribute`` output: the showback table (text, JSON, CSV) and the FOCUS chargeback export."""

from __future__ import annotations

import io
import json

from planner.usage.attribute import Attribution
from planner.usage.focus import focus_problems, focus_table


def _cents(x: float) -> str:
    """Dollars and cents always: the showback adds up to the cent, and should be seen to."""
    return f"-${-x:,.2f}" if x < 0 else f"${x:,.2f}"


FORMATS = ("table", "json", "csv", "focus", "focus-json")
_COLUMNS = ["requests", "prompt_tokens", "completion_tokens", "cached_tokens", "weighted_tokens", "usage_usd", "idle_usd",
            "cost_usd", "share", "cost_per_million_tokens"]


def _period(a: Attribution) -> str:
    f = a.allocation.fleet
    hours = (f.end - f.start).total_seconds() / 3600
    return f"{f.start:%Y-%m-%d %H:%M} to {f.end:%Y-%m-%d %H:%M} UTC ({hours:,.1f} h)"


def summary(a: Attribution) -> dict:
    """JSON-ready: the window, the fleet cost and its basis, the weights, the idle share, the rows, the budgets."""
    r = a.allocation
    rows = []
    for rec in r.table[list(r.by) + _COLUMNS].to_dict("records"):
        rows.append({k: (None if isinstance(v, float) and v != v else (v.item() if hasattr(v, "item") else v)) for k, v in rec.items()})
    prefill, cached, decode = a.weights.integer_coefficients()
    return {
        "by": list(r.by), "window": {"start": r.fleet.start.isoformat(), "end": r.fleet.end.isoformat()},
        "fleet_cost_usd": float(r.total_usd), "source": r.fleet.source,
        "by_pricing_category": {k: float(v) for k, v in (r.fleet.by_pricing_category or {}).items()},
        "token_weights": {"prefill": 1.0, "cached_prefill": cached / prefill, "decode": decode / prefill, "basis": a.weights_basis,
                          **({"prefill_usd_per_mtok": a.token_costs.prefill_usd_per_mtok,
                              "decode_usd_per_mtok": a.token_costs.decode_usd_per_mtok,
                              "configurations": a.token_costs.lines} if a.token_costs else {})},
        "utilisation": a.utilisation, "utilisation_basis": a.utilisation_basis,
        "idle_usd": float(r.idle_usd), "idle_policy": r.idle_policy,
        "rows": rows, "allocated_usd": float(r.usd(int(r.table["cost_units"].sum()))),
        "budgets": [{"key": s.budget.key, "value": s.budget.value, "limit": s.what, "used": s.used, "budget": s.limit,
                     "elapsed": s.elapsed, "projected": s.projected, "alert": s.alert, "line": s.line()} for s in a.statuses],
        "notes": a.notes,
    }


def render(a: Attribution, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(summary(a), indent=2) + "\n"
    if fmt == "csv":
        t = a.allocation.table[list(a.allocation.by) + _COLUMNS]
        return t.to_csv(index=False, lineterminator="\n")
    if fmt in ("focus", "focus-json"):
        table = focus_table(a.allocation)
        problems = focus_problems(table)
        if problems:  # our own export must pass our own check: a bug, not the user's input
            raise RuntimeError("FOCUS export fails its own check: " + "; ".join(problems[:3]))
        if fmt == "focus":
            buffer = io.StringIO()
            table.to_csv(buffer, index=False, lineterminator="\n")
            return buffer.getvalue()
        from planner.usage.focus import focus_records

        return json.dumps(focus_records(table), indent=1) + "\n"
    return _text(a)


def _text(a: Attribution) -> str:
    r = a.allocation
    prefill, cached, decode = a.weights.integer_coefficients()
    lines = [f"Showback by {', '.join(r.by)}: {_cents(float(r.total_usd))} ({r.fleet.source}) over {_period(a)}",
             f"token weights: prefill 1, cached prompt {cached / prefill:.3g}, decode {decode / prefill:.3g} ({a.weights_basis})"]
    if a.token_costs:
        lines += [f"  {x}" for x in a.token_costs.lines]
    if a.utilisation is not None:
        lines.append(f"idle: {_cents(float(r.idle_usd))} ({1 - a.utilisation:.1%} of the cost; utilisation {a.utilisation:.1%}: "
                     f"{a.utilisation_basis}), allocated {r.idle_policy}")
    else:
        lines.append(f"idle: {a.utilisation_basis}")
    if r.fleet.by_pricing_category:
        lines.append("by pricing category: " + ", ".join(f"{k} {_cents(float(v))}" for k, v in r.fleet.by_pricing_category.items()))
    lines.append("")
    head = list(r.by) + ["requests", "tokens", "cached", "cost", "idle", "share", "USD/Mtok"]
    body = []
    for rec in r.table.to_dict("records"):
        per = rec["cost_per_million_tokens"]
        body.append([str(rec[k]) for k in r.by] + [f"{rec['requests']:,}", f"{rec['prompt_tokens'] + rec['completion_tokens']:,}",
                     f"{rec['cached_tokens']:,}", _cents(rec["cost_usd"]), _cents(rec["idle_usd"]), f"{rec['share']:.1%}",
                     "–" if per != per else f"{per:,.2f}"])
    total = int(r.table["cost_units"].sum())
    body.append(["total"] + [""] * (len(r.by) - 1) + [f"{int(r.table['requests'].sum()):,}",
                 f"{int((r.table['prompt_tokens'] + r.table['completion_tokens']).sum()):,}", f"{int(r.table['cached_tokens'].sum()):,}",
                 _cents(float(r.usd(total))), _cents(float(r.idle_usd)), "100.0%", ""])
    widths = [max(len(row[i]) for row in [head] + body) for i in range(len(head))]
    for row in [head] + body:
        lines.append("  ".join(c.ljust(w) if i < len(r.by) else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    if a.statuses:
        lines += ["", "budgets:"] + [("! " if s.alert else "  ") + s.line() for s in a.statuses]
    lines += [f"note: {n}" for n in a.notes]
    return "\n".join(lines) + "\n"
