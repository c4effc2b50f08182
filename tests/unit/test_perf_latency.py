"""Latency model: roofline values, precision fallback, errors, monotonicity."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from planner.perf import Efficiency, estimate, explain
from planner.perf.config import prepare
from planner.perf.fixtures import example_cfg
from planner.perf.latency import StepModel
from planner.perf.memory import param_counts

EFF = Efficiency.from_values(mfu=0.5, mbu=0.8, step_overhead_ms=1.0)


def _step(cfg, eff=EFF):
    s = prepare(cfg)
    p = param_counts(s)
    return StepModel.build(s, p, eff.lookup(s.engine, s.gpu_family)), p


def test_decode_batch1_is_weight_read_time():
    st_, p = _step(example_cfg())
    t = st_.decode_time(np.array([1.0]), np.array([1.0]))[0]
    weights = (p["total"][0] - p["embed"][0]) * 2
    assert t == pytest.approx(weights / (3350e9 * 0.8) + 1e-3, rel=1e-3)


def test_prefill_flops():
    st_, p = _step(example_cfg())
    n = 4096.0
    t = st_.prefill_time(np.array([1.0]), np.array([n]))[0]
    flops = 2 * (p["active"][0] - p["embed"][0]) * n + 2 * 32 * 32 * 128 * n * n
    assert t == pytest.approx(flops / (989e12 * 0.5) + 1e-3, rel=1e-3)


def test_fp8_on_a100_falls_back_and_is_flagged():
    cfg = pd.concat([example_cfg(gpu="A100-SXM-80GB", precision="fp8"),
                     example_cfg(gpu="H100-SXM-80GB", precision="fp8"),
                     example_cfg(gpu="A100-SXM-80GB", precision="int4")], ignore_index=True)
    out = explain(cfg, EFF)
    assert out["precision_fallback"].tolist() == [True, False, False]
    assert out["error"].isna().all()


def test_missing_spec_is_a_row_error():
    cfg = example_cfg(n=3)
    cfg.loc[1, "gpu_mem_bw_gb_per_s"] = np.nan
    cfg.loc[2, ["num_gpus", "tp"]] = 2
    cfg.loc[2, "gpu_link_bw_gb_per_s"] = np.nan
    cfg.loc[2, "gpu_interconnect"] = "NVLink"
    out = estimate(cfg, EFF)
    assert out["error"].isna()[0] and out["throughput_out_tok_s"].notna()[0]
    assert "gpu_mem_bw_gb_per_s" in out["error"][1]
    assert "gpu_link_bw_gb_per_s" in out["error"][2]
    assert out["throughput_out_tok_s"].isna()[1:].all()


def test_moe_reads_fewer_experts_at_batch_1():
    st_, _ = _step(example_cfg(model="mixtral-8x7b"))
    one, many = (st_.routed_bytes_read(np.array([t]))[0] / st_.routed_bytes[0] for t in (1.0, 64.0))
    assert one == pytest.approx(2 / 8)
    assert many > 0.99


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 8000), st.integers(1, 8000), st.sampled_from(["fixed_batch", "offline", "server"]))
def test_longer_prompts_raise_ttft(a, b, scen):
    lo, hi = sorted((a, b))
    out = estimate(example_cfg(n=2, input_len=[lo, hi], scenario=scen, concurrency=8), EFF)
    assert out["ttft_ms"][0] <= out["ttft_ms"][1] + 1e-9


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 256))
def test_tensor_parallel_lowers_batch1_tpot_for_70b(batch):
    cfg = example_cfg(model="llama-3.1-70b", n=2, num_gpus=[4, 8], tp=[4, 8], concurrency=batch)
    out = estimate(cfg, EFF)
    assert out["tpot_ms"][1] < out["tpot_ms"][0]


def test_expert_parallel_pays_routing_imbalance_only():
    cfg = example_cfg(model="mixtral-8x7b", n=2, num_gpus=4, tp=4, ep=[1, 4], scenario="fixed_batch",
                      concurrency=[1, 1])
    out = estimate(cfg, EFF)
    assert out["error"].isna().all()
    # same bytes and FLOPs in total; the busiest GPU sets the pace, so EP is never faster here
    assert out["tpot_ms"][1] >= out["tpot_ms"][0] - 1e-9
    big = estimate(cfg.assign(concurrency=512, input_len=64, output_len=64), EFF)
    assert big["tpot_ms"][1] == pytest.approx(big["tpot_ms"][0], rel=0.15)  # many tokens: balanced
    st_, _ = _step(cfg)
    one_token = st_.routed_bytes_read(np.array([1.0, 1.0]))
    assert one_token[1] >= one_token[0]
    bad = estimate(example_cfg(n=2, num_gpus=2, tp=2, ep=[2, 3]), EFF)["error"]
    assert "mixture-of-experts" in bad[0] and "ep must be 1 or equal to tp" in bad[1]


def test_instance_across_nodes_needs_and_pays_the_network():
    cfg = example_cfg(model="llama-3.1-70b", n=3, num_gpus=16, tp=[16, 16, 8], pp=[1, 1, 2],
                      gpus_per_node=8, gpu_network_gb_per_s=[np.nan, 50.0, 50.0], concurrency=16)
    out = estimate(cfg, EFF)
    assert "gpu_network_gb_per_s missing" in out["error"][0]
    assert out["error"][1:].isna().all()
    one_node = estimate(cfg.assign(gpus_per_node=16).iloc[1:2], EFF)
    assert out["tpot_ms"][1] > one_node["tpot_ms"].iloc[0]  # the ring runs at network speed


def test_direct_gpu_links_have_nvlink_class_hop_latency():
    # Infinity Fabric joins every MI300X to its 7 peers directly (full mesh), like NVLink; PCIe does not
    cfg = example_cfg(n=3, num_gpus=8, tp=8, gpu_interconnect=["NVLink", "Infinity Fabric", "PCIe Gen4"],
                      gpu_link_bw_gb_per_s=[900.0, 896.0, 64.0])
    st_, _ = _step(cfg)
    assert list(st_.hop_latency_s) == [1.5e-6, 1.5e-6, 5e-6]
    # ring all-reduce latency: 2 per layer x 2 (tp - 1) hops x 32 layers
    assert st_.comm_fixed[1] == pytest.approx(2 * 32 * 2 * 7 * 1.5e-6)
