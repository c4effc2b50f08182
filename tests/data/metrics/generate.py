"""Writes the metrics fixtures of tests/e2e/test_monitor.py: successive /metrics snapshots of
serving engines, in each engine's own exposition format (see README.md). Run from anywhere:
``python tests/data/metrics/generate.py``; the output is deterministic.

vLLM exposes its metrics with prometheus_client, so the vLLM snapshots are rendered by
prometheus_client itself (``generate_latest``) from the metric definitions of
vllm/v1/metrics/loggers.py and vllm/engine/metrics.py (names, labels, buckets), trimmed to the
families the monitor reads plus a few it ignores. TGI renders with the Rust crate
metrics-exporter-prometheus (``# TYPE`` lines, no ``# HELP``, counters without ``_total``), so the
TGI snapshots are written here in that layout with the buckets of TGI's router/src/server.rs.

The observations between snapshots are the ones spelled out below; the test computes its
expected figures by hand from them."""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import disable_created_metrics, enable_created_metrics

HERE = Path(__file__).resolve().parent
MODEL = "meta-llama/Llama-3.1-8B-Instruct"
CREATED = 1767225600.0  # the engines' start, 2026-01-01T00:00:00Z: keeps the _created samples stable

V1_TTFT = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
           20.0, 40.0, 80.0, 160.0, 640.0, 2560.0]
V1_ITL = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0]
V1_E2E = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0,
          960.0, 1920.0, 7680.0]
V0_TTFT = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]
V0_TPOT = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5]
V0_E2E = [1.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0]


def observe(histogram, spec):
    """spec: [(how many, value)]: that many observations of that value."""
    for n, value in spec:
        for _ in range(n):
            histogram.observe(value)


def vllm_v1():
    """vLLM v1 with data parallelism 2 (engine="0" and "1", one model): three snapshots, 15 s apart.
    Interval A (1→2): 30 requests (e0: 16 stop + 2 length, e1: 11 stop + 1 length), 16,500 prompt
    and 6,300 generated tokens; interval B (2→3): 15 requests, 8,250 prompt, 3,000 generated."""
    registry = CollectorRegistry()
    labels = ["model_name", "engine"]
    running = Gauge("vllm:num_requests_running", "Number of requests in model execution batches.", labels, registry=registry)
    waiting = Gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", labels, registry=registry)
    kv = Gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", labels, registry=registry)
    queries = Counter("vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.", labels, registry=registry)
    hits = Counter("vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.", labels, registry=registry)
    preempt = Counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.", labels, registry=registry)
    prompt = Counter("vllm:prompt_tokens", "Number of prefill tokens processed.", labels, registry=registry)
    gen = Counter("vllm:generation_tokens", "Number of generation tokens processed.", labels, registry=registry)
    success = Counter("vllm:request_success", "Count of successfully processed requests.", labels + ["finished_reason"], registry=registry)
    ttft = Histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", labels, buckets=V1_TTFT, registry=registry)
    itl = Histogram("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", labels, buckets=V1_ITL, registry=registry)
    e2e = Histogram("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", labels, buckets=V1_E2E, registry=registry)
    engines = {e: (MODEL, e) for e in ("0", "1")}
    for e, lv in engines.items():  # vLLM creates every series at start-up, finish reasons included
        for reason in ("stop", "length", "abort"):
            success.labels(*lv, reason)
        for m in (running, waiting, kv, queries, hits, preempt, prompt, gen, ttft, itl, e2e):
            m.labels(*lv)

    def step(e, *, stop, length, prompt_tokens, gen_tokens, ttft_obs, itl_obs, e2e_obs, q, h, gauges):
        lv = engines[e]
        success.labels(*lv, "stop").inc(stop)
        success.labels(*lv, "length").inc(length)
        prompt.labels(*lv).inc(prompt_tokens)
        gen.labels(*lv).inc(gen_tokens)
        observe(ttft.labels(*lv), ttft_obs)
        observe(itl.labels(*lv), itl_obs)
        observe(e2e.labels(*lv), e2e_obs)
        queries.labels(*lv).inc(q)
        hits.labels(*lv).inc(h)
        for g, v in zip((running, waiting, kv), gauges):
            g.labels(*lv).set(v)

    # history before the first snapshot
    step("0", stop=190, length=10, prompt_tokens=230_000, gen_tokens=42_000, ttft_obs=[(150, 0.08), (50, 0.2)],
         itl_obs=[(40_000, 0.02), (1_800, 0.04)], e2e_obs=[(180, 4.0), (20, 7.0)], q=90_000, h=30_000, gauges=(3, 0, 0.21))
    step("1", stop=140, length=10, prompt_tokens=170_000, gen_tokens=31_500, ttft_obs=[(120, 0.08), (30, 0.2)],
         itl_obs=[(30_000, 0.02), (1_350, 0.04)], e2e_obs=[(140, 4.0), (10, 7.0)], q=70_000, h=20_000, gauges=(2, 0, 0.15))
    preempt.labels(*engines["0"]).inc(3)
    snapshots = [generate_latest(registry)]
    # interval A
    step("0", stop=16, length=2, prompt_tokens=10_000, gen_tokens=3_780,
         ttft_obs=[(6, 0.08), (9, 0.2), (2, 0.4), (1, 0.7)],
         itl_obs=[(3000, 0.02), (720, 0.04), (36, 0.06), (6, 0.09)],
         e2e_obs=[(12, 4.0), (5, 7.0), (1, 12.0)], q=8_000, h=2_000, gauges=(7, 1, 0.42))
    step("1", stop=11, length=1, prompt_tokens=6_500, gen_tokens=2_520,
         ttft_obs=[(4, 0.08), (6, 0.2), (2, 0.4)],
         itl_obs=[(2000, 0.02), (480, 0.04), (24, 0.06), (4, 0.09)],
         e2e_obs=[(8, 4.0), (3, 7.0), (1, 12.0)], q=6_000, h=1_500, gauges=(5, 0, 0.30))
    snapshots.append(generate_latest(registry))
    # interval B
    step("0", stop=9, length=0, prompt_tokens=5_000, gen_tokens=1_800, ttft_obs=[(9, 0.2)], itl_obs=[(1791, 0.03)],
         e2e_obs=[(9, 3.0)], q=2_500, h=0, gauges=(4, 0, 0.2))
    step("1", stop=6, length=0, prompt_tokens=3_250, gen_tokens=1_200, ttft_obs=[(6, 0.2)], itl_obs=[(1194, 0.03)],
         e2e_obs=[(6, 3.0)], q=1_500, h=0, gauges=(2, 0, 0.1))
    snapshots.append(generate_latest(registry))
    return snapshots


def vllm_v0():
    """vLLM v0 (one engine, labelled by model_name only; vLLM v0 disables the _created samples):
    two snapshots 10 s apart; 8 requests (7 stop, 1 length), 5,000 prompt, 2,000 generated tokens."""
    registry = CollectorRegistry()
    labels = ["model_name"]
    running = Gauge("vllm:num_requests_running", "Number of requests currently running on GPU.", labels, registry=registry)
    waiting = Gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", labels, registry=registry)
    swapped = Gauge("vllm:num_requests_swapped", "Number of requests swapped to CPU.", labels, registry=registry)
    gpu_cache = Gauge("vllm:gpu_cache_usage_perc", "GPU KV-cache usage. 1 means 100 percent usage.", labels, registry=registry)
    prompt = Counter("vllm:prompt_tokens", "Number of prefill tokens processed.", labels, registry=registry)
    gen = Counter("vllm:generation_tokens", "Number of generation tokens processed.", labels, registry=registry)
    ttft = Histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", labels, buckets=V0_TTFT, registry=registry)
    tpot = Histogram("vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds.", labels, buckets=V0_TPOT, registry=registry)
    e2e = Histogram("vllm:e2e_request_latency_seconds", "Histogram of end to end request latency in seconds.", labels, buckets=V0_E2E, registry=registry)
    success = Counter("vllm:request_success", "Count of successfully processed requests.", labels + ["finished_reason"], registry=registry)
    throughput = Gauge("vllm:avg_generation_throughput_toks_per_s", "Average generation throughput in tokens/s.", labels, registry=registry)
    m = "mistralai/Mistral-7B-Instruct-v0.3"
    success.labels(m, "stop").inc(500)
    success.labels(m, "length").inc(20)
    prompt.labels(m).inc(310_000)
    gen.labels(m).inc(130_000)
    observe(ttft.labels(m), [(450, 0.3), (70, 0.9)])
    observe(tpot.labels(m), [(120_000, 0.04), (9_480, 0.09)])
    observe(e2e.labels(m), [(480, 8.0), (40, 20.0)])
    for g, v in ((running, 4), (waiting, 0), (swapped, 0), (gpu_cache, 0.38), (throughput, 190.2)):
        g.labels(m).set(v)
    snapshots = [generate_latest(registry)]
    success.labels(m, "stop").inc(7)
    success.labels(m, "length").inc(1)
    prompt.labels(m).inc(5_000)
    gen.labels(m).inc(2_000)
    observe(ttft.labels(m), [(6, 0.3), (2, 0.9)])
    observe(tpot.labels(m), [(1900, 0.04), (92, 0.09)])
    observe(e2e.labels(m), [(7, 8.0), (1, 20.0)])
    for g, v in ((running, 6), (waiting, 3), (swapped, 0), (gpu_cache, 0.55), (throughput, 200.0)):
        g.labels(m).set(v)
    snapshots.append(generate_latest(registry))
    return snapshots


# --- TGI: metrics-exporter-prometheus layout --------------------------------------------------

def tgi_duration_buckets():
    """router/src/server.rs: 35 buckets, a geometric sequence from 0.0001 × 1.5."""
    value, out = 0.0001, []
    for _ in range(35):
        value *= 1.5
        out.append(value)
    return out


MAX_INPUT_TOKENS, MAX_TOTAL_TOKENS = 4095, 4096
TGI_INPUT = [(MAX_INPUT_TOKENS / 100.0) * (x + 1) for x in range(100)]
TGI_GENERATED = [(MAX_TOTAL_TOKENS / 100.0) * (x + 1) for x in range(100)]


def rust_float(x: float) -> str:
    """Rust's Display of an f64: the shortest round-trip digits, integers without a fraction."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


class TgiHistogram:
    def __init__(self, name, bounds):
        self.name, self.bounds, self.values = name, bounds, []

    def observe(self, spec):
        for n, v in spec:
            self.values += [v] * n

    def render(self):
        lines = [f"# TYPE {self.name} histogram"]
        for b in self.bounds:
            lines.append(f'{self.name}_bucket{{le="{rust_float(b)}"}} {sum(1 for v in self.values if v <= b)}')
        lines.append(f'{self.name}_bucket{{le="+Inf"}} {len(self.values)}')
        lines.append(f"{self.name}_sum {rust_float(sum(self.values))}")
        lines.append(f"{self.name}_count {len(self.values)}")
        return "\n".join(lines)


class Tgi:
    def __init__(self):
        d = tgi_duration_buckets()
        self.counters = {"tgi_request_count": 0, "tgi_request_success": 0, "tgi_batch_inference_count": 0}
        self.gauges = {"tgi_batch_current_size": 0, "tgi_queue_size": 0, "tgi_batch_current_max_tokens": 0}
        self.hist = {n: TgiHistogram(n, b) for n, b in (
            ("tgi_request_duration", d), ("tgi_request_queue_duration", d),
            ("tgi_request_mean_time_per_token_duration", d),
            ("tgi_request_input_length", TGI_INPUT), ("tgi_request_generated_tokens", TGI_GENERATED))}

    def requests(self, n, *, failed=0, input_len, generated, duration, tpot, queue=0.01):
        self.counters["tgi_request_count"] += n + failed
        self.counters["tgi_request_success"] += n
        self.counters["tgi_batch_inference_count"] += 2 * n
        self.hist["tgi_request_input_length"].observe([(n, input_len)])
        self.hist["tgi_request_generated_tokens"].observe([(n, generated)])
        self.hist["tgi_request_duration"].observe(duration)
        self.hist["tgi_request_mean_time_per_token_duration"].observe(tpot)
        self.hist["tgi_request_queue_duration"].observe([(n, queue)])

    def render(self, batch, queue):
        self.gauges.update(tgi_batch_current_size=batch, tgi_queue_size=queue, tgi_batch_current_max_tokens=batch * 1361)
        blocks = [f"# TYPE {k} counter\n{k} {v}" for k, v in sorted(self.counters.items())]
        blocks += [f"# TYPE {k} gauge\n{k} {rust_float(v)}" for k, v in sorted(self.gauges.items())]
        blocks += [h.render() for _, h in sorted(self.hist.items())]
        return ("\n\n".join(blocks) + "\n").encode()


def tgi():
    """TGI: three snapshots 10 s apart. 1→2: 40 requests succeed (and 0 fail), each with 1,150 input
    and 210 generated tokens; e2e 30 × 3 s, 9 × 5 s, 1 × 8 s; mean time per token 36 × 14 ms,
    4 × 30 ms. Between 2 and 3 the server restarts: snapshot 3 counts 24 requests from zero (2 s each)."""
    engine = Tgi()
    engine.requests(990, failed=10, input_len=1150, generated=210, duration=[(990, 3.0)], tpot=[(990, 0.014)])
    snapshots = [engine.render(batch=8, queue=2)]
    engine.requests(40, input_len=1150, generated=210, duration=[(30, 3.0), (9, 5.0), (1, 8.0)],
                    tpot=[(36, 0.014), (4, 0.03)])
    snapshots.append(engine.render(batch=11, queue=0))
    restarted = Tgi()
    restarted.requests(24, failed=1, input_len=1150, generated=210, duration=[(24, 2.0)], tpot=[(24, 0.012)])
    snapshots.append(restarted.render(batch=3, queue=0))
    return snapshots


def main():
    real_time = time.time
    time.time = lambda: CREATED  # prometheus_client stamps _created with time.time()
    try:
        enable_created_metrics()
        v1 = vllm_v1()
        disable_created_metrics()  # as vllm/engine/metrics.py does
        v0 = vllm_v0()
        enable_created_metrics()
    finally:
        time.time = real_time
    for name, snapshots in (("vllm_v1", v1), ("vllm_v0", v0), ("tgi", tgi())):
        for i, body in enumerate(snapshots, start=1):
            (HERE / f"{name}_{i}.prom").write_bytes(body)


if __name__ == "__main__":
    main()
