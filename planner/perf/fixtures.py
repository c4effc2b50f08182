"""Hand-built perf-model input rows (published specs) for tests and examples; no catalog needed.

H100 SXM: 80 GB, 3350 GB/s, 989 TFLOP/s bf16/fp16, 1979 fp8, NVLink 900 GB/s. A100 SXM 80GB: 2039 GB/s,
312 TFLOP/s fp16/bf16, no fp8, 624 int8 TOP/s, NVLink 600 GB/s. Llama-3.1-8B/70B: HF config.json dims.
Flan-T5-XL/XXL (T5 v1.1 shapes: 24 encoder + 24 decoder layers, 64-dim heads, gated-GELU FFN, vocab
32128) and LLaVA-1.5-7B (Llama-2-7B language model; CLIP ViT-L/14-336 as vLLM builds it, 290,909,184
params, + the 20,979,712-param projector; 576 image tokens): docs/research/families.csv.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GPUS = {
    "H100-SXM-80GB": dict(gpu_family="hopper", gpu_memory_gb=80.0, gpu_mem_bw_gb_per_s=3350.0,
                          gpu_fp32_tflops=67.0, gpu_fp16_tflops=989.0, gpu_bf16_tflops=989.0,
                          gpu_fp8_tflops=1979.0, gpu_fp4_tflops=np.nan, gpu_int8_tops=1979.0,
                          gpu_int4_tops=np.nan, gpu_link_bw_gb_per_s=900.0, gpu_interconnect="NVLink"),
    "A100-SXM-80GB": dict(gpu_family="ampere", gpu_memory_gb=80.0, gpu_mem_bw_gb_per_s=2039.0,
                          gpu_fp32_tflops=19.5, gpu_fp16_tflops=312.0, gpu_bf16_tflops=312.0,
                          gpu_fp8_tflops=np.nan, gpu_fp4_tflops=np.nan, gpu_int8_tops=624.0,
                          gpu_int4_tops=1248.0, gpu_link_bw_gb_per_s=600.0, gpu_interconnect="NVLink"),
}
_DENSE = dict(moe_intermediate_size=np.nan, num_experts=np.nan, experts_per_token=np.nan,
              num_shared_experts=np.nan, first_dense_layers=np.nan, active_params_b=np.nan,
              attention_type="GQA", sliding_window=np.nan, kv_lora_rank=np.nan, qk_rope_head_dim=np.nan,
              arch_type="decoder", encoder_layers=np.nan, image_tokens=np.nan, vision_params_b=np.nan)
_T5 = dict(_DENSE, arch_type="encoder-decoder", attention_type="MHA", encoder_layers=24, head_dim=64,
           vocab_size=32128, params_b=np.nan)
MODELS = {
    "llama-3.1-8b": dict(_DENSE, num_layers=32, hidden_size=4096, num_attention_heads=32, num_kv_heads=8,
                         head_dim=128, intermediate_size=14336, vocab_size=128256, params_b=np.nan),
    "llama-3.1-70b": dict(_DENSE, num_layers=80, hidden_size=8192, num_attention_heads=64, num_kv_heads=8,
                          head_dim=128, intermediate_size=28672, vocab_size=128256, params_b=np.nan),
    "mixtral-8x7b": dict(_DENSE, num_layers=32, hidden_size=4096, num_attention_heads=32, num_kv_heads=8,
                         head_dim=128, intermediate_size=np.nan, moe_intermediate_size=14336,
                         vocab_size=32000, num_experts=8, experts_per_token=2, params_b=np.nan,
                         arch_type="moe"),
    "flan-t5-xl": dict(_T5, num_layers=24, hidden_size=2048, num_attention_heads=32, num_kv_heads=32,
                       intermediate_size=5120),
    "flan-t5-xxl": dict(_T5, num_layers=24, hidden_size=4096, num_attention_heads=64, num_kv_heads=64,
                        intermediate_size=10240),
    "llava-1.5-7b": dict(_DENSE, arch_type="multimodal", attention_type="MHA", num_layers=32, hidden_size=4096,
                         num_attention_heads=32, num_kv_heads=32, head_dim=128, intermediate_size=11008,
                         vocab_size=32064, params_b=np.nan, image_tokens=576,
                         vision_params_b=(290_909_184 + 20_979_712) / 1e9),
}


def example_lengths(n: int = 2000, seed: int = 0):
    """Log-normal request lengths (median 400 in / 120 out, clipped to 8-4000 / 2-1000 tokens)."""
    from planner.perf.types import LengthSamples

    rng = np.random.default_rng(seed)
    i = np.clip(rng.lognormal(np.log(400), 0.8, n), 8, 4000).round()
    o = np.clip(rng.lognormal(np.log(120), 0.7, n), 2, 1000).round()
    return LengthSamples(i, o)


def example_cfg(model: str = "llama-3.1-8b", gpu: str = "H100-SXM-80GB", n: int = 1, **config) -> pd.DataFrame:
    """``n`` identical rows; keyword arguments override any column (scalars or arrays of length n)."""
    row = dict(model=model, gpu=gpu, num_gpus=1, tp=1, pp=1, precision="bf16", kv_precision=np.nan,
               engine_family="vllm", scenario="fixed_batch", input_len=512.0, output_len=128.0,
               concurrency=1.0, **GPUS[gpu], **MODELS[model])
    df = pd.DataFrame({k: [v] * n for k, v in row.items()})
    for k, v in config.items():
        df[k] = v
    return df
