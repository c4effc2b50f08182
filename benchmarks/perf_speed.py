"""Estimates per second of the performance model over a large random configuration table.

    python benchmarks/perf_speed.py [ROWS]

Reports wall time and rows/s of ``estimate`` (all four scenarios mixed) and of ``capacity_at_slo``
(64 representative length pairs, P99 targets), on one core.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from planner.perf import SloTargets, capacity_at_slo, estimate
from planner.perf.fixtures import example_cfg
from planner.perf.types import Efficiency, LengthSamples

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
rng = np.random.default_rng(1)
cfg = example_cfg(n=rows, input_len=rng.integers(1, 4000, rows), output_len=rng.integers(1, 2000, rows),
                  concurrency=rng.integers(1, 256, rows),
                  scenario=rng.choice(["fixed_batch", "offline", "server", "interactive"], rows))
eff = Efficiency.from_values()
t = time.perf_counter()
estimate(cfg, eff)
dt = time.perf_counter() - t
print(f"estimate:        {rows:>9,} rows in {dt:6.2f} s = {rows / dt:>12,.0f} rows/s")
lengths = LengthSamples(rng.integers(50, 4000, 2000).astype(float), rng.integers(10, 800, 2000).astype(float))
n_cap = min(rows, 50_000)
t = time.perf_counter()
capacity_at_slo(cfg.iloc[:n_cap], lengths, SloTargets(2000, 80, None), eff)
dt = time.perf_counter() - t
print(f"capacity_at_slo: {n_cap:>9,} rows in {dt:6.2f} s = {n_cap / dt:>12,.0f} rows/s")
