"""Spot checks of the serving techniques against the speed-ups their authors published.

Not a fit: the performance model has no factor fitted to these figures (docs/research/techniques.csv
holds them with sources). Prints one line per check: the published figure, the model's, and the
ratio model / published. Run: ``python benchmarks/technique_spot_checks.py [--markdown]``.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from planner import perf
from planner.catalog import load_catalogs

CATALOGS = load_catalogs()
EFFICIENCY = perf.Efficiency(CATALOGS.efficiency)


def _estimate(rows: list[dict]) -> pd.DataFrame:
    cfg = perf.spec_table(pd.DataFrame(rows), CATALOGS.accelerators, CATALOGS.models)
    out = perf.estimate(cfg, EFFICIENCY)
    bad = out["error"].dropna()
    if len(bad):
        raise SystemExit(f"model error: {bad.iloc[0]}")
    return out


def alpha_from_tokens_per_step(tokens: float, k: int) -> float:
    """The i.i.d. acceptance α whose (1 - α^(k+1)) / (1 - α) equals a published acceptance length."""
    lo, hi = 0.0, 0.999999
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if (1 - mid ** (k + 1)) / (1 - mid) < tokens else (lo, mid)
    return lo


def checks() -> list[tuple[str, str, float, float]]:
    """(technique, conditions, published, model) per check."""
    out = []
    # 1. EAGLE-3 on vLLM, Llama-3.1-8B, MT-Bench, batch 1: TPOT 7.07 -> 4.05 ms at k=4 (2.79/3.08 tokens per step)
    alpha = alpha_from_tokens_per_step(3.08, 4)
    base = dict(model="llama-3.1-8b", gpu="H100-SXM-80GB", engine_family="vllm", scenario="fixed_batch",
                concurrency=1, input_len=128, output_len=256)
    r = _estimate([base, dict(base, spec_method="eagle", spec_draft_tokens=4, spec_acceptance=alpha, draft_params_b=0.425)])
    out.append(("speculative decoding", "EAGLE-3 k=4, vLLM, Llama-3.1-8B, H100, batch 1 (TPOT speed-up)",
                7.07 / 4.05, r.tpot_ms[0] / r.tpot_ms[1]))
    # 2. EAGLE-3 on SGLang, H100, Llama-3.1-8B, chain of 3: speed-up by batch
    alpha3 = alpha_from_tokens_per_step(2.79, 3)
    for batch, published in ((2, 1.81), (8, 1.62), (16, 1.48), (24, 1.39), (64, 1.38)):
        b = dict(base, engine_family="sglang", concurrency=batch)
        r = _estimate([b, dict(b, spec_method="eagle", spec_draft_tokens=3, spec_acceptance=alpha3, draft_params_b=0.425)])
        out.append(("speculative decoding", f"EAGLE-3 k=3, SGLang, Llama-3.1-8B, H100, batch {batch}",
                    published, r.tpot_ms[0] / r.tpot_ms[1]))
    # 3. DeepSeek-V3 MTP (one module, acceptance 0.85-0.90), SGLang, 8x H200 TP8: 1.8x at batch 1, 1.5x at 32
    for batch, published in ((1, 1.8), (32, 1.5)):
        b = dict(model="deepseek-v3", gpu="H200-SXM-141GB", num_gpus=8, tp=8, precision="fp8", engine_family="sglang",
                 scenario="fixed_batch", concurrency=batch, input_len=1000, output_len=1000)
        r = _estimate([b, dict(b, spec_method="mtp", spec_draft_tokens=1, spec_acceptance=0.875)])
        out.append(("speculative decoding", f"DeepSeek-V3 MTP k=1, SGLang, 8x H200, batch {batch}",
                    published, r.tpot_ms[0] / r.tpot_ms[1]))
    # 4. 2:4 sparsity, Sparse-Llama-3.1-8B on vLLM: Hopper +20 % throughput, 0.70 latency (averages)
    for gpu, thr_pub, lat_pub in (("H100-SXM-80GB", 1.20, 1 / 0.70), ("A100-SXM-80GB", 1.30, 1.8)):
        off = dict(model="llama-3.1-8b", gpu=gpu, engine_family="vllm", scenario="offline", input_len=512, output_len=256)
        lat = dict(off, scenario="fixed_batch", concurrency=1)
        r = _estimate([off, dict(off, sparsity="2:4"), lat, dict(lat, sparsity="2:4")])
        family = "Hopper" if gpu.startswith("H") else "Ampere (published: up to)"
        out.append(("2:4 sparsity", f"Sparse-Llama-3.1-8B, vLLM, {family}: throughput gain", thr_pub,
                    r.throughput_out_tok_s[1] / r.throughput_out_tok_s[0]))
        out.append(("2:4 sparsity", f"Sparse-Llama-3.1-8B, vLLM, {family}: latency reduction (batch 1 e2e)", lat_pub,
                    r.e2e_latency_ms[2] / r.e2e_latency_ms[3]))
    # 5. FP8 W8A8 vs BF16 on vLLM: "up to 1.6x throughput" (vLLM docs; model/hardware unstated)
    off = dict(model="llama-3.1-8b", gpu="H100-SXM-80GB", engine_family="vllm", scenario="offline", input_len=512, output_len=256)
    r = _estimate([off, dict(off, precision="fp8")])
    out.append(("quantisation", "FP8 W8A8 vs BF16, vLLM, Llama-3.1-8B, H100, offline (published: up to)", 1.6,
                r.throughput_out_tok_s[1] / r.throughput_out_tok_s[0]))
    # 6. GPTQ-Int4 vs BF16, Qwen3-32B, 1x H100, vLLM, batch 1: 2.7x decode speed
    b = dict(model="qwen3-32b", gpu="H100-SXM-80GB", engine_family="vllm", scenario="fixed_batch", concurrency=1,
             input_len=128, output_len=512)
    r = _estimate([b, dict(b, precision="int4")])
    out.append(("quantisation", "GPTQ-Int4 vs BF16, vLLM, Qwen3-32B, H100, batch 1 (decode speed)", 2.7,
                r.tpot_ms[0] / r.tpot_ms[1]))
    # 7. INT4 weight-only (gpt-fast), Llama-2-13B chat, A100, batch 1: 33.2 -> 47.4 tok/s
    b = dict(model="llama-2-13b", gpu="A100-SXM-80GB", engine_family="other", scenario="fixed_batch", concurrency=1,
             input_len=128, output_len=512)
    r = _estimate([b, dict(b, precision="int4")])
    out.append(("quantisation", "INT4 weight-only vs FP16, gpt-fast, Llama-2-13B, A100, batch 1", 47.4 / 33.2,
                r.tpot_ms[0] / r.tpot_ms[1]))
    return out


def main() -> None:
    rows = checks()
    markdown = "--markdown" in sys.argv
    if markdown:
        print("| technique | conditions | published | model | model / published |\n|---|---|---:|---:|---:|")
    for technique, conditions, published, model in rows:
        if markdown:
            print(f"| {technique} | {conditions} | {published:.2f}x | {model:.2f}x | {model / published:.2f} |")
        else:
            print(f"{technique:22s} {conditions:75s} published {published:5.2f}x  model {model:5.2f}x  ratio {model / published:4.2f}")
    ratios = np.array([m / p for _, _, p, m in rows])
    print(f"\nmedian |model/published - 1| = {np.median(np.abs(ratios - 1)):.0%} over {len(rows)} checks "
          f"(model above published in {int((ratios > 1).sum())})")


if __name__ == "__main__":
    main()
