"""Memory model: parameter counts, weight bytes, KV-cache bytes per token, KV capacity, fit.

All functions take a ``Spec`` (``planner.perf.config.prepare``) and return numpy arrays, one value per
configuration row. Sizes are bytes for one *engine instance* (``tp * pp`` GPUs holding one copy of the
weights); a row with ``dp > 1`` runs ``dp`` such instances.

Parameter count from the dims (used when ``params_b`` is empty; when it is given, the dims only
supply the MoE expert/active split, rescaled to ``params_b``):

* embeddings ``vocab * hidden`` and an untied ``lm_head`` of the same size (Llama/Mistral/Qwen-large
  style; tied-embedding models carry ``params_b`` in the catalog);
* attention per layer: ``hidden * heads * head_dim`` (Q) + ``2 * hidden * kv_heads * head_dim`` (K, V;
  GQA/MQA have fewer kv_heads) + ``heads * head_dim * hidden`` (O). MLA: Q ``hidden * heads *
  (head_dim + rope)``, the KV down-projection ``hidden * (kv_lora_rank + rope)``, the up-projection
  ``kv_lora_rank * heads * 2 * head_dim`` and O (a q-LoRA, where a model has one, is not modelled);
* dense FFN: gated, 3 matrices ``3 * hidden * intermediate``;
* MoE layer: ``(experts + shared) * 3 * hidden * moe_intermediate`` + router ``hidden * experts``;
  the first ``first_dense_layers`` layers are dense; active = ``(top_k + shared)`` experts;
* RMSNorm weights (2 per layer + final).

Weight bytes = parameters * bytes(precision). 4-bit formats add quantisation scales:
int4 = AWQ/GPTQ-style groups of ``INT4_GROUP_SIZE`` = 128 weights with an fp16 scale and an fp16 zero
point (4 bytes per group); fp4 = NVFP4-style groups of ``FP4_GROUP_SIZE`` = 16 with one fp8 scale
(1 byte per group). 8-bit formats use per-channel scales (negligible). Embeddings and ``lm_head`` are
counted at the same precision as the rest (engines often keep them in 16 bit; a small underestimate).

KV bytes per token = ``2 * layers * max(kv_heads, tp) * head_dim * bytes(kv)`` (K and V; with
``tp > kv_heads`` the heads are replicated on every GPU); MLA caches the latent
``(kv_lora_rank + qk_rope_head_dim) * layers * bytes(kv)`` on every TP rank. A sequence's KV bytes are
this (summed over layers) times its layer-averaged kept tokens (``planner.perf.attention``): local
layers (sliding window / attention chunk) keep at most ``min(context, window)`` tokens, global layers
the whole context; e.g. Gemma 2 9B (21 local layers with a 4096 window + 21 global) at 8192 tokens
keeps ``(21 * 4096 + 21 * 8192) / 42 = 6144`` tokens per layer on average.

KV capacity = ``tp * pp * gpu_memory (GiB, see device_memory_bytes) * mem_utilization - weights - tp * pp * workspace`` where the
per-GPU workspace is a runtime reserve (``RUNTIME_RESERVE_BYTES``: CUDA context, cuBLAS/NCCL
buffers) plus the activations of one prefill chunk of ``ACTIVATION_CHUNK_TOKENS`` tokens.
"""

from __future__ import annotations

import numpy as np

from planner.units import BYTES_PER_ELEMENT, GB, GIB

from . import attention, techniques
from .config import Spec

INT4_GROUP_SIZE = 128
INT4_GROUP_OVERHEAD_BYTES = 2 * BYTES_PER_ELEMENT["fp16"]  # fp16 scale + fp16 zero point
FP4_GROUP_SIZE = 16
FP4_GROUP_OVERHEAD_BYTES = BYTES_PER_ELEMENT["fp8"]  # one fp8 (E4M3) scale
GATED_FFN_MATRICES = 3  # gate, up, down
ACTIVATION_BYTES = BYTES_PER_ELEMENT["bf16"]  # activations are 16-bit in every engine modelled
ACTIVATION_CHUNK_TOKENS = 2048  # tokens of one prefill chunk (vLLM/TRT-LLM chunked-prefill default scale)
ACTIVATION_TENSORS_PER_TOKEN = 4  # residual, normed input, attention output, projection buffer (x hidden)
RUNTIME_RESERVE_BYTES = 0.5 * GB  # CUDA context + library workspaces per GPU


def _dims_counts(s: Spec) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(total, active, routed_expert_total, embedding) parameter counts from the dims; NaN where a
    needed dim is missing."""
    d, L, H, hd = s.hidden, s.layers, s.heads, s.head_dim
    mla = s.attention_type.eq("mla")
    rope = s.qk_rope_head_dim
    lora = np.nan_to_num(s.kv_lora_rank, nan=0.0)
    attn_std = d * H * hd + 2 * d * s.kv_heads * hd + H * hd * d
    attn_mla = d * H * (hd + rope) + d * (lora + rope) + lora * H * 2 * hd + H * hd * d
    attn = np.where(mla, attn_mla, attn_std) + 2 * d  # + 2 norms per layer
    dense_ffn = GATED_FFN_MATRICES * d * s.inter
    expert = GATED_FFN_MATRICES * d * s.moe_inter
    moe = s.experts > 0
    n_moe = np.where(moe, L - s.first_dense, 0.0)
    n_dense = L - n_moe
    moe_total = (s.experts + s.shared_experts) * expert + d * s.experts
    moe_active = (s.top_k + s.shared_experts) * expert + d * s.experts
    embed = s.vocab * d
    base = 2 * embed + L * attn + d + n_dense * np.where(n_dense > 0, dense_ffn, 0.0)
    routed = np.where(moe, n_moe * s.experts * expert, 0.0)
    total = base + np.where(moe, n_moe * moe_total, 0.0)
    active = base + np.where(moe, n_moe * moe_active, 0.0)
    return total, active, routed, embed


def param_counts(s: Spec) -> dict[str, np.ndarray]:
    """Parameters per model: ``total``, ``active`` (per token), ``routed`` (all routed-expert weights),
    ``embed`` (input embedding, not read densely in decode). Adds an error where neither ``params_b``
    nor enough dims are known."""
    t_dims, a_dims, r_dims, e_dims = _dims_counts(s)
    given = s.params_b * 1e9
    total = np.where(np.isnan(given), t_dims, given)
    scale = np.where(np.isfinite(t_dims) & (t_dims > 0), total / t_dims, 1.0)
    active_given = s.active_params_b * 1e9
    moe = s.experts > 0
    active = np.where(~np.isnan(active_given), active_given,
                      np.where(moe, a_dims * scale, total))
    routed = np.where(moe, r_dims * scale, 0.0)
    embed = np.where(np.isnan(e_dims), 0.0, e_dims * np.where(np.isfinite(scale), scale, 1.0))
    s.add_error(~(total > 0), "params_b missing and not derivable (intermediate_size/vocab_size missing)")
    s.add_error(moe & ~(active > 0), "active_params_b missing and not derivable (moe_intermediate_size)")
    out = {"total": total, "active": active, "routed": np.nan_to_num(routed), "embed": embed}
    out.update(techniques.draft_params(s, out))
    return out


def weight_bytes_per_param(s: Spec) -> np.ndarray:
    b = s.w_bytes.copy()
    b = np.where(s.precision.eq("int4"), b + INT4_GROUP_OVERHEAD_BYTES / INT4_GROUP_SIZE, b)
    b = np.where(s.precision.eq("fp4"), b + FP4_GROUP_OVERHEAD_BYTES / FP4_GROUP_SIZE, b)
    return b


def weight_bytes(s: Spec, params: dict[str, np.ndarray]) -> np.ndarray:
    """Bytes of one copy of the weights (split over the instance's tp*pp GPUs): the transformer
    blocks (2:4-sparse where set, ``techniques.linear_scale``), the embedding and ``lm_head``, and a
    speculative-decoding draft network (``techniques.draft_params``) at the same precision."""
    bpp = weight_bytes_per_param(s)
    vocab = 2.0 * params["embed"]
    body_scale, _ = techniques.linear_scale(s, s.w_bytes)
    return ((params["total"] - vocab) * body_scale + vocab + params["draft_total"]) * bpp


def kv_bytes_per_token(s: Spec) -> np.ndarray:
    """KV-cache bytes per token of context, summed over layers and over the instance's GPUs."""
    mla = s.attention_type.eq("mla")
    std = 2 * s.layers * np.maximum(s.kv_heads, s.tp) * s.head_dim * s.kv_bytes
    latent = (np.nan_to_num(s.kv_lora_rank) + s.qk_rope_head_dim) * s.layers * s.kv_bytes * s.tp
    return np.where(mla, latent, std)


def kept_tokens(s: Spec, context: np.ndarray) -> np.ndarray:
    """Layer-averaged tokens whose KV a sequence of ``context`` tokens holds at most (local layers
    cap it at their window or chunk; ``attention.kept_tokens``)."""
    return attention.kept_tokens(s, context)


def workspace_bytes_per_gpu(s: Spec) -> np.ndarray:
    ffn = np.nan_to_num(np.where(s.experts > 0, s.moe_inter * s.top_k, s.inter), nan=0.0)
    per_token = (ACTIVATION_TENSORS_PER_TOKEN * s.hidden + 2 * ffn / s.tp) * ACTIVATION_BYTES
    return RUNTIME_RESERVE_BYTES + ACTIVATION_CHUNK_TOKENS * per_token


def device_memory_bytes(s: Spec) -> np.ndarray:
    """Bytes of device memory per GPU. Vendors' memory sizes are binary: an "80GB" H100/A100 has
    80 GiB (nvidia-smi: 81559 MiB usable of 81920 MiB), so ``gpu_memory_gb`` is read as GiB. Reading
    it as 1e9 bytes would lose 7 % of the memory, which is most of the KV cache when the weights
    nearly fill the GPUs (e.g. Llama-3.1-70B fp16 on 2x80GB)."""
    return s.mem_gb * GIB


def kv_capacity_bytes(s: Spec, wbytes: np.ndarray, mem_utilization: np.ndarray) -> np.ndarray:
    """Bytes left for the KV cache in one engine instance (may be negative: does not fit)."""
    gpus = s.tp * s.pp
    return gpus * device_memory_bytes(s) * mem_utilization - wbytes - gpus * workspace_bytes_per_gpu(s)


def max_sequences(kv_capacity: np.ndarray, kv_per_token: np.ndarray, tokens_kept: np.ndarray) -> np.ndarray:
    """Concurrent sequences of ``tokens_kept`` KV tokens each that fit in ``kv_capacity`` (floor, >= 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.floor(kv_capacity / (kv_per_token * np.maximum(tokens_kept, 1.0)))
    return np.where(np.isfinite(m), np.maximum(m, 0.0), 0.0)
