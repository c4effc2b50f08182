"""Catalog schemas: the columns of every file in ``catalogs/``, with dtype, unit and meaning.

This module is the single definition of the catalog format. ``catalogs/README.md`` (the data
dictionary) documents the same columns for people; ``planner.catalog.load`` validates every file
against these definitions and reports all problems at once.

Conventions shared by every file:

* one row per fact, with ``source`` (where the numbers came from: a URL or ``owner/repo:path@commit``)
  and ``retrieved`` (ISO date the source was read); both are required and never empty;
* units live in column names (``_gb``, ``_usd_per_hour``, ``_gb_per_s``, ``_tflops``);
* an unknown number is an **empty cell**, never a guess and never zero;
* ids are canonical; ``aliases`` holds other spellings separated by ``;`` (matched case-insensitively).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["str", "float", "int", "bool", "date"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool  # True: the cell may not be empty
    unit: str
    meaning: str


@dataclass(frozen=True)
class TableSchema:
    file: str
    key: tuple[str, ...]  # columns that must be unique together
    columns: tuple[Column, ...]
    description: str
    # a measurement about the model rather than a price or fact a plan uses: optional, and not part of
    # the catalog fingerprint (re-measuring it must not invalidate saved plans)
    derived: bool = False

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name: str, kind: Kind, required: bool, unit: str, meaning: str) -> Column:
    return Column(name, kind, required, unit, meaning)


_PROVENANCE = (
    _c("source", "str", True, "", "where the numbers came from (URL or owner/repo:path@commit)"),
    _c("retrieved", "date", True, "ISO date", "date the source was read"),
    _c("notes", "str", False, "", "caveats, derivations, conflicts between sources"),
)

ACCELERATORS = TableSchema(
    file="accelerators.csv",
    key=("id",),
    description="Accelerator (GPU/TPU/NPU) specifications, one row per chip variant. Dense (no 2:4 sparsity) peaks.",
    columns=(
        _c("id", "str", True, "", "canonical id, e.g. H100-SXM-80GB"),
        _c("aliases", "str", False, "", "other names, ';'-separated (e.g. 'H100;H100-80GB;h100 sxm')"),
        _c("vendor", "str", True, "", "NVIDIA, AMD, Google, AWS, Intel"),
        _c("family", "str", True, "", "architecture family: volta, turing, ampere, ada, hopper, blackwell, cdna2, cdna3, tpu, neuron, gaudi"),
        _c("memory_gb", "float", True, "GiB (2^30 bytes)", "device memory per chip as the vendor states it; vendors' HBM 'GB' are binary (an 80 GB H100 has 80 GiB), and the performance model reads them so"),
        _c("mem_bw_gb_per_s", "float", False, "GB/s", "peak device-memory bandwidth per chip"),
        _c("fp32_tflops", "float", False, "TFLOP/s", "dense FP32 (non-tensor) peak"),
        _c("fp16_tflops", "float", False, "TFLOP/s", "dense FP16 tensor peak"),
        _c("bf16_tflops", "float", False, "TFLOP/s", "dense BF16 tensor peak"),
        _c("fp8_tflops", "float", False, "TFLOP/s", "dense FP8 tensor peak; empty = no FP8 tensor cores"),
        _c("fp4_tflops", "float", False, "TFLOP/s", "dense FP4 tensor peak; empty = no FP4 tensor cores"),
        _c("int8_tops", "float", False, "TOP/s", "dense INT8 tensor peak"),
        _c("int4_tops", "float", False, "TOP/s", "dense INT4 tensor peak"),
        _c("interconnect", "str", False, "", "intra-node link: NVLink, PCIe Gen4, Infinity Fabric, ICI, ..."),
        _c("link_bw_gb_per_s", "float", False, "GB/s", "intra-node bandwidth per chip, both directions added as vendors quote it (H100 SXM NVLink 900); the model's ring all-reduce uses half"),
        _c("tdp_w", "float", False, "W", "board power"),
        *_PROVENANCE,
    ),
)

MODELS = TableSchema(
    file="models.csv",
    key=("id",),
    description="Model architectures from the published config.json; parameter counts in billions.",
    columns=(
        _c("id", "str", True, "", "canonical lowercase id, e.g. llama-3.1-70b"),
        _c("aliases", "str", False, "", "other names, ';'-separated (HF repo ids, display names)"),
        _c("family", "str", True, "", "model family, e.g. llama-3.1, mixtral, qwen2.5"),
        _c("arch_type", "str", True, "", "decoder | moe | encoder-decoder | multimodal"),
        _c("params_b", "float", False, "1e9 parameters", "total parameters (stated or derived from the dims; notes say which)"),
        _c("active_params_b", "float", False, "1e9 parameters", "parameters used per token (MoE); empty for dense = params_b"),
        _c("num_layers", "int", True, "", "decoder layers (for encoder-decoder: decoder layers)"),
        _c("encoder_layers", "int", False, "", "encoder layers (encoder-decoder only)"),
        _c("hidden_size", "int", True, "", "model width d_model"),
        _c("num_attention_heads", "int", True, "", "query heads"),
        _c("num_kv_heads", "int", False, "", "key/value heads (GQA); empty = num_attention_heads"),
        _c("head_dim", "int", False, "", "per-head dim; empty = hidden_size/num_attention_heads"),
        _c("intermediate_size", "int", False, "", "FFN inner size (dense layers)"),
        _c("moe_intermediate_size", "int", False, "", "FFN inner size of one expert (MoE)"),
        _c("vocab_size", "int", False, "", "vocabulary size"),
        _c("num_experts", "int", False, "", "routed experts per MoE layer; empty = dense"),
        _c("experts_per_token", "int", False, "", "routed experts active per token"),
        _c("num_shared_experts", "int", False, "", "always-active shared experts per MoE layer"),
        _c("first_dense_layers", "int", False, "", "leading layers that are dense in an MoE model"),
        _c("max_context", "int", False, "tokens", "maximum context length"),
        _c("attention_type", "str", True, "", "MHA | GQA | MQA | MLA | SWA (sliding window)"),
        _c("sliding_window", "int", False, "tokens", "window size where attention is windowed"),
        _c("attention_chunk_size", "int", False, "tokens", "chunked local attention (Llama 4): a local layer attends only to the tokens of its own block of this many tokens"),
        _c("global_attention_every", "int", False, "layers", "one layer in every N attends to the whole context (floor(num_layers/N) global layers; Gemma 2: 2, Gemma 3: 6, Llama 4: 4), the others are local (sliding_window or attention_chunk_size); empty = every layer local when a window or chunk is set"),
        _c("kv_lora_rank", "int", False, "", "MLA compressed KV dimension"),
        _c("qk_rope_head_dim", "int", False, "", "MLA decoupled RoPE key dim (cached beside the latent)"),
        _c("image_tokens", "int", False, "tokens", "tokens added to the prompt per image (multimodal)"),
        _c("vision_params_b", "float", False, "1e9 parameters", "vision tower run per image, as the engine builds it, plus the projector (multimodal; not in params_b): its weights are held and each image costs 2 x vision_params x (image_tokens + 1) FLOPs of prefill (LLaVA-1.5-7B: 0.290909184 CLIP ViT-L/14-336 to layer 23 + 0.020979712 projector)"),
        _c("mtp_layers", "int", False, "", "multi-token-prediction modules shipped with the model (DeepSeek-V3: 1), usable for self-speculative decoding"),
        *_PROVENANCE,
    ),
)

OFFERS = TableSchema(
    file="offers.csv",
    key=("cloud", "region", "instance_type"),
    description="Cloud instances with accelerators, per region, with hourly prices per instance.",
    columns=(
        _c("cloud", "str", True, "", "aws, gcp, azure, lambda, nebius, runpod, ..."),
        _c("region", "str", True, "", "the cloud's region name, e.g. us-east-1"),
        _c("instance_type", "str", True, "", "the cloud's instance name"),
        _c("gpu", "str", True, "", "accelerators.csv id"),
        _c("gpus_per_instance", "int", True, "", "accelerators in the instance"),
        _c("vcpus", "float", False, "", "virtual CPUs"),
        _c("memory_gib", "float", False, "GiB", "host memory"),
        _c("on_demand_usd_per_hour", "float", False, "USD/instance-hour", "on-demand list price"),
        _c("spot_usd_per_hour", "float", False, "USD/instance-hour", "spot/preemptible price at the snapshot (empty = no spot)"),
        _c("reserved_1y_usd_per_hour", "float", False, "USD/instance-hour", "published 1-year commitment rate (empty = use discounts.csv rule)"),
        _c("reserved_3y_usd_per_hour", "float", False, "USD/instance-hour", "published 3-year commitment rate (empty = use discounts.csv rule)"),
        *_PROVENANCE,
    ),
)

REGIONS = TableSchema(
    file="regions.csv",
    key=("cloud", "region"),
    description="Where each cloud region is: its geography, used to match user regions and residency.",
    columns=(
        _c("cloud", "str", True, "", "cloud id as in offers.csv"),
        _c("region", "str", True, "", "region name as in offers.csv"),
        _c("geo", "str", True, "", "planner geography: us-east, us-west, us-central, ca, sa, eu-west, eu-central, eu-north, me, af, ap-south, ap-northeast, ap-southeast, oceania"),
        _c("continent", "str", True, "", "north-america, south-america, europe, asia, oceania, africa, middle-east"),
        _c("location", "str", False, "", "city/area as published by the cloud"),
        *_PROVENANCE,
    ),
)

DISCOUNTS = TableSchema(
    file="discounts.csv",
    key=("cloud", "tier"),
    description="Commitment discount rules used when an offer has no published reserved rate.",
    columns=(
        _c("cloud", "str", True, "", "cloud id"),
        _c("tier", "str", True, "", "reserved-1y | reserved-3y"),
        _c("discount_pct", "float", True, "%", "discount off the on-demand rate"),
        _c("applies_to", "str", False, "", "instance families / commitment product the rule is for"),
        *_PROVENANCE,
    ),
)

API_PRICES = TableSchema(
    file="api_prices.csv",
    key=("provider", "api_model"),
    description="Per-token API prices of hosted models.",
    columns=(
        _c("provider", "str", True, "", "API provider"),
        _c("api_model", "str", True, "", "the provider's model name"),
        _c("model", "str", False, "", "models.csv id when the API serves a catalog model (empty for proprietary models)"),
        _c("input_usd_per_mtok", "float", False, "USD per 1e6 input tokens", "input price"),
        _c("output_usd_per_mtok", "float", False, "USD per 1e6 output tokens", "output price"),
        _c("cached_input_usd_per_mtok", "float", False, "USD per 1e6 tokens", "cache-hit input price"),
        _c("price_as_of", "str", False, "", "date the source itself states"),
        *_PROVENANCE,
    ),
)

EGRESS = TableSchema(
    file="egress.csv",
    key=("cloud", "transfer_type", "tier_start_tb_per_month"),
    description="Data-transfer prices per cloud (internet egress tiers, inter-region).",
    columns=(
        _c("cloud", "str", True, "", "cloud id"),
        _c("transfer_type", "str", True, "", "internet_egress | inter_region | inter_zone | internet_ingress"),
        _c("tier_start_tb_per_month", "float", False, "TB/month", "volume where the tier starts (empty = flat)"),
        _c("tier_end_tb_per_month", "float", False, "TB/month", "volume where the tier ends (empty = unbounded)"),
        _c("usd_per_gb", "float", True, "USD/GB", "price used by the planner (the upper end of a published range)"),
        _c("usd_per_gb_min", "float", False, "USD/GB", "lower end of the published range"),
        _c("scope", "str", False, "", "regions/destinations the price applies to"),
        *_PROVENANCE,
    ),
)

EFFICIENCY = TableSchema(
    file="efficiency.csv",
    key=("engine_family", "gpu_family"),
    description="Fitted efficiency factors of the performance model per engine family and GPU family ('*' = any).",
    columns=(
        _c("engine_family", "str", True, "", "vllm, trtllm, sglang, lmdeploy, nim, ollama, other, or *"),
        _c("gpu_family", "str", True, "", "accelerators.csv family, or *"),
        _c("mfu", "float", True, "fraction", "achieved share of peak tensor FLOP/s in prefill/compute-bound steps"),
        _c("mbu", "float", True, "fraction", "achieved share of peak memory bandwidth in memory-bound decode steps"),
        _c("step_overhead_ms", "float", True, "ms", "fixed per-iteration scheduling/launch overhead"),
        _c("mem_utilization", "float", True, "fraction", "share of device memory the engine may use (weights + KV + workspace)"),
        _c("tp_efficiency", "float", True, "fraction", "multiplier on mfu and mbu per doubling of tensor parallelism (tp_efficiency ** log2(tp))"),
        _c("rows_fitted", "int", True, "", "calibration rows the fit used (0 = prior only)"),
        _c("fit_version", "str", True, "", "version of the fit that produced the row"),
        *_PROVENANCE,
    ),
)

NETWORK_RTT = TableSchema(
    file="network_rtt.csv",
    key=("from_geo", "to_geo"),
    description="Published network round-trip times between geographies (user geography -> cloud region geography).",
    columns=(
        _c("from_geo", "str", True, "", "geography of the users (regions.csv geo)"),
        _c("to_geo", "str", True, "", "geography of the serving cloud region (regions.csv geo)"),
        _c("rtt_ms", "float", True, "ms", "round-trip time between representative regions of the two geographies"),
        _c("statistic", "str", True, "", "what the figure is (percentile, window, measurement method)"),
        *_PROVENANCE,
    ),
)

STORAGE = TableSchema(
    file="storage.csv",
    key=("cloud", "region"),
    description="Storage prices for model artifacts (object storage, or the cloud's persistent storage where it has none), per cloud region or cloud-wide.",
    columns=(
        _c("cloud", "str", True, "", "cloud id"),
        _c("region", "str", False, "", "the cloud's region name; empty = every region without its own row"),
        _c("service", "str", True, "", "the storage product and tier priced"),
        _c("usd_per_gb_month", "float", True, "USD per GB-month", "price per decimal GB stored for a month (GiB prices converted, see notes)"),
        *_PROVENANCE,
    ),
)

FIDELITY = TableSchema(
    file="fidelity.csv",
    key=("check", "metric"),
    description="Measured error of the performance model (scripts/fidelity_summary.py): the band every capacity figure carries.",
    derived=True,
    columns=(
        _c("check", "str", True, "", "in-sample (the calibration rows the fit used), held-out (published measurements never fitted), unseen (held-out rows of a GPU or model absent from the calibration data)"),
        _c("metric", "str", True, "", "throughput, ttft_p99, tpot_p99 or e2e_p99"),
        _c("rows", "int", True, "", "measurements compared"),
        _c("median_ape_pct", "float", True, "%", "median absolute percentage error of the model"),
        _c("p90_ape_pct", "float", True, "%", "90th percentile absolute percentage error"),
        _c("fit_version", "str", True, "", "efficiency.csv fit_version the figures were measured with"),
        *_PROVENANCE,
    ),
)

SERVERS = TableSchema(
    file="servers.csv",
    key=("id",),
    description="GPU servers one may buy for an on-premises or colocation site (options.on_prem): purchase price and power.",
    columns=(
        _c("id", "str", True, "", "server id (unique)"),
        _c("gpu", "str", True, "", "accelerator id (accelerators.csv)"),
        _c("gpus_per_server", "int", True, "", "GPUs in one server"),
        _c("price_usd", "float", True, "USD", "purchase price of one server (list or reported, as dated)"),
        _c("power_kw", "float", True, "kW", "maximum system power of one server (GPUs and host)"),
        *_PROVENANCE,
    ),
)

ENERGY = TableSchema(
    file="energy.csv",
    key=("geo",),
    description="Running an owned server in a geography: electricity price, grid carbon intensity, colocation price per kW.",
    columns=(
        _c("geo", "str", True, "", "geography (regions.csv geo)"),
        _c("usd_per_kwh", "float", False, "USD per kWh", "electricity price for a commercial/industrial buyer"),
        _c("kg_co2_per_kwh", "float", False, "kg CO2 per kWh", "grid carbon intensity (yearly average)"),
        _c("colo_usd_per_kw_month", "float", False, "USD per kW-month", "colocation price per kW of provisioned power"),
        *_PROVENANCE,
    ),
)

ALL_TABLES: tuple[TableSchema, ...] = (
    ACCELERATORS, MODELS, OFFERS, REGIONS, DISCOUNTS, API_PRICES, EGRESS, EFFICIENCY, NETWORK_RTT, STORAGE, FIDELITY,
    SERVERS, ENERGY,
)
