"""Request-size buckets (Mélange-style): a hand-computed optimum, a brute-force oracle whose
feasibility test is an independently written load-form LP, and the property that buckets never make
a plan dearer than serving the whole mix."""

import dataclasses
import itertools
import math

import numpy as np
import pulp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from milp_helpers import NAN, make_input

from planner.milp import SolverOptions, SolveStatus, check_solution, cost_usd, solve
from planner.milp.build import build_model

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning:planner")

SETTINGS = settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def with_buckets(inp, share, bucket_cap, mix_cap=None):
    return dataclasses.replace(inp, bucket_share=np.asarray(share, dtype=float),
                               bucket_capacity_rps=np.asarray(bucket_cap, dtype=float),
                               mix_capacity_rps=None if mix_cap is None else np.asarray(mix_cap, dtype=float),
                               bucket_labels=tuple(f"b{b}" for b in range(len(share))))


def run(inp, solver="highs"):
    r = solve(inp, SolverOptions(solver=solver, gap=1e-9, time_limit_s=20))
    assert r.status == SolveStatus.OPTIMAL, r.message
    assert check_solution(inp, r.reserved, r.per_period, r.bucket_load_rps, api=r.api_rps,
                          split=r.class_units, fallback=r.fallback_units) == []
    assert r.objective_usd == pytest.approx(cost_usd(inp, r.reserved, r.per_period, r.api_rps), rel=1e-9)
    return r


def short_and_long():
    """A small GPU serves short requests only (10 req/s); a big one short (10) and long (5) requests.
    80 % of 10 req/s are short: 8 short + 2 long. The big GPU serves the whole mix at
    1 / (0.8/10 + 0.2/5) = 8.33 req/s."""
    base = make_input(capacity=[1.0, 8.0 + 1.0 / 3.0], prices={"on-demand": [1.0, 3.0]}, demand=[[10.0]])
    return with_buckets(base, [0.8, 0.2], [[10.0, 0.0], [10.0, 5.0]], mix_cap=[0.0, 1.0 / (0.8 / 10 + 0.2 / 5)])


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_short_requests_go_to_the_small_gpu(solver):
    # the long 2 req/s take 0.4 of a big GPU, whose other 0.6 serves 6 short; the last 2 short need
    # one small GPU: 1 big + 1 small = 4 USD (two big GPUs on the whole mix would cost 6)
    r = run(short_and_long(), solver)
    assert r.objective_usd == pytest.approx(4.0)
    assert r.per_period["on-demand"][:, 0].tolist() == [1, 1]
    assert r.bucket_load_rps[0, 1, 1, 0] == pytest.approx(2.0, rel=1e-6)  # the long requests all on the big GPU
    assert r.bucket_load_rps[0, 0, 1, 0] == 0.0


def test_the_whole_mix_class_keeps_the_plan_without_buckets():
    # a candidate that misses the SLO on the long bucket alone can still serve the mix as it comes
    base = make_input(capacity=[10.0], prices={"on-demand": [1.0]}, demand=[[9.0]])
    inp = with_buckets(base, [0.9, 0.1], [[12.0, 0.0]], mix_cap=[10.0])
    r = run(inp)
    assert r.objective_usd == pytest.approx(1.0)
    # the long 0.9 req/s can only ride on the whole mix: 9 req/s of mix = 0.9 of the unit
    assert r.class_units[0, 2, 0] == pytest.approx(0.9, rel=1e-6)


def test_a_bucket_nobody_serves_is_named():
    from planner.milp.diagnose import explain_infeasibility

    base = make_input(capacity=[1.0], prices={"on-demand": [1.0]}, demand=[[5.0]])
    inp = with_buckets(base, [0.7, 0.3], [[10.0, 0.0]], mix_cap=[0.0])
    assert solve(inp).status == SolveStatus.INFEASIBLE
    text = "\n".join(explain_infeasibility(inp))
    assert "size bucket 'b1'" in text and "30.0% of requests" in text


def test_spot_rule_holds_per_bucket():
    # spot is cheap but at most half may rest on it: the non-spot units must still carry half of each bucket
    base = make_input(capacity=[1.0, 1.0], prices={"on-demand": [1.0, 3.0], "spot": [0.2, 0.6]}, demand=[[10.0]],
                      max_spot_share=0.5)
    inp = with_buckets(base, [0.8, 0.2], [[10.0, 0.0], [10.0, 5.0]], mix_cap=[0.0, 1.0 / (0.8 / 10 + 0.2 / 5)])
    r = run(inp)
    assert r.fallback_units is not None
    assert brute_force_buckets(inp, 3) == pytest.approx(r.objective_usd, rel=1e-6)


# --------------------------------------------------------------------------------------------------
# oracle: enumerate integer on-demand/spot units per period; feasibility by a load-form LP written
# here (x_{u,k,j,b} load per user region, candidate, class and bucket), not by the planner's Hall rows


def _feasible(inp, t: int, n: np.ndarray, s: np.ndarray) -> bool:
    share = np.asarray(inp.bucket_share, dtype=float)
    B = share.size
    cap = np.concatenate([np.asarray(inp.bucket_capacity_rps, dtype=float), np.asarray(inp.mix_capacity_rps, dtype=float)[:, None]], axis=1)
    need = np.asarray(inp.demand_rps, dtype=float)[:, t] * (1 + inp.headroom)
    cs = np.asarray(inp.can_serve, dtype=bool)
    U, K = cs.shape
    cases = [(n, 1.0)]
    if inp.max_spot_share < 1 and np.isfinite(np.asarray(inp.price_usd_per_hour["spot"], dtype=float)).any():
        cases.append((n - s, 1.0 - inp.max_spot_share))
    for units, part in cases:
        lp = pulp.LpProblem("oracle", pulp.LpMinimize)
        load = {}  # requests/s of bucket b of user u served by k in class j
        for u, k, j, b in itertools.product(range(U), range(K), range(B + 1), range(B)):
            served_share = (1.0 if j == b else 0.0) if j < B else share[b]
            if cs[u, k] and cap[k, j] > 0 and served_share > 0 and units[k] > 0:
                load[(u, k, j, b)] = lp.add_variable(f"x_{u}_{k}_{j}_{b}", lowBound=0)
        lp += pulp.lpSum(load.values())
        for u, b in itertools.product(range(U), range(B)):
            lp += pulp.lpSum(v for (uu, _, _, bb), v in load.items() if (uu, bb) == (u, b)) >= part * share[b] * need[u] - 1e-9
        for k in range(K):
            # the whole-mix class takes the buckets in proportion: its load of bucket b is share_b of its requests
            time = []
            for j in range(B + 1):
                js = [(key, v) for key, v in load.items() if key[1] == k and key[2] == j]
                if j < B:
                    time += [v * (1.0 / cap[k, j]) for _, v in js]
                else:
                    mix_requests = lp.add_variable(f"m_{k}", lowBound=0)
                    for b in range(B):
                        lp += pulp.lpSum(v for key, v in js if key[3] == b) == share[b] * mix_requests
                    time.append(mix_requests * (1.0 / cap[k, j]) if cap[k, j] > 0 else 0)
            lp += pulp.lpSum(time) <= float(units[k])
        lp.solve(pulp.HiGHS(msg=False))
        if pulp.LpStatus[lp.status] != "Optimal":
            return False
    return True


def brute_force_buckets(inp, box: int) -> float:
    """Cheapest on-demand + spot plan with at most ``box`` units of each per candidate and period."""
    K, T = len(inp.candidate_ids), len(inp.period_hours)
    od = np.asarray(inp.price_usd_per_hour["on-demand"], dtype=float)
    sp = np.asarray(inp.price_usd_per_hour["spot"], dtype=float)
    total = 0.0
    for t in range(T):
        best = math.inf
        ranges = [range(box + 1) if np.isfinite(od[k]) else range(1) for k in range(K)]
        ranges += [range(box + 1) if np.isfinite(sp[k]) else range(1) for k in range(K)]
        plans = []
        for combo in itertools.product(*ranges):
            o, s = np.array(combo[:K], dtype=float), np.array(combo[K:], dtype=float)
            plans.append((float(np.nansum(np.where(o > 0, od, 0) * o) + np.nansum(np.where(s > 0, sp, 0) * s)), combo, o, s))
        for cost, _, o, s in sorted(plans, key=lambda p: (p[0], p[1])):  # the first feasible plan is the cheapest
            if (inp.min_replicas <= 0 or (o + s).sum() >= inp.min_replicas) and _feasible(inp, t, o + s, s):
                best = cost
                break
        total += best * float(inp.period_hours[t])
    return total


def random_bucket_input(seed: int, K: int, U: int, B: int):
    rng = np.random.default_rng(seed)
    cap = rng.choice([0.0, 2.0, 4.0, 6.0], size=(K, B))
    cap[np.arange(K), rng.integers(0, B, size=K)] = rng.choice([2.0, 4.0, 6.0], size=K)  # every candidate serves something
    share = rng.dirichlet(np.ones(B)).round(2)
    share[-1] = 1.0 - share[:-1].sum()
    share = np.maximum(share, 0.0)
    share /= share.sum()
    with np.errstate(divide="ignore"):
        mix = np.where((cap > 0).all(axis=1), 1.0 / np.where(cap > 0, share / np.where(cap > 0, cap, 1), np.inf).sum(axis=1), 0.0)
    mix = mix * rng.choice([0.8, 1.0, 1.2], size=K)  # serving the mix as it comes may be better or worse
    od = rng.choice([1.0, 2.0, 3.0], size=K)
    prices = {"on-demand": od, "spot": np.where(rng.random(K) < 0.5, od * 0.4, NAN)}
    can = rng.random((U, K)) < 0.8
    can[:, 0] = True
    base = make_input(capacity=np.maximum(mix, 1.0), prices=prices, demand=rng.integers(0, 5, size=(U, 2)).astype(float),
                      can_serve=can, max_spot_share=float(rng.choice([1.0, 0.5])), min_replicas=int(rng.integers(0, 2)),
                      tiers=("on-demand", "spot"))
    return with_buckets(base, share, cap, mix_cap=mix)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), K=st.integers(1, 2), U=st.integers(1, 2), B=st.integers(2, 3))
def test_buckets_match_the_brute_force_oracle(seed, K, U, B):
    inp = random_bucket_input(seed, K, U, B)
    ref = brute_force_buckets(inp, 3)
    r = solve(inp, SolverOptions(gap=1e-9, time_limit_s=20))
    if r.status == SolveStatus.INFEASIBLE:
        assert math.isinf(ref)
        return
    assert r.status == SolveStatus.OPTIMAL, r.message
    assert check_solution(inp, r.reserved, r.per_period, r.bucket_load_rps, split=r.class_units, fallback=r.fallback_units) == []
    assert r.objective_usd <= ref * (1 + 1e-6) + 1e-9  # the oracle's box can only hide cheaper plans
    inside = all(arr.max(initial=0) <= 3 for arr in r.per_period.values())
    if inside:
        assert r.objective_usd == pytest.approx(ref, rel=1e-6, abs=1e-9)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), K=st.integers(1, 3), U=st.integers(1, 2), B=st.integers(2, 4))
def test_buckets_never_cost_more_than_the_whole_mix(seed, K, U, B):
    inp = random_bucket_input(seed, K, U, B)
    mix = np.asarray(inp.mix_capacity_rps)
    if not (mix > 0).any():
        return
    keep = mix > 0
    whole = dataclasses.replace(inp, bucket_share=None, bucket_capacity_rps=None, mix_capacity_rps=None, bucket_labels=None,
                                capacity_rps=mix[keep], candidate_ids=tuple(np.array(inp.candidate_ids)[keep]),
                                price_usd_per_hour={t: np.asarray(p)[keep] for t, p in inp.price_usd_per_hour.items()},
                                can_serve=np.asarray(inp.can_serve)[:, keep])
    a = solve(inp, SolverOptions(gap=1e-9))
    b = solve(whole, SolverOptions(gap=1e-9))
    if b.status == SolveStatus.OPTIMAL:
        assert a.status == SolveStatus.OPTIMAL
        assert a.objective_usd <= b.objective_usd * (1 + 1e-9) + 1e-9


def test_bucket_rows_are_named_by_bucket():
    prob, idx = build_model(short_and_long())
    assert idx.rows["demand"] == ["demand_b0_s1_t0", "demand_b1_s1_t0"]
    assert idx.rows["bucket_split"] == ["bucket_split_k0_t0", "bucket_split_k1_t0"]
    names = {v.name for v in prob.variables()}
    assert {"w_k0_j0_t0", "w_k1_j0_t0", "w_k1_j1_t0", "w_k1_j2_t0"} <= names and "w_k0_j1_t0" not in names


@pytest.mark.parametrize("seed", range(8))
def test_the_plan_without_buckets_is_a_feasible_start_for_the_bucketed_model(seed):
    from planner.milp.build import whole_mix_input
    from planner.milp.solve import start_values
    from planner.milp.stages import whole_mix_start

    inp = random_bucket_input(seed, 3, 2, 3)
    mix_input, keep = whole_mix_input(inp)
    start = whole_mix_start(inp, SolverOptions(gap=1e-9))
    if start is None:
        assert solve(mix_input).status != SolveStatus.OPTIMAL
        return
    prob, idx = build_model(inp)
    values = start_values(inp, idx, start)
    assert set(values) == {v.name for v in prob.variables()}  # a complete start
    for v in prob.variables():
        v.varValue = values[v.name]
    constraints = prob.constraints() if callable(prob.constraints) else list(prob.constraints.values())
    broken = [c.name for c in constraints if not c.valid(eps=1e-7)]
    assert not broken
    r = solve(inp, SolverOptions(gap=1e-9), start=start)
    assert r.status == SolveStatus.OPTIMAL and r.objective_usd <= start.objective_usd * (1 + 1e-9)
