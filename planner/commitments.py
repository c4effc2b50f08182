"""Commitments over time (``options.commitment_starts: monthly``): the terms, and the independent
check of a plan's purchases that ``planner verify`` runs.

A commitment of a reserved tier (reserved-1y, reserved-3y, owned) starts at the start of any month
m (730 h from the horizon's start) and is in service in every period that starts in months
m … m + term − 1. The MILP chooses how many to start in each month (``planner.milp.build``); the
plan lists them (``Plan.purchases``) and its reserved assignments carry the instances in service per
period. Verify re-derives both from the problem: the months of the periods, the terms, the prices,
the hours each purchase serves, its cost inside the horizon and what its term owes after it.
"""

from __future__ import annotations

import math

import numpy as np

from planner.milp.data import RESERVED_TIERS, TERM_MONTHS, end_months_of_periods, months_of_periods
from planner.plan import Plan
from planner.problem import LoadedProblem
from planner.units import HOURS_PER_MONTH


def term_months(loaded: LoadedProblem) -> dict[str, int]:
    """Months a commitment of each reserved tier lasts: the catalog tiers' terms; owned servers their
    lifetime (options.on_prem.lifetime_years, whole months)."""
    op = loaded.problem.options.on_prem
    return {**TERM_MONTHS, **({} if op is None else {"owned": max(1, round(op.lifetime_years * 12))})}


def lead_weeks(loaded: LoadedProblem) -> dict[str, float]:
    """Weeks from order to service per reserved tier: owned servers' ``lead_time_weeks`` (cloud
    reservations start at once)."""
    op = loaded.problem.options.on_prem
    return {"owned": float(op.lead_time_weeks)} if op is not None and op.lead_time_weeks else {}


def first_starts(loaded: LoadedProblem) -> dict[str, int]:
    """The first month (730 h) a commitment of each tier may start in service: after its lead time
    (an order at the horizon's start arrives then); the months before are served by renting."""
    return {tier: math.ceil(weeks * 7 * 24 / HOURS_PER_MONTH - 1e-9) for tier, weeks in lead_weeks(loaded).items()}


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)


def check_purchases(plan: Plan, loaded: LoadedProblem, hours: np.ndarray, check) -> float:
    """Findings (through ``check(ok, name, message)``) on the plan's calendar and purchases: the
    periods' months; with monthly starts, every purchase's term, month, price, hours and costs, and
    every reserved assignment's instances per period equal to the purchases in service; with
    commitments held for the horizon, no purchase list and constant reserved counts. Returns what
    the plan's total pays after the horizon (options.commitment_cost: full-term; else 0)."""
    hours = np.asarray(hours, dtype=float)
    mode = loaded.problem.options.commitment_starts
    check(plan.commitment_starts == mode, "commitments", f"commitment starts '{plan.commitment_starts}', problem '{mode}'")
    reserved = [a for a in plan.assignments if a.tier in RESERVED_TIERS and len(a.instances_by_period) == len(hours)]
    if mode == "horizon":
        check(not plan.purchases, "commitments", f"{len(plan.purchases)} monthly purchase(s) listed; the problem buys for the horizon")
        for a in reserved:
            n = np.asarray(a.instances_by_period)
            check(np.all(n == n[0]), "reserved", f"{a.candidate_id} [{a.tier}]: reserved count constant over periods "
                  f"({n.min():.0f}..{n.max():.0f})")
        return 0.0
    month, end_month = months_of_periods(hours), end_months_of_periods(hours)
    starts = np.concatenate([[0.0], np.cumsum(hours)[:-1]])  # each period's first hour
    check([p.month for p in plan.periods] == month.tolist(), "commitments", "each period's month is the 730-hour month it starts in")
    terms = term_months(loaded)
    horizon = float(hours.sum())
    in_service: dict[tuple[str, str], np.ndarray] = {}
    tail = 0.0
    for x in plan.purchases:
        label = f"{x.candidate_id} [{x.tier}] from month {x.start_month}"
        if x.tier not in RESERVED_TIERS or x.tier not in terms:
            check(False, "commitments", f"{label}: {x.tier} is not a commitment of this problem")
            continue
        term = terms[x.tier]
        check(x.term_months == term, "commitments", f"{label}: term {x.term_months} months, the tier's is {term}")
        first = first_starts(loaded).get(x.tier, 0)
        check(first <= x.start_month <= int(month.max()) and x.count > 0, "commitments",
              f"{label}: {x.count} instance(s) from a month of the horizon ({first}..{int(month.max())}"
              + (f": {x.tier} arrives {lead_weeks(loaded)[x.tier]:g} weeks after the order)" if first else ")"))
        check(_close(x.lead_time_weeks, lead_weeks(loaded).get(x.tier, 0.0)), "commitments",
              f"{label}: ordered {x.lead_time_weeks:g} weeks ahead, the problem's lead time {lead_weeks(loaded).get(x.tier, 0.0):g}")
        active = (month >= x.start_month) & (end_month < x.start_month + term)  # MilpInput.commitment_cover
        served = float(hours[active].sum())
        check(_close(served, x.hours_in_horizon), "commitments", f"{label}: serves {served:g} h of the horizon, plan {x.hours_in_horizon:g}")
        owner = next((a for a in reserved if (a.candidate_id, a.tier) == (x.candidate_id, x.tier)), None)
        rate = None if owner is None else owner.price_usd_per_instance_hour + owner.platform_fee_usd_per_instance_hour
        check(rate is not None and _close(rate, x.usd_per_instance_hour), "commitments",
              f"{label}: {x.usd_per_instance_hour:.6f} USD/h, its assignment's price + fee {rate if rate is not None else 'missing'}")
        # the rest of the term: after the horizon, or lost where periods straddle a month's start
        after = x.usd_per_instance_hour * x.count * max(term * HOURS_PER_MONTH - served, 0.0)
        first = starts[month >= x.start_month]
        check(first.size > 0 and _close(float(first[0]), x.start_hour), "commitments",
              f"{label}: in service from hour {float(first[0]) if first.size else horizon:g} (its month's first period), plan {x.start_hour:g}")
        check(_close(x.usd_per_instance_hour * x.count * served, x.cost_in_horizon_usd) and _close(after, x.cost_after_horizon_usd),
              "commitments", f"{label}: {x.cost_in_horizon_usd:.4f} USD in the horizon, {x.cost_after_horizon_usd:.4f} after "
              f"(re-costed {x.usd_per_instance_hour * x.count * served:.4f} / {after:.4f})")
        tail += after
        key = (x.candidate_id, x.tier)
        in_service[key] = in_service.get(key, np.zeros(len(hours))) + x.count * active
    for a in reserved:
        expected = in_service.pop((a.candidate_id, a.tier), np.zeros(len(hours)))
        check(np.array_equal(np.asarray(a.instances_by_period, dtype=float), expected), "reserved",
              f"{a.candidate_id} [{a.tier}]: instances by period are the purchases in service")
    for (cid, tier) in in_service:
        check(False, "reserved", f"{cid} [{tier}]: purchases without an assignment")
    return tail if loaded.problem.options.commitment_cost == "full-term" else 0.0
