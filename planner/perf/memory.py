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

Encoder-decoder models (``arch_type`` encoder-decoder: T5 v1.1 / Flan-T5, docs/research/families.md
§2; HF ``modeling_t5.py``): ``num_layers`` = ``L`` decoder layers, ``encoder_layers`` = ``Le``; no
biases, one RMSNorm weight vector (``hidden``) per sub-block and one final norm per stack; the
embedding is shared by both stacks and ``lm_head`` is untied (as above):

* encoder layer = self-attention + FFN + 2 norms; decoder layer = self-attention + cross-attention
  (its own q, k, v, o: a second attention block of the same size) + FFN + 3 norms;
* each stack has a relative position bias table of ``T5_RELATIVE_ATTENTION_BUCKETS`` = 32 buckets x
  ``heads`` in its first layer (HF ``relative_attention_bias``; ``relative_attention_num_buckets``
  32 in the Flan-T5 configs, docs/research/families.csv);
* total = ``2 vocab d + Le (A + F + 2 d) + L (2 A + F + 3 d) + 2 d + 2 * 32 * heads`` with ``A`` the
  attention block and ``F = 3 d d_ff`` the gated-GELU FFN. Flan-T5-XL (d 2048, d_ff 5120, 32 x 64
  heads, 24 + 24 layers, vocab 32128): 2,849,757,184; XXL (4096, 10240, 64 x 64): 11,135,332,352,
  both exactly the published totals (no residual once the bias tables are counted; without them the
  count is 2 x 32 x heads = 2,048 / 4,096 short).

``param_counts`` splits them for the latency model: ``encoder`` (the encoder stack with its norm and
bias table: run once over the prompt, never in decode) and ``cross_kv`` (the decoder's cross-attention
K and V projections, ``L x 2 x hidden x kv_heads x head_dim``: they project the encoder output once per
request, so they run in prefill, not per generated token). Both are 0 for decoder-only rows.

Vision tower (``vision_params_b``, ``config``): its weights are held beside the language model's, at the
weight precision for 16/32-bit rows and at 16 bit for quantised rows (engines quantise the language
model; the tower keeps the checkpoint's dtype, ``VISION_QUANTISED_BYTES``).

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
keeps ``(21 * 4096 + 21 * 8192) / 42 = 6144`` tokens per layer on average. Encoder-decoder models
count their ``num_layers`` decoder layers only (the encoder keeps no KV) over ``I + O`` tokens: the
cross-attention K/V of the ``I`` prompt tokens and the self-attention K/V of the ``O`` generated
ones, each ``2 x kv_heads x head_dim`` per layer; Flan-T5-XXL bf16: ``2 x 24 x 64 x 64 x 2`` =
393,216 bytes per token.

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
# T5 relative position bias: one (buckets x heads) table per stack, in its first layer
# (relative_attention_num_buckets 32 in the Flan-T5-XL/XXL configs, docs/research/families.csv)
T5_RELATIVE_ATTENTION_BUCKETS = 32
# bytes per vision-tower weight on rows whose language model is quantised (8 or 4 bit): 16-bit
VISION_QUANTISED_BYTES = BYTES_PER_ELEMENT["bf16"]


def _dims_counts(s: Spec) -> tuple[np.ndarray, ...]:
    """(total, active, routed_expert_total, embedding, encoder, cross_kv) parameter counts from the
    dims (module docstring); NaN where a needed dim is missing. ``encoder`` and ``cross_kv`` are 0
    on decoder-only rows, whose counts are computed exactly as without them."""
    d, L, H, hd = s.hidden, s.layers, s.heads, s.head_dim
    mla = s.attention_type.eq("mla")
    rope = s.qk_rope_head_dim
    lora = np.nan_to_num(s.kv_lora_rank, nan=0.0)
    attn_std = d * H * hd + 2 * d * s.kv_heads * hd + H * hd * d
    attn_mla = d * H * (hd + rope) + d * (lora + rope) + lora * H * 2 * hd + H * hd * d
    block = np.where(mla, attn_mla, attn_std)  # one attention block
    ed = s.enc_dec
    # + 2 norms per layer; an encoder-decoder decoder layer adds cross-attention and its norm
    attn = np.where(ed, 2 * block + 3 * d, block + 2 * d)
    dense_ffn = GATED_FFN_MATRICES * d * s.inter
    expert = GATED_FFN_MATRICES * d * s.moe_inter
    moe = s.experts > 0
    n_moe = np.where(moe, L - s.first_dense, 0.0)
    n_dense = L - n_moe
    moe_total = (s.experts + s.shared_experts) * expert + d * s.experts
    moe_active = (s.top_k + s.shared_experts) * expert + d * s.experts
    embed = s.vocab * d
    base = 2 * embed + L * attn + d + n_dense * np.where(n_dense > 0, dense_ffn, 0.0)
    # encoder-decoder: the encoder stack (layers, final norm, bias table) and the decoder's bias table
    bias_table = T5_RELATIVE_ATTENTION_BUCKETS * H
    encoder = np.where(ed, s.enc_layers * (block + dense_ffn + 2 * d) + d + bias_table, 0.0)
    cross_kv = np.where(ed, L * 2 * d * s.kv_heads * hd, 0.0)
    base = base + np.where(ed, encoder + bias_table, 0.0)
    routed = np.where(moe, n_moe * s.experts * expert, 0.0)
    total = base + np.where(moe, n_moe * moe_total, 0.0)
    active = base + np.where(moe, n_moe * moe_active, 0.0)
    return total, active, routed, embed, encoder, cross_kv


def param_counts(s: Spec) -> dict[str, np.ndarray]:
    """Parameters per model: ``total``, ``active`` (per token), ``routed`` (all routed-expert weights),
    ``embed`` (input embedding, not read densely in decode), ``encoder`` and ``cross_kv`` (the parts of
    an encoder-decoder model that run on the prompt only; 0 elsewhere), ``vision`` (the vision tower,
    not in ``total``). Adds an error where neither ``params_b`` nor enough dims are known."""
    t_dims, a_dims, r_dims, e_dims, enc_dims, xkv_dims = _dims_counts(s)
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
    part = np.where(np.isfinite(scale), scale, 1.0)
    out = {"total": total, "active": active, "routed": np.nan_to_num(routed), "embed": embed,
           "encoder": np.nan_to_num(enc_dims * part), "cross_kv": np.nan_to_num(xkv_dims * part),
           "vision": s.vision_params}
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
    speculative-decoding draft network (``techniques.draft_params``) at the same precision; plus a
    vision tower (``vision_bytes``)."""
    bpp = weight_bytes_per_param(s)
    vocab = 2.0 * params["embed"]
    body_scale, _ = techniques.linear_scale(s, s.w_bytes)
    return ((params["total"] - vocab) * body_scale + vocab + params["draft_total"]) * bpp + vision_bytes(s)


def vision_bytes(s: Spec) -> np.ndarray:
    """Bytes of the vision tower's weights: ``vision_params`` at the weight precision for 16/32-bit
    rows, at 16 bit for quantised ones (module docstring); 0 without a tower."""
    wide = s.precision.isin(("fp32", "fp16", "bf16"))
    return s.vision_params * np.where(wide, s.w_bytes, VISION_QUANTISED_BYTES)


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
