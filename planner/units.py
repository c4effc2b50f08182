"""Units and conversion constants. No other module writes these numbers."""

from __future__ import annotations

HOURS_PER_MONTH = 730.0  # 8760 h / 12, the convention of AWS/GCP/Azure price calculators
HOURS_PER_YEAR = 8760.0
SECONDS_PER_HOUR = 3600.0
GB = 1e9  # catalog memory sizes are decimal GB, as in vendor datasheets
GIB = 2**30
TERA = 1e12
MTOK = 1e6  # API prices are per million tokens

PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "bf16", "fp8", "fp4", "int8", "int4")

# Storage bytes per element of each precision (weights or KV cache).
BYTES_PER_ELEMENT: dict[str, float] = {
    "fp32": 4.0,
    "fp16": 2.0,
    "bf16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "fp4": 0.5,
    "int4": 0.5,
}

ENGINE_FAMILIES: tuple[str, ...] = ("vllm", "trtllm", "sglang", "lmdeploy", "nim", "ollama", "other")
