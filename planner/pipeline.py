"""problem → catalogs → candidates → MILP → plan: the main job, as one library call."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner import perf
from planner.buckets import RequestBuckets, request_buckets
from planner.candidates import CandidateSet, bucket_columns, build_candidates, total_price
from planner.catalog import Catalogs
from planner.commitments import first_starts, lead_weeks, term_months
from planner.errors import InfeasibleError, SolverError, SolverLimitError
from planner.milp import diagnose
from planner.milp.build import write_lp
from planner.milp.data import (RESERVED_TIERS, ROLE_NAMES, ROLE_PREFILL, ROLE_WHOLE, TIERS, MilpInput, SolveResult,
                               SolverOptions, SolveStatus, end_months_of_periods, months_of_periods)
from planner.milp.stages import merge_identical_periods, solve_in_stages
from planner.plan import Plan, build_plan
from planner.problem import LoadedProblem
from planner.scope import Scope, quota_members, resolve_scope, spot_availability_for
from planner.onprem import with_onprem
from planner.techniques import TechniqueColumns, describe as describe_techniques, technique_columns
from planner.units import BYTES_PER_ELEMENT, HOURS_PER_MONTH
from planner.catalog.prices import api_choice
from planner.egress import egress_tiers, first_paid_rate, gigabytes, horizon_cost, requests_by_cloud
from planner.workload import DemandSeries, demand_series, length_samples, mean_input_tokens, mean_output_tokens


@dataclass
class Prepared:
    """Everything up to (not including) the solve."""

    loaded: LoadedProblem
    catalogs: Catalogs
    scope: Scope
    lengths: perf.LengthSamples
    slo: perf.SloTargets
    demand: DemandSeries
    candidates: CandidateSet
    milp_input: MilpInput | None
    buckets: RequestBuckets | None = None  # request-size buckets (one bucket of every request without size_buckets)
    stores: list[dict] = field(default_factory=list)  # priced artifact stores of the candidates (storage_groups)
    api: dict | None = None  # the per-token API offer when the 'api' tier is allowed (prices.api_choice)
    techniques: TechniqueColumns | None = None  # the problem's serving techniques (planner.techniques)


def slo_targets(loaded: LoadedProblem, scope: Scope | None = None, rtt_ms: float | None = None) -> perf.SloTargets:
    """The engine's P99 targets: the problem's, less the network round trip (``count_network_rtt``,
    ``Scope.rtt_budget``) for TTFT and e2e, which users see after the request and first token have
    crossed the network. Never below 0 (a target the network alone breaks leaves no candidate)."""
    s = loaded.problem.slo
    if not loaded.problem.options.count_network_rtt:
        rtt = 0.0
    elif rtt_ms is not None:  # one cloud region's budget (Scope.rtt_budgets)
        rtt = float(rtt_ms)
    else:
        rtt = scope.rtt_budget()[0] if scope is not None else 0.0

    def less(v):
        return None if v is None else max(float(v) - rtt, 0.0)

    return perf.SloTargets(ttft_p99_ms=less(s.ttft_p99_ms), tpot_p99_ms=s.tpot_p99_ms, e2e_p99_ms=less(s.e2e_p99_ms))


def prepare(loaded: LoadedProblem, catalogs: Catalogs) -> Prepared:
    """Everything up to the solve. Candidates meet the engine's targets of their own cloud region
    (the problem's less that region's network budget); ``Prepared.slo`` is the strictest of them."""
    catalogs = with_onprem(loaded, catalogs)  # owned sites as one more cloud (planner.onprem)
    scope = resolve_scope(loaded, catalogs)
    techniques = technique_columns(loaded, catalogs, scope.model_id)
    text_inputs, outputs = length_samples(loaded)
    inputs = text_inputs + techniques.image_tokens_per_request  # images enter the prompt as tokens
    lengths = perf.LengthSamples(input_tokens=inputs, output_tokens=outputs)
    slo = slo_targets(loaded, scope)
    demand = demand_series(loaded)
    buckets = request_buckets(loaded, lengths)
    cands = build_candidates(loaded, scope, catalogs, buckets, lambda rtt: slo_targets(loaded, scope, rtt), techniques)
    api = None
    if "api" in loaded.problem.options.tiers:
        api = api_choice(catalogs.api_prices, scope.model_id, loaded.problem.options.api_provider,
                         mean_input_tokens(loaded, text_inputs) + techniques.image_tokens_per_request,
                         mean_output_tokens(loaded, outputs))
    milp_input = None
    if len(cands.table) or api is not None:
        stores = storage_groups(scope, catalogs, cands.table, demand.horizon_hours)
        milp_input = milp_input_for(loaded, scope, cands, demand, api, buckets, catalogs, stores)
    return Prepared(loaded, catalogs, scope, lengths, slo, demand, cands, milp_input, buckets=buckets, api=api,
                    stores=stores[0] if milp_input is not None else [], techniques=techniques)


def storage_price(catalogs: Catalogs, cloud: str, region: str) -> dict | None:
    """The storage.csv row for a cloud region (its own row, else the cloud-wide row), or None."""
    table = catalogs.storage
    regions = table["region"].fillna("").astype(str)
    for want in (region, ""):
        hit = table[(table["cloud"] == cloud) & (regions == want)]
        if len(hit):
            return hit.iloc[0].to_dict()
    return None


def artifact_gb(catalogs: Catalogs, model_id: str, precision: str) -> float:
    """Decimal GB of the model's weights stored at ``precision`` (every parameter, quantisation scales not counted)."""
    params_b = float(catalogs.models.set_index("id").loc[model_id, "params_b"])
    return params_b * BYTES_PER_ELEMENT[precision]


def storage_groups(scope: Scope, catalogs: Catalogs, table, horizon_hours: float) -> tuple[list[dict], np.ndarray]:
    """Artifact stores (cloud, region, precision) the candidates need, with their price: a list of
    dicts (label, cloud, region, precision, artifact_gb, usd_per_gb_month, usd over the horizon,
    source, retrieved) and the (G, K) membership. Regions without a storage price are left out
    (``unpriced_storage`` names them)."""
    keys = list(zip(table["cloud"], table["region"], table["precision"]))
    groups, members = [], []
    for key in sorted(set(keys)):
        cloud, region, precision = key
        row = storage_price(catalogs, cloud, region)
        if row is None:
            continue
        gb = artifact_gb(catalogs, scope.model_id, precision)
        price = float(row["usd_per_gb_month"])
        groups.append({"label": f"{cloud}/{region}/{precision}", "cloud": cloud, "region": region, "precision": precision,
                       "artifact_gb": gb, "usd_per_gb_month": price, "usd": gb * price * horizon_hours / HOURS_PER_MONTH,
                       "service": str(row["service"]), "source": str(row["source"]), "retrieved": str(row["retrieved"])})
        members.append([k == key for k in keys])
    return groups, np.array(members, dtype=bool).reshape(len(groups), len(keys))


def unpriced_storage(catalogs: Catalogs, table) -> list[str]:
    return sorted({f"{c}/{r}" for c, r in zip(table["cloud"], table["region"]) if storage_price(catalogs, c, r) is None})


def egress_lines(prep: Prepared, result: SolveResult) -> list[dict]:
    """Per cloud with requests in the plan: requests/s (mean rate) by period, GB over the horizon,
    first paid USD/GB, USD (tiers, see :mod:`planner.egress`) and the price source."""
    table = prep.candidates.table
    if result.load_rps is None or not len(table):
        return []
    demand = prep.demand
    api = result.api_rps if result.api_rps is not None else np.zeros_like(demand.demand_rps)
    ratio = np.divide(demand.mean_rps, demand.demand_rps, out=np.ones_like(demand.mean_rps), where=demand.demand_rps > 0)
    fleet_mean = np.maximum(demand.mean_rps - api * np.minimum(ratio, 1.0), 0.0)
    per_request = mean_output_tokens(prep.loaded, prep.lengths.output_tokens) * prep.loaded.problem.options.egress_bytes_per_token
    out = []
    for cloud, rps in requests_by_cloud(result.load_rps, list(table["cloud"]), fleet_mean, demand.period_hours).items():
        if not np.any(rps > 0):
            continue
        tiers = egress_tiers(prep.catalogs.egress, cloud)
        gb = gigabytes(rps, demand.period_hours, per_request)
        out.append({"cloud": cloud, "rps_by_period": [float(v) for v in rps], "gb": gb, "bytes_per_request": per_request,
                    "usd_per_gb": first_paid_rate(tiers), "cost_usd": horizon_cost(tiers, gb, demand.horizon_hours),
                    "price_source": "; ".join(sorted(set(tiers["source"]))) if len(tiers) else "",
                    "priced": bool(len(tiers))})
    return out


def milp_input_for(loaded: LoadedProblem, scope: Scope, cands: CandidateSet, demand: DemandSeries,
                   api: dict | None = None, buckets: RequestBuckets | None = None, catalogs: Catalogs | None = None,
                   stores: tuple[list[dict], np.ndarray] | None = None) -> MilpInput:
    opts = loaded.problem.options
    table = cands.table
    if stores is None:
        stores = ([], None) if catalogs is None else storage_groups(scope, catalogs, table, demand.horizon_hours)
    stores, store_members = stores
    region_key = (table["cloud"] + "/" + table["region"]).to_numpy(str)
    region_labels = sorted(set(region_key))
    role = np.array([ROLE_NAMES.index(r) for r in table["role"]], dtype=int) if "role" in table else np.zeros(len(table), int)
    finishing = role != ROLE_PREFILL  # a region is up (high availability) when it finishes requests
    region_members = np.array([(region_key == g) & finishing for g in region_labels], dtype=bool).reshape(len(region_labels), len(table))
    capacity = table["capacity_rps"].to_numpy(float)
    pools = {}
    if (role != ROLE_WHOLE).any():  # disaggregated prefill/decode pools, one per cloud region
        labels = sorted(set(region_key[role != ROLE_WHOLE]))
        pools = dict(role=role, prefill_capacity_rps=np.where(role == ROLE_PREFILL, capacity, 0.0),
                     pool_members=np.array([(region_key == g) & (role != ROLE_WHOLE) for g in labels], dtype=bool),
                     pool_labels=tuple(labels))
        capacity = np.where(role == ROLE_PREFILL, 0.0, capacity)  # prompts only: it finishes no request
    return MilpInput(
        candidate_ids=tuple(table["candidate_id"]),
        capacity_rps=capacity,
        price_usd_per_hour={t: total_price(table, t) for t in TIERS},  # instance + platform fee
        user_regions=demand.user_regions,
        period_hours=demand.period_hours,
        demand_rps=demand.demand_rps,
        mean_demand_rps=demand.mean_rps,
        can_serve=scope.can_serve(demand.user_regions, table["geo"]),
        headroom=opts.headroom,
        max_spot_share=opts.max_spot_share,
        min_replicas=opts.min_replicas,
        tiers=tuple(t for t in TIERS if t in opts.tiers),
        gpus_per_replica=table["gpus_per_instance"].to_numpy(int),
        replicas_per_unit=table["replicas_per_instance"].to_numpy(int),
        api_usd_per_request=None if api is None else api["usd_per_request"],
        max_api_share=opts.max_api_share,
        quota_members=quota_members(scope, table) if scope.quotas else None,
        quota_max_gpus=np.array([q[3] for q in scope.quotas], dtype=float) if scope.quotas else None,
        quota_labels=tuple(f"{c}/{r or '*'}/{g or '*'} ≤ {m} GPUs" for c, r, g, m in scope.quotas) if scope.quotas else None,
        region_members=region_members if opts.min_regions > 1 or opts.spot_region_fallback > 0 else None,
        region_labels=tuple(region_labels) if opts.min_regions > 1 or opts.spot_region_fallback > 0 else None,
        min_regions=opts.min_regions,
        spot_region_fallback=opts.spot_region_fallback,
        spot_availability=spot_availability_for(scope, table["cloud"], table["gpu"]) if scope.spot_rules else None,
        egress_usd_per_gb=(np.array([first_paid_rate(egress_tiers(catalogs.egress, c)) for c in table["cloud"]])
                           if catalogs is not None else None),
        storage_members=store_members if stores else None,
        storage_usd=np.array([g["usd"] for g in stores]) if stores else None,
        storage_labels=tuple(g["label"] for g in stores) if stores else None,
        cold_start_hours=opts.cold_start_minutes / 60.0,
        **({} if opts.commitment_starts == "horizon" else dict(
            period_month=months_of_periods(demand.period_hours), period_end_month=end_months_of_periods(demand.period_hours),
            term_months=term_months(loaded),
            pay_full_term=opts.commitment_cost == "full-term", earliest_start=first_starts(loaded))),
        **pools,
        **({} if buckets is None or buckets.count == 1 else dict(
            bucket_share=buckets.share,
            bucket_capacity_rps=table[bucket_columns(buckets.count)[:-1]].to_numpy(float).reshape(len(table), buckets.count),
            mix_capacity_rps=table["capacity_rps_mix"].to_numpy(float),
            bucket_labels=buckets.labels,
        )),
    )


def explain_no_candidates(prep: Prepared) -> list[str]:
    """Why no configuration survived: memory, or the fastest latency reached versus the SLO."""
    p = prep.loaded.problem
    rejected = prep.candidates.best_rejected
    if rejected is None or rejected.empty:
        return [f"{prep.loaded.where('options')}: no cloud offer matches the allowed clouds, GPUs and tiers "
                f"in a region that may serve {', '.join(prep.scope.user_regions)} (placement: {p.options.placement})"]
    lines = [f"{prep.loaded.where('slo')}: no configuration of {prep.scope.model_id} on the allowed GPUs can serve at the SLO"]
    rtt, pair = prep.scope.rtt_budget() if p.options.count_network_rtt else (0.0, None)
    if pair:
        geos = pd.Series(sorted(set(prep.scope.offer_geos)), dtype=str)
        serving = prep.scope.can_serve(prep.scope.user_regions, geos).any(axis=0)  # regions some user may use
        near = float(prep.scope.rtt_budgets(geos[serving]).min(initial=rtt))
        span = f"{rtt:g} ms" if near == rtt else f"{near:g} ms (nearest region) to {rtt:g} ms ({pair})"
        lines.append(f"  the network round trip takes {span} of the TTFT and e2e targets; "
                     "set options.max_rtt_ms or a narrower placement to serve users from nearer regions")
    for row in rejected.itertuples(index=False):
        if isinstance(row.error, str) and row.error:
            lines.append(f"  {row.gpu}: {row.error}")
        elif not row.fits:
            lines.append(f"  {row.gpu}: the model ({row.weights_gb:.1f} GB of weights at {row.precision}) does not fit in {row.tp} GPU(s)")
        else:
            reached = []
            slo = slo_targets(prep.loaded, prep.scope, getattr(row, "rtt_budget_ms", None))  # that region's targets
            for metric, target in (("ttft", slo.ttft_p99_ms), ("tpot", slo.tpot_p99_ms), ("e2e", slo.e2e_p99_ms)):
                value = getattr(row, f"{metric}_p99_ms")
                if target is not None and np.isfinite(value) and value > target:
                    reached.append(f"P99 {metric.upper()} {value:.0f} ms > SLO {target:.0f} ms (by {value - target:.0f} ms)")
            detail = "; ".join(reached) or f"binding limit: {row.limit}"
            lines.append(f"  {row.gpu} (tp={row.tp}, {row.precision}, batch {row.concurrency}): {detail}")
    return lines


def solver_options(loaded: LoadedProblem, solver: str | None, time_limit_s: float | None, gap: float | None) -> SolverOptions:
    s = loaded.problem.solver
    return SolverOptions(
        solver=solver or s.name,
        time_limit_s=time_limit_s if time_limit_s is not None else s.time_limit_s,
        gap=gap if gap is not None else s.gap,
    )


def _rtt_text(scope: Scope) -> str:
    ms, pair = scope.rtt_budget()
    return (f"the largest published round-trip time between the region and a user geography it may serve, up to "
            f"{ms:g} ms ({pair}; network_rtt.csv: median RTT between Azure regions)")


def _fee_text(fee) -> str:
    parts = ([f"{fee.percent:g} % of the instance price"] if fee.percent else []) + \
            ([f"{fee.usd_per_instance_hour:g} USD per instance-hour"] if fee.usd_per_instance_hour else [])
    return " + ".join(parts) or "0"


def lag_headroom(prep: Prepared) -> list[str]:
    """Scale-up lag: planned capacity starts ``cold_start_minutes`` ahead of its period (priced), so
    a planned schedule has no lag; a reactive autoscaler inside a period needs headroom for the
    demand's rise within the lag, measured on the rates file where there is one."""
    minutes = prep.loaded.problem.options.cold_start_minutes
    growth = prep.demand.growth_within(minutes) if minutes > 0 else None
    if growth is None:
        return []
    headroom = prep.loaded.problem.options.headroom
    verdict = "covers it" if headroom >= growth else "does NOT cover it: raise options.headroom for reactive autoscaling"
    return [f"scale-up lag: within {minutes:g} minutes the trace's rate rises by up to {growth:.0%} (P99 over its steps); "
            f"a reactive autoscaler needs that headroom, and options.headroom = {headroom:.0%} {verdict}"]


def fidelity_band(catalogs: Catalogs) -> list[str]:
    """The performance model's measured throughput error (catalogs/fidelity.csv): capacities carry it."""
    f = catalogs.fidelity
    rows = {c: f[(f["check"] == c) & (f["metric"] == "throughput")] for c in ("in-sample", "held-out", "unseen")}
    if any(r.empty for r in rows.values()):
        return []
    part = {c: f"{float(r['median_ape_pct'].iloc[0]):g} % median (P90 {float(r['p90_ape_pct'].iloc[0]):g} %, {int(r['rows'].iloc[0])} rows)"
            for c, r in rows.items()}
    measured, current = str(rows["in-sample"]["fit_version"].iloc[0]), str(catalogs.efficiency["fit_version"].iloc[0])
    stale = "" if measured == current else f" [measured with fit {measured}; the catalogs use {current}: run scripts/fidelity_summary.py]"
    return [f"performance model (fit {current}){stale}: throughput error {part['in-sample']} on the "
            f"calibration data, {part['held-out']} on published measurements never fitted, {part['unseen']} on GPUs or models "
            "the fit never saw (catalogs/fidelity.csv); each capacity at the SLO carries that band, and options.headroom absorbs part of it"]


def _owned_lines(loaded: LoadedProblem) -> list[str]:
    """What the 'owned' tier's price stands on (planner.onprem, planner.tco)."""
    op = loaded.problem.options.on_prem
    if op is None:
        return []
    return [f"owned servers (tier 'owned', sites {', '.join(s.name for s in op.sites)}): bought for the horizon and priced "
            f"per hour at the purchase's capital recovery ({op.discount_rate:.1%} over {op.lifetime_years:g} years) plus "
            f"energy (power × {op.utilisation:g} × PUE × the site's electricity price), colocation per kW, maintenance "
            f"({op.maintenance_share_per_year:.0%} of the price a year) and staff ({op.staff_usd_per_server_year:,.0f} USD "
            "per server-year); internet transit and storage at a site are not priced"
            + (f"; they take {op.lead_time_weeks:g} weeks to arrive (rent until then)" if op.lead_time_weeks else "")]


def _over_time_lines(prep: Prepared) -> list[str]:
    """Assumptions of commitments over time (options.commitment_starts: monthly)."""
    opts = prep.loaded.problem.options
    terms = term_months(prep.loaded)
    tiers = [t for t in RESERVED_TIERS if t in opts.tiers]
    renting = [t for t in opts.tiers if t not in RESERVED_TIERS]
    horizon = prep.demand.horizon_hours
    out = [f"{HOURS_PER_MONTH:g} hours per month; a {horizon:g}-hour horizon ({horizon / HOURS_PER_MONTH:.1f} months) planned "
           "as one timeline (monthly_cost_usd is its average month)"]
    if not tiers:
        return out + ["no reserved or owned tier is allowed: the monthly commitment starts have nothing to buy"]
    paid = ("the objective counts the hours inside the horizon (the service is assumed to go on after it), and the plan's "
            "purchases state what each term still owes after them" if opts.commitment_cost == "in-horizon" else
            "the objective pays every term in full (options.commitment_cost: full-term), the hours beyond those it serves "
            "in the horizon in cost_breakdown.commitments_after_horizon")
    out.append("commitments start at the start of any month (a period belongs to the month it starts in) and last their "
               f"term ({', '.join(f'{t} {terms[t]} months' for t in tiers)}); each is paid for every hour of its term "
               f"whether used or not; {paid}")
    for tier, weeks in lead_weeks(prep.loaded).items():
        if tier in tiers:
            out.append(f"{tier}: ordered {weeks:g} weeks before it serves, so none serves before month "
                       f"{first_starts(prep.loaded)[tier]} (an order at the horizon's start)"
                       + (f"; the months before rent ({', '.join(renting)})" if renting else ""))
    return out


def _growth_lines(prep: Prepared) -> list[str]:
    growth = prep.loaded.problem.workload.demand.growth
    if not growth:
        return []
    if prep.demand.horizon_hours <= HOURS_PER_MONTH:
        return [f"demand growth {growth} has no effect: it applies month by month, and the {prep.demand.horizon_hours:g}-hour "
                "horizon is one month (plan a longer horizon with options.commitment_starts: monthly)"]
    return [f"demand grows {growth} (compound, month by month: month m is the profile × the growth over m months)"]


def assumptions_for(prep: Prepared) -> list[str]:
    table = prep.candidates.table
    out = [
        *([f"{HOURS_PER_MONTH:g} hours per month; the {prep.demand.horizon_hours:g}-hour horizon repeats over the month",
           "reserved instances are paid for every hour of the horizon whether used or not"]
          if prep.loaded.problem.options.commitment_starts == "horizon" else _over_time_lines(prep)),
        "spot prices are the catalog snapshot (minimum over zones); spot capacity can be reclaimed: without it, reserved + on-demand still cover (1 − max_spot_share) of demand",
        *_growth_lines(prep),
        *([f"scale-up: every on-demand or spot instance started is paid for {prep.loaded.problem.options.cold_start_minutes:g} "
           "minutes before it serves (started ahead of the period that needs it; "
           + ("the horizon repeats, so period 0 follows the last" if prep.loaded.problem.options.commitment_starts == "horizon"
              else "a timeline: period 0 starts every instance it runs")
           + "); in the MILP's objective and in cost_breakdown.scale_up"]
          if prep.loaded.problem.options.cold_start_minutes > 0 else []),
        *lag_headroom(prep),
        *(fidelity_band(prep.catalogs) if prep.loaded.problem.options.measured_profile is None else []),
        *([f"spot fallback: losing every spot instance of any one cloud region still leaves {prep.loaded.problem.options.spot_region_fallback:.0%} "
           "of demand × (1 + headroom) served"] if prep.loaded.problem.options.spot_region_fallback > 0 else []),
        *(f"spot capacity of {c or 'every cloud'}/{g or 'every GPU'} counted at {a:.0%} (options.spot_availability: interruptions)"
          for c, g, a in prep.scope.spot_rules),
        f"capacity covers demand × (1 + {prep.loaded.problem.options.headroom:g}) in every period",
        f"user regions may be served from cloud regions: {prep.loaded.problem.options.placement}",
        *(f"data residency: users in {', '.join(sorted(r.users))} served only from "
          + " or ".join(x for x in (", ".join(r.continents), ", ".join(r.geos)) if x)
          for r in prep.loaded.problem.options.residency),
        *([f"network: TTFT and e2e targets are met at the user: in each cloud region the engine's targets are lower by {_rtt_text(prep.scope)}"]
          if prep.loaded.problem.options.count_network_rtt and prep.scope.rtt_budget()[1] else []),
        *([f"high availability: replicas in service in at least {prep.loaded.problem.options.min_regions} cloud regions "
           "in every period"] if prep.loaded.problem.options.min_regions > 1 else []),
        *([f"request-size buckets ({prep.buckets.count}: " + "; ".join(f"{l} {s:.1%}" for l, s in zip(prep.buckets.labels, prep.buckets.share))
           + "): each bucket meets the P99 targets on its own (so the whole mix does); an instance serving several buckets "
           "spends its time in proportion to load ÷ capacity per bucket (Mélange's model); API requests take the workload's mix"]
          if prep.buckets is not None and prep.buckets.count > 1 else []),
        "latency figures are the analytic performance model's P99 at the planned load (see `planner fidelity`)",
        *(describe_techniques(prep.loaded, prep.techniques) if prep.techniques is not None else []),
        *_owned_lines(prep.loaded),
        *(f"platform fee {_fee_text(f)} on every {f.cloud or 'other cloud'} instance (problem options.platform_fees), "
          "in the objective and in cost_breakdown.platform" for f in prep.loaded.problem.options.platform_fees),
        "model artifacts: the weights (parameters × bytes at the precision served) are kept in every cloud region and "
        "precision the plan uses, for the whole horizon, at the region's storage price (storage.csv; object storage, or "
        "the cloud's persistent storage where it has none)",
        *([f"no storage price in storage.csv for {', '.join(unpriced)} (candidate regions): artifacts there are not charged"]
          if (unpriced := unpriced_storage(prep.catalogs, table)) else []),
        (f"egress: {prep.loaded.problem.options.egress_bytes_per_token:g} bytes per output token sent to users, priced per cloud "
         "with its internet-egress tiers (egress.csv; free allowance included as if this were the account's only egress) on "
         "the plan's load split; the MILP does not see egress, the split prefers the cheaper-egress clouds"),
    ]
    if prep.api is not None:
        out.append(f"per-token API: {prep.api['provider']} {prep.api['api_model']} at {prep.api['mean_input_tokens']:.0f} input + "
                   f"{prep.api['mean_output_tokens']:.0f} output tokens per request (the problem's means); API requests are "
                   "priced at each period's planning rate (its peak), an upper bound on the bill")
    for tier in ("reserved-1y", "reserved-3y"):
        col = f"basis_{tier}"
        if col in table:
            rules = sorted({b for b in table[col] if isinstance(b, str) and b.startswith("on-demand less")})
            out += [f"{tier} price = {r}" for r in rules]
    return out


def solve_prepared(prep: Prepared, options: SolverOptions) -> Plan:
    if prep.milp_input is None:
        raise InfeasibleError(explain_no_candidates(prep))
    inp = prep.milp_input
    result = solve_in_stages(inp, options)
    if result.status == SolveStatus.INFEASIBLE:
        raise InfeasibleError(["no plan meets every constraint:"] + ["  " + m for m in diagnose.explain_infeasibility(inp, options)])
    if result.status == SolveStatus.LIMIT_NO_SOLUTION:
        raise SolverLimitError(f"{result.solver} stopped after {result.time_s:.1f} s without a feasible plan ({result.message}); raise --time-limit")
    if not result.has_solution:
        raise SolverError(f"{result.solver}: {result.status.value}: {result.message}")
    p = prep.loaded.problem
    plan = build_plan(
        name=p.name,
        model=prep.scope.model_id,
        engine=p.engine,
        table=prep.candidates.table,
        inp=inp,
        result=result,
        catalog_fingerprint=prep.catalogs.fingerprint,
        slo=p.slo.model_dump(),
        mean_output_tokens=mean_output_tokens(prep.loaded, prep.lengths.output_tokens),
        requests_in_horizon=prep.demand.requests,
        api=prep.api,
        candidates_summary={"evaluated": prep.candidates.evaluated, "kept": len(prep.candidates.table), "pruned": prep.candidates.pruned},
        assumptions=assumptions_for(prep),
        buckets=prep.buckets,
        egress=egress_lines(prep, result),
        cold_start_hours=p.options.cold_start_minutes / 60.0,
        lead_weeks=lead_weeks(prep.loaded),
        stores=prep.stores,
    )
    # the plan re-costs the integer solution from unit prices; it must agree with the solver
    outside = plan.cost_breakdown["egress"]
    if outside > 0:
        plan.assumptions.append(f"egress ({outside * HOURS_PER_MONTH / plan.horizon_hours:,.2f} USD/month, "
                                f"{outside / plan.objective_usd:.1%} of the total) are priced on the plan after the solve: "
                                "the solver's gap covers the rest")
    unpriced = [e.cloud for e in plan.egress if not e.priced]
    if unpriced:
        plan.assumptions.append(f"no internet-egress price in egress.csv for {', '.join(unpriced)}: its egress is not charged")
    # the plan re-costs the integer solution from unit prices; it must agree with the solver (egress is priced after it)
    solved = plan.objective_usd - plan.cost_breakdown["egress"]
    if result.objective_usd is not None and not math.isclose(solved, result.objective_usd, rel_tol=1e-6, abs_tol=1e-6):
        raise SolverError(f"re-costed plan {solved:.6f} USD differs from the solver objective {result.objective_usd:.6f} USD")
    return plan


def solve_problem(loaded: LoadedProblem, catalogs: Catalogs, options: SolverOptions | None = None) -> Plan:
    prep = prepare(loaded, catalogs)
    return solve_prepared(prep, options or solver_options(loaded, None, None, None))


def dump_lp(prep: Prepared, path: str) -> None:
    if prep.milp_input is None:
        raise InfeasibleError(explain_no_candidates(prep))
    write_lp(merge_identical_periods(prep.milp_input)[0], path)

