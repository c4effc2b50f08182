"""Explain why a MILP has no feasible plan.

Cheap structural checks first (no solver), then the LP relaxation with a penalised shortfall on each
demand row (:func:`planner.milp.solve.solve_shortfall`) to report how much demand cannot be served,
per user region and period. The relaxation is exact for feasibility here: replicas are unbounded
integers and every constraint is homogeneous in them, so the MILP is feasible iff the LP reaches zero
shortfall.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from planner.milp.build import bucket_share, effective_demand, offered, service_classes, validate_input
from planner.milp.data import RESERVED_TIERS, MilpInput, SolverOptions, SolveStatus
from planner.milp.solve import solve_shortfall

SHORT_TOL = 1e-6  # relative to the row's demand


def _fmt(x: float) -> str:
    return f"{x:.1f}" if abs(x) >= 1 else f"{x:.3g}"


def _ids(inp: MilpInput, ks, limit: int = 5) -> str:
    ks = list(ks)
    names = ", ".join(repr(inp.candidate_ids[k]) for k in ks[:limit])
    return names + (f" and {len(ks) - limit} more" if len(ks) > limit else "")


def structural_checks(inp: MilpInput) -> list[str]:
    """Reasons for infeasibility visible without a solver."""
    msgs: list[str] = []
    off = offered(inp)
    K = len(inp.candidate_ids)
    any_tier = np.zeros(K, dtype=bool)
    for v in off.values():
        any_tier |= v
    non_spot = np.zeros(K, dtype=bool)
    for tier in RESERVED_TIERS + ("on-demand",):
        non_spot |= off[tier]
    spot_only = off["spot"] & ~non_spot
    sigma = float(inp.max_spot_share)
    # spot is usable iff σ ≥ 1, or σ > 0 and some non-spot capacity exists somewhere to pair it with
    spot_usable = sigma >= 1.0 or (sigma > 0.0 and bool(non_spot.any()))
    dem = np.asarray(inp.demand_rps, dtype=float)
    has_demand = dem.sum(axis=1) > 0
    cs = np.asarray(inp.can_serve, dtype=bool)

    if not any_tier.any() and (has_demand.any() or inp.min_replicas > 0):
        msgs.append(
            f"no candidate offers an allowed tier: tiers allowed are {', '.join(inp.tiers) or 'none'}, "
            f"and none of the {K} candidates has a price for them"
        )
    if inp.min_replicas > 0 and not any_tier.any():
        msgs.append(f"min_replicas = {inp.min_replicas} cannot be met: no replica can be bought")
    if int(inp.min_regions) > 1 and inp.region_members is not None:
        buyable = (np.asarray(inp.region_members, dtype=bool) & any_tier[None, :]).any(axis=1)
        if buyable.sum() < int(inp.min_regions):
            msgs.append(f"min_regions = {inp.min_regions} cannot be met: only {int(buyable.sum())} cloud region(s) "
                        f"have a candidate with an allowed tier (short {int(inp.min_regions) - int(buyable.sum())})")
    for u, name in enumerate(inp.user_regions):
        if not has_demand[u]:
            continue
        periods = np.flatnonzero(dem[u] > 0)
        what = f"user region {name!r} has demand in {len(periods)} period(s) (peak {_fmt(dem[u].max())} req/s)"
        servers = np.flatnonzero(cs[u])
        if servers.size == 0:
            msgs.append(f"{what} but no candidate can serve it (latency, residency or geography rules exclude all {K})")
            continue
        priced = servers[any_tier[servers]]
        if priced.size == 0:
            msgs.append(
                f"{what} but the candidates that can serve it ({_ids(inp, servers)}) offer none of the allowed tiers "
                f"({', '.join(inp.tiers) or 'none'})"
            )
            continue
        if inp.buckets > 1:
            cap, cover = service_classes(inp)
            labels = inp.bucket_labels or tuple(f"bucket {b}" for b in range(inp.buckets))
            for b in np.flatnonzero(bucket_share(inp) > 0):
                if not np.any(cap[priced][:, cover[:, b] > 0] > 0):
                    msgs.append(f"{what} but none of the candidates that can serve it meets the SLO on requests of "
                                f"size bucket '{labels[b]}' ({bucket_share(inp)[b]:.1%} of requests)")
        if not spot_usable and np.all(spot_only[priced]):
            why = (
                "max_spot_share = 0"
                if sigma <= 0
                else f"max_spot_share = {sigma} and no candidate offers reserved or on-demand capacity to pair with spot"
            )
            msgs.append(f"{what} but only spot replicas ({_ids(inp, priced)}) can serve it and {why}")
    msgs += lead_time_checks(inp)
    return msgs


def lead_time_checks(inp: MilpInput) -> list[str]:
    """Commitments over time: months before the first start a lead time allows (owned servers ordered
    at the horizon's start), in which no other allowed tier can serve the demand or the minimum replicas."""
    if inp.period_month is None or not inp.earliest_start:
        return []
    off = offered(inp)
    month = np.asarray(inp.period_month)
    needed = (np.asarray(inp.demand_rps, dtype=float).sum(axis=0) > 0) | (int(inp.min_replicas) > 0)
    msgs = []
    for tier, first in sorted(inp.earliest_start.items()):
        if first <= 0 or not off[tier].any():
            continue
        others = np.zeros(len(inp.candidate_ids), dtype=bool)
        for t, o in off.items():
            if t != tier and inp.first_start(t) < first:
                others |= o
        uncovered = np.flatnonzero(needed & (month < first))
        if uncovered.size and not others.any():
            msgs.append(f"{tier} serves from month {first} at the earliest (its lead time), and no other allowed tier can "
                        f"serve months 0–{first - 1} ({uncovered.size} period(s) with demand or minimum replicas): "
                        "allow on-demand, spot or a cloud reservation to rent until it arrives")
    return msgs


def quota_checks(inp: MilpInput) -> list[str]:
    """Quotas that rule out whole instances: a cap below the smallest instance it covers, and, when
    quotas are in force at all, a reminder that whole instances may not fit where fractions would."""
    if inp.quota_members is None or inp.quota_max_gpus is None:
        return []
    gpus = np.asarray(inp.gpus_per_replica if inp.gpus_per_replica is not None else np.ones(len(inp.candidate_ids)), dtype=float)
    labels = inp.quota_labels or tuple(f"quota {q}" for q in range(len(inp.quota_max_gpus)))
    msgs = []
    for q, members in enumerate(np.asarray(inp.quota_members, dtype=bool)):
        if members.any() and gpus[members].min() > inp.quota_max_gpus[q]:
            msgs.append(f"GPU quota '{labels[q]}' is below the smallest instance it covers ({gpus[members].min():.0f} GPUs): "
                        f"none of its {int(members.sum())} candidate(s) can be bought")
    msgs.append("GPU quotas in force (" + "; ".join(labels) + "): whole instances may not fit under them where fractions would")
    return msgs


def explain_infeasibility(
    inp: MilpInput, options: SolverOptions | None = None, max_periods_per_region: int = 10
) -> list[str]:
    """Human-readable reasons why ``inp`` has no feasible plan; ``[]`` if it is feasible.

    Structural findings come first, then one line per (user region, period) with unmet demand, e.g.
    ``short 340.0 req/s for user region 'eu-west' in period 19`` (at most ``max_periods_per_region``
    lines per region, then a summary line).
    """
    errs = validate_input(inp)
    if errs:
        return ["invalid MILP input: " + e for e in errs]
    msgs = structural_checks(inp) + quota_checks(inp)
    opts = options or SolverOptions()
    status, short, message = solve_shortfall(inp, opts)
    if short is None:
        if status == SolveStatus.INFEASIBLE and inp.min_replicas > 0 and inp.quota_members is not None:
            msgs.append(f"min_replicas = {inp.min_replicas} cannot be met within the GPU quotas")
        if status == SolveStatus.INFEASIBLE and msgs:
            return msgs
        return msgs + [f"could not compute the demand shortfall ({status.value}): {message}"]
    need = effective_demand(inp)
    raw = np.asarray(inp.demand_rps, dtype=float)
    # Is it the spot rule that binds? Re-solve without it: where the shortfall vanishes, say so.
    spot_binds = np.zeros_like(short, dtype=bool)
    if (inp.max_spot_share < 1.0 or inp.spot_region_fallback > 0) and "spot" in inp.tiers:
        _, short_free, _ = solve_shortfall(dataclasses.replace(inp, max_spot_share=1.0, spot_region_fallback=0.0), opts)
        if short_free is not None:
            spot_binds = short_free <= SHORT_TOL * np.maximum(1.0, need)
    for u, name in enumerate(inp.user_regions):
        periods = [t for t in range(short.shape[1]) if raw[u, t] > 0 and short[u, t] > SHORT_TOL * max(1.0, need[u, t])]
        for t in periods[:max_periods_per_region]:
            rules = ([f"reserved + on-demand must cover {1 - inp.max_spot_share:.0%} of it (max_spot_share = {inp.max_spot_share:g})"]
                     if inp.max_spot_share < 1.0 else [])
            rules += ([f"losing any one region's spot must leave {inp.spot_region_fallback:.0%} served (spot_region_fallback)"]
                      if inp.spot_region_fallback > 0 else [])
            cause = f" under the spot rules: {'; '.join(rules)}" if spot_binds[u, t] else ""
            msgs.append(
                f"short {_fmt(short[u, t])} req/s for user region {name!r} in period {t} "
                f"(needs {_fmt(need[u, t])} req/s incl. headroom {inp.headroom:g}){cause}"
            )
        if len(periods) > max_periods_per_region:
            rest = periods[max_periods_per_region:]
            msgs.append(
                f"... and short in {len(rest)} more period(s) for user region {name!r} "
                f"(periods {rest[0]}..{rest[-1]}, up to {_fmt(max(short[u, t] for t in rest))} req/s)"
            )
    return msgs
