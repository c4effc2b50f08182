"""Cold starts in the optimisation: how the staged solve fares (plan without starts, then the
start-variable model from it under a hard deadline) on the scale problem of ``scale.py``.

    python benchmarks/cold_starts.py

For 1 and 5 user regions, hourly periods over a week, and cold starts of 0/5/15/60 minutes:
candidates, periods solved, the solve time, status, gap (against the better of the two stages'
bounds), monthly cost and its scale-up share, and which stage gave the plan. Not a test.
"""

from __future__ import annotations

import time

from planner.catalog import load_catalogs
from planner.pipeline import prepare, solve_prepared, solver_options
from planner.problem import parse_problem

from scale import REGIONS, TEMPLATE, lengths  # noqa: E402  (benchmarks/ is the working directory's sibling)

catalogs = load_catalogs()
print(f"{'regions':>7}{'cold min':>9}{'cands':>7}{'periods':>8}{'solve s':>8}  {'status':<9}{'gap':>7}{'USD/month':>12}{'scale-up':>10}  stage")
for n_regions in (1, 5):
    regions = ", ".join(f"{r}: {1 / n_regions:.6f}" for r in REGIONS[:n_regions])
    regions = regions.rsplit(": ", 1)[0] + f": {1 - (n_regions - 1) * round(1 / n_regions, 6):.6f}"
    for minutes in (0, 5, 15, 60):
        text = TEMPLATE.format(lengths=lengths, period=1, regions=regions, placement="same-continent")
        text = text.replace("  min_replicas: 2\n", f"  min_replicas: 2\n  cold_start_minutes: {minutes}\n").replace("time_limit_s: 120", "time_limit_s: 60")
        loaded = parse_problem(text, "cold.yaml")
        prep = prepare(loaded, catalogs)
        t0 = time.perf_counter()
        plan = solve_prepared(prep, solver_options(loaded, None, None, None))
        took = time.perf_counter() - t0
        gap = "n/a" if plan.solver.gap is None else f"{plan.solver.gap:.2%}"
        month = plan.monthly_cost_usd
        scale_up = plan.cost_breakdown["scale_up"] * month / plan.objective_usd
        stage = plan.solver.options.get("cold_starts", "-")
        print(f"{n_regions:>7}{minutes:>9}{len(prep.candidates.table):>7}{plan.solver.options.get('periods_solved', '-'):>8}{took:>8.1f}  "
              f"{plan.status:<9}{gap:>7}{month:>12,.0f}{scale_up:>10,.0f}  {stage}", flush=True)
