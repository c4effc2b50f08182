"""Build the capacity-planning MILP from a :class:`~planner.milp.data.MilpInput` (no solving here).

Notation (indices as in :mod:`planner.milp.data`): candidates ``k``, user regions ``u``, periods ``t``
with ``h_t`` hours each and horizon ``H = Σ_t h_t``, tiers ``τ``; ``R`` = reserved tiers
(reserved-1y, reserved-3y), ``P`` = per-period tiers (on-demand, spot). ``c_k`` is the request rate
one replica of ``k`` sustains at the SLO, ``p_{k,τ}`` its price (USD per replica-hour),
``d_{u,t}`` demand, ``η`` headroom, ``σ`` the maximum spot share, ``m`` the minimum replicas.

Variables (created only where tier ``τ`` is in ``inp.tiers`` and ``p_{k,τ}`` is finite)::

    r_{k,τ} ∈ Z≥0   τ ∈ R   reserved replicas, held in every period
    o_{k,t} ∈ Z≥0           on-demand replicas in period t
    s_{k,t} ∈ Z≥0           spot replicas in period t

Write ``n_{k,t} = Σ_{τ∈R} r_{k,τ} + o_{k,t} + s_{k,t}`` for the replicas of k in service in t; in
capacity terms a spot unit counts for its availability a_k (``spot_availability``, 1 by default), so
capacity rows use ``ñ_{k,t} = Σ_{τ∈R} r_{k,τ} + o_{k,t} + a_k s_{k,t}``.

Objective (USD over the horizon)::

    min  Σ_{k, τ∈R} p_{k,τ} H r_{k,τ}  +  Σ_{k,t} h_t (p_{k,od} o_{k,t} + p_{k,spot} s_{k,t})

Commitments over time (``period_month`` given, months μ(t) of 730 h, M of them): a commitment may
start at the start of any month m ≥ m_τ (``earliest_start``: 0, or later when owned servers take
``lead_time_weeks`` to arrive, the months before being served by renting) and lasts its tier's term
L_τ months, so ``r_{k,τ,m} ∈ Z≥0`` (named ``r1y_k{k}_m{m}``) replaces r_{k,τ}; with
A_{τ,m,t} = [m ≤ μ(t) and ν(t) < m + L_τ] with ν(t) the month period t ends in
(``MilpInput.commitment_cover``: a period straddling the term's end is not the term's) the reserved replicas in service
in t are Σ_m A_{τ,m,t} r_{k,τ,m} wherever r_{k,τ} appears above, and each commitment costs
p_{k,τ} Σ_t h_t A_{τ,m,t}: the hours it serves inside the horizon. Months after the horizon are not
in the objective (the service is assumed to go on, as in multi-period capacity expansion); the plan
states what a commitment still owes after the horizon. With ``pay_full_term`` they are: p_{k,τ} L_τ 730, the whole term wherever it
ends (the service may stop with the horizon).

Demand is covered without load variables: by Hall's theorem (max-flow/min-cut on the bipartite
graph user region → candidate), a load split x_{u,k,t} ≥ 0 with Σ_k x_{u,k,t} ≥ d_{u,t}(1+η) and
Σ_u x_{u,k,t} ≤ c_k n_{k,t} exists iff for every set S of user regions the candidates that may
serve some u ∈ S have the capacity for all of S. One row per distinct neighbourhood suffices, so
the model has only the integer replica variables (U ≤ 12): this made the 168-period chatbot
problem solve in seconds where the load-variable form stalled HiGHS. The load split itself is
recovered after the solve (``planner.milp.solve.allocate_load``).

Constraint families, one ``define_*`` each (see their docstrings), every row named with indices only
(``demand_s{mask}_t{t}``, ``spot_share_s{mask}_t{t}``, ``min_replicas_t{t}``, ``quota_q{q}_t{t}``,
``pool_p{p}_t{t}`` for disaggregated prefill/decode pools) so that
names are short, deterministic and valid in LP format. Construction loops in index order and every
expression is created from a list of ``(variable, coefficient)`` pairs (linear time).

Request-size buckets (``B > 1``, Mélange-style): bucket b holds a share π_b of every user region's
requests. Candidate k's units serve *service classes* j: each bucket on its own (c_{k,j} = its
capacity on that bucket) and the whole mix as it comes (c_{k,mix}, the plan without buckets), with
M_{j,b} the share of class j's requests in bucket b (identity for the bucket classes, π_b for the
mix). Continuous w_{k,j,t} ≥ 0 (units of k devoted to class j in period t) with
Σ_j w_{k,j,t} ≤ n_{k,t} (``define_bucket_split``) give per-bucket Hall rows
``demand_b{b}_s{mask}_t{t}`` on Σ_j M_{j,b} c_{k,j} w_{k,j,t}: the load form Σ_b x_{k,b}/c_{k,b} ≤ n_k,
exact, since within one bucket the split over user regions is again a transportation problem. The
spot rule gets its own split f_{k,j,t} of the non-spot units. With one bucket w = n and none of
these variables or rows exist.

``build_model(inp, relax=True, elastic=True)`` gives the LP relaxation with a penalised shortfall
``e_{u,t} ≥ 0`` on each demand row; :mod:`planner.milp.diagnose` uses it to locate infeasibility.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pulp

from planner.dominance import dominated
from planner.milp.data import PER_PERIOD_TIERS, RESERVED_TIERS, ROLE_DECODE, ROLE_PREFILL, TIERS, MilpInput

#: short variable-name prefix per tier
TIER_PREFIX: dict[str, str] = {
    "reserved-1y": "r1y",
    "reserved-3y": "r3y",
    "owned": "own",
    "on-demand": "od",
    "spot": "sp",
}

_GE = pulp.LpConstraintGE
_LE = pulp.LpConstraintLE


@dataclass
class VarIndex:
    """Where each decision variable of a built model lives.

    reserved: tier -> {(k, m): r_{k,τ,m}} (m = 0 only, the horizon's start, without commitments over time)
    per_period: tier -> {(k, t): o_{k,t} or s_{k,t}}
    load: unused by the Hall-condition model (kept empty for callers that inspect it)
    bucket_split: {(k, j, t): w_{k,j,t}} units of k serving service class j (request-size buckets only)
    fallback_split: {(k, j, t): f_{k,j,t}} non-spot units of k serving class j when spot is lost
    shortfall: {(u, b, t): e_{u,b,t}} (elastic models only; b = 0 with one bucket)
    region_up: {(g, t): y_{g,t}} binary: cloud region g has a replica in service in period t (HA only)
    stored: {g: z_g} binary: model artifact store g is kept (storage priced only)
    rows: constraint family -> row names, in construction order
    empty_infeasible: names of rows with no variable and a positive right-hand side (the model is
        infeasible whatever the solver says; kept in the model so that ``--dump-lp`` shows them)
    """

    K: int
    U: int
    T: int
    reserved: dict[str, dict[tuple[int, int], pulp.LpVariable]] = field(default_factory=dict)
    in_service: dict[str, list[list[int]]] = field(default_factory=dict)  # reserved tier -> t -> start months m covering t
    per_period: dict[str, dict[tuple[int, int], pulp.LpVariable]] = field(default_factory=dict)
    region_up: dict[tuple[int, int], pulp.LpVariable] = field(default_factory=dict)
    stored: dict[int, pulp.LpVariable] = field(default_factory=dict)
    starts: dict[tuple[str, int, int], pulp.LpVariable] = field(default_factory=dict)
    load: dict[tuple[int, int, int], pulp.LpVariable] = field(default_factory=dict)
    bucket_split: dict[tuple[int, int, int], pulp.LpVariable] = field(default_factory=dict)
    fallback_split: dict[tuple[int, int, int], pulp.LpVariable] = field(default_factory=dict)
    shortfall: dict[tuple[int, int, int], pulp.LpVariable] = field(default_factory=dict)
    api: dict[tuple[int, int], pulp.LpVariable] = field(default_factory=dict)
    rows: dict[str, list[str]] = field(default_factory=dict)
    empty_infeasible: list[str] = field(default_factory=list)

    def integer_vars(self) -> list[pulp.LpVariable]:
        out = [v for tier in self.reserved.values() for v in tier.values()]
        out += [v for tier in self.per_period.values() for v in tier.values()]
        return out

    def n_rows(self) -> int:
        return sum(len(v) for v in self.rows.values())


# --------------------------------------------------------------------------------------------------
# input checks


def validate_input(inp: MilpInput) -> list[str]:
    """Shape and range checks on a :class:`MilpInput`; returns a list of problems (empty = fine)."""
    errs: list[str] = []
    K, U = len(inp.candidate_ids), len(inp.user_regions)
    ph = np.asarray(inp.period_hours, dtype=float)
    T = ph.shape[0] if ph.ndim == 1 else -1
    if ph.ndim != 1:
        errs.append(f"period_hours must be 1-D, got shape {ph.shape}")
    elif not np.all(np.isfinite(ph) & (ph > 0)):
        errs.append("period_hours must be finite and > 0")
    if len(set(inp.candidate_ids)) != K:
        errs.append("candidate_ids must be unique")
    cap = np.asarray(inp.capacity_rps, dtype=float)
    if cap.shape != (K,):
        errs.append(f"capacity_rps has shape {cap.shape}, expected ({K},)")
    elif inp.bucket_share is None and not np.all(np.isfinite(cap) & ((cap > 0) | (roles(inp) == ROLE_PREFILL))):
        errs.append("capacity_rps must be finite and > 0 (0 only for prefill-pool candidates)")
    errs += _validate_pools(inp)
    if inp.bucket_share is not None:
        share = np.asarray(inp.bucket_share, dtype=float)
        bc = None if inp.bucket_capacity_rps is None else np.asarray(inp.bucket_capacity_rps, dtype=float)
        if share.ndim != 1 or not share.size or np.any(~np.isfinite(share) | (share < 0)) or abs(share.sum() - 1) > 1e-9:
            errs.append("bucket_share must be a non-empty 1-D array of shares >= 0 summing to 1")
        elif bc is None or bc.shape != (K, share.size):
            errs.append(f"bucket_capacity_rps must have shape ({K}, {share.size})")
        elif np.any(~np.isfinite(bc) | (bc < 0)):
            errs.append("bucket_capacity_rps must be finite and >= 0")
        mix = None if inp.mix_capacity_rps is None else np.asarray(inp.mix_capacity_rps, dtype=float)
        if mix is not None and (mix.shape != (K,) or np.any(~np.isfinite(mix) | (mix < 0))):
            errs.append(f"mix_capacity_rps must be ({K},) finite and >= 0")
        if inp.bucket_labels is not None and len(inp.bucket_labels) != share.size:
            errs.append("bucket_labels must name every bucket")
    for tier, price in inp.price_usd_per_hour.items():
        if tier not in TIERS:
            errs.append(f"unknown tier {tier!r} in price_usd_per_hour (known: {', '.join(TIERS)})")
            continue
        p = np.asarray(price, dtype=float)
        if p.shape != (K,):
            errs.append(f"price_usd_per_hour[{tier!r}] has shape {p.shape}, expected ({K},)")
        elif np.any(np.isinf(p)) or np.any(p[np.isfinite(p)] < 0):
            errs.append(f"price_usd_per_hour[{tier!r}] must be >= 0 or nan (not offered)")
    for tier in inp.tiers:
        if tier not in TIERS:
            errs.append(f"unknown tier {tier!r} in tiers (known: {', '.join(TIERS)})")
    dem = np.asarray(inp.demand_rps, dtype=float)
    if T >= 0 and dem.shape != (U, T):
        errs.append(f"demand_rps has shape {dem.shape}, expected ({U}, {T})")
    elif not np.all(np.isfinite(dem) & (dem >= 0)):
        errs.append("demand_rps must be finite and >= 0")
    cs = np.asarray(inp.can_serve)
    if cs.shape != (U, K):
        errs.append(f"can_serve has shape {cs.shape}, expected ({U}, {K})")
    if U > MAX_USER_REGIONS:
        errs.append(f"{U} user regions: at most {MAX_USER_REGIONS} are supported")
    if not (math.isfinite(inp.headroom) and inp.headroom >= 0):
        errs.append(f"headroom must be >= 0, got {inp.headroom}")
    if inp.api_usd_per_request is not None and not (math.isfinite(inp.api_usd_per_request) and inp.api_usd_per_request >= 0):
        errs.append(f"api_usd_per_request must be finite and >= 0, got {inp.api_usd_per_request}")
    if not (math.isfinite(inp.max_api_share) and 0 <= inp.max_api_share <= 1):
        errs.append(f"max_api_share must be in [0, 1], got {inp.max_api_share}")
    if not (math.isfinite(inp.max_spot_share) and 0 <= inp.max_spot_share):
        errs.append(f"max_spot_share must be >= 0 (values >= 1 mean no cap), got {inp.max_spot_share}")
    if int(inp.min_replicas) != inp.min_replicas or inp.min_replicas < 0:
        errs.append(f"min_replicas must be an integer >= 0, got {inp.min_replicas}")
    if not (math.isfinite(inp.spot_region_fallback) and 0 <= inp.spot_region_fallback <= 1):
        errs.append(f"spot_region_fallback must be in [0, 1], got {inp.spot_region_fallback}")
    elif inp.spot_region_fallback > 0 and (inp.region_members is None or inp.buckets > 1):
        errs.append("spot_region_fallback needs region_members and one request-size bucket")
    if inp.spot_availability is not None:
        sa = np.asarray(inp.spot_availability, dtype=float)
        if sa.shape != (K,) or np.any(~np.isfinite(sa) | (sa <= 0) | (sa > 1)):
            errs.append(f"spot_availability must be ({K},) in (0, 1]")
    if inp.storage_members is not None:
        sm, su = np.asarray(inp.storage_members), np.asarray(inp.storage_usd, dtype=float) if inp.storage_usd is not None else None
        if sm.ndim != 2 or sm.shape[1] != K or su is None or su.shape != (sm.shape[0],) or np.any(~np.isfinite(su) | (su < 0)):
            errs.append(f"storage_members must be (G, {K}) with storage_usd (G,) finite and >= 0")
    if inp.period_month is not None:
        pm = np.asarray(inp.period_month)
        if T >= 0 and (pm.shape != (T,) or not np.issubdtype(pm.dtype, np.integer) or np.any(pm < 0)):
            errs.append(f"period_month must be ({T},) integers >= 0")
        elif inp.period_end_month is not None:
            em = np.asarray(inp.period_end_month)
            if em.shape != (T,) or not np.issubdtype(em.dtype, np.integer) or np.any(em < pm):
                errs.append(f"period_end_month must be ({T},) integers, none before its period_month")
        terms = inp.term_months or {}
        for tier in RESERVED_TIERS:
            if tier in inp.tiers and not (isinstance(terms.get(tier), (int, np.integer)) and terms[tier] >= 1):
                errs.append(f"term_months[{tier!r}] must be a whole number of months >= 1 with period_month")
        for tier, first in (inp.earliest_start or {}).items():
            if tier not in RESERVED_TIERS or not (isinstance(first, (int, np.integer)) and first >= 0):
                errs.append(f"earliest_start[{tier!r}] must be a reserved tier's first month, an integer >= 0")
    if int(inp.min_regions) > 1:
        rm = None if inp.region_members is None else np.asarray(inp.region_members)
        if rm is None or rm.ndim != 2 or rm.shape[1] != K:
            errs.append(f"min_regions = {inp.min_regions} needs region_members of shape (G, {K})")
    return errs


def offered(inp: MilpInput) -> dict[str, np.ndarray]:
    """tier -> (K,) bool: the tier is allowed by the problem and priced (finite) for candidate k."""
    K = len(inp.candidate_ids)
    out: dict[str, np.ndarray] = {}
    for tier in TIERS:
        price = inp.price_usd_per_hour.get(tier)
        if tier not in inp.tiers or price is None:
            out[tier] = np.zeros(K, dtype=bool)
        else:
            out[tier] = np.isfinite(np.asarray(price, dtype=float))
    return out


def api_billing_ratio(inp: MilpInput) -> np.ndarray:
    """(U, T) mean ÷ planning rate: sending a share of a period's planning (peak) rate to the API
    sends that share of its mean rate, which is what the API bills."""
    peak = np.asarray(inp.demand_rps, dtype=float)
    if inp.mean_demand_rps is None:
        return np.ones_like(peak)
    mean = np.asarray(inp.mean_demand_rps, dtype=float)
    return np.where(peak > 0, np.minimum(mean / np.where(peak > 0, peak, 1.0), 1.0), 1.0)


def replicas_per_unit(inp: MilpInput) -> np.ndarray:
    """(K,) model replicas per unit bought (1 when the input does not say)."""
    if inp.replicas_per_unit is None:
        return np.ones(len(inp.candidate_ids))
    return np.asarray(inp.replicas_per_unit, dtype=float)


def roles(inp: MilpInput) -> np.ndarray:
    """(K,) ROLE_* of each candidate (every one ROLE_WHOLE without disaggregation)."""
    if inp.role is None:
        return np.zeros(len(inp.candidate_ids), dtype=int)
    return np.asarray(inp.role, dtype=int)


def serving_replicas(inp: MilpInput) -> np.ndarray:
    """(K,) replicas per unit that ``min_replicas`` counts: those that finish requests (a prefill-pool
    replica only starts them)."""
    return np.where(roles(inp) == ROLE_PREFILL, 0.0, replicas_per_unit(inp))


def _validate_pools(inp: MilpInput) -> list[str]:
    if inp.role is None:
        return []
    K = len(inp.candidate_ids)
    role = np.asarray(inp.role)
    errs = []
    if role.shape != (K,) or not np.isin(role, (0, ROLE_PREFILL, ROLE_DECODE)).all():
        return [f"role must be ({K},) of 0 (whole), 1 (prefill), 2 (decode)"]
    pc = None if inp.prefill_capacity_rps is None else np.asarray(inp.prefill_capacity_rps, dtype=float)
    if pc is None or pc.shape != (K,) or np.any(~np.isfinite(pc)) or np.any(pc[role == ROLE_PREFILL] <= 0):
        errs.append(f"prefill_capacity_rps must be ({K},) finite and > 0 for every prefill-pool candidate")
    elif np.any(np.asarray(inp.capacity_rps, dtype=float)[role == ROLE_PREFILL] != 0):
        errs.append("prefill-pool candidates serve no request whole: capacity_rps must be 0")
    pm = None if inp.pool_members is None else np.asarray(inp.pool_members, dtype=bool)
    if pm is None or pm.ndim != 2 or pm.shape[1] != K:
        errs.append(f"pool_members must be (P, {K}) with disaggregation")
    elif np.any(pm.sum(axis=0)[role != 0] != 1):
        errs.append("every prefill- or decode-pool candidate must be in exactly one pool")
    if inp.buckets > 1 or inp.spot_region_fallback > 0:
        errs.append("disaggregated pools are not combined with request-size buckets or the spot region fallback")
    return errs

def bucket_share(inp: MilpInput) -> np.ndarray:
    """(B,) share of requests per request-size bucket ([1.] without buckets)."""
    return np.ones(1) if inp.bucket_share is None else np.asarray(inp.bucket_share, dtype=float)


def bucket_capacity(inp: MilpInput) -> np.ndarray:
    """(K, B) requests/s one unit of k sustains on bucket b alone (capacity_rps as one column without buckets)."""
    if inp.bucket_share is None:
        return np.asarray(inp.capacity_rps, dtype=float)[:, None]
    return np.asarray(inp.bucket_capacity_rps, dtype=float)


def service_classes(inp: MilpInput) -> tuple[np.ndarray, np.ndarray]:
    """(K, J) capacity c_{k,j} of each service class and (J, B) M_{j,b}, the share of class j's
    requests in bucket b: one class per bucket, plus the whole mix when ``mix_capacity_rps`` is given."""
    cap = bucket_capacity(inp)
    cover = np.eye(cap.shape[1])
    if inp.buckets > 1 and inp.mix_capacity_rps is not None:
        cap = np.concatenate([cap, np.asarray(inp.mix_capacity_rps, dtype=float)[:, None]], axis=1)
        cover = np.concatenate([cover, bucket_share(inp)[None, :]], axis=0)
    return cap, cover


def _undominated_on_the_mix(inp: MilpInput, ks: np.ndarray) -> np.ndarray:
    """Candidates ``ks`` less those another one beats on the whole mix: same user regions, quotas,
    cloud region and artifact store, at least the mix capacity, replicas and spot availability, no
    more GPUs, no higher price in any tier (ties: lower index). Without buckets the candidate table
    is pruned like this already; with buckets it keeps every configuration that wins some bucket,
    which would make the start's own solve needlessly hard."""
    columns = [np.asarray(inp.can_serve, dtype=bool)[:, ks]]
    for members in (inp.quota_members, inp.region_members, inp.storage_members):
        if members is not None:
            columns.append(np.asarray(members, dtype=bool)[:, ks])
    signature = np.concatenate(columns, axis=0).T  # (len(ks), rows)
    off = offered(inp)
    prices = np.stack([np.where(off[t][ks], np.nan_to_num(np.asarray(inp.price_usd_per_hour.get(t, np.zeros(len(inp.candidate_ids))),
                                                                    dtype=float)[ks]), np.inf) for t in TIERS], axis=1)
    gpus = np.asarray(inp.gpus_per_replica if inp.gpus_per_replica is not None else np.ones(len(inp.candidate_ids)), dtype=float)[ks]
    beaten = dominated(signature, higher=np.asarray(inp.mix_capacity_rps, dtype=float)[ks], lower=prices, rank=np.arange(len(ks)),
                       also_higher=np.stack([replicas_per_unit(inp)[ks], spot_availability(inp)[ks]], axis=1), also_lower=gpus)
    keep = ~beaten
    return ks[keep]


def whole_mix_input(inp: MilpInput) -> tuple[MilpInput, np.ndarray]:
    """The same problem without buckets: every candidate that can serve the whole mix, at its capacity
    on it. Its plans are feasible for the bucketed problem (all units on the whole-mix class), so its
    optimum is a MIP start and an upper bound there. Returns the input and the kept candidates' indices."""
    keep = _undominated_on_the_mix(inp, np.flatnonzero(np.asarray(inp.mix_capacity_rps, dtype=float) > 0))

    def cut(arr, axis=0):
        return None if arr is None else np.take(np.asarray(arr), keep, axis=axis)

    reduced = replace(
        inp,
        candidate_ids=tuple(inp.candidate_ids[k] for k in keep),
        capacity_rps=cut(inp.mix_capacity_rps),
        price_usd_per_hour={tier: cut(p) for tier, p in inp.price_usd_per_hour.items()},
        can_serve=cut(inp.can_serve, axis=1),
        gpus_per_replica=cut(inp.gpus_per_replica),
        replicas_per_unit=cut(inp.replicas_per_unit),
        quota_members=cut(inp.quota_members, axis=1),
        region_members=cut(inp.region_members, axis=1),
        storage_members=cut(inp.storage_members, axis=1),
        spot_availability=cut(inp.spot_availability),
        spot_region_fallback=0.0,  # not checked with buckets (see validate_input)
        egress_usd_per_gb=cut(inp.egress_usd_per_gb),
        bucket_share=None, bucket_capacity_rps=None, bucket_labels=None, mix_capacity_rps=None,
    )
    return reduced, keep


def bucket_capacity_in_service(inp: MilpInput, units: np.ndarray) -> np.ndarray:
    """(K, B, T) requests/s of each bucket the units carry: c_k n_{k,t} with one bucket (``units`` =
    n, (K, T)); Σ_j M_{j,b} c_{k,j} w_{k,j,t} with buckets (``units`` = w, (K, J, T))."""
    units = np.asarray(units, dtype=float)
    if inp.buckets == 1:
        return bucket_capacity(inp)[:, :, None] * (units if units.ndim == 3 else units[:, None, :])
    cap, cover = service_classes(inp)
    return np.einsum("kj,jb,kjt->kbt", cap, cover, units)


def spot_rule_applies(inp: MilpInput) -> bool:
    """The spot rule has rows: σ < 1 and spot is an allowed, priced tier of some candidate."""
    return float(inp.max_spot_share) < 1.0 and bool(offered(inp)["spot"].any())


def effective_demand(inp: MilpInput) -> np.ndarray:
    """(U, T) demand to cover, headroom included: d_{u,t} (1 + η)."""
    return np.asarray(inp.demand_rps, dtype=float) * (1.0 + float(inp.headroom))


# --------------------------------------------------------------------------------------------------
# variables


def _new_var(prob: pulp.LpProblem, name: str, integer: bool) -> pulp.LpVariable:
    cat = pulp.LpInteger if integer else pulp.LpContinuous
    add = getattr(prob, "add_variable", None)  # PuLP >= 3.3 / 4: variables belong to the model
    if add is not None:
        return add(name, lowBound=0, upBound=None, cat=cat)
    return pulp.LpVariable(name, lowBound=0, upBound=None, cat=cat)  # pragma: no cover (PuLP < 3.3)


def define_variables(prob: pulp.LpProblem, inp: MilpInput, relax: bool = False) -> VarIndex:
    """Create r_{k,τ} (r_{k,τ,m} per start month with ``period_month``), o_{k,t}, s_{k,t} (integer
    unless ``relax``); with request-size buckets the continuous splits w_{k,j,t} (and f_{k,j,t} when
    the spot rule applies) where c_{k,j} > 0; with an API tier the continuous API requests
    0 ≤ a_{u,t} ≤ α d_{u,t} (α = max_api_share).

    r_{k,τ} exists iff τ ∈ R is offered by k; o/s_{k,t} iff on-demand/spot is offered by k.
    """
    K, U, T = len(inp.candidate_ids), len(inp.user_regions), len(inp.period_hours)
    idx = VarIndex(K=K, U=U, T=T)
    off = offered(inp)
    integer = not relax
    for tier in RESERVED_TIERS:
        pre = TIER_PREFIX[tier]
        if inp.period_month is None:
            idx.reserved[tier] = {(k, 0): _new_var(prob, f"{pre}_k{k}", integer) for k in range(K) if off[tier][k]}
        else:
            idx.reserved[tier] = {(k, m): _new_var(prob, f"{pre}_k{k}_m{m}", integer)
                                  for k in range(K) if off[tier][k] for m in range(inp.first_start(tier), inp.months)}
        cover = inp.commitment_cover(tier) if off[tier].any() else np.zeros((inp.months, T), dtype=bool)
        idx.in_service[tier] = [np.flatnonzero(cover[:, t]).tolist() for t in range(T)]
    for tier in PER_PERIOD_TIERS:
        pre = TIER_PREFIX[tier]
        idx.per_period[tier] = {
            (k, t): _new_var(prob, f"{pre}_k{k}_t{t}", integer)
            for k in range(K)
            if off[tier][k]
            for t in range(T)
        }
    if inp.buckets > 1:
        cap, _ = service_classes(inp)
        fallback = spot_rule_applies(inp)
        for k in range(K):
            for j in range(cap.shape[1]):
                if cap[k, j] <= 0:
                    continue
                for t in range(T):
                    idx.bucket_split[(k, j, t)] = _new_var(prob, f"w_k{k}_j{j}_t{t}", False)
                    if fallback:
                        idx.fallback_split[(k, j, t)] = _new_var(prob, f"f_k{k}_j{j}_t{t}", False)
    if inp.api_usd_per_request is not None:
        dem = np.asarray(inp.demand_rps, dtype=float)
        for u in range(U):
            for t in range(T):
                if dem[u, t] > 0:
                    v = _new_var(prob, f"api_u{u}_t{t}", False)
                    v.upBound = float(inp.max_api_share) * float(dem[u, t])
                    idx.api[(u, t)] = v
    return idx


def _api_terms(idx: VarIndex, members, t: int, coef: float) -> list:
    """(1 + η)-weighted API requests of the user regions in ``members``: a request sent to the API
    needs no headroom on the fleet, so it relieves (1 + η) of required capacity."""
    return [(idx.api[(int(u), t)], coef) for u in members if (int(u), t) in idx.api]


def _reserved_terms(idx: VarIndex, k: int, t: int) -> list[pulp.LpVariable]:
    """The commitments of k in service in t: Σ_{τ∈R} r_{k,τ} (Σ_{τ∈R} Σ_m A_{τ,m,t} r_{k,τ,m} over time)."""
    return [idx.reserved[tier][(k, m)] for tier in RESERVED_TIERS if idx.reserved[tier]
            for m in idx.in_service[tier][t] if (k, m) in idx.reserved[tier]]


def _replica_terms(idx: VarIndex, k: int, t: int) -> list[pulp.LpVariable]:
    """The variables whose sum is n_{k,t}."""
    out = _reserved_terms(idx, k, t)
    out += [idx.per_period[tier][(k, t)] for tier in PER_PERIOD_TIERS if (k, t) in idx.per_period[tier]]
    return out


def spot_availability(inp: MilpInput) -> np.ndarray:
    """(K,) a_k: the share of a spot unit's capacity the plan counts on (1 without derating)."""
    if inp.spot_availability is None:
        return np.ones(len(inp.candidate_ids))
    return np.asarray(inp.spot_availability, dtype=float)


def _serving_terms(inp: MilpInput, idx: VarIndex, k: int, t: int) -> list[tuple[pulp.LpVariable, float]]:
    """(variable, units of capacity) whose sum is the capacity-weighted units of k in t:
    Σ_{τ∈R} r_{k,τ} + o_{k,t} + a_k s_{k,t} (a spot unit counts for its availability a_k)."""
    out = [(v, 1.0) for v in _reserved_terms(idx, k, t)]
    od = idx.per_period["on-demand"].get((k, t))
    sp = idx.per_period["spot"].get((k, t))
    out += [(od, 1.0)] if od is not None else []
    out += [(sp, float(spot_availability(inp)[k]))] if sp is not None else []
    return out


def _add_row(prob: pulp.LpProblem, idx: VarIndex, family: str, name: str, terms, sense, rhs: float) -> None:
    expr = pulp.LpAffineExpression(terms)
    prob += pulp.LpConstraint(expr, sense=sense, name=name, rhs=float(rhs))
    idx.rows.setdefault(family, []).append(name)
    if not terms and ((sense == _GE and rhs > 0) or (sense == _LE and rhs < 0)):
        idx.empty_infeasible.append(name)


# --------------------------------------------------------------------------------------------------
# constraint families


MAX_USER_REGIONS = 12  # the coverage rows enumerate subsets of user regions


def coverage_sets(inp: MilpInput) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """The user-region sets whose coverage rows are needed: ``(mask, members, candidates)``.

    For every non-empty set S of user regions let N(S) be the candidates that may serve some u ∈ S.
    Sets with the same N(S) are dominated by their union (demand is ≥ 0), so one row per distinct
    neighbourhood is kept, for the largest S that has it. Sorted by mask: deterministic.
    """
    cs = np.asarray(inp.can_serve, dtype=bool)
    U = cs.shape[0]
    best: dict[bytes, int] = {}
    for mask in range(1, 1 << U):
        members = [u for u in range(U) if mask >> u & 1]
        key = cs[members].any(axis=0).tobytes()
        best[key] = best.get(key, 0) | mask
    out = []
    for mask in sorted(set(best.values())):
        members = np.array([u for u in range(U) if mask >> u & 1])
        out.append((mask, members, np.flatnonzero(cs[members].any(axis=0))))
    return out


def _capacity_terms(inp: MilpInput, idx: VarIndex, cap: np.ndarray, cover: np.ndarray, k: int, b: int, t: int, firm: bool) -> list:
    """Capacity of candidate k for bucket b in period t: c_k n_{k,t} with one bucket, else
    Σ_j M_{j,b} c_{k,j} w_{k,j,t}; ``firm``: without spot units (c_k (Σ_R r_{k,τ} + o_{k,t}), else the f split)."""
    if inp.buckets > 1:
        split = idx.fallback_split if firm else idx.bucket_split
        return [(split[(k, j, t)], float(cover[j, b] * cap[k, j])) for j in range(cap.shape[1])
                if cover[j, b] > 0 and (k, j, t) in split]
    if not firm:
        return [(v, float(cap[k, 0]) * a) for v, a in _serving_terms(inp, idx, k, t)]
    out = [(v, float(cap[k, 0])) for v in _reserved_terms(idx, k, t)]
    od = idx.per_period["on-demand"].get((k, t))
    return out + ([(od, float(cap[k, 0]))] if od is not None else [])


def _row_name(inp: MilpInput, family: str, b: int, mask: int, t: int) -> str:
    return f"{family}_s{mask}_t{t}" if inp.buckets == 1 else f"{family}_b{b}_s{mask}_t{t}"


def define_demand(prob: pulp.LpProblem, inp: MilpInput, idx: VarIndex, elastic: bool = False) -> None:
    """Demand with headroom covered by the capacity allowed to serve it (Hall's condition), for every
    period t, request-size bucket b and user-region set S from :func:`coverage_sets` with demand in t::

        demand_b{b}_s{mask}_t{t}:   Σ_{k ∈ N(S)} Σ_j M_{j,b} c_{k,j} w_{k,j,t} + (1 + η) π_b Σ_{u∈S} a_{u,t}  (+ Σ_{u∈S} e_{u,b,t} if elastic)
                                       ≥  π_b Σ_{u∈S} d_{u,t} (1 + η)

    With one bucket (π = 1, M = 1, w = n, the row is named ``demand_s{mask}_t{t}``) and one user region this
    is Σ_k c_k n_{k,t} ≥ d_t (1 + η). API requests take the workload's size mix.
    """
    dem = effective_demand(inp)
    raw = np.asarray(inp.demand_rps, dtype=float)
    cap, cover = service_classes(inp)
    share = bucket_share(inp)
    sets = coverage_sets(inp)
    if elastic:
        for u in range(idx.U):
            for b in range(inp.buckets):
                for t in range(idx.T):
                    if raw[u, t] > 0 and share[b] > 0:
                        name = f"short_u{u}_t{t}" if inp.buckets == 1 else f"short_u{u}_b{b}_t{t}"
                        idx.shortfall[(u, b, t)] = _new_var(prob, name, False)
    for t in range(idx.T):
        for b in range(inp.buckets):
            if share[b] <= 0:
                continue
            for mask, members, ks in sets:
                if raw[members, t].sum() <= 0:
                    continue
                terms = [term for k in ks for term in _capacity_terms(inp, idx, cap, cover, int(k), b, t, firm=False)]
                terms += _api_terms(idx, members, t, (1.0 + float(inp.headroom)) * float(share[b]))
                if elastic:
                    terms += [(idx.shortfall[(int(u), b, t)], 1.0) for u in members if (int(u), b, t) in idx.shortfall]
                _add_row(prob, idx, "demand", _row_name(inp, "demand", b, mask, t), terms, _GE, float(share[b]) * dem[members, t].sum())


def define_bucket_split(prob: pulp.LpProblem, inp: MilpInput, idx: VarIndex) -> None:
    """Request-size buckets only: the units of k serving the buckets are the units in service, and
    (spot rule) the units serving them without spot are the non-spot units::

        bucket_split_k{k}_t{t}:     Σ_j w_{k,j,t} − (Σ_{τ∈R} r_{k,τ} + o_{k,t} + a_k s_{k,t})  ≤  0
        fallback_split_k{k}_t{t}:   Σ_j f_{k,j,t} − (Σ_{τ∈R} r_{k,τ} + o_{k,t})  ≤  0
    """
    if inp.buckets <= 1:
        return
    n_classes = service_classes(inp)[0].shape[1]
    for family, split, firm in (("bucket_split", idx.bucket_split, False), ("fallback_split", idx.fallback_split, True)):
        if not split:
            continue
        for k in range(idx.K):
            for t in range(idx.T):
                ws = [(split[(k, j, t)], 1.0) for j in range(n_classes) if (k, j, t) in split]
                if not ws:
                    continue
                units = _serving_terms(inp, idx, k, t)
                if firm:
                    spot = idx.per_period["spot"].get((k, t))
                    units = [(v, a) for v, a in units if v is not spot]
                _add_row(prob, idx, family, f"{family}_k{k}_t{t}", ws + [(v, -a) for v, a in units], _LE, 0.0)


def define_spot_share(prob: pulp.LpProblem, inp: MilpInput, idx: VarIndex) -> None:
    """Spot risk: losing every spot replica must still leave (1 − σ) of the demand (with headroom)
    covered by reserved and on-demand capacity, for every period t, bucket b and coverage set S (so
    at most a share σ of the required capacity rests on spot). Skipped when σ ≥ 1 or there is no
    spot variable::

        spot_share_b{b}_s{mask}_t{t}:   Σ_{k ∈ N(S)} Σ_j M_{j,b} c_{k,j} f_{k,j,t} + (1 + η) π_b Σ_{u∈S} a_{u,t}  ≥  (1 − σ) π_b Σ_{u∈S} d_{u,t} (1 + η)

    with one bucket c_k (Σ_{τ∈R} r_{k,τ} + o_{k,t}) in place of the f terms (row ``spot_share_s{mask}_t{t}``).
    A covering row like the demand rows (more capacity never violates it), which keeps dominance
    pruning of candidates exact and the LP relaxation tight; a "share of installed capacity" form
    (Σ c s ≤ σ Σ c n) stalled HiGHS on the 168-period chatbot problem (42 % gap after 60 s).
    """
    sigma = float(inp.max_spot_share)
    spot = idx.per_period.get("spot", {})
    if sigma >= 1.0 or not spot:
        return
    dem = effective_demand(inp)
    raw = np.asarray(inp.demand_rps, dtype=float)
    cap, cover = service_classes(inp)
    share = bucket_share(inp)
    for t in range(idx.T):
        for b in range(inp.buckets):
            if share[b] <= 0:
                continue
            for mask, members, ks in coverage_sets(inp):
                if raw[members, t].sum() <= 0:
                    continue
                terms = [term for k in ks for term in _capacity_terms(inp, idx, cap, cover, int(k), b, t, firm=True)]
                terms += _api_terms(idx, members, t, (1.0 + float(inp.headroom)) * float(share[b]))  # the API is not reclaimed like spot
                if idx.shortfall:  # elastic: unmet demand is exempt from the spot rule too
                    terms += [(idx.shortfall[(int(u), b, t)], 1.0 - sigma) for u in members if (int(u), b, t) in idx.shortfall]
                _add_row(prob, idx, "spot_share", _row_name(inp, "spot_share", b, mask, t), terms, _GE,
                         (1.0 - sigma) * float(share[b]) * dem[members, t].sum())


def spot_fallback_regions(inp: MilpInput, idx: VarIndex | None = None) -> list[int]:
    """Cloud regions whose spot loss the fallback rule checks: those with a candidate offering spot."""
    if float(inp.spot_region_fallback) <= 0 or inp.region_members is None:
        return []
    spot = offered(inp)["spot"]
    return [g for g, members in enumerate(np.asarray(inp.region_members, dtype=bool)) if (members & spot).any()]


def define_spot_fallback(prob: pulp.LpProblem, inp: MilpInput, idx: VarIndex) -> None:
    """Spot fallback per region: losing every spot unit of any one cloud region g still leaves a share
    φ of the demand (with headroom) covered, for every period t and coverage set S (one bucket only)::

        spot_fallback_g{g}_s{mask}_t{t}:   Σ_{k ∈ N(S)} c_k ñ_{k,t} − Σ_{k ∈ N(S) ∩ g} c_k a_k s_{k,t} + (1 + η) Σ_{u∈S} a_{u,t}  ≥  φ Σ_{u∈S} d_{u,t} (1 + η)
    """
    phi = float(inp.spot_region_fallback)
    regions = spot_fallback_regions(inp, idx)
    if not regions:
        return
    members = np.asarray(inp.region_members, dtype=bool)
    dem = effective_demand(inp)
    raw = np.asarray(inp.demand_rps, dtype=float)
    cap = bucket_capacity(inp)[:, 0]
    for g in regions:
        for t in range(idx.T):
            for mask, users, ks in coverage_sets(inp):
                if raw[users, t].sum() <= 0:
                    continue
                terms = []
                for k in ks:
                    k = int(k)
                    spot = idx.per_period["spot"].get((k, t))
                    terms += [(v, float(cap[k]) * a) for v, a in _serving_terms(inp, idx, k, t) if not (members[g, k] and v is spot)]
                terms += _api_terms(idx, users, t, 1.0 + float(inp.headroom))
                if idx.shortfall:
                    terms += [(idx.shortfall[(int(u), 0, t)], phi) for u in users if (int(u), 0, t) in idx.shortfall]
                _add_row(prob, idx, "spot_fallback", f"spot_fallback_g{g}_s{mask}_t{t}", terms, _GE, phi * dem[users, t].sum())


def define_min_replicas(prob: pulp.LpProblem, inp: MilpInput, idx: VarIndex) -> None:
    """At least m replicas in service in every period (skipped when m = 0)::

        min_replicas_t{t}:   Σ_k ρ_k n_{k,t}  ≥  m      (ρ_k = replicas_per_unit, 1 when not given;
                                                     0 for prefill-pool candidates, which finish no request)
    """
    m = int(inp.min_replicas)
    if m <= 0:
        return
    rho = serving_replicas(inp)
    for t in range(idx.T):
        terms = [(v, float(rho[k])) for k in range(idx.K) if rho[k] > 0 for v in _replica_terms(idx, k, t)]
        _add_row(prob, idx, "min_replicas", f"min_replicas_t{t}", terms, _GE, m)


def define_prefill_pools(prob: pulp.LpProblem, inp: MilpInput, idx: VarIndex) -> None:
    """Disaggregated serving: in each cloud region p the prefill pool keeps up with the decode pool
    (prompts are prefilled where their KV cache can move to a decode instance over the region's
    network). Decode-pool candidates cover demand like any other (their capacity c_k counts in the
    demand and spot rows); prefill-pool candidates cover none, and with c^p_k their prompts/s at the
    TTFT target and u_{k,t} = Σ_R r_{k,τ} + o_{k,t} + a_k s_{k,t} the capacity-weighted units::

        pool_p{p}_t{t}:        Σ_{k ∈ P_p} c^p_k u_{k,t} − Σ_{k ∈ D_p} c_k u_{k,t}  ≥  0

    and, when the spot rule applies, the same over the non-spot units (losing every spot unit
    leaves prefill for the decode capacity that remains)::

        pool_firm_p{p}_t{t}:   Σ_{k ∈ P_p} c^p_k (Σ_R r + o)_{k,t} − Σ_{k ∈ D_p} c_k (Σ_R r + o)_{k,t}  ≥  0

    Sufficient, not necessary: the prefill pool matches the decode pool's capacity, not only the
    load it carries: where ``min_replicas``, ``min_regions`` or the spot rule keep decode capacity
    above the demand, the prefill pool is sized for that capacity too (the plan's assumptions say so)."""
    if inp.role is None or inp.pool_members is None:
        return
    role = roles(inp)
    cap = np.asarray(inp.capacity_rps, dtype=float)
    pcap = np.asarray(inp.prefill_capacity_rps, dtype=float)
    firm_rows = spot_rule_applies(inp)
    for p, members in enumerate(np.asarray(inp.pool_members, dtype=bool)):
        pre = [int(k) for k in np.flatnonzero(members & (role == ROLE_PREFILL))]
        dec = [int(k) for k in np.flatnonzero(members & (role == ROLE_DECODE))]
        if not dec:
            continue
        for t in range(idx.T):
            terms = ([(v, float(pcap[k]) * a) for k in pre for v, a in _serving_terms(inp, idx, k, t)]
                     + [(v, -float(cap[k]) * a) for k in dec for v, a in _serving_terms(inp, idx, k, t)])
            _add_row(prob, idx, "pools", f"pool_p{p}_t{t}", terms, _GE, 0.0)
            if firm_rows:
                firm = ([(v, float(pcap[k])) for k in pre for v in _firm_terms(idx, k, t)]
                        + [(v, -float(cap[k])) for k in dec for v in _firm_terms(idx, k, t)])
                _add_row(prob, idx, "pools", f"pool_firm_p{p}_t{t}", firm, _GE, 0.0)


def _firm_terms(idx: VarIndex, k: int, t: int) -> list[pulp.LpVariable]:
    """The non-spot units of k in service in t: Σ_R r_{k,τ} + o_{k,t}."""
    out = _reserved_terms(idx, k, t)
    od = idx.per_period["on-demand"].get((k, t))
    return out + ([od] if od is not None else [])


def define_quotas(prob: pulp.LpProblem, inp: MilpInput, idx: VarIndex) -> None:
    """GPUs in service under each quota q, in every period t (g_k = GPUs per unit of k)::

        quota_q{q}_t{t}:   Σ_{k ∈ q} g_k n_{k,t}  ≤  Q_q
    """
    if inp.quota_members is None or inp.quota_max_gpus is None:
        return
    gpus = np.asarray(inp.gpus_per_replica if inp.gpus_per_replica is not None else np.ones(idx.K), dtype=float)
    for q, members in enumerate(np.asarray(inp.quota_members, dtype=bool)):
        for t in range(idx.T):
            terms = [(v, float(gpus[k])) for k in np.flatnonzero(members) for v in _replica_terms(idx, int(k), t)]
            _add_row(prob, idx, "quota", f"quota_q{q}_t{t}", terms, _LE, float(inp.quota_max_gpus[q]))


def define_min_regions(prob: pulp.LpProblem, inp: MilpInput, idx: VarIndex, relax: bool = False) -> None:
    """High availability: replicas in service in at least N cloud regions in every period (skipped
    when N ≤ 1). With binary y_{g,t} (region g is up in period t) and the region's candidates k ∈ g::

        region_up_g{g}_t{t}:   Σ_{k ∈ g} n_{k,t} − y_{g,t}  ≥  0      (y may be 1 only if g runs a replica)
        min_regions_t{t}:      Σ_g y_{g,t}  ≥  N
    """
    n_min = int(inp.min_regions)
    if n_min <= 1 or inp.region_members is None:
        return
    members = np.asarray(inp.region_members, dtype=bool)
    for t in range(idx.T):
        ups = []
        for g in range(members.shape[0]):
            y = _new_var(prob, f"up_g{g}_t{t}", not relax)
            y.upBound = 1
            idx.region_up[(g, t)] = y
            terms = [(v, 1.0) for k in np.flatnonzero(members[g]) for v in _replica_terms(idx, int(k), t)]
            _add_row(prob, idx, "min_regions", f"region_up_g{g}_t{t}", terms + [(y, -1.0)], _GE, 0.0)
            ups.append((y, 1.0))
        _add_row(prob, idx, "min_regions", f"min_regions_t{t}", ups, _GE, float(n_min))


def units_bound(inp: MilpInput) -> np.ndarray:
    """(K,) units of k an optimal plan never exceeds in a period: enough for the whole peak demand on
    its slowest class it serves, the minimum replicas, and one more. Removing a unit above it (a spot
    one first) keeps every covering row (demand, spot rule, minimum replicas and regions) satisfied
    and the upper-bound rows (quotas, storage) too, and costs are >= 0."""
    peak = float(effective_demand(inp).sum(axis=0).max(initial=0.0))
    cap, _ = service_classes(inp)
    slowest = np.where(cap > 0, cap, np.inf).min(axis=1)
    rho = replicas_per_unit(inp)
    counted = np.minimum(spot_availability(inp), 1.0)  # a spot unit carries only its availability
    bound = np.ceil(peak / (slowest * counted)) + np.ceil(int(inp.min_replicas) / rho) + 1.0
    # commitments over time: a unit committed at month m serves months it is not needed in, so the
    # argument holds per start month (more than N_k started at m: drop one of the shortest term, all
    # its periods keep > N_k units) and per period for the per-period tiers: in service at most
    # N_k times the start months whose commitments can overlap
    bound *= overlapping_starts(inp)
    if inp.role is not None and inp.pool_members is not None:
        # a prefill unit covers its pool's decode capacity, which the rules above may push far past
        # the demand: enough prefill units for every decode unit of the pool at its own bound
        role, pcap = roles(inp), np.asarray(inp.prefill_capacity_rps, dtype=float)
        capacity = np.asarray(inp.capacity_rps, dtype=float)
        for members in np.asarray(inp.pool_members, dtype=bool):
            decode = members & (role == ROLE_DECODE)
            need = float((capacity[decode] * bound[decode]).sum())
            for k in np.flatnonzero(members & (role == ROLE_PREFILL)):
                bound[k] = np.ceil(need / (pcap[k] * counted[k])) + 1.0  # the decode bounds overlap already
    return bound


def overlapping_starts(inp: MilpInput) -> int:
    """Start months whose commitments can be in service at once: min(M, the longest term) (1 without
    commitments over time)."""
    if inp.period_month is None:
        return 1
    terms = [int(inp.term_months[t]) for t in RESERVED_TIERS if t in inp.tiers and t in (inp.term_months or {})]
    return min(inp.months, max(terms, default=1))


def define_storage(prob: pulp.LpProblem, inp: MilpInput, idx: VarIndex, relax: bool = False) -> None:
    """Model artifacts: store g (the weights at one precision in one cloud region) is paid for the
    horizon when any of its candidates has a unit in service in any period. Binary z_g, one row per
    member candidate k with M_k = T N_k (N_k = :func:`units_bound`; per candidate rather than one
    row per store: a tighter relaxation, measured 12.8 → 7.3 s on chatbot-70b)::

        storage_g{g}_k{k}:   Σ_t n_{k,t} − M_k z_g  ≤  0          objective: + S_g z_g
    """
    if inp.storage_members is None:
        return
    bound = units_bound(inp)
    for g, members in enumerate(np.asarray(inp.storage_members, dtype=bool)):
        ks = np.flatnonzero(members)
        if not ks.size:
            continue
        z = _new_var(prob, f"store_g{g}", not relax)
        z.upBound = 1
        idx.stored[g] = z
        for k in ks:
            big_m = float(idx.T * bound[k])
            terms = [(v, 1.0) for t in range(idx.T) for v in _replica_terms(idx, int(k), t)]
            _add_row(prob, idx, "storage", f"storage_g{g}_k{k}", terms + [(z, -big_m)], _LE, 0.0)


def define_cold_starts(prob: pulp.LpProblem, inp: MilpInput, idx: VarIndex) -> None:
    """Scale-up cost: an on-demand or spot instance started in period t is paid for ``L`` =
    ``cold_start_hours`` before it serves. Continuous g_{τ,k,t} ≥ 0 for τ ∈ P, one row per period
    (cyclic: the representative horizon repeats, so period 0 follows period T−1; with commitments
    over time the periods are a timeline, and period 0 starts every instance it runs: x_{τ,k,−1} = 0)::

        starts_{od|sp}_k{k}_t{t}:   g_{τ,k,t} − x_{τ,k,t} + x_{τ,k,t−1}  ≥  0      objective: + L p_{k,τ} g_{τ,k,t}

    At the optimum g = max(x_t − x_{t−1}, 0), an integer since x is. Only with T > 1 and L > 0.
    Periods must be in time order here, so the pipeline merges only runs of consecutive equal
    periods (exact: with g's triangle inequality, a constant schedule over a run is never dearer).
    """
    if not inp.cold_start_hours > 0 or idx.T < 2:
        return
    for tier in PER_PERIOD_TIERS:
        pre = TIER_PREFIX[tier]
        for (k, t), x in idx.per_period[tier].items():
            g = _new_var(prob, f"g{pre}_k{k}_t{t}", False)
            idx.starts[(tier, k, t)] = g
            before = [(idx.per_period[tier][(k, (t - 1) % idx.T)], 1.0)] if t > 0 or inp.cyclic else []
            _add_row(prob, idx, "cold_starts", f"starts_{pre}_k{k}_t{t}", [(g, 1.0), (x, -1.0)] + before, _GE, 0.0)


def objective_terms(inp: MilpInput, idx: VarIndex) -> list[tuple[pulp.LpVariable, float]]:
    """Cost coefficients: p_{k,τ} H for r_{k,τ} (p_{k,τ} Σ_t h_t A_{τ,m,t} for r_{k,τ,m}, or L_τ 730 paid in
    full: ``MilpInput.commitment_paid_hours``); h_t p_{k,τ} for o/s_{k,t}; S_g for z_g; L p_{k,τ} for
    g_{τ,k,t}; 3600 h_t p_api for a_{u,t}."""
    hours = np.asarray(inp.period_hours, dtype=float)
    terms: list[tuple[pulp.LpVariable, float]] = []
    for tier in RESERVED_TIERS:
        if not idx.reserved[tier]:
            continue
        price = np.asarray(inp.price_usd_per_hour[tier], dtype=float)
        served = inp.commitment_paid_hours(tier)
        for (k, m), v in idx.reserved[tier].items():
            terms.append((v, float(price[k]) * float(served[m])))
    for tier in PER_PERIOD_TIERS:
        if not idx.per_period[tier]:
            continue
        price = np.asarray(inp.price_usd_per_hour[tier], dtype=float)
        for (k, t), v in idx.per_period[tier].items():
            terms.append((v, float(price[k]) * float(hours[t])))
    for g, z in idx.stored.items():
        terms.append((z, float(np.asarray(inp.storage_usd, dtype=float)[g])))
    for (tier, k, t), g in idx.starts.items():
        terms.append((g, float(inp.cold_start_hours) * float(np.asarray(inp.price_usd_per_hour[tier], dtype=float)[k])))
    billed = api_billing_ratio(inp)
    for (u, t), v in idx.api.items():  # requests/s × seconds in the period × USD per request
        terms.append((v, float(inp.api_usd_per_request) * float(hours[t]) * 3600.0 * float(billed[u, t])))
    return terms


def shortfall_penalty(inp: MilpInput) -> float:
    """USD per req/s of unmet demand in the elastic model: far above any way of serving it."""
    cap = service_classes(inp)[0].max(axis=1) if inp.buckets > 1 else np.asarray(inp.capacity_rps, dtype=float)
    cap = np.where(cap > 0, cap, np.inf)
    H = float(np.asarray(inp.period_hours, dtype=float).sum())
    worst = 1.0
    for tier, price in inp.price_usd_per_hour.items():
        p = np.asarray(price, dtype=float)
        ok = np.isfinite(p)
        if ok.any() and cap.size:
            worst = max(worst, float(np.max(p[ok] * H / cap[ok])))
    sigma = float(inp.max_spot_share)
    if 0 < sigma < 1:
        worst /= sigma  # serving by spot may need non-spot capacity alongside
    return 1e3 * worst


def define_objective(prob: pulp.LpProblem, inp: MilpInput, idx: VarIndex, elastic: bool = False) -> None:
    """Set the objective (see module docstring); plus Σ_{u,t} M e_{u,t} when elastic."""
    terms = objective_terms(inp, idx)
    if elastic and idx.shortfall:
        pen = shortfall_penalty(inp)
        terms += [(e, pen) for e in idx.shortfall.values()]
    prob.setObjective(pulp.LpAffineExpression(terms))


# --------------------------------------------------------------------------------------------------
# entry points


def build_model(inp: MilpInput, *, relax: bool = False, elastic: bool = False) -> tuple[pulp.LpProblem, VarIndex]:
    """Build the MILP (or, with ``relax``, its LP relaxation; with ``elastic``, penalised demand).

    Raises ``ValueError`` listing every problem found by :func:`validate_input`.
    """
    errs = validate_input(inp)
    if errs:
        raise ValueError("invalid MILP input: " + "; ".join(errs))
    name = "capacity_plan" + ("_relaxed" if relax else "") + ("_elastic" if elastic else "")
    prob = pulp.LpProblem(name, pulp.LpMinimize)
    idx = define_variables(prob, inp, relax=relax)
    define_demand(prob, inp, idx, elastic=elastic)
    define_bucket_split(prob, inp, idx)
    define_spot_share(prob, inp, idx)
    define_spot_fallback(prob, inp, idx)
    define_min_replicas(prob, inp, idx)
    define_prefill_pools(prob, inp, idx)
    define_quotas(prob, inp, idx)
    define_min_regions(prob, inp, idx, relax=relax)
    define_storage(prob, inp, idx, relax=relax)
    define_cold_starts(prob, inp, idx)
    define_objective(prob, inp, idx, elastic=elastic)
    return prob, idx


def write_lp(inp: MilpInput, path: str | Path) -> Path:
    """Build the model and write it in LP format (``--dump-lp``); nothing is solved."""
    prob, _ = build_model(inp)
    path = Path(path)
    prob.writeLP(str(path))
    return path
