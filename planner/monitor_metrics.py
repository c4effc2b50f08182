"""Serving engines' Prometheus metrics: which names we read, parsing one scrape into a ``Sample``,
and the figures between two samples (an ``Interval``).

Metric names, checked against the engines' source:

* vLLM v1 engine, ``vllm/v1/metrics/loggers.py`` (github.com/vllm-project/vllm, PrometheusStatLogger):
  counters ``vllm:prompt_tokens``, ``vllm:generation_tokens``, ``vllm:request_success`` (labelled
  ``finished_reason``), ``vllm:prefix_cache_queries`` / ``vllm:prefix_cache_hits`` (earlier
  ``vllm:gpu_prefix_cache_*``), exposed by prometheus_client with the ``_total`` suffix; gauges
  ``vllm:num_requests_running``, ``vllm:num_requests_waiting``, ``vllm:kv_cache_usage_perc``
  (earlier ``vllm:gpu_cache_usage_perc``); histograms ``vllm:time_to_first_token_seconds``,
  ``vllm:request_time_per_output_token_seconds`` (per request), ``vllm:inter_token_latency_seconds``
  (0.11 renamed ``vllm:time_per_output_token_seconds`` to it), ``vllm:e2e_request_latency_seconds``.
  Labels ``model_name`` and ``engine`` (one per data-parallel engine).
* vLLM v0 engine, ``vllm/engine/metrics.py`` (class Metrics): the same counters and gauges with
  ``vllm:gpu_cache_usage_perc`` and ``vllm:time_per_output_token_seconds``; label ``model_name``.
* Hugging Face TGI, ``docs/source/reference/metrics.md`` and ``router/src/server.rs``
  (github.com/huggingface/text-generation-inference; metrics-exporter-prometheus renders counters
  without ``_total`` and no ``# HELP``): counters ``tgi_request_count`` (received),
  ``tgi_request_success``; gauges ``tgi_batch_current_size`` (running), ``tgi_queue_size`` (waiting);
  histograms ``tgi_request_input_length`` and ``tgi_request_generated_tokens`` (per request: their
  ``_sum`` counts prompt and generated tokens of finished requests), ``tgi_request_duration`` (e2e),
  ``tgi_request_mean_time_per_token_duration`` (TPOT). TGI exposes no time-to-first-token histogram.

Where several names can carry one figure, the first present in a scrape is read (``CANDIDATES``).
Several label sets (model_name values, data-parallel engines, finish reasons) and several scraped
endpoints are summed: counters and histograms per series, then added up; running/waiting requests
are summed; the KV-cache usage (a fraction of each engine's cache) is their mean."""

from __future__ import annotations

import difflib
import math
from collections import defaultdict
from dataclasses import dataclass, field, replace

from prometheus_client.parser import text_string_to_metric_families

from planner.errors import InputError

Labels = tuple[tuple[str, str], ...]
SeriesKey = tuple[str, Labels]  # (endpoint URL, sorted labels without "le")

# figure -> [(metric, kind)], first present wins. kind: counter | gauge | histogram | histogram_sum (a
# histogram's _sum read as a counter). Names are without the _total suffix.
CANDIDATES: dict[str, dict[str, list[tuple[str, str]]]] = {
    "vllm": {
        "prompt_tokens": [("vllm:prompt_tokens", "counter")],
        "generation_tokens": [("vllm:generation_tokens", "counter")],
        "requests": [("vllm:request_success", "counter")],
        "running": [("vllm:num_requests_running", "gauge")],
        "waiting": [("vllm:num_requests_waiting", "gauge")],
        "kv_cache_usage": [("vllm:kv_cache_usage_perc", "gauge"), ("vllm:gpu_cache_usage_perc", "gauge")],
        "prefix_cache_hits": [("vllm:prefix_cache_hits", "counter"), ("vllm:gpu_prefix_cache_hits", "counter")],
        "prefix_cache_queries": [("vllm:prefix_cache_queries", "counter"), ("vllm:gpu_prefix_cache_queries", "counter")],
        "ttft": [("vllm:time_to_first_token_seconds", "histogram")],
        "tpot": [("vllm:request_time_per_output_token_seconds", "histogram"),
                 ("vllm:inter_token_latency_seconds", "histogram"),
                 ("vllm:time_per_output_token_seconds", "histogram")],
        "e2e": [("vllm:e2e_request_latency_seconds", "histogram")],
    },
    "tgi": {
        "prompt_tokens": [("tgi_request_input_length", "histogram_sum")],
        "generation_tokens": [("tgi_request_generated_tokens", "histogram_sum")],
        "requests": [("tgi_request_success", "counter")],
        "requests_received": [("tgi_request_count", "counter")],
        "running": [("tgi_batch_current_size", "gauge")],
        "waiting": [("tgi_queue_size", "gauge")],
        "tpot": [("tgi_request_mean_time_per_token_duration", "histogram")],
        "e2e": [("tgi_request_duration", "histogram")],
    },
}
# other engines' metric prefixes, for the hint when a scrape has none of ours
OTHER_ENGINES = {"sglang:": "SGLang", "nv_": "NVIDIA Triton / TensorRT-LLM", "trtllm": "TensorRT-LLM",
                 "lmdeploy": "LMDeploy", "llamacpp:": "llama.cpp server", "ray_serve": "Ray Serve"}


@dataclass(frozen=True)
class Histogram:
    """One histogram series: cumulative counts by upper bound (ascending, +Inf last), sum and count."""

    buckets: tuple[tuple[float, float], ...]
    sum: float
    count: float


@dataclass(frozen=True)
class Sample:
    """The metrics of one or more endpoints at one time, per series: ``counters[figure][(url, labels)]``.
    ``metrics[figure][url]`` names the engine metric each figure was read from."""

    time: float  # seconds on the caller's clock (monotonic by default)
    sources: tuple[str, ...]
    engines: tuple[str, ...]
    counters: dict[str, dict[SeriesKey, float]] = field(default_factory=dict)
    gauges: dict[str, dict[SeriesKey, float]] = field(default_factory=dict)
    histograms: dict[str, dict[SeriesKey, Histogram]] = field(default_factory=dict)
    metrics: dict[str, dict[str, str]] = field(default_factory=dict)

    def total(self, figure: str) -> float | None:
        """A counter summed over its series (None: no endpoint exposes it)."""
        series = self.counters.get(figure)
        return float(sum(series.values())) if series else None

    @staticmethod
    def merge(samples: list[Sample]) -> Sample:
        """Several endpoints scraped together: their series side by side, at the mean of their times."""
        out = Sample(time=sum(s.time for s in samples) / len(samples),
                     sources=tuple(u for s in samples for u in s.sources),
                     engines=tuple(sorted({e for s in samples for e in s.engines})))
        for s in samples:
            for mine, theirs in ((out.counters, s.counters), (out.gauges, s.gauges), (out.histograms, s.histograms),
                                 (out.metrics, s.metrics)):
                for figure, series in theirs.items():
                    mine.setdefault(figure, {}).update(series)
        return out


def parse_metrics(text: str, *, source: str, time: float) -> Sample:
    """One scrape's body (the text exposition format, version 0.0.4) → Sample; InputError naming
    ``source`` when it is not that format or has none of the metrics above (with a hint when it looks
    like another engine's)."""
    if not text.strip():
        raise InputError(f"{source}: empty body; is this the engine's /metrics path?")
    by_name: dict[str, list[tuple[dict, float]]] = defaultdict(list)
    try:
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                by_name[s.name].append((s.labels, float(s.value)))
    except (ValueError, TypeError, IndexError):
        first = text.strip().splitlines()[0][:60]
        raise InputError(f"{source}: not the Prometheus text exposition format (the body starts {first!r}); "
                         "is this the engine's /metrics path?") from None
    sample = Sample(time=time, sources=(source,), engines=())
    found = []
    for engine, figures in CANDIDATES.items():
        for figure, candidates in figures.items():
            for metric, kind in candidates:
                read = _read(by_name, source, metric, kind)
                if read:
                    store = sample.histograms if kind == "histogram" else sample.gauges if kind == "gauge" else sample.counters
                    store[figure] = read
                    sample.metrics[figure] = {source: metric}
                    found.append(engine)
                    break
    if not found:
        raise InputError(f"{source}: none of the known vLLM (vllm:*) or TGI (tgi_*) metrics"
                         f" ({len(by_name)} sample names read){_hint(list(by_name))}")
    return replace(sample, engines=tuple(dict.fromkeys(found)))


def _key(source: str, labels: dict) -> SeriesKey:
    return source, tuple(sorted((k, v) for k, v in labels.items() if k != "le"))


def _read(by_name, source: str, metric: str, kind: str) -> dict:
    """``metric``'s series in one scrape by SeriesKey: values, or Histograms (empty: not there)."""
    if kind == "counter":
        # prometheus_client writes name_total; a counter without the suffix (TGI) is kept as written
        # by older parsers and given _total by newer ones, so either spelling is the counter
        rows = by_name.get(metric + "_total") or by_name.get(metric, [])
    elif kind == "gauge":
        rows = by_name.get(metric, [])
    elif kind == "histogram_sum":
        rows = by_name.get(metric + "_sum", [])
    else:
        buckets: dict[SeriesKey, list[tuple[float, float]]] = defaultdict(list)
        for labels, v in by_name.get(metric + "_bucket", []):
            buckets[_key(source, labels)].append((float(labels["le"]), v))
        sums = {_key(source, labels): v for labels, v in by_name.get(metric + "_sum", [])}
        # a missing _sum (not valid exposition, but seen) leaves the mean unknown, not the P99
        return {key: Histogram(tuple(sorted(rows)), sums.get(key, math.nan), max(rows)[1]) for key, rows in buckets.items()}
    return {_key(source, labels): v for labels, v in rows}


def _hint(names: list[str]) -> str:
    for prefix, engine in OTHER_ENGINES.items():
        if any(n.startswith(prefix) for n in names):
            return f"; it looks like {engine}'s metrics ({prefix}*), which the monitor does not read"
    known = [m + suffix for figures in CANDIDATES.values() for cands in figures.values() for m, kind in cands
             for suffix in (("_total",) if kind == "counter" else ("_sum",) if kind != "gauge" else ("",))]
    for n in names:
        close = difflib.get_close_matches(n, known, n=1, cutoff=0.85)
        if close:
            return f"; did you mean {close[0]} (found {n})?"
    return ""


# --- between two samples ----------------------------------------------------------------------

@dataclass(frozen=True)
class Latency:
    """One latency histogram over an interval: mean and P99 in seconds."""

    metric: str
    observations: float
    mean_s: float | None
    p99_s: float | None
    p99_is_lower_bound: bool = False  # the P99 fell in the +Inf bucket: at least the largest finite bound


@dataclass(frozen=True)
class Interval:
    """What the endpoints did between two samples: increases of the counters (a counter that went
    down was reset by a restart, and its new value is taken as the increase, as Prometheus' rate() does;
    what it counted between the last scrape and the restart is lost), latency histograms of the
    requests observed in between, and the gauges of the later sample."""

    start: float
    end: float
    sources: tuple[str, ...]
    engines: tuple[str, ...]
    prompt_tokens: float
    generation_tokens: float
    requests: float  # finished (vLLM: every finished_reason; TGI: tgi_request_success)
    requests_received: float | None  # TGI only
    ttft: Latency | None
    tpot: Latency | None
    e2e: Latency | None
    running: float | None
    waiting: float | None
    kv_cache_usage: float | None  # mean over engines, 0..1
    prefix_cache_hit_rate: float | None
    resets: tuple[str, ...]  # "metric{labels} at URL" of each series found reset

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def prompt_tokens_per_s(self) -> float:
        return self.prompt_tokens / self.seconds

    @property
    def generation_tokens_per_s(self) -> float:
        return self.generation_tokens / self.seconds

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds

    @property
    def mean_output_tokens(self) -> float | None:
        """Generated tokens per finished request. TGI counts finished requests' tokens, so this is
        exact; vLLM's counter includes tokens of requests still running, a difference that shrinks
        as the interval grows."""
        return self.generation_tokens / self.requests if self.requests > 0 else None

    @staticmethod
    def between(before: Sample, after: Sample) -> Interval:
        if after.time <= before.time:
            raise ValueError(f"samples out of order: {before.time} then {after.time}")
        resets: list[str] = []

        def increase(figure: str) -> float | None:
            now = after.counters.get(figure)
            if not now:
                return None
            then = before.counters.get(figure, {})
            total = 0.0
            for key, value in now.items():
                previous = then.get(key, 0.0)  # a series new since the last scrape started from zero
                if value < previous:
                    resets.append(_series(after, figure, key))
                    total += value
                else:
                    total += value - previous
            return total

        def latency(figure: str) -> Latency | None:
            now = after.histograms.get(figure)
            if not now:
                return None
            then = before.histograms.get(figure, {})
            deltas = []
            for key, h in now.items():
                previous = then.get(key)
                if previous is not None and _went_down(previous, h):
                    resets.append(_series(after, figure, key))
                    previous = None
                deltas.append(h if previous is None else _minus(h, previous))
            return _latency(", ".join(sorted(set(after.metrics[figure].values()))), deltas)

        prompt, generation, requests = (increase(f) or 0.0 for f in ("prompt_tokens", "generation_tokens", "requests"))
        received = increase("requests_received")
        hits, queries = increase("prefix_cache_hits"), increase("prefix_cache_queries")
        ttft, tpot, e2e = latency("ttft"), latency("tpot"), latency("e2e")

        def gauge(figure: str, mean: bool = False) -> float | None:
            values = list(after.gauges.get(figure, {}).values())
            if not values:
                return None
            return sum(values) / len(values) if mean else float(sum(values))

        return Interval(
            start=before.time, end=after.time, sources=after.sources, engines=after.engines,
            prompt_tokens=prompt, generation_tokens=generation, requests=requests, requests_received=received,
            ttft=ttft, tpot=tpot, e2e=e2e, running=gauge("running"), waiting=gauge("waiting"),
            kv_cache_usage=gauge("kv_cache_usage", mean=True),
            prefix_cache_hit_rate=hits / queries if hits is not None and queries else None,
            resets=tuple(dict.fromkeys(resets)),
        )


def _series(sample: Sample, figure: str, key: SeriesKey) -> str:
    source, labels = key
    metric = sample.metrics.get(figure, {}).get(source, figure)
    shown = "{" + ",".join(f'{k}="{v}"' for k, v in labels) + "}" if labels else ""
    return f"{metric}{shown} at {source}"


def _went_down(before: Histogram, after: Histogram) -> bool:
    if after.count < before.count:
        return True
    then = dict(before.buckets)
    return any(count < then.get(le, 0.0) for le, count in after.buckets)


def _minus(after: Histogram, before: Histogram) -> Histogram:
    then = dict(before.buckets)
    return Histogram(tuple((le, c - then.get(le, 0.0)) for le, c in after.buckets),
                     after.sum - before.sum, after.count - before.count)


def _latency(metric: str, deltas: list[Histogram]) -> Latency:
    """Sum the series' increases bucket by bucket (over the upper bounds every observed series has,
    since differently bucketed series cannot be added otherwise), then mean = Σsum / Σcount and the
    P99 by histogram_quantile's rule."""
    observed = [h for h in deltas if h.count > 0]
    count = sum(h.count for h in observed)
    if not observed:
        return Latency(metric, 0.0, None, None)
    bounds = set.intersection(*(set(le for le, _ in h.buckets) for h in observed))
    merged = [(le, sum(dict(h.buckets)[le] for h in observed)) for le in sorted(bounds)]
    p99, lower_bound = quantile(0.99, merged)
    total = sum(h.sum for h in observed)
    return Latency(metric, count, None if math.isnan(total) else total / count, p99, lower_bound)


def quantile(q: float, buckets: list[tuple[float, float]]) -> tuple[float | None, bool]:
    """The q-quantile of cumulative bucket counts, as Prometheus' histogram_quantile computes it: find
    the bucket holding rank q × total and interpolate linearly inside it (the first bucket starts at 0).
    A rank in the +Inf bucket returns the largest finite bound, flagged True (a lower bound)."""
    if not buckets or buckets[-1][0] != math.inf or buckets[-1][1] <= 0:
        return None, False
    rank = q * buckets[-1][1]
    previous_bound, previous_count = 0.0, 0.0
    for i, (bound, count) in enumerate(buckets):
        if count >= rank:
            if bound == math.inf:  # no finite bound above the rank: only a lower bound, if any
                return (buckets[i - 1][0], True) if i > 0 else (None, False)
            if i == 0 and bound <= 0:
                return bound, False
            return previous_bound + (bound - previous_bound) * (rank - previous_count) / (count - previous_count), False
        previous_bound, previous_count = bound, count
    return None, False
