"""Check a problem against the catalogs and fix what it may use: model, GPUs, clouds, user regions.

Every unknown id is reported at once, with the problem file's line and a "did you mean".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.catalog import Catalogs
from planner.catalog.ids import did_you_mean
from planner.errors import ProblemError
from planner.problem import LoadedProblem


@dataclass(frozen=True)
class Scope:
    model_id: str
    gpu_ids: tuple[str, ...]  # allowed accelerators (sorted)
    clouds: tuple[str, ...]  # allowed clouds (sorted)
    user_regions: tuple[str, ...]  # sorted user geographies
    geo_continent: dict[str, str]  # geo -> continent, from regions.csv
    quotas: tuple[tuple[str, str | None, str | None, int], ...] = ()  # (cloud, region, gpu id, max GPUs)
    # (user geos, allowed continents, allowed geos) per data-residency rule
    residency: tuple[tuple[frozenset, frozenset, frozenset], ...] = ()
    placement: str = "same-continent"
    rtt_ms: dict = None  # (user geo, region geo) -> published RTT in ms (pairs without a figure absent)
    max_rtt_ms: float | None = None
    offer_geos: tuple[str, ...] = ()  # geographies of the offers in scope (allowed clouds and GPUs)
    spot_rules: tuple[tuple[str | None, str | None, float], ...] = ()  # (cloud, gpu id, availability)

    def can_serve(self, user_regions, cand_geo: pd.Series) -> np.ndarray:
        """(U, K) bool: placement and residency rules (see ``can_serve_matrix``), and the RTT cap:
        with ``max_rtt_ms`` a pair needs a published RTT at most that."""
        out = can_serve_matrix(tuple(user_regions), cand_geo, self.placement, self.geo_continent, self.residency)
        if self.max_rtt_ms is not None:
            geos = np.asarray(cand_geo, dtype=str)
            for u, user in enumerate(user_regions):
                rtt = np.array([(self.rtt_ms or {}).get((user, g), np.inf) for g in geos])
                out[u] &= rtt <= self.max_rtt_ms
        return out

    def rtt_budgets(self, geos) -> np.ndarray:
        """(N,) ms for each cloud-region geography in ``geos``: the largest published RTT between it
        and a user region it may serve (0 when no pair has a figure). The engine in that region must
        meet the TTFT/e2e targets less this, so that every user it may serve sees them met."""
        geos = pd.Series(list(geos), dtype=str)
        allowed = self.can_serve(self.user_regions, geos)
        out = np.zeros(len(geos))
        for u, user in enumerate(self.user_regions):
            for k, geo in enumerate(geos):
                rtt = (self.rtt_ms or {}).get((user, geo))
                if allowed[u, k] and rtt is not None:
                    out[k] = max(out[k], float(rtt))
        return out

    def rtt_budget(self) -> tuple[float, str | None]:
        """(ms, 'user -> region geo'): the largest published RTT between a user geography and the
        geography of an offer in scope that may serve it (0, None when no pair has a figure)."""
        geos = pd.Series(sorted(set(self.offer_geos)), dtype=str)
        allowed = self.can_serve(self.user_regions, geos)
        worst, pair = 0.0, None
        for u, user in enumerate(self.user_regions):
            for k, geo in enumerate(geos):
                rtt = (self.rtt_ms or {}).get((user, geo))
                if allowed[u, k] and rtt is not None and rtt > worst:
                    worst, pair = rtt, f"{user} -> {geo}"
        return worst, pair


def resolve_scope(loaded: LoadedProblem, catalogs: Catalogs) -> Scope:
    problem = loaded.problem
    errors: list[str] = []

    model_id = catalogs.model_ids.resolve(problem.model)
    if model_id is None:
        errors.append(f"{loaded.where('model')}: {catalogs.model_ids.unknown_message(problem.model)}")

    offered_gpus = set(catalogs.offers["gpu"])
    if problem.options.gpus == "any":
        gpu_ids = sorted(offered_gpus)
    else:
        gpu_ids = []
        for i, name in enumerate(problem.options.gpus):
            gid = catalogs.gpu_ids.resolve(name)
            if gid is None:
                errors.append(f"{loaded.where('options', 'gpus', i)}: {catalogs.gpu_ids.unknown_message(name)}")
            elif gid not in offered_gpus:
                errors.append(f"{loaded.where('options', 'gpus', i)}: no cloud offer in the catalog has '{gid}'")
            else:
                gpu_ids.append(gid)
        gpu_ids = sorted(set(gpu_ids))

    known_clouds = sorted(set(catalogs.offers["cloud"]))
    if problem.options.clouds == "any":
        clouds = known_clouds
    else:
        clouds = []
        for i, name in enumerate(problem.options.clouds):
            key = str(name).strip().lower()
            if key not in known_clouds:
                errors.append(f"{loaded.where('options', 'clouds', i)}: unknown cloud '{name}'{did_you_mean(key, known_clouds)}")
            else:
                clouds.append(key)
        if problem.options.on_prem is not None:  # the owned sites (planner.onprem), whatever clouds are listed
            clouds.append("onprem")
        clouds = sorted(set(clouds))

    regions = catalogs.regions
    geo_continent = dict(zip(regions["geo"], regions["continent"]))
    known_geos = sorted(geo_continent)
    for geo in sorted(problem.workload.user_regions):
        if geo not in geo_continent:
            errors.append(
                f"{loaded.where('workload', 'user_regions', geo)}: unknown user region '{geo}'{did_you_mean(geo, known_geos)}"
            )
    quotas = []
    for i, q in enumerate(problem.options.quotas):
        cloud = q.cloud.strip().lower()
        if cloud not in known_clouds:
            errors.append(f"{loaded.where('options', 'quotas', i, 'cloud')}: unknown cloud '{q.cloud}'{did_you_mean(cloud, known_clouds)}")
            continue
        if q.region is not None:
            regions_of_cloud = sorted(set(catalogs.offers.loc[catalogs.offers["cloud"] == cloud, "region"]))
            if q.region not in regions_of_cloud:
                errors.append(f"{loaded.where('options', 'quotas', i, 'region')}: no {cloud} offer in region '{q.region}'"
                              f"{did_you_mean(q.region, regions_of_cloud)}")
        gid = None
        if q.gpu is not None:
            gid = catalogs.gpu_ids.resolve(q.gpu)
            if gid is None:
                errors.append(f"{loaded.where('options', 'quotas', i, 'gpu')}: {catalogs.gpu_ids.unknown_message(q.gpu)}")
        quotas.append((cloud, q.region, gid, q.max_gpus))
    if problem.options.spot_region_fallback > 0 and problem.workload.size_buckets is not None:
        errors.append(f"{loaded.where('options', 'spot_region_fallback')}: not supported together with workload.size_buckets yet; "
                      "use max_spot_share, or plan without buckets")
    spot_rules = []
    for i, rule in enumerate(problem.options.spot_availability):
        cloud = rule.cloud.strip().lower() if rule.cloud else None
        if cloud is not None and cloud not in known_clouds:
            errors.append(f"{loaded.where('options', 'spot_availability', i, 'cloud')}: unknown cloud '{rule.cloud}'{did_you_mean(cloud, known_clouds)}")
        gid = None
        if rule.gpu is not None:
            gid = catalogs.gpu_ids.resolve(rule.gpu)
            if gid is None:
                errors.append(f"{loaded.where('options', 'spot_availability', i, 'gpu')}: {catalogs.gpu_ids.unknown_message(rule.gpu)}")
        spot_rules.append((cloud, gid, float(rule.availability)))
    if len({(c, g) for c, g, _ in spot_rules}) != len(spot_rules):
        errors.append(f"{loaded.where('options', 'spot_availability')}: two rules for the same cloud and GPU")
    for i, fee in enumerate(problem.options.platform_fees):
        if fee.cloud is not None and fee.cloud.strip().lower() not in known_clouds:
            errors.append(f"{loaded.where('options', 'platform_fees', i, 'cloud')}: unknown cloud '{fee.cloud}'"
                          f"{did_you_mean(fee.cloud.strip().lower(), known_clouds)}")
    residency = []
    known_continents = sorted(set(geo_continent.values()))
    for i, rule in enumerate(problem.options.residency):
        for field_name, values, known in (("users", rule.users, known_geos), ("geos", rule.geos, known_geos),
                                          ("continents", rule.continents, known_continents)):
            for j, v in enumerate(values):
                if v not in known:
                    errors.append(f"{loaded.where('options', 'residency', i, field_name, j)}: unknown "
                                  f"{'continent' if field_name == 'continents' else 'geography'} '{v}'{did_you_mean(v, known)}")
        residency.append((frozenset(rule.users), frozenset(rule.continents), frozenset(rule.geos)))
    if "api" in problem.options.tiers and model_id is not None:
        priced = catalogs.api_prices[(catalogs.api_prices["model"] == model_id)
                                     & catalogs.api_prices["input_usd_per_mtok"].notna()
                                     & catalogs.api_prices["output_usd_per_mtok"].notna()]
        providers = sorted(set(priced["provider"]))
        if not providers:
            errors.append(f"{loaded.where('options', 'tiers')}: tier 'api': api_prices.csv has no per-token price for {model_id}")
        elif problem.options.api_provider is not None and problem.options.api_provider.strip().lower() not in [p.lower() for p in providers]:
            errors.append(f"{loaded.where('options', 'api_provider')}: no {model_id} price from '{problem.options.api_provider}'"
                          f"{did_you_mean(problem.options.api_provider, providers)}")
    if errors:
        raise ProblemError(errors)
    rtt = {(f, g): float(v) for f, g, v in zip(catalogs.network_rtt["from_geo"], catalogs.network_rtt["to_geo"],
                                               catalogs.network_rtt["rtt_ms"])}
    in_scope = catalogs.offers[catalogs.offers["cloud"].isin(clouds) & catalogs.offers["gpu"].isin(gpu_ids)]
    region_geo = dict(zip(zip(regions["cloud"], regions["region"]), regions["geo"]))
    offer_geos = tuple(sorted({region_geo[(c, r)] for c, r in zip(in_scope["cloud"], in_scope["region"])
                               if (c, r) in region_geo}))
    return Scope(model_id, tuple(gpu_ids), tuple(clouds), tuple(sorted(problem.workload.user_regions)), geo_continent,
                 tuple(quotas), tuple(residency), problem.options.placement, rtt, problem.options.max_rtt_ms, offer_geos,
                 tuple(spot_rules))


def quota_members(scope: Scope, table: pd.DataFrame) -> np.ndarray:
    """(Q, K) bool: candidate k counts against quota q (same cloud, and region/GPU where the quota names them)."""
    out = np.zeros((len(scope.quotas), len(table)), dtype=bool)
    for q, (cloud, region, gpu, _) in enumerate(scope.quotas):
        m = table["cloud"].to_numpy() == cloud
        if region is not None:
            m &= table["region"].to_numpy() == region
        if gpu is not None:
            m &= table["gpu"].to_numpy() == gpu
        out[q] = m
    return out


def can_serve_matrix(user_regions: tuple[str, ...], cand_geo: pd.Series, placement: str, geo_continent: dict[str, str],
                     residency: tuple = ()) -> np.ndarray:
    """(U, K) bool: may a candidate in geography ``cand_geo[k]`` serve users of ``user_regions[u]``?
    The placement rule (same-geo / same-continent / any), then every residency rule that covers u:
    k's geography must be in the rule's geos or on one of its continents."""
    geos = np.asarray(cand_geo, dtype=str)
    U, K = len(user_regions), len(geos)
    continents = np.array([geo_continent.get(g, "") for g in geos], dtype=str)
    if placement == "any":
        out = np.ones((U, K), dtype=bool)
    elif placement == "same-geo":
        out = np.array([[g == u for g in geos] for u in user_regions], dtype=bool).reshape(U, K)
    else:
        out = np.array([continents == geo_continent[u] for u in user_regions], dtype=bool).reshape(U, K)
    for users, allowed_continents, allowed_geos in residency:
        allowed = np.isin(geos, sorted(allowed_geos)) | np.isin(continents, sorted(allowed_continents))
        for u, name in enumerate(user_regions):
            if name in users:
                out[u] &= allowed
    return out


def spot_availability_for(scope: Scope, clouds, gpus) -> np.ndarray:
    """(K,) the share of each candidate's spot capacity counted: the most specific rule (cloud and
    GPU, cloud, GPU, neither), 1 where none applies."""
    rules = {(c, g): a for c, g, a in scope.spot_rules}
    out = []
    for cloud, gpu in zip(clouds, gpus):
        for key in ((cloud, gpu), (cloud, None), (None, gpu), (None, None)):
            if key in rules:
                out.append(rules[key])
                break
        else:
            out.append(1.0)
    return np.array(out, dtype=float)
