"""Commitments over time: reserved capacity bought at the start of any month for its term, with
hand-computed optima (months of 730 h)."""

import dataclasses

import numpy as np
import pytest
from milp_helpers import make_input, random_input

from planner.milp import SolverOptions, SolveStatus, check_solution, solve
from planner.milp.check import cost_usd, replicas_in_service
from planner.milp.data import months_of_periods
from planner.milp.stages import solve_in_stages

SOLVERS = ["highs", "cbc"]
MONTH = 730.0
PRICES = {"on-demand": [1.0], "reserved-1y": [0.7]}


def monthly(inp, term=12, months=None):
    """The same input with commitments starting at any month (periods in time order)."""
    month = months_of_periods(inp.period_hours) if months is None else np.asarray(months)
    return dataclasses.replace(inp, period_month=month, term_months={"reserved-1y": term, "reserved-3y": 36, "owned": 60})


def run(inp, solver="highs"):
    r = solve(inp, SolverOptions(solver=solver, gap=1e-9, time_limit_s=30))
    assert r.status == SolveStatus.OPTIMAL, r.message
    assert check_solution(inp, r.reserved, r.per_period, r.load_rps) == []
    assert cost_usd(inp, r.reserved, r.per_period) == pytest.approx(r.objective_usd)
    return r


def test_months_of_periods():
    assert months_of_periods([730, 730, 730]).tolist() == [0, 1, 2]
    assert months_of_periods([365] * 4).tolist() == [0, 0, 1, 1]
    assert months_of_periods([24] * 31).tolist() == [0] * 31  # day 31 starts at 720 h, inside month 0
    assert months_of_periods([24] * 32)[-1] == 1  # day 32 starts at 744 h


@pytest.mark.parametrize("solver", SOLVERS)
def test_growing_demand_is_reserved_month_by_month(solver):
    # need 1, 2, 3, 4 replicas in months 0..3; a 1-year commitment started in month m serves 4 − m
    # months of the horizon: one a month costs 0.7 × 730 × (4 + 3 + 2 + 1) = 5,110 USD
    inp = make_input(capacity=[10], prices=PRICES, demand=[[10, 20, 30, 40]], hours=[MONTH] * 4,
                     tiers=("reserved-1y", "on-demand"))
    r = run(monthly(inp), solver)
    assert r.reserved["reserved-1y"].tolist() == [[1, 1, 1, 1]]
    assert r.per_period["on-demand"].sum() == 0
    assert r.objective_usd == pytest.approx(0.7 * MONTH * 10)
    # bought for the whole horizon instead: 2 reserved + on demand for the rest, 0.7 × 4 × 2 + 3 = 8.6 months
    held = run(inp, solver)
    assert held.reserved["reserved-1y"].tolist() == [2]
    assert held.objective_usd == pytest.approx(8.6 * MONTH)


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_commitment_ends_after_its_term(solver):
    # a 2-month term over 4 months of flat demand: commit in months 0 and 2 (4 months at 0.7)
    inp = monthly(make_input(capacity=[10], prices=PRICES, demand=[[10, 10, 10, 10]], hours=[MONTH] * 4,
                             tiers=("reserved-1y", "on-demand")), term=2)
    r = run(inp, solver)
    assert r.reserved["reserved-1y"].tolist() == [[1, 0, 1, 0]]
    assert r.objective_usd == pytest.approx(0.7 * 4 * MONTH)
    assert replicas_in_service(inp, r.reserved, r.per_period).tolist() == [[1, 1, 1, 1]]


@pytest.mark.parametrize("solver", SOLVERS)
def test_falling_demand_cannot_hand_commitments_back(solver):
    # need 4, 3, 2, 1: a unit committed runs to the end (0.7 × 4 = 2.8 months); it pays for units
    # needed 3 or more months (units 1, 2), on demand for the others (3 + 1 unit-months... 2 + 1)
    inp = monthly(make_input(capacity=[10], prices=PRICES, demand=[[40, 30, 20, 10]], hours=[MONTH] * 4,
                             tiers=("reserved-1y", "on-demand")))
    r = run(inp, solver)
    assert r.reserved["reserved-1y"].tolist() == [[2, 0, 0, 0]]
    assert r.per_period["on-demand"][0].tolist() == [2, 1, 0, 0]
    assert r.objective_usd == pytest.approx((2 * 2.8 + 3) * MONTH)


def test_periods_of_different_months_do_not_merge():
    # equal demand in every period, two periods per month, a 1-month term: one commitment a month
    inp = monthly(make_input(capacity=[10], prices=PRICES, demand=[[10, 10, 10, 10]], hours=[365.0] * 4,
                             tiers=("reserved-1y", "on-demand")), term=1)
    assert inp.period_month.tolist() == [0, 0, 1, 1]
    r = solve_in_stages(inp, SolverOptions(gap=1e-9))
    assert r.status == SolveStatus.OPTIMAL
    assert r.reserved["reserved-1y"].tolist() == [[1, 1]]
    assert r.objective_usd == pytest.approx(0.7 * 1460)
    assert check_solution(inp, r.reserved, r.per_period, r.load_rps) == []


def test_check_solution_catches_a_missing_commitment():
    inp = monthly(make_input(capacity=[10], prices=PRICES, demand=[[10, 20, 30, 40]], hours=[MONTH] * 4,
                             tiers=("reserved-1y", "on-demand")))
    r = run(inp)
    short = {**r.reserved, "reserved-1y": np.array([[1, 1, 1, 0]])}
    errs = check_solution(inp, short, r.per_period, r.load_rps)
    assert any("_t3" in e and "40" in e for e in errs), errs
    flat = {**r.reserved, "reserved-1y": np.array([4])}  # counts held for the horizon where months are asked
    assert any("per start month" in e for e in check_solution(inp, flat, r.per_period, r.load_rps))


@pytest.mark.parametrize("seed", range(6))
def test_one_month_is_the_whole_horizon_model(seed):
    # every period in month 0 and terms beyond it: the same optimum as commitments held for the horizon
    inp = random_input(np.random.default_rng(seed), K=3, U=2, T=4)
    over_time = dataclasses.replace(inp, period_month=np.zeros(4, dtype=np.int64),
                                    term_months={"reserved-1y": 12, "reserved-3y": 36, "owned": 60})
    a, b = run(inp), run(over_time)
    assert b.objective_usd == pytest.approx(a.objective_usd, rel=1e-9)
    assert {t: v.ravel().tolist() for t, v in b.reserved.items()} == {t: v.tolist() for t, v in a.reserved.items()}


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_lead_time_rents_until_the_servers_arrive(solver):
    # owned at 0.4/h from month 2 at the earliest (lead time): months 0 and 1 on demand (2 × 730),
    # then owned for months 2 and 3 (0.4 × 2 × 730)
    inp = make_input(capacity=[10], prices={"on-demand": [1.0], "owned": [0.4]}, demand=[[10, 10, 10, 10]],
                     hours=[MONTH] * 4, tiers=("owned", "on-demand"))
    inp = dataclasses.replace(monthly(inp), earliest_start={"owned": 2})
    r = run(inp, solver)
    assert r.reserved["owned"].tolist() == [[0, 0, 1, 0]]
    assert r.per_period["on-demand"][0].tolist() == [1, 1, 0, 0]
    assert r.objective_usd == pytest.approx((2 + 0.4 * 2) * MONTH)
    early = {**r.reserved, "owned": np.array([[1, 0, 0, 0]])}
    assert any("before month 2" in e for e in check_solution(inp, early, r.per_period, r.load_rps))


def test_a_timeline_starts_its_first_instances():
    # cold starts on a timeline (not a repeating horizon): period 0 starts what it runs
    inp = make_input(capacity=[10], prices={"on-demand": [1.0]}, demand=[[10, 10]], hours=[MONTH] * 2, tiers=("on-demand",))
    inp = dataclasses.replace(inp, cold_start_hours=1.0)
    assert run(inp).objective_usd == pytest.approx(2 * MONTH)  # the horizon repeats: nothing starts
    timeline = run(monthly(inp))
    assert timeline.objective_usd == pytest.approx(2 * MONTH + 1.0)


def test_full_term_pays_the_whole_term():
    # 4 months of flat demand: a 12-month term paid in full (0.7 × 12 = 8.4 months) loses to on demand (4)
    inp = monthly(make_input(capacity=[10], prices=PRICES, demand=[[10, 10, 10, 10]], hours=[MONTH] * 4,
                             tiers=("reserved-1y", "on-demand")))
    assert inp.commitment_paid_hours("reserved-1y").tolist() == [2920.0, 2190.0, 1460.0, 730.0]  # in the horizon
    full = dataclasses.replace(inp, pay_full_term=True)
    assert full.commitment_paid_hours("reserved-1y").tolist() == [8760.0] * 4
    r = run(full)
    assert r.reserved["reserved-1y"].sum() == 0 and r.objective_usd == pytest.approx(4 * MONTH)
    # with periods straddling month starts (24 h), a term is still paid 12 × 730 h
    days = monthly(make_input(capacity=[10], prices=PRICES, demand=[[10] * 100], hours=[24.0] * 100,
                              tiers=("reserved-1y", "on-demand")))
    assert set(dataclasses.replace(days, pay_full_term=True).commitment_paid_hours("reserved-1y")) == {8760.0}


def test_a_term_never_serves_more_than_its_hours_when_periods_straddle_months():
    from planner.milp.data import end_months_of_periods

    hours = [700.0] * 14  # periods straddle month starts: 13 of them would start within 12 months
    inp = make_input(capacity=[10], prices=PRICES, demand=[[10] * 14], hours=hours, tiers=("reserved-1y", "on-demand"))
    inp = dataclasses.replace(monthly(inp), period_end_month=end_months_of_periods(hours))
    served = inp.commitment_cover("reserved-1y").astype(float) @ np.asarray(hours)
    assert served.max() <= 12 * MONTH and served[0] == 12 * 700.0  # periods 0..11 end by hour 8,760; period 12 does not
    r = run(dataclasses.replace(inp, pay_full_term=True))  # the plan re-costs what the solver paid
    assert r.objective_usd == pytest.approx(cost_usd(dataclasses.replace(inp, pay_full_term=True), r.reserved, r.per_period))
