"""Disaggregated prefill/decode pools (``define_prefill_pools``): hand-computed optima and the
independent check."""

import dataclasses

import numpy as np
import pytest
from milp_helpers import NAN, make_input

from planner.milp import SolverOptions, SolveStatus, check_solution, solve
from planner.milp.build import validate_input
from planner.milp.data import ROLE_DECODE, ROLE_PREFILL, ROLE_WHOLE

SOLVERS = ["highs", "cbc"]


def pools(inp, role, prefill_capacity, members):
    return dataclasses.replace(inp, role=np.array(role), prefill_capacity_rps=np.array(prefill_capacity, float),
                               pool_members=np.array(members, dtype=bool), pool_labels=tuple(f"g{i}" for i in range(len(members))))


def run(inp, solver):
    r = solve(inp, SolverOptions(solver=solver, gap=1e-9, time_limit_s=20))
    assert r.status == SolveStatus.OPTIMAL, r.message
    assert check_solution(inp, r.reserved, r.per_period, r.load_rps, api=r.api_rps) == []
    return r


def units(r, tier="on-demand"):
    return r.per_period[tier][:, 0].tolist()


@pytest.mark.parametrize("solver", SOLVERS)
def test_both_pools_are_sized(solver):
    # 10 req/s. Whole: 4 req/s for 10 USD/h (3 units: 30). Decode 5 req/s for 4 (2 units: 8) needs
    # prefill for 10 prompts/s: one 20-prompts/s unit for 3. Optimum 11 USD/h.
    base = make_input(capacity=[4, 0, 5], prices={"on-demand": [10, 3, 4]}, demand=[[10]])
    inp = pools(base, [ROLE_WHOLE, ROLE_PREFILL, ROLE_DECODE], [0, 20, 0], [[False, True, True]])
    assert validate_input(inp) == []
    r = run(inp, solver)
    assert r.objective_usd == pytest.approx(11.0)
    assert units(r) == [0, 1, 2]


@pytest.mark.parametrize("solver", SOLVERS)
def test_prefill_must_match_decode_capacity(solver):
    # prefill 6 prompts/s for 3: 2 decode units (10 req/s) need 2 prefill units (12): 8 + 6 = 14 < 30
    base = make_input(capacity=[4, 0, 5], prices={"on-demand": [10, 3, 4]}, demand=[[10]])
    r = run(pools(base, [0, 1, 2], [0, 6, 0], [[False, True, True]]), solver)
    assert r.objective_usd == pytest.approx(14.0)
    assert units(r) == [0, 2, 2]


@pytest.mark.parametrize("solver", SOLVERS)
def test_pools_pair_only_within_a_region(solver):
    # the prefill candidate is in another cloud region than the decode one: whole units only (30)
    base = make_input(capacity=[4, 0, 5], prices={"on-demand": [10, 3, 4]}, demand=[[10]])
    r = run(pools(base, [0, 1, 2], [0, 20, 0], [[False, True, False], [False, False, True]]), solver)
    assert r.objective_usd == pytest.approx(30.0)
    assert units(r) == [3, 0, 0]


@pytest.mark.parametrize("solver", SOLVERS)
def test_prefill_spot_does_not_count_for_the_firm_pool(solver):
    # spot share 0.5: after losing spot, 5 req/s must remain, and prefill for it. Decode on demand (4)
    # x2; prefill: spot 1 USD/h, on demand 3 (20 prompts/s). Firm decode 10 needs firm prefill 10:
    # one on-demand prefill unit (3). Without the firm pool rule a spot prefill unit (1) would do.
    base = make_input(capacity=[4, 0, 5], prices={"on-demand": [10, 3, 4], "spot": [NAN, 1, NAN]}, demand=[[10]],
                      max_spot_share=0.5)
    r = run(pools(base, [0, 1, 2], [0, 20, 0], [[False, True, True]]), solver)
    assert r.objective_usd == pytest.approx(11.0)
    assert units(r) == [0, 1, 2] and units(r, "spot") == [0, 0, 0]


def test_min_replicas_count_decode_not_prefill():
    base = make_input(capacity=[4, 0, 5], prices={"on-demand": [10, 3, 4]}, demand=[[1]], min_replicas=2)
    r = run(pools(base, [0, 1, 2], [0, 20, 0], [[False, True, True]]), "highs")
    assert units(r) == [0, 1, 2]  # two decode replicas, one prefill unit for them: 3 + 8
    assert r.objective_usd == pytest.approx(11.0)


def test_check_catches_a_starved_decode_pool():
    base = make_input(capacity=[4, 0, 5], prices={"on-demand": [10, 3, 4]}, demand=[[10]])
    inp = pools(base, [0, 1, 2], [0, 6, 0], [[False, True, True]])
    per_period = {"on-demand": np.array([[0], [1], [2]]), "spot": np.zeros((3, 1))}
    load = np.array([[[0.0], [0.0], [10.0]]])
    errs = check_solution(inp, {}, per_period, load)
    assert any(e.startswith("pool_p0_t0") for e in errs)


def test_invalid_pool_inputs_are_reported():
    base = make_input(capacity=[4, 1, 5], prices={"on-demand": [10, 3, 4]}, demand=[[10]])
    errs = validate_input(pools(base, [0, 1, 2], [0, 0, 0], [[False, True, True]]))
    assert any("prefill_capacity_rps" in e for e in errs)
    errs = validate_input(pools(base, [0, 1, 2], [0, 5, 0], [[False, True, True]]))
    assert any("capacity_rps must be 0" in e for e in errs)


def test_storage_big_m_allows_the_prefill_units_the_pool_rule_needs():
    # decode 20 req/s per unit, prefill 5 prompts/s: min_replicas keeps 2 decode units (40 req/s of
    # capacity for 0.1 req/s of demand), so the pool rule needs 8 prefill units; with an artifact store
    # its big-M must allow them (it once allowed 4: infeasible)
    base = make_input(capacity=[0, 20], prices={"on-demand": [1, 1]}, demand=[[0.1]], min_replicas=2)
    inp = pools(base, [ROLE_PREFILL, ROLE_DECODE], [5, 0], [[True, True]])
    stored = dataclasses.replace(inp, storage_members=np.array([[True, True]]), storage_usd=np.array([0.5]),
                                 storage_labels=("s",))
    r = solve(stored, SolverOptions(solver="highs", gap=1e-9, time_limit_s=20))
    assert r.status == SolveStatus.OPTIMAL, r.message
    assert units(r) == [8, 2]
    assert r.objective_usd == pytest.approx(10.5)
