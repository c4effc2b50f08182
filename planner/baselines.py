"""Baselines: simpler ways to serve the same demand at the same SLO, priced with the same catalogs,
candidates and cost terms as the plan, so that its savings can be defended.

* ``peak-on-demand``: what a team without a planner buys: one GPU type, on-demand only, a fixed
  fleet sized for the horizon's peak in every user region (no scaling, no commitment, no spot;
  on a timeline of months, each month's own peak: a team resizes its fleet as demand grows); the GPU
  type for which that fleet is cheapest.
* ``best-single-gpu``: the planner itself restricted to one GPU type (every tier, period and rule of
  the problem): the best such plan over the GPU types. The plan, free to mix types, is never dearer
  than it except by the solvers' gaps.
* ``api-only``: every request sent to the per-token API (the catalog's cheapest for the model at the
  problem's mean lengths, or ``options.api_provider``), billed at each period's mean rate.

Each GPU type is prepared on its own (``options.gpus: [type]``): candidate pruning then compares
configurations of that type only, so no configuration a single-type plan needs is lost to another
type. Baseline solves get at most ``BASELINE_TIME_LIMIT_S`` each and report their own gap.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from planner.catalog.prices import api_choice
from planner.errors import InfeasibleError, InputError, SolverError, SolverLimitError
from planner.milp.data import SolverOptions
from planner.pipeline import Prepared, prepare, solve_prepared
from planner.plan import Baseline, Plan
from planner.problem import LoadedProblem
from planner.units import HOURS_PER_MONTH
from planner.workload import mean_input_tokens, mean_output_tokens

BASELINE_TIME_LIMIT_S = 30.0


def restricted(loaded: LoadedProblem, **options) -> LoadedProblem:
    """The same problem with some ``options`` replaced (no re-validation: values come from it)."""
    p = loaded.problem
    return dataclasses.replace(loaded, problem=p.model_copy(update={"options": p.options.model_copy(update=options)}))


def _saving(plan: Plan, monthly: float | None) -> dict:
    if monthly is None:
        return {}
    saving = monthly - plan.monthly_cost_usd
    return {"monthly_cost_usd": monthly, "saving_usd_per_month": saving, "saving_pct": saving / monthly if monthly > 0 else None}


def _fleet(plan: Plan) -> str:
    """'3 × p5.48xlarge on-demand (aws/us-east-1)' for each assignment, peak instances."""
    parts = [f"{max(a.instances_by_period)} × {a.instance_type} {a.tier} ({a.cloud}/{a.region}, {a.precision}, TP {a.tp})"
             for a in plan.assignments if any(a.instances_by_period)]
    return "; ".join(parts + (["API overflow"] if plan.api else [])) or "nothing to buy"


def peak_provisioned(prep: Prepared) -> Prepared | None:
    """``prep`` with on-demand only and every period's demand at the horizon's peak (per user region;
    on a timeline, the peak of the period's month)."""
    inp = prep.milp_input
    if inp is None or not len(prep.candidates.table):
        return None
    demand = np.asarray(inp.demand_rps, dtype=float)
    if inp.period_month is None:
        peak = np.repeat(demand.max(axis=1, keepdims=True), demand.shape[1], axis=1)
    else:
        month = np.asarray(inp.period_month)
        peak = np.stack([demand[:, month == m].max(axis=1) for m in range(inp.months)], axis=1)[:, month]
    # every period the same (the mean too), so they merge into one: the same fleet all horizon, no starts
    fixed = dataclasses.replace(inp, tiers=("on-demand",), demand_rps=peak, mean_demand_rps=peak, api_usd_per_request=None,
                                cold_start_hours=0.0, period_month=None, period_end_month=None, term_months=None,
                                pay_full_term=False)  # no commitment to time
    return dataclasses.replace(prep, milp_input=fixed, api=None)


def _solve(prep: Prepared | None, options: SolverOptions) -> tuple[Plan | None, str]:
    if prep is None or prep.milp_input is None:
        return None, "no candidate of this GPU type"
    try:
        return solve_prepared(prep, options), ""
    except (InfeasibleError, SolverLimitError, SolverError) as exc:
        return None, str(exc).splitlines()[0]


def _best(name: str, description: str, plan: Plan, tried: list[tuple[str, Plan | None, str]], restriction: bool) -> Baseline:
    solved = [(gpu, p) for gpu, p, _ in tried if p is not None]
    if not solved:
        why = "; ".join(f"{gpu}: {msg}" for gpu, _, msg in tried) or "no GPU type in the problem's scope"
        return Baseline(name=name, description=description, status="infeasible", detail=why)
    gpu, best = min(solved, key=lambda gp: (gp[1].monthly_cost_usd, gp[0]))
    if not any(any(a.instances_by_period) for a in best.assignments):  # served by the API alone: no GPU type to name
        gpu = None
    return Baseline(name=name, description=description, status=best.status, gpu=gpu, detail=_fleet(best),
                    gap=best.solver.gap, restriction=restriction, **_saving(plan, best.monthly_cost_usd))


def api_only(prep: Prepared, plan: Plan) -> Baseline:
    description = "every request sent to the per-token API at its list price"
    loaded = prep.loaded
    images = prep.techniques.image_tokens_per_request if prep.techniques is not None else 0.0  # billed as prompt tokens
    api = prep.api or api_choice(prep.catalogs.api_prices, prep.scope.model_id, loaded.problem.options.api_provider,
                                 mean_input_tokens(loaded, prep.lengths.input_tokens - images) + images,
                                 mean_output_tokens(loaded, prep.lengths.output_tokens))
    if api is None:
        return Baseline(name="api-only", description=description, status="unavailable",
                        detail=f"no per-token API price for {prep.scope.model_id} in api_prices.csv")
    cost = prep.demand.requests * api["usd_per_request"]
    monthly = cost * HOURS_PER_MONTH / prep.demand.horizon_hours
    detail = (f"{api['provider']} {api['api_model']}: {api['usd_per_request'] * 1000:.4f} USD per 1k requests "
              f"({api['input_usd_per_mtok']:g}/{api['output_usd_per_mtok']:g} USD per M input/output tokens; "
              f"{api['source']}, {api['retrieved']}); its latency is the provider's, not checked against the SLO")
    opts = loaded.problem.options
    restriction = prep.api is not None and "api" in opts.tiers and opts.max_api_share >= 1
    return Baseline(name="api-only", description=description, status="optimal", detail=detail, restriction=restriction,
                    **_saving(plan, monthly))


def baselines_for(prep: Prepared, plan: Plan, options: SolverOptions) -> list[Baseline]:
    """The three baselines of the module docstring for ``plan`` (solved from ``prep``)."""
    options = dataclasses.replace(options, time_limit_s=min(float(options.time_limit_s), BASELINE_TIME_LIMIT_S))
    tiers = list(prep.loaded.problem.options.tiers)
    with_on_demand = tiers + (["on-demand"] if "on-demand" not in tiers else [])
    single, peak = [], []
    for gpu in sorted(prep.scope.gpu_ids):
        try:  # (network budgets are per cloud region, Scope.rtt_budgets: narrowing the GPU types keeps them)
            one = prepare(restricted(prep.loaded, gpus=[gpu], tiers=with_on_demand), prep.catalogs)
        except InputError:  # e.g. a measured profile with no row for this GPU type: no plan of it
            continue
        if one.milp_input is not None and "on-demand" not in tiers:  # the single-type plan keeps the problem's tiers
            one = dataclasses.replace(one, milp_input=dataclasses.replace(one.milp_input, tiers=tuple(
                t for t in one.milp_input.tiers if t in tiers)))
        if not len(one.candidates.table):
            continue
        single.append((gpu, *_solve(one, options)))
        peak.append((gpu, *_solve(peak_provisioned(one), options)))
    on_demand_allowed = "on-demand" in tiers
    return [
        _best("peak-on-demand", "one GPU type, on-demand only, a fixed fleet for the peak"
              + (" of each month" if prep.milp_input is not None and prep.milp_input.period_month is not None else "")
              + " (no scaling, "
              "commitment or spot); the cheapest GPU type for it"
              + ("" if on_demand_allowed else " (on-demand is not among the problem's tiers: shown for comparison)"),
              plan, peak, restriction=on_demand_allowed),
        _best("best-single-gpu", "the planner restricted to one GPU type (every tier and rule of the problem); "
              "the best GPU type", plan, single, restriction=True),
        api_only(prep, plan),
    ]


def with_baselines(prep: Prepared, plan: Plan, options: SolverOptions) -> Plan:
    return plan.model_copy(update={"baselines": baselines_for(prep, plan, options)})

