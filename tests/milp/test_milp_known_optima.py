"""A hand-computed optimum for each constraint family (and the tier/offer rules)."""

import dataclasses

import numpy as np
import pytest
from milp_helpers import NAN, make_input

from planner.milp import SolverOptions, SolveStatus, check_solution, solve

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning:planner")

SOLVERS = ["highs", "cbc"]
PRICES = {"on-demand": [1.0], "reserved-1y": [0.7], "reserved-3y": [0.5]}


def run(inp, solver):
    r = solve(inp, SolverOptions(solver=solver, gap=1e-9, time_limit_s=20))
    assert r.status == SolveStatus.OPTIMAL, r.message
    assert check_solution(inp, r.reserved, r.per_period, r.load_rps) == []
    return r


@pytest.mark.parametrize("solver", SOLVERS)
def test_reserved_beats_on_demand_for_flat_demand(solver):
    inp = make_input(capacity=[10], prices=PRICES, demand=[[10, 10, 10, 10]])
    r = run(inp, solver)
    assert r.objective_usd == pytest.approx(0.5 * 4)
    assert r.reserved["reserved-3y"].tolist() == [1]
    assert r.per_period["on-demand"].sum() == 0


@pytest.mark.parametrize("solver", SOLVERS)
def test_on_demand_covers_a_spike(solver):
    # base 10 req/s: 1 reserved-3y (2.0); spike to 30 in the last period: 2 on-demand (2.0)
    inp = make_input(capacity=[10], prices=PRICES, demand=[[10, 10, 10, 30]])
    r = run(inp, solver)
    assert r.objective_usd == pytest.approx(4.0)
    assert r.reserved["reserved-3y"].tolist() == [1]
    assert r.per_period["on-demand"][0].tolist() == [0, 0, 0, 2]
    # a lone spike is cheaper on demand than reserving for the whole horizon
    r = run(make_input(capacity=[10], prices=PRICES, demand=[[10, 0, 0, 0]]), solver)
    assert r.objective_usd == pytest.approx(1.0)
    assert r.per_period["on-demand"][0].tolist() == [1, 0, 0, 0]


@pytest.mark.parametrize("solver", SOLVERS)
def test_period_hours_weight_per_period_cost(solver):
    inp = make_input(capacity=[10], prices=PRICES, demand=[[10, 10]], hours=[3.0, 5.0])
    r = run(inp, solver)
    assert r.objective_usd == pytest.approx(0.5 * 8)
    inp = make_input(capacity=[10], prices={"on-demand": [1.0]}, demand=[[10, 20]], hours=[3.0, 5.0])
    assert run(inp, solver).objective_usd == pytest.approx(3 * 1 + 5 * 2)


@pytest.mark.parametrize("solver", SOLVERS)
def test_spot_share_cap_binds(solver):
    prices = {"on-demand": [1.0], "spot": [0.2]}
    free = run(make_input(capacity=[10], prices=prices, demand=[[20]]), solver)
    assert free.objective_usd == pytest.approx(0.4)  # two spot replicas
    capped = run(make_input(capacity=[10], prices=prices, demand=[[20]], max_spot_share=0.5), solver)
    assert capped.objective_usd == pytest.approx(1.2)  # one spot + one on-demand
    assert capped.per_period["spot"].tolist() == [[1]]
    none = run(make_input(capacity=[10], prices=prices, demand=[[20]], max_spot_share=0.0), solver)
    assert none.objective_usd == pytest.approx(2.0)
    assert none.per_period["spot"].sum() == 0


@pytest.mark.parametrize("solver", SOLVERS)
def test_spot_share_weights_by_capacity(solver):
    # spot c0 (cap 10) at most 1/3 of capacity: needs 20 req/s of non-spot (c1: 4 × cap 5)
    inp = make_input(
        capacity=[10, 5], prices={"spot": [0.1, NAN], "on-demand": [NAN, 1.0]}, demand=[[30]], max_spot_share=1 / 3
    )
    r = run(inp, solver)
    assert r.objective_usd == pytest.approx(0.1 + 4 * 1.0)


@pytest.mark.parametrize("solver", SOLVERS)
def test_min_replicas_binds(solver):
    inp = make_input(capacity=[10], prices={"on-demand": [1.0]}, demand=[[5, 0]], min_replicas=3)
    r = run(inp, solver)
    assert r.objective_usd == pytest.approx(6.0)  # 3 replicas in both periods
    assert r.per_period["on-demand"].tolist() == [[3, 3]]


@pytest.mark.parametrize("solver", SOLVERS)
def test_headroom(solver):
    prices = {"on-demand": [1.0]}
    assert run(make_input(capacity=[10], prices=prices, demand=[[10]]), solver).objective_usd == pytest.approx(1.0)
    r = run(make_input(capacity=[10], prices=prices, demand=[[10]], headroom=0.2), solver)
    assert r.objective_usd == pytest.approx(2.0)
    assert r.load_rps.sum() == pytest.approx(12.0, rel=1e-6)


@pytest.mark.parametrize("solver", SOLVERS)
def test_can_serve_restricts(solver):
    inp = make_input(
        capacity=[10, 10],
        prices={"on-demand": [1.0, 5.0]},
        demand=[[10], [10]],
        can_serve=[[True, True], [False, True]],
    )
    r = run(inp, solver)
    # region-1 can only use c1 (5.0); region-0 takes c0 (1.0)
    assert r.objective_usd == pytest.approx(6.0)
    assert r.load_rps[1, 0, 0] == 0.0
    assert r.per_period["on-demand"][:, 0].tolist() == [1, 1]


@pytest.mark.parametrize("solver", SOLVERS)
def test_shared_replica_serves_two_regions(solver):
    inp = make_input(capacity=[10], prices={"on-demand": [1.0]}, demand=[[4], [6]])
    r = run(inp, solver)
    assert r.objective_usd == pytest.approx(1.0)
    assert r.load_rps[:, 0, 0].sum() == pytest.approx(10.0, rel=1e-6)


@pytest.mark.parametrize("solver", SOLVERS)
def test_unoffered_and_disallowed_tiers_are_not_used(solver):
    # reserved-3y priced but not allowed; spot not offered (nan): on-demand + reserved-1y only
    inp = make_input(
        capacity=[10],
        prices={"on-demand": [1.0], "reserved-1y": [0.7], "reserved-3y": [0.1], "spot": [NAN]},
        demand=[[10, 10]],
        tiers=("on-demand", "reserved-1y", "spot"),
    )
    r = run(inp, solver)
    assert r.objective_usd == pytest.approx(1.4)
    assert r.reserved["reserved-3y"].sum() == 0 and r.per_period["spot"].sum() == 0


def test_cheapest_candidate_per_period():
    inp = make_input(capacity=[10, 4], prices={"on-demand": [2.0, 0.7]}, demand=[[8]])
    # c0: 1 × 2.0; c1: 2 × 0.7 = 1.4; mix c0+... 2.0+ -> 1.4 wins
    assert run(inp, "highs").objective_usd == pytest.approx(1.4)


def test_nothing_to_serve_is_free_and_needs_no_solver():
    inp = make_input(capacity=[10], prices={"on-demand": [1.0]}, demand=[[0, 0]])
    r = solve(inp)
    assert r.status == SolveStatus.OPTIMAL and r.objective_usd == 0.0
    assert r.options["backend"] == "none"
    assert r.per_period["on-demand"].shape == (1, 2) and r.load_rps.shape == (1, 1, 2)


def test_quota_moves_load_to_the_dearer_candidate():
    # cheap candidate 0 (1 GPU/unit) is capped at 2 GPUs; the rest must come from candidate 1
    inp = make_input(
        capacity=[10, 10],
        prices={"on-demand": [1.0, 3.0]},
        demand=[[35]],
    )
    inp = dataclasses.replace(inp, gpus_per_replica=np.array([1, 1]), quota_members=np.array([[True, False]]),
                              quota_max_gpus=np.array([2.0]))
    for solver in ("highs", "cbc"):
        r = solve(inp, SolverOptions(solver=solver, gap=1e-9))
        assert r.status == SolveStatus.OPTIMAL
        assert r.per_period["on-demand"][:, 0].tolist() == [2, 2]
        assert r.objective_usd == pytest.approx(2 * 1.0 + 2 * 3.0)
        assert check_solution(inp, r.reserved, r.per_period, r.load_rps) == []


@pytest.mark.parametrize("solver", SOLVERS)
def test_min_regions_buys_a_replica_in_a_second_region(solver):
    # candidates 0 and 1 in region A (cheap), 2 in region B (dear); demand 15 req/s in two periods.
    # One region: 2 x candidate 0 per period (4.0). Two regions: candidate 0 + candidate 2 (1 + 5) per
    # period = 12.0, since one replica of each covers 20 >= 15.
    inp = make_input(capacity=[10, 10, 10], prices={"on-demand": [1.0, 1.5, 5.0]}, demand=[[15, 15]])
    assert run(inp, solver).objective_usd == pytest.approx(4.0)
    ha = dataclasses.replace(inp, min_regions=2, region_members=np.array([[True, True, False], [False, False, True]]),
                             region_labels=("a/a", "b/b"))
    r = run(ha, solver)
    assert r.objective_usd == pytest.approx(12.0)
    assert r.per_period["on-demand"][:, 0].tolist() == [1, 0, 1]
    three = dataclasses.replace(ha, min_regions=3)
    assert solve(three, SolverOptions(solver=solver, gap=1e-9, time_limit_s=20)).status == SolveStatus.INFEASIBLE


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_api_tier_takes_small_demand_and_its_share_cap_binds(solver):
    base = make_input(capacity=[10], prices={"on-demand": [10.0]}, demand=[[1.0]], headroom=0.2)
    api_only = dataclasses.replace(base, api_usd_per_request=1e-4)
    r = solve(api_only, SolverOptions(solver=solver, gap=1e-9))
    assert r.status == SolveStatus.OPTIMAL
    assert r.per_period["on-demand"].sum() == 0
    assert r.api_rps[0, 0] == pytest.approx(1.0)  # the API needs no headroom: 1 req/s, not 1.2
    assert r.objective_usd == pytest.approx(1.0 * 3600 * 1e-4)
    capped = dataclasses.replace(api_only, max_api_share=0.5)
    r = solve(capped, SolverOptions(solver=solver, gap=1e-9))
    assert r.per_period["on-demand"][0, 0] == 1  # the other half needs an instance anyway
    assert r.objective_usd == pytest.approx(10.0 + r.api_rps[0, 0] * 3600 * 1e-4)
    assert check_solution(capped, r.reserved, r.per_period, r.load_rps, api=r.api_rps) == []


@pytest.mark.parametrize("solver", SOLVERS)
def test_artifact_storage_is_paid_once_per_store_used(solver):
    # A is 1 USD/h cheaper over 4 hours but lives in a region whose store costs 10 USD; B's store costs 1
    base = make_input(capacity=[10, 10, 10], prices={"on-demand": [2.0, 3.0, 3.0]}, demand=[[25, 25, 25, 25]])
    stores = np.array([[True, False, False], [False, True, True]])
    inp = dataclasses.replace(base, storage_members=stores, storage_usd=np.array([10.0, 1.0]), storage_labels=("a", "b"))
    r = run(inp, solver)
    # 3 units per hour: all in store b: 3 × 3 × 4 + 1 = 37; all in a: 3 × 2 × 4 + 10 = 34; mixing pays both stores
    assert r.objective_usd == pytest.approx(34.0)
    cheap = dataclasses.replace(inp, storage_usd=np.array([20.0, 1.0]))
    r = run(cheap, solver)
    assert r.objective_usd == pytest.approx(37.0)
    assert r.per_period["on-demand"][0].sum() == 0


@pytest.mark.parametrize("solver", SOLVERS)
def test_spot_counts_for_its_availability(solver):
    base = make_input(capacity=[10], prices={"on-demand": [1.0], "spot": [0.2]}, demand=[[10]])
    assert run(base, solver).objective_usd == pytest.approx(0.2)  # one spot unit
    half = dataclasses.replace(base, spot_availability=np.array([0.5]))
    r = run(half, solver)
    assert r.objective_usd == pytest.approx(0.4) and r.per_period["spot"][0, 0] == 2  # two spot units carry 10 req/s
    poor = dataclasses.replace(base, spot_availability=np.array([0.15]))
    r = run(poor, solver)
    assert r.objective_usd == pytest.approx(1.0) and r.per_period["on-demand"][0, 0] == 1  # 7 spot units would cost 1.4


@pytest.mark.parametrize("solver", SOLVERS)
def test_losing_one_regions_spot_leaves_the_fallback_share(solver):
    base = make_input(capacity=[10, 10], prices={"on-demand": [1.0, 1.0], "spot": [0.2, 0.2]}, demand=[[10]])
    assert run(base, solver).objective_usd == pytest.approx(0.2)
    two = dataclasses.replace(base, spot_region_fallback=0.5, region_members=np.array([[True, False], [False, True]]),
                              region_labels=("g0", "g1"))
    r = run(two, solver)  # one spot unit in each region: losing either leaves 10 >= 5 req/s
    assert r.objective_usd == pytest.approx(0.4) and r.per_period["spot"][:, 0].tolist() == [1, 1]
    one = dataclasses.replace(two, region_members=np.array([[True, True]]), region_labels=("g0",))
    r = run(one, solver)  # all spot in one region: the fallback needs non-spot capacity
    assert r.objective_usd == pytest.approx(1.0)
