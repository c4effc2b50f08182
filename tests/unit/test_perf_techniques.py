"""Serving techniques in the performance model (planner.perf.techniques), against hand-computed values.

Efficiency: mfu 0.5, mbu 0.8, 1 ms step overhead; H100 SXM (3350 GB/s, 989 TFLOP/s bf16); Llama-3.1-8B
dims (planner.perf.fixtures).
"""

import numpy as np
import pandas as pd
import pytest

from planner import perf
from planner.catalog import load_catalogs
from planner.perf import Efficiency, estimate, explain
from planner.perf.config import prepare
from planner.perf.fixtures import example_cfg, example_lengths
from planner.perf.latency import StepModel
from planner.perf.memory import param_counts
from planner.perf.techniques import prefix_attention_share, sparse_weight_ratio, tokens_per_step
from planner.perf.types import SloTargets

EFF = Efficiency.from_values(mfu=0.5, mbu=0.8, step_overhead_ms=1.0)
BW = 3350e9 * 0.8
RATE = 989e12 * 0.5
KV_PER_TOKEN = 2 * 32 * 8 * 128 * 2  # Llama-3.1-8B, bf16: 131,072 bytes


def _step(cfg):
    s = prepare(cfg)
    p = param_counts(s)
    return StepModel.build(s, p, EFF.lookup(s.engine, s.gpu_family)), p


def test_tokens_per_step_is_the_geometric_series():
    # alpha = 0.75, k = 4: 1 + 0.75 + 0.75^2 + 0.75^3 + 0.75^4 = 3.05078125
    assert tokens_per_step(0.75, 4) == pytest.approx(3.05078125)
    assert tokens_per_step(0.0, 3) == pytest.approx(1.0)  # every draft rejected: the verified token only
    assert tokens_per_step(0.9, 0) == pytest.approx(1.0)  # no speculation


def test_sparse_and_prefix_factors():
    assert sparse_weight_ratio(2.0) == pytest.approx(0.5625)  # 16-bit: (2*16 + 2*2) / 64 bits
    assert sparse_weight_ratio(1.0) == pytest.approx(0.625)  # 8-bit: (2*8 + 2*2) / 32 bits
    assert prefix_attention_share(0.5) == pytest.approx(0.75)  # 1 - h^2


@pytest.mark.parametrize("prompt", [2048.0, 8192.0, 32768.0])
def test_prefix_share_bounds_the_exact_share_with_sliding_windows(prompt):
    """Half the layers with a 4096-token window (Gemma 2): the exact remaining share of attention
    pairs 1 - G(hI)/G(I) lies at or below 1 - h^2, equal when the prompt is within the window."""
    from planner.perf.attention import local_pairs

    h = 0.5

    def pairs(x):  # layer-averaged causal pairs: half global (x^2/2), half local
        return 0.5 * x * x / 2 + 0.5 * local_pairs(np.array(x), 4096.0, False)

    exact = 1 - pairs(h * prompt) / pairs(prompt)
    assert exact <= prefix_attention_share(h) + 1e-12
    if prompt <= 4096:
        assert exact == pytest.approx(prefix_attention_share(h))


def test_eagle_decode_at_batch_1_by_hand():
    k, alpha = 2, 0.75
    st, p = _step(example_cfg(spec_method="eagle", spec_draft_tokens=k, spec_acceptance=alpha))
    total, embed = p["total"][0], p["embed"][0]
    weights = (total - embed) * 2  # target weights read per step (bf16)
    # verify: 3 query tokens, memory-bound; KV of 1 context token; attention FLOPs 4*L*H*hd*3
    verify = max(weights / BW, 2 * (p["active"][0] - embed) * 3 / RATE) \
        + max(KV_PER_TOKEN / BW, 4 * 32 * 32 * 128 * 3 / RATE) + 1e-3
    head = (total - 2 * embed) / 32 + embed  # one mean layer + an lm-head-sized projection
    draft = max(head * 2 / BW, 2 * head / RATE) + KV_PER_TOKEN / 32 / BW  # no step overhead
    expected = (verify + k * draft) / (1 + alpha + alpha ** 2)
    assert p["draft_total"][0] == pytest.approx(head)
    assert st.decode_time(np.array([1.0]), np.array([1.0]))[0] == pytest.approx(expected, rel=1e-9)


def test_speculation_helps_at_small_batch_and_hurts_when_compute_bound():
    base = example_cfg(n=2, concurrency=[1.0, 1024.0], input_len=16.0, output_len=64.0)
    spec = base.assign(spec_method="eagle", spec_draft_tokens=4, spec_acceptance=0.6)
    off, on = estimate(base, EFF), estimate(spec, EFF)
    assert on["tpot_ms"][0] < 0.6 * off["tpot_ms"][0]  # batch 1: weights read once for E[L] = 2.3 tokens
    assert on["tpot_ms"][1] > off["tpot_ms"][1]  # batch 1024: 5 tokens of GEMM per sequence per step


def test_draft_memory_is_charged():
    base = example_cfg(scenario="offline", concurrency=np.nan)
    spec = base.assign(spec_method="eagle", spec_draft_tokens=3, spec_acceptance=0.7)
    a, b = explain(base, EFF), explain(spec, EFF)
    p = param_counts(prepare(spec))
    assert b["weights_gb"][0] - a["weights_gb"][0] == pytest.approx(p["draft_total"][0] * 2 / 1e9)
    kv_ratio = a["max_concurrency"][0] / b["max_concurrency"][0]
    kv_gb_ratio = a["kv_gb"][0] / b["kv_gb"][0]
    # each sequence also holds one target layer of draft KV: 1 + 1/32 of the bytes per token
    assert kv_ratio == pytest.approx(kv_gb_ratio * (1 + 1 / 32), rel=2e-3)


def test_draft_model_columns_come_from_the_catalog():
    c = load_catalogs()
    rows = pd.DataFrame([dict(model="llama-3.1-70b", gpu="H100-SXM-80GB", num_gpus=4, tp=4, scenario="fixed_batch",
                              concurrency=1, input_len=512, output_len=128, spec_method="draft-model",
                              draft_model="llama-3.2-1b", spec_draft_tokens=4, spec_acceptance=0.7)])
    cfg = perf.spec_table(rows, c.accelerators, c.models)
    draft = c.models.set_index("id").loc["llama-3.2-1b"]
    assert cfg["draft_params_b"][0] == pytest.approx(float(draft["params_b"]))
    assert cfg["draft_num_layers"][0] == draft["num_layers"]
    assert cfg["draft_num_kv_heads"][0] == draft["num_kv_heads"]
    out = perf.estimate(cfg, perf.Efficiency(c.efficiency))
    assert out["error"].isna().all() and out["tpot_ms"][0] > 0
    with pytest.raises(ValueError, match="llama-3.2-1bb"):
        perf.spec_table(rows.assign(draft_model="llama-3.2-1bb"), c.accelerators, c.models)


def test_prefix_cache_prefill_by_hand():
    h, n = 0.5, 4096.0
    st, p = _step(example_cfg(prefix_hit_rate=h))
    t = st.prefill_time(np.array([1.0]), np.array([n]))[0]
    # half the tokens through the linear layers; causal pairs n^2/2 - (h n)^2/2
    flops = 2 * (p["active"][0] - p["embed"][0]) * n * (1 - h) + 2 * 32 * 32 * 128 * n * n * (1 - h * h)
    assert t == pytest.approx(max(flops / RATE, (p["total"][0] - p["embed"][0]) * 2 / BW) + 1e-3, rel=1e-6)
    assert st.prefill_chunks(np.array([n]))[0] == 1.0  # 2048 computed tokens: one 2048-token chunk


def test_prefix_cache_raises_capacity_at_a_ttft_target():
    lengths = example_lengths()
    slo = SloTargets(ttft_p99_ms=300.0, tpot_p99_ms=60.0)
    cfg = example_cfg(n=2, scenario="server", concurrency=np.nan, prefix_hit_rate=[0.0, 0.6])
    cap = perf.capacity_at_slo(cfg, lengths, slo, EFF)
    assert cap["capacity_rps"][1] > cap["capacity_rps"][0] > 0
    assert cap["ttft_p99_ms"][1] <= 300.0 + 1e-6


def test_sparsity_halves_linear_bytes_and_doubles_their_math():
    st, p = _step(example_cfg(sparsity="2:4"))
    total, embed = p["total"][0], p["embed"][0]
    body = total - 2 * embed
    weights_read = (body * 0.5625 + embed) * 2  # blocks 2:4-sparse, lm_head dense (input embedding not read)
    assert st.decode_time(np.array([1.0]), np.array([1.0]))[0] == pytest.approx(
        weights_read / BW + max(KV_PER_TOKEN / BW, 4 * 32 * 32 * 128 / RATE) + 1e-3, rel=1e-9)
    assert st.compute_params[0] == pytest.approx((p["active"][0] - 2 * embed) / 2 + embed)
    out = explain(example_cfg(sparsity="2:4"), EFF)
    assert out["weights_gb"][0] == pytest.approx((body * 0.5625 + 2 * embed) * 2 / 1e9)


def test_sparsity_needs_sparse_tensor_cores():
    cfg = example_cfg(n=2, sparsity="2:4")
    cfg.loc[1, "gpu_family"] = "volta"
    out = estimate(cfg, EFF)
    assert out["error"].isna()[0]
    assert "sparse tensor cores" in out["error"][1]


def test_static_kv_reserves_max_seq_len():
    cfg = example_cfg(n=3, scenario="offline", concurrency=np.nan, input_len=512.0, output_len=128.0,
                      kv_allocation=["paged", "static", "static"], max_seq_len=[np.nan, 8192.0, 600.0])
    out = explain(cfg, EFF)
    paged, static = out["max_concurrency"][0], out["max_concurrency"][1]
    kv_bytes = out["kv_gb"][0] * 1e9
    assert paged == np.floor(kv_bytes / (KV_PER_TOKEN * 640))
    assert static == np.floor(kv_bytes / (KV_PER_TOKEN * 8192))
    assert not out["fits"][2]  # 640-token requests never fit a 600-token reservation
    assert out["throughput_out_tok_s"][1] < out["throughput_out_tok_s"][0]


def test_technique_errors_are_row_errors():
    cfg = example_cfg(n=5)
    cfg["spec_method"] = ["eagle", "medusa", "mtp", "eagle", None]
    cfg["spec_draft_tokens"] = [3, 3, 3, 0, np.nan]
    cfg["spec_acceptance"] = [1.0, 0.5, 0.5, 0.5, np.nan]
    cfg["prefix_hit_rate"] = [0.0, 0.0, 0.0, 0.0, 1.0]
    out = estimate(cfg, EFF)
    assert "spec_acceptance" in out["error"][0]
    assert "unknown spec_method" in out["error"][1]
    assert "mtp_layers" in out["error"][2]  # Llama has no multi-token-prediction module
    assert "spec_draft_tokens" in out["error"][3]
    assert "prefix_hit_rate" in out["error"][4]


def test_without_techniques_nothing_changes():
    """The technique columns present but empty leave every output as before."""
    lengths = example_lengths()
    slo = SloTargets(ttft_p99_ms=500.0, tpot_p99_ms=50.0)
    plain = example_cfg(scenario="server", concurrency=64.0)
    empty = plain.assign(spec_method="none", spec_draft_tokens=np.nan, prefix_hit_rate=np.nan, sparsity="",
                         kv_allocation="paged")
    pd.testing.assert_frame_equal(perf.capacity_at_slo(plain, lengths, slo, EFF),
                                  perf.capacity_at_slo(empty, lengths, slo, EFF))


def test_measured_draft_step_overhead_is_added_per_draft_step():
    cfg = example_cfg(n=2, spec_method="eagle", spec_draft_tokens=3, spec_acceptance=0.7, spec_step_overhead_ms=[0.0, 1.5])
    st, _ = _step(cfg)
    t = st.decode_time(np.array([4.0, 4.0]), np.array([300.0, 300.0]))
    assert (t[1] - t[0]) * tokens_per_step(0.7, 3) == pytest.approx(3 * 1.5e-3, rel=1e-9)


def test_no_speculation_for_encoder_decoder_rows():
    c = load_catalogs()
    rows = pd.DataFrame([dict(model="flan-t5-xl", gpu="A100-SXM-80GB", scenario="fixed_batch", concurrency=1,
                              input_len=512, output_len=64, spec_method="eagle", spec_draft_tokens=2, spec_acceptance=0.6)])
    out = perf.estimate(perf.spec_table(rows, c.accelerators, c.models), perf.Efficiency(c.efficiency))
    assert "encoder-decoder" in out["error"][0]


def test_fp8_needs_an_fp8_kernel_path():
    cfg = example_cfg(n=3, precision="fp8")
    cfg["gpu_family"] = ["volta", "ampere", "hopper"]  # Ampere: weight-only FP8 Marlin, flagged as a fallback
    out = explain(cfg, EFF)
    assert "fp8 needs" in out["error"][0]
    assert out["error"][1:].isna().all()


def test_e2e_is_never_below_ttft_with_speculation_and_a_prefix_cache():
    from planner.perf import latency_at_rate
    from planner.perf.types import LengthSamples

    cfg = example_cfg(n=2, scenario="server", concurrency=np.nan, spec_method="eagle", spec_draft_tokens=4,
                      spec_acceptance=0.9, prefix_hit_rate=[0.0, 0.5])
    out = latency_at_rate(cfg, LengthSamples.constant(6000, 2), 0.5, EFF)
    for p in (50, 99):
        assert (out[f"e2e_p{p}_ms"] >= out[f"ttft_p{p}_ms"]).all()


def test_bad_draft_inputs_are_row_errors():
    cfg = example_cfg(n=3, spec_method="eagle", spec_draft_tokens=3, spec_acceptance=0.7)
    cfg["draft_params_b"] = [-3.0, np.inf, np.nan]
    cfg["draft_model"] = [None, None, "llama-3.2-1b"]
    out = estimate(cfg, EFF)
    assert "draft_params_b must be" in out["error"][0] and "draft_params_b must be" in out["error"][1]
    assert "draft_model is for spec_method draft-model" in out["error"][2]
