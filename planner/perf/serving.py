"""Serving model: scenarios of DESIGN §3.3 (``estimate``) and capacity at a P99 SLO (``capacity_at_slo``).

Both are vectorised over the rows of the configuration table; an engine *instance* is ``tp * pp`` GPUs
with one copy of the weights, and a row with ``num_gpus = dp * tp * pp`` runs ``dp`` instances that
share its load (``concurrency`` is split evenly; ``throughput`` is summed). ``weights_gb`` and
``kv_gb`` (KV-cache pool) are per instance; ``max_concurrency`` is for the whole row.

``estimate`` scenarios (``I``/``O`` = input/output length, ``T`` = iteration time from
``latency.StepModel``; ``C`` = ``memory.ACTIVATION_CHUNK_TOKENS`` = prefill chunk size):

* ``fixed_batch``: a static batch of ``concurrency`` (default 1) identical requests.
  TTFT = prefill of the whole batch in one iteration; TPOT = decode step at that batch with the mean
  context ``I + O/2``; e2e = TTFT + (O-1) * TPOT = time to finish the batch. A batch larger than the
  KV cache holds runs in ``ceil(batch / max_concurrency)`` equal waves (vLLM's behaviour), e2e is
  then the sum of the waves. TTFT is the mean over the requests of ``concurrency`` clients that
  resend as soon as they finish (how static benchmarks such as LMDeploy's ``profile_generation``
  measure it): when the batch exceeds what the paged KV cache keeps running, each request first
  waits ``S * (concurrency / cap - 1)`` (Little's law, ``S`` = one request's prefill + decode time,
  ``cap = kv / (I + O/2)``: a waiting request is admitted as soon as its prompt's blocks are free,
  and the sequences running in a closed loop are at every stage of their output, holding ``I + O/2``
  tokens on average; the waves above bound completion, when all sequences of a round hold ``I + O``).
* ``offline``: continuous batching at the largest batch memory allows (``concurrency`` caps it).
  Steady state with chunked prefill: each iteration advances the ``B`` running sequences by one token
  and prefills ``B * I / O`` prompt tokens (the prompts of the requests that replace finishing ones),
  so T = iteration_time(B, ctx, B*I/O) and throughput = B / T. TTFT = one iteration (arrival
  alignment: in a closed loop a request is sent when its predecessor's last token is streamed, at
  an iteration boundary, just after the engine has started the next iteration without it) +
  ``ceil(I / C)`` iterations + the prompt's own prefill compute.
* ``server`` / ``interactive``: the same steady state with ``B = min(concurrency, max_concurrency)``
  requests in flight (closed loop). If ``concurrency`` exceeds what memory holds, the excess waits:
  by Little's law each request waits ``e2e * (concurrency / B - 1)`` before its prefill.

Context lengths above are for models whose layers all attend to the whole context. Where local
layers (sliding window, attention chunk) cap the span, every context is the layer-averaged one of
``planner.perf.attention``: the mean over the decode from ``I`` to ``I + O`` replaces ``I + O/2``
(attended and held tokens), ``G(I)/I`` replaces the prompt's ``I/2``, and the memory a sequence can
need at most (``max_concurrency``) is ``(1-f) (I+O) + f min(I+O, window)`` tokens per layer.

Empty ``input_len`` / ``output_len`` use ShareGPT-like means (``config.DEFAULT_INPUT_LEN`` = 245,
``config.DEFAULT_OUTPUT_LEN`` = 228 tokens; source: the LMDeploy ShareGPT rows described in
``../shared/calibration/README.md``). ``explain`` returns the same estimates with diagnostic columns
(``lengths_assumed``, ``precision_fallback``, ``efficiency_key``, ``batch``, ``dp``).

Engines in ``FIRST_TOKEN_FROM_DECODE`` prefill all prompt tokens but the last in a separate context
pass and sample the first token in the following decode step of the whole batch (TurboMind:
``LlamaBatch::ContextDecode`` "skip last input token (will process with decoder later)"); their TTFT
has one more decode step than the prefill, in every scenario (for ``I = 1`` there is no context
pass, only that step).

Encoder-decoder models (``latency`` module docstring): every prefill above runs the encoder over
the prompt (``prefill_time``, ``prefill_tokens``, ``prefill_compute_time`` use the encoder's
parameters and bidirectional attention), and the first output token comes from a decoder step after
it, so their TTFT has one more decode step, as for ``FIRST_TOKEN_FROM_DECODE`` engines (at any
``I``). Their KV per sequence is the decoder layers' over ``I + O`` tokens (cross-attention KV of the
``I`` prompt tokens, self-attention KV of the ``O`` generated ones; the encoder keeps none), the same
``I + O`` tokens as a decoder-only model, and the decode steps attend ``I + O/2`` tokens on average.

Vision tower (``latency``): a request's images add ``c0 = vision_flops / P`` to its prefill compute
(``prefill_compute_time``) and their pass to the iteration that prefills its prompt (``n_req``).

Engine limits: continuous batching runs at most ``min(max_batch, max_tokens / (1 + I/O))`` sequences
per instance (``ENGINE_MAX_BATCH`` / ``ENGINE_MAX_TOKENS``, engines without an entry: memory only); in
steady state an iteration carries ``B`` decode tokens and ``B I / O`` prompt tokens. A ``server``
load above it waits as above a full KV cache; ``max_concurrency`` stays the memory bound.

``capacity_at_slo`` and the latency percentiles under Poisson load are in ``queueing``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.units import GB

from . import attention
from .config import Spec, prepare
from .latency import StepModel
from .memory import (kept_tokens, kv_capacity_bytes, max_sequences,
                     param_counts, weight_bytes)
from .types import Efficiency

OUTPUT_COLUMNS = ["fits", "throughput_out_tok_s", "requests_per_s", "ttft_ms", "tpot_ms",
                  "e2e_latency_ms", "max_concurrency", "weights_gb", "kv_gb", "error"]
MS_PER_S = 1e3
# Engines whose first output token comes from a decode step after a separate context pass (module
# docstring). LMDeploy TurboMind as calibrated (v0.1, ../shared/calibration/README.md).
FIRST_TOKEN_FROM_DECODE = ("lmdeploy",)
# Engine scheduler limits applied without user settings (module docstring, "Engine limits"):
# TensorRT-LLM as run by trtllm-bench (the engine's throughput tables): its build heuristic
# (tensorrt_llm/bench/build/tuning.py, ``finetune_setting``) caps the max batch size at 4096
# requests over the pipeline and max_num_tokens at 32768 tokens per iteration.
ENGINE_MAX_BATCH = {"trtllm": 4096.0}
ENGINE_MAX_TOKENS = {"trtllm": 32768.0}


class _Model:
    """Everything per row that does not depend on the scenario."""

    def __init__(self, spec: Spec, efficiency: Efficiency):
        self.s = s = spec
        self.params = param_counts(s)
        self.eff = efficiency.lookup(s.engine, s.gpu_family)
        self.step = StepModel.build(s, self.params, self.eff)
        self.wbytes = weight_bytes(s, self.params)
        self.kv_cap = kv_capacity_bytes(s, self.wbytes, self.eff["mem_utilization"].to_numpy(float))
        self.ok = s.ok
        # the first output token from a decode step: engines that prefill the prompt but its last
        # token (for I > 1, ``first_from_decode``), and every encoder-decoder model
        self.decode_first = s.engine.isin(FIRST_TOKEN_FROM_DECODE) | s.enc_dec
        self.max_batch = s.engine.lookup(ENGINE_MAX_BATCH, np.inf)
        self.max_tokens = s.engine.lookup(ENGINE_MAX_TOKENS, np.inf)
        # KV bytes a sequence holds per token: the target's and a speculative draft network's
        self.kv_mem_per_token = self.step.kv_per_token + self.step.draft["draft_kv_per_token"]

    def batch_cap(self, I: np.ndarray, O: np.ndarray) -> np.ndarray:
        """The engine's limit on running sequences under continuous batching with requests of ``I``
        input / ``O`` output tokens: its max batch, and its token budget per iteration, which the
        steady state's ``B (1 + I/O)`` tokens (``B`` decodes + the prompts of the ``B/O`` requests
        that start per iteration) must fit (inf = no limit)."""
        return np.minimum(self.max_batch, self.max_tokens / (1.0 + I / O))

    def max_seqs(self, tokens_per_seq: np.ndarray) -> np.ndarray:
        """Sequences of ``tokens_per_seq`` tokens the KV cache holds (each at its most KV). With
        static KV allocation each reserves ``max_seq_len`` tokens, and longer ones never fit."""
        s = self.s
        fits_static = ~s.kv_static | (tokens_per_seq <= s.max_seq_len)
        m = self.max_seqs_held(kept_tokens(s, tokens_per_seq))
        return np.where(fits_static, m, 0.0)

    def max_seqs_held(self, held: np.ndarray) -> np.ndarray:
        """Sequences that fit when each holds ``held`` layer-averaged KV tokens (paged allocation),
        or reserves ``max_seq_len`` tokens (static allocation)."""
        s = self.s
        held = np.where(s.kv_static, kept_tokens(s, np.nan_to_num(s.max_seq_len, nan=1.0)), held)
        m = max_sequences(self.kv_cap, self.kv_mem_per_token, held)
        return np.where(self.ok, m, 0.0)

    def first_from_decode(self, I: np.ndarray) -> np.ndarray:
        """Rows whose first token comes from a decode step for prompts of ``I`` tokens (a context
        pass over ``I - 1`` tokens has nothing to do at ``I = 1``; an encoder always runs)."""
        return self.decode_first & ((I > 1) | self.s.enc_dec)

    def decode_ctx(self, I: np.ndarray, O: np.ndarray) -> np.ndarray:
        """Mean attended / held tokens per decode step of a request (``I + O/2`` when global)."""
        return attention.decode_context(self.s, I, I + O)


def _steady(m: _Model, B, I, O):
    """Continuous-batching steady state at batch B: time per output token and TTFT. A step advances
    every sequence by ``E[L]`` tokens (1 without speculative decoding) and prefills the prompts of
    the ``B E[L] / O`` requests that replace finishing ones (after the prefix cache)."""
    st = m.step
    ctx = m.decode_ctx(I, O)
    per_step = st.tokens_per_step()
    starting = B * per_step / O
    tokens, pre_ctx = st.prefill_tokens(starting, I)
    step = st.step_time(B, ctx, tokens, pre_ctx, n_seq=B, n_req=starting)
    ttft = (1.0 + st.prefill_chunks(I)) * step + st.prefill_compute_time(I)
    return step / per_step, ttft + np.where(m.first_from_decode(I), step, 0.0)


def scenario_arrays(spec: Spec, efficiency: Efficiency) -> tuple[dict[str, np.ndarray], _Model]:
    """The numeric core of ``estimate``: the DESIGN §3.3 outputs as arrays (SI units) from the
    prepared arrays of ``config.prepare`` (no tables, no strings)."""
    m = _Model(spec, efficiency)
    s, st = m.s, m.step
    I, O, dp = s.input_len, s.output_len, s.dp
    maxc = m.max_seqs(I + O)
    fits = m.ok & (maxc >= 1)
    conc = np.ceil(s.concurrency / dp)  # per instance, NaN = not given
    with np.errstate(divide="ignore", invalid="ignore"):
        # fixed batch (in waves when the KV cache cannot hold it)
        req = np.where(np.isnan(conc), 1.0, conc)
        waves = np.ceil(req / np.maximum(maxc, 1.0))
        bw = req / waves
        first_step = np.where(m.first_from_decode(I), st.decode_time(bw, attention.at(s, I)), 0.0)
        f_ttft = st.prefill_time(bw, I) + first_step
        held = m.decode_ctx(I, O)
        f_tpot = st.decode_time(bw, held)
        f_wave = f_ttft + (O - 1.0) * f_tpot
        f_e2e = waves * f_wave
        queued = np.maximum(req / np.maximum(m.max_seqs_held(held), 1.0) - 1.0, 0.0)
        f_ttft = f_ttft + queued * f_wave  # closed-loop wait for KV blocks (module docstring)
        fixed = s.scenario.eq("fixed_batch")
        # continuous batching (offline / server / interactive)
        b = np.floor(np.minimum(maxc, m.batch_cap(I, O)))
        b = np.where(np.isnan(conc), b, np.minimum(conc, b))
        T, c_ttft = _steady(m, b, I, O)
        c_e2e = c_ttft + (O - 1.0) * T
        server = s.scenario.isin(("server", "interactive")) & (conc > b)
        wait = np.where(server, c_e2e * (conc / b - 1.0), 0.0)
        c_ttft, c_e2e = c_ttft + wait, c_e2e + wait

        batch = np.where(fixed, req, b)
        ttft = np.where(fixed, f_ttft, c_ttft)
        tpot = np.where(fixed, f_tpot, T)
        e2e = np.where(fixed, f_e2e, c_e2e)
        thr = np.where(fixed, req * O / f_e2e, b / T) * dp
        rps = thr / O
    return {"fits": fits, "maxc": maxc, "batch": batch, "ttft": ttft, "tpot": tpot, "e2e": e2e,
            "thr": thr, "rps": rps}, m


def _estimate_arrays(cfg: pd.DataFrame, efficiency: Efficiency) -> tuple[pd.DataFrame, _Model]:
    r, m = scenario_arrays(prepare(cfg), efficiency)
    s, st, dp = m.s, m.step, m.s.dp
    fits, maxc, batch, ttft, tpot, e2e, thr, rps = (r[k] for k in ("fits", "maxc", "batch", "ttft", "tpot",
                                                                 "e2e", "thr", "rps"))
    good = fits & np.isfinite(thr) & (thr > 0)
    out = pd.DataFrame({
        "fits": fits,
        "throughput_out_tok_s": np.where(good, thr, np.nan),
        "requests_per_s": np.where(good, rps, np.nan),
        "ttft_ms": np.where(good, ttft * MS_PER_S, np.nan),
        "tpot_ms": np.where(good, tpot * MS_PER_S, np.nan),
        "e2e_latency_ms": np.where(good, e2e * MS_PER_S, np.nan),
        "max_concurrency": np.where(m.ok, maxc * dp, np.nan),
        "weights_gb": np.where(m.ok, m.wbytes / GB, np.nan),
        "kv_gb": np.where(m.ok, np.maximum(m.kv_cap, 0.0) / GB, np.nan),
        "error": s.error_strings,
        # diagnostics (explain only)
        "batch": np.where(good, batch, np.nan),
        "dp": dp,
        "lengths_assumed": s.lengths_assumed,
        "precision_fallback": st.precision_fallback,
        "efficiency_key": m.eff["efficiency_key"].to_numpy(),
    }, index=cfg.index)
    out["error"] = out["error"].where(out["error"] != "", None)
    return out, m


def _join(cfg: pd.DataFrame, res: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    base = cfg.drop(columns=[c for c in columns if c in cfg.columns])
    return pd.concat([base, res[columns]], axis=1)


def estimate(cfg: pd.DataFrame, efficiency: Efficiency) -> pd.DataFrame:
    """DESIGN §3.3: the input columns plus ``fits, throughput_out_tok_s, requests_per_s, ttft_ms,
    tpot_ms, e2e_latency_ms, max_concurrency, weights_gb, kv_gb, error`` (see module docstring)."""
    res, _ = _estimate_arrays(cfg, efficiency)
    return _join(cfg, res, OUTPUT_COLUMNS)


def explain(cfg: pd.DataFrame, efficiency: Efficiency) -> pd.DataFrame:
    """``estimate`` plus diagnostics: ``batch`` (per instance), ``dp``, ``lengths_assumed``,
    ``precision_fallback`` (the GPU lacks the precision's format: it ran at the 16-bit rate) and
    ``efficiency_key`` (the efficiency row used)."""
    res, _ = _estimate_arrays(cfg, efficiency)
    return _join(cfg, res, list(res.columns))
