"""Cold starts in the MILP: hand-computed optima, a brute-force oracle with periods coupled through
time, the staged solve (plan without starts first) and the merging of consecutive equal periods."""

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from milp_helpers import assert_matches_oracle, box_size, brute_force_with_starts, make_input, random_input

from planner.milp import SolverOptions, SolveStatus, cost_usd, solve
from planner.milp.check import instance_starts
from planner.milp.stages import merge_identical_periods, solve_in_stages

EXACT = SolverOptions(gap=1e-9, time_limit_s=20)
PRICES = {"on-demand": [1.0], "reserved-1y": [0.8]}


def with_starts(inp, minutes):
    return dataclasses.replace(inp, cold_start_hours=minutes / 60.0)


@pytest.mark.parametrize("minutes, expected, tier", [(0, 1.0, "on-demand"), (30, 1.5, "on-demand"), (60, 1.6, "reserved-1y")])
def test_start_cost_decides_between_on_demand_and_reserved(minutes, expected, tier):
    # one replica needed in the first of two 1-hour periods (the horizon repeats): on-demand costs
    # 1.0 plus one start of L hours at 1.0/h; reserved costs 0.8 × 2 h = 1.6 and never starts
    inp = with_starts(make_input(capacity=[1], prices=PRICES, demand=[[1, 0]]), minutes)
    r = solve(inp, EXACT)
    assert r.status == SolveStatus.OPTIMAL, r.message
    assert r.objective_usd == pytest.approx(expected)
    used = r.reserved["reserved-1y"].sum() if tier == "reserved-1y" else r.per_period["on-demand"].sum()
    assert used == 1


def test_keeping_an_instance_through_a_short_trough_beats_restarting_it():
    # demand 1, 0, 1 over 1-hour periods then a 5-hour idle period: with a 90-minute start, keeping
    # the instance through the 1-hour trough (1.0) beats stopping and restarting it (1.5)
    inp = with_starts(make_input(capacity=[1], prices={"on-demand": [1.0]}, demand=[[1, 0, 1, 0]], hours=[1, 1, 1, 5]), 90)
    r = solve(inp, EXACT)
    assert r.per_period["on-demand"][0].tolist() == [1, 1, 1, 0]
    assert r.objective_usd == pytest.approx(3.0 + 1.5)
    assert instance_starts(r.per_period["on-demand"]).sum() == 1


def test_starts_are_counted_cyclically_and_recosted():
    inp = with_starts(make_input(capacity=[1], prices={"on-demand": [2.0]}, demand=[[2, 1, 3]]), 30)
    r = solve(inp, EXACT)
    assert r.per_period["on-demand"][0].tolist() == [2, 1, 3]  # a start costs 1.0 < keeping one on for an hour (2.0)
    # rises 0→... cyclic: 3→2 (0), 2→1 (0), 1→3 (2): two starts at 0.5 h × 2 USD/h
    assert r.objective_usd == pytest.approx(2 * (2 + 1 + 3) + 2 * 0.5 * 2.0)
    assert cost_usd(inp, r.reserved, r.per_period) == pytest.approx(r.objective_usd)


SETTINGS = settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), K=st.integers(1, 2), U=st.integers(1, 2), T=st.integers(2, 4),
       minutes=st.sampled_from([15, 60, 180]))
def test_highs_matches_the_coupled_brute_force(seed, K, U, T, minutes):
    inp = with_starts(random_input(np.random.default_rng(seed), K, U, T, demand_max=3), minutes)
    B = min(box_size(inp), 4)
    ref = brute_force_with_starts(inp, B)
    assert_matches_oracle(inp, solve(inp, EXACT), ref, B, "the coupled model")
    assert_matches_oracle(inp, solve_in_stages(inp, EXACT), ref, B, "the staged solve")


def test_oracle_counts_starts_on_a_known_case():
    inp = with_starts(make_input(capacity=[1], prices=PRICES, demand=[[1, 0]]), 30)
    assert brute_force_with_starts(inp, 3) == pytest.approx(1.5)


def test_only_consecutive_equal_periods_merge_with_cold_starts():
    inp = with_starts(make_input(capacity=[1], prices={"on-demand": [1.0]}, demand=[[1, 1, 2, 1, 1]]), 30)
    reduced, inverse = merge_identical_periods(inp)
    assert inverse.tolist() == [0, 0, 1, 2, 2]
    assert reduced.period_hours.tolist() == [2, 1, 2]
    plain, inverse = merge_identical_periods(dataclasses.replace(inp, cold_start_hours=0.0))
    assert inverse.tolist() == [0, 0, 1, 0, 0] and plain.period_hours.tolist() == [4, 1]
    # merged runs are exact: the same optimum as the model over every period
    staged = solve_in_stages(inp, EXACT)
    assert staged.objective_usd == pytest.approx(solve(inp, EXACT).objective_usd)
    assert staged.per_period["on-demand"].shape == (1, 5)


def test_staged_solve_reports_the_better_bound_and_why():
    # the plan without starts (on-demand, 1.0 + a start of 1.0) is 20 % off its bound (1.0 + ...):
    # the start-variable solve finds reserved (1.6) and proves it
    inp = with_starts(make_input(capacity=[1], prices=PRICES, demand=[[1, 0]]), 60)
    r = solve_in_stages(inp, EXACT)
    assert r.status == SolveStatus.OPTIMAL and r.objective_usd == pytest.approx(1.6)
    assert r.gap == pytest.approx(0.0, abs=1e-9)
    assert "start variables" in r.options["cold_starts"]
    # with cheap starts the plan without them is within the gap and no second solve runs
    cheap = solve_in_stages(with_starts(make_input(capacity=[1], prices=PRICES, demand=[[1, 0]]), 0.001), SolverOptions(gap=0.01))
    assert cheap.status == SolveStatus.OPTIMAL and "within the gap" in cheap.options["cold_starts"]


def test_a_solve_that_ignores_its_time_limit_is_stopped(monkeypatch):
    import time

    from planner.milp import stages

    def stuck(inp, options, start=None):  # the child runs this (fork): a solver past its limit
        time.sleep(30)

    monkeypatch.setattr(stages, "_merged_solve", stuck)
    monkeypatch.setattr(stages, "DEADLINE_GRACE_S", 0.2)
    inp = with_starts(make_input(capacity=[1], prices=PRICES, demand=[[1, 0]]), 60)
    r = stages.solve_by_deadline(inp, SolverOptions(time_limit_s=0.1), None)
    assert r.status == SolveStatus.LIMIT_NO_SOLUTION and "did not stop at its" in r.message


def test_the_plan_without_starts_stands_when_the_coupled_solve_fails(monkeypatch):
    from planner.milp import stages

    monkeypatch.setattr(stages, "solve_by_deadline", lambda inp, options, start: dataclasses.replace(
        start, status=SolveStatus.LIMIT_NO_SOLUTION, message="stopped", best_bound_usd=None))
    inp = with_starts(make_input(capacity=[1], prices=PRICES, demand=[[1, 0]]), 60)
    r = stages.solve_in_stages(inp, EXACT)
    # the plan without starts (on-demand 1.0) re-costed with its start (1.0); bound 1.0 from its own solve
    assert r.objective_usd == pytest.approx(2.0) and r.best_bound_usd == pytest.approx(1.0)
    assert r.status == SolveStatus.FEASIBLE and r.gap == pytest.approx(0.5)
    assert "stopped" in r.options["cold_starts"]


def test_a_child_that_dies_gives_an_error_result_not_an_exception(monkeypatch):
    import os

    from planner.milp import stages

    monkeypatch.setattr(stages, "_merged_solve", lambda inp, options, start=None: os._exit(3))
    inp = with_starts(make_input(capacity=[1], prices=PRICES, demand=[[1, 0]]), 60)
    r = stages.solve_by_deadline(inp, SolverOptions(time_limit_s=5), None)
    assert r.status == SolveStatus.ERROR and "exit code 3" in r.message
