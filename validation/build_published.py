"""Build validation/published.csv: held-out published measurements (NOT for fitting).

Every number below was copied by hand from the source named next to it (see README.md in this
folder). The only arithmetic done here is the unit/shape conversions that each row's ``notes`` spell
out (per-GPU -> whole system, batch latency -> output tok/s, MLPerf tokens/s / samples/s -> mean
output length). Run ``python validation/build_published.py`` to regenerate the CSV.
"""

from __future__ import annotations

import csv
from pathlib import Path

OUT = Path(__file__).resolve().parent / "published.csv"
COLUMNS = ["id", "source", "engine", "engine_family", "model", "gpu", "num_gpus", "tp", "pp",
           "precision", "kv_precision", "scenario", "input_len", "output_len", "concurrency",
           "throughput_out_tok_s", "ttft_ms", "tpot_ms", "e2e_latency_ms", "precision_assumed", "notes"]

rows: list[dict] = []


def add(prefix: str, **kw) -> None:
    n = sum(1 for r in rows if r["id"].startswith(prefix + "-")) + 1
    row = {c: "" for c in COLUMNS}
    row.update({k: ("" if v is None else v) for k, v in kw.items()})
    row["id"] = f"{prefix}-{n:03d}"
    row.setdefault("pp", 1)
    if row["pp"] == "":
        row["pp"] = 1
    row["precision_assumed"] = "true" if kw.get("precision_assumed") else "false"
    rows.append(row)


def r2(x: float) -> float:
    return round(x, 2)


# ---------------------------------------------------------------------------------------------
# 1. TensorRT-LLM perf-overview, v0.17 throughput table (H200 column only; the calibration file
#    holds the v0.15 table, which has no H200 column).
SRC_T017 = ("https://github.com/NVIDIA/TensorRT-LLM/blob/258c7540c03517def55d9a5aadfa9288af474e1b/"
            "docs/source/performance/perf-overview.md#throughput-measurements")
T017_COMMON = ("TensorRT-LLM perf-overview 'All data in the table below was generated using version 0.17'; "
               "column 'H200 141GB HBM3' / 'FP8'. Offline max-load throughput: trtllm-bench throughput, "
               "requests fed at an infinite rate (in-flight batching), uniform synthetic ISL/OSL "
               "(prepare_dataset.py token-norm-dist, stdev 0); engine built with trtllm-bench build "
               "--quantization FP8 (max batch/tokens tuned from dataset stats). Value = whole-system "
               "'tokens/second' as published (output tokens/s, same metric as the v0.15 table in the "
               "calibration file). KV cache fp8: the doc states 'If you specify FP8 quantization, the KV "
               "cache will automatically be set to FP8 as well!'. Held-out reason: H200 is not in the "
               "calibration file.")
t017 = {  # (model id, doc label, tp): {(isl, osl): tok/s}
    ("llama-3.1-8b", "LLaMA v3.1 8B", 1): {(128, 128): 29526.04, (128, 2048): 25398.86, (1000, 1000): 17537.96,
                                           (2048, 128): 3794.14, (5000, 500): 3987.79},
    ("llama-3.1-70b", "LLaMA v3.1 70B", 1): {(128, 128): 4020.75, (128, 2048): 4165.68, (1000, 1000): 2823.45,
                                             (2048, 128): 465.99, (5000, 500): 560.16},
    ("llama-3.1-70b", "LLaMA v3.1 70B", 2): {(1000, 1000): 5164.76},
    ("llama-3.1-70b", "LLaMA v3.1 70B", 4): {(1000, 1000): 8911.29},
    ("llama-3.1-70b", "LLaMA v3.1 70B", 8): {(1000, 1000): 13181.24},
    ("llama-3.1-405b", "LLaMA v3.1 405B", 8): {(128, 128): 3874.19, (128, 2048): 5938.09, (1000, 1000): 3399.69,
                                               (2048, 128): 463.42, (5000, 500): 669.13},
    ("mistral-7b", "Mistral 7B", 1): {(128, 128): 31938.12, (128, 2048): 27409.3, (1000, 1000): 18426.16,
                                      (2048, 128): 3834.43, (5000, 500): 4041.59},
    ("mixtral-8x7b", "Mixtral 8x7B", 1): {(128, 128): 17157.72, (128, 2048): 15095.21, (1000, 1000): 10371.36,
                                          (2048, 128): 2009.67, (5000, 500): 2309.1},
    ("mixtral-8x7b", "Mixtral 8x7B", 2): {(1000, 1000): 19151.19},
    ("mixtral-8x7b", "Mixtral 8x7B", 4): {(1000, 1000): 33580.9},
    ("mixtral-8x7b", "Mixtral 8x7B", 8): {(1000, 1000): 44705.48},
    ("mixtral-8x22b", "Mixtral 8x22B", 8): {(128, 128): 22948.57, (128, 2048): 32415.81, (1000, 1000): 19712.35,
                                            (2048, 128): 2899.84, (5000, 500): 4031.79},
}
for (model, label, tp), cells in t017.items():
    for (isl, osl), v in cells.items():
        add("pub-trt017", source=SRC_T017, engine="TensorRT-LLM 0.17", engine_family="trtllm", model=model,
            gpu="H200-SXM-141GB", num_gpus=tp, tp=tp, pp=1, precision="fp8", kv_precision="fp8",
            scenario="offline", input_len=isl, output_len=osl, throughput_out_tok_s=v,
            notes=f"Table row '{label}', Tensor Model Parallel Size {tp}, Runtime Input/Output Lengths "
                  f"'{isl}, {osl}': {v} tokens/s. " + T017_COMMON)

# ---------------------------------------------------------------------------------------------
# 2. TensorRT-LLM perf-overview, v0.14 "Online Serving Measurements" table (same file).
#    Only the QPS=INF rows are used (all 500 requests arrive at once = offline); the finite-QPS rows
#    are Poisson arrivals without a stated concurrency and cannot be expressed in this schema.
SRC_T014 = ("https://github.com/NVIDIA/TensorRT-LLM/blob/258c7540c03517def55d9a5aadfa9288af474e1b/"
            "docs/source/performance/perf-overview.md#online-serving-measurements")
T014_COMMON = ("'Online Serving Measurements' table: 'All data in the table below was generated using version "
               "0.14.0, with 500 requests and BF16 precision', TensorRT-LLM backend for Triton "
               "(tensorrtllm_backend). Row with QPS = INF (all 500 requests sent at once), so scenario = offline "
               "(engine-chosen batching). throughput_out_tok_s = the 'Output Tput (tok/s)' "
               "column as published (checked: = Total Token Tput x O/(I+O)). concurrency = 500 = the number of requests in the "
               "run, an upper bound on the requests in flight (the engine's own batch limit is not stated). "
               "tpot_ms = 'Mean ITL(ms)'. "
               "ttft_ms deliberately left EMPTY: the published Mean TTFT at QPS=INF is dominated by queueing of "
               "the 500-request burst (a property of the request count, not of the system); it is quoted here. "
               "KV cache: unquantized BF16 engine, KV in bf16.")
t014 = [  # gpu, model, label, tp, isl, osl, req/s, mean ttft, mean itl, total tok/s, output tok/s
    ("H100-SXM-80GB", "llama-3.1-70b", "LLaMA 3.1 70B", "H100 80GB HBM3", 4, 467, 256, 16, 9123, 85, 11593, 4103),
    ("H100-SXM-80GB", "llama-3.1-70b", "LLaMA 3.1 70B", "H100 80GB HBM3", 4, 467, 16, 28, 9126, 548, 13719, 454),
    ("H100-SXM-80GB", "llama-3.1-70b", "LLaMA 3.1 70B", "H100 80GB HBM3", 4, 202, 214, 16, 4482, 50, 6725, 3459),
    ("H100-SXM-80GB", "llama-3.1-8b", "LLaMA 3.1 8B", "H100 80GB HBM3 (GPU cell blank = same as the row above)", 1,
     467, 256, 37, 3335, 39, 26614, 9420),
    ("H100-SXM-80GB", "llama-3.1-8b", "LLaMA 3.1 8B", "H100 80GB HBM3 (GPU cell blank = same as the row above)", 1,
     467, 16, 79, 3280, 193, 38319, 1269),
    ("H100-SXM-80GB", "llama-3.1-8b", "LLaMA 3.1 8B", "H100 80GB HBM3 (GPU cell blank = same as the row above)", 1,
     202, 214, 39, 1657, 21, 16117, 8291),
    ("H200-SXM-141GB", "llama-3.1-70b", "LLaMA 3.1 70B", "H200 131GB HBM3 (sic; the H200 SXM part)", 4,
     467, 256, 16, 9222, 83, 11826, 4185),
    ("H200-SXM-141GB", "llama-3.1-70b", "LLaMA 3.1 70B", "H200 131GB HBM3 (sic; the H200 SXM part)", 4,
     467, 16, 29, 9074, 546, 13792, 457),
    ("H200-SXM-141GB", "llama-3.1-70b", "LLaMA 3.1 70B", "H200 131GB HBM3 (sic; the H200 SXM part)", 4,
     202, 214, 17, 4480, 48, 7230, 3719),
    ("H200-SXM-141GB", "llama-3.1-8b", "LLaMA 3.1 8B", "H200 131GB HBM3 (sic; the H200 SXM part)", 1,
     467, 256, 40, 3237, 36, 28596, 10121),
    ("H200-SXM-141GB", "llama-3.1-8b", "LLaMA 3.1 8B", "H200 131GB HBM3 (sic; the H200 SXM part)", 1,
     467, 16, 81, 3227, 190, 39007, 1291),
    ("H200-SXM-141GB", "llama-3.1-8b", "LLaMA 3.1 8B", "H200 131GB HBM3 (sic; the H200 SXM part)", 1,
     202, 214, 43, 1665, 19, 17861, 9189),
]
for gpu, model, label, glabel, tp, isl, osl, rps, ttft, itl, tot, out in t014:
    add("pub-trt014", source=SRC_T014, engine="TensorRT-LLM 0.14.0 (Triton tensorrtllm_backend)",
        engine_family="trtllm", model=model, gpu=gpu, num_gpus=tp, tp=tp, pp=1, precision="bf16",
        kv_precision="bf16", scenario="offline", input_len=isl, output_len=osl, concurrency=500, throughput_out_tok_s=out,
        tpot_ms=itl,
        notes=f"Row '{label}', GPU '{glabel}', TP {tp}, Input Length {isl}, Output Length {osl}, QPS INF: "
              f"Tput(req/s) {rps}, Mean TTFT(ms) {ttft}, Mean ITL(ms) {itl}, Total Token Tput (tok/s) {tot}, "
              f"Output Tput (tok/s) {out}. " + T014_COMMON)

# ---------------------------------------------------------------------------------------------
# 3. TensorRT-LLM perf-overview, v1.0 (PyTorch backend). B200 (FP4), H200 (FP8) for models not in
#    the v0.17 table, and RTX PRO 6000 Blackwell Server Edition. Five ISL/OSL pairs per model.
SRC_T100 = ("https://github.com/NVIDIA/TensorRT-LLM/blob/00f37686aa854010d68bcbd0f4ab000221541ca6/"
            "docs/source/performance/perf-overview.md")
T100_COMMON = ("TensorRT-LLM perf-overview (the version announcing '(NEW for v1.0) RTX 6000 Pro Blackwell Server "
               "Edition Benchmarks'; 'Starting with v0.19, testing was performed using the PyTorch backend'). "
               "Offline max load: 'a local inference client is fed requests at an infinite rate ... The reported "
               "metric is Total Output Throughput (tokens/sec)' = whole-system output tok/s as published. "
               "trtllm-bench throughput --backend pytorch, uniform synthetic ISL/OSL (stdev 0), cuda-graph padding, "
               "kv_cache_free_gpu_mem_fraction 0.95 in most cases. Checkpoints: NVIDIA ModelOpt pre-quantized "
               "FP8/FP4 checkpoints (nvidia/...-FP8 / -FP4). KV-cache dtype not stated (left empty).")
T100_MOE = (" MoE model: the doc's MoE command adds --ep $ep_size and enable_attention_dp: true (EP size not "
            "stated); recorded as the table's TP only.")
GPU_NOTE = {
    "B200-SXM-192GB": "Doc hardware list: 'B200 180GB (DGX B200)' (catalog id B200-SXM-192GB is the only B200; "
                      "180 GB usable HBM3e).",
    "H200-SXM-141GB": "Doc hardware list: 'H200 SXM 141GB (DGX H200)'.",
    "RTX-PRO-6000-96GB": "GPU 'RTX 6000 Pro Blackwell Server Edition' (96 GB GDDR7; the catalog's RTX-PRO-6000-96GB "
                         "entry, whose aliases name the Workstation Edition - same GB202 die and memory, different "
                         "power/clock limits).",
}
t100 = [  # model, label, gpu, column label, tp, precision, moe, {(isl, osl): v}
    ("llama-4-scout-17b-16e", "Llama 4 Scout", "B200-SXM-192GB", "B200 TP1 (FP4)", 1, "fp4", True,
     {(128, 128): 25342, (128, 2048): 14699, (1000, 1000): 10591, (2048, 128): 3137, (5000, 500): 2937}),
    ("llama-3.3-70b", "Llama 3.3 70B", "B200-SXM-192GB", "B200 TP1 (FP4)", 1, "fp4", False,
     {(128, 128): 11147, (128, 2048): 9922, (1000, 1000): 7007, (2048, 128): 1339, (5000, 500): 1459}),
    ("llama-3.3-70b", "Llama 3.3 70B", "H200-SXM-141GB", "H200 TP1 (FP8)", 1, "fp8", False,
     {(128, 128): 3803, (128, 2048): 4336, (1000, 1000): 2909, (2048, 128): 442, (5000, 500): 566}),
    ("llama-3.3-70b", "Llama 3.3 70B", "RTX-PRO-6000-96GB", "RTX 6000 Pro Blackwell Server Edition, 1 GPUs TP1,PP1 (FP4)",
     1, "fp4", False,
     {(128, 128): 3264, (128, 2048): 2422, (1000, 1000): 1787, (2048, 128): 393, (5000, 500): 401}),
    ("qwen3-235b-a22b", "Qwen3-235B-A22B", "B200-SXM-192GB", "B200 TP8 (FP4)", 8, "fp4", True,
     {(128, 128): 63362, (128, 2048): 66057, (1000, 1000): 42391, (2048, 128): 7329, (5000, 500): 8190}),
    ("qwen3-235b-a22b", "Qwen3-235B-A22B", "H200-SXM-141GB", "H200 TP8 (FP8)", 8, "fp8", True,
     {(128, 128): 30429, (128, 2048): 42821, (1000, 1000): 23789, (2048, 128): 3331, (5000, 500): 3623}),
    ("qwen3-30b-a3b", "Qwen3-30B-A3B", "B200-SXM-192GB", "B200 TP1 (FP4)", 1, "fp4", True,
     {(128, 128): 39827, (128, 2048): 37844, (1000, 1000): 25828, (2048, 128): 6251, (5000, 500): 6142}),
    ("qwen3-30b-a3b", "Qwen3-30B-A3B", "RTX-PRO-6000-96GB", "RTX 6000 Pro Blackwell Server Edition, 1 GPUs TP1,PP1 (FP4)",
     1, "fp4", True,
     {(128, 128): 28011, (128, 2048): 12540, (1000, 1000): 9910, (2048, 128): 3257, (5000, 500): 2530}),
    ("llama-4-maverick-17b-128e", "Llama 4 Maverick", "B200-SXM-192GB", "B200 TP8 (FP4)", 8, "fp4", True,
     {(128, 128): 124323, (128, 2048): 112676, (1000, 1000): 79617, (2048, 128): 18088}),  # 5000/500 cell empty
    ("llama-3.1-405b", "Llama 3.1 405B", "B200-SXM-192GB", "B200 TP4 (FP4)", 4, "fp4", False,
     {(128, 128): 6281, (128, 2048): 8020, (1000, 1000): 5209, (2048, 128): 749, (5000, 500): 1048}),
]
for model, label, gpu, col, tp, prec, moe, cells in t100:
    for (isl, osl), v in cells.items():
        add("pub-trt100", source=SRC_T100, engine="TensorRT-LLM 1.0 (PyTorch backend)", engine_family="trtllm",
            model=model, gpu=gpu, num_gpus=tp, tp=tp, pp=1, precision=prec, scenario="offline",
            input_len=isl, output_len=osl, throughput_out_tok_s=v,
            notes=f"Section '{label}', column '{col}', Sequence Length (ISL/OSL) '{isl}/{osl}': {v:,} tok/s. "
                  + GPU_NOTE[gpu] + " " + T100_COMMON + (T100_MOE if moe else ""))

# ---------------------------------------------------------------------------------------------
# 4. TensorRT-LLM docs/source/performance.md (v0.6.1 / v0.5 data), static batching with
#    gptSessionBenchmark. Peak-throughput tables (per GPU -> x TP) and batch-1 first-token latency.
SRC_T061 = ("https://github.com/NVIDIA/TensorRT-LLM/blob/77d24b5fa178f11ed7fafdd9833b7245e075f721/"
            "docs/source/performance.md")
T061_COMMON = ("Static batch (fixed_batch): the doc's methodology runs cpp/build/benchmarks/gptSessionBenchmark "
               "--batch_size B --input_output_len I,O (static batching; the later perf-overview notes 'As of "
               "TensorRT-LLM v0.10, these performance benchmarks have changed methodology to utilize in-flight "
               "batching and no longer utilize static benchmarking'). Models: the methodology section names "
               "'GPT-J, Llama2-7b, and Llama2-70b' and Falcon-180B, so 'LLaMA 7B/70B' = Llama-2.")
T061_PERGPU = ("The table header is 'Throughput (out tok/s/GPU)'; throughput_out_tok_s = published per-GPU value x TP "
               "(whole system). (An earlier revision, 138f96d, labels the A100/L40S tables 'out tok/s' without '/GPU'; "
               "the per-GPU reading is the consistent one: A100 FP16 per GPU ~1/4 of H100 FP8 per GPU.)")
PREC_NOTE = {
    "H100-SXM-80GB": ("fp8", "fp8", "'H100 GPUs (FP8)'; engines built with --enable_fp8 --fp8_kv_cache "
                      "(the doc's build commands) -> KV fp8. GPU: the doc benchmarks 'an H100-HBM3-80GB system' (SXM)."),
    "L40S-48GB": ("fp8", "fp8", "'L40S GPUs (FP8)', data 'from TensorRT-LLM v0.5'; same FP8 build flags "
                  "(--enable_fp8 --fp8_kv_cache) -> KV fp8."),
    "A100-SXM-80GB": ("fp16", "fp16", "'A100 GPUs (FP16)': 'To run the benchmarks below on A100, you will need to "
                      "remove the --enable_fp8 --fp8_kv_cache options' -> fp16 weights and KV. A100 form factor not "
                      "stated in this doc; the companion blog H100vsA100.md (same v0.5 era) says 'SXM 80GB GPUs'."),
}
t061 = {  # gpu: [(model, label, batch, tp, isl, osl, per_gpu)]
    "H100-SXM-80GB": [
        ("gpt-j-6b", "GPT-J 6B", 1024, 1, 128, 128, 26150), ("gpt-j-6b", "GPT-J 6B", 120, 1, 128, 2048, 8011),
        ("gpt-j-6b", "GPT-J 6B", 64, 1, 2048, 128, 2551), ("gpt-j-6b", "GPT-J 6B", 64, 1, 2048, 2048, 3327),
        ("llama-2-7b", "LLaMA 7B", 768, 1, 128, 128, 19694), ("llama-2-7b", "LLaMA 7B", 112, 1, 128, 2048, 6818),
        ("llama-2-7b", "LLaMA 7B", 80, 1, 2048, 128, 2244), ("llama-2-7b", "LLaMA 7B", 48, 1, 2048, 2048, 2740),
        ("llama-2-70b", "LLaMA 70B", 1024, 2, 128, 128, 2657), ("llama-2-70b", "LLaMA 70B", 480, 4, 128, 2048, 1486),
        ("llama-2-70b", "LLaMA 70B", 96, 2, 2048, 128, 306), ("llama-2-70b", "LLaMA 70B", 64, 2, 2048, 2048, 547),
        ("falcon-180b", "Falcon 180B", 1024, 4, 128, 128, 987), ("falcon-180b", "Falcon 180B", 1024, 8, 128, 2048, 724),
        ("falcon-180b", "Falcon 180B", 64, 4, 2048, 128, 112), ("falcon-180b", "Falcon 180B", 64, 4, 2048, 2048, 264),
    ],
    "L40S-48GB": [
        ("gpt-j-6b", "GPT-J 6B", 64, 1, 128, 128, 3630), ("gpt-j-6b", "GPT-J 6B", 64, 1, 128, 2048, 1859),
        ("gpt-j-6b", "GPT-J 6B", 32, 1, 2048, 128, 616), ("gpt-j-6b", "GPT-J 6B", 32, 1, 2048, 2048, 757),
        ("llama-2-7b", "LLaMA 7B", 64, 1, 128, 128, 3240), ("llama-2-7b", "LLaMA 7B", 64, 1, 128, 2048, 1622),
        ("llama-2-7b", "LLaMA 7B", 32, 1, 2048, 128, 581), ("llama-2-7b", "LLaMA 7B", 16, 1, 2048, 2048, 531),
    ],
    "A100-SXM-80GB": [
        ("gpt-j-6b", "GPT-J 6B", 512, 1, 128, 128, 6374), ("gpt-j-6b", "GPT-J 6B", 120, 2, 128, 2048, 2192),
        ("gpt-j-6b", "GPT-J 6B", 60, 1, 2048, 128, 670), ("gpt-j-6b", "GPT-J 6B", 64, 2, 2048, 2048, 903),
        ("llama-2-7b", "LLaMA 7B", 384, 1, 128, 128, 5586), ("llama-2-7b", "LLaMA 7B", 60, 1, 128, 2048, 1928),
        ("llama-2-7b", "LLaMA 7B", 52, 1, 2048, 128, 591), ("llama-2-7b", "LLaMA 7B", 64, 2, 2048, 2048, 782),
        ("llama-2-70b", "LLaMA 70B", 1280, 4, 128, 128, 670), ("llama-2-70b", "LLaMA 70B", 240, 4, 128, 2048, 525),
        ("llama-2-70b", "LLaMA 70B", 120, 4, 2048, 128, 79),
        ("falcon-180b", "Falcon 180B", 1024, 8, 128, 128, 232), ("falcon-180b", "Falcon 180B", 128, 8, 128, 2048, 180),
    ],
}
ver = {"H100-SXM-80GB": "TensorRT-LLM 0.6.1", "L40S-48GB": "TensorRT-LLM 0.5", "A100-SXM-80GB": "TensorRT-LLM 0.6.1"}
for gpu, items in t061.items():
    prec, kv, pnote = PREC_NOTE[gpu]
    for model, label, bs, tp, isl, osl, per in items:
        add("pub-trt061", source=SRC_T061, engine=ver[gpu], engine_family="trtllm", model=model, gpu=gpu,
            num_gpus=tp, tp=tp, pp=1, precision=prec, kv_precision=kv, scenario="fixed_batch", input_len=isl,
            output_len=osl, concurrency=bs, throughput_out_tok_s=per * tp,
            notes=f"'Peak Throughput' table, row '{label}', Batch Size {bs}, TP {tp}, Input {isl}, Output {osl}: "
                  f"{per:,} out tok/s/GPU -> x{tp} = {per * tp} whole system. "
                  "'This data has been updated for v0.6.1, unless specified.' " + pnote + " " + T061_PERGPU + " "
                  + T061_COMMON)
t061_ttft = {  # gpu: [(model, label, tp, isl, ttft_ms)]
    "H100-SXM-80GB": [("gpt-j-6b", "GPT-J 6B", 1, 128, 7), ("gpt-j-6b", "GPT-J 6B", 1, 2048, 29),
                      ("llama-2-7b", "LLaMA 7B", 1, 128, 7), ("llama-2-7b", "LLaMA 7B", 1, 2048, 36),
                      ("llama-2-70b", "LLaMA 70B", 4, 128, 26), ("llama-2-70b", "LLaMA 70B", 4, 2048, 109),
                      ("falcon-180b", "Falcon 180B", 8, 128, 27), ("falcon-180b", "Falcon 180B", 8, 2048, 205)],
    "L40S-48GB": [("gpt-j-6b", "GPT-J 6B", 1, 128, 12), ("gpt-j-6b", "GPT-J 6B", 1, 2048, 71),
                  ("llama-2-7b", "LLaMA 7B", 1, 128, 14), ("llama-2-7b", "LLaMA 7B", 1, 2048, 73)],
    "A100-SXM-80GB": [("gpt-j-6b", "GPT-J 6B", 1, 128, 12), ("gpt-j-6b", "GPT-J 6B", 1, 2048, 129),
                      ("llama-2-7b", "LLaMA 7B", 1, 128, 16), ("llama-2-7b", "LLaMA 7B", 1, 2048, 133),
                      ("llama-2-70b", "LLaMA 70B", 4, 128, 47), ("llama-2-70b", "LLaMA 70B", 4, 2048, 377),
                      ("falcon-180b", "Falcon 180B", 8, 128, 61), ("falcon-180b", "Falcon 180B", 8, 2048, 509)],
}
for gpu, items in t061_ttft.items():
    prec, kv, pnote = PREC_NOTE[gpu]
    for model, label, tp, isl, ttft in items:
        add("pub-trt061", source=SRC_T061, engine="TensorRT-LLM 0.5", engine_family="trtllm", model=model, gpu=gpu,
            num_gpus=tp, tp=tp, pp=1, precision=prec, kv_precision=kv, scenario="fixed_batch", input_len=isl,
            output_len=1, concurrency=1, ttft_ms=ttft,
            notes=f"'Low Latency' table ('The following data is from TensorRT-LLM v0.5'), row '{label}', Batch Size 1, "
                  f"TP {tp}, Input Length {isl}: 1st Token Latency {ttft} ms. TTFT-only row: throughput_out_tok_s is "
                  "empty (not published); output_len = 1 because the doc measures first-token latency by running "
                  "gptSessionBenchmark 'with a single output token'. " + pnote + " " + T061_COMMON)

# ---------------------------------------------------------------------------------------------
# 5. TensorRT-LLM blogs of the v0.5 era (static batching).
SRC_H200 = ("https://github.com/NVIDIA/TensorRT-LLM/blob/1555478c1b417a0b34de05209862ea5a2ab9add1/"
            "docs/source/blogs/H200launch.md")
H200_COMMON = ("Blog 'H200 achieves nearly 12,000 tokens/sec on Llama2-13B with TensorRT-LLM', table 'H200 FP8 Max "
               "throughput' ('TensorRT-LLM v0.5.0, TensorRT v9.1.0.4 | H200, H100 FP8'; '(1) Largest batch "
               "supported on given TP configuration by power of 2'). TP1 rows only, so the column 'Throughput (out "
               "tok/s/GPU)' = whole system. Static batch (pre-v0.10 TensorRT-LLM benchmarks were static). Models: the "
               "blog's 'llama_13b' / 'llama_70b' are Llama-2 (title 'Llama2-13B'; v0.5 era, Nov 2023). KV dtype not "
               "stated in the blog; fp8 is inferred: the same-era performance.md builds FP8 engines with --enable_fp8 "
               "--fp8_kv_cache, and the llama_13b BS128 128/2048 static batch needs ~223 GB of KV cache in fp16 "
               "(40 layers x 5120 x 2 x 2 B x 128 x 2176 tokens) against 141 GB of HBM. Excluded from this table: the llama_70b 128/2048 and BS64 2048/128 rows, whose "
               "TP and per-GPU normalisation differ between revisions of the blog.")
for model, label, bs, isl, osl, v in [("llama-2-13b", "llama_13b", 1024, 128, 128, 11819),
                                       ("llama-2-13b", "llama_13b", 128, 128, 2048, 4750),
                                       ("llama-2-13b", "llama_13b", 64, 2048, 128, 1349),
                                       ("llama-2-70b", "llama_70b", 512, 128, 128, 3014),
                                       ("llama-2-70b", "llama_70b", 32, 2048, 128, 303)]:
    add("pub-trtblog", source=SRC_H200, engine="TensorRT-LLM 0.5.0", engine_family="trtllm", model=model,
        gpu="H200-SXM-141GB", num_gpus=1, tp=1, pp=1, precision="fp8", kv_precision="fp8", scenario="fixed_batch",
        input_len=isl,
        output_len=osl, concurrency=bs, throughput_out_tok_s=v,
        notes=f"Row '{label}', Batch Size {bs}, TP 1, Input {isl}, Output {osl}: {v:,} out tok/s. " + H200_COMMON)

SRC_HVA = ("https://github.com/NVIDIA/TensorRT-LLM/blob/15ed78097ea2c14b3831ca017935a32dec54476e/"
           "docs/source/blogs/H100vsA100.md")
for gpu, prec, v, ttft in [("H100-SXM-80GB", "fp8", 10907, 102), ("A100-SXM-80GB", "fp16", 3679, 481)]:
    add("pub-trtblog", source=SRC_HVA, engine="TensorRT-LLM 0.5.0", engine_family="trtllm", model="gpt-j-6b",
        gpu=gpu, num_gpus=1, tp=1, pp=1, precision=prec, kv_precision=("fp16" if prec == "fp16" else ""),
        scenario="fixed_batch", input_len=128, output_len=128, concurrency=64, throughput_out_tok_s=v, ttft_ms=ttft,
        notes=f"Blog 'H100 has 4.6x A100 Performance in TensorRT-LLM', table 'Max Throughput & Min Latency', "
              f"{gpu.split('-')[0]} row 'GPT-J 6B | 64 | 128 | 128 | {v:,} | {ttft}': Throughput (out tok/s) {v:,}, "
              f"1st Token Latency {ttft} ms at batch 64 (= prefill of the whole static batch). 'FP8 H100, FP16 A100, "
              "SXM 80GB GPUs, TP1, ... TensorRT-LLM v0.5.0., TensorRT 9.1'; 'Max throughput calculated by sweeping "
              "BS 1,2,...,64'. Static batch. KV dtype: A100 unquantized fp16; H100 not stated (left empty).")

# ---------------------------------------------------------------------------------------------
# 6. MLPerf Inference Llama-2-70B, Offline scenario, closed division (per-system log summaries).
SRC_ML41 = "https://github.com/mlcommons/inference_results_v4.1/tree/a2f5d66d17e8f75c02fd74dfe810ecca6a046696"
SRC_ML40 = "https://github.com/mlcommons/inference_results_v4.0/tree/3c4a1cf196b70175cfe7c59e067cd1d923aa4f3f"
ML_COMMON = ("MLPerf Llama-2-70B (Llama-2-70b-chat-hf) on the OpenOrca subset (24,576 samples, 'each with up to 1,024 "
             "input and output tokens' per AMD's MLPerf write-up), Offline scenario (LoadGen issues all samples at "
             "once; engine batches freely) -> scenario offline. throughput_out_tok_s = 'Tokens per second' of "
             "mlperf_log_summary.txt (MLPerf's Llama-2-70B metric counts generated tokens only). output_len = "
             "derived mean generated tokens per sample = Tokens per second / Samples per second of the same log. "
             "input_len EMPTY: the dataset's mean prompt length was not found in a source read for this file (the "
             "model then assumes its ShareGPT-like default).")
mlperf = [
    # src, path, engine, family, gpu, num_gpus, tp, prec, kv, conc, samples/s, tok/s, extra note
    (SRC_ML41, "closed/NVIDIA/results/DGX-H100_H100-SXM-80GBx8_TRT/llama2-70b-99.9/Offline/performance/run_1/mlperf_log_summary.txt",
     "TensorRT-LLM (NVIDIA MLPerf v4.1 harness)", "trtllm", "H100-SXM-80GB", 8, 2, "fp8", "", 4 * 896, 84.4792, 24524.9,
     "Config closed/NVIDIA/configs/llama2-70b/Offline/__init__.py: class H100_SXM_80GB_TP2x4 (and its _HighAccuracy "
     "variant used for 99.9): tensor_parallelism = 2, 4 engine instances (dp = 4), use_fp8 = True, gpu_batch_size "
     "{'llama2-70b': 896} per engine -> concurrency cap 4 x 896 = 3584. Result of the llama2-70b-99.9 accuracy "
     "target (the -99 Offline log is not in the index; both use the same TP2x4 FP8 config). KV dtype not stated."),
    (SRC_ML41, "closed/NVIDIA/results/H200-SXM-141GBx8_TRT/llama2-70b-99/Offline/performance/run_1/mlperf_log_summary.txt",
     "TensorRT-LLM (NVIDIA MLPerf v4.1 harness)", "trtllm", "H200-SXM-141GB", 8, 1, "fp8", "", 8 * 806, 107.477, 31302.7,
     "Config class H200_SXM_141GBx8 (inherits H200_SXM_141GBx1): tensor_parallelism = 1 -> 8 engine instances, "
     "use_fp8 = True, gpu_batch_size {'llama2-70b': 806} per engine -> concurrency cap 8 x 806 = 6448. KV dtype "
     "not stated."),
    (SRC_ML41, "closed/NVIDIA/results/B200-SXM-180GBx1_TRT/llama2-70b-99/Offline/performance/run_1/mlperf_log_summary.txt",
     "TensorRT-LLM (NVIDIA MLPerf v4.1 harness, preview)", "trtllm", "B200-SXM-192GB", 1, 1, "fp4", "", "", 41.1075,
     11264.4,
     "System 'NVIDIA B200 (1x B200-SXM-180GB, TensorRT)', status preview, 'B200 TGP 1000W' (catalog id B200-SXM-192GB "
     "is the only B200). Precision FP4: not stated in the files read; Tom's Hardware's report of this result "
     "('Nvidia's Blackwell processor used FP4 precision', mirrored at worldnl.com/...31162.html) - weights fp4, "
     "KV not stated. Results table TOKENS_PER_SAMPLE 265.005 (accuracy run)."),
    (SRC_ML41, "closed/AMD/results/1xMI300X_2xEPYC-9374F/llama2-70b-99.9/Offline/performance/run_1/mlperf_log_summary.txt",
     "vLLM (AMD MLPerf v4.1 harness, ROCm)", "vllm", "MI300X-192GB", 1, 1, "fp8", "fp8", "", 10.4445, 3062.72,
     "AMD code closed/AMD/code/llama2-70b-99/README.md: model quantized with Quark 'w_fp8_a_fp8_o_fp8' and 'KV cache "
     "scales for the quantized model weights are used' (vLLM fp8_kv scales) -> fp8 weights/activations and fp8 KV; "
     "run with code/llama2-70b-99.9/test_VllmFp8. Single MI300X -> TP1. llama2-70b-99.9 Offline log."),
    (SRC_ML41, "closed/AMD/results/8xMI300X_2xEPYC-9374F/llama2-70b-99/Offline/performance/run_1/mlperf_log_summary.txt",
     "vLLM (AMD MLPerf v4.1 harness, ROCm)", "vllm", "MI300X-192GB", 8, 1, "fp8", "fp8", "", 80.15, 23514.8,
     "Same AMD vLLM FP8 (weights, activations, KV) setup as the 1xMI300X result. TP per instance NOT stated in the "
     "files read: TP1 x 8 instances is an assumption (the 1-GPU submission necessarily ran TP1 and this result is "
     "7.7x it); a TP8 reading would change the prediction."),
    (SRC_ML40, "closed/Intel-HabanaLabs/results/HLS-Gaudi2-PT/llama2-70b-99.9/Offline/performance/run_1/mlperf_log_summary.txt",
     "TGI-Gaudi / optimum-habana (Intel MLPerf v4.0 harness)", "other", "Gaudi2-96GB", 8, 8, "fp8", "", "", 27.5567,
     8034.85,
     "Intel code closed/Intel-HabanaLabs/code/llama2-70b-99.9/README.md: 'All linear operators' input activations and "
     "weights ... are quantized to FP8-143'; serving via tgi-gaudi. TP8: inferred from the 8-card HLS-Gaudi2 system "
     "and the measurement command (deepspeed --num_gpus 8, config hqt/llama2-70b-8x) - not stated for the "
     "performance run. KV dtype not stated. 'The same script was submitted for both 99 and 99.9 benchmarks'."),
]
for src, path, eng, fam, gpu, ng, tp, prec, kv, conc, sps, tps, extra in mlperf:
    o = tps / sps
    add("pub-mlperf", source=src, engine=eng, engine_family=fam, model="llama-2-70b", gpu=gpu, num_gpus=ng, tp=tp,
        pp=1, precision=prec, kv_precision=kv, scenario="offline", output_len=round(o, 1), concurrency=conc,
        throughput_out_tok_s=tps,
        notes=f"File {path}: 'Samples per second: {sps}', 'Tokens per second: {tps}', Result VALID -> output_len = "
              f"{tps}/{sps} = {o:.2f} (derived). " + extra + " " + ML_COMMON)

# ---------------------------------------------------------------------------------------------
# 7. Oracle Cloud blog: Llama 3.1 405B FP8 on 8x MI300X (BM.GPU.MI300X.8) with vLLM.
SRC_ORA = "https://blogs.oracle.com/cloud-infrastructure/post/serving-llama-31-405b-model-with-amd-mi300x-gpus"
ORA_COMMON = ("Oracle blog 'Serving Llama 3.1 405B model with AMD Instinct MI300X Accelerators' (October 10, 2024): "
              "'a single instance of the Llama 3.1 405B FP8 model on a single OCI bare metal instance. All eight GPUs "
              "were assigned' (BM.GPU.MI300X.8, 8x MI300X 192 GB) -> TP8 (tensor parallelism not spelled out; one "
              "instance on 8 GPUs). vLLM (version not stated). Precision FP8 (checkpoint not named); KV dtype not "
              "stated.")
for bs, tps, lat in [(1, 36, 3.530), (2, 71, 3.583), (4, 137, 3.734), (8, 258, 3.974), (16, 468, 4.375),
                     (32, 798, 5.130), (64, 1184, 6.919), (128, 1585, 10.340), (256, 1846, 17.750)]:
    add("pub-oracle", source=SRC_ORA, engine="vLLM (ROCm, version not stated)", engine_family="vllm",
        model="llama-3.1-405b", gpu="MI300X-192GB", num_gpus=8, tp=8, pp=1, precision="fp8", scenario="fixed_batch",
        input_len=128, output_len=128, concurrency=bs, throughput_out_tok_s=tps, e2e_latency_ms=r2(lat * 1000),
        notes=f"'Latency measurements' table ('Offline benchmarks were measured using the scripts/benchmark_latency.py "
              f"in the vLLM. Each test had input size 128 and an output size 128 tokens'): Batch Size {bs}, Output "
              f"throughput {tps} TPS, Average latency {lat:.3f} s -> e2e_latency_ms {lat * 1000:.0f} (s to ms). "
              "benchmark_latency runs one static batch per iteration -> fixed_batch. " + ORA_COMMON)
for label, isl, osl, tps in [("Typical chatbot online scenario", 128, 128, 1993),
                             ("Generation heavy use case", 128, 2048, 2794)]:
    add("pub-oracle", source=SRC_ORA, engine="vLLM (ROCm, version not stated)", engine_family="vllm",
        model="llama-3.1-405b", gpu="MI300X-192GB", num_gpus=8, tp=8, pp=1, precision="fp8", scenario="offline",
        input_len=isl, output_len=osl, throughput_out_tok_s=tps,
        notes=f"'Throughput measurements' table ('offline benchmarks measured using benchmark_throughput.py in the "
              f"vLLM'): '{label}', input {isl}, output {osl}, Output throughput {tps} TPS. Number of prompts not "
              "stated. (The table's third row, summarization with larger input, was not fully readable in the copy "
              "read and is omitted.) " + ORA_COMMON)

# ---------------------------------------------------------------------------------------------
# 8. NVIDIA NIM for LLMs benchmarking docs: Llama-3.3-70B-Instruct NIM 1.8.0, 2x H100, FP8 TP2.
SRC_NIM = "https://docs.nvidia.com/nim/benchmarking/llm/1.0.0/performance.md"
NIM_COMMON = ("NVIDIA NIM benchmarking docs, 'Llama-3.3-70b-instruct Results', 'Version: 1.8.0', '2 x H100 80G', "
              "'fp8 TP2' (NIM = TensorRT-LLM engine inside the NIM container). Measured with AIPerf at a fixed "
              "concurrency (closed loop) -> scenario server, concurrency as published. throughput_out_tok_s = "
              "'Throughput(Tokens/s)' (output tokens/s: at concurrency 1 it is ~1/ITL); ttft_ms = 'TTFT (ms)'; "
              "tpot_ms = 'ITL (ms)' (statistic not stated in the table; AIPerf's headline values are averages). "
              "H100 form factor not stated in the table (SXM assumed). KV dtype not stated.")
for c, ttft, itl, thr in [(1, 406.77, 18.58, 51.67), (5, 546.7, 21.83, 218.48), (25, 688.69, 38.75, 623.4),
                          (50, 834.51, 59.73, 814.37), (100, 7996.25, 92.91, 917.26), (150, 34794.22, 92.86, 920.9),
                          (200, 61680.22, 93.06, 920.54), (250, 88605.32, 93.2, 920.12)]:
    add("pub-nim", source=SRC_NIM, engine="NVIDIA NIM 1.8.0 (llama-3.3-70b-instruct)", engine_family="nim",
        model="llama-3.3-70b", gpu="H100-SXM-80GB", num_gpus=2, tp=2, pp=1, precision="fp8", scenario="server",
        input_len=5000, output_len=500, concurrency=c, throughput_out_tok_s=thr, ttft_ms=ttft, tpot_ms=itl,
        notes=f"Table '5000 Input Tokens / 500 Output Tokens', Concurrency {c}: TTFT {ttft} ms, ITL {itl} ms, "
              f"Throughput {thr} tokens/s. " + NIM_COMMON)
add("pub-nim", source=SRC_NIM, engine="NVIDIA NIM 1.8.0 (llama-3.3-70b-instruct)", engine_family="nim",
    model="llama-3.3-70b", gpu="H100-SXM-80GB", num_gpus=2, tp=2, pp=1, precision="fp8", scenario="server",
    input_len=500, output_len=2000, concurrency=1, throughput_out_tok_s=52.85, ttft_ms=47.77, tpot_ms=18.91,
    notes="Table '500 Input Tokens / 2000 Output Tokens', Concurrency 1: TTFT 47.77 ms, ITL 18.91 ms, Throughput "
          "52.85 tokens/s (only the first row of this table was readable in the copy read). " + NIM_COMMON)

# ---------------------------------------------------------------------------------------------
# 9. vLLM performance-benchmark CI (Buildkite), latency tests: static batch 8, input 32, output 128.
SRC_VCI = "https://buildkite.com/vllm/performance-benchmark"
VCI_COMMON = ("vLLM performance-benchmark pipeline, 'Latency tests': 'Input length: 32 tokens. Output length: 128 tokens. "
              "Batch size: fixed (8). Models: llama-3.1 8B, llama-3 70B, mixtral 8x7B. Evaluation metrics: end-to-end "
              "latency (mean, median, p99)' (vLLM benchmark_latency: one static batch) -> fixed_batch, concurrency 8. "
              "e2e_latency_ms = the published Mean latency (ms). throughput_out_tok_s = derived = 8 x 128 / mean "
              "latency. Precision not stated: the CI's default checkpoints (Meta-Llama-3.1-8B-Instruct, "
              "Meta-Llama-3-70B-Instruct, Mixtral-8x7B-Instruct-v0.1) load in their bf16 dtype "
              "(precision_assumed = true). vLLM version = the build's commit (2024 CI, not stated as a release).")
vci = [  # build, gpu label, gpu id, test, model, tp, mean latency ms
    (9513, "H200", "H200-SXM-141GB", "latency_llama8B_tp1", "llama-3.1-8b", 1, 834.059),
    (9513, "H200", "H200-SXM-141GB", "latency_llama70B_tp4", "llama-3-70b", 4, 2075.08),
    (9513, "H200", "H200-SXM-141GB", "latency_mixtral8x7B_tp2", "mixtral-8x7b", 2, 1921.1),
    (9523, "A100-SXM4-80GB", "A100-SXM-80GB", "latency_llama8B_tp1", "llama-3.1-8b", 1, 1579.27),
    (9523, "A100-SXM4-80GB", "A100-SXM-80GB", "latency_llama70B_tp4", "llama-3-70b", 4, 3990.59),
    (9523, "A100-SXM4-80GB", "A100-SXM-80GB", "latency_mixtral8x7B_tp2", "mixtral-8x7b", 2, 3643.84),
    (9555, "8xH100", "H100-SXM-80GB", "latency_llama8B_tp1", "llama-3.1-8b", 1, 997.542),
    (9555, "8xH100", "H100-SXM-80GB", "latency_llama70B_tp4", "llama-3-70b", 4, 2444.47),
    (9555, "8xH100", "H100-SXM-80GB", "latency_mixtral8x7B_tp2", "mixtral-8x7b", 2, 2326.97),
]
for build, glabel, gpu, test, model, tp, lat in vci:
    thr = 8 * 128 / (lat / 1000.0)
    add("pub-vllmci", source=SRC_VCI, engine=f"vLLM (CI build {build})", engine_family="vllm", model=model, gpu=gpu,
        num_gpus=tp, tp=tp, pp=1, precision="bf16", scenario="fixed_batch", input_len=32, output_len=128,
        concurrency=8, throughput_out_tok_s=r2(thr), e2e_latency_ms=lat, precision_assumed=True,
        notes=f"Build {build} (https://buildkite.com/vllm/performance-benchmark/builds/{build}), test '{test}', GPU "
              f"'{glabel}': Mean latency {lat} ms -> throughput 8*128/{lat / 1000:.6f} s = {thr:.2f} tok/s (derived). "
              + ("GPU label '8xH100' = an 8-GPU H100 node (SXM assumed); the test uses TP GPUs of it. "
                 if glabel == "8xH100" else "") + VCI_COMMON)

# ---------------------------------------------------------------------------------------------
# 10. SGLang repo, benchmark/benchmark_vllm_060/README.md: offline ShareGPT, SGLang v0.3.0 vs vLLM v0.6.0.
SRC_SGL = ("https://github.com/sgl-project/sglang/blob/120affb9613cc3f5bcd055ec09c7621d3ced0ebc/"
           "benchmark/benchmark_vllm_060/README.md")
SGL_COMMON = ("'Offline benchmark results' (RPS inf, 5000 ShareGPT prompts, sglang.bench_serving --dataset-name "
              "sharegpt --num-prompts 5000): all requests sent at once -> offline, concurrency empty. "
              "throughput_out_tok_s = 'Output token throughput' as published. output_len = derived mean output "
              "length = Output token throughput / Request throughput. input_len EMPTY (ShareGPT prompts; mean not "
              "published). Servers: --disable-radix-cache (SGLang), --num-scheduler-steps 10 and max_model_len 4096 "
              "(vLLM); SGLang mem_frac 0.88 at both TP1 and TP4. Precision not stated: bf16 checkpoint default "
              "(precision_assumed = true). A100/H100 '80G' form factor not stated (SXM assumed).")
for eng, fam, model, gpu, glabel, tp, rps, thr in [
        ("SGLang v0.3.0", "sglang", "llama-3.1-8b", "A100-SXM-80GB", "1 x A100 80G", 1, 22.03, 4281.51),
        ("vLLM v0.6.0", "vllm", "llama-3.1-8b", "A100-SXM-80GB", "1 x A100 80G", 1, 21.27, 4132.37),
        ("SGLang v0.3.0", "sglang", "llama-3.1-70b", "H100-SXM-80GB", "4 x H100 80G", 4, 19.84, 3856.01),
        ("vLLM v0.6.0", "vllm", "llama-3.1-70b", "H100-SXM-80GB", "4 x H100 80G", 4, 19.04, 3700.64)]:
    o = thr / rps
    add("pub-sglang", source=SRC_SGL, engine=eng, engine_family=fam, model=model, gpu=gpu, num_gpus=tp, tp=tp, pp=1,
        precision="bf16", scenario="offline", output_len=round(o, 1), throughput_out_tok_s=thr,
        precision_assumed=True,
        notes=f"Section 'Llama 3.1 {'8B' if '8b' in model else '70B'} Instruct {glabel}', engine {eng.split()[0]}: "
              f"Request throughput {rps}, Output token throughput {thr} -> output_len = {thr}/{rps} = {o:.1f} "
              "(derived). " + SGL_COMMON)

# ---------------------------------------------------------------------------------------------
with OUT.open("w", newline="") as fh:
    w = csv.DictWriter(fh, fieldnames=COLUMNS, quoting=csv.QUOTE_MINIMAL)
    w.writeheader()
    for r in rows:
        w.writerow({c: r[c] for c in COLUMNS})
print(f"wrote {len(rows)} rows to {OUT}")
