"""What ``planner attribute`` allocates, and by what: the fleet's cost for the usage window (from a
plan, or from a bill), the relative cost of a prefill and a decode token (from the performance model at
the plan's configurations, or stated), and the fleet's utilisation against the plan's capacity.

Fleet cost from a plan: the plan's cost per hour (its cost over its horizon, ``Plan.in_horizon_usd``) × the window's hours,
split by FOCUS PricingCategory from ``cost_by_tier`` (on-demand and the API → Standard, spot → Dynamic,
reserved and owned → Other: FOCUS's Committed needs a commitment discount id; costs that are not an
instance tier, such as storage and egress, → Standard). It is the plan's mean cost per hour over its
horizon, whatever part of a timeline (a growing demand) the window falls in. From a bill: the rows whose charge period overlaps the window, each prorated by the
share of its period inside the window.

Token costs: for every configuration the plan runs (GPU, tensor parallelism, precision, KV precision,
max batch), the performance model (``planner estimate``, scenario fixed_batch at the batch the KV cache
holds at the usage's mean lengths, at most the configuration's) gives the time of a prefill token (a
batch of prompts of the usage's mean length prefilled together, ÷ batch × prompt) and of a decode token
(one decode step of the batch ÷ batch), priced at the replica's price per hour. The fleet's figure is
their mean weighted by the load each configuration carries in the plan (load × hours); in a
disaggregated plan prompt tokens are priced on the prefill pool and output tokens on the decode pool. Only the ratio matters to the allocation; the absolute
figures (USD per million tokens at full batch) are reported for reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from planner.catalog import Catalogs
from planner.errors import InputError, read_csv_text
from planner.plan import Plan
from planner.usage.allocate import PRICING_CATEGORIES, FleetCost, TokenWeights, _utc, token_weights
from planner.usage.focus import TIER_PRICING_CATEGORY
from planner.usage.ingest import UsageStore, _did_you_mean

CENT = Decimal("0.01")
_BILL_COST = ("BilledCost", "cost_usd", "cost")
_BILL_START = ("ChargePeriodStart", "start")
_BILL_END = ("ChargePeriodEnd", "end")
_BILL_CATEGORY = ("PricingCategory", "pricing_category", "tier")


def usage_window(store: UsageStore, start=None, end=None) -> tuple[datetime, datetime]:
    """The window to allocate over: ``start``/``end`` when given (UTC), else whole hours around the
    logged requests: from the hour of the first to the end of the hour of the last."""
    span = store.time_range()
    if span is None:
        raise InputError("usage: no request in the files")
    lo = _utc(start, "--start") if start is not None else span[0].replace(minute=0, second=0, microsecond=0)
    hi = _utc(end, "--end") if end is not None else span[1].replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    if not lo < hi:
        raise InputError(f"--start {lo.isoformat()} is not before --end {hi.isoformat()}")
    return lo, hi


def _hours(start: datetime, end: datetime) -> Decimal:
    return Decimal((end - start).total_seconds()) / Decimal(3600)


def _split_to_cents(parts: dict[str, Decimal], total: Decimal) -> dict[str, Decimal]:
    """``parts`` rounded to cents, the rounding put on the largest so that they sum to ``total``."""
    out = {k: v.quantize(CENT) for k, v in parts.items() if v > 0}
    if not out:
        return {"Standard": total}
    largest = max(out, key=lambda k: (out[k], k))
    out[largest] += total - sum(out.values())
    return out


def fleet_cost_from_plan(plan: Plan, start: datetime, end: datetime, source: str) -> FleetCost:
    """The plan's cost over [start, end): its cost per hour × the hours, by pricing category."""
    per_hour = Decimal(repr(plan.in_horizon_usd)) / Decimal(repr(plan.horizon_hours))
    hours = _hours(start, end)
    total = (per_hour * hours).quantize(CENT)
    parts: dict[str, Decimal] = {}
    for tier, cost in plan.cost_by_tier.items():
        category = TIER_PRICING_CATEGORY.get(tier, "Other")
        parts[category] = parts.get(category, Decimal(0)) + Decimal(repr(cost))
    parts["Standard"] = parts.get("Standard", Decimal(0)) + Decimal(repr(plan.in_horizon_usd)) - sum(
        (Decimal(repr(v)) for v in plan.cost_by_tier.values()), Decimal(0))
    scale = hours / Decimal(repr(plan.horizon_hours))
    return FleetCost(total, start, end, source, _split_to_cents({k: v * scale for k, v in parts.items()}, total))


def _column(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in frame.columns}
    return next((lower[n.lower()] for n in names if n.lower() in lower), None)


def fleet_cost_from_bill(path: str | Path, start: datetime, end: datetime) -> FleetCost:
    """The bill's cost over [start, end): a CSV with a cost column (FOCUS ``BilledCost``, or
    ``cost_usd``/``cost``), optionally its charge period (``ChargePeriodStart``/``ChargePeriodEnd`` or
    ``start``/``end``; without them every row is for the window) and a pricing category
    (``PricingCategory``, or a planner ``tier``). A row overlapping the window counts for the share of its
    period inside it. Every problem is one line ``FILE:LINE: column: what``."""
    path = Path(path)
    frame = read_csv_text(path, "the bill as CSV")
    cost_col, start_col, end_col = (_column(frame, n) for n in (_BILL_COST, _BILL_START, _BILL_END))
    category_col = _column(frame, _BILL_CATEGORY)
    if cost_col is None:
        raise InputError(f"{path}: no cost column (one of {', '.join(_BILL_COST)}); it has {', '.join(frame.columns)}")
    if (start_col is None) != (end_col is None):
        raise InputError(f"{path}: give both charge period columns ({_BILL_START[0]}, {_BILL_END[0]}) or neither")
    problems: list[str] = []
    parts: dict[str, Decimal] = {}
    window = (end - start).total_seconds()
    for i, row in enumerate(frame.to_dict("records")):
        where = f"{path}:{i + 2}"
        try:
            cost = Decimal(row[cost_col].strip())
            if not cost.is_finite():
                raise ValueError
        except (ValueError, ArithmeticError):
            problems.append(f"{where}: {cost_col}: '{row[cost_col]}' is not a number")
            continue
        share = Decimal(1)
        if start_col is not None:
            try:
                lo, hi = _utc(row[start_col].strip(), start_col), _utc(row[end_col].strip(), end_col)
            except InputError as exc:
                problems.append(f"{where}: {exc.messages[0]}")
                continue
            if not lo < hi:
                problems.append(f"{where}: {start_col} {row[start_col]} is not before {end_col} {row[end_col]}")
                continue
            inside = (min(hi, end) - max(lo, start)).total_seconds()
            share = Decimal(max(inside, 0.0)) / Decimal((hi - lo).total_seconds())
        if share <= 0:
            continue
        raw = row[category_col].strip() if category_col else ""
        category = TIER_PRICING_CATEGORY.get(raw, raw) or "Standard"
        if category not in PRICING_CATEGORIES:
            problems.append(f"{where}: {category_col}: '{raw}' is not a FOCUS pricing category ({', '.join(PRICING_CATEGORIES)}) "
                            f"or a planner tier{_did_you_mean(raw, PRICING_CATEGORIES + tuple(TIER_PRICING_CATEGORY))}")
            continue
        parts[category] = parts.get(category, Decimal(0)) + cost * share
    if problems:
        raise InputError(problems)
    total = sum(parts.values(), Decimal(0)).quantize(CENT)
    if not parts or window <= 0:
        raise InputError(f"{path}: no charge between {start.isoformat()} and {end.isoformat()}")
    negative = [f"{path}: {k}: {v.quantize(CENT)} USD in the window: credits exceed charges" for k, v in parts.items() if v < 0]
    if negative:
        raise InputError(negative)
    return FleetCost(total, start, end, f"bill {path.name}", _split_to_cents(parts, total))


@dataclass(frozen=True)
class TokenCosts:
    """USD per million prefill and decode tokens at full batch (the fleet's load-weighted mean) and how
    each configuration contributes."""

    prefill_usd_per_mtok: float
    decode_usd_per_mtok: float
    lines: list[str]

    def weights(self, cached_weight) -> TokenWeights:
        return token_weights(self.prefill_usd_per_mtok, self.decode_usd_per_mtok, cached_weight=cached_weight)


def plan_token_costs(plan: Plan, catalogs: Catalogs, mean_input: float, mean_output: float) -> TokenCosts:
    """Prefill and decode token costs of the plan's configurations (module docstring). In a
    disaggregated plan the prefill pool prices the prompt tokens and the decode pool the output tokens."""
    from planner.estimate import estimate_rows

    hours = np.array([p.hours for p in plan.periods])
    configs: dict[tuple, dict] = {}
    for a in plan.assignments:
        if not any(a.instances_by_period):
            continue
        key = (a.gpu, a.tp, a.precision, a.kv_precision, a.max_batch)
        c = configs.setdefault(key, {"roles": set(), "usd_s": [], "weights": []})
        c["roles"].add(a.role)
        # what it serves over the horizon: its load (a prefill pool's: the prompts it prefills)
        c["usd_s"].append(a.price_usd_per_replica_hour / 3600.0)
        c["weights"].append(max(float(np.dot(a.load_rps_by_period, hours)) if a.load_rps_by_period else 0.0, 1e-12))
    if not configs:
        raise InputError("the plan runs no instance: give --token-costs PREFILL:DECODE")
    base = dict(model=plan.model, pp=1, engine_family=plan.engine, scenario="fixed_batch", input_len=round(mean_input))
    decode_rows = [{**base, "gpu": k[0], "num_gpus": k[1], "tp": k[1], "precision": k[2], "kv_precision": k[3],
                    "output_len": max(round(mean_output), 2), "concurrency": k[4]} for k in configs]
    first = estimate_rows(pd.DataFrame(decode_rows), catalogs)
    # the batch the KV cache holds at these lengths (at most the configuration's): prefill and decode both
    # run a full batch, so that a prompt token and an output token are priced at the same occupancy
    held = [max(int(min(row["concurrency"], float(e["max_concurrency"]) if e["fits"] else row["concurrency"])), 1)
            for row, (_, e) in zip(decode_rows, first.iterrows())]
    rows = []
    for row, b in zip(decode_rows, held):
        rows += [{**row, "output_len": 1, "concurrency": b}, {**row, "concurrency": b}]
    est = estimate_rows(pd.DataFrame(rows), catalogs)
    prefill, decode, lines = [], [], []
    for j, (key, c) in enumerate(configs.items()):
        pre, dec, batch = est.iloc[2 * j], est.iloc[2 * j + 1], held[j]
        if not (pre["fits"] and dec["fits"]):
            raise InputError(f"the performance model cannot run {key[0]} tp={key[1]} {key[2]} at the usage's mean lengths "
                             f"({mean_input:.0f}/{mean_output:.0f} tokens): {pre['error'] or dec['error']}; give --token-costs")
        usd_s = float(np.average(c["usd_s"], weights=c["weights"]))  # one replica's price per second
        weight = float(sum(c["weights"]))
        p_s = float(pre["ttft_ms"]) / 1000.0 / (batch * mean_input)  # a batch of prompts prefilled together
        d_s = float(dec["tpot_ms"]) / 1000.0 / batch  # one decode step advances the whole batch
        if c["roles"] & {"whole", "prefill"}:
            prefill.append((usd_s * p_s * 1e6, weight))
        if c["roles"] & {"whole", "decode"}:
            decode.append((usd_s * d_s * 1e6, weight))
        lines.append(f"{key[0]} tp={key[1]} {key[2]}/{key[3]} batch {batch} ({', '.join(sorted(c['roles']))}): "
                     f"prefill {p_s * 1e6:.1f} µs/token, decode {d_s * 1e6:.1f} µs/token at {usd_s * 3600:.4g} USD/replica-hour: "
                     f"{usd_s * p_s * 1e6:.4g} / {usd_s * d_s * 1e6:.4g} USD per million tokens")

    def mean(pairs):
        return float(np.average([v for v, _ in pairs], weights=[w for _, w in pairs]))

    return TokenCosts(mean(prefill), mean(decode), lines)


def plan_utilisation(plan: Plan, requests: int, start: datetime, end: datetime) -> float:
    """Requests served in the window ÷ what the plan's fleet sustains at the SLO over it (its mean
    capacity per hour, hours-weighted over its periods), at most 1."""
    hours = np.array([p.hours for p in plan.periods])
    capacity_rps = float(np.dot([p.capacity_rps for p in plan.periods], hours) / hours.sum())
    if capacity_rps <= 0:
        return 1.0  # an API-only plan: nothing idles
    window_s = (end - start).total_seconds()
    return float(min(1.0, requests / (capacity_rps * window_s)))


