"""Live monitoring: scrape serving engines' Prometheus metrics at an interval and hold them against a
plan: the live cost per million tokens, utilisation of the plan's capacity, drift from the plan's
demand and output length, and the SLO. Metric names and parsing: planner.monitor_metrics.

The plan's side, for the share of the fleet behind the scraped URL(s):

* **fleet cost per hour** = (the plan's cost over its horizon, Plan.in_horizon_usd, − what it pays
  per-token APIs) / horizon_hours: the per-token API serves traffic the engines never see. With
  ``period`` given: that period's instances ×
  (price + platform fee) per hour, plus the plan's other fleet costs (storage, egress, cold starts)
  spread evenly over the horizon.
* **capacity** = the plan's capacity at the SLO (periods' capacity_rps, spot derated), **planned
  demand** = the periods' demand_rps summed over user regions, less what the plan sends to the API;
  both hours-weighted means over the periods, or the given period's.
* **share**: one endpoint is usually one replica. ``replicas`` says how many replicas the scraped
  endpoints represent; the plan's cost, capacity and demand are scaled by replicas ÷ the plan's
  replicas (whole-request and decode replicas, from the assignments' replicas_by_period; the
  hours-weighted mean, or the period's). The scraped replicas are taken to be average ones: the plan's
  capacity per replica is its capacity ÷ its replicas. Default: the whole fleet is behind the URL(s).
  With ``candidate`` (a candidate_id of the plan's assignments, every tier of it) the endpoints are
  replicas of that configuration: its own price, capacity at the SLO and load per replica, hours-weighted
  over the periods it is in service (or the given period), for ``replicas`` of them (default: all).

Then, over each interval between two scrapes: USD per million tokens = cost per second ÷ (prompt +
generated tokens per second) × 10⁶ (and per million generated tokens, per 1k requests);
utilisation = finished requests/s ÷ capacity; demand drift = requests/s ÷ planned demand − 1;
output drift = observed mean output tokens ÷ the plan's mean_output_tokens − 1; each SLO met when the
observed P99 (from histogram bucket increases) is at most the plan's target."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from planner.errors import InputError
from planner.monitor_metrics import Interval, Latency, Sample, parse_metrics
from planner.plan import Plan, read_plan
from planner.report.fmt import usd

ACCEPT = "text/plain;version=0.0.4;q=1,*/*;q=0.1"  # the classic text format, which both engines serve
MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_FAILED_SCRAPES = 3  # in a row, with a number of samples asked for: the endpoint is down, not busy
SLO_FIGURES = (("ttft", "ttft_p99_ms"), ("tpot", "tpot_p99_ms"), ("e2e", "e2e_p99_ms"))


def scrape(url: str, timeout: float = 10.0, *, clock: Callable[[], float] = time.monotonic) -> Sample:
    """One GET of a /metrics endpoint → Sample stamped with ``clock()``. InputError (one line naming
    the URL) when it cannot be reached, answers with an HTTP error, or is not a metrics page."""
    if not url.startswith(("http://", "https://")):
        raise InputError(f"{url}: not an http(s) URL")
    request = urllib.request.Request(url, headers={"Accept": ACCEPT, "User-Agent": "planner-monitor"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(MAX_BODY_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise InputError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise InputError(f"{url}: cannot connect: {exc.reason}") from None
    except TimeoutError:
        raise InputError(f"{url}: no answer within {timeout:g} s") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:  # reset mid-body, not HTTP, malformed URL
        raise InputError(f"{url}: cannot read: {exc}") from None
    if len(body) > MAX_BODY_BYTES:
        raise InputError(f"{url}: the body exceeds {MAX_BODY_BYTES // 2**20} MiB; is this a metrics endpoint?")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{url}: the body is not UTF-8 text; is this a metrics endpoint?") from None
    return parse_metrics(text, source=url, time=clock())


def scrape_all(urls: Sequence[str], timeout: float = 10.0, *, clock: Callable[[], float] = time.monotonic) -> Sample:
    """Every endpoint once, as one Sample (their series summed later)."""
    return Sample.merge([scrape(u, timeout, clock=clock) for u in urls])


@dataclass(frozen=True)
class PlanShare:
    """The part of a plan the scraped endpoints stand for (see the module docstring)."""

    period: int | None
    plan_replicas: float
    share: float
    cost_usd_per_hour: float
    capacity_rps: float
    demand_rps: float


def assignment_share(plan: Plan, candidate: str, replicas: float | None = None, period: int | None = None) -> PlanShare:
    """The endpoints are replicas of one configuration of the plan (``candidate``: its candidate_id, every
    tier of it): its own price, capacity at the SLO (availability-derated) and load per replica, over the
    periods it is in service (hours-weighted) or the given period; ``replicas`` of them (default: all)."""
    from planner.catalog.ids import did_you_mean

    mine = [a for a in plan.assignments if a.candidate_id == candidate]
    if not mine:
        ids = sorted({a.candidate_id for a in plan.assignments})
        raise InputError(f"plan {plan.name}: no assignment '{candidate}'{did_you_mean(candidate, ids, n=1)}")
    T = len(plan.periods)
    reps = [sum(a.replicas_by_period[t] for a in mine) for t in range(T)]
    cost = [sum(a.instances_by_period[t] * (a.price_usd_per_instance_hour + a.platform_fee_usd_per_instance_hour) for a in mine)
            for t in range(T)]
    cap = [sum(a.replicas_by_period[t] * a.capacity_rps_per_replica * a.availability for a in mine) for t in range(T)]
    load = [sum(a.load_rps_by_period[t] if a.load_rps_by_period else 0.0 for a in mine) for t in range(T)]
    used = [t for t in range(T) if reps[t] > 0] if period is None else [period]
    if not used or not sum(reps[t] for t in used):
        raise InputError(f"plan {plan.name}: '{candidate}' has no replica in service" + ("" if period is None else f" in period {period}"))
    hours = {t: plan.periods[t].hours for t in used}
    total = sum(hours.values())

    def mean(xs):
        return sum(hours[t] * xs[t] for t in used) / total
    plan_replicas = mean(reps)
    share = 1.0 if replicas is None else replicas / plan_replicas
    return PlanShare(period, plan_replicas, share, mean(cost) * share, mean(cap) * share, mean(load) * share)


def plan_share(plan: Plan, replicas: float | None = None, period: int | None = None, candidate: str | None = None) -> PlanShare:
    periods = plan.periods
    if not periods or plan.horizon_hours <= 0:
        raise InputError(f"plan {plan.name}: no periods to compare against")
    if period is not None and not 0 <= period < len(periods):
        raise InputError(f"plan {plan.name}: period {period} does not exist (the plan has periods 0..{len(periods) - 1})")
    if replicas is not None and replicas <= 0:
        raise InputError(f"replicas must be positive, got {replicas:g}")
    if candidate is not None:
        return assignment_share(plan, candidate, replicas, period)
    serving = [a for a in plan.assignments if a.role != "prefill"]
    replicas_t = [sum(a.replicas_by_period[t] for a in serving) for t in range(len(periods))]
    demand_t = [max(sum(p.demand_rps.values()) - p.api_rps, 0.0) for p in periods]
    capacity_t = [p.capacity_rps for p in periods]
    fleet_usd = plan.in_horizon_usd - sum(api.cost_usd for api in plan.api)
    if period is None:
        hours = [p.hours for p in periods]
        total = sum(hours)

        def mean(xs):
            return sum(h * x for h, x in zip(hours, xs)) / total
        plan_replicas, capacity, demand = mean(replicas_t), mean(capacity_t), mean(demand_t)
        cost = fleet_usd / plan.horizon_hours
    else:
        plan_replicas, capacity, demand = replicas_t[period], capacity_t[period], demand_t[period]
        instance_usd = sum(a.cost_usd for a in plan.assignments)
        cost = (sum(a.instances_by_period[period] * (a.price_usd_per_instance_hour + a.platform_fee_usd_per_instance_hour)
                    for a in plan.assignments) + (fleet_usd - instance_usd) / plan.horizon_hours)
    if replicas is None:
        share = 1.0
    elif plan_replicas <= 0:
        raise InputError(f"plan {plan.name}: no replicas in service{'' if period is None else f' in period {period}'}")
    else:
        share = replicas / plan_replicas
    return PlanShare(period, plan_replicas, share, cost * share, capacity * share, demand * share)


def _ratio(a: float | None, b: float | None, scale: float = 1.0) -> float | None:
    return a / b * scale if a is not None and b else None


def _latency(lat: Latency | None) -> dict | None:
    if lat is None:
        return None
    ms = (lambda s: None if s is None else s * 1000.0)
    return {"metric": lat.metric, "observations": lat.observations, "mean_ms": ms(lat.mean_s),
            "p99_ms": ms(lat.p99_s), "p99_is_lower_bound": lat.p99_is_lower_bound}


def compare(interval: Interval, plan: Plan, replicas: float | None = None, period: int | None = None,
            candidate: str | None = None) -> dict:
    """The interval's figures held against the plan: one JSON-ready report (module docstring)."""
    share = plan_share(plan, replicas, period, candidate)
    rps = interval.requests_per_s
    tokens_per_s = interval.prompt_tokens_per_s + interval.generation_tokens_per_s
    usd_per_s = share.cost_usd_per_hour / 3600.0
    slo = {}
    for figure, key in SLO_FIGURES:
        lat: Latency | None = getattr(interval, figure)
        observed = None if lat is None or lat.p99_s is None else lat.p99_s * 1000.0
        target = plan.slo.get(key)
        status = ("not measured" if observed is None else "no target" if target is None
                  else "met" if observed <= target else "missed")
        slo[key] = {"observed": observed, "target": target, "status": status}
    return {
        "interval": {"seconds": interval.seconds, "sources": list(interval.sources), "engines": list(interval.engines),
                     "counter_resets": list(interval.resets)},
        "observed": {
            "prompt_tokens_per_s": interval.prompt_tokens_per_s,
            "generation_tokens_per_s": interval.generation_tokens_per_s,
            "requests_per_s": rps,
            "requests_received_per_s": _ratio(interval.requests_received, interval.seconds),
            "mean_output_tokens": interval.mean_output_tokens,
            "ttft": _latency(interval.ttft), "tpot": _latency(interval.tpot), "e2e": _latency(interval.e2e),
            "running": interval.running, "waiting": interval.waiting, "kv_cache_usage": interval.kv_cache_usage,
            "prefix_cache_hit_rate": interval.prefix_cache_hit_rate,
        },
        "plan": {"name": plan.name, "period": share.period, "candidate": candidate, "replicas": replicas, "plan_replicas": share.plan_replicas,
                 "share": share.share, "cost_usd_per_hour": share.cost_usd_per_hour, "capacity_rps": share.capacity_rps,
                 "demand_rps": share.demand_rps, "utilisation": _ratio(share.demand_rps, share.capacity_rps),
                 "mean_output_tokens": plan.mean_output_tokens, "cost_per_mtok_output_usd": plan.cost_per_mtok_output_usd,
                 "cost_per_1k_requests_usd": plan.cost_per_1k_requests_usd},
        "cost": {"usd_per_hour": share.cost_usd_per_hour, "usd_per_mtok": _ratio(usd_per_s, tokens_per_s, 1e6),
                 "usd_per_mtok_output": _ratio(usd_per_s, interval.generation_tokens_per_s, 1e6),
                 "usd_per_1k_requests": _ratio(usd_per_s, rps, 1e3)},
        "utilisation": _ratio(rps, share.capacity_rps),
        "drift": {"demand": None if not share.demand_rps else rps / share.demand_rps - 1.0,
                  "mean_output_tokens": None if interval.mean_output_tokens is None or not plan.mean_output_tokens
                  else interval.mean_output_tokens / plan.mean_output_tokens - 1.0},
        "slo": slo,
    }


def monitor(urls: str | Sequence[str], plan: Plan | str | Path, interval_s: float, samples: int | None = 2, *,
            on_report: Callable[[dict], None] | None = None, replicas: float | None = None, period: int | None = None,
            timeout: float = 10.0, clock: Callable[[], float] = time.monotonic,
            sleep: Callable[[float], None] = time.sleep, on_error: Callable[[str], None] | None = None,
            candidate: str | None = None) -> list[dict]:
    """Scrape ``urls`` every ``interval_s`` seconds, ``samples`` times (≥ 2), and report each interval
    between successive scrapes (``on_report`` as it comes; the list at the end). ``samples=None`` runs
    until interrupted and keeps no list. The first scrape failing raises InputError (exit code 3: a
    wrong URL); a later one is passed to ``on_error`` (when given, else raised) and tried again at the
    next tick, the interval then spanning the gap (counters are cumulative). With a number of samples,
    ``MAX_FAILED_SCRAPES`` failures in a row end the run (InputError); without, it keeps trying."""
    urls = [urls] if isinstance(urls, str) else list(urls)
    if not urls:
        raise InputError("no metrics URL given")
    if interval_s <= 0:
        raise InputError(f"the interval must be positive, got {interval_s:g} s")
    if samples is not None and samples < 2:
        raise InputError(f"at least 2 samples are needed for one interval, got {samples}")
    plan = plan if isinstance(plan, Plan) else read_plan(plan)
    plan_share(plan, replicas, period, candidate)  # a bad replicas/period/candidate fails before the first scrape
    reports: list[dict] = []
    previous = scrape_all(urls, timeout, clock=clock)
    taken, failures = 1, 0
    while samples is None or taken < samples:
        sleep(max(interval_s - (clock() - previous.time), 0.0))  # keep the cadence whatever a scrape took
        try:
            current = scrape_all(urls, timeout, clock=clock)
        except InputError as exc:
            failures += 1
            if on_error is None or (samples is not None and failures >= MAX_FAILED_SCRAPES):
                raise InputError(exc.messages if on_error is None else
                                 [f"{failures} scrapes in a row failed; the last: {'; '.join(exc.messages)}"]) from None
            on_error("; ".join(exc.messages))
            sleep(interval_s)
            continue
        failures = 0
        taken += 1
        report = compare(Interval.between(previous, current), plan, replicas, period, candidate)
        if on_report is not None:
            on_report(report)
        if samples is not None:
            reports.append(report)
        previous = current
    return reports


def _pct(x: float | None, signed: bool = False) -> str:
    return "n/a" if x is None else f"{x:+.1%}" if signed else f"{x:.1%}"


def _num(x: float | None, digits: int = 0) -> str:
    return "n/a" if x is None else f"{x:,.{digits}f}"


def _ms(x: float) -> str:
    return f"{x:,.1f}" if x < 100 else f"{x:,.0f}"


def _per_m(x: float | None) -> str:
    return "n/a" if x is None else f"${x:.3f}"


def render_report(report: dict, fmt: str = "table") -> str:
    """A report as text: ``json`` (one document) or ``table`` (a few aligned lines)."""
    if fmt == "json":
        return json.dumps(report, indent=2)
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}: table or json")
    o, p, c, d, i = report["observed"], report["plan"], report["cost"], report["drift"], report["interval"]
    share = "the whole fleet" if p["replicas"] is None else f"{p['replicas']:g} of {p['plan_replicas']:g} replicas"
    period = "the horizon's mean" if p["period"] is None else f"period {p['period']}"
    lines = [
        ("interval", f"{i['seconds']:.1f} s, {len(i['sources'])} endpoint(s), {'+'.join(i['engines'])}; plan {p['name']} "
                     f"({share}, {period})"),
        ("throughput", f"{_num(o['requests_per_s'], 2)} req/s, {_num(o['prompt_tokens_per_s'])} prompt + "
                       f"{_num(o['generation_tokens_per_s'])} output tok/s; {_num(o['mean_output_tokens'])} output "
                       f"tokens/request (plan {_num(p['mean_output_tokens'])}, {_pct(d['mean_output_tokens'], True)})"),
        ("cost", f"{usd(c['usd_per_hour'])}/h: {_per_m(c['usd_per_mtok'])} per 1M tokens, "
                 f"{_per_m(c['usd_per_mtok_output'])} per 1M output tokens (plan {_per_m(p['cost_per_mtok_output_usd'])}), "
                 f"{_per_m(c['usd_per_1k_requests'])} per 1k requests"),
        ("utilisation", f"{_pct(report['utilisation'])} of {_num(p['capacity_rps'], 2)} req/s capacity at the SLO "
                        f"(plan {_pct(p['utilisation'])})"),
        ("drift", f"demand {_pct(d['demand'], True)} against the plan's {_num(p['demand_rps'], 2)} req/s"),
    ]
    for key, s in report["slo"].items():
        figure = key.split("_")[0]
        lat = o[figure]
        target = "" if s["target"] is None else f" (SLO {_ms(s['target'])} ms)"
        if s["observed"] is None:
            lines.append((figure.upper(), f"not measured{target}"))
            continue
        mean = "" if lat["mean_ms"] is None else f"mean {_ms(lat['mean_ms'])} ms, "
        bound = "≥ " if lat["p99_is_lower_bound"] else ""
        lines.append((figure.upper(), f"{mean}P99 {bound}{_ms(s['observed'])} ms{target}: {s['status']}"))
    engine = [f"running {_num(o['running'])}", f"waiting {_num(o['waiting'])}"]
    if o["kv_cache_usage"] is not None:
        engine.append(f"KV cache {_pct(o['kv_cache_usage'])}")
    if o["prefix_cache_hit_rate"] is not None:
        engine.append(f"prefix cache hits {_pct(o['prefix_cache_hit_rate'])}")
    lines.append(("engine", ", ".join(engine)))
    if i["counter_resets"]:
        lines.append(("counter resets", f"{len(i['counter_resets'])} series went down (engine restarted; "
                                        f"the new value is taken as the increase): {i['counter_resets'][0]}"))
    width = max(len(k) for k, _ in lines)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in lines)
