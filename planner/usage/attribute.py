"""``planner attribute``: usage logs + a plan or a bill → showback per tenant, budgets checked.

Steps: ingest the logs (:mod:`planner.usage.ingest`); the window (the logged hours, or --start/--end);
the fleet cost over it (:mod:`planner.usage.chargeback`: the plan's cost per hour, or the bill's
charges); the token weights (the plan's configurations through the performance model, or stated);
the idle share (1 − the plan's utilisation over the window, or stated); the exact allocation
(:mod:`planner.usage.allocate`); and each budget's pace (:mod:`planner.usage.budgets`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from planner.errors import InputError
from planner.usage.allocate import Allocation, TokenWeights, allocate, equal_token_weights, token_weights
from planner.usage.budgets import Status, check_budgets, elapsed_share, period_bounds, read_budgets
from planner.usage.chargeback import (TokenCosts, fleet_cost_from_bill, fleet_cost_from_plan, plan_token_costs,
                                      plan_utilisation, usage_window)
from planner.usage.ingest import check_group_keys, ingest_usage


@dataclass
class Attribution:
    allocation: Allocation
    weights: TokenWeights
    weights_basis: str  # where the weights come from
    token_costs: TokenCosts | None
    utilisation: float | None
    utilisation_basis: str
    statuses: list[Status] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def alerts(self) -> list[Status]:
        return [s for s in self.statuses if s.alert]


def parse_token_costs(text: str) -> tuple[float, float]:
    """``PREFILL:DECODE`` (any one unit, e.g. USD per million tokens, or 1:6)."""
    parts = str(text).split(":")
    try:
        prefill, decode = (float(p) for p in parts)
    except ValueError:
        raise InputError(f"--token-costs: '{text}' is not PREFILL:DECODE (e.g. 1:6, or the USD per million tokens of each)") from None
    return prefill, decode


def parse_owner(text: str | None, by: tuple[str, ...]):
    """--platform-owner: one name for every group key, or ``team=ads,project=infra``."""
    if text is None or "=" not in text:
        return text
    owner = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        if key.strip() not in by or not value.strip():
            raise InputError(f"--platform-owner: '{part}' is not KEY=NAME with KEY one of --by ({', '.join(by)})")
        owner[key.strip()] = value.strip()
    return owner


def attribute(usage_paths, *, plan_path=None, bill_path=None, catalogs=None, by=("team",), idle_policy="proportional",
              platform_owner=None, utilisation=None, token_costs: str | None = None, equal_tokens: bool = False,
              cached_weight=0.1, start=None, end=None, budgets_path=None, database=None) -> Attribution:
    """The showback of the module docstring. ``database``: a DuckDB file that keeps the requests between
    runs (the logs given are added unless it holds them already; without logs, what it holds)."""
    from planner.plan import read_plan

    by = check_group_keys(by)
    platform_owner = parse_owner(platform_owner, by)
    if plan_path is None and bill_path is None:
        raise InputError("give the fleet's cost: --plan PLAN.json (the planner's cost) or --bill BILL.csv (what was billed)")
    if token_costs is not None and equal_tokens:
        raise InputError("give either --token-costs or --equal-tokens, not both")
    budgets = read_budgets(budgets_path) if budgets_path else None
    plan = read_plan(plan_path) if plan_path else None
    if not usage_paths and database is None:
        raise InputError("give the usage logs (files), or --db a usage database that holds them")
    store = ingest_usage([Path(p) for p in usage_paths], database or ":memory:", skip_loaded=database is not None)
    try:
        if budgets is not None and start is None:
            start = period_bounds(budgets.period, usage_window(store)[0])[0]  # the period to date
        lo, hi = usage_window(store, start, end)
        fleet = fleet_cost_from_bill(bill_path, lo, hi) if bill_path else fleet_cost_from_plan(plan, lo, hi, f"plan {plan.name}")
        totals = store.usage_by(("model",), lo, hi)
        requests = int(totals["requests"].sum())
        notes = []
        costs = None
        if token_costs is not None:
            weights = token_weights(*parse_token_costs(token_costs), cached_weight=cached_weight)
            basis = f"stated: prefill:decode = {token_costs}"
        elif equal_tokens:
            weights, basis = equal_token_weights(cached_weight=cached_weight), "stated: a prefill and a decode token cost the same"
        elif plan is not None:
            if catalogs is None:
                raise InputError("token costs from the plan need the catalogs")
            if requests == 0:
                raise InputError(f"no request between {lo.isoformat()} and {hi.isoformat()}")
            mean_in = float(totals["prompt_tokens"].sum()) / requests
            mean_out = float(totals["completion_tokens"].sum()) / requests
            costs = plan_token_costs(plan, catalogs, mean_in, mean_out)
            weights = costs.weights(cached_weight)
            basis = (f"the plan's configurations through the performance model at the usage's mean lengths "
                     f"({mean_in:,.0f} prompt / {mean_out:,.0f} output tokens)")
        else:
            raise InputError("with --bill alone, say what a token costs: --token-costs PREFILL:DECODE, --equal-tokens, "
                             "or --plan PLAN.json (the performance model at its configurations)")
        if utilisation is not None:
            used, used_basis = float(utilisation), "stated (--utilisation)"
        elif plan is not None:
            used = plan_utilisation(plan, requests, lo, hi)
            used_basis = "requests served ÷ the plan's capacity at the SLO over the window"
        else:
            used, used_basis = None, "not known (a bill without a plan or --utilisation): every dollar counted as used"
        result = allocate(store, fleet, weights, by=by, idle_policy=idle_policy, utilisation=used,
                          platform_owner=platform_owner)
        if result.requests_outside_period:
            notes.append(f"{result.requests_outside_period:,} logged request(s) fall outside the window and are not counted")
        first = store.time_range()[0]
        if first - lo > timedelta(days=1):
            notes.append(f"the logs start {first:%Y-%m-%d %H:%M} UTC, {(first - lo).total_seconds() / 86400:.1f} days after the "
                         "window: the fleet's cost before them goes to the tenants of these logs (give every log of the window, "
                         "or --start)")
        if store.skipped:
            notes.append(f"already in {database}, not loaded again: {', '.join(store.skipped)}")
        last = store.time_range()[1]
        if hi - last > timedelta(days=1):
            notes.append(f"the logs end {last:%Y-%m-%d %H:%M} UTC, {(hi - last).total_seconds() / 86400:.1f} days before the "
                         "window does: its cost after them goes to the tenants of these logs")
        repeated = store.repeated_request_ids()
        if repeated:
            notes.append(f"{repeated:,} request id(s) appear more than once (overlapping or rotated logs?): each row is counted")
        statuses = []
        if budgets is not None:
            elapsed = elapsed_share(budgets, lo, hi)
            spent = {}
            for key in budgets.keys:
                per = result if (key,) == by else allocate(store, fleet, weights, by=(key,), idle_policy=idle_policy,
                                                           utilisation=used, platform_owner=platform_owner)
                t = per.table
                spent[key] = {str(r[key]): (float(r["cost_usd"]), float(r["prompt_tokens"] + r["completion_tokens"]))
                              for r in t.to_dict("records")}
            statuses = check_budgets(budgets, spent, elapsed)
        return Attribution(result, weights, basis, costs, used, used_basis, statuses, notes)
    finally:
        store.close()
