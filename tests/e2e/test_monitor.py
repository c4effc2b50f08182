"""Live monitoring end to end: a real HTTP server on loopback serves the engines' /metrics snapshots
(tests/data/metrics/, each engine's own exposition format; generate.py spells out the observations
between snapshots) and ``planner.monitor`` scrapes it with an injected clock and sleep. Every expected
figure below is worked out by hand from those observations and the hand-made plan_small.json:

plan_small: $62.40 over 24 h = $2.60/h (on-demand 1×$2/h both periods, spot 1×$1/h in period 0,
storage $2.40); periods of 12 h with capacity 6 and 3 req/s (mean 4.5), demand 4 and 2 req/s (mean 3),
replicas 2 and 1 (mean 1.5); mean output 200 tokens; SLO TTFT P99 500 ms, TPOT P99 80 ms."""

import json
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from planner.errors import InputError
from planner.monitor import compare, monitor, plan_share, render_report, scrape
from planner.monitor_metrics import Interval, parse_metrics, quantile
from planner.plan import read_plan

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "metrics"
PLAN = DATA / "plan_small.json"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def snapshots(engine, n):
    return [(DATA / f"{engine}_{i}.prom").read_bytes() for i in range(1, n + 1)]


def tgi_bound(k):
    """TGI's k-th duration bucket (router/src/server.rs: 0.0001 × 1.5^k, k = 1..35)."""
    return 0.0001 * 1.5 ** k


class FakeClock:
    """clock() and sleep() for monitor: sleeping moves the clock, nothing waits."""

    def __init__(self):
        self.now, self.slept = 1000.0, []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def serve():
    """serve(bodies) → (URL, log): a /metrics endpoint answering the i-th GET with bodies[i] (the last
    one again after that; a (status, body) pair answers with that status); log records each request's
    Accept header."""
    servers = []

    def start(bodies, status=200, content_type=CONTENT_TYPE):
        log = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                answer = bodies[min(len(log), len(bodies) - 1)]
                code, body = answer if isinstance(answer, tuple) else (status, answer)
                log.append(self.headers.get("Accept"))
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/metrics", log

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def run(urls, interval_s, samples, **kw):
    clock = FakeClock()
    seen = []
    reports = monitor(urls, PLAN, interval_s, samples, on_report=seen.append, clock=clock, sleep=clock.sleep, **kw)
    assert seen == reports
    return reports, clock


def test_vllm_v1_two_engines_against_the_whole_fleet(serve):
    url, log = serve(snapshots("vllm_v1", 3))
    reports, clock = run(url, 15, 3)
    assert len(reports) == 2 and len(log) == 3 and clock.slept == [15, 15]
    assert all(accept.startswith("text/plain;version=0.0.4") for accept in log)
    r = reports[0]
    o = r["observed"]
    # interval A, both engines summed: 16,500 prompt and 6,300 generated tokens, 30 requests in 15 s
    assert r["interval"]["seconds"] == 15 and r["interval"]["engines"] == ["vllm"]
    assert o["prompt_tokens_per_s"] == pytest.approx(1100)
    assert o["generation_tokens_per_s"] == pytest.approx(420)
    assert o["requests_per_s"] == pytest.approx(2.0)
    assert o["mean_output_tokens"] == pytest.approx(210)
    # TTFT: 10×0.08 + 15×0.2 + 4×0.4 + 1×0.7 = 6.1 s over 30; rank 29.7 in (0.5, 0.75] holding 1 (29 below)
    assert o["ttft"]["observations"] == 30
    assert o["ttft"]["mean_ms"] == pytest.approx(6100 / 30)
    assert o["ttft"]["p99_ms"] == pytest.approx(500 + 250 * (29.7 - 29) / 1)
    # inter-token latency: 5000×0.02 + 1200×0.04 + 60×0.06 + 10×0.09 = 152.5 s over 6270;
    # rank 0.99 × 6270 = 6207.3 in (0.05, 0.075] holding 60 (6200 below)
    assert o["tpot"]["metric"] == "vllm:inter_token_latency_seconds"
    assert o["tpot"]["mean_ms"] == pytest.approx(152_500 / 6270)
    assert o["tpot"]["p99_ms"] == pytest.approx(50 + 25 * (6207.3 - 6200) / 60)
    # e2e: 20×4 + 8×7 + 2×12 = 160 s over 30; rank 29.7 in (10, 15] holding 2 (28 below)
    assert o["e2e"]["mean_ms"] == pytest.approx(160_000 / 30)
    assert o["e2e"]["p99_ms"] == pytest.approx(10_000 + 5_000 * (29.7 - 28) / 2)
    assert (o["running"], o["waiting"]) == (12, 1)
    assert o["kv_cache_usage"] == pytest.approx((0.42 + 0.30) / 2)
    assert o["prefix_cache_hit_rate"] == pytest.approx(3500 / 14000)
    # the plan: $2.60/h for the whole fleet
    usd_per_s = 2.6 / 3600
    assert r["cost"]["usd_per_hour"] == pytest.approx(2.6)
    assert r["cost"]["usd_per_mtok"] == pytest.approx(usd_per_s / 1520 * 1e6)  # ≈ $0.475
    assert r["cost"]["usd_per_mtok_output"] == pytest.approx(usd_per_s / 420 * 1e6)  # ≈ $1.720
    assert r["cost"]["usd_per_1k_requests"] == pytest.approx(usd_per_s / 2 * 1e3)
    assert r["plan"]["capacity_rps"] == pytest.approx(4.5) and r["plan"]["demand_rps"] == pytest.approx(3.0)
    assert r["utilisation"] == pytest.approx(2 / 4.5)
    assert r["drift"]["demand"] == pytest.approx(2 / 3 - 1)
    assert r["drift"]["mean_output_tokens"] == pytest.approx(210 / 200 - 1)
    assert r["slo"]["ttft_p99_ms"] == {"observed": pytest.approx(675), "target": 500, "status": "missed"}
    assert r["slo"]["tpot_p99_ms"]["status"] == "met"
    assert r["slo"]["e2e_p99_ms"]["status"] == "no target"
    assert r["interval"]["counter_resets"] == []
    # interval B: 8,250 prompt, 3,000 generated tokens, 15 requests; every TTFT 0.2 s in (0.1, 0.25]
    o = reports[1]["observed"]
    assert (o["prompt_tokens_per_s"], o["generation_tokens_per_s"], o["requests_per_s"]) == pytest.approx((550, 200, 1))
    assert o["ttft"]["p99_ms"] == pytest.approx(100 + 150 * 0.99)
    assert o["tpot"]["p99_ms"] == pytest.approx(25 + 25 * 0.99)
    assert o["e2e"]["p99_ms"] == pytest.approx(2500 + 2500 * 0.99)
    assert o["prefix_cache_hit_rate"] == 0
    assert reports[1]["slo"]["ttft_p99_ms"]["status"] == "met"


def test_vllm_v0_one_replica_in_a_period(serve):
    url, _ = serve(snapshots("vllm_v0", 2))
    (r,), _ = run([url], 10, 2, replicas=1, period=0)
    o = r["observed"]
    assert (o["prompt_tokens_per_s"], o["generation_tokens_per_s"], o["requests_per_s"]) == pytest.approx((500, 200, 0.8))
    assert o["mean_output_tokens"] == pytest.approx(250)
    assert o["kv_cache_usage"] == pytest.approx(0.55)  # vllm:gpu_cache_usage_perc
    assert (o["running"], o["waiting"]) == (6, 3)
    assert o["prefix_cache_hit_rate"] is None
    # TTFT: 6×0.3, 2×0.9; rank 7.92 in (0.75, 1.0] holding 2 (6 below)
    assert o["ttft"]["p99_ms"] == pytest.approx(750 + 250 * (7.92 - 6) / 2)
    # TPOT (v0's vllm:time_per_output_token_seconds): 1900×0.04, 92×0.09; rank 1972.08 in (0.075, 0.1]
    assert o["tpot"]["metric"] == "vllm:time_per_output_token_seconds"
    assert o["tpot"]["p99_ms"] == pytest.approx(75 + 25 * (1972.08 - 1900) / 92)
    assert o["e2e"]["p99_ms"] == pytest.approx(15_000 + 5_000 * (7.92 - 7) / 1)
    assert o["e2e"]["mean_ms"] == pytest.approx(9500)
    # period 0 has 2 replicas: one is half of it. $2+$1 per hour of instances + $2.40/24 h of storage
    assert r["plan"]["share"] == pytest.approx(0.5)
    assert r["cost"]["usd_per_hour"] == pytest.approx((3.0 + 0.1) / 2)
    assert r["plan"]["capacity_rps"] == pytest.approx(3.0) and r["plan"]["demand_rps"] == pytest.approx(2.0)
    assert r["utilisation"] == pytest.approx(0.8 / 3)
    assert r["drift"]["demand"] == pytest.approx(0.8 / 2 - 1)
    assert r["cost"]["usd_per_mtok_output"] == pytest.approx(1.55 / 3600 / 200 * 1e6)
    assert [s["status"] for s in r["slo"].values()] == ["missed", "missed", "no target"]


def test_tgi_and_a_counter_reset(serve):
    url, _ = serve(snapshots("tgi", 3))
    reports, _ = run(url, 10, 3)
    r = reports[0]
    o = r["observed"]
    # 40 requests of 1,150 input and 210 generated tokens in 10 s (tgi_request_*_sum, not counters)
    assert (o["prompt_tokens_per_s"], o["generation_tokens_per_s"], o["requests_per_s"]) == pytest.approx((4600, 840, 4))
    assert o["requests_received_per_s"] == pytest.approx(4)
    assert o["ttft"] is None and r["slo"]["ttft_p99_ms"]["status"] == "not measured"
    # e2e: 30×3 s, 9×5 s, 1×8 s; rank 39.6 in (b27, b28] holding 1 (39 below)
    assert o["e2e"]["mean_ms"] == pytest.approx(143_000 / 40)
    assert o["e2e"]["p99_ms"] == pytest.approx(1000 * (tgi_bound(27) + (tgi_bound(28) - tgi_bound(27)) * 0.6))
    # mean time per token: 36×14 ms, 4×30 ms; rank 39.6 in (b14, b15] holding 4 (36 below)
    assert o["tpot"]["mean_ms"] == pytest.approx(15.6)
    assert o["tpot"]["p99_ms"] == pytest.approx(1000 * (tgi_bound(14) + (tgi_bound(15) - tgi_bound(14)) * 3.6 / 4))
    assert (o["running"], o["waiting"], o["kv_cache_usage"]) == (11, 0, None)
    assert r["interval"]["counter_resets"] == []
    # the server restarted between snapshots 2 and 3: its counts since the restart are the increase
    r = reports[1]
    o = r["observed"]
    assert (o["prompt_tokens_per_s"], o["generation_tokens_per_s"], o["requests_per_s"]) == pytest.approx((2760, 504, 2.4))
    assert o["requests_received_per_s"] == pytest.approx(2.5)
    assert o["e2e"]["observations"] == 24 and o["e2e"]["mean_ms"] == pytest.approx(2000)
    assert o["e2e"]["p99_ms"] == pytest.approx(1000 * (tgi_bound(24) + (tgi_bound(25) - tgi_bound(24)) * 0.99))
    resets = r["interval"]["counter_resets"]
    assert f"tgi_request_success at {url}" in resets and f"tgi_request_duration at {url}" in resets
    assert "counter resets" in render_report(r)


def test_two_endpoints_are_summed(serve):
    vllm_url, _ = serve(snapshots("vllm_v1", 2))
    tgi_url, _ = serve(snapshots("tgi", 2))
    (r,), _ = run([vllm_url, tgi_url], 10, 2)
    o = r["observed"]
    assert r["interval"]["engines"] == ["tgi", "vllm"]
    assert o["prompt_tokens_per_s"] == pytest.approx((16_500 + 46_000) / 10)
    assert o["generation_tokens_per_s"] == pytest.approx((6_300 + 8_400) / 10)
    assert o["requests_per_s"] == pytest.approx((30 + 40) / 10)
    assert (o["running"], o["waiting"]) == (12 + 11, 1 + 0)
    # e2e means add up; the two engines' buckets share only +Inf, so no P99 across them
    assert o["e2e"]["mean_ms"] == pytest.approx((160 + 143) / 70 * 1000)
    assert o["e2e"]["p99_ms"] is None and r["slo"]["e2e_p99_ms"]["status"] == "not measured"


def test_against_a_plan_from_planner_solve(serve, quickstart_plan):
    url, _ = serve(snapshots("vllm_v1", 2))
    plan = read_plan(quickstart_plan)
    clock = FakeClock()
    (r,) = monitor(url, quickstart_plan, 15, 2, replicas=1, clock=clock, sleep=clock.sleep)
    hours = [p.hours for p in plan.periods]
    replicas = sum(h * sum(a.replicas_by_period[t] for a in plan.assignments) for t, h in enumerate(hours)) / sum(hours)
    capacity = sum(h * p.capacity_rps for h, p in zip(hours, plan.periods)) / sum(hours)
    usd_per_hour = plan.objective_usd / plan.horizon_hours / replicas
    assert r["cost"]["usd_per_hour"] == pytest.approx(usd_per_hour)
    assert r["cost"]["usd_per_mtok_output"] == pytest.approx(usd_per_hour / 3600 / 420 * 1e6)
    assert r["utilisation"] == pytest.approx(2.0 / (capacity / replicas))
    assert r["drift"]["mean_output_tokens"] == pytest.approx(210 / plan.mean_output_tokens - 1)


@pytest.fixture(scope="module")
def quickstart_plan(tmp_path_factory):
    out = tmp_path_factory.mktemp("plan") / "plan.json"
    result = subprocess.run([sys.executable, "-m", "planner", "solve", str(ROOT / "problems" / "quickstart.yaml"),
                             "--format", "json", "--no-baselines", "--output", str(out)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return out


def test_render_report(serve):
    url, _ = serve(snapshots("vllm_v1", 2))
    (r,), _ = run(url, 15, 2)
    assert json.loads(render_report(r, "json")) == r
    table = render_report(r)
    assert "$2.60/h" in table and "$1.720 per 1M output tokens" in table
    assert "44.4% of 4.50 req/s" in table and "demand -33.3%" in table
    assert "P99 675 ms (SLO 500 ms): missed" in table
    with pytest.raises(ValueError):
        render_report(r, "yaml")


def closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/metrics"


def test_unreachable_endpoint():
    url = closed_port_url()
    with pytest.raises(InputError) as e:
        run(url, 1, 2)
    assert len(e.value.messages) == 1 and e.value.messages[0].startswith(f"{url}: cannot connect: ")
    assert e.value.exit_code == 3


def test_http_error(serve):
    url, _ = serve([b"internal error"], status=500)
    with pytest.raises(InputError, match=r"^http://127\.0\.0\.1:\d+/metrics: HTTP 500 "):
        scrape(url, timeout=5)


def test_a_web_page_is_not_metrics(serve):
    url, _ = serve([b"<!doctype html><html><body>Grafana</body></html>"], content_type="text/html")
    with pytest.raises(InputError, match="not the Prometheus text exposition format"):
        scrape(url)


def test_another_engine_gets_a_hint(serve):
    body = b"# HELP sglang:prompt_tokens_total Number of prefill tokens.\n# TYPE sglang:prompt_tokens_total counter\n" \
           b'sglang:prompt_tokens_total{model_name="m"} 12.0\n'
    url, _ = serve([body])
    with pytest.raises(InputError, match=r"none of the known vLLM .* looks like SGLang"):
        scrape(url)
    old = b"# TYPE vllm_prompt_tokens_total counter\nvllm_prompt_tokens_total 5\n"
    with pytest.raises(InputError, match=r"did you mean vllm:prompt_tokens_total \(found vllm_prompt_tokens_total\)"):
        parse_metrics(old.decode(), source="x", time=0)


def test_bad_arguments_fail_before_scraping():
    plan = read_plan(PLAN)
    with pytest.raises(InputError, match="period 2 does not exist"):
        plan_share(plan, period=2)
    with pytest.raises(InputError, match="replicas must be positive"):
        plan_share(plan, replicas=0)
    with pytest.raises(InputError, match="not an http"):
        scrape("file:///etc/passwd")
    with pytest.raises(InputError, match="at least 2 samples"):
        monitor(closed_port_url(), plan, 1, 1)
    with pytest.raises(InputError, match="period 5"):  # the plan is checked before the (refused) connection
        monitor(closed_port_url(), plan, 1, 2, period=5)


def test_share_without_a_period_uses_the_hours_weighted_fleet():
    share = plan_share(read_plan(PLAN), replicas=1)
    assert share.plan_replicas == pytest.approx(1.5)
    assert (share.cost_usd_per_hour, share.capacity_rps, share.demand_rps) == pytest.approx((2.6 / 1.5, 3.0, 2.0))


def test_quantile_follows_histogram_quantile():
    inf = float("inf")
    assert quantile(0.5, [(1.0, 2), (2.0, 4), (inf, 4)]) == (pytest.approx(1.0), False)
    assert quantile(0.99, [(1.0, 0), (inf, 5)]) == (1.0, True)  # past the last finite bound: a lower bound
    assert quantile(0.99, [(1.0, 0), (inf, 0)]) == (None, False)  # no observations
    assert quantile(0.25, [(4.0, 4), (inf, 4)]) == (pytest.approx(1.0), False)  # the first bucket starts at 0


def test_a_series_that_appears_counts_from_zero():
    before = parse_metrics((DATA / "vllm_v0_1.prom").read_text(), source="a", time=0)
    after = parse_metrics((DATA / "vllm_v0_2.prom").read_text().replace('finished_reason="length"', 'finished_reason="abort"'),
                          source="a", time=10)
    interval = Interval.between(before, after)
    assert interval.requests == 7 + 21  # stop +7; the new "abort" series (21 so far) counts whole
    assert interval.resets == ()
    with pytest.raises(ValueError):
        Interval.between(after, before)
    assert compare(interval, read_plan(PLAN))["observed"]["requests_per_s"] == pytest.approx(2.8)


def test_planner_monitor_command_on_a_live_endpoint(serve):
    """The CLI with a real clock: two scrapes 50 ms apart; time-independent figures by hand."""
    from click.testing import CliRunner

    from planner.cli import main

    url, log = serve(snapshots("vllm_v1", 2))
    result = CliRunner().invoke(main, ["monitor", "--metrics-url", url, "--plan", str(PLAN), "--interval", "0.05",
                                       "--samples", "2", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert len(log) == 2
    assert report["observed"]["mean_output_tokens"] == pytest.approx(210)  # 6,300 tokens over 30 requests
    assert report["observed"]["ttft"]["p99_ms"] == pytest.approx(675)
    assert report["plan"]["cost_usd_per_hour"] == pytest.approx(2.60)
    bad = CliRunner().invoke(main, ["monitor", "--metrics-url", "http://127.0.0.1:9/metrics", "--plan", str(PLAN)])
    assert bad.exit_code == 3 and "http://127.0.0.1:9/metrics" in bad.output and "Traceback" not in bad.output


def test_a_failed_scrape_after_the_first_is_tried_again(serve):
    """An endpoint that answers 500 once between two good scrapes: the interval spans the gap."""
    bodies = snapshots("vllm_v1", 2)
    url, log = serve([(200, bodies[0]), (500, b"busy"), (200, bodies[1])])
    clock, errors = FakeClock(), []
    reports = monitor(url, PLAN, 15, 2, clock=clock, sleep=clock.sleep, on_error=errors.append)
    assert len(log) == 3 and len(errors) == 1 and "HTTP 500" in errors[0]
    assert len(reports) == 1 and reports[0]["interval"]["seconds"] == 30  # the gap is part of the interval
    assert reports[0]["observed"]["requests_per_s"] == pytest.approx(1.0)  # 30 requests over 30 s


def test_endpoints_of_one_configuration_of_the_plan():
    """plan_small: g6e.xlarge on demand (1 replica, $2/h, both periods) and on spot ($1/h, period 0 only), 3 req/s
    per replica. One spot replica: $1/h, 3 req/s, over the 12 h it runs; both tiers of on-demand: $2/h."""
    plan = read_plan(PLAN)
    spot = plan_share(plan, replicas=1, candidate="aws/us-east-1/g6e.xlarge/fp8/tp1/b64/spot")
    assert (spot.cost_usd_per_hour, spot.capacity_rps, spot.plan_replicas) == (pytest.approx(1.0), pytest.approx(3.0), 1)
    od = plan_share(plan, candidate="aws/us-east-1/g6e.xlarge/fp8/tp1/b64/od", period=1)
    assert od.cost_usd_per_hour == pytest.approx(2.0) and od.capacity_rps == pytest.approx(3.0)
    with pytest.raises(InputError, match="did you mean 'aws/us-east-1/g6e.xlarge/fp8/tp1/b64/od'"):
        plan_share(plan, candidate="aws/us-east-1/g6e.xlarge/fp8/tp1/b64/odd")
    with pytest.raises(InputError, match="no replica in service in period 1"):
        plan_share(plan, candidate="aws/us-east-1/g6e.xlarge/fp8/tp1/b64/spot", period=1)


def test_an_endpoint_that_stays_down_ends_a_bounded_run(serve):
    """The first scrape answers, then the endpoint returns 503 for good: three failures in a row end a
    run that asked for a number of samples (two warned, the third raised)."""
    url, log = serve([snapshots("vllm_v1", 1)[0], (503, b"unavailable")])
    clock, errors = FakeClock(), []
    with pytest.raises(InputError, match="3 scrapes in a row failed; the last: .*HTTP 503"):
        monitor(url, PLAN, 15, 2, clock=clock, sleep=clock.sleep, on_error=errors.append)
    assert len(errors) == 2 and len(log) == 4
