"""Independent checks of a MILP solution, in numpy from the :class:`MilpInput` alone (no solver):
replicas in service, the fleet's share of demand once API requests are taken off, the cost of a
plan, and every constraint family. ``planner.milp.solve`` uses them to refuse a solver's answer
that does not hold; tests use them as an oracle."""

from __future__ import annotations

import numpy as np

from planner.milp.build import (api_billing_ratio, bucket_capacity_in_service, bucket_share, coverage_sets,
                                effective_demand, offered, roles, service_classes, serving_replicas,
                                spot_availability, spot_rule_applies)
from planner.milp.data import PER_PERIOD_TIERS, RESERVED_TIERS, ROLE_DECODE, ROLE_PREFILL, MilpInput

ROW_TOL = 1e-6  # relative (to the row's magnitude, at least 1) tolerance on constraint checks


def commitments(inp: MilpInput, q) -> np.ndarray:
    """(K, M) replicas committed per start month: a whole-horizon commitment (K,) is (K, 1)."""
    q = np.asarray(q, dtype=float)
    return q.reshape(len(inp.candidate_ids), inp.months if q.size == 0 else -1)  # no candidate: (0, M)


def committed_in_service(inp: MilpInput, tier: str, q) -> np.ndarray:
    """(K, T) replicas of a reserved tier in service: Σ_m A_{τ,m,t} r_{k,τ,m} (r_{k,τ} in every period)."""
    q = commitments(inp, q)
    if not np.any(q):  # a tier the problem does not use may have no term
        return np.zeros((q.shape[0], len(inp.period_hours)))
    return q @ inp.commitment_cover(tier).astype(float)


def replicas_in_service(inp: MilpInput, reserved: dict, per_period: dict) -> np.ndarray:
    """(K, T) n_{k,t} = Σ_{τ∈R} r_{k,τ} + o_{k,t} + s_{k,t} (commitments over time: those in service in t)."""
    K, T = len(inp.candidate_ids), len(inp.period_hours)
    n = np.zeros((K, T), dtype=float)
    for tier in RESERVED_TIERS:
        if tier in reserved:
            n += committed_in_service(inp, tier, reserved[tier])
    for tier in PER_PERIOD_TIERS:
        if tier in per_period:
            n += np.asarray(per_period[tier], dtype=float)
    return n


def fleet_need(inp: MilpInput, api: np.ndarray | None) -> np.ndarray:
    """(U, T) requests/s the fleet must carry: demand × (1 + η) less what goes to the API (which
    needs no headroom on the fleet), never below 0."""
    need = effective_demand(inp)
    if api is None:
        return need
    return np.maximum(need - (1.0 + float(inp.headroom)) * np.asarray(api, dtype=float), 0.0)


def _units_violations(inp: MilpInput, units: np.ndarray, limit: np.ndarray, label: str, tol: float) -> list[str]:
    """Units per service class (K, J, T): non-negative, none where the class has no capacity, and
    Σ_j units_{k,j,t} ≤ limit_{k,t}."""
    cap, _ = service_classes(inp)
    K, T = limit.shape
    if units.shape != (K, cap.shape[1], T):
        return [f"{label}: units per class have shape {units.shape}, expected ({K}, {cap.shape[1]}, {T})"]
    errs = []
    if np.any(units < -tol):
        errs.append(f"{label}: negative units (min {units.min():.6g})")
    if np.any((units > tol) & (cap <= 0)[:, :, None]):
        k, j, t = np.argwhere((units > tol) & (cap <= 0)[:, :, None])[0]
        errs.append(f"{label}: candidate {k} serves class {j} it cannot serve at the SLO (period {t})")
    over = units.sum(axis=1) - limit
    for k, t in np.argwhere(over > tol * np.maximum(1.0, limit))[:10]:
        errs.append(f"{label}: {label}_k{k}_t{t}: {units[k, :, t].sum():.6g} units split > {limit[k, t]:.6g} in service")
    return errs


def _load_violations(inp: MilpInput, x: np.ndarray, capacity: np.ndarray, need: np.ndarray, tol: float) -> list[str]:
    """A load split x (U, K, B, T) carries π_b need_{u,t} of every bucket, only where allowed, within
    the requests/s of each bucket the candidates carry (``capacity`` (K, B, T))."""
    errs: list[str] = []
    share = bucket_share(inp)
    if np.any(x < -tol):
        errs.append(f"negative load (min {x.min():.6g})")
    cs = np.asarray(inp.can_serve, dtype=bool)
    bad = (np.abs(x) > tol) & ~cs[:, :, None, None]
    if bad.any():
        u, k, b, t = np.argwhere(bad)[0]
        errs.append(f"load where can_serve is false: user region {u}, candidate {k}, period {t}")
    raw = np.asarray(inp.demand_rps, dtype=float)
    required = share[None, :, None] * need[:, None, :]  # (U, B, T)
    served = x.sum(axis=1)
    viol = (raw[:, None, :] > 0) & (required - served > tol * np.maximum(1.0, required))
    for u, b, t in np.argwhere(viol)[:10]:
        name = f"demand_u{u}_t{t}" if inp.buckets == 1 else f"demand_u{u}_b{b}_t{t}"
        errs.append(f"{name}: served {served[u, b, t]:.6g} < {required[u, b, t]:.6g} req/s")
    used = x.sum(axis=0)  # (K, B, T)
    viol = used - capacity > tol * np.maximum(1.0, capacity)
    for k, b, t in np.argwhere(viol)[:10]:
        errs.append(f"capacity_k{k}_t{t}" + (f"_b{b}" if inp.buckets > 1 else "") + f": load {used[k, b, t]:.6g} > capacity {capacity[k, b, t]:.6g} req/s")
    return errs


def api_cost_usd(inp: MilpInput, api: np.ndarray | None) -> float:
    """USD of the API requests: Σ_{u,t} a_{u,t} × (mean/peak)_{u,t} × 3600 h_t × price per request."""
    if api is None or inp.api_usd_per_request is None:
        return 0.0
    billed = np.asarray(api, dtype=float) * api_billing_ratio(inp)
    return float((billed.sum(axis=0) * np.asarray(inp.period_hours, dtype=float)).sum() * 3600.0 * float(inp.api_usd_per_request))


def serving_units(inp: MilpInput, reserved: dict, per_period: dict) -> np.ndarray:
    """(K, T) units counted for capacity: Σ_{τ∈R} r_{k,τ} + o_{k,t} + a_k s_{k,t} (spot derated by its availability)."""
    n = replicas_in_service(inp, reserved, per_period)
    spot = np.asarray(per_period.get("spot", np.zeros_like(n)), dtype=float)
    return n - (1.0 - spot_availability(inp))[:, None] * spot


def instance_starts(per_period_units: np.ndarray, cyclic: bool = True) -> np.ndarray:
    """(K, T) instances started in each period: the rise from the previous period (cyclic: period 0
    follows the last; else a timeline from nothing, where period 0 starts all it runs)."""
    units = np.asarray(per_period_units, dtype=float)
    before = np.roll(units, 1, axis=1)
    if not cyclic and units.shape[1]:
        before[:, 0] = 0.0
    return np.maximum(units - before, 0.0)


def stores_used(inp: MilpInput, reserved: dict, per_period: dict) -> np.ndarray:
    """(G,) bool: artifact store g has a member candidate in service in some period."""
    if inp.storage_members is None:
        return np.zeros(0, dtype=bool)
    n = replicas_in_service(inp, reserved, per_period)
    return (np.asarray(inp.storage_members, dtype=bool) & (n.sum(axis=1) > 0)[None, :]).any(axis=1)


def cost_usd(inp: MilpInput, reserved: dict, per_period: dict, api: np.ndarray | None = None,
             stored: np.ndarray | None = None) -> float:
    """Re-cost a plan in numpy: Σ p_{k,τ} H r_{k,τ} (commitments over time: p_{k,τ} r_{k,τ,m} × the
    hours each serves in the horizon, and after it with ``pay_full_term``) + Σ h_t p_{k,τ} (o|s)_{k,t} (unused tiers cost 0)
    + the API requests + the artifact stores (``stored``, default: those the plan uses) + the cold
    starts L p_{k,τ} max(x_{k,t} − x_{k,t−1}, 0) (cyclic) of on-demand and spot."""
    hours = np.asarray(inp.period_hours, dtype=float)
    total = 0.0
    for tier in RESERVED_TIERS:
        q = np.asarray(reserved.get(tier, 0), dtype=float)
        if np.any(q):
            p = np.asarray(inp.price_usd_per_hour[tier], dtype=float)
            q = commitments(inp, q)
            served = inp.commitment_paid_hours(tier)  # (M,) hours each start is paid for
            total += float(np.sum(np.where(q > 0, p[:, None], 0.0) * q * served[None, :]))
    for tier in PER_PERIOD_TIERS:
        q = np.asarray(per_period.get(tier, 0), dtype=float)
        if np.any(q):
            p = np.asarray(inp.price_usd_per_hour[tier], dtype=float)
            total += float(np.sum(np.where(q > 0, p[:, None], 0.0) * q * hours[None, :]))
            if inp.cold_start_hours > 0 and q.ndim == 2 and q.shape[1] > 1:
                starts = instance_starts(q, inp.cyclic)
                total += float(np.sum(np.where(starts > 0, p[:, None], 0.0) * starts)) * float(inp.cold_start_hours)
    if inp.storage_members is not None:
        used = stores_used(inp, reserved, per_period) if stored is None else np.asarray(stored, dtype=bool)
        total += float(np.asarray(inp.storage_usd, dtype=float)[used].sum())
    return total + api_cost_usd(inp, api)


def check_solution(inp: MilpInput, reserved: dict, per_period: dict, load: np.ndarray, tol: float = ROW_TOL,
                   api: np.ndarray | None = None, split: np.ndarray | None = None, fallback: np.ndarray | None = None) -> list[str]:
    """Check a plan against every constraint family, in numpy from ``inp`` alone (no PuLP).

    ``load`` is the split of demand over candidates, (U, K, T) or, with request-size buckets,
    (U, K, B, T). With buckets, ``split`` (K, J, T) gives the units of each candidate per service
    class (:func:`planner.milp.build.service_classes`), and the spot rule is checked on ``fallback``
    (K, J, T), the same split of the non-spot units, by Hall's condition per bucket.

    Returns a list of violations (empty = feasible). Tolerances are relative to each row's magnitude.
    """
    errs: list[str] = []
    K, U, T = len(inp.candidate_ids), len(inp.user_regions), len(inp.period_hours)
    off = offered(inp)
    shape = (K,) if inp.period_month is None else (K, inp.months)
    for tier in RESERVED_TIERS:
        q = np.asarray(reserved.get(tier, np.zeros(shape)))
        if q.shape != shape or np.any(q < 0) or np.any(q != np.round(q)):
            errs.append(f"reserved[{tier!r}] must be {shape} non-negative integers (replicas committed"
                        + (")" if inp.period_month is None else " per start month)"))
        elif np.any(q[~off[tier]] > 0):
            errs.append(f"reserved[{tier!r}] uses candidates that do not offer it")
        elif inp.first_start(tier) > 0 and np.any(q[:, :inp.first_start(tier)] > 0):
            errs.append(f"reserved[{tier!r}] starts before month {inp.first_start(tier)}, its first (lead time)")
    for tier in PER_PERIOD_TIERS:
        q = np.asarray(per_period.get(tier, np.zeros((K, T))))
        if q.shape != (K, T) or np.any(q < 0) or np.any(q != np.round(q)):
            errs.append(f"per_period[{tier!r}] must be (K, T) non-negative integers")
        elif np.any(q[~off[tier]] > 0):
            errs.append(f"per_period[{tier!r}] uses candidates that do not offer it")
    if errs:
        return errs
    B = inp.buckets
    x = np.asarray(load, dtype=float)
    if x.shape == (U, K, T) and B == 1:
        x = x[:, :, None, :]
    if x.shape != (U, K, B, T):
        return [f"load_rps has shape {x.shape}, expected ({U}, {K}, {B}, {T})" + (f" or ({U}, {K}, {T})" if B == 1 else "")]
    raw = np.asarray(inp.demand_rps, dtype=float)
    if api is not None:
        a = np.asarray(api, dtype=float)
        if a.shape != (U, T) or np.any(a < -tol) or np.any(a > float(inp.max_api_share) * raw * (1 + tol) + tol):
            errs.append(f"api_rps must be (U, T) within 0..{inp.max_api_share:g} × demand")
        if inp.api_usd_per_request is None and np.any(a > tol):
            errs.append("api_rps used without an API tier")
    n = replicas_in_service(inp, reserved, per_period)  # (K, T)
    serving = serving_units(inp, reserved, per_period)  # spot counted at its availability
    spot_units = np.asarray(per_period.get("spot", np.zeros((K, T))), dtype=float)
    if B > 1:
        if split is None:
            return errs + ["request-size buckets: no split of the units in service over the service classes"]
        split = np.asarray(split, dtype=float)
        errs += _units_violations(inp, split, serving, "bucket_split", tol)
        if errs:
            return errs
    errs += _load_violations(inp, x, bucket_capacity_in_service(inp, serving if B == 1 else split), fleet_need(inp, api), tol)
    sigma = float(inp.max_spot_share)
    if sigma >= 1.0 or (B > 1 and not spot_rule_applies(inp)):
        pass
    elif B > 1 and fallback is None:
        errs.append("spot rule: no split of the non-spot units over the service classes")
    else:
        if B > 1:
            fallback = np.asarray(fallback, dtype=float)
            errs += _units_violations(inp, fallback, n - spot_units, "fallback_split", tol)
        firm = bucket_capacity_in_service(inp, n - spot_units if B == 1 else fallback)  # (K, B, T)
        full_need = effective_demand(inp)
        relief = (1.0 + float(inp.headroom)) * (np.asarray(api, dtype=float) if api is not None else np.zeros((U, T)))
        share = bucket_share(inp)
        for b in range(B):
            for mask, members, ks in coverage_sets(inp):
                required = (1.0 - sigma) * share[b] * full_need[members].sum(axis=0)  # (T,)
                have = firm[ks, b].sum(axis=0) + share[b] * relief[members].sum(axis=0)
                viol = (raw[members].sum(axis=0) > 0) & (required - have > tol * np.maximum(1.0, required))
                for t in np.flatnonzero(viol)[:10]:
                    name = f"spot_share_s{mask}_t{t}" if B == 1 else f"spot_share_b{b}_s{mask}_t{t}"
                    errs.append(f"{name}: non-spot capacity {have[t]:.6g} < {required[t]:.6g} req/s "
                                f"((1 − {sigma}) of demand × (1 + headroom))")
    phi = float(inp.spot_region_fallback)
    if phi > 0 and inp.region_members is not None and B == 1:
        cap = bucket_capacity_in_service(inp, serving)[:, 0, :]  # (K, T)
        spot_cap = bucket_capacity_in_service(inp, spot_availability(inp)[:, None] * spot_units)[:, 0, :]
        relief = (1.0 + float(inp.headroom)) * (np.asarray(api, dtype=float) if api is not None else np.zeros((U, T)))
        need = effective_demand(inp)
        for g, members in enumerate(np.asarray(inp.region_members, dtype=bool)):
            left = cap - np.where(members[:, None], spot_cap, 0.0)
            for mask, users, ks in coverage_sets(inp):
                required = phi * need[users].sum(axis=0)
                have = left[ks].sum(axis=0) + relief[users].sum(axis=0)
                viol = (raw[users].sum(axis=0) > 0) & (required - have > tol * np.maximum(1.0, required))
                for t in np.flatnonzero(viol)[:10]:
                    errs.append(f"spot_fallback_g{g}_s{mask}_t{t}: without region {g}'s spot, {have[t]:.6g} < {required[t]:.6g} req/s")
    if inp.quota_members is not None and inp.quota_max_gpus is not None:
        gpus = np.asarray(inp.gpus_per_replica if inp.gpus_per_replica is not None else np.ones(K), dtype=float)
        for q, members in enumerate(np.asarray(inp.quota_members, dtype=bool)):
            used = (gpus[members, None] * n[members]).sum(axis=0)
            for t in np.flatnonzero(used > inp.quota_max_gpus[q] + tol)[:10]:
                errs.append(f"quota_q{q}_t{t}: {used[t]:.0f} GPUs > quota {inp.quota_max_gpus[q]:.0f}")
    errs += pool_violations(inp, serving, n - spot_units, tol)
    m = int(inp.min_replicas)
    if m > 0:
        tot = (serving_replicas(inp)[:, None] * n).sum(axis=0)
        for t in np.flatnonzero(tot < m - 0.5)[:10]:
            errs.append(f"min_replicas_t{t}: {int(tot[t])} replicas < {m}")
    if int(inp.min_regions) > 1 and inp.region_members is not None:
        up = (np.asarray(inp.region_members, dtype=float) @ n > 0.5).sum(axis=0)  # (T,)
        for t in np.flatnonzero(up < int(inp.min_regions))[:10]:
            errs.append(f"min_regions_t{t}: replicas in {int(up[t])} cloud region(s) < {int(inp.min_regions)}")
    return errs


def pool_violations(inp: MilpInput, serving: np.ndarray, firm_units: np.ndarray, tol: float = ROW_TOL) -> list[str]:
    """Disaggregated pools (``define_prefill_pools``): in every cloud region and period the prefill
    pool's prompts/s cover the decode pool's requests/s, over every unit (spot at its availability)
    and, when the spot rule applies, over the non-spot units alone. ``serving``, ``firm_units``: (K, T)."""
    if inp.role is None or inp.pool_members is None:
        return []
    role = roles(inp)
    cap = np.asarray(inp.capacity_rps, dtype=float)[:, None]
    pcap = np.asarray(inp.prefill_capacity_rps, dtype=float)[:, None]
    errs = []
    cases = [("pool", serving)] + ([("pool_firm", firm_units)] if spot_rule_applies(inp) else [])
    for p, members in enumerate(np.asarray(inp.pool_members, dtype=bool)):
        pre, dec = members & (role == ROLE_PREFILL), members & (role == ROLE_DECODE)
        for name, units in cases:
            prefill = (pcap[pre] * units[pre]).sum(axis=0)
            decode = (cap[dec] * units[dec]).sum(axis=0)
            for t in np.flatnonzero(decode - prefill > tol * np.maximum(1.0, decode))[:10]:
                errs.append(f"{name}_p{p}_t{t}: prefill pool {prefill[t]:.6g} < decode pool {decode[t]:.6g} req/s")
    return errs
