"""Typed hand-off into and out of the MILP.

Index sets (all in a fixed, sorted order chosen by the caller, so that the model is deterministic):

* ``k`` candidates (rows of the candidate table), ``K = len(candidate_ids)``
* ``u`` user regions, ``U = len(user_regions)``
* ``t`` periods, ``T = len(period_hours)``
* ``τ`` tiers, from :data:`TIERS`; a tier is offered by candidate ``k`` when its price is finite.
* ``b`` request-size buckets, ``B = len(bucket_share)`` (1 when the input has no buckets).
* ``p`` disaggregation pools, one per cloud region with decode-pool candidates (``pool_members``).
* ``m`` commitment start months, ``M = max(period_month) + 1`` (only with ``period_month``: otherwise
  one, the horizon's start).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from planner.units import HOURS_PER_MONTH

RESERVED_TIERS: tuple[str, ...] = ("reserved-1y", "reserved-3y", "owned")  # bought for the whole horizon
# what a candidate does with a request (MilpInput.role): serve it whole, or one phase of it in a
# disaggregated deployment (a prefill pool computes the prompt and first token, a decode pool the rest)
ROLE_WHOLE, ROLE_PREFILL, ROLE_DECODE = 0, 1, 2
ROLE_NAMES: tuple[str, ...] = ("whole", "prefill", "decode")
PER_PERIOD_TIERS: tuple[str, ...] = ("on-demand", "spot")
TIERS: tuple[str, ...] = RESERVED_TIERS + PER_PERIOD_TIERS
#: a commitment's term in months, where the catalog's tier says it (owned: the problem's server lifetime)
TERM_MONTHS: dict[str, int] = {"reserved-1y": 12, "reserved-3y": 36}


def months_of_periods(period_hours) -> np.ndarray:
    """(T,) the month each period starts in, months of HOURS_PER_MONTH (730 h) counted from the
    horizon's start, periods in time order: the calendar of commitments that start monthly."""
    hours = np.asarray(period_hours, dtype=float)
    starts = np.concatenate([[0.0], np.cumsum(hours)[:-1]])
    return np.floor(starts / HOURS_PER_MONTH + 1e-9).astype(np.int64)


def end_months_of_periods(period_hours) -> np.ndarray:
    """(T,) the month each period ends in (its last instant): a period that straddles a month's start
    ends in a later month than it starts."""
    ends = np.cumsum(np.asarray(period_hours, dtype=float))
    return np.ceil(ends / HOURS_PER_MONTH - 1e-9).astype(np.int64) - 1


@dataclass(frozen=True)
class MilpInput:
    """Everything the MILP needs, as arrays. Built by ``planner.candidates``/``planner.pipeline``.

    Attributes
    ----------
    candidate_ids: (K,) unique strings, sorted.
    capacity_rps: (K,) requests/s one replica of k sustains at the SLO (> 0); with request-size
        buckets, on the whole request mix (may be 0: a candidate may serve only some buckets).
    price_usd_per_hour: dict tier -> (K,) float array, USD per replica-hour; ``nan`` = tier not offered.
    user_regions: (U,) names.
    period_hours: (T,) hours each period represents in the horizon (> 0).
    demand_rps: (U, T) requests/s to serve in each user region and period (>= 0).
    can_serve: (U, K) bool: k may serve users of u (latency / residency / geography).
    headroom: capacity must cover demand × (1 + headroom).
    max_spot_share: spot capacity ≤ this share of total capacity in every period (0..1).
    min_replicas: at least this many replicas in service in every period (0 = no rule).
    tiers: tiers allowed by the problem (subset of TIERS).
    gpus_per_replica: (K,) GPUs in one unit of k (reported, and used by quota rules later).
    quota_members, quota_max_gpus: quotas on GPUs in service (Σ_{k∈q} gpus_per_replica_k n_{k,t} ≤ Q_q).
    replicas_per_unit: (K,) model replicas one unit of k runs (an instance of G GPUs at tensor
        parallelism tp runs G/tp); ``min_replicas`` counts these. ``None`` = 1 each.
    """

    candidate_ids: tuple[str, ...]
    capacity_rps: np.ndarray
    price_usd_per_hour: dict[str, np.ndarray]
    user_regions: tuple[str, ...]
    period_hours: np.ndarray
    demand_rps: np.ndarray
    can_serve: np.ndarray
    headroom: float = 0.0
    max_spot_share: float = 1.0
    min_replicas: int = 0
    tiers: tuple[str, ...] = TIERS
    gpus_per_replica: np.ndarray | None = None
    replicas_per_unit: np.ndarray | None = None
    api_usd_per_request: float | None = None  # per-token API as overflow/alternative; None = no API tier
    max_api_share: float = 1.0  # at most this share of each user region's demand may go to the API
    mean_demand_rps: np.ndarray | None = None  # (U, T) mean rate per period (API requests are billed at it); None = demand_rps
    quota_members: np.ndarray | None = None  # (Q, K) bool: k counts against quota q
    quota_max_gpus: np.ndarray | None = None  # (Q,) GPUs in service at most under quota q
    quota_labels: tuple[str, ...] | None = None  # (Q,) how the problem names each quota, for messages
    region_members: np.ndarray | None = None  # (G, K) bool: k is in cloud region g (high availability)
    region_labels: tuple[str, ...] | None = None  # (G,) 'cloud/region'
    min_regions: int = 1  # replicas in service in at least this many cloud regions in every period
    bucket_share: np.ndarray | None = None  # (B,) share of each user region's requests in request-size bucket b (sums to 1); None = one bucket
    bucket_capacity_rps: np.ndarray | None = None  # (K, B) requests/s one unit of k sustains at the SLO serving only bucket b (0 = cannot)
    bucket_labels: tuple[str, ...] | None = None  # (B,) names, for messages
    mix_capacity_rps: np.ndarray | None = None  # (K,) with buckets: requests/s one unit of k sustains on the whole mix as it comes (0 = cannot)
    spot_region_fallback: float = 0.0  # losing every spot unit of any one cloud region still covers this share of demand (0 = no rule; needs region_members)
    spot_availability: np.ndarray | None = None  # (K,) share of a spot unit's capacity counted (interruptions); None = 1
    egress_usd_per_gb: np.ndarray | None = None  # (K,) first paid internet-egress rate of k's cloud: the load split prefers cheaper egress
    storage_members: np.ndarray | None = None  # (G, K) bool: k needs model artifact store g (a cloud region and precision)
    storage_usd: np.ndarray | None = None  # (G,) USD over the horizon for keeping store g, paid when any member is in service
    storage_labels: tuple[str, ...] | None = None  # (G,) names, for messages
    cold_start_hours: float = 0.0  # hours an on-demand/spot instance is paid before it serves; each start (a rise from the previous period, cyclic) costs that × its price (0 = not priced)
    # disaggregated prefill/decode serving (None = every candidate serves requests whole):
    role: np.ndarray | None = None  # (K,) ROLE_*: whole requests, the prefill pool, or the decode pool
    prefill_capacity_rps: np.ndarray | None = None  # (K,) prefill-pool candidates: prompts/s one unit prefills at the TTFT target (0 elsewhere)
    pool_members: np.ndarray | None = None  # (P, K) bool: the candidates of one cloud region, whose prefill pool must keep up with its decode pool
    pool_labels: tuple[str, ...] | None = None  # (P,) 'cloud/region'
    # commitments over time (None = every commitment is bought at the horizon's start and held to its end):
    period_month: np.ndarray | None = None  # (T,) month m each period starts in (months_of_periods); a commitment starts at any month's start
    period_end_month: np.ndarray | None = None  # (T,) month each period ends in (end_months_of_periods); None = the month it starts in
    term_months: dict[str, int] | None = None  # reserved tier -> months a commitment lasts (needed with period_month)
    pay_full_term: bool = False  # with period_month: the objective pays each commitment's whole term, also the months after the horizon
    earliest_start: dict[str, int] | None = None  # with period_month: reserved tier -> first month a commitment may start (lead time: owned servers arrive weeks after the order)

    @property
    def buckets(self) -> int:
        return 1 if self.bucket_share is None else len(self.bucket_share)

    @property
    def cyclic(self) -> bool:
        """The periods stand for a horizon that repeats (period 0 follows the last), or, with
        commitments over time, a timeline that starts from nothing in service."""
        return self.period_month is None

    @property
    def months(self) -> int:
        """M: commitment start months (1 without ``period_month``: the horizon's start)."""
        return 1 if self.period_month is None else int(np.max(self.period_month)) + 1

    def commitment_cover(self, tier: str) -> np.ndarray:
        """(M, T) bool: a commitment of ``tier`` started at month m is in service in period t, i.e. t
        starts in month m or later and ends before the term does: m ≤ month(t) and end_month(t) < m + L
        (a period straddling the term's end is left to other capacity: a term never serves more than
        its L × 730 h). Without ``period_month``: one start, in service in every period."""
        T = len(self.period_hours)
        if self.period_month is None:
            return np.ones((1, T), dtype=bool)
        month = np.asarray(self.period_month, dtype=np.int64)
        end = month if self.period_end_month is None else np.asarray(self.period_end_month, dtype=np.int64)
        start = np.arange(self.months)[:, None]
        return (start <= month[None, :]) & (end[None, :] < start + int(self.term_months[tier]))

    def first_start(self, tier: str) -> int:
        """The first month a commitment of ``tier`` may start (0 unless a lead time delays it)."""
        return int((self.earliest_start or {}).get(tier, 0)) if self.period_month is not None else 0

    def commitment_paid_hours(self, tier: str) -> np.ndarray:
        """(M,) hours the objective pays a commitment of ``tier`` started at month m: those it serves
        in the horizon, Σ_t h_t A_{τ,m,t} (H without ``period_month``), or with ``pay_full_term`` its
        whole term, L_τ 730 (the hours it serves in the horizon and the rest, after it or lost to
        periods that straddle a month's start)."""
        hours = np.asarray(self.period_hours, dtype=float)
        served = self.commitment_cover(tier) @ hours
        if self.period_month is None or not self.pay_full_term:
            return served
        return np.full(self.months, int(self.term_months[tier]) * HOURS_PER_MONTH)  # the whole term, wherever it falls


class SolveStatus(str, enum.Enum):
    OPTIMAL = "optimal"  # proven optimal within the requested gap
    FEASIBLE = "feasible"  # integer-feasible solution, stopped at a limit (gap reported)
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    LIMIT_NO_SOLUTION = "limit_no_solution"  # time limit reached with no feasible solution
    ERROR = "error"


@dataclass(frozen=True)
class SolverOptions:
    solver: str = "highs"  # highs | cbc
    time_limit_s: float = 60.0
    gap: float = 1e-4  # relative MIP gap
    threads: int = 1
    seed: int = 0
    msg: bool = False


@dataclass
class SolveResult:
    """Never ``None``: a failed solve has a status and a message.

    reserved: dict tier -> (K,) int replicas held in every period (reserved tiers only); with
        commitments over time (``MilpInput.period_month``), (K, M): replicas committed at the start
        of month m, in service for the tier's term (``MilpInput.commitment_cover``).
    per_period: dict tier -> (K, T) int replicas in each period (on-demand, spot).
    load_rps: (U, K, T) requests/s of user region u served by k in period t (incl. headroom).
    bucket_load_rps: (U, K, B, T) the same by request-size bucket (None with one bucket).
    class_units: (K, J, T) with buckets: units of k devoted to service class j (each bucket on its
        own, then the whole mix) in period t; Σ_j ≤ units in service.
    fallback_units: (K, J, T) the same over the non-spot units for the spot rule (None when the rule
        does not apply). Both are certificates that ``planner verify`` re-checks.
    api_rps: (U, T) requests/s of user region u sent to the per-token API in period t.
    """

    status: SolveStatus
    solver: str
    objective_usd: float | None = None
    best_bound_usd: float | None = None
    gap: float | None = None
    time_s: float = 0.0
    message: str = ""
    options: dict = field(default_factory=dict)
    reserved: dict[str, np.ndarray] = field(default_factory=dict)
    per_period: dict[str, np.ndarray] = field(default_factory=dict)
    load_rps: np.ndarray | None = None
    bucket_load_rps: np.ndarray | None = None
    class_units: np.ndarray | None = None
    fallback_units: np.ndarray | None = None
    api_rps: np.ndarray | None = None  # (U, T) requests/s sent to the per-token API (zeros when none)

    @property
    def has_solution(self) -> bool:
        return self.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
