"""How solve time grows with periods, candidates and user regions (issue 4's scale target).

    python benchmarks/scale.py

Builds problems over every offer in the catalogs (all clouds, all GPUs, bf16 + fp8, every tier),
a diurnal week, and 1–5 user regions; reports candidates, MILP rows/columns, prepare and solve time,
status and gap at a 1 % gap target with a 120 s limit. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import time

from planner.catalog import load_catalogs
from planner.milp.build import build_model
from planner.milp.stages import merge_identical_periods
from planner.pipeline import prepare, solve_prepared, solver_options
from planner.problem import parse_problem

REGIONS = ["us-east", "eu-west", "us-west", "ap-northeast", "ap-south"]
TEMPLATE = """
name: scale
model: llama-3.1-70b
workload:
  lengths_file: {lengths}
  demand: {{profile: diurnal, peak_rps: 60, trough_rps: 15, weekend_factor: 0.6, period_hours: {period}, horizon_hours: 168}}
  user_regions: {{{regions}}}
slo: {{ttft_p99_ms: 2000, tpot_p99_ms: 80}}
options:
  precisions: [bf16, fp8]
  tiers: [reserved-1y, reserved-3y, on-demand, spot]
  max_spot_share: 0.3
  min_replicas: 2
  placement: {placement}
solver: {{gap: 0.01, time_limit_s: 120}}
"""

lengths = str((__import__("pathlib").Path(__file__).resolve().parents[1] / "problems" / "data" / "azure2023_conv_lengths.csv"))


def main() -> None:
    catalogs = load_catalogs()
    print(f"{'regions':>7}{'period h':>9}{'placement':>16}{'cands':>7}{'periods':>8}{'rows':>7}{'cols':>7}{'prep s':>8}{'solve s':>8}  status    gap")
    for n_regions, period, placement in [(1, 1, "same-continent"), (2, 1, "same-continent"), (5, 4, "same-continent"),
                                         (5, 1, "same-continent"), (5, 1, "any")]:
        regions = ", ".join(f"{r}: {1 / n_regions:.6f}" for r in REGIONS[:n_regions])
        regions = regions.rsplit(": ", 1)[0] + f": {1 - (n_regions - 1) * round(1 / n_regions, 6):.6f}"
        loaded = parse_problem(TEMPLATE.format(lengths=lengths, period=period, regions=regions, placement=placement), "scale.yaml")
        t0 = time.perf_counter()
        prep = prepare(loaded, catalogs)
        t1 = time.perf_counter()
        reduced, _ = merge_identical_periods(prep.milp_input)
        prob, _ = build_model(reduced)
        plan = solve_prepared(prep, solver_options(loaded, None, None, None))
        t2 = time.perf_counter()
        gap = "n/a" if plan.solver.gap is None else f"{plan.solver.gap:.2%}"
        print(f"{n_regions:>7}{period:>9}{placement:>16}{len(prep.candidates.table):>7}{len(reduced.period_hours):>8}"
              f"{len(prob.constraints):>7}{len(prob.variables()):>7}{t1 - t0:>8.2f}{t2 - t1:>8.2f}  {plan.status:<9}{gap}")


if __name__ == "__main__":
    main()
