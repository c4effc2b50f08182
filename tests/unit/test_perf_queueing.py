"""Latency percentiles and capacity at SLO (planner.perf.queueing): properties, and a discrete-event
simulation of the engine (simpy) that checks the queueing approximation at P50, P90 and P99."""

import numpy as np
import pytest
import simpy
from hypothesis import given, settings, strategies as st

from planner.perf import Efficiency, SloTargets, capacity_at_slo, latency_at_rate
from planner.perf.config import prepare
from planner.perf.fixtures import example_cfg, example_lengths as _lengths
from planner.perf.latency import StepModel
from planner.perf.memory import ACTIVATION_CHUNK_TOKENS, param_counts
from planner.perf.queueing import normal_quantile, p99_at_rate

EFF = Efficiency.from_values(mfu=0.5, mbu=0.75, step_overhead_ms=2.0)


def test_normal_quantile():
    assert normal_quantile(0.5) == pytest.approx(0.0, abs=1e-9)
    assert normal_quantile(0.9) == pytest.approx(1.2815516, abs=1e-6)
    assert normal_quantile(0.99) == pytest.approx(2.3263479, abs=1e-6)


def test_capacity_basic_and_limits():
    cfg = example_cfg(n=3, concurrency=[256, 256, 4], scenario="server")
    cfg.loc[1, "gpu_memory_gb"] = 10.0  # weights do not fit
    out = capacity_at_slo(cfg, _lengths(), SloTargets(ttft_p99_ms=3000, tpot_p99_ms=60), EFF)
    assert out["capacity_rps"][0] > 0 and out["limit"][0] in ("ttft", "tpot", "e2e", "batch", "memory")
    assert not out["fits"][1] and out["capacity_rps"][1] == 0 and out["limit"][1] == "memory"
    assert out["limit"][2] == "batch"
    assert out["tpot_p99_ms"][0] <= 60 + 1e-6 and out["ttft_p99_ms"][0] <= 3000 + 1e-6
    impossible = capacity_at_slo(cfg.iloc[:1], _lengths(), SloTargets(ttft_p99_ms=1.0), EFF)
    assert impossible["capacity_rps"][0] == 0 and impossible["limit"][0] == "ttft"


def test_e2e_target_binds_and_is_met():
    cfg = example_cfg(concurrency=256, scenario="server")
    free = capacity_at_slo(cfg, _lengths(), SloTargets(), EFF).iloc[0]
    e2e = 0.8 * free["e2e_p99_ms"]
    bound = capacity_at_slo(cfg, _lengths(), SloTargets(e2e_p99_ms=e2e), EFF).iloc[0]
    assert bound["limit"] == "e2e" and bound["e2e_p99_ms"] <= e2e * (1 + 1e-9)
    assert 0 < bound["capacity_rps"] < free["capacity_rps"]


@settings(max_examples=25, deadline=None)
@given(st.floats(200, 5000), st.floats(0.3, 1.0), st.floats(10, 100), st.floats(0.3, 1.0))
def test_tighter_slo_never_raises_capacity(ttft, f1, tpot, f2):
    cfg = example_cfg(n=2, model="llama-3.1-70b", num_gpus=4, tp=4, concurrency=128)
    L = _lengths(500)
    loose = capacity_at_slo(cfg.iloc[:1], L, SloTargets(ttft, tpot, None), EFF)["capacity_rps"][0]
    tight = capacity_at_slo(cfg.iloc[:1], L, SloTargets(ttft * f1, tpot * f2, None), EFF)["capacity_rps"][0]
    assert tight <= loose * (1 + 1e-6) + 1e-9


def test_more_batch_slots_never_lower_capacity():
    cfg = example_cfg(n=4, concurrency=[8, 32, 128, 512])
    cap = capacity_at_slo(cfg, _lengths(), SloTargets(5000, 100, None), EFF)["capacity_rps"].to_numpy()
    assert np.all(np.diff(cap) >= -1e-9)


def test_percentiles_ordered_and_p99_consistent():
    cfg = example_cfg(n=3, concurrency=256, scenario="server")
    cap = capacity_at_slo(cfg.iloc[:1], _lengths(), SloTargets(), EFF)["capacity_rps"][0]
    rates = np.array([0.2, 0.5, 0.8]) * cap
    out = latency_at_rate(cfg, _lengths(), rates, EFF)
    assert out["stable"].all()
    for metric in ("ttft", "tpot", "e2e"):
        p50, p90, p99 = (out[f"{metric}_p{p}_ms"].to_numpy() for p in (50, 90, 99))
        assert np.all(p50 <= p90 + 1e-9) and np.all(p90 <= p99 + 1e-9), metric
        assert np.all(np.diff(p99) >= -1e-9), metric  # more load, slower
    p99 = p99_at_rate(cfg, _lengths(), rates, EFF)
    assert np.allclose(p99["ttft_p99_ms"], out["ttft_p99_ms"])
    assert not latency_at_rate(cfg.iloc[:1], _lengths(), 10 * cap, EFF)["stable"][0]
    with pytest.raises(ValueError):
        latency_at_rate(cfg, _lengths(), 1.0, EFF, percentiles=(100,))


# ---- discrete-event simulation of continuous batching with chunked prefill (simpy) ---------------

def _simulate(step, lam, lengths, bmax, n_req, seed):
    """The engine as a simpy model: a Poisson arrival process puts requests in a FCFS queue; the
    engine process admits up to ``bmax`` sequences, runs one iteration at a time (every decoding
    sequence advances one token; waiting prompts are prefilled in chunks of ACTIVATION_CHUNK_TOKENS
    per iteration) and sleeps when idle. The iteration time is the roofline of the model's
    ``StepModel`` (tp = pp = 1) with the iteration's exact token counts and contexts: the simulation
    checks the queueing approximation, not the roofline. Returns per-request TTFT, TPOT, e2e (s)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, lengths.input_tokens.size, n_req)
    I, O = lengths.input_tokens[idx], lengths.output_tokens[idx]
    gaps = rng.exponential(1.0 / lam, n_req)
    c = dict(Wb=float(step.dense_bytes[0]), bw=float(step.bw[0] * step.mbu[0]),
             P=float(step.peak[0] * step.mfu[0]), a=float(step.compute_params[0]),
             kv=float(step.kv_per_token[0]), att=float(step.attn_flops_per_ctx[0]),
             oh=float(step.overhead_s[0]))

    def t_iter(n_tok, ctx_sum, pre_att):
        lin = max(c["Wb"] / c["bw"], 2 * c["a"] * n_tok / c["P"])
        att = max(c["kv"] * ctx_sum / c["bw"], c["att"] * (ctx_sum + pre_att) / c["P"])
        return lin + att + c["oh"]

    env = simpy.Environment()
    arrived, first, finish = np.full(n_req, np.nan), np.full(n_req, np.nan), np.full(n_req, np.nan)
    waiting: list[int] = []
    wake = {"event": env.event()}

    def arrivals():
        for r in range(n_req):
            yield env.timeout(gaps[r])
            arrived[r] = env.now
            waiting.append(r)
            if not wake["event"].triggered:
                wake["event"].succeed()

    def engine():
        prefilling, decoding = [], []
        done_in, gen = np.zeros(n_req), np.zeros(n_req)
        while True:
            while waiting and len(prefilling) + len(decoding) < bmax:
                prefilling.append(waiting.pop(0))
            if not prefilling and not decoding:
                wake["event"] = env.event()
                yield wake["event"]
                continue
            budget, chunks, pre_att = ACTIVATION_CHUNK_TOKENS, [], 0.0
            for r in prefilling:
                if budget <= 0:
                    break
                take = min(budget, I[r] - done_in[r])
                chunks.append((r, take))
                pre_att += take * (done_in[r] + take / 2)
                budget -= take
            ctx_sum = float(sum(I[r] + gen[r] for r in decoding))
            yield env.timeout(t_iter(len(decoding) + sum(k for _, k in chunks), ctx_sum, pre_att))
            still = []
            for r in decoding:
                gen[r] += 1
                if gen[r] >= O[r]:
                    finish[r] = env.now
                else:
                    still.append(r)
            decoding = still
            for r, k in chunks:
                done_in[r] += k
                if done_in[r] >= I[r]:
                    prefilling.remove(r)
                    first[r], gen[r] = env.now, 1
                    decoding.append(r)

    env.process(arrivals())
    env.process(engine())
    env.run(until=env.timeout(float(gaps.sum()) * 1.5 + 600.0))
    keep = slice(n_req // 10, None)  # drop the warm-up
    done = np.isfinite(finish[keep])
    ttft = (first - arrived)[keep][done]
    e2e = (finish - arrived)[keep][done]
    multi = (O[keep] > 1)[done]
    tpot = ((finish - first) / np.maximum(O - 1, 1))[keep][done][multi]
    return ttft, tpot, e2e


# Stated tolerance of the approximation against the simulation (relative, per percentile). Measured
# (2026-11-30, 8B on H100, batch caps 256 and 32, loads 0.4-0.9 of capacity): P99 TTFT -18..+3 %,
# TPOT -3..+12 %, e2e +9..+19 %; P90 within 18 %; P50 TTFT +15..+32 % (the approximation charges
# a full iteration for the arrival alignment and the prompt's own chunk: conservative).
TOLERANCE = {50: 0.35, 90: 0.25, 99: 0.25}


@pytest.mark.parametrize("max_batch, load", [(256, 0.4), (256, 0.7), (32, 0.7)])
def test_latency_percentiles_match_simulation(max_batch, load):
    cfg = example_cfg(concurrency=max_batch, scenario="server")
    L = _lengths(4000, seed=3)
    s = prepare(cfg)
    step = StepModel.build(s, param_counts(s), EFF.lookup(s.engine, s.gpu_family))
    cap = capacity_at_slo(cfg, L, SloTargets(), EFF)["capacity_rps"][0]
    lam = load * cap
    approx = latency_at_rate(cfg, L, lam, EFF).iloc[0]
    sim = dict(zip(("ttft", "tpot", "e2e"), _simulate(step, lam, L, max_batch, 6000, seed=7)))
    for metric, values in sim.items():
        for p, tol in TOLERANCE.items():
            got, want = approx[f"{metric}_p{p}_ms"], np.quantile(values, p / 100) * 1e3
            assert got == pytest.approx(want, rel=tol), (metric, p, got, want)
