"""Model families in the perf model: encoder-decoder (Flan-T5) and a vision tower (LLaVA-1.5), by hand.

Published facts (docs/research/families.csv): Flan-T5-XL 2,849,757,184 and XXL 11,135,332,352 parameters;
XXL encoder stack 4,630,714,368 (+ embedding = 4,762,310,656), decoder stack 6,241,425,408 (+ lm_head
= 6,373,021,696). LLaVA-1.5-7B tower as vLLM builds it 290,909,184 + projector 20,979,712; 577 ViT
tokens per image. H100 SXM bf16 at mfu 0.5 / mbu 0.8 / 1 ms step overhead.
"""

import numpy as np
import pandas as pd
import pytest

from planner import perf
from planner.catalog import load_catalogs
from planner.perf import Efficiency, LengthSamples, capacity_at_slo, estimate, explain
from planner.perf.config import prepare
from planner.perf.fixtures import example_cfg
from planner.perf.latency import StepModel
from planner.perf.memory import kv_bytes_per_token, param_counts
from planner.perf.queueing import _Latency, _Workload
from planner.perf.serving import _Model
from planner.perf.types import SloTargets

EFF = Efficiency.from_values(mfu=0.5, mbu=0.8, step_overhead_ms=1.0)
BW = 3350e9 * 0.8
RATE = 989e12 * 0.5
OVERHEAD = 1e-3

# Flan-T5-XXL (d 4096, d_ff 10240, 64 heads x 64, 24 encoder + 24 decoder layers, vocab 32128)
D, DFF, H, HD, LAYERS, VOCAB = 4096, 10240, 64, 64, 24, 32128
ATTN = 4 * D * H * HD  # q, k, v, o
FFN = 3 * D * DFF  # gated GELU: wi_0, wi_1, wo
BIAS = 32 * H  # relative position bias table per stack
ENCODER = LAYERS * (ATTN + FFN + 2 * D) + D + BIAS
DECODER = LAYERS * (2 * ATTN + FFN + 3 * D) + D + BIAS
EMBED = VOCAB * D
CROSS_KV = LAYERS * 2 * D * H * HD  # cross-attention K, V: run once per request on the encoder output
PREFILL_PARAMS = ENCODER + CROSS_KV
DECODE_PARAMS = DECODER - CROSS_KV + EMBED  # + untied lm_head
PER_CTX = 2 * 2 * LAYERS * H * HD  # attention FLOPs (QK^T, AV) per (query x context) token, decoder layers
KV_PER_TOKEN = 2 * LAYERS * H * HD * 2  # K and V, bf16, decoder layers only

VISION = 290_909_184 + 20_979_712  # LLaVA-1.5-7B: CLIP ViT-L/14-336 (23 layers) + projector


def _step(cfg):
    s = prepare(cfg)
    p = param_counts(s)
    return StepModel.build(s, p, EFF.lookup(s.engine, s.gpu_family)), p


def test_hand_counts_match_the_published_splits():
    assert ENCODER == 4_630_714_368 and DECODER == 6_241_425_408
    assert ENCODER + EMBED == 4_762_310_656 and DECODER + EMBED == 6_373_021_696


@pytest.mark.parametrize("model, total", [("flan-t5-xl", 2_849_757_184), ("flan-t5-xxl", 11_135_332_352)])
def test_t5_parameter_counts_from_the_dims_are_the_published_totals(model, total):
    p = param_counts(prepare(example_cfg(model)))
    assert p["total"][0] == total  # exact: integers far below 2**53
    # the catalog rows' dims give the same count (params_b ignored)
    c = load_catalogs()
    cfg = perf.spec_table(pd.DataFrame(dict(model=[model], gpu=["H100-SXM-80GB"])), c.accelerators, c.models)
    assert param_counts(prepare(cfg.assign(params_b=np.nan)))["total"][0] == total
    assert float(cfg["params_b"][0]) * 1e9 == pytest.approx(total, rel=1e-12)


def test_t5_split_encoder_and_cross_kv():
    p = param_counts(prepare(example_cfg("flan-t5-xxl")))
    assert p["encoder"][0] == ENCODER
    assert p["cross_kv"][0] == CROSS_KV
    assert p["total"][0] == 2 * EMBED + ENCODER + DECODER


@pytest.mark.parametrize("n", [64.0, 2048.0])  # memory-bound (encoder weights) and compute-bound prompts
def test_t5_prefill_is_the_encoder_and_cross_kv_projection(n):
    st, _ = _step(example_cfg("flan-t5-xxl"))
    t = st.prefill_time(np.array([1.0]), np.array([n]))[0]
    weights = PREFILL_PARAMS * 2 / BW  # the decoder's weights are not read by a prefill-only iteration
    gemm = 2 * PREFILL_PARAMS * n / RATE
    attention = 4 * LAYERS * H * HD * n * n / RATE  # bidirectional: n^2 pairs per encoder layer
    assert t == pytest.approx(max(weights, gemm) + attention + OVERHEAD, rel=1e-9)
    assert (weights > gemm) == (n == 64.0)
    # the piggy-backed prefill compute (queueing, serving) uses the same encoder terms
    c1, c2 = st.prefill_coeffs()
    assert c1[0] == pytest.approx(2 * PREFILL_PARAMS / RATE, rel=1e-12)
    assert c2[0] * n * n == pytest.approx(attention, rel=1e-12)
    assert st.prefill_compute_time(np.array([n]))[0] == pytest.approx(gemm + attention, rel=1e-12)


@pytest.mark.parametrize("batch", [1.0, 256.0])  # memory-bound and compute-bound decode steps
def test_t5_decode_step_reads_the_decoder_and_both_kv_caches(batch):
    st, _ = _step(example_cfg("flan-t5-xxl"))
    i, o = 512.0, 128.0
    ctx = i + o / 2  # cross-attention KV of the i prompt tokens + self-attention KV of half the output
    t = st.decode_time(np.array([batch]), np.array([ctx]))[0]
    lin = max(DECODE_PARAMS * 2 / BW, 2 * DECODE_PARAMS * batch / RATE)
    att = max(KV_PER_TOKEN * batch * ctx / BW, PER_CTX * batch * ctx / RATE)
    assert t == pytest.approx(lin + att + OVERHEAD, rel=1e-9)
    assert (2 * DECODE_PARAMS * batch / RATE > DECODE_PARAMS * 2 / BW) == (batch == 256.0)


def test_t5_fixed_batch_latencies_by_hand():
    i, o = 512.0, 128.0
    out = estimate(example_cfg("flan-t5-xxl", input_len=i, output_len=o), EFF)
    prefill = max(PREFILL_PARAMS * 2 / BW, 2 * PREFILL_PARAMS * i / RATE) + 4 * LAYERS * H * HD * i * i / RATE + OVERHEAD

    def step(ctx):
        return DECODE_PARAMS * 2 / BW + max(KV_PER_TOKEN * ctx / BW, PER_CTX * ctx / RATE) + OVERHEAD

    ttft = prefill + step(i)  # the first token comes from a decoder step over the i cross-attention keys
    tpot = step(i + o / 2)
    assert out["ttft_ms"][0] == pytest.approx(ttft * 1e3, rel=1e-9)
    assert out["tpot_ms"][0] == pytest.approx(tpot * 1e3, rel=1e-9)
    assert out["e2e_latency_ms"][0] == pytest.approx((ttft + (o - 1) * tpot) * 1e3, rel=1e-9)


def test_t5_kv_per_sequence_uses_the_decoder_layers_only():
    s = prepare(example_cfg("flan-t5-xxl"))
    assert kv_bytes_per_token(s)[0] == KV_PER_TOKEN  # 24 decoder layers, not 48
    i, o = 1000.0, 200.0
    out = explain(example_cfg("flan-t5-xxl", scenario="offline", concurrency=np.nan, input_len=i, output_len=o), EFF)
    assert out["weights_gb"][0] == pytest.approx(11_135_332_352 * 2 / 1e9, rel=1e-12)  # every parameter held
    kv_bytes = out["kv_gb"][0] * 1e9
    assert out["max_concurrency"][0] == np.floor(kv_bytes / (KV_PER_TOKEN * (i + o)))  # cross KV of I + self KV of O


def test_t5_rows_need_encoder_layers_and_refuse_prefix_caching():
    cfg = example_cfg("flan-t5-xxl", n=3)
    cfg.loc[1, "encoder_layers"] = np.nan
    cfg["prefix_hit_rate"] = [0.0, 0.0, 0.5]
    out = estimate(cfg, EFF)
    assert out["error"].isna()[0]
    assert "encoder_layers missing" in out["error"][1]
    assert "prefix_hit_rate" in out["error"][2]


def test_flan_t5_xxl_from_the_catalog_estimates():
    c = load_catalogs()
    rows = pd.DataFrame(dict(model=["flan-t5-xxl", "google/flan-t5-xl"], gpu="A100-SXM-80GB", scenario="offline",
                             input_len=512, output_len=128))
    out = perf.estimate(perf.spec_table(rows, c.accelerators, c.models), perf.Efficiency(c.efficiency))
    assert out["error"].isna().all() and (out["throughput_out_tok_s"] > 0).all()
    assert out["weights_gb"][0] == pytest.approx(11_135_332_352 * 2 / 1e9, rel=1e-9)


def test_decoder_only_rows_are_unchanged_by_the_family_columns():
    base = example_cfg(n=3, scenario=["fixed_batch", "offline", "server"], concurrency=[4.0, np.nan, 16.0])
    extra = base.assign(encoder_layers=24, images_per_request=0.0, image_tokens=np.nan, vision_params_b=np.nan)
    a, b = explain(base, EFF), explain(extra, EFF)
    outputs = [c for c in a.columns if c not in base.columns]
    assert a["error"].isna().all() and (a["ttft_ms"] > 0).all()
    pd.testing.assert_frame_equal(a[outputs], b[outputs], check_exact=True)  # bit for bit
    lengths = LengthSamples(np.array([300.0, 900.0, 2000.0]), np.array([50.0, 150.0, 400.0]))
    slo = SloTargets(ttft_p99_ms=1500.0, tpot_p99_ms=50.0)
    pd.testing.assert_frame_equal(capacity_at_slo(base, lengths, slo, EFF), capacity_at_slo(extra, lengths, slo, EFF),
                                  check_exact=True)


def test_vision_tower_adds_2_params_577_flops_per_image_to_prefill():
    cfg = example_cfg("llava-1.5-7b", n=3, images_per_request=[0.0, 1.0, 2.0], input_len=600.0)
    st, p = _step(cfg)
    assert p["vision"][0] == VISION
    per_image = 2 * VISION * 577  # the ViT sees 576 patches + CLS
    assert st.vision_flops.tolist() == [0.0, per_image, 2 * per_image]
    t = st.prefill_time(np.ones(3), np.full(3, 600.0))
    assert t[1] - t[0] == pytest.approx(per_image / RATE, rel=1e-9)
    assert t[2] - t[0] == pytest.approx(2 * per_image / RATE, rel=1e-9)
    c = st.prefill_compute_time(np.full(3, 600.0))
    assert c[1] - c[0] == pytest.approx(per_image / RATE, rel=1e-12)
    # the fixed-batch TTFT of one request grows by the same
    out = estimate(cfg, EFF)
    assert out["ttft_ms"][1] - out["ttft_ms"][0] == pytest.approx(per_image / RATE * 1e3, rel=1e-9)


def test_vision_tower_weights_are_held_at_16_bit():
    cfg = example_cfg("llava-1.5-7b", n=2, precision=["bf16", "int4"])
    with_tower, without = explain(cfg, EFF), explain(cfg.assign(vision_params_b=np.nan), EFF)
    diff = (with_tower["weights_gb"] - without["weights_gb"]).to_numpy()
    assert diff == pytest.approx([VISION * 2 / 1e9, VISION * 2 / 1e9], rel=1e-9)


def test_vision_tower_in_the_queueing_prefill_moments():
    cfg = example_cfg("llava-1.5-7b", n=2, scenario="server", concurrency=np.nan, images_per_request=[0.0, 1.0])
    m = _Model(prepare(cfg), EFF)
    w = _Workload(LengthSamples(np.array([400.0, 900.0]), np.array([100.0, 300.0])))
    lat = _Latency(m, w, np.array([8.0, 8.0]), np.array([64.0, 64.0]))
    c0 = 2 * VISION * 577 / RATE
    assert lat.Ep[1] - lat.Ep[0] == pytest.approx(c0, rel=1e-9)
    assert lat.Ep2[1] - lat.Ep2[0] == pytest.approx(c0 * (c0 + 2 * lat.Ep[0]), rel=1e-9)
    assert (lat.S_ttft[1] - lat.S_ttft[0] > c0).all()  # c0 plus the longer iteration


def test_images_need_a_sized_vision_tower():
    cfg = example_cfg("llava-1.5-7b", n=3, images_per_request=[1.0, 1.0, -1.0])
    cfg.loc[1, "vision_params_b"] = np.nan
    out = estimate(cfg, EFF)
    assert out["error"].isna()[0]
    assert "vision_params_b" in out["error"][1]
    assert "images_per_request must be >= 0" in out["error"][2]
