"""Metamorphic properties (hypothesis), infeasibility diagnosis and time-limited solves."""

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from milp_helpers import NAN, make_input, random_input

from planner.milp import SolverOptions, SolveStatus, check_solution, explain_infeasibility, solve
from planner.milp.data import TIERS

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning:planner")

SETTINGS = settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
EXACT = SolverOptions(gap=1e-9, time_limit_s=20)
sizes = dict(seed=st.integers(0, 2**32 - 1), K=st.integers(1, 4), U=st.integers(1, 2), T=st.integers(1, 4))


def inst(seed, K, U, T):
    return random_input(np.random.default_rng(seed), K, U, T, demand_max=6)


def opt(inp, options=EXACT):
    r = solve(inp, options)
    assert r.status == SolveStatus.OPTIMAL, r.message
    return r.objective_usd


@SETTINGS
@given(**sizes, extra_seed=st.integers(0, 2**32 - 1))
def test_more_demand_never_lowers_cost(seed, K, U, T, extra_seed):
    inp = inst(seed, K, U, T)
    extra = np.random.default_rng(extra_seed).integers(0, 4, size=inp.demand_rps.shape).astype(float)
    more = dataclasses.replace(inp, demand_rps=inp.demand_rps + extra)
    assert opt(more) >= opt(inp) * (1 - 1e-9) - 1e-9


@SETTINGS
@given(**sizes, factor=st.sampled_from([0.25, 0.5, 2.0, 3.7, 100.0]))
def test_scaling_prices_scales_cost(seed, K, U, T, factor):
    inp = inst(seed, K, U, T)
    scaled = dataclasses.replace(inp, price_usd_per_hour={t: p * factor for t, p in inp.price_usd_per_hour.items()})
    assert opt(scaled) == pytest.approx(opt(inp) * factor, rel=1e-6, abs=1e-9)


@SETTINGS
@given(**sizes, perm_seed=st.integers(0, 2**32 - 1))
def test_permuting_candidates_changes_nothing(seed, K, U, T, perm_seed):
    inp = inst(seed, K, U, T)
    perm = np.random.default_rng(perm_seed).permutation(K)
    shuffled = dataclasses.replace(
        inp,
        candidate_ids=tuple(inp.candidate_ids[k] for k in perm),
        capacity_rps=inp.capacity_rps[perm],
        price_usd_per_hour={t: p[perm] for t, p in inp.price_usd_per_hour.items()},
        can_serve=inp.can_serve[:, perm],
    )
    assert opt(shuffled) == pytest.approx(opt(inp), rel=1e-6, abs=1e-9)


@SETTINGS
@given(**sizes, which=st.integers(0, 3), discount=st.sampled_from([0.5, 0.8, 0.99]))
def test_adding_a_cheaper_candidate_never_raises_cost(seed, K, U, T, which, discount):
    inp = inst(seed, K, U, T)
    j = which % K
    richer = dataclasses.replace(
        inp,
        candidate_ids=inp.candidate_ids + ("cheaper",),
        capacity_rps=np.append(inp.capacity_rps, inp.capacity_rps[j]),
        price_usd_per_hour={t: np.append(p, p[j] * discount) for t, p in inp.price_usd_per_hour.items()},
        can_serve=np.concatenate([inp.can_serve, inp.can_serve[:, [j]]], axis=1),
    )
    assert opt(richer) <= opt(inp) * (1 + 1e-9) + 1e-9


@SETTINGS
@given(**sizes, region=st.integers(0, 1), solver=st.sampled_from(["highs", "cbc"]))
def test_infeasible_instance_is_reported_and_explained(seed, K, U, T, region, solver):
    inp = inst(seed, K, U, T)
    u = region % U
    can = inp.can_serve.copy()
    can[u, :] = False  # nobody may serve region u
    demand = inp.demand_rps.copy()
    demand[u, 0] = max(demand[u, 0], 2.0)
    bad = dataclasses.replace(inp, can_serve=can, demand_rps=demand)
    r = solve(bad, dataclasses.replace(EXACT, solver=solver))
    assert r.status == SolveStatus.INFEASIBLE, r.message
    assert not r.has_solution and r.objective_usd is None
    msgs = explain_infeasibility(bad)
    text = "\n".join(msgs)
    name = bad.user_regions[u]
    assert f"user region {name!r}" in text and "no candidate can serve it" in text
    need = demand[u] * (1 + bad.headroom)
    for t in np.flatnonzero(demand[u] > 0):
        assert f"short {need[t]:.1f} req/s for user region {name!r} in period {t} " in text
    # other regions are not blamed
    for v in range(U):
        if v != u:
            assert f"user region {bad.user_regions[v]!r}" not in text


def test_explain_spot_only_with_zero_share():
    inp = make_input(
        capacity=[10, 4],
        prices={"on-demand": [1.0, NAN], "spot": [0.3, 0.1]},
        demand=[[5, 0, 5], [0, 340, 0]],
        can_serve=[[True, False], [False, True]],
        max_spot_share=0.0,
        user_regions=("us-east", "eu-west"),
    )
    assert solve(inp).status == SolveStatus.INFEASIBLE
    msgs = explain_infeasibility(inp)
    assert any("'eu-west'" in m and "only spot" in m and "max_spot_share = 0" in m for m in msgs)
    assert any(m.startswith("short 340.0 req/s for user region 'eu-west' in period 1 (needs 340.0 req/s incl. headroom 0)")
               and "under the spot rule" in m for m in msgs)
    assert not any("us-east" in m for m in msgs)


def test_explain_no_tier_and_min_replicas():
    inp = make_input(capacity=[10], prices={"spot": [0.1]}, demand=[[0, 0]], min_replicas=2, tiers=("on-demand",))
    assert solve(inp).status == SolveStatus.INFEASIBLE
    msgs = explain_infeasibility(inp)
    assert any("no candidate offers an allowed tier" in m for m in msgs)
    assert any("min_replicas = 2" in m for m in msgs)


def test_explain_feasible_instance_is_empty():
    assert explain_infeasibility(inst(1, 3, 2, 3)) == []


def test_explain_caps_lines_per_region():
    inp = make_input(capacity=[10], prices={"on-demand": [1.0]}, demand=[[1.0] * 30], can_serve=[[False]])
    msgs = explain_infeasibility(inp, max_periods_per_region=5)
    assert sum(m.startswith("short ") for m in msgs) == 5
    assert any("25 more period(s)" in m for m in msgs)


def medium(seed: int, K: int = 40, U: int = 3, T: int = 24):
    rng = np.random.default_rng(seed)
    od = rng.uniform(0.5, 5.0, K)
    return make_input(
        capacity=rng.uniform(1, 20, K),
        prices={
            "on-demand": od,
            "spot": np.where(rng.random(K) < 0.6, od * 0.4, NAN),
            "reserved-1y": od * 0.7,
            "reserved-3y": np.where(rng.random(K) < 0.5, od * 0.5, NAN),
        },
        demand=rng.uniform(10, 200, (U, T)) * (1.2 + np.sin(np.arange(T) / T * 2 * np.pi))[None, :],
        can_serve=rng.random((U, K)) < 0.6,
        headroom=0.2,
        max_spot_share=0.3,
        min_replicas=3,
    )


@settings(max_examples=8, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32 - 1),
    limit=st.sampled_from([0.0, 0.001, 0.02, 0.2]),
    solver=st.sampled_from(["highs", "cbc"]),
)
def test_time_limited_solve_never_crashes(seed, limit, solver):
    inp = medium(seed)
    r = solve(inp, SolverOptions(solver=solver, time_limit_s=limit, gap=1e-9))
    assert r.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE, SolveStatus.LIMIT_NO_SOLUTION), r.message
    if r.has_solution:
        assert check_solution(inp, r.reserved, r.per_period, r.load_rps) == []
        if r.status == SolveStatus.FEASIBLE and r.gap is not None:
            assert r.gap > 1e-9  # a limit stop within the requested gap would be OPTIMAL
        if r.best_bound_usd is not None:
            assert r.best_bound_usd <= r.objective_usd * (1 + 1e-9)
    else:
        assert r.objective_usd is None and r.reserved == {}


def test_highs_time_limit_reported_as_feasible_not_optimal():
    # PuLP maps HiGHS' kTimeLimit to "Optimal"; we must not.
    inp = medium(7, K=60, T=48)
    r = solve(inp, SolverOptions(time_limit_s=0.3, gap=1e-9))
    assert r.status in (SolveStatus.FEASIBLE, SolveStatus.LIMIT_NO_SOLUTION, SolveStatus.OPTIMAL)
    if "Time limit" in r.message:
        assert r.status != SolveStatus.OPTIMAL or (r.gap is not None and r.gap <= 1e-9)


def test_every_tier_name_is_known():
    assert set(make_input(capacity=[1], prices={}, demand=[[0]]).price_usd_per_hour) == set(TIERS)
