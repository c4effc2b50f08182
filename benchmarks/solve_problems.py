"""Solve every example problem and report candidates, MILP size, solve time, status, gap and cost.

    python benchmarks/solve_problems.py [--solver highs|cbc] [problems/*.yaml ...]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from planner.catalog import load_catalogs
from planner.milp.stages import merge_identical_periods
from planner.pipeline import prepare, solve_prepared, solver_options
from planner.problem import load_problem
from planner.verify import verify_plan

parser = argparse.ArgumentParser()
parser.add_argument("problems", nargs="*")
parser.add_argument("--solver", default=None)
args = parser.parse_args()
paths = args.problems or sorted(str(p) for p in (Path(__file__).resolve().parents[1] / "problems").glob("*.yaml"))
catalogs = load_catalogs()
print(f"{'problem':<18}{'evaluated':>10}{'kept':>6}{'periods':>8}{'solved':>7}{'prep s':>8}{'solve s':>8}  {'status':<9}{'gap':>7}{'USD/month':>12}  verify")
for path in paths:
    loaded = load_problem(path)
    t0 = time.perf_counter()
    prep = prepare(loaded, catalogs)
    t1 = time.perf_counter()
    plan = solve_prepared(prep, solver_options(loaded, args.solver, None, None))
    t2 = time.perf_counter()
    failed = [f for f in verify_plan(loaded, catalogs, plan) if not f.ok]
    periods = len(prep.milp_input.period_hours)
    solved = len(merge_identical_periods(prep.milp_input)[0].period_hours)
    gap = "n/a" if plan.solver.gap is None else f"{plan.solver.gap:.2%}"
    print(f"{Path(path).stem:<18}{prep.candidates.evaluated:>10}{len(prep.candidates.table):>6}{periods:>8}{solved:>7}"
          f"{t1 - t0:>8.2f}{t2 - t1:>8.2f}  {plan.status:<9}{gap:>7}{plan.monthly_cost_usd:>12,.0f}  "
          f"{'ok' if not failed else f'{len(failed)} failed'}")
