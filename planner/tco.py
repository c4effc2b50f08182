"""Lifecycle economics of owning serving hardware against renting it or buying tokens: the arithmetic.

Conventions (the ones a spreadsheet TCO uses; every function is plain arithmetic on these):

* Time runs in months ``m = 1..M``; the purchase (``capex``) is paid at month 0, every running cost
  and every rent or API bill at the end of its month.
* A discount rate ``r`` per year becomes ``(1 + r)**(1/12) - 1`` per month; the net present value of
  a stream is ``Σ_m c_m / (1 + r_month)**m`` (month 0 undiscounted).
* Owning one server for a month costs its energy ``P × u × PUE × h × price`` (``P`` the server's
  power at full load in kW: GPUs' TDP and the host; ``u`` the mean share of it drawn; ``PUE`` the
  facility's power usage effectiveness; ``h`` = 730 hours), its rack space ``P × colo`` (colocation
  is priced per kW of provisioned power per month), maintenance ``capex × share / 12`` and staff
  ``staff per server-year / 12``.
* Servers are replaced at the end of each lifetime that ends within the horizon (the purchase is paid
  again then), so a horizon longer than the lifetime costs what keeping the fleet costs.
* Depreciation is straight-line over the lifetime (book value; not a cash flow): it is reported,
  and the capital recovery factor ``CRF = r (1 + r)^n / ((1 + r)^n - 1)`` turns the purchase into the
  level yearly payment that repays it with interest over ``n`` years: the price per hour an owned
  server would bear in a plan, ``(capex × CRF + yearly running cost) / 8760``.
* Energy in kWh and, where a grid intensity is given, CO2 in kg follow the same per-month terms.
* Break-even month: the first month whose cumulative cash cost of owning is at most the cumulative
  cost of the alternative (undiscounted, as finance teams quote it); ``None`` if never within the
  horizon. ROI of owning against an alternative over the horizon: the net saving (its total −
  owning's total, undiscounted) over the money invested in servers; the NPVs are reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.units import HOURS_PER_MONTH, HOURS_PER_YEAR

MONTHS_PER_YEAR = 12


@dataclass(frozen=True)
class OwnedServer:
    """What one owned server costs to buy and run (per server)."""

    capex_usd: float  # purchase price, delivered and installed
    power_kw: float  # at full load: GPUs' TDP and the host
    utilisation: float  # mean share of full-load power drawn (0..1)
    pue: float  # facility power usage effectiveness (>= 1)
    usd_per_kwh: float
    colo_usd_per_kw_month: float = 0.0  # rack space, power delivery and cooling, per kW provisioned
    maintenance_share_per_year: float = 0.0  # support contract and spares, share of capex per year
    staff_usd_per_year: float = 0.0  # operations staff per server per year
    lifetime_years: float = 5.0  # depreciation period
    kg_co2_per_kwh: float | None = None  # grid intensity where known

    def __post_init__(self) -> None:
        problems = [name for name, ok in (
            ("capex_usd", self.capex_usd >= 0), ("power_kw", self.power_kw >= 0),
            ("utilisation", 0 <= self.utilisation <= 1), ("pue", self.pue >= 1), ("usd_per_kwh", self.usd_per_kwh >= 0),
            ("colo_usd_per_kw_month", self.colo_usd_per_kw_month >= 0),
            ("maintenance_share_per_year", self.maintenance_share_per_year >= 0),
            ("staff_usd_per_year", self.staff_usd_per_year >= 0), ("lifetime_years", self.lifetime_years > 0),
            ("kg_co2_per_kwh", self.kg_co2_per_kwh is None or self.kg_co2_per_kwh >= 0)) if not ok]
        if problems:
            raise ValueError(f"OwnedServer: out of range: {', '.join(problems)}")

    @property
    def kwh_per_month(self) -> float:
        return self.power_kw * self.utilisation * self.pue * HOURS_PER_MONTH

    def running_usd_per_month(self) -> dict[str, float]:
        """Energy, colocation, maintenance and staff for one month."""
        return {"energy": self.kwh_per_month * self.usd_per_kwh,
                "colocation": self.power_kw * self.colo_usd_per_kw_month,
                "maintenance": self.capex_usd * self.maintenance_share_per_year / MONTHS_PER_YEAR,
                "staff": self.staff_usd_per_year / MONTHS_PER_YEAR}

    def usd_per_hour(self, discount_rate: float) -> float:
        """The level price per hour of owning: (capex × CRF + a year's running cost) / 8760."""
        yearly = sum(self.running_usd_per_month().values()) * MONTHS_PER_YEAR
        return (self.capex_usd * capital_recovery_factor(discount_rate, self.lifetime_years) + yearly) / HOURS_PER_YEAR


def capital_recovery_factor(rate: float, years: float) -> float:
    """``r (1 + r)^n / ((1 + r)^n - 1)``; ``1 / n`` at a zero rate."""
    if years <= 0:
        raise ValueError("years must be > 0")
    if rate == 0:
        return 1.0 / years
    growth = (1.0 + rate) ** years
    return rate * growth / (growth - 1.0)


def monthly_rate(yearly_rate: float) -> float:
    return (1.0 + yearly_rate) ** (1.0 / MONTHS_PER_YEAR) - 1.0


def npv(yearly_rate: float, monthly_flows: np.ndarray, upfront: float = 0.0) -> float:
    """Net present value of ``upfront`` at month 0 and ``monthly_flows[m-1]`` at the end of month m."""
    flows = np.asarray(monthly_flows, dtype=float)
    months = np.arange(1, flows.size + 1)
    return float(upfront + np.sum(flows / (1.0 + monthly_rate(yearly_rate)) ** months))


def break_even_month(own_cumulative: np.ndarray, other_cumulative: np.ndarray) -> int | None:
    """First month (1-based) from which owning's cumulative cost stays at most the other's to the
    horizon's end, else None: a cheap start before a purchase (one bought later in the horizon, or a
    replacement at the end of a lifetime) is no break-even."""
    own, other = np.asarray(own_cumulative, float), np.asarray(other_cumulative, float)
    above = np.flatnonzero(own > other + 1e-9)
    if not above.size:
        return 1
    return int(above[-1]) + 2 if above[-1] + 1 < len(own) else None


def life_months(server: OwnedServer) -> int:
    """Whole months of a server's lifetime (at least 1)."""
    return max(int(round(server.lifetime_years * MONTHS_PER_YEAR)), 1)


def owning_schedule(server: OwnedServer, count: int, months: int, start_month: int = 0) -> pd.DataFrame:
    """Month by month (1..months) for ``count`` servers bought at time ``start_month`` (0 = the
    horizon's start; a commitment that starts at a later month's start) and replaced at the end of
    each lifetime that ends before the horizon does: running costs by kind from their first month,
    ``running`` (their sum), ``replacement`` (capex after time 0: a purchase at a later start, at the
    end of month ``start_month``, and the purchase again at the end of month start + L, start + 2L, ...;
    a purchase at time 0 is the caller's upfront capex), straight-line depreciation, book value of
    the servers in service, kWh, kg CO2 (all 0 before the purchase)."""
    if count < 0 or months <= 0 or not 0 <= start_month < months:
        raise ValueError("count must be >= 0, months > 0 and 0 <= start_month < months")
    m = np.arange(1, months + 1)
    owned = m > start_month  # months (1-based) the servers are in service
    age = m - start_month  # months of service at the end of month m
    running = {k: np.where(owned, v * count, 0.0) for k, v in server.running_usd_per_month().items()}
    capex = server.capex_usd * count
    life = life_months(server)
    frame = pd.DataFrame({"month": m, **running})
    frame["running"] = sum(running.values())
    bought_later = (m == start_month) & (start_month > 0)
    frame["replacement"] = np.where(bought_later | (owned & (age % life == 0) & (m < months)), capex, 0.0)
    frame["depreciation"] = np.where(owned, capex / life, 0.0)
    frame["book_value"] = np.where(owned, capex - (capex / life) * (((age - 1) % life) + 1), 0.0)
    frame["kwh"] = np.where(owned, server.kwh_per_month * count, 0.0)
    frame["kg_co2"] = frame["kwh"] * server.kg_co2_per_kwh if server.kg_co2_per_kwh is not None else np.nan
    return frame


def summarise(fleet: list[tuple], months: int, discount_rate: float, other_monthly: np.ndarray,
              alternatives: dict[str, np.ndarray]) -> dict:
    """Owning ``fleet`` ((server, count) pairs bought at month 0, or (server, count, start_month)
    bought at a later month's start; replaced at the end of each life)
    with ``other_monthly`` spend beside it, against each alternative's monthly cash stream:

    ``per_year`` (year, capex incl. replacements, running cost and its parts, ``other``,
    depreciation, kWh, kg CO2 (NaN where a grid intensity is unknown), one column per alternative),
    ``totals``/``npv`` (``own`` and each alternative), ``break_even_month``, ``roi`` (net saving per
    dollar invested), ``cumulative`` cash at the end of months 0..M, ``invested``, ``book_value`` at the end."""
    fleet = [(item[0], item[1], item[2] if len(item) > 2 else 0) for item in fleet]
    schedules = [owning_schedule(server, count, months, start) for server, count, start in fleet]

    def total(column: str) -> np.ndarray:
        return sum((np.nan_to_num(f[column].to_numpy(float)) for f in schedules), np.zeros(months))

    capex = float(sum(server.capex_usd * count for server, count, start in fleet if start == 0))  # upfront
    running, replacement = total("running"), total("replacement")
    own_monthly = running + replacement + np.asarray(other_monthly, dtype=float)
    own_cum = capex + np.cumsum(own_monthly)
    invested = capex + float(replacement.sum())
    year = np.arange(months) // MONTHS_PER_YEAR + 1
    table = pd.DataFrame({"year": year, "running": running,
                          **{k: total(k) for k in ("energy", "colocation", "maintenance", "staff")},
                          "other": own_monthly - running - replacement, "depreciation": total("depreciation"),
                          "kwh": total("kwh"), "kg_co2": total("kg_co2"), **alternatives})
    per_year = table.groupby("year").sum().reset_index()
    per_year.insert(1, "capex", pd.Series(replacement).groupby(year).sum().to_numpy()
                    + np.where(per_year["year"].to_numpy() == 1, capex, 0.0))
    if not all(server.kg_co2_per_kwh is not None for server, _, _ in fleet):
        per_year["kg_co2"] = np.nan
    totals = {"own": float(own_cum[-1]), **{k: float(v.sum()) for k, v in alternatives.items()}}
    return {
        "per_year": per_year, "totals": totals,
        "npv": {"own": npv(discount_rate, own_monthly, capex), **{k: npv(discount_rate, v) for k, v in alternatives.items()}},
        "break_even_month": {k: break_even_month(own_cum, np.cumsum(v)) for k, v in alternatives.items()},
        "roi": {k: (totals[k] - totals["own"]) / invested if invested else None for k in alternatives},
        "cumulative": {"own": [capex, *map(float, own_cum)], **{k: [0.0, *map(float, np.cumsum(v))] for k, v in alternatives.items()}},
        "capex": capex, "invested": invested, "own_monthly": own_monthly - replacement,
        "book_value": float(sum(f["book_value"].iloc[-1] for f in schedules)),
    }


def compare(server: OwnedServer, count: int, rent_usd_per_month: float, api_usd_per_month: float | None,
            years: int, discount_rate: float) -> dict:
    """Owning ``count`` servers against renting at ``rent_usd_per_month`` and the per-token API, over
    ``years``: per year (capex, running cost, depreciation, kWh, CO2, rent, API), totals, NPVs,
    break-even months and ROI of owning (module docstring; ``summarise``)."""
    months = years * MONTHS_PER_YEAR
    alternatives = {"rent": np.full(months, float(rent_usd_per_month))}
    if api_usd_per_month is not None:
        alternatives["api"] = np.full(months, float(api_usd_per_month))
    r = summarise([(server, count)], months, discount_rate, np.zeros(months), alternatives)
    per_year = r["per_year"].drop(columns="other")
    if api_usd_per_month is None:
        per_year["api"] = np.nan
    missing = {"api": None} if api_usd_per_month is None else {}
    return {"years": years, "discount_rate": discount_rate, "servers": count, "per_year": per_year,
            "totals": {**r["totals"], **missing}, "npv": {**r["npv"], **missing},
            "break_even_month": {**r["break_even_month"], **missing}, "roi": {**r["roi"], **missing},
            "usd_per_hour_per_server": server.usd_per_hour(discount_rate)}
