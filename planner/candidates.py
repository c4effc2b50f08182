"""Enumerate candidate replicas, evaluate them with the performance model, price them, prune.

The unit the planner buys is one **instance** (a cloud VM with its accelerators). An instance of G
GPUs runs ``G / (tp·pp)`` model replicas side by side (data parallel). A candidate is

    (offer = cloud × region × instance type) × (tp, precision, max batch)

and its capacity is ``replicas_per_instance × capacity_at_slo`` of one replica. Buying whole
instances keeps the bill of materials exact (no fractional VMs).

Pruning (each count reported, nothing silently dropped):

1. *does not fit / cannot meet the SLO*: capacity 0 at the SLO;
2. *same offer, weaker configuration*: for one offer every configuration costs the same per hour in
   every tier, so only the configuration with the highest capacity is kept (ties: the first in sorted
   order); with request-size buckets, every configuration not beaten on every bucket (and the whole mix);
3. *dominated offer*: another candidate that may serve the same user regions has at least the
   capacity (in every bucket) and a price no higher in every tier (and offers every tier this one offers).
   Artifact storage is not compared: a plan may pay for one store more than the optimum would (at most
   one store's cost, cents to a few dollars a month).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner import perf
from planner.buckets import RequestBuckets
from planner.catalog import Catalogs
from planner.catalog.prices import platform_fees, tier_prices
from planner.dominance import dominated
from planner.errors import ProblemError
from planner.milp.data import TIERS
from planner.problem import LoadedProblem
from planner.profile import profile_capacities, read_profile
from planner.scope import Scope, quota_members, spot_availability_for
from planner.techniques import TechniqueColumns

TP_DEGREES = (1, 2, 4, 8, 16)


@dataclass
class CandidateSet:
    table: pd.DataFrame  # one row per kept candidate, sorted by candidate_id
    evaluated: int  # configurations evaluated (offer × tp × precision × batch)
    pruned: dict[str, int] = field(default_factory=dict)  # reason -> count
    best_rejected: pd.DataFrame | None = None  # per GPU, the best reason it was rejected (for explanations)


def total_price(table: pd.DataFrame, tier: str) -> np.ndarray:
    """USD per instance-hour the plan pays in ``tier``: the instance price plus the platform fee."""
    fee = table[f"fee_{tier}"].to_numpy(float) if f"fee_{tier}" in table else 0.0
    return table[f"price_{tier}"].to_numpy(float) + np.nan_to_num(fee)


def kv_precision_for(weight_precision: str, option: str) -> str:
    """KV-cache precision: the option, or with 'same' the weight precision (16-bit for integer weights,
    since weight-only integer formats keep activations and KV in 16 bits)."""
    if option != "same":
        return option
    return "fp16" if weight_precision in ("int8", "int4") else weight_precision


CONFIG_KEYS = ["gpu", "tp", "precision", "kv_precision", "concurrency", "spec_draft_tokens", "role"]


def _configurations(loaded: LoadedProblem, scope: Scope, offers: pd.DataFrame, catalogs: Catalogs,
                    techniques: TechniqueColumns) -> pd.DataFrame:
    """Unique (gpu, tp, precision, batch, draft length) rows to evaluate once, shared by every offer
    with that GPU (draft length 0 = no speculative decoding)."""
    opts = loaded.problem.options
    heads = int(catalogs.models.set_index("id").loc[scope.model_id, "num_attention_heads"])
    gpu_counts = offers.groupby("gpu")["gpus_per_instance"].agg(lambda s: sorted(set(int(v) for v in s)))
    rows = []
    for gpu in sorted(gpu_counts.index):
        tps = sorted({tp for g in gpu_counts[gpu] for tp in TP_DEGREES if tp <= g and g % tp == 0})
        for tp in tps:
            if tp > opts.max_gpus_per_replica or heads % tp:
                continue
            for precision in sorted(opts.precisions):
                for batch in sorted(opts.max_batch):
                    for role in techniques.roles:
                        # a prefill pool drafts nothing: speculative decoding is the decode side's
                        drafts = (0,) if role == "prefill" else techniques.draft_tokens
                        for k in drafts:
                            rows.append((gpu, tp, precision, kv_precision_for(precision, opts.kv_precision), batch, k, role))
    return pd.DataFrame(rows, columns=CONFIG_KEYS)


def role_slo(slo, role: str):
    """The targets one pool is held to: the whole SLO for whole requests; TTFT for a prefill pool
    (it emits the first token); TPOT and the e2e budget left after the TTFT target for a decode pool
    (P99s add up to at least the P99 of the sum: conservative)."""
    if role == "prefill":
        return perf.SloTargets(ttft_p99_ms=slo.ttft_p99_ms)
    if role == "decode":
        e2e = None if slo.e2e_p99_ms is None else max(slo.e2e_p99_ms - (slo.ttft_p99_ms or 0.0), 0.0)
        return perf.SloTargets(tpot_p99_ms=slo.tpot_p99_ms, e2e_p99_ms=e2e)
    return slo


def evaluate_configurations(configs: pd.DataFrame, loaded: LoadedProblem, scope: Scope, catalogs: Catalogs, lengths, slo,
                            techniques: TechniqueColumns) -> pd.DataFrame:
    """Capacity at the SLO of each configuration (``CONFIG_KEYS``) with the problem's techniques."""
    rows = configs.assign(**techniques.columns)
    if "spec_method" in rows:  # draft length 0 is the configuration without speculative decoding
        rows["spec_method"] = np.where(rows["spec_draft_tokens"].to_numpy(float) > 0, rows["spec_method"], "none")
    rows = rows.assign(
        model=scope.model_id,
        num_gpus=configs["tp"],
        pp=1,
        gpus_per_node=configs["tp"],  # a replica lives inside one instance: one interconnect domain
        engine_family=loaded.problem.engine,
        scenario="server",
        input_len=np.nan,
        output_len=np.nan,
    )
    cfg = perf.spec_table(rows.drop(columns="role").reset_index(drop=True), catalogs.accelerators, catalogs.models)
    efficiency = perf.Efficiency(catalogs.efficiency)
    keep = ["fits", "capacity_rps", "ttft_p99_ms", "tpot_p99_ms", "e2e_p99_ms", "max_concurrency", "weights_gb", "kv_gb", "limit", "error"]
    parts = []
    role = rows["role"].to_numpy(str) if "role" in rows else np.full(len(rows), "whole")
    for name in ("whole", "prefill", "decode"):  # each pool at its own targets (role_slo)
        mine = np.flatnonzero(role == name)
        if not mine.size:
            continue
        sub = cfg.iloc[mine]
        if name == "whole":
            result = perf.capacity_at_slo(sub, lengths, slo, efficiency)
        else:
            result = perf.pool_capacity(sub, lengths, role_slo(slo, name), efficiency, name, techniques.kv_transfer_gb_per_s)
        parts.append(result[keep].set_axis(mine))
    result = pd.concat(parts).sort_index() if parts else pd.DataFrame(columns=keep)
    return pd.concat([configs.reset_index(drop=True), result.reset_index(drop=True)], axis=1)


def bucket_columns(count: int) -> list[str]:
    """Names of the per-class capacity columns (requests/s at the SLO): one per request-size bucket
    and, with more than one bucket, ``capacity_rps_mix`` for the whole mix as it comes."""
    return [f"capacity_rps_b{b}" for b in range(count)] + (["capacity_rps_mix"] if count > 1 else [])


def mix_capacity(per_bucket: np.ndarray, share: np.ndarray) -> np.ndarray:
    """(n,) requests/s one replica sustains on the buckets it can serve, in the workload's
    proportions, when it serves each on its own: Σ_{b served} π_b / Σ_{b served} π_b / c_b (0 when it
    serves none)."""
    per_bucket = np.asarray(per_bucket, dtype=float)
    served = per_bucket > 0
    weight = np.where(served, share[None, :], 0.0)
    time_per_request = np.where(served, weight / np.where(served, per_bucket, 1.0), 0.0).sum(axis=1)
    return np.where(time_per_request > 0, weight.sum(axis=1) / np.where(time_per_request > 0, time_per_request, 1.0), 0.0)


def evaluate_buckets(configs: pd.DataFrame, loaded: LoadedProblem, scope: Scope, catalogs: Catalogs, buckets: RequestBuckets, slo,
                     techniques: TechniqueColumns) -> pd.DataFrame:
    """:func:`evaluate_configurations` once per request-size bucket and, with several buckets, once
    on the whole mix. Adds the :func:`bucket_columns`; ``capacity_rps`` becomes the capacity on the
    whole mix, or where that misses the SLO, on the buckets it can serve (:func:`mix_capacity`); the
    latencies are the worst over the classes the configuration can serve (each within the SLO);
    ``fits`` is true when any class fits. With one bucket this is :func:`evaluate_configurations`
    plus ``capacity_rps_b0``."""
    lengths = list(buckets.lengths) + ([buckets.whole] if buckets.count > 1 else [])
    parts = [evaluate_configurations(configs, loaded, scope, catalogs, part, slo, techniques) for part in lengths]
    out = (parts[-1] if buckets.count > 1 else parts[0]).copy()
    caps = np.stack([p["capacity_rps"].to_numpy(float) for p in parts], axis=1)
    for name, column in zip(bucket_columns(buckets.count), caps.T):
        out[name] = column
    if buckets.count == 1:
        return out
    served = caps > 0
    whole = caps[:, -1]
    out["capacity_rps"] = np.where(whole > 0, whole, mix_capacity(caps[:, :-1], buckets.share))
    out["fits"] = np.any([p["fits"].to_numpy(bool) for p in parts], axis=0)
    for column in ("ttft_p99_ms", "tpot_p99_ms", "e2e_p99_ms"):
        values = np.stack([p[column].to_numpy(float) for p in parts], axis=1)
        worst = np.where(served, values, -np.inf).max(axis=1)
        out[column] = np.where(served.any(axis=1), worst, values[:, -1])  # none served: the whole mix's, for explanations
    out["limit"] = ["; ".join(f"{name}:{p['limit'].iloc[i]}" for name, p in zip([*buckets.labels, "whole mix"], parts))
                    for i in range(len(out))]
    return out


def profiled_configurations(loaded: LoadedProblem, scope: Scope, profile: pd.DataFrame, buckets: RequestBuckets) -> pd.DataFrame:
    """The measured profile's configurations the problem allows (GPU, precision, replica size), with
    their measured capacities (:func:`planner.profile.profile_capacities`)."""
    opts = loaded.problem.options
    allowed = profile[profile["gpu"].isin(scope.gpu_ids) & profile["precision"].isin(opts.precisions)
                      & (profile["tp"] <= opts.max_gpus_per_replica)]
    if allowed.empty:
        raise ProblemError(f"{loaded.where('options', 'measured_profile')}: no row of the profile is for an allowed GPU "
                           f"({', '.join(scope.gpu_ids)}) and precision ({', '.join(opts.precisions)}) with tp ≤ {opts.max_gpus_per_replica}")
    table = profile_capacities(allowed.reset_index(drop=True), buckets)
    table.insert(3, "kv_precision", [kv_precision_for(p, opts.kv_precision) for p in table["precision"]])
    table["spec_draft_tokens"] = 0  # measured as deployed: the techniques are in the measurement
    table["role"] = "whole"
    return table


def build_candidates(loaded: LoadedProblem, scope: Scope, catalogs: Catalogs, buckets: RequestBuckets, slo_for,
                     techniques: TechniqueColumns) -> CandidateSet:
    """``slo_for(rtt_ms)``: the engine's targets in a cloud region whose network budget is ``rtt_ms``
    (``Scope.rtt_budgets``): each configuration is evaluated once per distinct budget of the offers.
    ``techniques``: the problem's serving techniques (``planner.techniques``)."""
    offers = catalogs.offers
    offers = offers[offers["gpu"].isin(scope.gpu_ids) & offers["cloud"].isin(scope.clouds)]
    regions = catalogs.regions.set_index(["cloud", "region"])
    offers = offers.assign(geo=[regions.loc[(c, r), "geo"] for c, r in zip(offers["cloud"], offers["region"])])
    serves_someone = scope.can_serve(scope.user_regions, offers["geo"]).any(axis=0)
    offers = offers[serves_someone]  # an instance no user region may use is never worth buying
    offers = pd.concat([offers, tier_prices(offers, catalogs.discounts)], axis=1)
    # the on-demand list price with its platform fee, kept even where the problem does not allow
    # on-demand: the procurement report's break-even utilisation of a commitment compares with it
    list_fee = platform_fees(offers, offers, loaded.problem.options.platform_fees)["fee_on-demand"].to_numpy(float)
    offers["on_demand_usd_per_hour"] = offers["price_on-demand"].to_numpy(float) + np.nan_to_num(list_fee)
    allowed = list(loaded.problem.options.tiers)
    for tier in TIERS:
        if tier not in allowed:
            offers[f"price_{tier}"] = np.nan
    offers = offers[np.isfinite(offers[[f"price_{t}" for t in TIERS]].to_numpy(float)).any(axis=1)]
    offers = pd.concat([offers, platform_fees(offers, offers, loaded.problem.options.platform_fees)], axis=1)

    if offers.empty:  # nothing to buy (e.g. only the API tier is allowed): an empty, well-formed table
        cols = ["candidate_id", "cloud", "region", "geo", "instance_type", "gpu", "gpus_per_instance", "tp", "pp",
                "gpus_per_replica", "precision", "kv_precision", "max_batch", "spec_draft_tokens", "role", "replicas_per_instance", "capacity_rps",
                "capacity_rps_per_replica", *bucket_columns(buckets.count), "ttft_p99_ms", "tpot_p99_ms", "e2e_p99_ms", "limit", "source", "retrieved"]
        cols += [f"{x}_{t}" for t in TIERS for x in ("price", "basis", "fee")]
        return CandidateSet(pd.DataFrame({c: pd.Series(dtype=float if c.startswith(("price", "fee")) or "rps" in c else object)
                                          for c in cols}), 0, {}, None)
    profile = read_profile(loaded, catalogs)
    if profile is None:
        # the network budget of each offer's region, rounded so that equal budgets evaluate once
        offers = offers.assign(rtt_budget_ms=np.round(scope.rtt_budgets(offers["geo"]), 6))
        configs = _configurations(loaded, scope, offers, catalogs, techniques)
        parts = []
        for budget in sorted(set(offers["rtt_budget_ms"])):
            gpus = set(offers.loc[offers["rtt_budget_ms"] == budget, "gpu"])
            mine = configs[configs["gpu"].isin(gpus)]
            if len(mine) or not parts:  # (an empty evaluation keeps the table's columns)
                part = evaluate_buckets(mine, loaded, scope, catalogs, buckets, slo_for(budget), techniques)
                parts.append(part.assign(rtt_budget_ms=budget))
        perf_table = pd.concat(parts, ignore_index=True)
        keys = ["gpu", "rtt_budget_ms"]
    else:  # measured at the user's SLO: no budget to deduct
        offers = offers.assign(rtt_budget_ms=0.0)
        perf_table = profiled_configurations(loaded, scope, profile, buckets)
        keys = ["gpu"]
    merged = offers.reset_index(drop=True).merge(perf_table, on=keys, how="inner")
    merged = merged[(merged["gpus_per_instance"] % merged["tp"]) == 0].copy()
    evaluated = len(merged)
    pruned: dict[str, int] = {}

    cap_cols = bucket_columns(buckets.count)
    usable = merged["fits"].astype(bool) & (merged[cap_cols].to_numpy(float) > 0).any(axis=1)
    rejected = merged[~usable]
    pruned["does not fit or cannot meet the SLO"] = int((~usable).sum())
    merged = merged[usable].copy()

    merged["replicas_per_instance"] = (merged["gpus_per_instance"] // merged["tp"]).astype(int)
    merged["capacity_rps_per_replica"] = merged["capacity_rps"]
    merged["capacity_rps"] = merged["capacity_rps_per_replica"] * merged["replicas_per_instance"]
    for col in cap_cols:  # per instance, like capacity_rps (the _per_replica figure stays in capacity_rps_per_replica)
        merged[col] = merged[col] * merged["replicas_per_instance"]
    merged["candidate_id"] = [
        f"{c}/{r}/{i}/{p}/tp{tp}/b{b}" + (f"/sd{int(k)}" if k else "") + ("" if role == "whole" else f"/{role}")
        for c, r, i, p, tp, b, k, role in zip(merged["cloud"], merged["region"], merged["instance_type"], merged["precision"],
                                              merged["tp"], merged["concurrency"], merged["spec_draft_tokens"], merged["role"])
    ]
    merged = merged.sort_values("candidate_id", kind="stable")

    merged["spot_availability"] = spot_availability_for(scope, merged["cloud"], merged["gpu"])
    # 2. per offer, keep the strongest configuration (prices do not depend on it); with request-size
    # buckets, every configuration that is strongest on some bucket
    before = len(merged)
    # (configurations of different pools do different work: compared within a role only)
    offer_code = pd.factorize(merged["cloud"] + "/" + merged["region"] + "/" + merged["instance_type"] + "/" + merged["role"])[0][:, None]
    merged = _drop_dominated(merged, offer_code, cap_cols, check_replicas=False)
    pruned["weaker configuration of the same instance"] = before - len(merged)

    # 3. dominated offers among those that may serve the same user regions
    before = len(merged)
    signature = scope.can_serve(scope.user_regions, merged["geo"]).T
    if scope.quotas:  # a candidate under a quota is only comparable with others under the same quotas
        signature = np.concatenate([signature, quota_members(scope, merged).T], axis=1)
    region = (merged["cloud"] + "/" + merged["region"]).to_numpy(str)
    pooled = merged["role"].to_numpy(str) != "whole"
    if loaded.problem.options.min_regions > 1 or loaded.problem.options.spot_region_fallback > 0:
        # HA counts regions and the spot fallback loses one region's spot: compare within a region only
        region_code = pd.factorize(region)[0][:, None]
        signature = np.concatenate([signature, region_code], axis=1)
    # a pool pairs within its cloud region: prefill and decode candidates compare within role and region
    pool_code = pd.factorize(np.where(pooled, merged["role"].to_numpy(str) + "@" + region, "whole"))[0][:, None]
    signature = np.concatenate([signature, pool_code], axis=1)
    merged = _drop_dominated(merged, signature, cap_cols, uses_gpus=bool(scope.quotas))
    pruned["dominated by a cheaper, larger instance serving the same users"] = before - len(merged)
    if pooled.any():  # a decode pool needs a prefill pool in its cloud region, and the other way round
        before = len(merged)
        role = merged["role"].to_numpy(str)
        where = (merged["cloud"] + "/" + merged["region"]).to_numpy(str)
        has = {r: set(where[role == r]) for r in ("prefill", "decode")}
        partner = np.array([r == "whole" or w in has["decode" if r == "prefill" else "prefill"] for r, w in zip(role, where)])
        merged = merged[partner]
        pruned["prefill or decode pool without a partner pool in its cloud region"] = before - len(merged)

    table = merged.rename(columns={"concurrency": "max_batch"}).sort_values("candidate_id").reset_index(drop=True)
    table["pp"] = 1
    table["gpus_per_replica"] = table["tp"] * table["pp"]
    return CandidateSet(table, evaluated, pruned, _best_rejections(rejected))


def _drop_dominated(frame: pd.DataFrame, serve_signature: np.ndarray, cap_cols: list[str], uses_gpus: bool = False,
                    check_replicas: bool = True) -> pd.DataFrame:
    """Drop candidate a when some b with the same signature (e.g. may serve the same user regions)
    has at least a's capacity in every request-size bucket and a price no higher in every tier (a
    missing tier counts as +inf), and is strictly better somewhere (ties: the smaller candidate_id
    survives). With ``check_replicas`` b must also run at least as many replicas per instance
    (min_replicas counts replicas); b's spot must count for at least as much (spot availability).
    With quotas (``uses_gpus``) b must also use no more GPUs than a (:func:`planner.dominance.dominated`)."""
    prices = np.stack([total_price(frame, t) for t in TIERS], axis=1)  # what the plan pays: instance + platform fee
    ids = frame["candidate_id"].to_numpy(str)
    required_higher = [frame["replicas_per_instance"].to_numpy(float)] if check_replicas else []
    if "spot_availability" in frame:  # a spot unit counts for its availability
        required_higher.append(frame["spot_availability"].to_numpy(float))
    beaten = dominated(
        serve_signature,
        higher=frame[cap_cols].to_numpy(float),
        lower=np.where(np.isfinite(prices), prices, np.inf),
        rank=np.argsort(np.argsort(ids, kind="stable"), kind="stable"),  # ties: the smaller candidate_id survives
        also_higher=np.stack(required_higher, axis=1) if required_higher else None,
        also_lower=frame["gpus_per_instance"].to_numpy(float) if uses_gpus else None,
    )
    keep = ~beaten
    return frame[keep]


def _best_rejections(rejected: pd.DataFrame) -> pd.DataFrame:
    """Per GPU, the rejected configuration that came closest (for infeasibility explanations), in
    the region with the smallest network budget (the most lenient targets)."""
    if rejected.empty:
        return rejected
    cols = ["gpu", "tp", "precision", "concurrency", "fits", "ttft_p99_ms", "tpot_p99_ms", "e2e_p99_ms", "limit", "error",
            "weights_gb", "rtt_budget_ms"]
    cols = [c for c in cols if c in rejected.columns]
    ranked = rejected.sort_values(["gpu", "fits", "rtt_budget_ms", "tp", "concurrency"], ascending=[True, False, True, False, True])
    return ranked.drop_duplicates("gpu")[cols].reset_index(drop=True)
