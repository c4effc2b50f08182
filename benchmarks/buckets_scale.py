"""chatbot-70b with and without request-size buckets: candidates kept, solve time, gap and cost
(168 hourly periods, 82 distinct, 2 user regions; the problem's own 60 s limit and 0.5 % gap).

    python benchmarks/buckets_scale.py
"""
import time
from pathlib import Path

from planner.catalog import load_catalogs
from planner.pipeline import prepare, solve_prepared, solver_options
from planner.problem import parse_problem

ROOT = Path(__file__).resolve().parents[1]
cats = load_catalogs(ROOT / "catalogs")
base = open(ROOT / "problems" / "chatbot-70b.yaml").read().replace("data/azure2023", str(ROOT / "problems" / "data" / "azure2023"))
for label, extra in (("none", ""), ("2x2", "  size_buckets: {input_tokens: [1024], output_tokens: [256]}\n"),
                     ("3x3", "  size_buckets: {input_tokens: [512, 2048], output_tokens: [128, 512]}\n")):
    loaded = parse_problem(base.replace("  demand:", extra + "  demand:"), str(ROOT / "problems" / "chatbot-70b.yaml"))
    t0 = time.perf_counter(); prep = prepare(loaded, cats); t1 = time.perf_counter()
    plan = solve_prepared(prep, solver_options(loaded, None, None, None)); t2 = time.perf_counter()
    print(f"{label:5s} buckets={len(plan.buckets)} kept={len(prep.candidates.table)} prep {t1-t0:.1f}s solve {t2-t1:.1f}s "
          f"{plan.status} gap {plan.solver.gap:.2%} ${plan.monthly_cost_usd:,.0f}/month")
