"""Interleaved local/global attention (planner.perf.attention): hand-computed KV bytes, attended
tokens and prefill FLOPs for Gemma 2, Gemma 3, Llama 4 chunked attention and Mistral's all-layer window."""

import numpy as np
import pandas as pd
import pytest

from planner.perf import Efficiency, SloTargets, capacity_at_slo, estimate
from planner.perf import attention
from planner.perf.config import prepare
from planner.perf.fixtures import example_cfg, example_lengths
from planner.perf.latency import StepModel
from planner.perf.memory import kept_tokens, kv_bytes_per_token, param_counts
from planner.perf.queueing import _Workload
from planner.perf.serving import _Model
from planner.units import GB

EFF = Efficiency.from_values(mfu=0.5, mbu=0.8, step_overhead_ms=1.0)

# Published config.json dims (google/gemma-2-9b, google/gemma-3-27b text, meta-llama/Llama-4-Scout text).
GEMMA2_9B = dict(num_layers=42, hidden_size=3584, num_attention_heads=16, num_kv_heads=8, head_dim=256,
                 intermediate_size=14336, vocab_size=256000, params_b=9.0, sliding_window=4096,
                 global_attention_every=2)
GEMMA3_27B = dict(num_layers=62, hidden_size=5376, num_attention_heads=32, num_kv_heads=16, head_dim=128,
                  intermediate_size=21504, vocab_size=262208, params_b=27.0, sliding_window=1024,
                  global_attention_every=6)
SCOUT = dict(num_layers=48, hidden_size=5120, num_attention_heads=40, num_kv_heads=8, head_dim=128,
             intermediate_size=16384, moe_intermediate_size=8192, vocab_size=202048, num_experts=16,
             experts_per_token=1, num_shared_experts=1, first_dense_layers=0, params_b=109.0,
             active_params_b=17.0, attention_chunk_size=8192, global_attention_every=4, arch_type="moe")


def _cfg(dims, **kw):
    return example_cfg(**{**dims, **kw})


def _spec(dims, **kw):
    return prepare(_cfg(dims, **kw))


def test_layer_split_from_global_attention_every():
    assert _spec(GEMMA2_9B).local_share[0] == pytest.approx(21 / 42)      # 21 global + 21 local
    assert _spec(GEMMA3_27B).local_share[0] == pytest.approx(52 / 62)     # floor(62/6) = 10 global
    s = _spec(SCOUT)
    assert s.local_share[0] == pytest.approx(36 / 48) and s.local_chunked[0]  # 12 NoPE global layers
    assert _spec({}, sliding_window=4096).local_share[0] == 1.0              # Mistral 7B v0.1: every layer
    assert _spec({}, sliding_window=4096, global_attention_every=1).local_share[0] == 0.0
    assert _spec({}).local_share[0] == 0.0 and not _spec({}).any_local


def test_gemma2_9b_kv_bytes_at_8192_tokens():
    s = _spec(GEMMA2_9B)
    per_layer_token = 2 * 8 * 256 * 2  # K and V, 8 KV heads, head_dim 256, bf16
    # 21 local layers keep 4096 tokens, 21 global layers all 8192
    expected = (21 * 4096 + 21 * 8192) * per_layer_token
    assert expected == 2_113_929_216
    kv = kv_bytes_per_token(s) * kept_tokens(s, np.array([8192.0]))
    assert kv[0] == pytest.approx(expected)
    # below the window nothing is capped
    assert kept_tokens(s, np.array([3000.0]))[0] == pytest.approx(3000.0)


def test_gemma3_27b_and_scout_kept_tokens():
    s = _spec(GEMMA3_27B)
    assert kept_tokens(s, np.array([32768.0]))[0] == pytest.approx((10 * 32768 + 52 * 1024) / 62)
    s = _spec(SCOUT)
    # a chunk holds at most 8192 tokens: 12 global layers x 20000 + 36 chunked layers x 8192
    assert kept_tokens(s, np.array([20000.0]))[0] == pytest.approx((12 * 20000 + 36 * 8192) / 48)
    assert _spec({}, sliding_window=4096).sliding_window[0] == 4096
    assert kept_tokens(_spec({}, sliding_window=4096), np.array([10000.0]))[0] == 4096


def test_causal_pairs_sliding_and_chunked():
    s = _spec(GEMMA2_9B)
    # sliding window 4096, prompt 10000: local pairs 4096*10000 - 4096^2/2, global 10000^2/2
    local = 4096 * 10000 - 4096 ** 2 / 2
    assert attention.pairs(s, np.array([10000.0]))[0] == pytest.approx(0.5 * 10000 ** 2 / 2 + 0.5 * local)
    assert attention.prefill_context(s, np.array([2000.0]))[0] == pytest.approx(1000.0)  # inside the window: I/2
    s = _spec(SCOUT)
    # chunks of 8192, prompt 20000: two full chunks (8192^2/2 each) + 3616 tokens (3616^2/2)
    local = 2 * 8192 ** 2 / 2 + 3616 ** 2 / 2
    assert local == 73_646_592
    assert attention.pairs(s, np.array([20000.0]))[0] == pytest.approx(0.25 * 20000 ** 2 / 2 + 0.75 * local)
    # at a chunk boundary a chunked layer attends to almost nothing, a global one to everything
    assert attention.at(s, np.array([16384.0]))[0] == pytest.approx(0.25 * 16384)
    assert attention.at(s, np.array([10000.0]))[0] == pytest.approx(0.25 * 10000 + 0.75 * (10000 - 8192))


def test_decode_context_is_the_mean_over_the_decode():
    s = _spec({}, sliding_window=4096)  # every layer windowed
    # context 3000 -> 5000: integral of min(x, 4096) / 2000
    expected = ((4096 ** 2 - 3000 ** 2) / 2 + (5000 - 4096) * 4096) / 2000
    assert attention.decode_context(s, np.array([3000.0]), np.array([5000.0]))[0] == pytest.approx(expected)
    full = _spec({})
    assert attention.decode_context(full, np.array([3000.0]), np.array([5000.0]))[0] == 4000.0


def test_prefill_flops_use_the_local_span():
    cfg = _cfg(GEMMA2_9B)
    s = prepare(cfg)
    p = param_counts(s)
    st = StepModel.build(s, p, EFF.lookup(s.engine, s.gpu_family))
    n = 16384.0
    t = st.prefill_time(np.array([1.0]), np.array([n]))[0]
    pairs = 0.5 * n * n / 2 + 0.5 * (4096 * n - 4096 ** 2 / 2)  # layer-averaged causal pairs
    attn = 2 * 2 * 42 * 16 * 256 * pairs  # 2 matmuls x 2 FLOPs, summed over 42 layers x 16 heads x 256
    flops = 2 * (p["active"][0] - p["embed"][0]) * n + attn
    assert t == pytest.approx(flops / (989e12 * 0.5) + 1e-3, rel=1e-3)
    c1, c2 = st.prefill_coeffs()
    assert st.prefill_compute_time(np.array([n]))[0] == pytest.approx(c1[0] * n + c2[0] * 2 * pairs)


def test_windows_raise_capacity_only_beyond_the_window():
    rows = pd.concat([_cfg(GEMMA2_9B, input_len=i, output_len=512, scenario="offline")
                      for i in (1000, 7000)], ignore_index=True)
    full = rows.assign(sliding_window=np.nan)
    a, b = estimate(rows, EFF), estimate(full, EFF)
    assert a["max_concurrency"][0] == b["max_concurrency"][0]  # 1512 tokens: inside the window
    # 7512 tokens: (21 * 4096 + 21 * 7512) / 42 = 5804 kept per layer instead of 7512
    per_token = 42 * 2 * 8 * 256 * 2
    assert a["max_concurrency"][1] == np.floor(a["kv_gb"][1] * GB / (per_token * 5804))
    assert b["max_concurrency"][1] == np.floor(b["kv_gb"][1] * GB / (per_token * 7512))
    assert a["throughput_out_tok_s"][1] > b["throughput_out_tok_s"][1]


def test_mixed_table_matches_rows_alone():
    lengths = example_lengths(400)
    parts = [_cfg(GEMMA2_9B, scenario="server", concurrency=64),
             _cfg(GEMMA3_27B, scenario="offline", input_len=6000, output_len=300),
             example_cfg(scenario="server", concurrency=32),
             _cfg({}, sliding_window=512, scenario="fixed_batch", input_len=3000, concurrency=8)]
    table = pd.concat(parts, ignore_index=True)
    together = estimate(table, EFF)
    cap = capacity_at_slo(table, lengths, SloTargets(4000, 100, None), EFF)
    for k, part in enumerate(parts):
        alone = estimate(part, EFF).iloc[0]
        for c in ("throughput_out_tok_s", "ttft_ms", "tpot_ms", "max_concurrency"):
            assert together[c][k] == pytest.approx(alone[c], rel=1e-12)
        one = capacity_at_slo(part, lengths, SloTargets(4000, 100, None), EFF).iloc[0]
        assert cap["capacity_rps"][k] == pytest.approx(one["capacity_rps"], rel=1e-9)


def test_queueing_moments_match_the_samples():
    lengths = example_lengths(300, seed=3)
    cfg = pd.concat([_cfg(GEMMA3_27B), _cfg(SCOUT), example_cfg()], ignore_index=True)
    m = _Model(prepare(cfg), EFF)
    w = _Workload(lengths)
    r = w.rows(m, "full")
    i, o = lengths.input_tokens, lengths.output_tokens
    for k in range(3):
        sk = prepare(cfg.iloc[[k]].reset_index(drop=True))
        h = 2.0 * attention.pairs(sk, i[None, :])[0]
        assert r["Eh"][k] == pytest.approx(h.mean(), rel=1e-12)
        assert r["EIh"][k] == pytest.approx((i * h).mean(), rel=1e-12)
        assert r["Eh2"][k] == pytest.approx((h * h).mean(), rel=1e-12)
        ctx = (attention.pairs(sk, (i + o)[None, :])[0] - attention.pairs(sk, i[None, :])[0]).sum() / o.sum()
        assert r["ctx"][k] == pytest.approx(ctx, rel=1e-12)
    # a window longer than every request changes nothing
    wide = _cfg(GEMMA2_9B, sliding_window=1e9)
    none = _cfg(GEMMA2_9B, sliding_window=np.nan)
    slo = SloTargets(3000, 80, None)
    assert capacity_at_slo(wide, lengths, slo, EFF)["capacity_rps"][0] == pytest.approx(
        capacity_at_slo(none, lengths, slo, EFF)["capacity_rps"][0], rel=1e-12)


def test_window_and_chunk_together_is_an_error():
    out = estimate(_cfg(SCOUT, sliding_window=4096), EFF)
    assert "attention_chunk_size" in out["error"][0]
    assert "global_attention_every" in estimate(_cfg(GEMMA2_9B, global_attention_every=0), EFF)["error"][0]
