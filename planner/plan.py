"""The plan: what to buy, where, in which tier, how many in each period, and what it costs.

JSON keys follow DESIGN §3.5 (contract); extra keys extend it. ``Plan.model_validate_json`` reads a
saved plan back, so ``planner verify`` can re-check it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from planner.buckets import MIX_LABEL
from planner.errors import InputError, read_text
from planner.milp.build import api_billing_ratio
from planner.milp.check import committed_in_service, instance_starts, serving_units
from planner.milp.data import RESERVED_TIERS, ROLE_DECODE, ROLE_PREFILL, MilpInput, SolveResult
from planner.units import HOURS_PER_MONTH, MTOK

SCHEMA_VERSION = "1.0"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SolverInfo(_Model):
    name: str
    gap: float | None
    time_s: float
    status_detail: str = ""
    options: dict = Field(default_factory=dict)


class Assignment(_Model):
    candidate_id: str
    cloud: str
    region: str
    geo: str
    instance_type: str
    gpu: str
    gpus_per_instance: int
    gpus_per_replica: int
    replicas_per_instance: int
    model: str
    precision: str
    kv_precision: str
    tp: int
    pp: int
    max_batch: int
    tier: str
    speculative_draft_tokens: int = 0  # draft length k of speculative decoding (0 = none; problem techniques)
    role: str = "whole"  # whole requests, or one pool of a disaggregated deployment: prefill | decode
    instances_by_period: list[int]
    replicas_by_period: list[int]
    capacity_rps_per_replica: float
    availability: float = 1.0  # share of the capacity counted (spot derated by options.spot_availability)
    price_usd_per_instance_hour: float  # the cloud's price (catalog or discount rule)
    price_usd_per_replica_hour: float
    platform_fee_usd_per_instance_hour: float = 0.0  # managed-platform markup (options.platform_fees); cost_usd includes it
    instance_starts: int = 0  # on-demand/spot instances started over the horizon (rises between periods, cyclic)
    scale_up_cost_usd: float = 0.0  # their cold-start time at the instance price (cost_breakdown.scale_up, not in cost_usd)
    price_basis: str  # "catalog" or the discount rule used
    price_source: str
    price_retrieved: str
    cost_usd: float
    ttft_p99_ms: float | None  # None: capacity measured at the SLO (measured profile), no model figure
    tpot_p99_ms: float | None
    e2e_p99_ms: float | None
    serves_user_regions: list[str]
    on_demand_usd_per_instance_hour: float | None = None  # the same instance on demand, platform fee included (None: not offered)
    load_rps_by_period: list[float] = Field(default_factory=list)  # planning-rate demand it serves (load split ÷ (1 + headroom)); prefill pool: prompts/s it prefills
    capacity_rps_by_bucket: dict[str, float] = Field(default_factory=dict)  # per replica, request-size buckets only


class Bucket(_Model):
    """A request-size bucket: requests whose lengths fall in these inclusive ranges (None = open)."""

    label: str
    input_tokens: tuple[int, int | None]
    output_tokens: tuple[int, int | None]
    share: float  # of requests
    mean_input_tokens: float
    mean_output_tokens: float


class ClassSplit(_Model):
    """With request-size buckets: how many of a candidate's instances serve one service class (a
    bucket on its own, or the whole mix as it comes) in each period (fractions: time shares). The
    certificate that the fleet carries every bucket (``bucket_split``) and, for the spot rule, that
    the non-spot instances carry (1 − max_spot_share) of it (``fallback_split``)."""

    candidate_id: str
    serves: str  # a bucket label or "whole mix"
    instances_by_period: list[float]


class ApiUse(_Model):
    """Requests of one user region sent to a per-token API (tier 'api')."""

    tier: str = "api"
    provider: str
    api_model: str
    user_region: str
    rps_by_period: list[float]  # share of the period's planning (peak) rate sent to the API
    requests: float  # billed requests: the same share of each period's mean rate × its duration
    usd_per_request: float  # mean prompt × input price + mean output × output price
    input_usd_per_mtok: float
    output_usd_per_mtok: float
    price_source: str
    price_retrieved: str
    cost_usd: float


class Storage(_Model):
    """The model's weights kept in one cloud region at one precision, for the horizon."""

    cloud: str
    region: str
    precision: str
    artifact_gb: float
    service: str
    usd_per_gb_month: float
    cost_usd: float
    price_source: str
    price_retrieved: str


class Baseline(_Model):
    """A simpler way to serve the same demand at the same SLO, priced like the plan (planner.baselines)."""

    name: str  # peak-on-demand | best-single-gpu | api-only
    description: str
    status: str  # optimal | feasible | infeasible | unavailable
    monthly_cost_usd: float | None = None
    saving_usd_per_month: float | None = None  # baseline − plan (> 0: the plan is cheaper)
    saving_pct: float | None = None  # of the baseline's cost
    gpu: str | None = None
    detail: str = ""  # what it buys, or why it is not available
    gap: float | None = None  # the baseline solve's own gap
    restriction: bool = False  # a plan of the same problem (so never below the plan's bound; verify checks it)


class Placement(_Model):
    """One cloud region's part of the plan: its instances, capacity, the demand it serves (at each
    period's planning rate) and from which user regions, and its expected utilisation."""

    cloud: str
    region: str
    instances_by_period: list[int]
    capacity_rps_by_period: list[float]  # at the SLO, spot derated by its availability
    load_rps_by_period: list[float]
    serves_rps: dict[str, float]  # user region -> hours-weighted average over the periods of the planning-rate (peak) req/s it sends here
    utilisation: float  # Σ_t h_t load_t / Σ_t h_t capacity_t (with size buckets: of the whole-mix capacity, can exceed 1)
    cost_usd: float  # its assignments' cost over the horizon


class Egress(_Model):
    """Responses sent to users from one cloud: requests it serves (mean rate), bytes, price."""

    cloud: str
    rps_by_period: list[float]
    gb: float
    bytes_per_request: float
    usd_per_gb: float  # first paid tier (the cost uses every tier, see planner.egress)
    cost_usd: float
    price_source: str
    priced: bool  # False: egress.csv has no internet-egress price for the cloud (cost 0)


class Purchase(_Model):
    """Commitments over time (options.commitment_starts: monthly): instances committed at the start of
    one month, for the tier's term. Its cost inside the horizon is in the assignment's ``cost_usd``;
    what the term still owes after the horizon is stated, not in the plan's total."""

    candidate_id: str
    tier: str
    cloud: str
    region: str
    instance_type: str
    gpu: str
    start_month: int  # months of 730 h from the horizon's start
    start_hour: float = 0.0  # in service from this hour: the first period starting in that month (periods need not align with months)
    count: int  # instances
    term_months: int
    lead_time_weeks: float = 0.0  # ordered this long before start_month (owned servers' lead time)
    hours_in_horizon: float  # hours of the horizon it serves
    usd_per_instance_hour: float  # price + platform fee
    cost_in_horizon_usd: float
    cost_after_horizon_usd: float  # the rest of the term (730 h × term_months less the hours it serves in the horizon): after the horizon, or lost where periods straddle a month's start


class Period(_Model):
    index: int
    hours: float
    month: int = 0  # month of 730 h the period starts in (commitments over time start at a month's start)
    demand_rps: dict[str, float]
    capacity_rps: float
    required_rps: float  # demand × (1 + headroom)
    api_rps: float = 0.0  # sent to the per-token API (needs no fleet headroom)


class Plan(_Model):
    schema_version: str = SCHEMA_VERSION
    name: str
    model: str
    engine: str
    status: str  # optimal | feasible
    objective_usd: float
    horizon_hours: float
    monthly_cost_usd: float
    cost_per_1k_requests_usd: float
    cost_per_mtok_output_usd: float
    mean_output_tokens: float
    requests_in_horizon: float  # from each period's mean rate (capacity is planned for its peak)
    solver: SolverInfo
    catalog_fingerprint: str
    slo: dict[str, float | None]
    headroom: float
    max_spot_share: float
    assignments: list[Assignment]
    api: list[ApiUse] = Field(default_factory=list)
    storage: list[Storage] = Field(default_factory=list)  # artifact stores paid (cost_breakdown.storage)
    egress: list[Egress] = Field(default_factory=list)  # responses per cloud (cost_breakdown.egress)
    buckets: list[Bucket] = Field(default_factory=list)  # request-size buckets (empty: one bucket of every request)
    bucket_split: list[ClassSplit] = Field(default_factory=list)  # with buckets only
    fallback_split: list[ClassSplit] = Field(default_factory=list)  # with buckets and the spot rule only
    periods: list[Period]
    cost_breakdown: dict[str, float]
    cost_by_tier: dict[str, float]
    candidates: dict[str, int | dict[str, int]]
    assumptions: list[str]
    placement: list[Placement] = Field(default_factory=list)  # per cloud region (derived from assignments and the load split)
    baselines: list[Baseline] = Field(default_factory=list)  # planner.baselines; empty when not computed
    commitment_starts: str = "horizon"  # horizon: commitments held for the whole horizon; monthly: started at any month
    purchases: list[Purchase] = Field(default_factory=list)  # monthly commitment starts: what to buy when

    @property
    def in_horizon_usd(self) -> float:
        """What the fleet costs over the horizon itself: the objective less what full-term commitments
        pay beyond the hours they serve in it (the run rate that monitoring and chargeback use)."""
        return self.objective_usd - self.cost_breakdown.get("commitments_after_horizon", 0.0)

    def monthly(self, usd_over_horizon: float) -> float:
        """A cost over the plan's horizon as USD per month (HOURS_PER_MONTH hours)."""
        return usd_over_horizon * HOURS_PER_MONTH / self.horizon_hours if self.horizon_hours else 0.0

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)


def read_plan(path) -> Plan:
    """A saved plan (``planner solve --format json``): every problem at once, one
    ``file: field: message`` line each, as an InputError (exit code 3)."""
    path = Path(path)
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a plan is a JSON object, got {type(data).__name__}")
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        names = {"missing": "field required", "extra_forbidden": "unknown field"}
        raise InputError([f"{path}: {'.'.join(str(p) for p in e['loc']) or '(top level)'}: {names.get(e['type'], e['msg'])}"
                          for e in exc.errors()]) from None


def _served_by(inp: MilpInput, result: SolveResult, k: int) -> np.ndarray:
    """(U, T) demand at the planning rate that candidate k serves: its share of the load split,
    which carries demand × (1 + headroom), divided by (1 + headroom)."""
    U, T = len(inp.user_regions), len(inp.period_hours)
    if result.load_rps is None:
        return np.zeros((U, T))
    return np.asarray(result.load_rps[:, k, :], dtype=float) / (1.0 + float(inp.headroom))


def _prefill_served(inp: MilpInput, result: SolveResult) -> dict[int, np.ndarray]:
    """Prefill-pool candidate k → (U, T) prompts/s it prefills at the planning rate: its cloud
    region's decode-pool load, shared over the region's prefill units by their capacity in service."""
    if inp.role is None or inp.pool_members is None or result.load_rps is None:
        return {}
    role = np.asarray(inp.role)
    load = np.asarray(result.load_rps, dtype=float) / (1.0 + float(inp.headroom))  # (U, K, T)
    units = serving_units(inp, result.reserved, result.per_period)  # spot at its availability, as the pool rows count
    prefill_cap = np.asarray(inp.prefill_capacity_rps, float)[:, None] * units  # (K, T)
    out = {}
    for members in np.asarray(inp.pool_members, dtype=bool):
        pre = np.flatnonzero(members & (role == ROLE_PREFILL))
        decode_load = load[:, members & (role == ROLE_DECODE), :].sum(axis=1)  # (U, T)
        total = prefill_cap[pre].sum(axis=0)
        for k in pre:
            out[int(k)] = decode_load * np.divide(prefill_cap[k], total, out=np.zeros_like(total), where=total > 0)
    return out


def placement_of(assignments: list[Assignment], regional: dict, user_regions, hours: np.ndarray) -> list[Placement]:
    """Per cloud region: instances, capacity and load by period, the user regions it serves,
    utilisation. Capacity and load are of requests finished there: a prefill pool's instances are
    counted, its prompts/s are not (its decode pool's are the region's requests)."""
    out = []
    for cloud, region in sorted(regional):
        mine = [a for a in assignments if (a.cloud, a.region) == (cloud, region)]
        inst = np.sum([a.instances_by_period for a in mine], axis=0)
        cap = np.sum([np.asarray(a.instances_by_period) * a.replicas_per_instance * a.capacity_rps_per_replica * a.availability
                      for a in mine if a.role != "prefill"], axis=0)
        load = regional[(cloud, region)]
        horizon = float(hours.sum())
        served_cap = float(np.dot(cap, hours))
        out.append(Placement(
            cloud=cloud, region=region, instances_by_period=[int(v) for v in inst],
            capacity_rps_by_period=[float(v) for v in cap], load_rps_by_period=[float(v) for v in load.sum(axis=0)],
            serves_rps={u: float(np.dot(load[i], hours) / horizon) for i, u in enumerate(user_regions) if np.any(load[i] > 0)},
            utilisation=float(np.dot(load.sum(axis=0), hours) / served_cap) if served_cap > 0 else 0.0,
            cost_usd=float(sum(a.cost_usd for a in mine)),
        ))
    return out


def build_plan(
    *,
    name: str,
    model: str,
    engine: str,
    table: pd.DataFrame,
    inp: MilpInput,
    result: SolveResult,
    catalog_fingerprint: str,
    slo: dict[str, float | None],
    mean_output_tokens: float,
    requests_in_horizon: float,
    candidates_summary: dict,
    api: dict | None = None,
    assumptions: list[str],
    buckets=None,
    stores: list[dict] | None = None,
    egress: list[dict] | None = None,
    cold_start_hours: float = 0.0,
    lead_weeks: dict[str, float] | None = None,
) -> Plan:
    """Assemble a plan from the solver's integer solution; costs are recomputed here from the
    candidate table's unit prices (not read from the solver's objective)."""
    hours = inp.period_hours
    horizon = float(hours.sum())
    T = len(hours)
    bucket_list = None if buckets is None or buckets.count == 1 else _buckets(buckets)
    assignments: list[Assignment] = []
    regional: dict[tuple[str, str], np.ndarray] = {}  # (cloud, region) -> (U, T) demand served there
    by_tier: dict[str, float] = {}
    capacity = np.zeros(T)
    platform = 0.0
    scale_up = 0.0
    prefill_served = _prefill_served(inp, result)
    for k, row in enumerate(table.to_dict("records")):
        counts: dict[str, np.ndarray] = {}
        for tier, arr in result.reserved.items():
            if np.any(arr[k] > 0):
                counts[tier] = np.rint(committed_in_service(inp, tier, arr)[k]).astype(int)
        for tier, arr in result.per_period.items():
            if arr[k].sum() > 0:
                counts[tier] = arr[k].astype(int)
        prefill = row.get("role", "whole") == "prefill"
        # (U, T) planning-rate demand k serves; a prefill pool: the prompts it prefills for its decode pool
        served = prefill_served[k] if prefill else _served_by(inp, result, k)
        units = {tier: counts[tier] * (float(inp.spot_availability[k]) if tier == "spot" and inp.spot_availability is not None else 1.0)
                 for tier in counts}
        all_units = sum(units.values()) if units else np.zeros(T)
        if counts and not prefill:  # requests are counted where they finish
            key = (row["cloud"], row["region"])
            regional[key] = regional.get(key, np.zeros_like(served)) + served
        for tier in sorted(counts):
            n = counts[tier]
            price = float(row[f"price_{tier}"])
            fee = float(row.get(f"fee_{tier}", 0.0) or 0.0)
            instance_hours = float(np.dot(n, hours))  # a commitment: the hours it serves in the horizon
            cost = (price + fee) * instance_hours
            platform += fee * instance_hours
            starts = 0 if tier in RESERVED_TIERS else int(instance_starts(n[None, :], inp.cyclic).sum())
            scale_up += starts * cold_start_hours * (price + fee)
            by_tier[tier] = by_tier.get(tier, 0.0) + cost
            counted = float(inp.spot_availability[k]) if tier == "spot" and inp.spot_availability is not None else 1.0
            if not prefill:  # the fleet's capacity is requests it finishes
                capacity += n * row["capacity_rps"] * counted
            assignments.append(
                Assignment(
                    candidate_id=row["candidate_id"],
                    cloud=row["cloud"],
                    region=row["region"],
                    geo=row["geo"],
                    instance_type=row["instance_type"],
                    gpu=row["gpu"],
                    gpus_per_instance=int(row["gpus_per_instance"]),
                    gpus_per_replica=int(row["gpus_per_replica"]),
                    replicas_per_instance=int(row["replicas_per_instance"]),
                    model=model,
                    precision=row["precision"],
                    kv_precision=row["kv_precision"],
                    tp=int(row["tp"]),
                    pp=int(row["pp"]),
                    max_batch=int(row["max_batch"]),
                    speculative_draft_tokens=int(row.get("spec_draft_tokens", 0) or 0),
                    role=str(row.get("role", "whole")),
                    tier=tier,
                    instances_by_period=[int(v) for v in n],
                    replicas_by_period=[int(v) * int(row["replicas_per_instance"]) for v in n],
                    capacity_rps_per_replica=float(row["capacity_rps_per_replica"]),
                    availability=counted,
                    price_usd_per_instance_hour=price,
                    price_usd_per_replica_hour=price / int(row["replicas_per_instance"]),
                    platform_fee_usd_per_instance_hour=fee,
                    instance_starts=starts,
                    scale_up_cost_usd=starts * cold_start_hours * (price + fee),
                    price_basis=str(row[f"basis_{tier}"]),
                    price_source=str(row["source"]),
                    price_retrieved=str(row["retrieved"]),
                    cost_usd=cost,
                    ttft_p99_ms=_figure(row["ttft_p99_ms"]),
                    tpot_p99_ms=_figure(row["tpot_p99_ms"]),
                    e2e_p99_ms=_figure(row["e2e_p99_ms"]),
                    serves_user_regions=[u for i, u in enumerate(inp.user_regions) if inp.can_serve[i, k]],
                    on_demand_usd_per_instance_hour=_figure(row.get("on_demand_usd_per_hour")),
                    load_rps_by_period=[float(v) for v in served.sum(axis=0) * np.divide(
                        units[tier], all_units, out=np.zeros(T), where=all_units > 0)],
                    capacity_rps_by_bucket=({} if bucket_list is None else
                                            {**{b.label: float(row[f"capacity_rps_b{j}"]) / int(row["replicas_per_instance"])
                                                for j, b in enumerate(bucket_list)},
                                             MIX_LABEL: float(row["capacity_rps_mix"]) / int(row["replicas_per_instance"])}),
                )
            )
    fleet = float(sum(a.cost_usd for a in assignments))
    compute = fleet - platform
    api_uses: list[ApiUse] = []
    api_rps = result.api_rps if result.api_rps is not None else np.zeros((len(inp.user_regions), T))
    billed = api_billing_ratio(inp)
    for u, region in enumerate(inp.user_regions):
        if api is None or not np.any(api_rps[u] > 0):
            continue
        reqs = float(np.dot(api_rps[u] * billed[u], hours) * 3600.0)  # at the mean rate, as the API bills
        api_uses.append(ApiUse(
            provider=api["provider"], api_model=api["api_model"], user_region=region,
            rps_by_period=[float(v) for v in api_rps[u]], requests=reqs, usd_per_request=api["usd_per_request"],
            input_usd_per_mtok=api["input_usd_per_mtok"], output_usd_per_mtok=api["output_usd_per_mtok"],
            price_source=api["source"], price_retrieved=api["retrieved"], cost_usd=reqs * api["usd_per_request"],
        ))
    api_cost = float(sum(a.cost_usd for a in api_uses))
    if api_uses:
        by_tier["api"] = api_cost
    in_service = {(a.cloud, a.region, a.precision) for a in assignments if any(a.instances_by_period)}
    storage = [Storage(cloud=g["cloud"], region=g["region"], precision=g["precision"], artifact_gb=g["artifact_gb"],
                       service=g["service"], usd_per_gb_month=g["usd_per_gb_month"], cost_usd=g["usd"],
                       price_source=g["source"], price_retrieved=g["retrieved"])
               for g in (stores or []) if (g["cloud"], g["region"], g["precision"]) in in_service]
    storage_cost = float(sum(x.cost_usd for x in storage))
    egress_rows = [Egress(**e) for e in (egress or [])]
    egress_cost = float(sum(e.cost_usd for e in egress_rows))
    purchases = purchases_of(inp, result, table, lead_weeks)
    tail = float(sum(x.cost_after_horizon_usd for x in purchases)) if inp.pay_full_term else 0.0
    total = fleet + api_cost + storage_cost + egress_cost + scale_up + tail
    requests = requests_in_horizon
    periods = [
        Period(
            index=t,
            hours=float(hours[t]),
            demand_rps={u: float(inp.demand_rps[i, t]) for i, u in enumerate(inp.user_regions)},
            capacity_rps=float(capacity[t]),
            required_rps=float(inp.demand_rps[:, t].sum() * (1 + inp.headroom)),
            api_rps=float(api_rps[:, t].sum()),
        )
        for t in range(T)
    ]
    placement = placement_of(assignments, regional, inp.user_regions, hours)
    month = np.zeros(T, dtype=int) if inp.period_month is None else np.asarray(inp.period_month, dtype=int)
    for t, p in enumerate(periods):
        p.month = int(month[t])
    return Plan(
        name=name,
        model=model,
        engine=engine,
        status=result.status.value,
        objective_usd=total,
        horizon_hours=horizon,
        monthly_cost_usd=total * HOURS_PER_MONTH / horizon,
        cost_per_1k_requests_usd=total / requests * 1000 if requests else 0.0,
        cost_per_mtok_output_usd=total / (requests * mean_output_tokens) * MTOK if requests else 0.0,
        mean_output_tokens=mean_output_tokens,
        requests_in_horizon=requests,
        solver=SolverInfo(
            name=result.solver,
            gap=result.gap,
            time_s=result.time_s,
            status_detail=result.message,
            options=result.options,
        ),
        catalog_fingerprint=catalog_fingerprint,
        slo=slo,
        headroom=inp.headroom,
        max_spot_share=inp.max_spot_share,
        assignments=assignments,
        api=api_uses,
        storage=storage,
        egress=egress_rows,
        buckets=bucket_list or [],
        bucket_split=_splits(result.class_units, table, bucket_list),
        fallback_split=_splits(result.fallback_units, table, bucket_list),
        periods=periods,
        cost_breakdown={"compute": compute, "egress": egress_cost, "platform": platform, "storage": storage_cost, "api": api_cost,
                        "scale_up": scale_up, **({"commitments_after_horizon": tail} if inp.pay_full_term else {})},
        cost_by_tier=dict(sorted(by_tier.items())),
        candidates=candidates_summary,
        assumptions=assumptions,
        placement=placement,
        commitment_starts="horizon" if inp.period_month is None else "monthly",
        purchases=purchases,
    )


def purchases_of(inp: MilpInput, result: SolveResult, table: pd.DataFrame, lead_weeks: dict[str, float] | None = None) -> list[Purchase]:
    """Commitments over time: one line per (candidate, tier, start month) with instances committed,
    in index order; empty when commitments are held for the whole horizon. ``lead_weeks``: how long
    before its start each tier is ordered (owned servers)."""
    if inp.period_month is None:
        return []
    hours = np.asarray(inp.period_hours, dtype=float)
    rows = table.to_dict("records")
    month = np.asarray(inp.period_month)
    starts = np.concatenate([[0.0], np.cumsum(hours)[:-1]])
    start_hour = [float(starts[month >= m][0]) if np.any(month >= m) else float(hours.sum()) for m in range(inp.months)]
    out = []
    for tier, arr in sorted(result.reserved.items()):
        if not np.any(arr):
            continue
        served = inp.commitment_cover(tier).astype(float) @ hours  # (M,)
        term = int(inp.term_months[tier])
        for k, m in zip(*np.nonzero(np.asarray(arr).reshape(len(rows), -1))):
            row, count = rows[k], int(arr[k, m])
            rate = float(row[f"price_{tier}"]) + float(row.get(f"fee_{tier}", 0.0) or 0.0)
            out.append(Purchase(candidate_id=row["candidate_id"], tier=tier, cloud=row["cloud"], region=row["region"],
                                instance_type=row["instance_type"], gpu=row["gpu"], start_month=int(m), count=count,
                                term_months=term, lead_time_weeks=float((lead_weeks or {}).get(tier, 0.0)),
                                hours_in_horizon=float(served[m]), usd_per_instance_hour=rate,
                                cost_in_horizon_usd=rate * count * float(served[m]),
                                start_hour=float(start_hour[m]),
                                cost_after_horizon_usd=rate * count * max(term * HOURS_PER_MONTH - float(served[m]), 0.0)))
    return sorted(out, key=lambda x: (x.start_month, x.tier, x.candidate_id))


def _buckets(buckets) -> list[Bucket]:
    means_in, means_out = buckets.mean_tokens()
    return [Bucket(label=label, input_tokens=buckets.input_range[b], output_tokens=buckets.output_range[b],
                   share=float(buckets.share[b]), mean_input_tokens=float(means_in[b]), mean_output_tokens=float(means_out[b]))
            for b, label in enumerate(buckets.labels)]


def _splits(units: np.ndarray | None, table: pd.DataFrame, bucket_list: list[Bucket] | None) -> list[ClassSplit]:
    """Non-zero rows of a (K, J, T) split of units over service classes, in index order."""
    if units is None or bucket_list is None:
        return []
    ids = table["candidate_id"].tolist()
    names = [b.label for b in bucket_list] + [MIX_LABEL]
    return [ClassSplit(candidate_id=ids[k], serves=names[j], instances_by_period=[float(v) for v in units[k, j]])
            for k, j in zip(*np.nonzero(units.sum(axis=2) > 0))]


def _figure(value) -> float | None:
    """A latency figure, or None where there is none (NaN: a measured profile's configuration)."""
    value = float(value)
    return None if np.isnan(value) else value
