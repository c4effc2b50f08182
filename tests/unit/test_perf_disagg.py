"""Disaggregated prefill/decode pools (planner.perf.disagg.pool_capacity), against hand-computed values.

Efficiency: mfu 0.5, mbu 0.8, 1 ms step overhead; H100 SXM (3350 GB/s, 989 TFLOP/s bf16); Llama-3.1-8B
dims (planner.perf.fixtures). Prefill of one 1000-token prompt is compute-bound, a decode step at a
batch below ~190 memory-bound (weights and KV), so every time below is a sum of roofline terms.
"""

import math

import numpy as np
import pandas as pd
import pytest

from planner.perf import Efficiency, LengthSamples, SloTargets, capacity_at_slo, pool_capacity
from planner.perf.config import prepare
from planner.perf.disagg import MAX_PREFILL_POINTS, MAX_PREFILL_UTILISATION, POOL_COLUMNS
from planner.perf.fixtures import example_cfg, example_lengths
from planner.perf.latency import StepModel
from planner.perf.memory import param_counts
from planner.perf.queueing import Z99  # the model's Φ⁻¹(0.99) (Abramowitz-Stegun erfc)

EFF = Efficiency.from_values(mfu=0.5, mbu=0.8, step_overhead_ms=1.0)
BW = 3350e9 * 0.8
RATE = 989e12 * 0.5
KV_PER_TOKEN = 2 * 32 * 8 * 128 * 2  # Llama-3.1-8B, bf16: 131,072 bytes
I, O = 1000.0, 200.0
CONST = LengthSamples.constant(I, O)


def _params(cfg):
    p = param_counts(prepare(cfg))
    return p["active"][0] - p["embed"][0], p["total"][0] - p["embed"][0]  # computed, read per step


def _prefill_s(hit=0.0):
    """One 1000-token prompt after a prefix-cache hit ``hit``: GEMMs on the uncached tokens,
    causal attention pairs I²/2 - (hI)²/2, 1 ms overhead (compute-bound)."""
    compute, _ = _params(example_cfg())
    gemm = 2 * compute * I * (1 - hit)
    attn = 4 * 32 * 32 * 128 * (I * I / 2) * (1 - hit * hit)
    return (gemm + attn) / RATE + 1e-3


def _decode_t(B, ctx=I + O / 2):
    """Decode step at batch B (memory-bound): weights + B sequences' KV read, 1 ms overhead."""
    _, read = _params(example_cfg())
    return (read * 2 + KV_PER_TOKEN * B * ctx) / BW + 1e-3


def _solve(f, lo, hi):
    """Root of an increasing f on [lo, hi] (bisection)."""
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if f(mid) < 0 else (lo, mid)
    return 0.5 * (lo + hi)


def test_z99():
    assert Z99 == pytest.approx(2.3263478740, abs=1e-5)


def test_columns_and_index():
    cfg = example_cfg(n=2).set_index(pd.Index(["a", "b"]))
    for role in ("prefill", "decode"):
        out = pool_capacity(cfg, CONST, SloTargets(ttft_p99_ms=500, tpot_p99_ms=50), EFF, role, 50.0)
        assert list(out.columns) == POOL_COLUMNS
        assert list(out.index) == ["a", "b"]


def test_kv_transfer_by_hand():
    cfg = example_cfg(n=3, num_gpus=[1, 8, 8], tp=[1, 8, 8], num_kv_heads=[8, 8, 4])
    for role in ("prefill", "decode"):
        out = pool_capacity(cfg, CONST, SloTargets(), EFF, role, 50.0)
        # 131,072 bytes per token x 1000 tokens / 50 GB/s; unsharded: tp 8 moves the same bytes
        assert out["kv_transfer_ms_p99"][0] == pytest.approx(2.62144, rel=1e-12)
        assert out["kv_transfer_ms_p99"][1] == pytest.approx(2.62144, rel=1e-12)
        # 4 KV heads at tp 8: replicated on the GPUs, but each head moves once: 65,536 bytes per token
        assert out["kv_transfer_ms_p99"][2] == pytest.approx(1.31072, rel=1e-12)
    # MLA: the latent (512 + 64) x 32 layers x 2 bytes = 36,864 bytes per token, once whatever the tp
    mla = example_cfg(n=2, num_gpus=[1, 8], tp=[1, 8], attention_type="mla", kv_lora_rank=512.0, qk_rope_head_dim=64.0)
    out = pool_capacity(mla, CONST, SloTargets(), EFF, "decode", 50.0)
    assert out["error"].isna().all()
    assert list(out["kv_transfer_ms_p99"]) == pytest.approx([0.73728, 0.73728], rel=1e-12)
    # the P99 of the input lengths: 100 samples 1..100 -> 99 tokens
    lengths = LengthSamples(np.arange(1.0, 101.0), np.full(100, 10.0))
    out = pool_capacity(example_cfg(), lengths, SloTargets(), EFF, "decode", 10.0)
    assert out["kv_transfer_ms_p99"][0] == pytest.approx(99 * KV_PER_TOKEN / 10e9 * 1e3, rel=1e-12)


def test_prefill_md1_capacity_by_hand():
    S = _prefill_s()
    target = 0.150
    # M/D/1 with the exponential tail: P(TTFT > t) = rho exp(-2 (1 - rho) (t - S) / S) = 1 %
    rho = _solve(lambda r: math.log(r) - 2 * (1 - r) * (target / S - 1) - math.log(0.01), 0.01, 0.999)
    out = pool_capacity(example_cfg(), CONST, SloTargets(ttft_p99_ms=150.0), EFF, "prefill", 50.0)
    r = out.iloc[0]
    assert r["fits"] and r["limit"] == "ttft" and rho < MAX_PREFILL_UTILISATION
    assert r["capacity_rps"] == pytest.approx(rho / S, rel=1e-6)
    assert r["capacity_rps"] < 1 / S
    assert r["ttft_p99_ms"] == pytest.approx(150.0, rel=1e-6)
    assert np.isnan(r["tpot_p99_ms"]) and np.isnan(r["e2e_p99_ms"])


def test_prefill_without_ttft_target_is_the_utilisation_cap():
    S = _prefill_s()
    cfg = example_cfg(n=2)
    out = pool_capacity(cfg, CONST, SloTargets(), EFF, "prefill", 50.0)
    assert (out["limit"] == "utilisation").all()
    assert out["capacity_rps"][0] == pytest.approx(0.95 / S, rel=1e-9)
    # a loose target binds nothing either; one below the service time admits nothing
    loose = pool_capacity(cfg, CONST, SloTargets(ttft_p99_ms=1e5), EFF, "prefill", 50.0)
    assert loose["capacity_rps"][0] == pytest.approx(0.95 / S, rel=1e-9)
    tight = pool_capacity(cfg, CONST, SloTargets(ttft_p99_ms=0.9 * S * 1e3), EFF, "prefill", 50.0)
    assert tight["capacity_rps"][0] == 0.0 and tight["limit"][0] == "ttft" and tight["fits"][0]


def test_prefill_first_token_from_a_decode_step():
    # lmdeploy samples the first token in a decode step after the context pass (serving module)
    compute, read = _params(example_cfg())
    step = max(read * 2 / BW, 2 * compute / RATE) + KV_PER_TOKEN * I / BW + 1e-3
    out = pool_capacity(example_cfg(engine_family="lmdeploy"), CONST, SloTargets(), EFF, "prefill", 50.0)
    assert out["capacity_rps"][0] == pytest.approx(0.95 / (_prefill_s() + step), rel=1e-9)


def test_prefix_cache_raises_prefill_capacity():
    h = 0.5
    cfg = example_cfg(n=2, prefix_hit_rate=[0.0, h])
    free = pool_capacity(cfg, CONST, SloTargets(), EFF, "prefill", 50.0)
    assert free["capacity_rps"][1] == pytest.approx(0.95 / _prefill_s(h), rel=1e-9)
    slo = SloTargets(ttft_p99_ms=150.0)
    for lengths in (CONST, example_lengths()):
        cap = pool_capacity(cfg, lengths, slo, EFF, "prefill", 50.0)
        assert cap["capacity_rps"][1] > cap["capacity_rps"][0] > 0


def test_prefill_bands_match_every_sample():
    """Many distinct prompt lengths (bands) against the M/G/1 over all 2000 samples, computed here
    with one row per distinct length."""
    lengths = example_lengths()
    values, counts = np.unique(lengths.input_tokens, return_counts=True)
    assert values.size > MAX_PREFILL_POINTS  # the band path
    cfg = example_cfg(n=values.size)
    s = prepare(cfg)
    st = StepModel.build(s, param_counts(s), EFF.lookup(s.engine, s.gpu_family))
    S = st.prefill_time(np.ones(values.size), values)
    w = counts / counts.sum()
    ES, ES2 = (w * S).sum(), (w * S * S).sum()
    target = 0.3

    def exceed(lam):
        rho = lam * ES
        mu = 2 * (1 - rho) * ES / ES2
        y = target - S
        return (w * np.where(y < 0, 1.0, rho * np.exp(-mu * np.maximum(y, 0)))).sum() - 0.01

    lam = _solve(exceed, 0.0, 0.95 / ES)
    out = pool_capacity(example_cfg(), lengths, SloTargets(ttft_p99_ms=300.0), EFF, "prefill", 50.0)
    assert out["limit"][0] == "ttft"
    assert out["capacity_rps"][0] == pytest.approx(lam, rel=0.01)
    assert out["ttft_p99_ms"][0] == pytest.approx(300.0, rel=1e-6)


def test_decode_batch_cap_by_hand():
    # concurrency 16: B + z sqrt(B) = 16; lambda = B / (E[O] T(B)); no target binds
    B = ((-Z99 + math.sqrt(Z99 ** 2 + 64)) / 2) ** 2
    out = pool_capacity(example_cfg(concurrency=16.0), CONST, SloTargets(tpot_p99_ms=100.0), EFF, "decode", 50.0)
    r = out.iloc[0]
    assert r["limit"] == "batch" and np.isnan(r["ttft_p99_ms"])
    assert r["capacity_rps"] == pytest.approx(B / (O * _decode_t(B)), rel=1e-9)
    assert r["tpot_p99_ms"] == pytest.approx(_decode_t(16.0) * 1e3, rel=1e-9)
    # e2e of the pool: transfer + (1/2 + O - 1) steps at the mean batch
    assert r["e2e_p99_ms"] == pytest.approx((I * KV_PER_TOKEN / 50e9 + 199.5 * _decode_t(B)) * 1e3, rel=1e-9)


def test_decode_tpot_bound_by_hand():
    x = 0.010
    _, read = _params(example_cfg())
    b_hi = (x - read * 2 / BW - 1e-3) / (KV_PER_TOKEN * (I + O / 2) / BW)  # T(b_hi) = x
    B = ((-Z99 + math.sqrt(Z99 ** 2 + 4 * b_hi)) / 2) ** 2
    cfg = example_cfg(scenario="server", concurrency=np.nan)
    out = pool_capacity(cfg, CONST, SloTargets(ttft_p99_ms=1.0, tpot_p99_ms=10.0), EFF, "decode", 50.0)
    r = out.iloc[0]
    assert r["limit"] == "tpot"  # the 1 ms TTFT target is the prefill pool's: ignored here
    assert r["capacity_rps"] == pytest.approx(B / (O * _decode_t(B)), rel=1e-6)
    assert r["tpot_p99_ms"] == pytest.approx(10.0, rel=1e-6)


def test_decode_e2e_bound_by_hand():
    xfer = I * KV_PER_TOKEN / 50e9
    target = 2.0
    step = (target - xfer) / 199.5  # transfer + 199.5 steps = 2 s
    _, read = _params(example_cfg())
    B = (step - read * 2 / BW - 1e-3) / (KV_PER_TOKEN * (I + O / 2) / BW)
    cfg = example_cfg(scenario="server", concurrency=np.nan)
    out = pool_capacity(cfg, CONST, SloTargets(e2e_p99_ms=2000.0), EFF, "decode", 50.0)
    r = out.iloc[0]
    assert r["limit"] == "e2e"
    assert r["capacity_rps"] == pytest.approx(B / (O * step), rel=1e-6)
    assert r["e2e_p99_ms"] == pytest.approx(2000.0, rel=1e-6)
    # a slower link leaves less of the budget to decode
    slow = pool_capacity(cfg, CONST, SloTargets(e2e_p99_ms=2000.0), EFF, "decode", 1.0)
    assert slow["capacity_rps"][0] < r["capacity_rps"]


def test_decode_pool_beats_the_aggregated_replica_at_the_same_tpot():
    lengths = example_lengths()
    cfg = example_cfg(n=3, scenario="server", concurrency=[np.nan, 64.0, np.nan], prefix_hit_rate=[0.0, 0.0, 0.5])
    for tpot in (20.0, 40.0):
        slo = SloTargets(tpot_p99_ms=tpot)
        agg = capacity_at_slo(cfg, lengths, slo, EFF)
        dec = pool_capacity(cfg, lengths, slo, EFF, "decode", 50.0)
        assert (agg["capacity_rps"] > 0).all()
        assert (dec["capacity_rps"] >= agg["capacity_rps"]).all()
        assert (dec["capacity_rps"][[0, 2]] > 1.5 * agg["capacity_rps"][[0, 2]]).all()  # no prefill lumps
        assert dec["capacity_rps"][0] == dec["capacity_rps"][2]  # prefix caching: a prefill matter


def test_speculative_decoding_applies_to_decode_only():
    base = example_cfg(n=2, concurrency=8.0)
    spec = base.assign(spec_method=["eagle", "none"], spec_draft_tokens=3, spec_acceptance=0.7)
    slo = SloTargets(ttft_p99_ms=200.0, tpot_p99_ms=8.0)
    pre_b, pre_s = (pool_capacity(c, CONST, slo, EFF, "prefill", 50.0) for c in (base, spec))
    pd.testing.assert_frame_equal(pre_b, pre_s)  # no draft network on the prefill instance
    dec_b, dec_s = (pool_capacity(c, CONST, slo, EFF, "decode", 50.0) for c in (base, spec))
    assert dec_s["tpot_p99_ms"][0] < 0.6 * dec_b["tpot_p99_ms"][0]
    assert dec_s["capacity_rps"][0] > dec_b["capacity_rps"][0] and dec_s["weights_gb"][0] > dec_b["weights_gb"][0]
    assert dec_s["capacity_rps"][1] == dec_b["capacity_rps"][1]


def test_memory_rows():
    # Llama-3.1-70B bf16 (141 GB of weights) on one 80 GB GPU: nothing fits
    big = example_cfg("llama-3.1-70b")
    for role in ("prefill", "decode"):
        r = pool_capacity(big, CONST, SloTargets(ttft_p99_ms=1e4, tpot_p99_ms=1e3), EFF, role, 50.0).iloc[0]
        assert not r["fits"] and r["limit"] == "memory" and r["capacity_rps"] == 0.0 and pd.isna(r["error"])
    # the 8B model with long requests and no TPOT target: the KV cache caps the decode batch
    long = LengthSamples.constant(16000.0, 2000.0)
    r = pool_capacity(example_cfg(concurrency=np.nan), long, SloTargets(), EFF, "decode", 50.0).iloc[0]
    assert r["fits"] and r["limit"] == "memory" and r["capacity_rps"] > 0
    # a prompt longer than the KV cache holds cannot be prefilled
    huge = LengthSamples(np.array([1000.0, 600000.0]), np.array([10.0, 10.0]))
    r = pool_capacity(example_cfg(), huge, SloTargets(), EFF, "prefill", 50.0).iloc[0]
    assert not r["fits"] and r["limit"] == "memory" and r["capacity_rps"] == 0.0


def test_row_errors_and_arguments():
    cfg = example_cfg(n=2, precision=["bf16", "fp3"])
    for role in ("prefill", "decode"):
        out = pool_capacity(cfg, CONST, SloTargets(ttft_p99_ms=500, tpot_p99_ms=50), EFF, role, 50.0)
        assert out["capacity_rps"][0] > 0 and pd.isna(out["error"][0])
        assert "unknown precision" in out["error"][1]
        assert out["capacity_rps"][1] == 0.0 and not out["fits"][1] and pd.isna(out["limit"][1])
    with pytest.raises(ValueError, match="role"):
        pool_capacity(cfg, CONST, SloTargets(), EFF, "both", 50.0)
    with pytest.raises(ValueError, match="kv_transfer_gb_per_s"):
        pool_capacity(cfg, CONST, SloTargets(), EFF, "decode", 0.0)


def test_rows_are_independent():
    lengths = example_lengths()
    cfg = example_cfg(n=3, concurrency=[np.nan, 32.0, np.nan],
                      prefix_hit_rate=[0.0, 0.0, 0.4], num_gpus=[1, 1, 2], tp=[1, 1, 2])
    slo = SloTargets(ttft_p99_ms=250.0, tpot_p99_ms=30.0, e2e_p99_ms=20000.0)
    for role in ("prefill", "decode"):
        together = pool_capacity(cfg, lengths, slo, EFF, role, 25.0)
        for k in range(3):
            alone = pool_capacity(cfg.iloc[[k]], lengths, slo, EFF, role, 25.0)
            pd.testing.assert_frame_equal(together.iloc[[k]], alone)
