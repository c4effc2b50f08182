"""Serving model: output contract, vectorisation, capacity-at-SLO properties, and a discrete-event
simulation that checks the P99 queueing approximation."""


import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from planner.perf import Efficiency, LengthSamples, SloTargets, capacity_at_slo, estimate
from planner.perf.config import prepare
from planner.perf.fixtures import example_cfg
from planner.perf.latency import StepModel
from planner.perf.memory import ACTIVATION_CHUNK_TOKENS, param_counts
from planner.perf.serving import CAPACITY_COLUMNS, OUTPUT_COLUMNS, p99_at_rate

EFF = Efficiency.from_values(mfu=0.5, mbu=0.75, step_overhead_ms=2.0)
INPUT = ["model", "gpu", "num_gpus", "tp", "pp", "precision", "kv_precision", "engine_family",
         "scenario", "input_len", "output_len", "concurrency"]


def _lengths(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    i = np.clip(rng.lognormal(np.log(400), 0.8, n), 8, 4000).round()
    o = np.clip(rng.lognormal(np.log(120), 0.7, n), 2, 1000).round()
    return LengthSamples(i, o)


def test_estimate_columns_exact_and_defaults():
    cfg = pd.DataFrame({c: [np.nan] for c in INPUT}).astype(object)
    cfg = example_cfg(n=3, scenario=["fixed_batch", "offline", "server"], input_len=np.nan,
                      output_len=np.nan, concurrency=[16, np.nan, 32])
    out = estimate(cfg, EFF)
    assert list(out.columns) == list(cfg.columns) + OUTPUT_COLUMNS
    assert out["fits"].all() and out["error"].isna().all()
    assert (out["throughput_out_tok_s"] > 0).all()
    # offline batches at least as much as the server row with 32 in flight
    assert out["throughput_out_tok_s"][1] >= out["throughput_out_tok_s"][2]
    fb = out.iloc[0]
    assert fb["e2e_latency_ms"] == pytest.approx(fb["ttft_ms"] + (228 - 1) * fb["tpot_ms"])
    assert fb["throughput_out_tok_s"] == pytest.approx(16 * 228 / fb["e2e_latency_ms"] * 1e3)


def test_vectorised_over_1e5_rows():
    n = 100_000
    rng = np.random.default_rng(1)
    cfg = example_cfg(n=n, input_len=rng.integers(1, 4000, n), output_len=rng.integers(1, 2000, n),
                      concurrency=rng.integers(1, 256, n),
                      scenario=rng.choice(["fixed_batch", "offline", "server", "interactive"], n))
    out = estimate(cfg, EFF)  # speed is measured in benchmarks/perf_speed.py, not asserted here
    assert len(out) == n and out["throughput_out_tok_s"].notna().all()
    cap = capacity_at_slo(cfg.iloc[:20_000], _lengths(), SloTargets(2000, 80, None), EFF)
    assert list(cap.columns) == CAPACITY_COLUMNS and (cap["capacity_rps"] > 0).all()


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


# ---- discrete-event simulation of continuous batching with chunked prefill --------------------------

def _simulate(step, lam, lengths, bmax, n_req, seed):
    """Iteration-level simulator: Poisson arrivals, FCFS admission up to ``bmax`` sequences, prefill
    chunks of ACTIVATION_CHUNK_TOKENS per iteration, iteration time from the same roofline as the model
    (``StepModel.full_time`` coefficients, tp = pp = 1)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, lengths.input_tokens.size, n_req)
    I, O = lengths.input_tokens[idx], lengths.output_tokens[idx]
    arr = np.cumsum(rng.exponential(1.0 / lam, n_req))
    c = dict(Wb=float(step.dense_bytes[0]), bw=float(step.bw[0] * step.mbu[0]),
             P=float(step.peak[0] * step.mfu[0]), a=float(step.compute_params[0]),
             kv=float(step.kv_per_token[0]), att=float(step.attn_flops_per_ctx[0]),
             oh=float(step.overhead_s[0]))

    def t_iter(n_tok, ctx_sum, pre_att):
        lin = max(c["Wb"] / c["bw"], 2 * c["a"] * n_tok / c["P"])
        att = max(c["kv"] * ctx_sum / c["bw"], c["att"] * (ctx_sum + pre_att) / c["P"])
        return lin + att + c["oh"]

    t, nxt = 0.0, 0
    waiting, prefilling, decoding = [], [], []  # request ids; prefill progress in done_in
    done_in = np.zeros(n_req)
    gen = np.zeros(n_req)
    first = np.full(n_req, np.nan)
    finish = np.full(n_req, np.nan)
    while nxt < n_req or waiting or prefilling or decoding:
        while nxt < n_req and arr[nxt] <= t:
            waiting.append(nxt)
            nxt += 1
        while waiting and len(prefilling) + len(decoding) < bmax:
            prefilling.append(waiting.pop(0))
        if not prefilling and not decoding:
            t = arr[nxt]
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
        n_tok = len(decoding) + sum(k for _, k in chunks)
        t += t_iter(n_tok, ctx_sum, pre_att)
        for r in decoding:
            gen[r] += 1
        still = []
        for r in decoding:
            if gen[r] >= O[r]:
                finish[r] = t
            else:
                still.append(r)
        decoding = still
        for r, k in chunks:
            done_in[r] += k
            if done_in[r] >= I[r]:
                prefilling.remove(r)
                first[r] = t
                gen[r] = 1
                decoding.append(r)
    keep = slice(n_req // 10, None)  # drop warm-up
    ttft = (first - arr)[keep]
    tpot = ((finish - first) / np.maximum(O - 1, 1))[keep][O[keep] > 1]
    return np.quantile(ttft, 0.99), np.quantile(tpot, 0.99)


def test_p99_approximation_matches_simulation():
    cfg = example_cfg(concurrency=256, scenario="server")
    L = _lengths(4000, seed=3)
    s = prepare(cfg)
    step = StepModel.build(s, param_counts(s), EFF.lookup(s.engine, s.gpu_family))
    cap = capacity_at_slo(cfg, L, SloTargets(), EFF)["capacity_rps"][0]
    for load in (0.4, 0.7):
        lam = load * cap
        approx = p99_at_rate(cfg, L, lam, EFF).iloc[0]
        sim_ttft, sim_tpot = _simulate(step, lam, L, 256, 6000, seed=7)
        assert approx["ttft_p99_ms"] == pytest.approx(sim_ttft * 1e3, rel=0.35), (load, approx, sim_ttft)
        assert approx["tpot_p99_ms"] == pytest.approx(sim_tpot * 1e3, rel=0.35), (load, approx, sim_tpot)
