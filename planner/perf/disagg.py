"""Disaggregated prefill/decode: the capacity of one replica that serves only one phase.

Disaggregated serving (DistServe, Zhong et al., OSDI 2024, arXiv:2401.09670; Splitwise, Patel et al.,
ISCA 2024; Mooncake, Qin et al., FAST 2025) runs prompts on *prefill* instances and generation on *decode* instances: a
request's prompt is prefilled, its first token emitted and its KV cache sent to a decode instance,
which generates the rest. Each pool is sized for its own phase, so neither phase's work interferes
with the other's latency (the prefill lumps that ``queueing`` adds to every decode iteration are
gone). ``pool_capacity(cfg, lengths, slo, efficiency, role, kv_transfer_gb_per_s)`` gives, per row
(one replica = ``tp * pp`` GPUs, capacity times ``dp`` as in ``capacity_at_slo``), the largest
Poisson request rate one pool member sustains with its P99 targets met. The caller splits the SLO
between the pools (TTFT to the prefill pool, TPOT and the decode share of e2e to the decode pool).

**KV transfer.** ``transfer(I) = kept(I) * b / bw`` with ``b`` the KV bytes per token of the whole
model, unsharded (``memory.kv_bytes_per_token`` at ``tp = 1``: ``2 x layers x kv_heads x head_dim x
bytes``; MLA: the latent ``(kv_lora_rank + qk_rope_head_dim) x layers x bytes``; encoder-decoder:
the decoder layers only), ``kept(I)`` the prompt's layer-averaged kept tokens (``I`` unless local
layers cap it) and ``bw = kv_transfer_gb_per_s * 1e9`` bytes/s. It is not overlapped with compute
(conservative: Splitwise sends the KV layer by layer while the prompt is computed) and adds to the decode
pool's e2e; ``kv_transfer_ms_p99`` = transfer at the P99 input length, for both roles. Llama-3.1-8B
bf16: 131,072 bytes per token, 1000 tokens at 50 GB/s = 2.62144 ms. The draft network's KV
(speculative decoding) is not counted.

**Prefill role.** The replica prefills one prompt per iteration and emits its first token (TTFT is
measured at the prefill instance, DistServe's convention). Service time
``S(I) = StepModel.prefill_time(1, I)``: the weights read once, GEMM and attention FLOPs after the
prefix cache (``techniques``), TP communication, the step overhead and the vision tower; plus one
decode step at batch 1 where the first token comes from a decode step (encoder-decoder models,
``serving.FIRST_TOKEN_FROM_DECODE`` engines). Arrivals are Poisson at ``λ``, FCFS, one server: an
M/G/1 queue with ``ρ = λ E[S]`` and the Pollaczek-Khinchine mean wait ``W = λ E[S²] / (2 (1 - ρ))``;
the wait has an atom at 0 and an exponential tail ``P(wait > y) = ρ exp(-ρ y / W)`` (the same
approximation as ``queueing``; exact mean, and exact for M/M/1). ``TTFT = wait + S(I)``:
``P(TTFT > x) = Σ_j w_j P(wait > x - S(I_j))`` over points ``I_j`` of the input lengths with weights
``w_j`` (every distinct sample when there are at most ``MAX_PREFILL_POINTS`` = 128; else the sample
means of probability bands as in ``queueing._Workload``, 32 on [0, 0.9], 32 on [0.9, 0.99] and 64
on [0.99, 1]: at a tight target the P99 is set by the few longest prompts, whose service time is
near the target. Llama-3.1-8B and 70B (tp 4) on the Azure 2023 conversation lengths: within 0.6 %
of the capacity over every sample at TTFT 300-3000 ms); ``E[S]``, ``E[S²]`` over the same points. Capacity = the
largest ``λ`` with ``P(TTFT > target) <= 1 %`` and ``ρ <= MAX_PREFILL_UTILISATION`` (0.95; without a TTFT target
the latter alone: ``0.95 / E[S]``), by bisection on ``λ`` for every row at once. Conservative for
short prompts, which real engines batch together in one iteration (the weights are then read once
for several prompts) and for pipeline parallelism (one prompt at a time, no micro-batches);
chunked prefill of a lone long prompt (extra step overheads) is not modelled. Memory: the row fits
when its weights fit and the KV of the longest prompt sample does (``max_sequences >= 1``);
``max_concurrency`` = prompts whose KV fits at the mean input length. Speculative decoding does not
apply (the draft network lives on the decode instances: not loaded here). ``tpot``/``e2e`` columns
are NaN; ``limit`` is 'ttft', 'utilisation' or 'memory'.

**Decode role.** A request arrives with its prompt's KV (transferred): the replica's iterations
carry no prefill work, i.e. ``queueing``'s formulas with ``c0 = c1 = c2 = 0``. At mean batch ``B``
the time per output token is ``T(B) = step_time(B, ctx) / E[L]`` (``ctx`` the time-weighted mean
context, speculative decoding's ``E[L]`` tokens per step), ``λ = B / (E[O] T(B))`` (Little; a
request counts its ``O`` steps as in ``capacity_at_slo``, conservative by one step where the decode
instance generates only ``O - 1``), TPOT P99 = ``T(B + z_99 sqrt(B))`` (the M/G/∞ batch at its upper
quantile, capped at the batch cap; no prefill noise). e2e of this pool = ``transfer(I) +
(E[L]/2 + O - 1) T(B)`` (arrival alignment, half an engine step, then the remaining output tokens;
no prefill wait, no prompt chunks), its P99 over bands of the samples ordered by ``O`` (16 below the 90th percentile,
16 above, each with its ``O`` quantile and mean ``I``); ``slo.e2e_p99_ms`` is the decode pool's share
of the e2e budget, checked as ``P(e2e > target) <= 1 %``. ``slo.ttft_p99_ms`` is not this pool's
(ignored; ``ttft_p99_ms`` NaN). Memory holds ``I + O`` tokens per sequence at the mean lengths, and
the batch cap is ``B + z_99 sqrt(B) <= min(concurrency, max_concurrency, engine limit)`` where the
engine limit is its max batch and its token budget per iteration (``B`` decode tokens here). Capacity
= the largest ``λ`` meeting the TPOT and e2e targets within the batch cap (bisection on ``B``);
``limit`` is 'tpot', 'e2e', 'memory' or 'batch'.

Not modelled: the prefill instance's KV buffer while transfers are in flight, network contention
between transfers, the decode instance's memory for KV in transit, load imbalance between pool
members, the transfer's share of a request's mean TPOT (it delays the second token: ``transfer(I) /
(O - 1)`` per token; it is in e2e), and speculative decoding's ``k + 1`` tokens per sequence in the
engine's token budget.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from planner.units import GB

from . import attention
from .config import SPEC_METHODS, Spec, prepare
from .memory import kv_bytes_per_token
from .queueing import BISECTION_STEPS, CAPACITY_COLUMNS, P99_TAIL, Z99, _bands, _Workload, largest_batch_meeting
from .serving import MS_PER_S, _Model
from .types import Efficiency, LengthSamples, SloTargets

POOL_COLUMNS = CAPACITY_COLUMNS + ["kv_transfer_ms_p99"]
ROLES = ("prefill", "decode")
MAX_PREFILL_UTILISATION = 0.95  # prefill pool: largest ρ = λ E[S] planned for (module docstring)
MAX_PREFILL_POINTS = 128  # distinct prompt lengths used as they are; above: 32 + 32 + 64 bands
_TOL = 1e-12  # floating-point slack on sums of band weights


def kv_transfer_bytes_per_token(s: Spec) -> np.ndarray:
    """KV bytes per prompt token moved from a prefill to a decode instance: the whole model's,
    unsharded (``memory.kv_bytes_per_token`` at ``tp = 1``)."""
    return kv_bytes_per_token(replace(s, tp=np.ones(s.n)))


def _transfer_s(s: Spec, bytes_per_token: np.ndarray, bw: np.ndarray, prompt_len) -> np.ndarray:
    """Seconds to move the KV of prompts of ``prompt_len`` tokens ((rows,) or (rows, k))."""
    i = np.asarray(prompt_len, float)
    per_token = bytes_per_token / bw
    return attention.kept_tokens(s, i) * (per_token[:, None] if i.ndim == 2 else per_token)


def _prompt_points(i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(weights, prompt lengths): the distinct samples with their shares, or (many distinct) the
    sample means of equal-probability bands (module docstring), duplicates merged."""
    values, counts = np.unique(i, return_counts=True)
    if values.size <= MAX_PREFILL_POINTS:
        return counts / i.size, values
    q = MAX_PREFILL_POINTS // 4  # 32 bands on [0, 0.9], 32 on [0.9, 0.99], 64 on [0.99, 1]
    edges = np.concatenate([np.linspace(0.0, 0.9, q + 1)[:-1], np.linspace(0.9, 0.99, q + 1)[:-1],
                            np.linspace(0.99, 1.0, 2 * q + 1)])
    order = np.argsort(i, kind="stable")
    bounds = np.clip(np.round(edges * i.size).astype(int), 0, i.size)
    means = _Workload._band_means(i, order, bounds)
    values, inverse = np.unique(means, return_inverse=True)
    return np.bincount(inverse.ravel(), weights=np.diff(edges)), values


def _without_speculation(cfg: pd.DataFrame) -> pd.DataFrame:
    """``cfg`` with valid speculative-decoding methods switched off (the prefill role loads no
    draft network); unknown methods are kept so that their row error stays."""
    if "spec_method" not in cfg.columns:
        return cfg
    method = cfg["spec_method"]
    known = method.astype(str).str.strip().str.lower().isin(SPEC_METHODS)
    return cfg.assign(spec_method=method.where(~known, "none"))


def _wait_exceed(x, S, weight, rho, mu):
    """P(wait + S > x) per row: M/G/1 wait with an atom at 0 and an exponential tail
    (``weight`` 1-d over the points of ``S``)."""
    with np.errstate(over="ignore", invalid="ignore"):
        y = x[:, None] - S
        late = y < 0
        e = np.exp(-mu[:, None] * np.maximum(y, 0.0))
        e[late] = 0.0
    return late @ weight + rho * (e @ weight)


def _prefill(m: _Model, lengths: LengthSamples, slo: SloTargets):
    s, st = m.s, m.step
    n = s.n
    weight, values = _prompt_points(lengths.input_tokens)
    S = np.empty((n, values.size))
    ones = np.ones(n)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for j, v in enumerate(values):  # prompt-length points (at most MAX_PREFILL_POINTS), not rows
            i = np.full(n, v)
            first = np.where(m.first_from_decode(i), st.decode_time(ones, attention.at(s, i)), 0.0)
            S[:, j] = st.prefill_time(ones, i) + first
        ES, ES2 = S @ weight, (S * S) @ weight
        fits = m.ok & (m.max_seqs(np.full(n, lengths.input_tokens.max())) >= 1) & (ES > 0)
        tgt = np.full(n, slo.as_array()[0] / MS_PER_S)
        lam_top = np.where(fits, MAX_PREFILL_UTILISATION / ES, 0.0)
        mu_of = lambda rho: 2.0 * (1.0 - rho) * ES / ES2  # noqa: E731 ρ / W

        # at the target: P(TTFT > t) = Σ_{S_j > t} w_j + ρ Σ_{S_j <= t} w_j exp(-(1 - ρ) D_j), D_j = 2 E[S] (t - S_j) / E[S²]
        late = tgt[:, None] < S
        late_share = late @ weight
        D = np.where(late, 0.0, 2.0 * (ES / ES2)[:, None] * (tgt[:, None] - S))
        w_on_time = np.where(late, 0.0, weight)

        def over(lam):
            rho = lam * ES
            tail = np.exp(-(1.0 - rho)[:, None] * D)
            return late_share + rho * np.einsum("ij,ij->i", tail, w_on_time) > P99_TAIL + _TOL

        ok0 = fits & ~over(np.zeros(n))
        top_ok = ok0 & ~over(lam_top)
        lo, hi = np.zeros(n), lam_top
        search = ok0 & ~top_ok
        for _ in range(BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            bad = over(mid)
            lo = np.where(search & ~bad, mid, lo)
            hi = np.where(search & bad, mid, hi)
        lam = np.where(top_ok, lam_top, np.where(ok0, lo, 0.0))
        # P99 TTFT at that rate (bisection on x, as queueing._Latency.quantile)
        rho = lam * ES
        mu = mu_of(rho)
        xlo = S.min(axis=1)
        extra = np.where(rho > P99_TAIL, np.log(np.maximum(rho, P99_TAIL) / P99_TAIL) / mu, 0.0)
        xhi = S.max(axis=1) + np.nan_to_num(extra, nan=0.0, posinf=0.0)
        for _ in range(BISECTION_STEPS):
            mid = 0.5 * (xlo + xhi)
            up = _wait_exceed(mid, S, weight, rho, mu) > P99_TAIL
            xlo, xhi = np.where(up, mid, xlo), np.where(up, xhi, mid)
    limit = np.where(~fits, "memory", np.where(top_ok, "utilisation", "ttft"))
    maxc = m.max_seqs(np.full(n, lengths.input_tokens.mean()))
    nan = np.full(n, np.nan)
    return dict(fits=fits, lam=lam, ttft=np.where(fits, xhi, np.nan), tpot=nan, e2e=nan, maxc=maxc, limit=limit)


def _decode(m: _Model, lengths: LengthSamples, slo: SloTargets, transfer_bpt, bw):
    s, st = m.s, m.step
    n = s.n
    w = _Workload(lengths)
    ctx = w.rows(m, "tail")["ctx"]
    per_step = st.tokens_per_step()
    # memory and batch cap (queueing._batch_cap, with an engine token budget of B decode tokens)
    maxc = m.max_seqs(np.full(n, w.EI + w.EO))
    conc = np.ceil(s.concurrency / s.dp)
    engine = np.minimum(m.max_batch, m.max_tokens)
    cap = np.floor(np.minimum(maxc, engine))
    bmax = np.where(np.isnan(conc), cap, np.minimum(conc, cap))
    mem_bound = maxc < np.minimum(np.where(np.isnan(conc), np.inf, conc), engine)
    fits = m.ok & (maxc >= 1)
    bcap = np.where(fits, ((-Z99 + np.sqrt(Z99 ** 2 + 4.0 * np.maximum(bmax, 0.0))) / 2.0) ** 2, 0.0)
    # e2e points: bands of the samples ordered by O (queueing's "tail" bands)
    i, o = lengths.input_tokens, lengths.output_tokens
    edges = _bands(16, 16)
    mid_p, weight = 0.5 * (edges[1:] + edges[:-1]), np.diff(edges)[None, :]
    order = np.argsort(o, kind="stable")
    bounds = np.clip(np.round(edges * o.size).astype(int), 0, o.size)
    pick = np.minimum((mid_p * o.size).astype(int), o.size - 1)
    steps = (o[order][pick] - 1.0)[None, :]  # O - 1 tokens after the first; + half an engine step (arrival alignment)
    i_band = _Workload._band_means(i, order, bounds)
    xfer = _transfer_s(s, transfer_bpt, bw, np.broadcast_to(i_band, (n, i_band.size)))
    _, tpot_tgt, e2e_tgt = slo.as_array() / MS_PER_S

    def T(B):
        return st.step_time(B, ctx, n_seq=np.maximum(B, 1.0)) / per_step

    def tpot(B):
        b_hi = np.minimum(B + Z99 * np.sqrt(B), np.maximum(bmax, B))
        return T(b_hi)

    def e2e_points(B):
        per_token = T(B)[:, None]
        return xfer + (steps + 0.5 * per_step[:, None]) * per_token

    def violations(B):
        v_e2e = (((e2e_points(B) > e2e_tgt) * weight).sum(axis=1) > P99_TAIL + _TOL if np.isfinite(e2e_tgt)
                 else np.zeros(n, dtype=bool))
        return np.stack([tpot(B) > tpot_tgt, v_e2e])

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lo, hi, v_lo, ok_lo, top_ok, search = largest_batch_meeting(violations, fits, bcap)
        lam = np.where(ok_lo, lo / (w.EO * T(lo)), 0.0)
        # P99 e2e: the smallest point value with at most 1 % of the weight above it
        pts = e2e_points(lo)
        idx = np.argsort(pts, axis=1, kind="stable")
        sorted_pts = np.take_along_axis(pts, idx, axis=1)
        cum = np.cumsum(np.broadcast_to(weight, pts.shape)[np.arange(n)[:, None], idx], axis=1)
        k = np.argmax(cum >= 1.0 - P99_TAIL - _TOL, axis=1)
        e2e = sorted_pts[np.arange(n), k]
        tp = tpot(lo)
        v_end = violations(np.where(search, hi, lo))
    names = np.array(["tpot", "e2e"], dtype=object)
    limit = np.where(~fits, "memory",
                     np.where(~ok_lo, names[np.argmax(v_lo, axis=0)],
                              np.where(top_ok, np.where(mem_bound, "memory", "batch"),
                                       names[np.argmax(v_end, axis=0)])))
    return dict(fits=fits, lam=lam, ttft=np.full(n, np.nan), tpot=np.where(fits, tp, np.nan),
                e2e=np.where(fits, e2e, np.nan), maxc=maxc, limit=limit)


def pool_capacity(cfg: pd.DataFrame, lengths: LengthSamples, slo: SloTargets, efficiency: Efficiency,
                  role: str, kv_transfer_gb_per_s: float) -> pd.DataFrame:
    """Largest Poisson request rate one replica (row) of a disaggregated prefill or decode pool
    sustains with its P99 targets met (module docstring).

    ``role`` is 'prefill' (checks ``slo.ttft_p99_ms``) or 'decode' (checks ``slo.tpot_p99_ms`` and
    ``slo.e2e_p99_ms``, the decode pool's share of the e2e budget, which includes the KV transfer);
    ``kv_transfer_gb_per_s`` (GB/s, > 0, scalar or per row) is the bandwidth the KV cache moves at.
    Returns, indexed like ``cfg``: ``fits, capacity_rps, ttft_p99_ms, tpot_p99_ms, e2e_p99_ms`` (at
    that rate; NaN for the other pool's metrics), ``max_concurrency, weights_gb, kv_gb, limit``,
    ``error`` (as ``capacity_at_slo``) and ``kv_transfer_ms_p99`` (transfer of the P99 prompt)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}: {role!r}")
    bw = np.asarray(kv_transfer_gb_per_s, float)
    if not np.all(bw > 0):
        raise ValueError(f"kv_transfer_gb_per_s must be > 0: {kv_transfer_gb_per_s!r}")
    s = prepare(_without_speculation(cfg) if role == "prefill" else cfg)
    m = _Model(s, efficiency)
    bw = np.broadcast_to(bw, (s.n,)) * GB
    bpt = kv_transfer_bytes_per_token(s)
    r = _prefill(m, lengths, slo) if role == "prefill" else _decode(m, lengths, slo, bpt, bw)
    p99_prompt = np.quantile(lengths.input_tokens, 1.0 - P99_TAIL, method="inverted_cdf")
    fits = r["fits"]
    out = pd.DataFrame({
        "fits": fits,
        "capacity_rps": np.where(fits, r["lam"] * s.dp, 0.0),
        "ttft_p99_ms": r["ttft"] * MS_PER_S,
        "tpot_p99_ms": r["tpot"] * MS_PER_S,
        "e2e_p99_ms": r["e2e"] * MS_PER_S,
        "max_concurrency": np.where(m.ok, r["maxc"] * s.dp, np.nan),
        "weights_gb": np.where(m.ok, m.wbytes / GB, np.nan),
        "kv_gb": np.where(m.ok, np.maximum(m.kv_cap, 0.0) / GB, np.nan),
        "limit": np.where(m.ok, r["limit"], None),
        "error": s.error_strings,
        "kv_transfer_ms_p99": np.where(m.ok, _transfer_s(s, bpt, bw, np.full(s.n, p99_prompt)) * MS_PER_S, np.nan),
    }, index=cfg.index)
    out["error"] = out["error"].where(out["error"] != "", None)
    return out
