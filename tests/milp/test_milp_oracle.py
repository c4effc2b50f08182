"""solve() against a brute-force enumeration on small random instances, with HiGHS and CBC."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from milp_helpers import assert_matches_oracle, box_size, brute_force, make_input, random_input

from planner.milp import SolverOptions, solve

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning:planner")

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def oracle_instance(seed: int, K: int, U: int, T: int):
    inp = random_input(np.random.default_rng(seed), K, U, T, demand_max=3)
    return inp, min(box_size(inp), 5)


def compare(inp, B, solver):
    ref = brute_force(inp, B)
    r = solve(inp, SolverOptions(solver=solver, gap=1e-9, time_limit_s=20))
    assert_matches_oracle(inp, r, ref, B, solver)
    return r


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), K=st.integers(1, 3), U=st.integers(1, 2), T=st.integers(1, 3))
def test_highs_matches_brute_force(seed, K, U, T):
    compare(*oracle_instance(seed, K, U, T), "highs")


@settings(SETTINGS, max_examples=15)
@given(seed=st.integers(0, 2**32 - 1), K=st.integers(1, 3), U=st.integers(1, 2), T=st.integers(1, 3))
def test_cbc_matches_brute_force(seed, K, U, T):
    compare(*oracle_instance(seed, K, U, T), "cbc")


def test_oracle_itself_on_a_known_case():
    inp = make_input(capacity=[10], prices={"on-demand": [1.0], "reserved-3y": [0.5]}, demand=[[10, 10, 10, 30]])
    assert brute_force(inp, 4) == pytest.approx(4.0)
    r = compare(inp, 4, "highs")
    assert r.objective_usd == pytest.approx(4.0)
