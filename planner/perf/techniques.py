"""Serving techniques in the performance model: speculative decoding, prefix caching, 2:4 sparsity.

Each is a per-row column of the model's input (``planner.perf.config``, "Serving techniques") and
changes the physics, with no fitted factor of its own:

* **Speculative decoding** (Leviathan et al. 2023, "Fast Inference from Transformers via Speculative
  Decoding", Thm 3.8; docs/research/techniques.md §1): a step drafts ``k`` tokens per sequence,
  then the target verifies all ``k + 1`` positions in one forward pass. With per-token acceptance
  ``alpha`` (i.i.d.) a step emits ``E[L] = (1 - alpha**(k+1)) / (1 - alpha)`` tokens per sequence.
  Step time = the target's iteration with ``k + 1`` query tokens per sequence (weights read once,
  GEMM and attention FLOPs for every query token, each sequence's KV read once) + ``k`` draft steps;
  time per output token = step / ``E[L]``. So at small batch (memory-bound) the extra query tokens
  are nearly free and the gain approaches ``E[L] / (1 + k c)``; at large batch (compute-bound) the
  verify step costs ``k + 1`` times as much and the gain falls below 1: the batch dependence the
  engines' authors report (EAGLE-3 on SGLang, H100: 1.81x at batch 2, 1.38x at 64).
  A draft step is a roofline forward of the draft network at the batch: its weights once (routed
  experts by the touched share, as for the target), ``2 x params`` FLOPs per sequence, its KV cache,
  its share of the TP all-reduces, and no fixed per-step overhead unless ``spec_step_overhead_ms``
  gives one (measured on the engine: launch, sampling and bookkeeping per draft step, which the
  roofline does not see; benchmarks/technique_spot_checks.py compares the model with published
  speed-ups: EAGLE heads on an 8B model come out 1.4-1.8x too fast without it). Draft networks:

  - ``eagle`` (EAGLE-style head) and ``mtp`` (the model's own multi-token-prediction module,
    DeepSeek-V3): one layer of the target (its average layer: attention, FFN or one MoE layer) plus
    an lm-head-sized projection, KV of one target layer; ``draft_params_b`` overrides the size;
  - ``draft-model``: a separate small model (``draft_params_b``, ``draft_num_layers``,
    ``draft_num_kv_heads``, ``draft_head_dim``), all parameters dense, run at the target's TP.

  Memory: the draft's weights (at the target's precision) and its KV per token are added.
  The TPOT percentiles use the mean tokens per step (acceptance noise averages over a request's
  many steps and is not modelled).
* **Prefix caching** (hit rate ``h``: share of prompt tokens whose KV is already cached): a prompt
  of ``I`` tokens computes only its last ``(1 - h) I`` tokens: linear-layer FLOPs and TP traffic
  times ``1 - h``, causal attention pairs ``I**2/2 - (h I)**2/2``, i.e. times ``1 - h**2`` (an upper
  bound where sliding-window layers save less: ``prefix_attention_share``), and ``ceil((1 - h) I / C)``
  prefill chunks. KV memory per
  sequence is unchanged (shared blocks are not counted twice: conservative).
* **2:4 structured sparsity** (Mishra et al. 2021, arXiv:2104.08378): every linear layer of the
  transformer blocks keeps 2 of each 4 weights plus a 2-bit index per kept weight, so it stores
  ``0.5 + 1/bits`` of the dense bytes (16-bit: 0.5625), and sparse tensor cores run its GEMMs at
  twice the dense peak. Embeddings and ``lm_head`` stay dense. Only NVIDIA Ampere or later have
  sparse tensor cores (``SPARSE_TENSOR_CORE_FAMILIES``).
"""

from __future__ import annotations

import numpy as np

from .config import SPARSE_TENSOR_CORE_FAMILIES, Spec

__all__ = ["SPARSE_TENSOR_CORE_FAMILIES", "tokens_per_step", "sparse_weight_ratio", "prefix_attention_share",
           "linear_scale", "draft_params", "draft_kv_per_token"]

SPARSE_MATH_SPEEDUP = 2.0  # 2:4 sparse tensor cores: twice the dense math rate (arXiv:2104.08378)
SPARSE_INDEX_BITS = 2.0  # metadata per kept weight (2 of 4 positions)


def tokens_per_step(alpha, k) -> np.ndarray:
    """``E[L] = (1 - alpha**(k+1)) / (1 - alpha)``: tokens a speculative step emits per sequence
    (``k`` drafted, i.i.d. acceptance ``alpha``; 1 when ``k = 0``)."""
    alpha, k = np.asarray(alpha, float), np.asarray(k, float)
    return np.where(k > 0, (1.0 - np.power(alpha, k + 1.0)) / (1.0 - alpha), 1.0)


def sparse_weight_ratio(bytes_per_weight) -> np.ndarray:
    """Stored bytes of a 2:4-sparse matrix over its dense bytes: half the values plus a 2-bit index
    per kept value, ``0.5 + 1 / bits`` (16-bit: 0.5625, 8-bit: 0.625)."""
    bits = 8.0 * np.asarray(bytes_per_weight, float)
    return 0.5 + 0.5 * SPARSE_INDEX_BITS / bits


def prefix_attention_share(hit) -> np.ndarray:
    """Share of a prompt's attention FLOPs left to compute when its first ``hit`` share of tokens is
    cached: ``1 - G(hI) / G(I)`` with ``G`` the causal (query, key) pairs, ``1 - h**2`` for global
    layers. Local layers keep at least ``h**2`` of their pairs in the prefix (``G_l`` grows no faster
    than ``x**2/2``), so ``1 - h**2`` is an upper bound of the share for every layer mix: used for all
    (exact without local layers, conservative with them)."""
    h = np.asarray(hit, float)
    return 1.0 - h * h


def linear_scale(s: Spec, bytes_per_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bytes factor, FLOP factor) of the transformer blocks' linear layers: 2:4-sparse rows store
    ``sparse_weight_ratio`` of the bytes and compute at twice the rate; 1 for dense rows."""
    return (np.where(s.sparse, sparse_weight_ratio(bytes_per_weight), 1.0),
            np.where(s.sparse, 1.0 / SPARSE_MATH_SPEEDUP, 1.0))


def draft_params(s: Spec, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Parameters of each row's draft network (0 without speculative decoding):

    ``draft_dense`` (read and computed every draft step), ``draft_routed`` (one MoE layer's routed
    experts, read by the touched share), ``draft_total`` (held in memory) and ``draft_layer_share``
    (its layers over the target's, for the TP all-reduces)."""
    on = s.spec_k > 0
    L = np.where(s.layers > 0, s.layers, 1.0)
    embed = params["embed"]
    moe_layers = np.maximum(L - s.first_dense, 1.0)
    one_layer = (params["total"] - 2.0 * embed - params["routed"]) / L  # attention + FFN/shared of the mean layer
    head_routed = np.where(s.experts > 0, params["routed"] / moe_layers, 0.0)
    head_dense = one_layer + embed  # + an lm-head-sized projection over the vocabulary
    model = s.spec_method.eq("draft-model")
    given = s.draft_params > 0
    dense = np.where(model | given, np.nan_to_num(s.draft_params), head_dense)
    routed = np.where(model | given, 0.0, head_routed)
    share = np.where(model, np.nan_to_num(s.draft_layers) / L, 1.0 / L)
    zero = np.zeros(s.n)
    return {"draft_dense": np.where(on, dense, zero), "draft_routed": np.where(on, routed, zero),
            "draft_total": np.where(on, dense + routed, zero), "draft_layer_share": np.where(on, share, zero)}


def draft_kv_per_token(s: Spec, target_kv_per_token: np.ndarray) -> np.ndarray:
    """KV bytes per token of the draft network (summed over the instance's GPUs): one target layer
    for eagle/mtp heads; ``2 x layers x max(kv_heads, tp) x head_dim x bytes`` for a draft model."""
    L = np.where(s.layers > 0, s.layers, 1.0)
    model = np.nan_to_num(2.0 * s.draft_layers * np.maximum(s.draft_kv_heads, s.tp) * s.draft_head_dim * s.kv_bytes)
    per = np.where(s.spec_method.eq("draft-model"), model, target_kv_per_token / L)
    return np.where(s.spec_k > 0, per, 0.0)
