"""Step-time model: one engine iteration (decode tokens of a batch + prefill tokens), roofline style.

For an iteration in which ``n_dec`` sequences (mean kept context ``ctx``) each produce one token and
``n_pre`` prompt tokens are prefilled (attending on average to ``pre_ctx`` tokens each):

* FLOPs = ``2 * compute_params * (n_dec + n_pre)`` + attention ``4 * layers * heads * attn_dim *
  (n_dec * ctx + n_pre * pre_ctx)`` (QK^T and AV, 2 FLOPs per multiply-add). ``compute_params`` =
  active parameters without the input embedding (a table lookup). A causal prefill of ``I`` tokens
  from scratch has ``pre_ctx = I / 2``: attention ``2 * layers * heads * attn_dim * I**2``.
  ``ctx`` and ``pre_ctx`` are averages over the layers (``planner.perf.attention``): local layers
  (sliding window, attention chunk) attend to at most their window, global layers to the whole
  context, so ``pre_ctx = G(I) / I`` with ``G`` the layer-averaged causal (query, key) pairs.
* bytes read = dense weights (everything except routed experts and the embedding) + routed experts
  touched: ``E * (1 - (1 - k/E)**T)`` of the ``E`` experts per layer for ``T`` tokens (uniform routing)
  + the KV cache of every decoding sequence.
* time = per-operator roofline, linear layers and attention run one after the other:
  ``max(weight bytes / BW, GEMM FLOPs / P) + max(KV bytes / BW, attention FLOPs / P)`` + TP
  communication + ``step_overhead_ms``, with ``BW = tp * bw * mbu`` and ``P = tp * peak * mfu``
  (decode attention is memory-bound even when the GEMMs of a large batch are compute-bound).
  ``mfu`` and ``mbu`` are multiplied by ``tp_efficiency ** log2(tp)``: smaller per-GPU matrices, kernel
  launch and synchronisation costs that the all-reduce term alone does not capture. Peak = the GPU's rate for the compute precision (see ``peak_tflops``).
* TP communication: 2 all-reduces per layer (after attention and after the FFN), ring algorithm:
  ``2 (tp-1)/tp * tokens * hidden * 2 bytes / link_bw + 2 (tp-1) * hop_latency``.
* Multi-node (``tp * pp`` above ``gpus_per_node``): a TP ring that spans nodes runs at the slower of
  the node link and the per-GPU network bandwidth, with network hop latency; PP stages are laid out
  node by node, so ``nodes - 1`` stage boundaries send each micro-batch's activations
  (``tokens * hidden * 2 bytes``) over the network.
* Expert parallelism (``ep = tp``): whole experts on each GPU instead of a 1/tp slice of every
  expert. Bytes and FLOPs are the same in total, but the step waits for the busiest GPU: with
  uniform routing the experts a GPU must read are Binomial(E/ep, p_touched) and the token-expert
  assignments it computes Binomial(T k, 1/ep); the expected maximum over ``ep`` GPUs is taken as
  ``mean + sd * sqrt(2 ln ep)`` (capped at the total). Communication stays the TP all-reduce (the
  engines' EP-within-TP mode). So in this model EP never beats TP-sharded experts inside a node;
  what it saves in practice (larger expert GEMMs, all-to-all across nodes) is not modelled.
* Encoder-decoder models (``config``, "Model families"; ``memory`` for the parameter split): the
  prompt runs through the **encoder** and the decoder's cross-attention K/V projections, generated
  tokens through the decoder. With ``P_enc`` the encoder stack, ``P_xkv = L x 2 x hidden x kv_heads
  x head_dim`` (cross-attention K, V of the ``L`` decoder layers) and ``P_dec`` the decoder stack:

  - a prompt token costs ``2 (P_enc + P_xkv)`` GEMM FLOPs (``prefill_params``) and the encoder's
    bidirectional attention ``4 Le heads head_dim x I`` FLOPs (``I`` (query, key) pairs per query
    and encoder layer, not ``I/2``): in the formulas above the prompt's mean context ``pre_ctx`` and
    ``h(I)`` are multiplied by ``prefill_attn_scale = 2 Le / L`` (1 on decoder-only rows), since the
    attention FLOPs per (query x context) token are counted over the ``L`` decoder layers;
  - a decode token costs ``2 (P_dec - P_xkv + lm_head)`` FLOPs and reads those weights (Flan-T5-XXL:
    5,567,715,328 parameters; docs/research/families.md §2 quotes all 6.37 B decoder + lm_head
    weights per step, but the 0.81 B cross-attention K/V projections serve the prompt only); its
    attention reads the self-attention KV of the tokens generated so far and the cross-attention
    KV of the ``I`` prompt tokens in every decoder layer, so the mean context over a request is
    ``I + O/2`` and the KV per token is the decoder layers' (both as for a decoder-only model);
  - an iteration reads the decoder's weights if it decodes and the encoder's (+ ``P_xkv``) if it
    prefills (a decoder-only model reads its weights in every iteration);
  - TP: 3 all-reduces per decoder layer (self-attention, cross-attention, FFN) per decode token,
    2 per encoder layer per prompt token (the cross K/V projections are column-parallel: none);
  - the first output token comes from a decoder step after the encoder (``serving``).

  Written so that decoder-only rows compute exactly the same floating-point values as before
  (prompt-only terms enter as differences that are 0.0 there).
* Vision tower (``vision_params`` ``V``, ``image_tokens`` ``n_img``, ``images`` per request ``k``):
  each image runs the tower over ``n_img + 1`` tokens (CLIP ViT-L/14-336: 576 patches + CLS = 577,
  docs/research/families.csv), ``2 V (n_img + 1)`` FLOPs, at the GPU's rate ``P`` (``vision_flops``
  per request = ``2 V (n_img + 1) k``). vLLM runs the multimodal encoder as a pass of its own before
  the language model's forward (V1 ``GPUModelRunner._execute_mm_encoder``, the step's scheduled
  encoder inputs batched by modality), so the time adds to the iteration that prefills the request's
  prompt (``vision_flops x requests / P``) and to the prompt's prefill compute: ``p(I) = c0 + c1 I +
  c2 h(I)`` with ``c0 = vision_flops / P`` (``prefill_per_request``). Counted: the tower's and
  projector's matmuls (LLaVA-1.5-7B: 290,909,184 tower params as vLLM builds it, 23 layers, + the
  20,979,712-param projector: 0.360 TFLOP per image). Not counted: the ViT's attention
  (``4 x 577**2 x 1024 x 23`` = 31 GFLOP, ~9 %), reading the tower's weights (~0.6 GB, compute
  dominates) and the projector running on 576 rather than 577 tokens (0.04 GFLOP).
* PP: a pipeline of ``pp`` stages carries ``m = min(sequences, pp)`` micro-batches; the time for
  every sequence to advance one token (= TPOT) is the time of one micro-batch (``1/m`` of the batch)
  through all layers: ``t_full(batch / m)``. So PP raises throughput at large batch and leaves
  single-sequence latency unchanged (stage-to-stage hop latency is neglected).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.units import BYTES_PER_ELEMENT, GB, TERA

from . import attention, techniques
from .config import Spec
from .memory import ACTIVATION_BYTES, ACTIVATION_CHUNK_TOKENS, kv_bytes_per_token, weight_bytes_per_param

FLOPS_PER_MAC = 2.0
ATTENTION_MATMULS = 2  # QK^T and AV
ALLREDUCES_PER_LAYER = 2
# Per-hop latency of a ring all-reduce step: NVLink/NVSwitch ~1-2 us, PCIe / other ~5 us
# (NCCL small-message latencies; order of magnitude only, the fit absorbs the rest in step overhead).
HOP_LATENCY_S = {"nvlink": 1.5e-6, "other": 5e-6, "network": 10e-6}
# Interconnects that join the GPUs of a node directly, GPU to GPU (the "nvlink" latency class):
# NVLink / NVSwitch, and AMD Infinity Fabric (xGMI), which links each MI300X to its seven peers in a
# fully connected mesh ("high-bandwidth, low-latency", AMD ROCm blog "Understanding RCCL Bandwidth
# and xGMI Performance on AMD Instinct MI300X", 2025-03-02). Everything else (PCIe through the
# host, RoCE, ...) is "other".
DIRECT_LINKS = ("nvlink", "infinity fabric", "xgmi")
MS = 1e-3


def peak_tflops(s: Spec) -> tuple[np.ndarray, np.ndarray]:
    """Dense peak TFLOP/s per GPU for each row's compute precision and a ``precision_fallback`` flag.

    fp32 -> fp32 column; fp16/bf16 -> their column (the other 16-bit one if empty, flagged);
    fp8 -> ``gpu_fp8_tflops``; fp4 -> ``gpu_fp4_tflops``; int8 -> ``gpu_int8_tops`` (W8A8);
    int4 -> the 16-bit rate (weight-only W4A16, not a fallback). A GPU without the format runs it
    weight-only at its 16-bit rate and the row is flagged. No usable rate -> an error on the row.
    """
    t = s.tflops
    bf = np.where(np.isnan(t["bf16"]), t["fp16"], t["bf16"])
    fp = np.where(np.isnan(t["fp16"]), t["bf16"], t["fp16"])
    p = s.precision
    columns = {"fp32": t["fp32"], "fp16": t["fp16"], "bf16": t["bf16"], "fp8": t["fp8"], "fp4": t["fp4"],
               "int8": t["int8"], "int4": bf}
    native = np.full(s.n, np.nan)
    for name, column in columns.items():
        rows = p.eq(name)
        native[rows] = column[rows]
    is_fp16, is_fp32 = p.eq("fp16"), p.eq("fp32")
    sixteen = np.where(is_fp16, fp, bf)
    fallback = np.isnan(native) & ~is_fp32
    peak = np.where(fallback, sixteen, native)
    s.add_error(~(peak > 0) & is_fp32, "gpu_fp32_tflops missing")
    s.add_error(~(peak > 0) & ~is_fp32, "gpu_bf16_tflops/gpu_fp16_tflops missing")
    return peak, fallback & (peak > 0)


def _max_factor(n: np.ndarray) -> np.ndarray:
    """``2 ln n``: squared number of standard deviations the maximum of ``n`` draws lies above the
    mean (Gaussian extreme-value scale; 0 for n = 1)."""
    return 2.0 * np.log(np.maximum(n, 1.0))


@dataclass
class StepModel:
    """Per-row coefficients of the iteration-time model (SI units: s, bytes, FLOP)."""

    s: Spec
    compute_params: np.ndarray
    expert_params: np.ndarray  # parameters of one routed expert summed over the MoE layers (0 dense)
    dense_bytes: np.ndarray  # weights read every step regardless of routing
    routed_bytes: np.ndarray  # all routed-expert weights
    experts: np.ndarray
    top_k: np.ndarray
    kv_per_token: np.ndarray
    attn_flops_per_ctx: np.ndarray  # FLOPs per (query token x context token)
    peak: np.ndarray  # FLOP/s per GPU at the compute precision
    precision_fallback: np.ndarray
    bw: np.ndarray  # bytes/s per GPU
    mfu: np.ndarray
    mbu: np.ndarray
    overhead_s: np.ndarray
    hop_latency_s: np.ndarray  # per all-reduce ring step
    # derived once (the step-time functions are evaluated many times per row)
    rate: np.ndarray = None  # achieved FLOP/s of the TP group
    eff_bw: np.ndarray = None  # achieved bytes/s of the TP group
    comm_per_token: np.ndarray = None  # TP all-reduce seconds per token of the iteration
    comm_fixed: np.ndarray = None  # TP all-reduce latency seconds per iteration
    moe_rows: np.ndarray = None  # indices of rows with routed experts
    dense_compute_params: np.ndarray = None  # compute_params without the routed experts' share
    pp_cross_per_token: np.ndarray = None  # seconds per token to cross the PP node boundaries
    pp_cross_fixed: np.ndarray = None
    # serving techniques (planner.perf.techniques)
    draft: dict = None  # draft network sizes (techniques.draft_params) and its KV bytes per token
    spec_rows: np.ndarray = None  # indices of rows with speculative decoding
    uncached: np.ndarray = None  # 1 - prefix hit rate: share of prompt tokens computed
    prefix_attention: np.ndarray = None  # share of a prompt's attention FLOPs computed
    # model families (module docstring): parameters a prompt token runs through (decoder-only:
    # compute_params), extra weight bytes an iteration reads when it prefills, the prompt's attention
    # relative to a causal pass over the decoder layers, vision-tower FLOPs per request
    prefill_params: np.ndarray = None
    prefill_bytes: np.ndarray = None
    prefill_attn_scale: np.ndarray = None
    vision_flops: np.ndarray = None
    prefill_extra_params: np.ndarray = None  # prefill_params - dense_compute_params (0 decoder-only)
    prefill_comm_extra: np.ndarray = None  # TP all-reduce s per prompt token beyond a decode token's
    prefill_comm_fixed: np.ndarray = None  # all-reduce latency of an iteration's encoder pass

    def __post_init__(self) -> None:
        s = self.s
        n = s.tp
        self.rate = n * self.peak * self.mfu
        self.eff_bw = n * self.bw * self.mbu
        link = np.where(s.link_gb_s > 0, s.link_gb_s * GB, np.inf)
        network = np.where(s.network_gb_s > 0, s.network_gb_s * GB, np.inf)
        tp_spans_nodes = n > s.gpus_per_node
        link = np.where(tp_spans_nodes, np.minimum(link, network), link)
        hop = np.where(tp_spans_nodes, HOP_LATENCY_S["network"], self.hop_latency_s)
        decode_ar = np.where(s.enc_dec, (ALLREDUCES_PER_LAYER + 1) * s.layers, ALLREDUCES_PER_LAYER * s.layers)
        prefill_ar = np.where(s.enc_dec, ALLREDUCES_PER_LAYER * s.enc_layers, decode_ar)
        per_layer = np.where(n > 1, decode_ar, 0.0)
        self.comm_per_token = per_layer * 2.0 * (n - 1.0) / n * s.hidden * ACTIVATION_BYTES / link
        self.comm_fixed = per_layer * 2.0 * (n - 1.0) * hop
        pre = np.where(n > 1, prefill_ar, 0.0)
        pre_per_token = pre * 2.0 * (n - 1.0) / n * s.hidden * ACTIVATION_BYTES / link
        self.prefill_comm_extra = np.where(s.enc_dec, pre_per_token - self.comm_per_token, 0.0)
        self.prefill_comm_fixed = np.where(s.enc_dec, pre * 2.0 * (n - 1.0) * hop, 0.0)
        crossings = np.where((s.pp > 1) & ~tp_spans_nodes, s.nodes - 1.0, 0.0)
        self.pp_cross_per_token = crossings * s.hidden * ACTIVATION_BYTES / network
        self.pp_cross_fixed = crossings * HOP_LATENCY_S["network"]
        self.moe_rows = np.flatnonzero(self.experts > 0)
        self.dense_compute_params = np.maximum(self.compute_params - self.top_k * self.expert_params, 0.0)
        self.prefill_extra_params = np.where(s.enc_dec, self.prefill_params - self.dense_compute_params, 0.0)
        self.spec_rows = np.flatnonzero(s.spec_k > 0)
        self.uncached = 1.0 - s.prefix_hit
        self.prefix_attention = techniques.prefix_attention_share(s.prefix_hit)

    @classmethod
    def build(cls, s: Spec, params: dict[str, np.ndarray], eff) -> "StepModel":
        bpp = weight_bytes_per_param(s)
        byte_scale, flop_scale = techniques.linear_scale(s, s.w_bytes)  # 2:4 sparsity (1 when dense)
        lm_head = params["embed"]  # the output projection: never pruned
        routed = params["routed"] * bpp * byte_scale
        prompt_only = params["encoder"] + params["cross_kv"]  # encoder-decoder: run on the prompt only
        dense = ((params["total"] - params["embed"] - lm_head - params["routed"] - prompt_only) * byte_scale
                 + lm_head) * bpp
        kv = kv_bytes_per_token(s)
        draft = {k: v for k, v in params.items() if k.startswith("draft_")}
        draft["draft_kv_per_token"] = techniques.draft_kv_per_token(s, kv)
        draft["bytes_per_param"] = bpp  # the draft runs at the target's precision
        attn_dim = np.where(s.attention_type.eq("mla"),
                            np.nan_to_num(s.kv_lora_rank) + s.qk_rope_head_dim, s.head_dim)
        peak, fb = peak_tflops(s)
        tp_scale = np.power(np.asarray(eff["tp_efficiency"], float), np.log2(np.maximum(s.tp, 1.0)))
        expert_params = np.where(s.experts > 0, params["routed"] / np.maximum(s.experts, 1.0), 0.0) * flop_scale
        compute = (params["active"] - params["embed"] - lm_head - prompt_only) * flop_scale + lm_head
        enc_dec = s.enc_dec
        decoder_layers = np.where(s.layers > 0, s.layers, 1.0)
        images = np.where(s.images > 0, FLOPS_PER_MAC * params["vision"] * (s.image_tokens + 1.0) * s.images, 0.0)
        return cls(s=s, compute_params=compute, expert_params=expert_params,
                   dense_bytes=dense, draft=draft,
                   prefill_params=np.where(enc_dec, prompt_only * flop_scale, compute),
                   prefill_bytes=np.where(enc_dec, prompt_only * byte_scale * bpp, 0.0),
                   prefill_attn_scale=np.where(enc_dec, 2.0 * s.enc_layers / decoder_layers, 1.0),
                   vision_flops=images,
                   routed_bytes=routed, experts=s.experts, top_k=s.top_k,
                   kv_per_token=kv,
                   attn_flops_per_ctx=FLOPS_PER_MAC * ATTENTION_MATMULS * s.layers * s.heads * attn_dim,
                   peak=peak * TERA, precision_fallback=fb, bw=s.bw_gb_s * GB,
                   mfu=np.asarray(eff["mfu"], float) * tp_scale, mbu=np.asarray(eff["mbu"], float) * tp_scale,
                   overhead_s=np.asarray(eff["step_overhead_ms"], float) * MS,
                   hop_latency_s=np.where(s.interconnect.per_value(lambda u: any(k in u for k in DIRECT_LINKS)),
                                          HOP_LATENCY_S["nvlink"], HOP_LATENCY_S["other"]))

    # ---- pieces -------------------------------------------------------------------------------
    def routed_bytes_read(self, tokens: np.ndarray) -> np.ndarray:
        """Bytes of routed-expert weights read by an iteration of ``tokens`` tokens, as if spread
        evenly over the TP group: the expected share of experts touched, ``1 - (1 - k/E)**T``, of
        all routed weights (0 for dense models; computed on the MoE rows only). With expert
        parallelism, ``ep`` times the busiest GPU's reads (module docstring)."""
        out = np.zeros(np.broadcast(tokens, self.routed_bytes).shape)
        i = self.moe_rows
        if i.size:
            tok = np.broadcast_to(tokens, out.shape)[i]
            e, ep = self.experts[i], self.s.ep[i]
            keep = np.clip(1.0 - self.top_k[i] / e, 0.0, 1.0)
            touched = 1.0 - np.power(keep, np.maximum(tok, 0.0))
            local = e / ep
            busiest = np.minimum(local, local * touched + np.sqrt(local * touched * (1.0 - touched) * _max_factor(ep)))
            out[i] = self.routed_bytes[i] / e * ep * busiest
        return out

    def expert_assignments(self, tokens: np.ndarray) -> np.ndarray:
        """Token-expert assignments computed by an iteration, as if spread evenly over the TP
        group: ``T k``; with expert parallelism ``ep`` times the busiest GPU's share."""
        t = np.maximum(np.broadcast_to(tokens, np.broadcast(tokens, self.top_k).shape), 0.0)
        total = t * self.top_k
        ep = self.s.ep
        if not np.any(ep > 1):
            return total
        busiest = np.minimum(total, total / ep + np.sqrt(total * (1.0 - 1.0 / ep) / ep * _max_factor(ep)))
        return np.where(ep > 1, ep * busiest, total)

    def comm_time(self, tokens: np.ndarray) -> np.ndarray:
        """TP all-reduce time of an iteration with ``tokens`` decode tokens (ring: bandwidth + hop latency)."""
        return self.comm_per_token * tokens + self.comm_fixed

    def _by_phase(self, decode_part, prefill_part, n_dec, n_pre) -> np.ndarray:
        """``decode_part`` unless an encoder-decoder iteration decodes nothing (a decoder-only
        model runs every token through the same weights), plus ``prefill_part`` (0 on decoder-only
        rows) when the iteration prefills: what an iteration of each kind reads or waits for."""
        return (np.where(self.s.enc_dec & (n_dec <= 0), 0.0, decode_part)
                + np.where(n_pre > 0, prefill_part, 0.0))

    def full_time(self, n_dec, ctx, n_pre, pre_ctx, q=1.0, n_req=0.0) -> np.ndarray:
        """Time of one micro-batch through all layers on one TP group (see module docstring);
        ``q`` query tokens per decoding sequence (``k + 1`` when verifying a speculative draft);
        ``n_req`` requests whose prompts start in this iteration (their vision-tower pass)."""
        tokens = n_dec * q + n_pre
        bw, rate = self.eff_bw, self.rate
        # linear layers: weights streamed once per iteration, GEMM FLOPs for every token (prompt
        # tokens of an encoder-decoder model through the encoder: prefill_extra_params)
        w_bytes = self._by_phase(self.dense_bytes, self.prefill_bytes, n_dec, n_pre) + self.routed_bytes_read(tokens)
        gemm_flops = FLOPS_PER_MAC * (self.dense_compute_params * tokens
                                      + self.expert_params * self.expert_assignments(tokens)
                                      + self.prefill_extra_params * n_pre)
        t_lin = np.maximum(w_bytes / bw, gemm_flops / rate)
        # attention: decode reads each sequence's KV cache once for its q query tokens; prefill is FLOP-bound
        attn_flops = self.attn_flops_per_ctx * (n_dec * q * ctx + n_pre * pre_ctx)
        t_att = np.maximum(self.kv_per_token * n_dec * ctx / bw, attn_flops / rate)
        pp_hops = self.pp_cross_per_token * tokens + self.pp_cross_fixed
        comm = (self.comm_per_token * tokens + self._by_phase(self.comm_fixed, self.prefill_comm_fixed, n_dec, n_pre)
                + self.prefill_comm_extra * n_pre)
        t_vision = self.vision_flops * n_req / rate
        return t_lin + t_att + comm + pp_hops + self.overhead_s + t_vision

    def draft_time(self, n_dec, ctx) -> np.ndarray:
        """One draft step of ``n_dec`` sequences (``techniques``): the draft network's roofline at the
        batch (its routed experts by the touched share), its KV read, its share of the all-reduces,
        and ``spec_step_overhead_ms`` (0 unless measured). 0 on rows without speculative decoding."""
        d = self.draft
        n_dec = np.broadcast_to(np.asarray(n_dec, float), (self.s.n,))
        touched = np.ones(self.s.n)
        i = self.moe_rows
        if i.size:
            keep = np.clip(1.0 - self.top_k[i] / self.experts[i], 0.0, 1.0)
            touched[i] = 1.0 - np.power(keep, np.maximum(n_dec[i], 0.0))
        share = np.where(self.experts > 0, self.top_k / np.maximum(self.experts, 1.0), 0.0)
        w_bytes = d["bytes_per_param"] * (d["draft_dense"] + d["draft_routed"] * touched)
        flops = FLOPS_PER_MAC * n_dec * (d["draft_dense"] + d["draft_routed"] * share)
        t = np.maximum(w_bytes / self.eff_bw, flops / self.rate) + d["draft_kv_per_token"] * n_dec * ctx / self.eff_bw
        t = t + d["draft_layer_share"] * self.comm_time(n_dec) + self.s.draft_overhead_s
        return np.where(self.s.spec_k > 0, t, 0.0)

    # ---- public step times ----------------------------------------------------------------------
    def iteration_time(self, n_dec, ctx, n_pre=0.0, pre_ctx=0.0, n_seq=None, q=1.0, n_req=0.0) -> np.ndarray:
        """Seconds for every decoding sequence to advance one step while ``n_pre`` prompt tokens
        (of ``n_req`` requests) are prefilled; ``n_seq`` = sequences in the iteration (micro-batches
        for PP); ``q`` query tokens per decoding sequence."""
        n_dec, ctx, n_pre, pre_ctx, n_req = (np.asarray(x, float) for x in (n_dec, ctx, n_pre, pre_ctx, n_req))
        seqs = n_dec if n_seq is None else np.asarray(n_seq, float)
        m = np.clip(np.minimum(np.maximum(seqs, 1.0), self.s.pp), 1.0, None)
        return self.full_time(n_dec / m, ctx, n_pre / m, pre_ctx, q, n_req / m)

    def tokens_per_step(self) -> np.ndarray:
        """Output tokens per sequence per engine step: ``E[L]`` with speculative decoding, else 1."""
        return techniques.tokens_per_step(self.s.spec_alpha, self.s.spec_k)

    def step_time(self, n_dec, ctx, n_pre=0.0, pre_ctx=0.0, n_seq=None, n_req=0.0) -> np.ndarray:
        """One engine step: the iteration (verifying ``k + 1`` tokens per sequence with speculative
        decoding) plus ``k`` draft steps; ``n_req`` requests start their prefill in it."""
        k = self.s.spec_k
        t = self.iteration_time(n_dec, ctx, n_pre, pre_ctx, n_seq, q=k + 1.0, n_req=n_req)
        if self.spec_rows.size:
            t = t + k * self.draft_time(n_dec, ctx)
        return t

    def decode_time(self, batch, ctx) -> np.ndarray:
        """Seconds per output token of each of ``batch`` decoding sequences (a step over its tokens)."""
        return self.step_time(batch, ctx) / self.tokens_per_step()

    def prefill_tokens(self, n_seq, prompt_len) -> tuple[np.ndarray, np.ndarray]:
        """(tokens computed, mean context each attends to) when ``n_seq`` prompts of ``prompt_len``
        tokens are prefilled, after the prefix cache (``techniques``; the prompt itself without).
        The context is in units of the decoder layers' attention (``prefill_attn_scale``: an
        encoder-decoder prompt's bidirectional encoder attention, module docstring)."""
        prompt_len = np.asarray(prompt_len, float)
        pre_ctx = attention.prefill_context(self.s, prompt_len) * self.prefill_attn_scale
        u = self.uncached
        return np.asarray(n_seq, float) * prompt_len * u, pre_ctx * self.prefix_attention / u

    def prefill_time(self, n_seq, prompt_len) -> np.ndarray:
        """Static prefill of ``n_seq`` prompts of ``prompt_len`` tokens in one iteration (with
        their vision-tower passes)."""
        n_seq = np.asarray(n_seq, float)
        tokens, pre_ctx = self.prefill_tokens(n_seq, prompt_len)
        return self.iteration_time(0.0, 0.0, tokens, pre_ctx, n_seq=n_seq, n_req=n_seq)

    def prefill_chunks(self, prompt_len) -> np.ndarray:
        """Chunked-prefill iterations a prompt spans: ``ceil((1 - h) I / C)`` (``C`` =
        ``memory.ACTIVATION_CHUNK_TOKENS``); ``prompt_len`` (rows,) or (rows, samples)."""
        i = np.asarray(prompt_len, float)
        u = self.uncached[:, None] if i.ndim == 2 else self.uncached
        return np.ceil(i * u / ACTIVATION_CHUNK_TOKENS)

    def prefill_coeffs(self) -> tuple[np.ndarray, np.ndarray]:
        """(c1, c2) with the marginal time a prompt of ``I`` tokens adds to an iteration when it
        piggybacks on a decode batch = ``c0 + c1 * I + c2 * h(I)``: its FLOPs at ``peak * mfu`` plus its
        share of TP communication bandwidth (weights are not re-read). ``h(I) = 2 G(I)`` is the
        attention term (``prefill_attention``): ``I**2`` when every layer is global, less when local
        layers cap the span. Encoder-decoder rows: ``c1 = (2 (P_enc + P_xkv) / P`` + the encoder's
        all-reduces) and ``c2 h(I)`` = the encoder's bidirectional attention ``4 Le heads head_dim
        I**2 / P`` (``prefill_attn_scale``). ``c0`` (per request, the vision tower) is
        ``prefill_per_request``."""
        c1 = (FLOPS_PER_MAC * self.prefill_params / self.rate + (self.comm_per_token + self.prefill_comm_extra)
              + self.pp_cross_per_token)
        c2 = self.attn_flops_per_ctx / 2.0 / self.rate * self.prefill_attn_scale
        return c1 * self.uncached, c2 * self.prefix_attention  # after the prefix cache (techniques)

    def prefill_per_request(self) -> np.ndarray:
        """``c0``: prefill seconds a request adds whatever its length: its images through the
        vision tower, ``vision_flops / (tp * peak * mfu)`` (0 without images)."""
        return self.vision_flops / self.rate

    def prefill_attention(self, prompt_len) -> np.ndarray:
        """``h(I) = 2 G(I)``: twice the layer-averaged causal (query, key) pairs of a prompt
        (``I**2`` for full attention; ``planner.perf.attention.pairs``)."""
        return 2.0 * attention.pairs(self.s, prompt_len)

    def prefill_compute_time(self, prompt_len) -> np.ndarray:
        """``c0 + c1 * I + c2 * h(I)`` (see ``prefill_coeffs``, ``prefill_per_request``);
        ``prompt_len`` may be (rows,) or (rows, samples)."""
        c1, c2 = self.prefill_coeffs()
        c0 = self.prefill_per_request()
        i = np.asarray(prompt_len, float)
        if i.ndim == 2:
            c0, c1, c2 = c0[:, None], c1[:, None], c2[:, None]
        return c1 * i + c2 * self.prefill_attention(i) + c0

__all__ = ["StepModel", "peak_tflops", "BYTES_PER_ELEMENT"]
