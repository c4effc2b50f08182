"""Instance factories and a brute-force oracle for the MILP tests."""

from __future__ import annotations

import itertools
import math

import numpy as np

from planner.milp.build import effective_demand, offered
from planner.milp.data import PER_PERIOD_TIERS, RESERVED_TIERS, TIERS, MilpInput

NAN = float("nan")


def make_input(
    *,
    capacity,
    prices: dict[str, list[float]],
    demand,
    hours=None,
    can_serve=None,
    headroom: float = 0.0,
    max_spot_share: float = 1.0,
    min_replicas: int = 0,
    tiers: tuple[str, ...] = TIERS,
    user_regions: tuple[str, ...] | None = None,
    candidate_ids: tuple[str, ...] | None = None,
) -> MilpInput:
    cap = np.asarray(capacity, dtype=float)
    K = cap.shape[0]
    dem = np.atleast_2d(np.asarray(demand, dtype=float))
    U, T = dem.shape
    price = {tier: np.full(K, NAN) for tier in TIERS}
    for tier, p in prices.items():
        price[tier] = np.asarray(p, dtype=float)
    return MilpInput(
        candidate_ids=candidate_ids or tuple(f"c{k}" for k in range(K)),
        capacity_rps=cap,
        price_usd_per_hour=price,
        user_regions=user_regions or tuple(f"region-{u}" for u in range(U)),
        period_hours=np.ones(T) if hours is None else np.asarray(hours, dtype=float),
        demand_rps=dem,
        can_serve=np.ones((U, K), dtype=bool) if can_serve is None else np.asarray(can_serve, dtype=bool),
        headroom=headroom,
        max_spot_share=max_spot_share,
        min_replicas=min_replicas,
        tiers=tiers,
    )


def random_input(rng: np.random.Generator, K: int, U: int, T: int, *, demand_max: int = 3) -> MilpInput:
    """A small random instance on coarse grids (prices, capacities, demands)."""
    cap = rng.choice([2.0, 3.0, 4.0, 5.0], size=K)
    od = rng.choice([1.0, 1.5, 2.0, 3.0], size=K)
    prices = {
        "on-demand": np.where(rng.random(K) < 0.8, od, NAN),
        "spot": np.where(rng.random(K) < 0.6, od * rng.choice([0.3, 0.5]), NAN),
        "reserved-1y": np.where(rng.random(K) < 0.5, od * 0.7, NAN),
        "reserved-3y": np.where(rng.random(K) < 0.5, od * rng.choice([0.5, 0.6]), NAN),
    }
    demand = rng.integers(0, demand_max + 1, size=(U, T)).astype(float)
    can = rng.random((U, K)) < 0.7
    for u in range(U):  # keep most instances feasible: every region has a non-spot server
        ok = np.isfinite(prices["on-demand"]) | np.isfinite(prices["reserved-1y"]) | np.isfinite(prices["reserved-3y"])
        if not (can[u] & ok).any():
            ks = np.flatnonzero(ok)
            k = int(rng.choice(ks)) if ks.size else int(rng.integers(K))
            can[u, k] = True
            if not ok.any():
                prices["on-demand"][k] = od[k]
    return make_input(
        capacity=cap,
        prices=prices,
        demand=demand,
        hours=rng.choice([1.0, 2.0, 4.0], size=T),
        can_serve=can,
        headroom=float(rng.choice([0.0, 0.25, 0.5])),
        max_spot_share=float(rng.choice([1.0, 0.5, 0.25, 0.0])),
        min_replicas=int(rng.integers(0, 3)),
    )


def box_size(inp: MilpInput) -> int:
    """Per-candidate replica bound B used by the oracle: enough to cover peak demand and min_replicas
    with the smallest replica, plus one."""
    need = effective_demand(inp).sum(axis=0).max(initial=0.0)
    cmin = float(np.min(inp.capacity_rps))
    return int(math.ceil(need / cmin - 1e-9)) + int(inp.min_replicas) + 1


def _feasible_mask(inp: MilpInput, t: int, n: np.ndarray, s: np.ndarray) -> np.ndarray:
    """n, s: (..., K) replicas in service / spot replicas. Returns a bool mask of feasible rows.

    Demand as a transportation problem: by Hall's theorem the loads exist iff every set S of user
    regions has Σ_{u∈S} need_u ≤ Σ_{k serving some u∈S} c_k n_k; the spot rule asks the same of the
    non-spot replicas for (1 − σ) of the demand.
    """
    cap = np.asarray(inp.capacity_rps, dtype=float)
    need = effective_demand(inp)[:, t]
    raw = np.asarray(inp.demand_rps, dtype=float)[:, t]
    cs = np.asarray(inp.can_serve, dtype=bool)
    supply = n * cap  # (..., K)
    firm = (n - s) * cap  # capacity left when every spot replica is lost
    sigma = float(inp.max_spot_share)
    ok = np.ones(n.shape[:-1], dtype=bool)
    users = [u for u in range(len(need)) if raw[u] > 0]
    for r in range(1, len(users) + 1):
        for S in itertools.combinations(users, r):
            servers = cs[list(S)].any(axis=0)
            ok &= supply[..., servers].sum(axis=-1) >= need[list(S)].sum() - 1e-9
            if sigma < 1.0:  # spot rule: without spot, (1 − σ) of the demand is still covered
                ok &= firm[..., servers].sum(axis=-1) >= (1 - sigma) * need[list(S)].sum() - 1e-9
    if inp.min_replicas > 0:
        ok &= n.sum(axis=-1) >= inp.min_replicas
    return ok


def _search_space(inp: MilpInput, B: int):
    """The oracle's box: reserved totals R (NR, K) with their cost over the horizon (the cheaper
    reserved tier of each candidate is the only one worth buying), per-period choices O, S (M, K) of
    on-demand and spot with o + s ≤ B, and their prices."""
    K = len(inp.candidate_ids)
    off = offered(inp)
    H = float(np.asarray(inp.period_hours, dtype=float).sum())
    p = {tier: np.asarray(inp.price_usd_per_hour.get(tier, np.full(K, NAN)), dtype=float) for tier in TIERS}
    rmin = np.full(K, np.inf)
    for tier in RESERVED_TIERS:
        rmin = np.where(off[tier], np.minimum(rmin, p[tier]), rmin)
    r_ranges = [range(B + 1) if np.isfinite(rmin[k]) else range(1) for k in range(K)]
    R = np.array(list(itertools.product(*r_ranges)), dtype=float).reshape(-1, K)  # (NR, K)
    r_cost = (np.where(np.isfinite(rmin), rmin, 0.0) * R).sum(axis=1) * H
    per_k = [[(o, s) for o in (range(B + 1) if off["on-demand"][k] else range(1))
              for s in (range(B + 1) if off["spot"][k] else range(1)) if o + s <= B] for k in range(K)]
    combos = np.array([sum(c, ()) for c in itertools.product(*per_k)], dtype=float).reshape(-1, 2 * K)
    O, S = combos[:, 0::2], combos[:, 1::2]  # (M, K)
    od = np.where(off["on-demand"], p["on-demand"], 0.0)
    sp = np.where(off["spot"], p["spot"], 0.0)
    return R, r_cost, O, S, od, sp


def brute_force(inp: MilpInput, B: int | None = None) -> float:
    """Minimum cost over all integer plans with r_k ≤ B and o_{k,t} + s_{k,t} ≤ B (inf if none).
    Given reserved totals R_k, periods decouple."""
    B = box_size(inp) if B is None else B
    hours = np.asarray(inp.period_hours, dtype=float)
    R, r_cost, O, S, od, sp = _search_space(inp, B)
    unit = (O * od + S * sp).sum(axis=1)  # (M,) USD per hour
    total = r_cost.copy()
    for t in range(len(hours)):
        n = R[:, None, :] + O[None, :, :] + S[None, :, :]  # (NR, M, K)
        mask = _feasible_mask(inp, t, n, np.broadcast_to(S[None, :, :], n.shape))
        cost_t = np.where(mask, unit[None, :] * hours[t], np.inf).min(axis=1)  # (NR,)
        total = total + cost_t
    return float(total.min()) if total.size else math.inf


def in_box(result, B: int) -> bool:
    """Whether a solution lies in the oracle's search box."""
    for q in result.reserved.values():
        if np.any(q > B):
            return False
    # the oracle enumerates the sum over reserved tiers
    if np.any(sum(result.reserved.values()) > B):
        return False
    per = sum(result.per_period.values())
    return not np.any(per > B)


def per_tier_usage(result) -> dict[str, int]:
    out = {tier: int(np.sum(result.reserved[tier])) for tier in RESERVED_TIERS}
    out.update({tier: int(np.sum(result.per_period[tier])) for tier in PER_PERIOD_TIERS})
    return out


def brute_force_with_starts(inp: MilpInput, B: int | None = None) -> float:
    """Like :func:`brute_force` with cold starts priced: periods are coupled, so for each reserved
    fleet a cyclic shortest path over the per-period choices (every start state m0; transitions
    cost L Σ_k p_k max(x'_k − x_k, 0) for on-demand and spot; the last period returns to m0)."""
    B = box_size(inp) if B is None else B
    T = len(inp.period_hours)
    hours = np.asarray(inp.period_hours, dtype=float)
    R, r_cost, O, S, od, sp = _search_space(inp, B)
    unit = (O * od + S * sp).sum(axis=1)
    L = float(inp.cold_start_hours)
    rise = lambda X: np.maximum(X[None, :, :] - X[:, None, :], 0.0)  # noqa: E731  [from, to, k]
    trans = L * ((rise(O) * od).sum(axis=2) + (rise(S) * sp).sum(axis=2)) if T > 1 else np.zeros((len(O), len(O)))
    best = math.inf
    for i in range(len(R)):
        cost_t = []
        for t in range(T):
            n = R[i][None, :] + O + S
            cost_t.append(np.where(_feasible_mask(inp, t, n, S), unit * hours[t], np.inf))
        dp = np.where(np.eye(len(O), dtype=bool), cost_t[0][None, :], np.inf)  # [start m0, current m]
        for t in range(1, T):
            dp = (dp[:, :, None] + trans[None, :, :]).min(axis=1) + cost_t[t][None, :]
        closing = dp + trans.T if T > 1 else dp  # back to the start state: trans[m, m0]
        best = min(best, float(closing.min()) + float(r_cost[i]))  # closing[m0, m]: the last state m back to m0
    return best


def assert_matches_oracle(inp: MilpInput, result, ref: float, B: int, what: str = "solver") -> None:
    """A solve agrees with the oracle's minimum ``ref`` over its box ``B``: infeasible when the oracle
    found nothing; else optimal, feasible, re-costed exactly, never dearer than the oracle, and equal
    to it when the solution lies in the box (the oracle can only be beaten from outside it)."""
    import pytest

    from planner.milp import SolveStatus, check_solution, cost_usd

    if result.status == SolveStatus.INFEASIBLE:
        assert math.isinf(ref), f"{what} says infeasible, oracle found {ref}"
        return
    assert result.status == SolveStatus.OPTIMAL, result.message
    assert check_solution(inp, result.reserved, result.per_period, result.load_rps) == []
    assert result.objective_usd == pytest.approx(cost_usd(inp, result.reserved, result.per_period), rel=1e-9)
    assert result.objective_usd <= ref * (1 + 1e-6) + 1e-9
    if in_box(result, B):
        assert result.objective_usd == pytest.approx(ref, rel=1e-6, abs=1e-9)
