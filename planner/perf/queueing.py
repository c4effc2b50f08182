"""Latency percentiles under Poisson load, and capacity at a P99 SLO, for continuous batching.

One engine instance per row (``concurrency`` = its max batch; results per instance, capacity times
``dp``): Poisson arrivals at rate λ, continuous batching with chunked prefill. With ``B`` the mean
number of decoding sequences (Little: ``B = λ * E[O] * T``) and the iteration ``T = T_dec(B) + λ T
E[p]`` (prompts arrive in lumps that cannot hide under the memory-bound decode step, so their compute
``p(I) = c1 I + c2 I²`` adds; ``c2 h(I)`` with ``h < I²`` where local attention layers cap the
span, ``latency.StepModel.prefill_attention``) we get ``T = T_dec(B) + B E[p] / E[O]`` and λ in closed form from
``B``, so every search bisects on ``B`` (40 halvings, all rows at once). At each ``B``, for the
percentile ``q`` with tail ``τ = 1 - q`` (P99: τ = 0.01):

* TPOT: the batch a request sees fluctuates like the M/G/∞ occupancy (Poisson, sd ``sqrt(B)``), and
  the prompts that arrive during its life add prefill work (compound Poisson):
  ``TPOT_r ~ T(B + z_q sqrt(B)) + N(0, λ T E[p²] / (O_r - 1))``; the q-quantile over requests of that
  normal mixture is ``T(B + z_q sqrt(B)) + κ_q sqrt(λ T E[p²])`` with ``z_q = Φ⁻¹(q)`` and ``κ_q``
  solved once from the sampled output lengths (P50: z = κ = 0).
* TTFT: prompts queue for prefill as an M/G/1 queue with service ``p(I)`` (ρ = λ E[p], mean wait
  ``W = λ E[p²] / (2 (1-ρ))`` Pollaczek-Khinchine); the wait has an atom at 0 and an exponential
  tail, ``P(wait > y) = ρ exp(-ρ y / W)``. A prompt then needs half an iteration (arrival
  alignment), ``ceil(I / C)`` iterations and its own ``p(I)``: ``S(I) = T/2 + ceil(I/C) T + p(I)``.
  TTFT = wait + S(I) with I drawn from the length distribution (quantile points ``I_j`` with
  weights ``w_j``, see ``_Workload``), so ``P(TTFT > x) = Σ_j w_j P(wait > x - S(I_j))`` and the
  quantile solves ``P = τ``.
* e2e: the same with ``S + (O-1) T = (1/2 + ceil(I/C) + O - 1) T + p(I)``, points taken as quantiles
  of the iteration count ``ceil(I/C) + O - 1`` (which orders e2e) with each band's mean ``p(I)``.
* the batch cap holds with margin: ``B + z_99 sqrt(B) <= min(concurrency, max_concurrency)``.

A request's images (vision tower, ``latency``) add a constant ``c0`` to every prompt's compute,
``p(I) = c0 + c1 I + c2 h(I)``: ``E[p]`` gains ``c0`` and ``E[p²]`` gains ``c0 (c0 + 2 E[c1 I + c2 h])``,
and ``S(I)`` gains ``c0``. Encoder-decoder rows use the encoder's ``c1``, ``c2`` (``prefill_coeffs``)
and take their first token from a decode step (``serving``).

``capacity_at_slo`` is the largest λ with every P99 target met (a TTFT or e2e target is met iff
``P(latency > target) <= 1 %``, evaluated directly); ``latency_at_rate`` gives P50/P90/P99 at a given λ. The approximation is checked against a discrete-event simulation (simpy) in
``tests/unit/test_perf_queueing.py``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from planner.units import GB

from . import attention
from .config import prepare
from .memory import ACTIVATION_CHUNK_TOKENS
from .serving import MS_PER_S, _Model
from .types import Efficiency, LengthSamples, SloTargets

CAPACITY_COLUMNS = ["fits", "capacity_rps", "ttft_p99_ms", "tpot_p99_ms", "e2e_p99_ms",
                    "max_concurrency", "weights_gb", "kv_gb", "limit", "error"]
P99_TAIL = 0.01
BISECTION_STEPS = 32  # halvings: 2**-32 of the bracket, far below any input's precision
MAX_LENGTH_SAMPLES = 128
PERCENTILES = (50, 90, 99)


def _norm_sf(x: np.ndarray) -> np.ndarray:
    """Standard normal survival function (Abramowitz-Stegun 7.1.26 erfc, |error| < 1.5e-7)."""
    z = np.abs(x) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    half_erfc = 0.5 * poly * np.exp(-z * z)
    return np.where(x >= 0, half_erfc, 1.0 - half_erfc)


def _mixture_kappa(r: np.ndarray, tail: float) -> float:
    """κ ≥ 0 with mean_j P(N(0, r_j²) > κ) = ``tail`` (≤ 0.5): the upper quantile of a mixture of
    centred normals whose sds are ``sigma * r_j`` is ``sigma * κ``."""
    lo, hi = 0.0, 10.0 * float(r.max())
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if np.mean(_norm_sf(mid / r)) > tail:
            lo = mid
        else:
            hi = mid
    return hi


@lru_cache(maxsize=16)
def normal_quantile(q: float) -> float:
    """Φ⁻¹(q) for 0.5 ≤ q < 1 (bisection on ``_norm_sf``; 1e-12 accurate)."""
    return _mixture_kappa(np.ones(1), 1.0 - q)


Z99 = normal_quantile(1.0 - P99_TAIL)  # 2.326


def _bands(below_p90: int, above_p90: int) -> np.ndarray:
    """Probability band edges: ``below_p90`` equal bands on [0, 0.9], ``above_p90`` on [0.9, 1]."""
    return np.concatenate([np.linspace(0.0, 0.9, below_p90 + 1)[:-1], np.linspace(0.9, 1.0, above_p90 + 1)])


class _Workload:
    """Moments and quantiles of the request lengths the formulas need (computed once)."""

    def __init__(self, lengths: LengthSamples):
        i, o = lengths.input_tokens, lengths.output_tokens
        self._i, self._o = i, o
        self._rows: dict = {}
        self.EI, self.EO = i.mean(), o.mean()
        self.EI2, self.EI3, self.EI4 = (i ** 2).mean(), (i ** 3).mean(), (i ** 4).mean()
        self.ctx_decode = float(np.sum(o * (i + o / 2.0)) / np.sum(o))  # time-weighted context
        # Points of the length distribution, each standing for a band of probability (no point
        # carries more than its band; the upper tail gets narrower bands because P99s live there):
        # "full" = 64 bands below the 90th percentile and 32 above (every percentile, for
        # latency_at_rate); "tail" = 16 + 16 (for the P99 checks of capacity_at_slo at a third of
        # the cost; within ~2 % of the P99 over every sample on the problems' length files).
        self._bands = {"full": _bands(64, 32), "tail": _bands(16, 16)}
        self.points = {k: self._points(i, o, e) for k, e in self._bands.items()}
        self._tails: dict[float, tuple[float, float]] = {}

    @staticmethod
    def _band_index(i: np.ndarray, o: np.ndarray, edges: np.ndarray):
        """(order, bounds): the samples sorted by ``steps = ceil(I/C) + O - 1`` and the slice of
        that order each probability band of ``edges`` covers."""
        steps = np.ceil(i / ACTIVATION_CHUNK_TOKENS) + o - 1.0
        order = np.argsort(steps, kind="stable")
        bounds = np.clip(np.round(edges * i.size).astype(int), 0, i.size)
        return steps, order, bounds

    @staticmethod
    def _band_means(x: np.ndarray, order: np.ndarray, bounds: np.ndarray) -> np.ndarray:
        """Mean of ``x`` over the samples of each band; a band narrower than one sample (few
        samples, e.g. a small request-size bucket) takes the nearest sample."""
        n = x.size
        return np.array([x[order[min(a, n - 1):max(b, min(a, n - 1) + 1)]].mean()
                         for a, b in zip(bounds[:-1], bounds[1:])])

    @classmethod
    def _points(cls, i: np.ndarray, o: np.ndarray, edges: np.ndarray):
        """Points of the length distribution for the probability bands ``edges``: (weights, prompt
        quantiles for TTFT, and for e2e the quantiles of ``steps = ceil(I/C) + O - 1`` (iterations a
        request spends, the term that orders e2e) with the mean ``I`` and ``I²`` of the requests in
        each band (their prefill compute))."""
        mid, weight = 0.5 * (edges[1:] + edges[:-1]), np.diff(edges)
        prompts = np.quantile(i, mid, method="inverted_cdf")
        steps, order, bounds = cls._band_index(i, o, edges)
        pick = np.minimum((mid * i.size).astype(int), i.size - 1)
        i_mean = cls._band_means(i, order, bounds)
        i2_mean = cls._band_means(i ** 2, order, bounds)
        return tuple(x[None, :] for x in (weight, prompts, steps[order][pick], i_mean, i2_mean))

    def rows(self, m: _Model, points: str) -> dict:
        """Per-row moments of the prompt's attention term ``h(I)`` (``latency.prefill_attention``;
        ``I²`` when every layer is global) and the decode context, for the rows of ``m``: ``Eh``,
        ``EIh``, ``Eh2`` (E[h], E[I h], E[h²]), ``ctx`` (time-weighted mean attended tokens per
        decode step), ``h_points`` (h at the prompt quantiles) and ``h_bands`` (mean h per e2e band).
        With local layers ``h = (1-f) I² + 2 f G_l(I)`` (``attention``): the sample moments of
        ``G_l`` are computed once per distinct (window, kind), then gathered per row."""
        key = (id(m), points)
        if key in self._rows and self._rows[key][0] is m:
            return self._rows[key][1]
        s = m.s
        _, prompts, _, _, i2_mean = self.points[points]
        if not s.any_local:
            out = dict(Eh=self.EI2, EIh=self.EI3, Eh2=self.EI4, ctx=np.full(s.n, self.ctx_decode),
                       h_points=prompts ** 2, h_bands=i2_mean)
        else:
            i, o = self._i, self._o
            _, order, bounds = self._band_index(i, o, self._bands[points])
            f = s.local_share
            span = np.where(f > 0, s.local_span, np.inf)
            chunked = (f > 0) & s.local_chunked
            groups, code = np.unique(np.where(chunked, -span, span), return_inverse=True)
            code = code.ravel()
            stats = np.empty((groups.size, 5))
            g_points = np.empty((groups.size, prompts.shape[1]))
            g_bands = np.empty((groups.size, i2_mean.shape[1]))
            for j, g in enumerate(groups):  # distinct (window, kind): a handful
                w, c = np.abs(g), bool(g < 0)
                gl = attention.local_pairs(i, w, c)
                ctx = (attention.local_pairs(i + o, w, c) - gl).sum() / o.sum()
                stats[j] = (gl.mean(), (i * gl).mean(), (i * i * gl).mean(), (gl * gl).mean(), ctx)
                g_points[j] = attention.local_pairs(prompts[0], w, c)
                g_bands[j] = self._band_means(gl, order, bounds)
            m1, mi, mi2, mgg, dctx = (stats[code, k] for k in range(5))
            g = 1.0 - f
            fc = f[:, None]
            out = dict(Eh=g * self.EI2 + 2.0 * f * m1, EIh=g * self.EI3 + 2.0 * f * mi,
                       Eh2=g * g * self.EI4 + 4.0 * f * g * mi2 + 4.0 * f * f * mgg,
                       ctx=g * self.ctx_decode + f * dctx,
                       h_points=(1.0 - fc) * prompts ** 2 + 2.0 * fc * g_points[code],
                       h_bands=(1.0 - fc) * i2_mean + 2.0 * fc * g_bands[code])
        self._rows[key] = (m, out)  # m kept: its id cannot be reused while cached
        return out

    def tail_stats(self, tail: float) -> tuple[float, float]:
        """(z, κ) for the percentile ``1 - tail``: the normal quantile of the batch fluctuation and
        the mixture quantile of the TPOT noise (module docstring)."""
        if tail not in self._tails:
            multi = self._o > 1
            kappa = _mixture_kappa(1.0 / np.sqrt(self._o[multi] - 1.0), tail) if multi.any() else 0.0
            self._tails[tail] = (normal_quantile(1.0 - tail), kappa)
        return self._tails[tail]


class _Latency:
    """Per row at one mean batch ``B``: iteration time, arrival rate, prefill queue and the service
    time of each length point; tail probabilities and quantiles of TTFT, TPOT and e2e."""

    def __init__(self, m: _Model, w: _Workload, B: np.ndarray, bmax: np.ndarray, points: str = "full"):
        st = m.step
        self.weight, self.I_points, self.steps, self.I_mean, _ = w.points[points]
        self.w, self.B, self.bmax, self.m = w, B, bmax, m
        r = w.rows(m, points)
        self.ctx = r["ctx"]
        c1, c2 = st.prefill_coeffs()
        c0 = st.prefill_per_request()  # vision tower per request (0 without images)
        Ep_len = c1 * w.EI + c2 * r["Eh"]
        self.Ep = Ep_len + c0
        self.Ep2 = (c1 ** 2 * w.EI2 + 2 * c1 * c2 * r["EIh"] + c2 ** 2 * r["Eh2"]
                    + np.where(c0 > 0, c0 * (c0 + 2.0 * Ep_len), 0.0))
        self._h_points, self._h_bands = r["h_points"], r["h_bands"]
        # prompts arrive in lumps too large to hide under the memory-bound decode step
        # per output token: an engine step over the tokens it emits per sequence (speculative
        # decoding: E[L]; else 1) and the prefill work of the prompts that arrive meanwhile
        self.per_step = st.tokens_per_step()
        self.T = st.step_time(B, self.ctx, n_seq=np.maximum(B, 1.0)) / self.per_step + B * self.Ep / w.EO
        self.lam = B / (w.EO * self.T)
        self.rho = self.lam * self.Ep
        with np.errstate(divide="ignore", invalid="ignore"):
            self.W = np.where(self.rho < 1, self.lam * self.Ep2 / (2.0 * (1.0 - self.rho)), np.inf)
            # P(wait > y) = rho exp(-mu y): an atom at 0 and an exponential tail of mean W / rho
            self.mu = np.where(self.W > 0, self.rho / self.W, np.inf)
        c0, c1, c2, T = c0[:, None], c1[:, None], c2[:, None], self.T[:, None]
        step = T * self.per_step[:, None]  # one engine step (E[L] tokens per sequence)
        # latency without the prefill wait per row and length point: arrival alignment, the prompt's
        # chunks (one step each), its own prefill compute, and for e2e the decode steps
        first = np.where(m.decode_first[:, None], step, 0.0)  # FIRST_TOKEN_FROM_DECODE engines
        self.S_ttft = (0.5 + st.prefill_chunks(np.broadcast_to(self.I_points, (m.s.n, self.I_points.shape[1])))) * step \
            + c1 * self.I_points + c2 * self._h_points + first + c0
        self._e2e_terms = (c0, c1, c2, T)
        self._first = first
        self._S_e2e = None

    @property
    def S_e2e(self) -> np.ndarray:
        """e2e without the prefill wait per band: ``(1/2 + ceil(I/C) + O - 1) T`` (the band's
        iteration count, which orders e2e) + the prompt's compute; with speculative decoding or a
        prefix cache the alignment and chunk iterations are whole engine steps of the cached prompt,
        ``(E[L] (1/2 + chunks(I)) - (1/2 + ceil(I/C))) T`` more (chunks at the band's mean prompt;
        exactly 0 without either technique)."""
        if self._S_e2e is None:
            c0, c1, c2, T = self._e2e_terms
            st = self.m.step
            mean_prompt = np.broadcast_to(self.I_mean, (self.m.s.n, self.I_mean.shape[1]))
            uncached = 0.5 + np.ceil(mean_prompt / ACTIVATION_CHUNK_TOKENS)
            whole_steps = self.per_step[:, None] * (0.5 + st.prefill_chunks(mean_prompt)) - uncached
            self._S_e2e = (0.5 + self.steps + whole_steps) * T + c1 * self.I_mean + c2 * self._h_bands + self._first + c0
        return self._S_e2e

    def exceed(self, x: np.ndarray, service: np.ndarray) -> np.ndarray:
        """P(latency > x) per row, latency = prefill wait + service of a random length point."""
        with np.errstate(over="ignore", invalid="ignore"):
            y = x[:, None] - service
            p = np.where(y < 0, 1.0, self.rho[:, None] * np.exp(-self.mu[:, None] * np.maximum(y, 0.0)))
        return np.where(self.rho < 1, (p * self.weight).sum(axis=1), 1.0)

    def quantile(self, service: np.ndarray, tail: float) -> np.ndarray:
        """x with P(latency > x) = tail (bisection, every row at once); inf when unstable."""
        lo = service.min(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            extra = np.where(self.rho > tail, np.log(np.maximum(self.rho, tail) / tail) / self.mu, 0.0)
        hi = service.max(axis=1) + np.nan_to_num(extra, nan=0.0, posinf=0.0)
        for _ in range(BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            over = self.exceed(mid, service) > tail
            lo, hi = np.where(over, mid, lo), np.where(over, hi, mid)
        return np.where(self.rho < 1, hi, np.inf)

    def tpot(self, tail: float) -> np.ndarray:
        """TPOT quantile: the step at the batch's upper quantile plus the prefill-noise term."""
        z, kappa = self.w.tail_stats(tail)
        st, B = self.m.step, self.B
        b_hi = np.minimum(B + z * np.sqrt(B), np.maximum(self.bmax, B))
        T_hi = st.step_time(b_hi, self.ctx, n_seq=np.maximum(b_hi, 1.0)) / self.per_step + b_hi * self.Ep / self.w.EO
        return T_hi + kappa * np.sqrt(self.lam * self.T * self.Ep2)


def _batch_cap(m: _Model, w: _Workload):
    """(max sequences memory holds, the batch cap per instance, whether memory binds)."""
    s = m.s
    maxc = m.max_seqs(np.full(s.n, w.EI + w.EO))
    conc = np.ceil(s.concurrency / s.dp)
    engine = m.batch_cap(np.full(s.n, w.EI), np.full(s.n, w.EO))  # engine limit (serving module)
    cap = np.floor(np.minimum(maxc, engine))
    bmax = np.where(np.isnan(conc), cap, np.minimum(conc, cap))
    return maxc, bmax, maxc < np.minimum(np.where(np.isnan(conc), np.inf, conc), engine)


def largest_batch_meeting(violations, fits: np.ndarray, bcap: np.ndarray):
    """The largest mean batch B ≤ ``bcap`` with no target violated, every row at once (``violations(B)``
    → (targets, rows) bool, monotone in B): (lo, hi, v_lo, ok_lo, top_ok, search) with ``lo`` the
    largest good B found (a fixed number of halvings), ``hi`` the smallest bad one, ``v_lo`` the
    violations at a vanishing batch, ``ok_lo`` rows that meet the targets at all, ``top_ok`` rows
    good up to the cap and ``search`` the rows bisected."""
    lo = np.full(fits.shape, 1e-6)
    v_lo = violations(lo)
    ok_lo = fits & ~v_lo.any(axis=0)
    hi = np.where(ok_lo, bcap, lo)
    top_ok = ok_lo & ~violations(hi).any(axis=0)
    lo = np.where(top_ok, hi, lo)
    search = ok_lo & ~top_ok
    for _ in range(BISECTION_STEPS):  # fixed number of halvings, every row at once
        mid = 0.5 * (lo + hi)
        good = ~violations(mid).any(axis=0)
        lo = np.where(search & good, mid, lo)
        hi = np.where(search & ~good, mid, hi)
    return lo, hi, v_lo, ok_lo, top_ok, search


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
    maxc, bmax, mem_bound = _batch_cap(m, w)
    fits = m.ok & (maxc >= 1)
    # largest mean batch with B + z sqrt(B) <= bmax
    bcap = np.where(fits, ((-Z99 + np.sqrt(Z99 ** 2 + 4.0 * np.maximum(bmax, 0.0))) / 2.0) ** 2, 0.0)
    ttft_tgt, tpot_tgt, e2e_tgt = tgt

    def violations(B):  # a target is met iff P(latency > target) <= 1 %: no quantile search needed
        lat = _Latency(m, w, B, bmax, "tail")
        v_ttft = (lat.rho >= 1) | (lat.exceed(np.full(s.n, ttft_tgt), lat.S_ttft) > P99_TAIL)
        v_e2e = ((lat.exceed(np.full(s.n, e2e_tgt), lat.S_e2e) > P99_TAIL) if np.isfinite(e2e_tgt)
                 else np.zeros(s.n, dtype=bool))
        return np.stack([v_ttft, lat.tpot(P99_TAIL) > tpot_tgt, v_e2e])

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lo, hi, v_lo, ok_lo, top_ok, search = largest_batch_meeting(violations, fits, bcap)
        lat = _Latency(m, w, lo, bmax, "tail")
        lam = lat.lam
        ttft, tpot, e2e = (lat.quantile(lat.S_ttft, P99_TAIL), lat.tpot(P99_TAIL),
                           lat.quantile(lat.S_e2e, P99_TAIL))
        v_end = violations(np.where(search, hi, lo))

    names = np.array(["ttft", "tpot", "e2e"], dtype=object)
    first_viol = names[np.argmax(v_end, axis=0)]
    first_lo = names[np.argmax(v_lo, axis=0)]
    limit = np.where(~fits, "memory",
                     np.where(~ok_lo, first_lo,
                              np.where(top_ok, np.where(mem_bound, "memory", "batch"), first_viol)))
    out = pd.DataFrame({
        "fits": fits,
        "capacity_rps": np.where(ok_lo, lam * s.dp, 0.0),
        "ttft_p99_ms": np.where(fits, ttft * MS_PER_S, np.nan),
        "tpot_p99_ms": np.where(fits, tpot * MS_PER_S, np.nan),
        "e2e_p99_ms": np.where(fits, e2e * MS_PER_S, np.nan),
        "max_concurrency": np.where(m.ok, maxc * s.dp, np.nan),
        "weights_gb": np.where(m.ok, m.wbytes / GB, np.nan),
        "kv_gb": np.where(m.ok, np.maximum(m.kv_cap, 0.0) / GB, np.nan),
        "limit": np.where(m.ok, limit, None),
        "error": s.error_strings,
    }, index=cfg.index)
    out["error"] = out["error"].where(out["error"] != "", None)
    return out


def latency_at_rate(cfg: pd.DataFrame, lengths: LengthSamples, rate_rps, efficiency: Efficiency,
                    percentiles=PERCENTILES) -> pd.DataFrame:
    """Latency percentiles of one engine instance per row at Poisson arrival rate ``rate_rps``
    (scalar or per row), by the approximation of the module docstring.

    Columns: ``stable``, ``batch`` (mean decode batch) and ``ttft_pNN_ms``, ``tpot_pNN_ms``,
    ``e2e_pNN_ms`` for each percentile NN (50 <= NN < 100). Rows that cannot sustain the rate
    (prefill saturated or batch above the memory/concurrency cap) get NaN and ``stable = False``."""
    if not all(50 <= p < 100 for p in percentiles):
        raise ValueError(f"percentiles must be in [50, 100): {percentiles}")
    m = _Model(prepare(cfg), efficiency)
    s = m.s
    w = _Workload(lengths)
    rate = np.broadcast_to(np.asarray(rate_rps, float), (s.n,))
    maxc, bmax, _ = _batch_cap(m, w)
    lo, hi = np.zeros(s.n), np.maximum(bmax, 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(BISECTION_STEPS):  # λ(B) is increasing: find the B that carries the rate
            mid = 0.5 * (lo + hi)
            below = _Latency(m, w, np.maximum(mid, 1e-9), bmax).lam < rate
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        B = np.maximum(0.5 * (lo + hi), 1e-9)
        lat = _Latency(m, w, B, bmax)
        stable = m.ok & (maxc >= 1) & (np.abs(lat.lam - rate) <= 1e-3 * np.maximum(rate, 1e-9)) & (lat.rho < 1)
        out = {"stable": stable, "batch": np.where(stable, B, np.nan)}
        for metric in ("ttft", "tpot", "e2e"):
            for p in percentiles:
                tail = 1.0 - p / 100.0
                value = (lat.tpot(tail) if metric == "tpot" else
                         lat.quantile(lat.S_ttft if metric == "ttft" else lat.S_e2e, tail))
                out[f"{metric}_p{p:g}_ms"] = np.where(stable, value * MS_PER_S, np.nan)
    return pd.DataFrame(out, index=cfg.index)


def p99_at_rate(cfg: pd.DataFrame, lengths: LengthSamples, rate_rps, efficiency: Efficiency) -> pd.DataFrame:
    """``latency_at_rate`` at P99 only: ``stable, batch, ttft_p99_ms, tpot_p99_ms, e2e_p99_ms``."""
    return latency_at_rate(cfg, lengths, rate_rps, efficiency, percentiles=(99,))
