"""Re-check a saved plan from the problem and the catalogs alone, independently of the solver.

Checks: every assignment is a real catalog offer in an allowed cloud, GPU and tier; its unit price
re-derived from the catalog; reserved counts constant over periods, or with monthly commitment
starts equal to the purchases in service (planner.commitments); every cost re-computed and summed
to the objective (1e-6 relative); each configuration re-evaluated by the performance model (capacity
per replica and P99 latencies within the SLO); demand × (1 + headroom) covered in every period for
every set of user regions by the instances allowed to serve them (Hall's condition on the
user-region/instance bipartite graph, exact for U ≤ 12); the spot rule (without spot instances,
the rest still covers (1 − max_spot_share) of demand × (1 + headroom), checked the same way); and
the minimum replicas; GPU quotas.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner import perf
from planner.buckets import MIX_LABEL, request_buckets
from planner.egress import egress_tiers, horizon_cost
from planner.candidates import (CONFIG_KEYS, bucket_columns, evaluate_buckets, kv_precision_for, profiled_configurations,
                                role_slo)
from planner.catalog import Catalogs
from planner.commitments import check_purchases
from planner.catalog.prices import api_choice, tier_prices
from planner.milp.check import instance_starts
from planner.milp.data import RESERVED_TIERS, TIERS
from planner.pipeline import slo_targets
from planner.plan import Plan
from planner.problem import LoadedProblem
from planner.profile import read_profile
from planner.onprem import with_onprem
from planner.scope import resolve_scope
from planner.techniques import technique_columns
from planner.units import BYTES_PER_ELEMENT, HOURS_PER_MONTH, MTOK
from planner.workload import demand_series, length_samples, mean_input_tokens, mean_output_tokens

REL_TOL = 1e-6


@dataclass(frozen=True)
class Finding:
    ok: bool
    check: str
    message: str


def _close(a: float, b: float, rel: float = REL_TOL) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-6)


def _worst_shortfall(capacity: np.ndarray, serve: np.ndarray, need: np.ndarray, regions: tuple[str, ...]):
    """Largest violation of Hall's condition: for a set S of user regions, Σ need(S) against the
    capacity of the instances allowed to serve any of S. ``capacity`` (A, T), ``serve`` (U, A),
    ``need`` (U, T). Returns None, or (shortfall req/s, period, region names)."""
    U, T = need.shape
    worst = None
    for size in range(1, U + 1):
        for subset in itertools.combinations(range(U), size):
            rows = list(subset)
            available = capacity[serve[rows].any(axis=0)].sum(axis=0) if capacity.size else np.zeros(T)
            short = need[rows].sum(axis=0) - available
            t = int(np.argmax(short))
            if short[t] > 1e-6 * max(1.0, need[rows, t].sum()) and (worst is None or short[t] > worst[0]):  # solver round-off
                worst = (float(short[t]), t, [regions[i] for i in rows])
    return worst


def _check_api(plan: Plan, loaded: LoadedProblem, catalogs: Catalogs, scope, demand, samples, check,
               image_tokens: float = 0.0) -> np.ndarray:
    """Requests sent to the per-token API: allowed, priced from the catalog, within the share cap,
    re-costed. Returns the API requests/s (U, T) for the coverage checks."""
    problem = loaded.problem
    U, T = demand.demand_rps.shape
    api_rps = np.zeros((U, T))
    if not plan.api:
        return api_rps
    inputs, outputs = samples
    offer = api_choice(catalogs.api_prices, scope.model_id, problem.options.api_provider,
                       mean_input_tokens(loaded, inputs) + image_tokens, mean_output_tokens(loaded, outputs))
    check("api" in problem.options.tiers and offer is not None, "tier", "tier api allowed by the problem and priced in the catalog")
    if offer is None:
        return api_rps
    regions = [use.user_region for use in plan.api]
    check(len(regions) == len(set(regions)), "api", "one API row per user region")
    ratio = np.where(demand.demand_rps > 0, demand.mean_rps / np.where(demand.demand_rps > 0, demand.demand_rps, 1.0), 1.0)
    for use in plan.api:
        label = f"api {use.provider}/{use.api_model} [{use.user_region}]"
        check(use.tier == "api" and _close(use.input_usd_per_mtok, offer["input_usd_per_mtok"])
              and _close(use.output_usd_per_mtok, offer["output_usd_per_mtok"]) and use.price_source == offer["source"],
              "price", f"{label}: per-token prices and source as in the catalog")
        check(use.provider == offer["provider"] and use.api_model == offer["api_model"]
              and _close(use.usd_per_request, offer["usd_per_request"]), "price",
              f"{label}: catalog offer {offer['provider']}/{offer['api_model']} at {offer['usd_per_request']:.8f} USD/request")
        if use.user_region not in demand.user_regions or len(use.rps_by_period) != T:
            check(False, "api", f"{label}: unknown user region or wrong number of periods")
            continue
        u = demand.user_regions.index(use.user_region)
        rps = np.array(use.rps_by_period, dtype=float)
        check(np.all(rps >= 0), "api", f"{label}: non-negative requests/s")
        requests = float(np.dot(rps * np.minimum(ratio[u], 1.0), demand.period_hours) * 3600.0)
        check(_close(requests, use.requests), "api", f"{label}: {requests:,.0f} requests billed, plan {use.requests:,.0f}")
        cost = requests * offer["usd_per_request"]
        check(_close(cost, use.cost_usd), "cost", f"{label}: re-costed {cost:.4f} USD, plan {use.cost_usd:.4f} USD")
        api_rps[u] += rps
    for u, region in enumerate(demand.user_regions):  # the cap holds for the region's total, not per row
        limit = problem.options.max_api_share * demand.demand_rps[u]
        check(np.all(api_rps[u] <= limit * (1 + 1e-6) + 1e-9), "api",
              f"API requests of {region} within {problem.options.max_api_share:.0%} of its demand in every period")
    return api_rps


def _check_egress(plan: Plan, loaded: LoadedProblem, catalogs: Catalogs, scope, demand, api_rps: np.ndarray, outputs, check) -> float:
    """Responses per cloud: the clouds' requests add up to the fleet's mean rate in every period (the
    API's share taken off), each cloud only serves user regions its instances may serve (Hall's
    condition with exact totals), and GB and USD follow from the bytes per request and the cloud's
    tiers in egress.csv. Returns the re-costed egress USD."""
    if not plan.egress:
        check(not plan.assignments, "egress", "a plan with instances states its egress")
        return 0.0
    U, T = demand.demand_rps.shape
    hours = demand.period_hours
    ratio = np.divide(demand.mean_rps, demand.demand_rps, out=np.ones_like(demand.mean_rps), where=demand.demand_rps > 0)
    fleet_mean = np.maximum(demand.mean_rps - api_rps * np.minimum(ratio, 1.0), 0.0)  # (U, T)
    clouds = [e.cloud for e in plan.egress]
    rps = np.array([e.rps_by_period for e in plan.egress], dtype=float).reshape(len(clouds), -1)
    if rps.shape[1] != T or len(set(clouds)) != len(clouds):
        check(False, "egress", "one egress row per cloud, one rate per period")
        return 0.0
    check(np.allclose(rps.sum(axis=0), fleet_mean.sum(axis=0), rtol=1e-6, atol=1e-9) and np.all(rps >= -1e-12), "egress",
          "the clouds' requests add up to the fleet's share of demand in every period")
    geos = {}
    for a in plan.assignments:
        if any(a.instances_by_period):
            geos.setdefault(a.cloud, set()).add(a.geo)
    serve = np.array([[bool(geos.get(c)) and bool(scope.can_serve((u,), pd.Series(sorted(geos.get(c, [])))).any())
                       for c in clouds] for u in demand.user_regions]).reshape(U, len(clouds))
    worst = _worst_shortfall(rps, serve, fleet_mean, demand.user_regions)
    check(worst is None, "egress", "each cloud's requests come from user regions its instances may serve" if worst is None else
          f"egress split: short {worst[0]:.3f} req/s for {', '.join(worst[2])} in period {worst[1]}")
    if not plan.buckets:  # each cloud's share, at the planning rate, within its instances' capacity
        need = demand.demand_rps * (1 + loaded.problem.options.headroom) - (1 + loaded.problem.options.headroom) * api_rps
        scale = np.divide(np.maximum(need, 0.0).sum(axis=0), fleet_mean.sum(axis=0),
                          out=np.zeros(T), where=fleet_mean.sum(axis=0) > 0)  # planning rate per request/s of mean rate
        for cloud, r in zip(clouds, rps):
            room = sum(np.array(a.replicas_by_period, dtype=float) * a.capacity_rps_per_replica * a.availability
                       for a in plan.assignments if a.cloud == cloud)
            load = r * scale
            fits = np.all(load <= np.asarray(room, dtype=float) * (1 + 1e-6) + 1e-9)
            check(fits, "egress", f"egress {cloud}: its share of requests fits its instances' capacity" if fits else
                  f"egress {cloud}: {load.max():.2f} req/s at the planning rate exceeds its capacity in some period")
    per_request = mean_output_tokens(loaded, outputs) * loaded.problem.options.egress_bytes_per_token
    total = 0.0
    for e, r in zip(plan.egress, rps):
        tiers = egress_tiers(catalogs.egress, e.cloud)
        gb = float(np.dot(r, hours) * 3600.0 * per_request / 1e9)
        cost = horizon_cost(tiers, gb, float(hours.sum()))
        check(_close(e.gb, gb) and _close(e.cost_usd, cost) and e.priced == bool(len(tiers)), "egress",
              f"egress {e.cloud}: {gb:.3f} GB, {cost:.4f} USD (plan {e.gb:.3f} GB, {e.cost_usd:.4f} USD)")
        total += cost
    return total


def _check_storage(plan: Plan, catalogs: Catalogs, model_id: str, horizon_hours: float, check) -> float:
    """Artifact stores: one per (cloud, region, precision) with an instance in service, priced from
    storage.csv (the region's row, else the cloud-wide row; none: not charged), weights = parameters ×
    bytes per parameter. Returns the re-costed storage USD."""
    params_b = float(catalogs.models.loc[catalogs.models["id"] == model_id, "params_b"].iloc[0])
    table = catalogs.storage.assign(region=catalogs.storage["region"].fillna("").astype(str))
    expected = {}
    for a in plan.assignments:
        if not any(a.instances_by_period):
            continue
        rows = table[(table["cloud"] == a.cloud) & (table["region"] == a.region)]
        rows = rows if len(rows) else table[(table["cloud"] == a.cloud) & (table["region"] == "")]
        if len(rows):
            gb = params_b * BYTES_PER_ELEMENT[a.precision]
            price = float(rows.iloc[0]["usd_per_gb_month"])
            expected[(a.cloud, a.region, a.precision)] = (gb, price, gb * price * horizon_hours / HOURS_PER_MONTH)
    listed = {(x.cloud, x.region, x.precision): x for x in plan.storage}
    check(set(listed) == set(expected), "storage",
          f"artifact stores in the plan {sorted(listed)} are those its instances need {sorted(expected)}")
    for key, (gb, price, cost) in sorted(expected.items()):
        x = listed.get(key)
        if x is not None:
            check(_close(x.artifact_gb, gb) and _close(x.usd_per_gb_month, price) and _close(x.cost_usd, cost), "storage",
                  f"store {'/'.join(key)}: {gb:.1f} GB × {price:g} USD/GB-month over {horizon_hours:g} h = {cost:.4f} USD, plan {x.cost_usd:.4f}")
    return float(sum(c for _, _, c in expected.values()))


def _check_headline(plan: Plan, demand, fleet: float, api_cost: float, loaded: LoadedProblem, outputs, check,
                    platform: float = 0.0, storage: float = 0.0, egress: float = 0.0, scale_up: float = 0.0,
                    tail: float = 0.0) -> None:
    """The figures a reader sees first, re-derived: horizon, requests, unit costs, splits, status."""
    keys = [(a.candidate_id, a.tier) for a in plan.assignments]
    check(len(keys) == len(set(keys)), "assignments", "each (candidate, tier) appears once")
    check(plan.status in ("optimal", "feasible"), "status", f"status {plan.status!r} is optimal or feasible")
    check(_close(plan.horizon_hours, demand.horizon_hours), "horizon", f"horizon {plan.horizon_hours} h, problem {demand.horizon_hours} h")
    total = fleet + api_cost + storage + egress + scale_up + tail
    requests = demand.requests
    check(_close(plan.requests_in_horizon, requests), "requests", f"{requests:,.0f} requests in the horizon, plan {plan.requests_in_horizon:,.0f}")
    out_tokens = mean_output_tokens(loaded, outputs)
    per_1k = total / requests * 1000 if requests else 0.0
    per_mtok = total / (requests * out_tokens) * MTOK if requests else 0.0
    check(_close(plan.cost_per_1k_requests_usd, per_1k), "unit_costs", f"cost per 1k requests {per_1k:.6f} USD, plan {plan.cost_per_1k_requests_usd:.6f}")
    check(_close(plan.cost_per_mtok_output_usd, per_mtok), "unit_costs", f"cost per 1M output tokens {per_mtok:.6f} USD, plan {plan.cost_per_mtok_output_usd:.6f}")
    by_tier: dict[str, float] = {}
    for a in plan.assignments:
        by_tier[a.tier] = by_tier.get(a.tier, 0.0) + a.cost_usd
    if plan.api:
        by_tier["api"] = api_cost
    check(set(by_tier) == set(plan.cost_by_tier) and all(_close(v, plan.cost_by_tier[t]) for t, v in by_tier.items()),
          "cost_by_tier", "cost by tier adds up the assignments")
    check(_close(sum(plan.cost_breakdown.values()), total) and _close(plan.cost_breakdown.get("compute", 0.0), fleet - platform)
          and _close(plan.cost_breakdown.get("platform", 0.0), platform) and _close(plan.cost_breakdown.get("api", 0.0), api_cost)
          and _close(plan.cost_breakdown.get("storage", 0.0), storage) and _close(plan.cost_breakdown.get("egress", 0.0), egress)
          and _close(plan.cost_breakdown.get("scale_up", 0.0), scale_up)
          and _close(plan.cost_breakdown.get("commitments_after_horizon", 0.0), tail),
          "cost_breakdown", f"cost breakdown sums to {sum(plan.cost_breakdown.values()):.4f} USD, re-costed {total:.4f}")


def _check_placement(plan: Plan, demand, headroom: float, check) -> None:
    """The placement adds up: per period, the demand the cloud regions serve plus what goes to the
    API is the demand; no region serves more than its capacity ÷ (1 + headroom) (without size buckets:
    with them capacity is the whole-mix figure and the load is re-checked per bucket); each region's
    figures are its assignments'; utilisation is load-hours over capacity-hours."""
    hours = np.asarray(demand.period_hours, dtype=float)
    loads = [a for a in plan.assignments if a.load_rps_by_period]
    if not plan.placement:  # a plan saved before placements existed has neither
        check(not loads, "placement", "assignments carry loads but the plan has no placement")
        return
    for a in plan.assignments:
        own = np.asarray(a.instances_by_period) * a.replicas_per_instance * a.capacity_rps_per_replica * a.availability
        load = np.asarray(a.load_rps_by_period, dtype=float)
        check(len(load) == len(hours) and (bool(plan.buckets) or np.all(load <= own / (1 + headroom) * (1 + 1e-6) + 1e-9)),
              "placement", f"{a.candidate_id} {a.tier}: a load per period, within its capacity ÷ (1 + headroom)")
    # a cloud region's prefill pool prefills the prompts of the requests its decode pool finishes
    for cloud, region in sorted({(a.cloud, a.region) for a in plan.assignments if a.role == "prefill"}):
        per_role = {r: np.sum([a.load_rps_by_period for a in plan.assignments
                               if (a.cloud, a.region, a.role) == (cloud, region, r)] or [np.zeros(len(hours))], axis=0)
                    for r in ("prefill", "decode")}
        check(np.allclose(per_role["prefill"], per_role["decode"], rtol=1e-6, atol=1e-9), "placement",
              f"{cloud}/{region}: the prefill pool's prompts/s are its decode pool's requests/s in every period")
    load = np.sum([p.load_rps_by_period for p in plan.placement], axis=0)
    api = np.array([p.api_rps for p in plan.periods], dtype=float)
    need = demand.demand_rps.sum(axis=0)
    check(np.allclose(load + api, need, rtol=1e-5, atol=1e-6), "placement",
          f"cloud regions serve {load.sum():,.3f} + API {api.sum():,.3f} req/s summed over periods; demand {need.sum():,.3f}")
    for p in plan.placement:
        # requests finish in the region's whole and decode-pool instances (a prefill pool starts them)
        mine = [a for a in plan.assignments if (a.cloud, a.region) == (p.cloud, p.region) and a.role != "prefill"]
        cap = np.sum([np.asarray(a.instances_by_period) * a.replicas_per_instance * a.capacity_rps_per_replica * a.availability
                      for a in mine], axis=0) if mine else np.zeros(len(hours))
        own = np.sum([a.load_rps_by_period for a in mine], axis=0) if mine else np.zeros(len(hours))
        lp = np.asarray(p.load_rps_by_period, dtype=float)
        may = {u for a in mine for u in a.serves_user_regions}
        check(set(p.serves_rps) <= may, "placement",
              f"{p.cloud}/{p.region} serves only user regions its instances may serve ({', '.join(sorted(may))})")
        util = float(np.dot(lp, hours) / np.dot(cap, hours)) if np.dot(cap, hours) > 0 else 0.0
        check(np.allclose(p.capacity_rps_by_period, cap) and np.allclose(own, lp, rtol=1e-6, atol=1e-6)
              and (bool(plan.buckets) or np.all(lp <= cap / (1 + headroom) * (1 + 1e-6) + 1e-9)) and _close(p.utilisation, util)
              and _close(sum(p.serves_rps.values()), float(np.dot(lp, hours) / hours.sum())),
              "placement", f"{p.cloud}/{p.region}: capacity, load ≤ capacity ÷ (1 + headroom), utilisation {util:.1%} re-derived")


def _check_baselines(plan: Plan, egress: float, check) -> None:
    """A baseline served by instances is a feasible plan of the same problem (a restriction of it), so
    the plan's own bound, (1 − gap) × its cost less egress (priced outside the solve), may not exceed
    it; and each saving is the baseline's cost less the plan's."""
    gap = plan.solver.gap if plan.solver.gap is not None else float(plan.solver.options.get("gap", 0.0))  # CBC reports no bound
    month = HOURS_PER_MONTH / plan.horizon_hours
    bound = (1 - gap) * (plan.monthly_cost_usd - egress * month)
    for b in plan.baselines:
        if b.monthly_cost_usd is None:
            continue
        check(_close(b.saving_usd_per_month, b.monthly_cost_usd - plan.monthly_cost_usd), "baselines",
              f"{b.name}: saving {b.saving_usd_per_month:,.2f} USD/month = its {b.monthly_cost_usd:,.2f} less the plan's {plan.monthly_cost_usd:,.2f}")
        if b.restriction:
            ok = b.monthly_cost_usd >= bound * (1 - REL_TOL)
            check(ok, "baselines", f"{b.name} ({b.monthly_cost_usd:,.2f} USD/month) is {'not ' if ok else ''}below the plan's "
                  f"bound ({bound:,.2f}): it is a plan of the same problem")


def verify_plan(loaded: LoadedProblem, catalogs: Catalogs, plan: Plan) -> list[Finding]:
    out: list[Finding] = []

    def check(ok: bool, name: str, message: str) -> None:
        out.append(Finding(bool(ok), name, message))

    problem = loaded.problem
    catalogs = with_onprem(loaded, catalogs)  # owned sites' offers re-derived from the problem and catalogs
    scope = resolve_scope(loaded, catalogs)
    demand = demand_series(loaded)
    hours = demand.period_hours
    T = len(hours)
    check(plan.catalog_fingerprint == catalogs.fingerprint, "catalog",
          f"plan made with catalogs {plan.catalog_fingerprint}, verifying against {catalogs.fingerprint}")
    check(len(plan.periods) == T and all(_close(p.hours, h) for p, h in zip(plan.periods, hours)), "periods",
          f"plan has {len(plan.periods)} periods; the problem gives {T}")
    if len(plan.periods) != T:
        return out

    profile = read_profile(loaded, catalogs)
    techniques = technique_columns(loaded, catalogs, scope.model_id)  # ProblemError like resolve_scope's
    offers = catalogs.offers.set_index(["cloud", "region", "instance_type"], drop=False)
    prices = tier_prices(offers, catalogs.discounts)
    regions = catalogs.regions.set_index(["cloud", "region"])
    total = 0.0
    platform = 0.0
    scale_up = 0.0
    fee_rules = {(r.cloud.strip().lower() if r.cloud else None): r for r in problem.options.platform_fees}
    rows = []
    for a in plan.assignments:
        key = (a.cloud, a.region, a.instance_type)
        label = f"{a.candidate_id} [{a.tier}]"
        if key not in offers.index:
            check(False, "offer", f"{label}: no such offer in the catalog")
            continue
        offer = offers.loc[key]
        check(offer["gpu"] == a.gpu and int(offer["gpus_per_instance"]) == a.gpus_per_instance, "offer",
              f"{label}: catalog says {offer['gpus_per_instance']:.0f}× {offer['gpu']}")
        check(a.gpu in scope.gpu_ids and a.cloud in scope.clouds, "scope", f"{label}: GPU {a.gpu} in {a.cloud} allowed by the problem")
        check(a.tier in problem.options.tiers, "tier", f"{label}: tier {a.tier} allowed by the problem")
        if a.tier not in TIERS:
            check(False, "tier", f"{label}: tier {a.tier} is not one this planner buys ({', '.join(TIERS)})")
            continue
        opts = problem.options
        kv = kv_precision_for(a.precision, opts.kv_precision)
        check(a.model == scope.model_id, "model", f"{label}: model {a.model}, problem {scope.model_id}")
        check(a.precision in opts.precisions and a.kv_precision == kv, "precision",
              f"{label}: precision {a.precision}/{a.kv_precision} allowed by the problem ({', '.join(opts.precisions)}; KV {kv})")
        drafts = techniques.draft_tokens if profile is None else (0,)
        check(a.speculative_draft_tokens in drafts, "speculative", f"{label}: speculative draft length "
              f"{a.speculative_draft_tokens} among the problem's {list(drafts)} (0 = none)")
        check(a.role in techniques.roles, "role", f"{label}: role {a.role} among the problem's {list(techniques.roles)}")
        check(a.role != "prefill" or a.speculative_draft_tokens == 0, "speculative",
              f"{label}: a prefill pool drafts nothing (speculative decoding is the decode pool's)")
        batches = opts.max_batch if profile is None else sorted(set(profile["max_batch"]))
        check(a.max_batch in batches, "max_batch", f"{label}: max batch {a.max_batch} among the "
              + ("problem's" if profile is None else "measured profile's") + f" {batches}")
        layout_ok = (a.pp == 1 and a.tp >= 1 and a.gpus_per_instance % a.tp == 0 and a.tp <= opts.max_gpus_per_replica
                     and a.gpus_per_replica == a.tp * a.pp and a.replicas_per_instance == a.gpus_per_instance // a.tp)
        check(layout_ok, "layout", f"{label}: {a.replicas_per_instance} replica(s) of tp={a.tp}, pp={a.pp} "
              f"({a.gpus_per_replica} GPUs) on a {a.gpus_per_instance}-GPU instance")
        check(a.replicas_by_period == [n * a.replicas_per_instance for n in a.instances_by_period], "replicas",
              f"{label}: replicas_by_period = instances × {a.replicas_per_instance}")
        price = float(prices.loc[key, f"price_{a.tier}"])
        check(_close(price, a.price_usd_per_instance_hour), "price",
              f"{label}: catalog price {price:.6f} USD/h, plan {a.price_usd_per_instance_hour:.6f} USD/h")
        rule = fee_rules.get(a.cloud, fee_rules.get(None))
        fee = 0.0 if rule is None else price * rule.percent / 100.0 + rule.usd_per_instance_hour
        check(_close(fee, a.platform_fee_usd_per_instance_hour), "platform",
              f"{label}: platform fee {fee:.6f} USD/h from options.platform_fees, plan {a.platform_fee_usd_per_instance_hour:.6f} USD/h")
        n = np.array(a.instances_by_period, dtype=float)
        check(len(n) == T and np.all(n >= 0) and np.all(n == np.round(n)), "counts", f"{label}: {len(n)} non-negative integer counts")
        if len(n) != T:
            continue
        instance_hours = float(np.dot(n, hours))  # a commitment: the hours it serves (commitments.check_purchases)
        cost = (price + fee) * instance_hours
        platform += fee * instance_hours
        cyclic = problem.options.commitment_starts == "horizon"  # else a timeline from nothing in service
        starts = 0 if a.tier in RESERVED_TIERS else int(instance_starts(n[None, :], cyclic).sum())
        start_cost = starts * problem.options.cold_start_minutes / 60.0 * (price + fee)
        check(starts == a.instance_starts and _close(start_cost, a.scale_up_cost_usd), "scale_up",
              f"{label}: {starts} instance start(s) × {problem.options.cold_start_minutes:g} min = {start_cost:.4f} USD, "
              f"plan {a.instance_starts} / {a.scale_up_cost_usd:.4f} USD")
        scale_up += start_cost
        check(_close(cost, a.cost_usd), "cost", f"{label}: re-costed {cost:.4f} USD, plan {a.cost_usd:.4f} USD")
        total += cost
        rows.append((a, n, regions.loc[(a.cloud, a.region), "geo"]))
    tail = check_purchases(plan, loaded, hours, check)  # terms after the horizon, when the plan pays them
    fleet = total
    text_inputs, outputs = length_samples(loaded)  # read once: a lengths file is I/O
    inputs = text_inputs + techniques.image_tokens_per_request
    api_rps = _check_api(plan, loaded, catalogs, scope, demand, (text_inputs, outputs), check,
                         techniques.image_tokens_per_request)  # (U, T)
    api_cost = sum(a.cost_usd for a in plan.api)
    storage_cost = _check_storage(plan, catalogs, scope.model_id, float(hours.sum()), check)
    egress_cost = _check_egress(plan, loaded, catalogs, scope, demand, api_rps, outputs, check)
    total = fleet + api_cost + storage_cost + egress_cost + scale_up + tail
    check(_close(total, plan.objective_usd), "objective", f"sum of re-costed assignments and API {total:.4f} USD, plan objective {plan.objective_usd:.4f} USD")
    monthly = total * HOURS_PER_MONTH / float(hours.sum())
    check(_close(monthly, plan.monthly_cost_usd), "monthly", f"monthly {monthly:.2f} USD, plan {plan.monthly_cost_usd:.2f} USD")
    _check_headline(plan, demand, fleet, api_cost, loaded, outputs, check, platform, storage_cost, egress_cost, scale_up, tail)
    _check_baselines(plan, egress_cost, check)
    _check_placement(plan, demand, problem.options.headroom, check)
    if not rows and not plan.api:
        check(False, "demand", "the plan buys nothing")
        return out

    # re-evaluate each distinct configuration with the performance model
    lengths = perf.LengthSamples(input_tokens=inputs, output_tokens=outputs)
    # each region's engine targets: the problem's less the largest RTT to a user region it may serve
    budgets = np.round(scope.rtt_budgets([a.geo for a, _, _ in rows]), 6) if profile is None else np.zeros(len(rows))
    slo_at = {b: slo_targets(loaded, scope, b) for b in sorted(set(budgets))}
    configs = pd.DataFrame(
        sorted({(a.gpu, a.tp, a.precision, a.kv_precision, a.max_batch, a.speculative_draft_tokens, a.role, b)
                for (a, _, _), b in zip(rows, budgets)}),
        columns=[*CONFIG_KEYS, "rtt_budget_ms"],
    )
    buckets = request_buckets(loaded, lengths)
    multi = buckets.count > 1
    check([b.label for b in plan.buckets] == (list(buckets.labels) if multi else [])
          and all(_close(b.share, s) for b, s in zip(plan.buckets, buckets.share)), "buckets",
          f"request-size buckets as the problem defines them ({buckets.count})")
    if profile is None:
        evaluated = pd.concat([evaluate_buckets(configs[configs["rtt_budget_ms"] == b].drop(columns="rtt_budget_ms"), loaded,
                                                scope, catalogs, buckets, slo_at[b], techniques).assign(rtt_budget_ms=b)
                               for b in slo_at], ignore_index=True) if rows else None
    else:  # the user's measurements stand in for the model
        evaluated = profiled_configurations(loaded, scope, profile, buckets).assign(rtt_budget_ms=0.0)
    if evaluated is not None:
        evaluated = evaluated.set_index([*CONFIG_KEYS, "rtt_budget_ms"])
    capacity = []
    pools: dict[tuple[str, str], dict[str, list]] = {}  # (cloud, region) -> per role, requests/s by period
    bucket_caps: dict[str, np.ndarray] = {}  # candidate -> (B,) requests/s per instance
    for (a, n, _), budget in zip(rows, budgets):
        key = (a.gpu, a.tp, a.precision, a.kv_precision, a.max_batch, a.speculative_draft_tokens, a.role, budget)
        slo = role_slo(slo_at[budget], a.role)  # a pool meets its share of the targets
        if key not in evaluated.index:
            check(False, "capacity", f"{a.candidate_id}: configuration {key} is not one the problem allows")
            continue
        e = evaluated.loc[key]
        cap = float(e["capacity_rps"])
        check(_close(cap, a.capacity_rps_per_replica, 1e-4), "capacity",
              f"{a.candidate_id}: re-evaluated {cap:.4f} req/s per replica, plan {a.capacity_rps_per_replica:.4f}")
        per_bucket = e[bucket_columns(buckets.count)].to_numpy(float)
        bucket_caps[a.candidate_id] = per_bucket * a.replicas_per_instance
        if multi:
            planned = np.array([a.capacity_rps_by_bucket.get(label, np.nan) for label in [*buckets.labels, MIX_LABEL]])
            check(np.allclose(planned, per_bucket, rtol=1e-4, atol=1e-9), "capacity",
                  f"{a.candidate_id}: per-bucket capacity re-evaluated")
        for field, target in (("ttft", slo.ttft_p99_ms), ("tpot", slo.tpot_p99_ms), ("e2e", slo.e2e_p99_ms)):
            value = float(e[f"{field}_p99_ms"])
            if target is not None and profile is not None:
                check(math.isnan(value), "slo", f"{a.candidate_id}: capacity measured at the SLO (measured profile)")
            elif target is not None:
                check(value <= target * (1 + 1e-6), "slo", f"{a.candidate_id}: P99 {field.upper()} {value:.1f} ms ≤ {target:.0f} ms")
        counted = _spot_share(problem, catalogs, a) if a.tier == "spot" else 1.0
        check(_close(counted, a.availability), "spot", f"{a.candidate_id} [{a.tier}]: capacity counted at {counted:.0%}, plan {a.availability:.0%}")
        requests = cap * a.replicas_per_instance * n * counted
        if a.role != "whole":
            pool = pools.setdefault((a.cloud, a.region), {"prefill": [], "decode": [], "prefill_firm": [], "decode_firm": []})
            pool[a.role].append(requests)
            if a.tier != "spot":
                pool[a.role + "_firm"].append(requests)
        capacity.append(np.zeros(T) if a.role == "prefill" else requests)  # a prefill pool finishes no request
    _check_pools(pools, problem.options.max_spot_share < 1, T, check)
    U = len(demand.user_regions)
    fleet_capacity = np.array(capacity).reshape(len(rows), T)  # (A, T)
    geos = pd.Series([g for _, _, g in rows])
    fleet_serve = scope.can_serve(demand.user_regions, geos).reshape(U, len(rows))
    fleet_serve &= _residency_allowed(problem, catalogs.regions, demand.user_regions, list(geos))
    # requests sent to the API relieve (1 + headroom) of fleet capacity, for their own user region only
    capacity = np.concatenate([fleet_capacity, (1 + problem.options.headroom) * api_rps])
    serve = np.concatenate([fleet_serve, np.eye(U, dtype=bool)], axis=1)  # (U, A + U)
    need = demand.demand_rps * (1 + problem.options.headroom)
    share = problem.options.max_spot_share
    if multi:  # a replica's time is shared between buckets: check the plan's load split instead of Hall's condition
        _check_splits(plan, rows, bucket_caps, fleet_serve, need, api_rps, buckets, demand, problem, check)
        _check_periods_and_rules(plan, rows, fleet_capacity, scope, problem, T, check)
        return out
    worst = _worst_shortfall(capacity, serve, need, demand.user_regions)
    check(worst is None, "demand",
          "demand × (1 + headroom) covered in every period and user region" if worst is None else
          f"short {worst[0]:.2f} req/s for user region(s) {', '.join(worst[2])} in period {worst[1]}")
    spot = np.array([a.tier == "spot" for a, _, _ in rows] + [False] * U, dtype=bool)
    if share < 1:
        worst = _worst_shortfall(capacity[~spot], serve[:, ~spot], (1 - share) * need, demand.user_regions)
        check(worst is None, "spot",
              f"without spot, reserved and on-demand capacity covers {1 - share:.0%} of demand × (1 + headroom)" if worst is None else
              f"without spot, short {worst[0]:.2f} req/s of {1 - share:.0%} of demand for {', '.join(worst[2])} in period {worst[1]}")
    phi = problem.options.spot_region_fallback
    if phi > 0:
        for region in sorted({(a.cloud, a.region) for a, _, _ in rows if a.tier == "spot"}):
            lost = np.array([a.tier == "spot" and (a.cloud, a.region) == region for a, _, _ in rows] + [False] * U, dtype=bool)
            worst = _worst_shortfall(capacity[~lost], serve[:, ~lost], phi * need, demand.user_regions)
            check(worst is None, "spot",
                  f"without the spot instances of {'/'.join(region)}, {phi:.0%} of demand × (1 + headroom) is covered" if worst is None else
                  f"without the spot instances of {'/'.join(region)}, short {worst[0]:.2f} req/s of {phi:.0%} of demand for "
                  f"{', '.join(worst[2])} in period {worst[1]}")
    _check_periods_and_rules(plan, rows, fleet_capacity, scope, problem, T, check)
    return out


def _check_periods_and_rules(plan: Plan, rows, fleet_capacity: np.ndarray, scope, problem, T: int, check) -> None:
    """Period capacities, GPU quotas, minimum replicas and regions."""
    check(all(_close(p.capacity_rps, c) for p, c in zip(plan.periods, fleet_capacity.sum(axis=0))), "periods",
          "each period's capacity is the sum of its instances' capacity")
    # replicas that finish requests (a prefill pool's only start them)
    replicas = np.array([n * a.replicas_per_instance for a, n, _ in rows if a.role != "prefill"] + [np.zeros(T)]).sum(axis=0)
    for cloud, region, gpu, max_gpus in scope.quotas:
        used = sum(n * a.gpus_per_instance for a, n, _ in rows
                   if a.cloud == cloud and (region is None or a.region == region) and (gpu is None or a.gpu == gpu))
        peak = float(np.max(used)) if np.ndim(used) else 0.0
        check(peak <= max_gpus, "quota", f"quota {cloud}/{region or '*'}/{gpu or '*'}: at most {peak:.0f} of {max_gpus} GPUs in service")
    check(np.all(replicas >= problem.options.min_replicas), "min_replicas",
          f"at least {problem.options.min_replicas} replica(s) in every period (fewest: {replicas.min():.0f})")
    if problem.options.min_regions > 1:
        up = [len({(a.cloud, a.region) for a, n, _ in rows if n[t] > 0 and a.role != "prefill"}) for t in range(T)]
        check(min(up) >= problem.options.min_regions, "min_regions",
              f"replicas in at least {problem.options.min_regions} cloud regions in every period (fewest: {min(up)})")


def _check_pools(pools: dict, spot_rule: bool, T: int, check) -> None:
    """Disaggregated serving: in each cloud region and period the prefill pool's prompts/s cover the
    requests/s its decode pool can finish (and the non-spot part of it the non-spot decode
    capacity, when the spot rule applies). (A prefill pool without a decode pool is waste, not a
    violation: the cost checks price it.)"""
    for (cloud, region), parts in sorted(pools.items()):
        for suffix in ("", "_firm") if spot_rule else ("",):
            prefill = np.sum(parts["prefill" + suffix], axis=0) if parts["prefill" + suffix] else np.zeros(T)
            decode = np.sum(parts["decode" + suffix], axis=0) if parts["decode" + suffix] else np.zeros(T)
            short = decode - prefill
            t = int(np.argmax(short))
            ok = short[t] <= REL_TOL * max(1.0, decode[t])
            kind = "non-spot " if suffix else ""
            check(ok, "pools", f"{cloud}/{region}: {kind}prefill pool covers its {kind}decode pool in every period" if ok else
                  f"{cloud}/{region}: {kind}prefill pool {prefill[t]:.3f} < {kind}decode pool {decode[t]:.3f} req/s in period {t}")


def _check_splits(plan: Plan, rows, bucket_caps: dict, fleet_serve: np.ndarray, need: np.ndarray, api_rps: np.ndarray,
                  buckets, demand, problem, check) -> None:
    """Request-size buckets: the plan splits each candidate's instances over service classes (a
    bucket on its own at its capacity for that bucket, or the whole mix at its capacity for the mix,
    which carries share_b of its requests in bucket b), within the instances in service; then every
    bucket is covered by Hall's condition like the demand without buckets (less what the API takes,
    in the workload's mix). The spot rule the same way on the fallback split of the non-spot instances."""
    U, T = need.shape
    ids = sorted({a.candidate_id for a, _, _ in rows})
    col = {c: i for i, c in enumerate(ids)}
    units = np.zeros((len(ids), T))
    firm = np.zeros((len(ids), T))
    serve = np.zeros((U, len(ids)), dtype=bool)
    for j, (a, n, _) in enumerate(rows):
        units[col[a.candidate_id]] += n * a.availability  # spot counted at its availability (checked above)
        if a.tier != "spot":
            firm[col[a.candidate_id]] += n
        serve[:, col[a.candidate_id]] = fleet_serve[:, j]
    classes = list(buckets.labels) + [MIX_LABEL]
    cap = np.array([bucket_caps[c] for c in ids]).reshape(len(ids), len(classes))  # (A, J) requests/s per instance
    cover = np.concatenate([np.eye(buckets.count), buckets.share[None, :]])  # (J, B) share of a class's requests in bucket b
    relief = (1 + problem.options.headroom) * api_rps
    spot_rule = problem.options.max_spot_share < 1 and (any(a.tier == "spot" for a, _, _ in rows) or bool(plan.fallback_split))
    for name, splits, in_service, part in (("demand", plan.bucket_split, units, 1.0),
                                           ("spot", plan.fallback_split, firm, 1 - problem.options.max_spot_share)):
        if name == "spot" and not spot_rule:
            continue
        split = np.zeros((len(ids), len(classes), T))
        for sp in splits:
            if sp.candidate_id not in col or sp.serves not in classes or len(sp.instances_by_period) != T:
                check(False, name, f"{name} split row {sp.candidate_id} / {sp.serves}: unknown candidate or class, or wrong length")
                continue
            split[col[sp.candidate_id], classes.index(sp.serves)] += sp.instances_by_period
        check(np.all(split >= 0) and not np.any((split > 1e-9) & (cap <= 0)[:, :, None]), name,
              f"{name} split: non-negative, only on classes the instance serves at the SLO")
        over = split.sum(axis=1) - in_service
        if over.size:
            k, t = np.unravel_index(np.argmax(over), over.shape)
            check(over[k, t] <= 1e-6 * max(1.0, in_service[k, t]), name,
                  f"{name} split within the instances in service" if over[k, t] <= 1e-6 * max(1.0, in_service[k, t]) else
                  f"{name} split uses {split[k, :, t].sum():.4f} instances of {ids[k]} in period {t}, {in_service[k, t]:.0f} in service")
        carried = np.einsum("aj,jb,ajt->abt", cap, cover, split)  # (A, B, T) requests/s of bucket b
        for b, label in enumerate(buckets.labels):
            capacity = np.concatenate([carried[:, b], buckets.share[b] * relief])
            serve_all = np.concatenate([serve, np.eye(U, dtype=bool)], axis=1)
            worst = _worst_shortfall(capacity, serve_all, part * buckets.share[b] * need, demand.user_regions)
            check(worst is None, name,
                  f"{name}: bucket '{label}' covered ({part:.0%} of demand × (1 + headroom))" if worst is None else
                  f"{name}: bucket '{label}' short {worst[0]:.3f} req/s for {', '.join(worst[2])} in period {worst[1]}")


def _spot_share(problem, catalogs: Catalogs, a) -> float:
    """The problem's spot availability for an assignment's cloud and GPU: the most specific rule."""
    best, rank = 1.0, -1
    for rule in problem.options.spot_availability:
        cloud = rule.cloud.strip().lower() if rule.cloud else None
        gpu = catalogs.gpu_ids.resolve(rule.gpu) if rule.gpu else None
        if (cloud not in (None, a.cloud)) or (gpu not in (None, a.gpu)):
            continue
        r = 2 * (cloud is not None) + (gpu is not None)
        if r > rank:
            best, rank = rule.availability, r
    return float(best)


def _residency_allowed(problem, regions: pd.DataFrame, user_regions, geos: list[str]) -> np.ndarray:
    """(U, A) bool, written independently of the planner's rule code: False where a residency rule
    covering user region u allows neither the geography nor the continent of assignment a."""
    continent = dict(zip(regions["geo"], regions["continent"]))
    allowed = np.ones((len(user_regions), len(geos)), dtype=bool)
    for rule in problem.options.residency:
        for u, user in enumerate(user_regions):
            if user in rule.users:
                for a, geo in enumerate(geos):
                    if geo not in rule.geos and continent.get(geo) not in rule.continents:
                        allowed[u, a] = False
    return allowed
