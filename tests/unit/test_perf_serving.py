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


def test_engine_batch_cap_trtllm():
    """trtllm-bench's build heuristic caps TensorRT-LLM at 4096 running requests and 32768 tokens per
    iteration; the steady state carries B (1 + I/O) tokens, so B <= 32768 / (1 + I/O). Other engines
    (no entry) run as many sequences as the KV cache holds."""
    from planner.perf import explain

    cfg = example_cfg(n=4, num_gpus=8, tp=8, precision="fp8", kv_precision="fp8", scenario="offline",
                      concurrency=np.nan, engine_family=["trtllm", "vllm", "trtllm", "vllm"],
                      input_len=[128.0, 128.0, 2048.0, 2048.0], output_len=128.0)
    out = explain(cfg, EFF)
    mem = out["max_concurrency"].to_numpy()
    assert mem[0] == mem[1] and mem[0] > 4096  # memory alone would allow more than 4096
    assert mem[2] > 1927
    # 128/128: the 4096 max batch binds (32768 / 2 = 16384 does not)
    assert out["batch"][0] == 4096 and out["batch"][1] == mem[1]
    # 2048/128: floor(32768 / (1 + 2048/128)) = floor(1927.5) = 1927
    assert out["batch"][2] == 1927 and out["batch"][3] == mem[3]
    # throughput = B / iteration time, with the iteration at the capped batch
    thr, tpot = out["throughput_out_tok_s"].to_numpy(), out["tpot_ms"].to_numpy()
    assert thr[2] == pytest.approx(1927 / tpot[2] * 1e3)
    # a server load above the cap queues as above a full KV cache
    srv = explain(example_cfg(n=1, num_gpus=8, tp=8, precision="fp8", kv_precision="fp8",
                              scenario="server", concurrency=5000, engine_family="trtllm",
                              input_len=128.0, output_len=128.0), EFF)
    assert srv["batch"][0] == 4096
    assert srv["e2e_latency_ms"][0] > out["e2e_latency_ms"][0] * (5000 / 4096 - 1)
