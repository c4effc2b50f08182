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
  then the sum of the waves.
* ``offline``: continuous batching at the largest batch memory allows (``concurrency`` caps it).
  Steady state with chunked prefill: each iteration advances the ``B`` running sequences by one token
  and prefills ``B * I / O`` prompt tokens (the prompts of the requests that replace finishing ones),
  so T = iteration_time(B, ctx, B*I/O) and throughput = B / T. TTFT = half an iteration (arrival
  alignment) + ``ceil(I / C)`` iterations + the prompt's own prefill compute.
* ``server`` / ``interactive``: the same steady state with ``B = min(concurrency, max_concurrency)``
  requests in flight (closed loop). If ``concurrency`` exceeds what memory holds, the excess waits:
  by Little's law each request waits ``e2e * (concurrency / B - 1)`` before its prefill.

Empty ``input_len`` / ``output_len`` use ShareGPT-like means (``config.DEFAULT_INPUT_LEN`` = 245,
``config.DEFAULT_OUTPUT_LEN`` = 228 tokens; source: the LMDeploy ShareGPT rows described in
``../shared/calibration/README.md``). ``explain`` returns the same estimates with diagnostic columns
(``lengths_assumed``, ``precision_fallback``, ``efficiency_key``, ``batch``, ``dp``).

``capacity_at_slo`` (one instance of the row, ``concurrency`` = its max batch; the result is per
instance times ``dp``): Poisson arrivals at rate λ, continuous batching with chunked prefill. With
``B`` the mean number of decoding sequences (Little: ``B = λ * E[O] * T``) and the iteration
``T = T_dec(B) + λ T E[p]`` (prompts arrive in lumps that cannot hide under the memory-bound decode
step, so their compute ``p(I) = c1 I + c2 I²`` adds) we get ``T = T_dec(B) + B E[p] / E[O]`` and λ in
closed form from ``B``, so the search bisects on ``B`` (40 halvings, all rows at once). At each ``B``:

* TPOT: the batch a request sees fluctuates like the M/G/∞ occupancy (Poisson, sd ``sqrt(B)``), and
  the prompts that arrive during its life add prefill work ``p(I) = c1 I + c2 I²`` (compound Poisson):
  ``TPOT_r ~ T(B + z sqrt(B)) + N(0, λ T E[p²] / (O_r - 1))``; the P99 over requests of that normal
  mixture is ``T(B + z sqrt(B)) + κ sqrt(λ T E[p²])`` with κ solved once from the sampled output
  lengths (z = 2.326).
* TTFT: prompts queue for prefill as an M/G/1 queue with service ``p(I)`` (ρ = λ E[p], mean wait
  ``W = λ E[p²] / (2 (1-ρ))`` Pollaczek-Khinchine, P99 wait from the exponential tail
  ``W99 = W/ρ * ln(ρ / 0.01)``); a prompt needs ``ceil(I / C)`` iterations plus its own ``p(I)``:
  ``S(I) = ceil(I/C) T + p(I)`` and ``TTFT99 = T/2 + max(S(I_99) + W, E[S] + W99)``.
* e2e: ``E2E99 = T/2 + max(W + q99[S(I) + (O-1) T], TTFT99 + (E[O]-1) T)`` over the sampled pairs.
* the batch cap holds with margin: ``B + z sqrt(B) <= min(concurrency, max_concurrency)``.

The approximation is checked against a small discrete-event simulation in
``tests/unit/test_perf_serving.py`` (P99 TTFT/TPOT within 35 % at moderate load).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.units import GB

from .config import Spec, prepare
from .latency import StepModel
from .memory import (ACTIVATION_CHUNK_TOKENS, kept_tokens, kv_capacity_bytes, max_sequences,
                     param_counts, weight_bytes)
from .types import Efficiency, LengthSamples, SloTargets

OUTPUT_COLUMNS = ["fits", "throughput_out_tok_s", "requests_per_s", "ttft_ms", "tpot_ms",
                  "e2e_latency_ms", "max_concurrency", "weights_gb", "kv_gb", "error"]
CAPACITY_COLUMNS = ["fits", "capacity_rps", "ttft_p99_ms", "tpot_p99_ms", "e2e_p99_ms",
                    "max_concurrency", "weights_gb", "kv_gb", "limit", "error"]
Z99 = 2.326  # standard normal 99th percentile
P99_TAIL = 0.01
BISECTION_STEPS = 40
MAX_LENGTH_SAMPLES = 128
MS_PER_S = 1e3


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

    def max_seqs(self, tokens_per_seq: np.ndarray) -> np.ndarray:
        m = max_sequences(self.kv_cap, self.step.kv_per_token, kept_tokens(self.s, tokens_per_seq))
        return np.where(self.ok, m, 0.0)

    def window(self, ctx: np.ndarray) -> np.ndarray:
        return kept_tokens(self.s, ctx)


def _steady(m: _Model, B, I, O):
    """Continuous-batching steady state at batch B: iteration time and TTFT pieces."""
    st = m.step
    ctx = m.window(I + O / 2.0)
    T = st.iteration_time(B, ctx, B * I / O, m.window(I / 2.0), n_seq=B)
    ttft = (0.5 + np.ceil(I / ACTIVATION_CHUNK_TOKENS)) * T + st.prefill_compute_time(I)
    return T, ttft


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
        f_ttft = st.prefill_time(bw, I)
        f_tpot = st.decode_time(bw, m.window(I + O / 2.0))
        f_wave = f_ttft + (O - 1.0) * f_tpot
        f_e2e = waves * f_wave
        fixed = s.scenario.eq("fixed_batch")
        # continuous batching (offline / server / interactive)
        b = np.where(np.isnan(conc), maxc, np.minimum(conc, maxc))
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


# --------------------------------------------------------------------------------------------------
# capacity at SLO


def _norm_sf(x: np.ndarray) -> np.ndarray:
    """Standard normal survival function (Abramowitz-Stegun 7.1.26 erfc, |error| < 1.5e-7)."""
    z = np.abs(x) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    half_erfc = 0.5 * poly * np.exp(-z * z)
    return np.where(x >= 0, half_erfc, 1.0 - half_erfc)


def _mixture_kappa(r: np.ndarray) -> float:
    """κ with mean_j P(N(0, r_j²) > κ) = 1 %: the P99 of a mixture of normals whose sds are
    ``sigma * r_j`` is ``mean + sigma * κ`` (r_j = 1/sqrt(steps of request j))."""
    lo, hi = 0.0, 10.0 * float(r.max())
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if np.mean(_norm_sf(mid / r)) > P99_TAIL:
            lo = mid
        else:
            hi = mid
    return hi


class _Workload:
    def __init__(self, lengths: LengthSamples):
        i, o = lengths.input_tokens, lengths.output_tokens
        self.EI, self.EO = i.mean(), o.mean()
        self.EI2, self.EI3, self.EI4 = (i ** 2).mean(), (i ** 3).mean(), (i ** 4).mean()
        self.I99 = float(np.quantile(i, 1.0 - P99_TAIL))
        multi = o > 1
        self.kappa = _mixture_kappa(1.0 / np.sqrt(o[multi] - 1.0)) if multi.any() else 0.0
        self.ctx_decode = float(np.sum(o * (i + o / 2.0)) / np.sum(o))  # time-weighted context
        self.pre_ctx = float(self.EI2 / (2.0 * self.EI))  # token-weighted prefill context
        self.ceil_mean = float(np.mean(np.ceil(i / ACTIVATION_CHUNK_TOKENS)))
        rep = lengths.representative(MAX_LENGTH_SAMPLES)
        self.Is, self.Os = rep.input_tokens, rep.output_tokens


def _p99_metrics(m: _Model, w: _Workload, B: np.ndarray, bmax: np.ndarray, need_e2e: bool = True):
    """λ and P99 TTFT/TPOT/e2e (seconds) at mean decode batch ``B`` (module docstring). The e2e
    quantile over the length samples is the costly part: ``need_e2e=False`` skips it (NaN)."""
    st = m.step
    n = m.s.n
    ctx = m.window(np.full(n, w.ctx_decode))
    c1, c2 = st.prefill_coeffs()
    Ep = c1 * w.EI + c2 * w.EI2
    # prompts arrive in lumps (whole prompts / chunks), too large to hide under the memory-bound
    # decode step: their compute adds to the iteration time, T = T_dec(B) + λ T E[p] = T_dec + B E[p]/E[O]
    T = st.iteration_time(B, ctx, n_seq=np.maximum(B, 1.0)) + B * Ep / w.EO
    lam = B / (w.EO * T)
    Ep2 = c1 ** 2 * w.EI2 + 2 * c1 * c2 * w.EI3 + c2 ** 2 * w.EI4
    rho = lam * Ep
    with np.errstate(divide="ignore", invalid="ignore"):
        W = np.where(rho < 1, lam * Ep2 / (2.0 * (1.0 - rho)), np.inf)
        W99 = np.where(rho > P99_TAIL, W / rho * np.log(np.maximum(rho, P99_TAIL) / P99_TAIL), 0.0)
    W99 = np.where(rho < 1, W99, np.inf)
    b_hi = np.minimum(B + Z99 * np.sqrt(B), np.maximum(bmax, B))
    T_hi = st.iteration_time(b_hi, ctx, n_seq=np.maximum(b_hi, 1.0)) + b_hi * Ep / w.EO
    tpot = T_hi + w.kappa * np.sqrt(lam * T * Ep2)
    S99 = np.ceil(w.I99 / ACTIVATION_CHUNK_TOKENS) * T + c1 * w.I99 + c2 * w.I99 ** 2
    ES = w.ceil_mean * T + Ep
    ttft = 0.5 * T + np.maximum(S99 + W, ES + W99)
    if not need_e2e:
        return lam, ttft, tpot, np.full(n, np.nan), rho
    Is, Os = w.Is[None, :], w.Os[None, :]
    per = (np.ceil(Is / ACTIVATION_CHUNK_TOKENS) * T[:, None] + c1[:, None] * Is
           + c2[:, None] * Is ** 2 + (Os - 1.0) * T[:, None])
    k = min(per.shape[1] - 1, int(np.ceil((1.0 - P99_TAIL) * (per.shape[1] - 1))))
    q = np.partition(per, k, axis=1)[:, k]
    e2e = 0.5 * T + np.maximum(W + q, ttft - 0.5 * T + (w.EO - 1.0) * T)
    return lam, ttft, tpot, e2e, rho


def capacity_at_slo(cfg: pd.DataFrame, lengths: LengthSamples, slo: SloTargets,
                    efficiency: Efficiency) -> pd.DataFrame:
    """Largest Poisson request rate one replica (row) sustains with every P99 target met.

    Returns, indexed like ``cfg``: ``fits, capacity_rps, ttft_p99_ms, tpot_p99_ms, e2e_p99_ms`` (at
    that rate), ``max_concurrency, weights_gb, kv_gb, limit`` ('ttft', 'tpot', 'e2e', 'memory',
    'batch'; the target that binds) and ``error``. ``cfg.concurrency`` is the engine's max batch
    (empty = as many as memory allows)."""
    m = _Model(prepare(cfg), efficiency)
    s = m.s
    w = _Workload(lengths)
    tgt = slo.as_array() / MS_PER_S
    maxc = m.max_seqs(np.full(s.n, w.EI + w.EO))
    conc = np.ceil(s.concurrency / s.dp)
    bmax = np.where(np.isnan(conc), maxc, np.minimum(conc, maxc))
    mem_bound = np.isnan(conc) | (maxc < conc)
    fits = m.ok & (maxc >= 1)
    # largest mean batch with B + z sqrt(B) <= bmax
    bcap = np.where(fits, ((-Z99 + np.sqrt(Z99 ** 2 + 4.0 * np.maximum(bmax, 0.0))) / 2.0) ** 2, 0.0)

    has_e2e_target = bool(np.isfinite(tgt[2]))

    def check(B, need_e2e=has_e2e_target):
        lam, ttft, tpot, e2e, rho = _p99_metrics(m, w, B, bmax, need_e2e)
        viol = np.stack([(ttft > tgt[0]) | (rho >= 1), tpot > tgt[1], need_e2e & (e2e > tgt[2])])
        return lam, ttft, tpot, e2e, viol

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lo = np.full(s.n, 1e-6)
        _, _, _, _, v_lo = check(lo)
        ok_lo = fits & ~v_lo.any(axis=0)
        hi = np.where(ok_lo, bcap, lo)
        _, _, _, _, v_hi = check(hi)
        top_ok = ok_lo & ~v_hi.any(axis=0)
        lo = np.where(top_ok, hi, lo)
        search = ok_lo & ~top_ok
        for _ in range(BISECTION_STEPS):  # fixed number of halvings, every row at once
            mid = 0.5 * (lo + hi)
            _, _, _, _, v = check(mid)
            good = ~v.any(axis=0)
            lo = np.where(search & good, mid, lo)
            hi = np.where(search & ~good, mid, hi)
        lam, ttft, tpot, e2e, _ = check(lo, need_e2e=True)
        _, _, _, _, v_end = check(np.where(search, hi, lo))

    names = np.array(["ttft", "tpot", "e2e"], dtype=object)
    first_viol = names[np.argmax(v_end, axis=0)]
    first_lo = names[np.argmax(v_lo, axis=0)]
    limit = np.where(~fits, "memory",
                     np.where(~ok_lo, first_lo,
                              np.where(top_ok, np.where(mem_bound, "memory", "batch"), first_viol)))
    cap = np.where(ok_lo, lam * s.dp, 0.0)
    shown = fits
    out = pd.DataFrame({
        "fits": fits,
        "capacity_rps": cap,
        "ttft_p99_ms": np.where(shown, ttft * MS_PER_S, np.nan),
        "tpot_p99_ms": np.where(shown, tpot * MS_PER_S, np.nan),
        "e2e_p99_ms": np.where(shown, e2e * MS_PER_S, np.nan),
        "max_concurrency": np.where(m.ok, maxc * s.dp, np.nan),
        "weights_gb": np.where(m.ok, m.wbytes / GB, np.nan),
        "kv_gb": np.where(m.ok, np.maximum(m.kv_cap, 0.0) / GB, np.nan),
        "limit": np.where(m.ok, limit, None),
        "error": s.error_strings,
    }, index=cfg.index)
    out["error"] = out["error"].where(out["error"] != "", None)
    return out


def p99_at_rate(cfg: pd.DataFrame, lengths: LengthSamples, rate_rps, efficiency: Efficiency) -> pd.DataFrame:
    """P99 TTFT/TPOT/e2e (ms) and the mean decode batch of one engine instance per row at Poisson
    arrival rate ``rate_rps`` (scalar or per row), by the approximation of ``capacity_at_slo``.
    Rows that cannot sustain the rate (prefill saturated or batch above the memory/concurrency cap)
    get NaN latencies and ``stable = False``."""
    m = _Model(prepare(cfg), efficiency)
    s = m.s
    w = _Workload(lengths)
    rate = np.broadcast_to(np.asarray(rate_rps, float), (s.n,))
    maxc = m.max_seqs(np.full(s.n, w.EI + w.EO))
    conc = np.ceil(s.concurrency / s.dp)
    bmax = np.where(np.isnan(conc), maxc, np.minimum(conc, maxc))
    lo, hi = np.zeros(s.n), np.maximum(bmax, 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            lam, *_ = _p99_metrics(m, w, np.maximum(mid, 1e-9), bmax)
            below = lam < rate
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        B = np.maximum(0.5 * (lo + hi), 1e-9)
        lam, ttft, tpot, e2e, rho = _p99_metrics(m, w, B, bmax)
    stable = m.ok & (maxc >= 1) & (np.abs(lam - rate) <= 1e-3 * np.maximum(rate, 1e-9)) & (rho < 1)
    return pd.DataFrame({
        "stable": stable, "batch": np.where(stable, B, np.nan),
        "ttft_p99_ms": np.where(stable, ttft * MS_PER_S, np.nan),
        "tpot_p99_ms": np.where(stable, tpot * MS_PER_S, np.nan),
        "e2e_p99_ms": np.where(stable, e2e * MS_PER_S, np.nan),
    }, index=cfg.index)
