"""Candidate evaluations per second of the performance model over a large random configuration table.

    python benchmarks/perf_speed.py [ROWS] [REPEATS]

On one core (numpy runs single-threaded for these element-wise operations), best of REPEATS runs:

* ``prepare``: the input table (a pandas DataFrame, ARCHITECTURE.md "Perf model input") -> arrays;
* ``core``: the memory/latency core on those arrays (``serving.scenario_arrays``: parameters, weights,
  KV-cache fit, step times, TTFT/TPOT/e2e/throughput for all four scenarios mixed) -- the figure the
  issue's ">= 1 million candidate evaluations per second" target is about;
* ``estimate``: the whole public call, DataFrame in and DataFrame out;
* ``capacity_at_slo``: the highest Poisson rate meeting P99 targets (64 representative length pairs,
  40 bisection steps per row), the figure the planner's candidate stage pays.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from planner.perf import SloTargets, capacity_at_slo, estimate
from planner.perf.config import prepare
from planner.perf.fixtures import example_cfg
from planner.perf.serving import scenario_arrays
from planner.perf.types import Efficiency, LengthSamples


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def report(name: str, rows: int, seconds: float) -> None:
    print(f"{name:<16} {rows:>9,} rows in {seconds:6.3f} s = {rows / seconds:>12,.0f} rows/s")


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    rng = np.random.default_rng(1)
    # a mixed table: dense 8B/70B and MoE models, H100/A100, 4 precisions, tp 1-8, all scenarios
    parts = [example_cfg(model=m, gpu=g, n=rows // 6) for m in ("llama-3.1-8b", "llama-3.1-70b", "mixtral-8x7b")
             for g in ("H100-SXM-80GB", "A100-SXM-80GB")]
    cfg = pd.concat(parts, ignore_index=True)
    rows = len(cfg)
    for column, values in {"input_len": rng.integers(1, 4000, rows), "output_len": rng.integers(1, 2000, rows),
                           "concurrency": rng.integers(1, 256, rows),
                           "scenario": rng.choice(["fixed_batch", "offline", "server", "interactive"], rows),
                           "precision": rng.choice(["bf16", "fp16", "fp8", "int4"], rows),
                           "tp": rng.choice([1, 2, 4, 8], rows)}.items():
        cfg[column] = values
    cfg["num_gpus"] = cfg["tp"]
    eff = Efficiency.from_values()
    spec = prepare(cfg)
    report("prepare", rows, best_of(repeats, lambda: prepare(cfg)))
    report("core", rows, best_of(repeats, lambda: scenario_arrays(spec, eff)))
    report("estimate", rows, best_of(repeats, lambda: estimate(cfg, eff)))
    lengths = LengthSamples(rng.integers(50, 4000, 2000).astype(float), rng.integers(10, 800, 2000).astype(float))
    n_cap = min(rows, 50_000)
    sub = cfg.iloc[:n_cap]
    report("capacity_at_slo", n_cap,
           best_of(1, lambda: capacity_at_slo(sub, lengths, SloTargets(2000, 80, None), eff)))


if __name__ == "__main__":
    main()
