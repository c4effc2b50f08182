"""Serving model: output contract and vectorisation (queueing and capacity: test_perf_queueing.py)."""


import numpy as np
import pandas as pd
import pytest

from planner.perf import Efficiency, SloTargets, capacity_at_slo, estimate
from planner.perf.fixtures import example_cfg, example_lengths as _lengths
from planner.perf.queueing import CAPACITY_COLUMNS
from planner.perf.serving import OUTPUT_COLUMNS

EFF = Efficiency.from_values(mfu=0.5, mbu=0.75, step_overhead_ms=2.0)
INPUT = ["model", "gpu", "num_gpus", "tp", "pp", "precision", "kv_precision", "engine_family",
         "scenario", "input_len", "output_len", "concurrency"]


def test_estimate_columns_exact_and_defaults():
    cfg = pd.DataFrame({c: [np.nan] for c in INPUT}).astype(object)
    cfg = example_cfg(n=3, scenario=["fixed_batch", "offline", "server"], input_len=np.nan,
                      output_len=np.nan, concurrency=[16, np.nan, 32])
    out = estimate(cfg, EFF)
    assert list(out.columns) == list(cfg.columns) + OUTPUT_COLUMNS
    assert out["fits"].all() and out["error"].isna().all()
    assert (out["throughput_out_tok_s"] > 0).all()
    # offline batches at least as much as the server row with 32 in flight
    assert out["throughput_out_tok_s"][1] >= out["throughput_out_tok_s"][2]
    fb = out.iloc[0]
    assert fb["e2e_latency_ms"] == pytest.approx(fb["ttft_ms"] + (228 - 1) * fb["tpot_ms"])
    assert fb["throughput_out_tok_s"] == pytest.approx(16 * 228 / fb["e2e_latency_ms"] * 1e3)


def test_vectorised_over_1e5_rows():
    n = 100_000
    rng = np.random.default_rng(1)
    cfg = example_cfg(n=n, input_len=rng.integers(1, 4000, n), output_len=rng.integers(1, 2000, n),
                      concurrency=rng.integers(1, 256, n),
                      scenario=rng.choice(["fixed_batch", "offline", "server", "interactive"], n))
    out = estimate(cfg, EFF)  # speed is measured in benchmarks/perf_speed.py, not asserted here
    assert len(out) == n and out["throughput_out_tok_s"].notna().all()
    cap = capacity_at_slo(cfg.iloc[:20_000], _lengths(), SloTargets(2000, 80, None), EFF)
    assert list(cap.columns) == CAPACITY_COLUMNS and (cap["capacity_rps"] > 0).all()
