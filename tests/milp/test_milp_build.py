"""Model construction: names, determinism, --dump-lp, input errors."""

import numpy as np
import pytest
from milp_helpers import NAN, make_input, random_input

from planner.milp import SolverOptions, SolveStatus, build_model, solve, write_lp
from planner.milp.solve import _parse_cbc_log

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning:planner")


def small():
    return make_input(
        capacity=[10, 4],
        prices={"on-demand": [1.0, 0.3], "spot": [0.3, NAN], "reserved-3y": [0.5, NAN]},
        demand=[[5, 20, 0], [0, 3, 1]],
        can_serve=[[True, True], [False, True]],
        headroom=0.1,
        max_spot_share=0.5,
        min_replicas=2,
    )


def test_rows_are_named_by_family():
    prob, idx = build_model(small())
    names = set(prob.get_constraint_by_name(n).name for fam in idx.rows.values() for n in fam)
    # user 0 may use candidates {0, 1}, user 1 only {1}: coverage sets {1} (mask 2) and {0, 1} (mask 3);
    # {0} alone has the same neighbourhood as {0, 1} and is dominated by it
    assert {"demand_s3_t0", "demand_s3_t1", "demand_s2_t1", "demand_s2_t2", "demand_s3_t2"} <= names
    assert "demand_s2_t0" not in names and "demand_s1_t0" not in names  # zero demand / dominated: no row
    assert {"spot_share_s3_t0", "spot_share_s2_t2", "min_replicas_t2"} <= names
    assert set(idx.rows) == {"demand", "spot_share", "min_replicas"}
    assert all(len(n) <= 40 for n in names)


def test_variables_only_where_offered():
    _, idx = build_model(small())
    assert set(idx.reserved["reserved-3y"]) == {(0, 0)}
    assert idx.reserved["reserved-1y"] == {}
    assert {k for k, _ in idx.per_period["spot"]} == {0}
    assert all(v.cat == "Integer" for v in idx.integer_vars())


def test_write_lp_is_deterministic(tmp_path):
    inp = random_input(np.random.default_rng(3), 3, 2, 3)
    a, b = write_lp(inp, tmp_path / "a.lp"), write_lp(inp, tmp_path / "b.lp")
    text = a.read_text()
    assert text == b.read_text()
    assert "Subject To" in text and "demand_s" in text


def test_invalid_input_is_an_error_result_not_an_exception():
    bad = make_input(capacity=[0.0], prices={"on-demand": [-1.0]}, demand=[[-1.0]])
    r = solve(bad)
    assert r.status == SolveStatus.ERROR
    assert "capacity_rps" in r.message and "demand_rps" in r.message and "price" in r.message
    with pytest.raises(ValueError):
        build_model(bad)


def test_unknown_solver():
    r = solve(small(), SolverOptions(solver="gurobi"))
    assert r.status == SolveStatus.ERROR and "unknown solver" in r.message


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_effective_options_are_recorded(solver):
    r = solve(small(), SolverOptions(solver=solver, time_limit_s=7, gap=1e-3, seed=5))
    assert r.status == SolveStatus.OPTIMAL
    assert r.options["time_limit_s"] == 7 and r.options["gap"] == 1e-3 and r.options["threads"] == 1
    assert r.options["seed"] == 5 and r.options["backend"]
    if solver == "highs":
        assert r.options["random_seed"] == 5 and r.gap is not None and r.gap <= 1e-3
        assert r.best_bound_usd <= r.objective_usd + 1e-9
    else:
        assert r.options["randomCbcSeed"] == 6


def test_same_answer_twice():
    inp = random_input(np.random.default_rng(11), 3, 2, 3)
    a, b = solve(inp), solve(inp)
    assert a.objective_usd == b.objective_usd
    for tier in a.per_period:
        assert np.array_equal(a.per_period[tier], b.per_period[tier])


def test_parse_cbc_log():
    log = """Result - Stopped on time limit

Objective value:                16068.00000000
Lower bound:                    15811.616
Gap:                            0.02
"""
    out = _parse_cbc_log(log)
    assert out["objective"] == 16068.0 and out["bound"] == 15811.616 and out["result"] == "Stopped on time limit"
    assert _parse_cbc_log("Result - Stopped on time limit\n\nNo feasible solution found\nLower bound: 5.5\n") == {
        "bound": 5.5,
        "result": "Stopped on time limit",
    }
