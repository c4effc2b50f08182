"""Owned servers as offers: the problem's on-premises or colocation sites (``options.on_prem``) turned
into rows of the offers and regions tables, so that everything downstream (scope, candidates, MILP,
plan, verify) treats a site like one more cloud region, with one tier, ``owned``.

One offer per (site, server of ``catalogs/servers.csv``): cloud ``onprem``, region = the site's name,
instance type = the server id, and ``owned_usd_per_hour``, the level hourly price of owning it
(``planner.tco.OwnedServer.usd_per_hour``: purchase × capital recovery factor at the problem's
discount rate over the server's lifetime, plus a year's energy (power × utilisation × PUE × the
site's electricity price), colocation (per kW provisioned), maintenance and staff, over 8,760 h).
An owned server is bought for the horizon, like a commitment (tier ``owned`` is a reserved tier).
Site figures left empty in the problem come from ``catalogs/energy.csv`` for the site's geography;
a figure found in neither is an error naming the field. The site's row in the regions table takes
the continent of its geography from regions.csv.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.catalog import Catalogs
from planner.errors import ProblemError
from planner.problem import LoadedProblem
from planner.tco import OwnedServer

ONPREM_CLOUD = "onprem"


@dataclass(frozen=True)
class SiteFigures:
    """A site's running-cost figures after the catalog defaults, and where each came from."""

    usd_per_kwh: float
    colo_usd_per_kw_month: float
    kg_co2_per_kwh: float | None
    sources: tuple[str, ...]


def site_figures(loaded: LoadedProblem, catalogs: Catalogs) -> list[SiteFigures]:
    """Per site, in problem order; ProblemError listing every missing figure."""
    energy = catalogs.energy.set_index("geo")
    known_geos = set(catalogs.regions["geo"])
    errors, out = [], []
    for i, site in enumerate(loaded.problem.options.on_prem.sites):
        where = lambda *f: loaded.where("options", "on_prem", "sites", i, *f)  # noqa: E731
        if site.geo not in known_geos:
            from planner.catalog.ids import did_you_mean
            errors.append(f"{where('geo')}: unknown geography '{site.geo}'{did_you_mean(site.geo, sorted(known_geos))}")
            continue
        row = energy.loc[site.geo] if site.geo in energy.index else None
        values, sources = {}, []
        for name in ("usd_per_kwh", "colo_usd_per_kw_month", "kg_co2_per_kwh"):
            given = getattr(site, name)
            if given is not None:
                values[name] = float(given)
                continue
            cell = np.nan if row is None else float(row[name]) if row[name] == row[name] else np.nan
            if np.isfinite(cell):
                values[name] = cell
                defaulted = f"energy.csv {site.geo}: {row['source']} ({row['retrieved']})"
                if defaulted not in sources:
                    sources.append(defaulted)
            elif name == "kg_co2_per_kwh":
                values[name] = None  # CO2 is reported where known
            else:
                errors.append(f"{where(name)}: not given and catalogs/energy.csv has no {name} for '{site.geo}'")
        if len(values) == 3:
            out.append(SiteFigures(values["usd_per_kwh"], values["colo_usd_per_kw_month"], values["kg_co2_per_kwh"],
                                   tuple(sources)))
    if errors:
        raise ProblemError(errors)
    return out


def server_ids(loaded: LoadedProblem, catalogs: Catalogs) -> list[str]:
    chosen = loaded.problem.options.on_prem.servers
    ids = sorted(catalogs.servers["id"])
    if chosen == "any":
        return ids
    errors = []
    for i, name in enumerate(chosen):
        if name not in ids:
            from planner.catalog.ids import did_you_mean
            errors.append(f"{loaded.where('options', 'on_prem', 'servers', i)}: unknown server '{name}'{did_you_mean(name, ids)}")
    if errors:
        raise ProblemError(errors)
    return sorted(set(chosen))


def owned_server(loaded: LoadedProblem, server: pd.Series, site_index: int, figures: SiteFigures) -> OwnedServer:
    op = loaded.problem.options.on_prem
    site = op.sites[site_index]
    return OwnedServer(capex_usd=float(server["price_usd"]), power_kw=float(server["power_kw"]), utilisation=op.utilisation,
                       pue=site.pue, usd_per_kwh=figures.usd_per_kwh, colo_usd_per_kw_month=figures.colo_usd_per_kw_month,
                       maintenance_share_per_year=op.maintenance_share_per_year,
                       staff_usd_per_year=op.staff_usd_per_server_year, lifetime_years=op.lifetime_years,
                       kg_co2_per_kwh=figures.kg_co2_per_kwh)


def onprem_tables(loaded: LoadedProblem, catalogs: Catalogs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(offers rows, regions rows) of the problem's sites (module docstring)."""
    op = loaded.problem.options.on_prem
    figures = site_figures(loaded, catalogs)
    servers = catalogs.servers.set_index("id")
    continent = dict(zip(catalogs.regions["geo"], catalogs.regions["continent"]))
    offers, regions = [], []
    for i, (site, fig) in enumerate(zip(op.sites, figures)):
        regions.append({"cloud": ONPREM_CLOUD, "region": site.name, "geo": site.geo, "continent": continent[site.geo],
                        "location": f"owned site {site.name}", "source": f"{loaded.path}: options.on_prem.sites[{i}]",
                        "retrieved": "", "notes": ""})
        for sid in server_ids(loaded, catalogs):
            row = servers.loc[sid]
            owned = owned_server(loaded, row, i, fig)
            parts = owned.running_usd_per_month()
            offers.append({
                "cloud": ONPREM_CLOUD, "region": site.name, "instance_type": sid, "gpu": row["gpu"],
                "gpus_per_instance": int(row["gpus_per_server"]),
                "owned_usd_per_hour": owned.usd_per_hour(op.discount_rate),
                "source": "; ".join([f"servers.csv {sid}: {row['source']} ({row['retrieved']})", *fig.sources]),
                "retrieved": str(row["retrieved"]),
                "notes": (f"owned: {row['price_usd']:,.0f} USD over {op.lifetime_years:g} years at {op.discount_rate:.1%} "
                          f"+ per month energy {parts['energy']:,.2f}, colocation {parts['colocation']:,.2f}, maintenance "
                          f"{parts['maintenance']:,.2f}, staff {parts['staff']:,.2f} USD"),
            })
    return pd.DataFrame(offers), pd.DataFrame(regions)


def with_onprem(loaded: LoadedProblem, catalogs: Catalogs) -> Catalogs:
    """The catalogs with the problem's sites as offers and regions (unchanged without ``on_prem``).
    The fingerprint stays the files' (the sites are the problem's)."""
    tables = dict(catalogs.tables)
    for name in ("offers", "regions"):  # another problem's sites (catalogs passed on) never stay
        tables[name] = tables[name][tables[name]["cloud"] != ONPREM_CLOUD].reset_index(drop=True)
    base = dataclasses.replace(catalogs, tables=dict(tables))
    if loaded.problem.options.on_prem is None:
        return base
    offers, regions = onprem_tables(loaded, base)
    tables["offers"] = pd.concat([tables["offers"], offers], ignore_index=True)
    tables["regions"] = pd.concat([tables["regions"], regions], ignore_index=True)
    return dataclasses.replace(catalogs, tables=tables)
