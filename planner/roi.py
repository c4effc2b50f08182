"""Return on a serving technique: the problem solved with and without it, in dollars per month.

``planner roi PROBLEM --technique NAME [--engineering-cost USD]``. Each technique names the two
problems compared (the problem file otherwise unchanged, both solved and verified like ``solve``):

==================  =================================================================  ==============================
technique           with                                                               without
==================  =================================================================  ==============================
``spec-decoding``   ``techniques.speculative_decoding`` as the problem gives it          removed
``prefix-caching``  ``techniques.prefix_caching`` as given                               removed
``sparsity``        ``techniques.sparsity: 2:4`` (a 2:4 checkpoint of the model)         removed
``fp8`` ``int8``    ``options.precisions`` plus that format                              without it (must leave one)
``int4`` ``fp4``
``fp8-kv``          ``options.kv_precision: fp8``                                        ``same``
``paged-kv``        ``techniques.kv_allocation: paged``                                  ``static``
``disaggregation``  ``techniques.disaggregation`` as given (prefill and decode pools)       removed
``engine:NAME``     ``engine: NAME`` (its calibrated efficiency: fusion, kernels)        the problem's engine
==================  =================================================================  ==============================

Reported: each plan's monthly cost, cost per million output tokens, GPUs at the busiest period and
P99 latencies (the worst over its instances, and the mean weighted by the load each serves), the
monthly saving, the payback period of the engineering cost (months = cost / saving) and the net
over 12 months. A side that cannot meet the problem's SLO is reported as infeasible (the technique
is then what makes the SLO reachable).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from planner.catalog import Catalogs
from planner.errors import InfeasibleError, InputError
from planner.milp.data import SolverOptions
from planner.plan import Plan
from planner.problem import LoadedProblem
from planner.scenarios import Setting, load_scenario, scenarios
from planner.units import ENGINE_FAMILIES, PRECISIONS

QUANTISATION = ("fp8", "int8", "int4", "fp4")
TECHNIQUES = ("spec-decoding", "prefix-caching", "disaggregation", "sparsity", *QUANTISATION, "fp8-kv", "paged-kv",
              "engine:NAME")
MONTHS_COMPARED = 12


@dataclass(frozen=True)
class Side:
    """One of the two problems compared and its plan (None when no plan meets the SLO)."""

    label: str
    settings: dict[str, Any]
    plan: Plan | None = None
    infeasible: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        if self.plan is None:
            return {"label": self.label, "settings": self.settings, "status": "infeasible", "reason": self.infeasible}
        p = self.plan
        return {"label": self.label, "settings": self.settings, "status": p.status,
                "monthly_cost_usd": p.monthly_cost_usd, "cost_per_mtok_output_usd": p.cost_per_mtok_output_usd,
                "peak_gpus": peak_gpus(p), "fleet": fleet(p), **latency_summary(p)}


def peak_gpus(plan: Plan) -> int:
    """GPUs in service in the busiest period."""
    per_period = [sum(a.instances_by_period[t] * a.gpus_per_instance for a in plan.assignments)
                  for t in range(len(plan.periods))]
    return int(max(per_period, default=0))


def fleet(plan: Plan) -> list[str]:
    """One line per assignment: count, instance, GPU, tier, precision, draft length."""
    out = []
    for a in plan.assignments:
        spec = f", speculative k={a.speculative_draft_tokens}" if a.speculative_draft_tokens else ""
        spec += "" if a.role == "whole" else f", {a.role} pool"
        out.append(f"{max(a.instances_by_period)} × {a.instance_type} ({a.gpus_per_instance}× {a.gpu}, {a.tier}, "
                   f"{a.precision}, tp{a.tp}, batch ≤ {a.max_batch}{spec})")
    return out


def latency_summary(plan: Plan) -> dict:
    """P99 TTFT/TPOT/e2e of the plan's instances at their planned load: the worst, and the mean
    weighted by the requests each serves over the horizon (model figures; none for a measured profile)."""
    hours = np.array([p.hours for p in plan.periods], float)
    out: dict = {}
    for metric in ("ttft", "tpot", "e2e"):
        values, weights = [], []
        for a in plan.assignments:
            v = getattr(a, f"{metric}_p99_ms")
            if v is None:
                continue
            values.append(v)
            load = np.asarray(a.load_rps_by_period, float)
            weights.append(float(load @ hours[: load.size]) if load.size else 0.0)
        w = np.array(weights)
        out[f"{metric}_p99_ms_worst"] = max(values) if values else None
        out[f"{metric}_p99_ms_mean"] = float(np.average(values, weights=w)) if values and w.sum() > 0 else None
    return out


def technique_settings(loaded: LoadedProblem, technique: str) -> tuple[dict, dict]:
    """(with, without): the settings (dotted path → value) that make the two problems compared."""
    p = loaded.problem
    t = p.techniques
    name = technique.strip().lower()
    if name in ("spec-decoding", "prefix-caching", "disaggregation"):
        key = {"spec-decoding": "speculative_decoding", "prefix-caching": "prefix_caching"}.get(name, name)
        if getattr(t, key) is None:
            example = {"speculative_decoding": "method: eagle, acceptance_rate: 0.75, draft_tokens: [3]",
                       "prefix_caching": "hit_rate: 0.4 (or trace: FILE.jsonl)",
                       "disaggregation": "kv_transfer_gb_per_s: 50"}[key]
            raise InputError(f"{loaded.path}: techniques.{key} is not in the problem; add it with the workload's "
                             f"figures ({example}) to price it")
        return {}, {f"techniques.{key}": None}
    if name == "sparsity":
        return {"techniques.sparsity": "2:4"}, {"techniques.sparsity": None}
    if name in QUANTISATION:
        precisions = list(p.options.precisions)
        without = [x for x in precisions if x != name]
        if not without:
            raise InputError(f"{loaded.path}: options.precisions is only [{name}]: add the precision to compare with "
                             "(e.g. bf16)")
        with_ = sorted(set(precisions) | {name}, key=PRECISIONS.index)
        return {"options.precisions": with_}, {"options.precisions": without}
    if name == "fp8-kv":
        return {"options.kv_precision": "fp8"}, {"options.kv_precision": "same"}
    if name == "paged-kv":
        return {"techniques.kv_allocation": "paged"}, {"techniques.kv_allocation": "static"}
    if name.startswith("engine:"):
        engine = name.split(":", 1)[1]
        if engine not in ENGINE_FAMILIES:
            raise InputError(f"--technique {technique}: unknown engine '{engine}' (engines: {', '.join(ENGINE_FAMILIES)})")
        if engine == p.engine:
            raise InputError(f"--technique {technique}: the problem already uses {engine}")
        return {"engine": engine}, {}
    from planner.catalog.ids import did_you_mean
    raise InputError(f"--technique {technique}: unknown technique{did_you_mean(name, list(TECHNIQUES))} "
                     f"(techniques: {', '.join(TECHNIQUES)})")


def _variant(loaded: LoadedProblem, settings: dict) -> LoadedProblem:
    if not settings:
        return loaded
    found = scenarios(loaded, [Setting(tuple(k.split(".")), (v,)) for k, v in settings.items()])
    return load_scenario(found[0], loaded.path)


def roi(loaded: LoadedProblem, catalogs: Catalogs, options: SolverOptions, technique: str,
        engineering_cost_usd: float = 0.0) -> dict:
    """Solve with and without the technique; the comparison as a JSON-ready dict (module docstring)."""
    from planner.workflow import solve_verified

    if engineering_cost_usd < 0:
        raise InputError(f"--engineering-cost must be ≥ 0 (got {engineering_cost_usd:g})")
    with_settings, without_settings = technique_settings(loaded, technique)
    sides = []
    for label, settings in (("without", without_settings), ("with", with_settings)):
        problem = _variant(loaded, settings)
        try:
            plan = solve_verified(problem, catalogs, options, baselines=False).plan
            sides.append(Side(label, settings, plan))
        except InfeasibleError as exc:
            sides.append(Side(label, settings, None, [m.strip() for m in exc.messages]))
    without, with_ = sides
    out = {"problem": loaded.problem.name, "technique": technique, "engineering_cost_usd": engineering_cost_usd,
           "without": without.summary(), "with": with_.summary()}
    if with_.plan is None:
        out["verdict"] = "with the technique no plan meets the problem's constraints"
        return out
    if without.plan is None:
        out["verdict"] = "the technique is needed: without it no plan meets the problem's constraints"
        return out
    saving = without.plan.monthly_cost_usd - with_.plan.monthly_cost_usd
    out["saving_usd_per_month"] = saving
    out["saving_pct"] = 100.0 * saving / without.plan.monthly_cost_usd if without.plan.monthly_cost_usd else 0.0
    out["payback_months"] = (engineering_cost_usd / saving if saving > 0 else None) if engineering_cost_usd else (0.0 if saving > 0 else None)
    out[f"net_usd_over_{MONTHS_COMPARED}_months"] = MONTHS_COMPARED * saving - engineering_cost_usd
    latency = {}
    for metric in ("ttft", "tpot", "e2e"):
        a, b = out["without"][f"{metric}_p99_ms_mean"], out["with"][f"{metric}_p99_ms_mean"]
        latency[f"{metric}_p99_ms_mean_change"] = None if a is None or b is None else b - a
    out["latency_change"] = latency
    if saving <= 0:
        out["verdict"] = "not worth it: the plan without the technique costs no more"
    elif engineering_cost_usd and saving * MONTHS_COMPARED < engineering_cost_usd:
        out["verdict"] = f"pays back in {out['payback_months']:.1f} months (beyond {MONTHS_COMPARED})"
    else:
        out["verdict"] = (f"worth it: saves {saving:,.0f} USD/month"
                          + (f", pays back in {out['payback_months']:.1f} months" if engineering_cost_usd else ""))
    return out
