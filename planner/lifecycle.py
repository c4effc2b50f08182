"""``planner tco PROBLEM --years N``: owning against renting against buying tokens, year by year.

Three ways to serve the problem's demand, each the planner's own answer:

* **plan** — the problem as given. With ``options.on_prem`` and tier ``owned`` this is a hybrid: owned
  servers for the base load, cloud for the peaks;
* **cloud** — the same problem without owned servers (tier ``owned`` and ``on_prem`` removed): renting
  only (solved only when the plan owns something);
* **api** — every request at the per-token API's list price (the plan's api-only baseline).

Every side is a monthly cash stream (planner.tco conventions): the plan's owned servers are paid for
at month 0 (capex) and then cost their running bill each month (energy, colocation, maintenance,
staff); everything else in a plan (cloud instances, API overflow, storage, egress) is its monthly
cost. The demand of the problem's horizon repeats every month of the ``years`` compared (no growth:
``planner forecast`` writes a demand file for a grown horizon). Per year: capex, running cost of
owned servers, cloud and API spend, depreciation, energy (kWh) and CO2 where the site's grid
intensity is known; totals; NPV at the problem's discount rate; break-even month and ROI of the plan
against renting and against the API.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from pydantic import ValidationError

from planner.catalog import Catalogs
from planner.errors import InfeasibleError, InputError
from planner.milp.data import SolverOptions
from planner.onprem import ONPREM_CLOUD, owned_server, site_figures, with_onprem
from planner.plan import Plan
from planner.problem import LoadedProblem, Problem
from planner.milp.check import instance_starts
from planner.tco import MONTHS_PER_YEAR, summarise
from planner.units import HOURS_PER_MONTH

MAX_YEARS = 10


def owned_fleet(loaded: LoadedProblem, catalogs: Catalogs, plan: Plan) -> list[tuple[object, int, str, int]]:
    """(OwnedServer, count, label, start month) per owned assignment of the plan (bought at month 0),
    or per owned purchase with monthly commitment starts."""
    if loaded.problem.options.on_prem is None:
        return []
    sites = [s.name for s in loaded.problem.options.on_prem.sites]
    figures = site_figures(loaded, catalogs)
    servers = catalogs.servers.set_index("id")
    out = []
    if plan.purchases:
        for x in plan.purchases:
            if x.tier == "owned":
                i = sites.index(x.region)
                out.append((owned_server(loaded, servers.loc[x.instance_type], i, figures[i]), x.count,
                            f"{x.count} × {x.instance_type} at {x.region} from month {x.start_month}", x.start_month))
        return out
    for a in plan.assignments:
        if a.tier != "owned" or not a.instances_by_period or a.instances_by_period[0] <= 0:
            continue
        i = sites.index(a.region)
        out.append((owned_server(loaded, servers.loc[a.instance_type], i, figures[i]), int(a.instances_by_period[0]),
                    f"{a.instances_by_period[0]} × {a.instance_type} at {a.region}", 0))
    return out


def monthly_spend(plan: Plan, months: int, owned: bool = False) -> np.ndarray:
    """(months,) what the plan spends each month besides its owned servers' hourly price (capital
    recovery + running cost, replaced by their cash flows in the TCO); ``owned``: that price too.
    A plan bought for a horizon that repeats spends its monthly cost every month; a plan with monthly
    commitment starts is a timeline: month m spends what its periods do (instances; the API and
    egress by the period's requests; cold starts by the period's instance starts; storage by hours),
    scaled to 730 h; after the plan's last month, that month's rate goes on. The months after the
    horizon that a full-term plan pays for its commitments are that going-on."""
    if plan.commitment_starts == "horizon":
        return np.full(months, plan.monthly_cost_usd if owned else _other_monthly(plan))
    hours = np.array([p.hours for p in plan.periods])
    spend = np.zeros(len(hours))

    def spread(total: float, weights) -> np.ndarray:
        w = np.asarray(weights, dtype=float)
        return total * w / w.sum() if total and w.sum() > 0 else np.zeros(len(hours))

    for a in plan.assignments:
        if a.tier != "owned" or owned:
            spend += (a.price_usd_per_instance_hour + a.platform_fee_usd_per_instance_hour) * np.asarray(a.instances_by_period) * hours
        spend += spread(a.scale_up_cost_usd, instance_starts(np.asarray(a.instances_by_period)[None, :], cyclic=False)[0])
    for u in plan.api:
        spend += spread(u.cost_usd, np.asarray(u.rps_by_period) * hours)
    for e in plan.egress:
        spend += spread(e.cost_usd, np.asarray(e.rps_by_period) * hours)
    spend += spread(plan.cost_breakdown.get("storage", 0.0), hours)
    return _by_month(plan, spend, months)


def _by_month(plan: Plan, per_period: np.ndarray, months: int) -> np.ndarray:
    """(months,) a per-period amount summed by month and scaled to 730 h; the last month's rate after."""
    hours = np.array([p.hours for p in plan.periods])
    month = np.array([p.month for p in plan.periods])
    per_month = np.bincount(month, weights=per_period) / np.bincount(month, weights=hours) * HOURS_PER_MONTH
    return np.concatenate([per_month, np.full(max(months - len(per_month), 0), per_month[-1])])[:months]


def api_monthly(plan: Plan, mean_rps: np.ndarray, api_monthly_usd: float, months: int) -> np.ndarray:
    """(months,) the per-token API serving everything: its mean monthly cost on a horizon that repeats;
    on a timeline, in proportion to each month's requests (``mean_rps``: (U, T) mean rates), the last
    month's rate after."""
    if plan.commitment_starts == "horizon":
        return np.full(months, float(api_monthly_usd))
    hours = np.array([p.hours for p in plan.periods])
    requests = np.asarray(mean_rps, dtype=float).sum(axis=0) * hours
    total = float(api_monthly_usd) * float(hours.sum()) / HOURS_PER_MONTH  # the API's cost over the horizon
    return _by_month(plan, total * requests / requests.sum(), months)


def _other_monthly(plan: Plan) -> float:
    """What the plan costs a month besides its owned servers' hourly price (capital recovery +
    running cost, replaced by their cash flows): cloud, API overflow, storage, egress, fees."""
    owned_price = sum(plan.monthly(a.price_usd_per_instance_hour * a.instances_by_period[0] * plan.horizon_hours)
                      for a in plan.assignments if a.tier == "owned")
    return plan.monthly_cost_usd - owned_price


def _as_plan(figures: dict) -> dict:
    """``summarise``'s owning side is this command's plan."""
    return {("plan" if k == "own" else k): v for k, v in figures.items()}


def renting_only(loaded: LoadedProblem) -> LoadedProblem:
    """The problem without owned servers, validated like a problem file: no ``on_prem``, no tier
    ``owned`` (on-demand when nothing else is left), no rule naming the ``onprem`` cloud."""
    data = loaded.problem.model_dump(mode="json")
    opts = data["options"]
    opts["on_prem"] = None
    opts["tiers"] = [t for t in opts["tiers"] if t != "owned"] or ["on-demand"]
    if opts["clouds"] != "any":
        opts["clouds"] = [c for c in opts["clouds"] if str(c).strip().lower() != ONPREM_CLOUD] or "any"
    for key in ("quotas", "platform_fees", "spot_availability"):
        opts[key] = [r for r in opts[key] if str(r.get("cloud") or "").strip().lower() != ONPREM_CLOUD]
    try:
        return dataclasses.replace(loaded, problem=Problem.model_validate(data))
    except ValidationError as exc:  # cannot happen for a problem that validated with owned servers
        raise InputError(f"{loaded.path}: the problem without owned servers is not valid: {exc.errors()[0]['msg']}") from None


def tco(loaded: LoadedProblem, catalogs: Catalogs, options: SolverOptions, years: int, solved=None) -> dict:
    """The comparison of the module docstring as a JSON-ready dict (per-year table as records);
    ``solved``: the problem's verified plan when the caller has it (``planner report``)."""
    from planner.baselines import api_only
    from planner.workflow import solve_verified

    if not 1 <= years <= MAX_YEARS:
        raise InputError(f"--years must be 1..{MAX_YEARS} (got {years})")
    op = loaded.problem.options.on_prem
    rate = op.discount_rate if op is not None else 0.0
    solved = solved or solve_verified(loaded, catalogs, options, baselines=False)
    plan = solved.plan
    fleet = owned_fleet(loaded, with_onprem(loaded, catalogs), plan)
    months = years * MONTHS_PER_YEAR
    alternatives: dict[str, np.ndarray] = {}
    sides: dict = {}
    if fleet:  # renting only: the same problem without owned servers
        try:
            cloud = solve_verified(renting_only(loaded), catalogs, options, baselines=False).plan
            alternatives["cloud"] = monthly_spend(cloud, months, owned=True)
            sides["cloud"] = {"monthly_usd": float(alternatives["cloud"].mean()), "capex_usd": 0.0}  # mean over the years
        except InfeasibleError as exc:
            sides["cloud_unavailable"] = [m.strip() for m in exc.messages][:3]
    api = api_only(solved.prep, plan)
    if api.monthly_cost_usd is not None:
        alternatives["api"] = api_monthly(plan, solved.prep.demand.mean_rps, api.monthly_cost_usd, months)
        sides["api"] = {"monthly_usd": float(alternatives["api"].mean()), "capex_usd": 0.0, "detail": api.detail}
    r = summarise([(server, count, start) for server, count, _, start in fleet if start < months], months, rate,
                  monthly_spend(plan, months), alternatives)
    sides["plan"] = {"monthly_usd": float(np.mean(r["own_monthly"])), "capex_usd": r["capex"], "invested_usd": r["invested"],
                     "fleet": [label for _, _, label, start in fleet if start < months],
                     # bought after the years compared: not in these totals
                     "not_counted": [label for _, _, label, start in fleet if start >= months]}
    per_year = r["per_year"].drop(columns=["energy", "colocation", "maintenance", "staff"]).rename(
        columns={"running": "owned_running", "other": "other_spend", **{k: f"{k}_spend" for k in alternatives}})
    per_year.insert(4, "plan_spend", per_year["capex"] + per_year["owned_running"] + per_year["other_spend"])
    co2_known = bool(fleet) and not per_year["kg_co2"].isna().any()
    return {
        "problem": loaded.problem.name, "years": years, "discount_rate": rate, "sides": sides,
        "per_year": [{k: (None if isinstance(v, float) and np.isnan(v) else (v.item() if isinstance(v, np.generic) else v))
                      for k, v in row.items()} for row in per_year.to_dict("records")],
        "totals_usd": _as_plan(r["totals"]), "npv_usd": _as_plan(r["npv"]), "break_even_month": r["break_even_month"],
        "cumulative_usd": _as_plan(r["cumulative"]),  # cash out at the end of months 0..M (the chart)
        "roi": r["roi"],
        # straight-line book value of the owned servers at the end of the horizon: not credited in the
        # totals (a resale price is not a catalog fact), stated so that a shorter horizon is read with it
        "residual_book_value_usd": r["book_value"],
        "energy_kwh": float(per_year["kwh"].sum()),
        "co2_t": float(per_year["kg_co2"].sum()) / 1000.0 if co2_known else None,
        "lead_time_weeks": op.lead_time_weeks if op is not None else None,
        "owned_cloud": ONPREM_CLOUD,
    }
