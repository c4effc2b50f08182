"""The problem file: what to serve, to whom, how fast, and which options the planner may use.

Loaded with ruamel.yaml (YAML 1.2: ``1e3`` is a number, ``NO`` is a string), validated by frozen
pydantic models that forbid unknown fields. Errors are reported all at once, one line each, as
``file:line: path.to.field: message``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from planner.errors import ProblemError, read_text
from planner.units import ENGINE_FAMILIES, PRECISIONS

Precision = Literal["fp32", "fp16", "bf16", "fp8", "fp4", "int8", "int4"]
Tier = Literal["reserved-1y", "reserved-3y", "owned", "on-demand", "spot", "api"]
EngineFamily = Literal["vllm", "trtllm", "sglang", "lmdeploy", "nim", "ollama", "other"]
assert set(PRECISIONS) == set(Precision.__args__) and set(ENGINE_FAMILIES) == set(EngineFamily.__args__)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class LengthStats(_Frozen):
    """Token lengths given as summary statistics (tokens). At least ``mean`` or ``p50``."""

    mean: float | None = Field(None, gt=0, description="mean length (tokens)")
    p50: float | None = Field(None, gt=0, description="median length (tokens)")
    p90: float | None = Field(None, gt=0, description="90th percentile (tokens)")
    p99: float | None = Field(None, gt=0, description="99th percentile (tokens)")

    @model_validator(mode="after")
    def _ordered(self) -> "LengthStats":
        if self.mean is None and self.p50 is None:
            raise ValueError("give at least mean or p50")
        qs = [q for q in (self.p50, self.p90, self.p99) if q is not None]
        if qs != sorted(qs):
            raise ValueError("percentiles must not decrease (p50 <= p90 <= p99)")
        return self


class Demand(_Frozen):
    """Request arrivals over time, per period of ``period_hours``, over ``horizon_hours``.

    profiles: ``constant`` (``rps``), ``diurnal`` (``peak_rps``, ``trough_rps``, ``peak_hour``,
    ``weekend_factor``), ``file`` (a rates file aggregated to periods, keeping each period's
    ``percentile`` of the per-step rate).
    """

    profile: Literal["constant", "diurnal", "file"] = Field(description="shape of demand over time")
    rps: float | None = Field(None, gt=0, description="constant profile: requests/s")
    peak_rps: float | None = Field(None, gt=0, description="diurnal: requests/s at the daily peak")
    trough_rps: float | None = Field(None, gt=0, description="diurnal: requests/s at the daily trough")
    peak_hour: float = Field(14.0, ge=0, lt=24, description="diurnal: hour of day (UTC) of the peak")
    weekend_factor: float = Field(1.0, gt=0, le=10, description="diurnal: multiplier on Saturday/Sunday")
    file: str | None = Field(None, description="file profile: CSV of rates, path relative to the problem file")
    value_column: str = Field("requests", description="file: column with the count per step")
    step_seconds: float = Field(60.0, gt=0, description="file: seconds per row of the rates file")
    scale: float = Field(1.0, gt=0, description="file: multiply the trace's rate by this")
    percentile: float = Field(100.0, gt=0, le=100, description="file: percentile of step rates kept per period")
    period_hours: float = Field(1.0, gt=0, le=744, description="length of one planning period (hours)")
    horizon_hours: float | None = Field(None, gt=0, le=26352, description="planning horizon (hours, at most 3 years); default 168 (file: the trace length; a shorter trace repeats)")
    growth: str | None = Field(None, description="compound growth of demand, e.g. '+30%/quarter', '5%/month', '-10%/year': month m (730 h from the horizon's start) is the profile × (1 + rate)^(m months / per)")

    @model_validator(mode="after")
    def _profile_fields(self) -> "Demand":
        needed = {"constant": ["rps"], "diurnal": ["peak_rps", "trough_rps"], "file": ["file"]}[self.profile]
        missing = [n for n in needed if getattr(self, n) is None]
        if missing:
            raise ValueError(f"profile '{self.profile}' needs " + ", ".join(missing))
        if self.profile == "diurnal" and self.trough_rps > self.peak_rps:
            raise ValueError(f"trough_rps ({self.trough_rps}) is above peak_rps ({self.peak_rps})")
        if self.growth is not None:
            from planner.errors import InputError
            from planner.forecast_input import parse_growth  # one grammar for the problem and `planner forecast --growth`

            try:
                parse_growth(self.growth, "growth")
            except InputError as exc:
                raise ValueError(str(exc)) from None
        return self


class SizeBuckets(_Frozen):
    """Split requests into input × output length buckets (Mélange-style request-size buckets).

    Each list holds bucket upper edges in tokens (inclusive, increasing); the last bucket is open.
    ``input_tokens: [512, 2048]`` and ``output_tokens: [256]`` make 3 × 2 = 6 buckets. Each bucket
    gets its own capacity at the SLO on every candidate, and the planner may serve different
    buckets on different GPUs. Buckets holding no request are dropped."""

    input_tokens: list[int] = Field(default_factory=list, description="upper edges of the input-length buckets (tokens)")
    output_tokens: list[int] = Field(default_factory=list, description="upper edges of the output-length buckets (tokens)")

    @model_validator(mode="after")
    def _edges(self) -> "SizeBuckets":
        for name in ("input_tokens", "output_tokens"):
            edges = getattr(self, name)
            if any(e < 1 for e in edges):
                raise ValueError(f"{name} edges must be ≥ 1 token")
            if any(b <= a for a, b in zip(edges, edges[1:])):
                raise ValueError(f"{name} edges must increase")
        if len(self.input_tokens) + len(self.output_tokens) == 0:
            raise ValueError("give at least one edge in input_tokens or output_tokens")
        if (len(self.input_tokens) + 1) * (len(self.output_tokens) + 1) > 64:
            raise ValueError("at most 64 buckets")
        return self


class Workload(_Frozen):
    """Request lengths and arrival rates. Lengths come from statistics or from a CSV of samples
    (columns ``input_tokens,output_tokens``, e.g. the traces in shared/reference/traces)."""

    input_tokens: LengthStats | None = Field(None, description="prompt length statistics")
    output_tokens: LengthStats | None = Field(None, description="generated length statistics")
    lengths_file: str | None = Field(None, description="CSV with input_tokens,output_tokens per request (relative path)")
    demand: Demand
    size_buckets: SizeBuckets | None = Field(None, description="request-size buckets: serve short and long requests on different GPUs")
    images_per_request: float = Field(0.0, ge=0, le=100, description="multimodal models: images per request (mean); each adds the model's image_tokens (models.csv) to the prompt")
    user_regions: dict[str, float] = Field(
        default_factory=lambda: {"us-east": 1.0},
        description="share of demand per user geography (regions.csv geo names); shares sum to 1",
    )

    @model_validator(mode="after")
    def _lengths(self) -> "Workload":
        if self.lengths_file is None and (self.input_tokens is None or self.output_tokens is None):
            raise ValueError("give input_tokens and output_tokens statistics, or lengths_file")
        if self.lengths_file is not None and (self.input_tokens or self.output_tokens):
            raise ValueError("give either lengths_file or input_tokens/output_tokens, not both")
        if not self.user_regions:
            raise ValueError("user_regions is empty")
        if any(v <= 0 for v in self.user_regions.values()):
            raise ValueError("user_regions shares must be > 0")
        total = sum(self.user_regions.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"user_regions shares sum to {total:g}, not 1")
        return self


class Slo(_Frozen):
    """Latency targets at the 99th percentile (milliseconds). At least one must be given."""

    ttft_p99_ms: float | None = Field(None, gt=0, description="P99 time to first token (ms)")
    tpot_p99_ms: float | None = Field(None, gt=0, description="P99 time per output token (ms)")
    e2e_p99_ms: float | None = Field(None, gt=0, description="P99 end-to-end latency (ms)")

    @model_validator(mode="after")
    def _any(self) -> "Slo":
        if self.ttft_p99_ms is None and self.tpot_p99_ms is None and self.e2e_p99_ms is None:
            raise ValueError("give at least one of ttft_p99_ms, tpot_p99_ms, e2e_p99_ms")
        return self


class Quota(_Frozen):
    """A cap on GPUs in service at any time in one cloud (optionally one region and/or one GPU type),
    e.g. the account's service quota for that instance family."""

    cloud: str = Field(description="cloud id (offers.csv)")
    region: str | None = Field(None, description="the cloud's region name; empty = every region")
    gpu: str | None = Field(None, description="accelerator id or alias; empty = every GPU type")
    max_gpus: int = Field(ge=0, description="GPUs in service at most, in every period")


class ResidencyRule(_Frozen):
    """Data residency: requests of these user geographies may only be served from cloud regions on
    the listed continents or in the listed geographies (e.g. EU users only from EU regions)."""

    users: list[str] = Field(description="user geographies the rule covers (regions.csv geo names)")
    continents: list[str] = Field(default_factory=list, description="allowed continents of the serving regions (regions.csv continent)")
    geos: list[str] = Field(default_factory=list, description="allowed geographies of the serving regions (regions.csv geo)")

    @model_validator(mode="after")
    def _something_allowed(self) -> "ResidencyRule":
        if not self.users:
            raise ValueError("users is empty")
        if not self.continents and not self.geos:
            raise ValueError("give continents and/or geos the users may be served from")
        return self


class PlatformFee(_Frozen):
    """A managed-platform markup on instances, e.g. a managed inference endpoint instead of raw VMs
    (SageMaker real-time endpoints list ~25 % over the same EC2 instance; see docs/research). Applies
    to every tier of the cloud's instances; without ``cloud``, to every cloud without its own rule."""

    cloud: str | None = Field(None, description="cloud id (offers.csv); empty = every other cloud")
    percent: float = Field(0.0, ge=0, le=1000, description="markup on the instance price (%)")
    usd_per_instance_hour: float = Field(0.0, ge=0, description="fixed fee per instance-hour (USD)")


class SpotAvailability(_Frozen):
    """The share of a spot instance's capacity to count on, below 1 when interruptions and the time
    to replace an instance make it serve less than it is paid for (docs/research/spot_interruption.csv
    has AWS Spot Advisor interruption rates by instance type). The most specific rule applies:
    cloud and GPU, then cloud, then GPU, then neither."""

    cloud: str | None = Field(None, description="cloud id; empty = any cloud")
    gpu: str | None = Field(None, description="accelerator id or alias; empty = any GPU")
    availability: float = Field(gt=0, le=1, description="share of the spot instance's capacity counted (0..1]")


class Site(_Frozen):
    """An on-premises data centre or colocation site where owned servers run. Empty figures are taken
    from catalogs/energy.csv for the site's geography."""

    name: str = Field(description="a name for the site (shown as the region of its servers)")
    geo: str = Field(description="geography of the site (regions.csv geo names): latency, residency and energy defaults")
    usd_per_kwh: float | None = Field(None, ge=0, description="electricity price (USD/kWh); default energy.csv")
    pue: float = Field(ge=1, le=3, description="the facility's power usage effectiveness (e.g. 1.58, Uptime Institute's 2023 average: docs/research/onprem.csv)")
    colo_usd_per_kw_month: float | None = Field(None, ge=0, description="rack space, power delivery and cooling per kW provisioned per month; default energy.csv")
    kg_co2_per_kwh: float | None = Field(None, ge=0, description="grid carbon intensity; default energy.csv")


class OnPrem(_Frozen):
    """Owning servers (tier 'owned'): bought for the horizon like a commitment, priced per hour at their
    capital recovery plus running cost (planner.tco). Everything a finance team states is a field."""

    sites: list[Site] = Field(description="where owned servers may run")
    servers: list[str] | Literal["any"] = Field("any", description="servers.csv ids to consider")
    discount_rate: float = Field(ge=0, le=1, description="yearly cost of capital (financing, WACC) for the purchase")
    lifetime_years: float = Field(gt=0, le=15, description="depreciation period of a server")
    utilisation: float = Field(1.0, gt=0, le=1, description="mean share of a server's maximum power it draws (1 = at its rating: conservative)")
    maintenance_share_per_year: float = Field(0.0, ge=0, le=1, description="support contract and spares per year, as a share of the purchase price")
    staff_usd_per_server_year: float = Field(0.0, ge=0, description="operations staff cost per server per year")
    lead_time_weeks: float | None = Field(None, ge=0, description="weeks from order to service (reported with the plan)")

    @model_validator(mode="after")
    def _sites(self) -> "OnPrem":
        if not self.sites:
            raise ValueError("sites is empty")
        names = [x.name for x in self.sites]
        if len(set(names)) != len(names):
            raise ValueError("site names must be unique")
        if self.servers != "any" and not self.servers:
            raise ValueError("servers is empty (use 'any')")
        return self


class Options(_Frozen):
    """What the planner may buy."""

    clouds: list[str] | Literal["any"] = Field("any", description="clouds to consider (offers.csv cloud ids)")
    gpus: list[str] | Literal["any"] = Field("any", description="accelerator ids or aliases to consider")
    precisions: list[Precision] = Field(default_factory=lambda: ["bf16"], description="weight/compute precisions acceptable for quality")
    kv_precision: Precision | Literal["same"] = Field("same", description="KV-cache precision; 'same' = the weight precision (fp16 for int4/int8 weights)")
    tiers: list[Tier] = Field(default_factory=lambda: ["reserved-1y", "on-demand", "spot"], description="pricing tiers allowed ('api' = per-token API for overflow or all traffic)")
    max_spot_share: float = Field(0.3, ge=0, le=1, description="at most this share of the required capacity may rest on spot: without spot, reserved + on-demand still cover (1 − share) × demand × (1 + headroom) in every period and user region")
    min_replicas: int = Field(1, ge=0, le=10_000, description="model replicas in service in every period, at least (an instance of G GPUs at tensor parallelism tp runs G/tp)")
    headroom: float = Field(0.15, ge=0, le=5, description="capacity ≥ demand × (1 + headroom)")
    placement: Literal["same-geo", "same-continent", "any"] = Field(
        "same-continent", description="which cloud regions may serve a user geography"
    )
    max_batch: list[int] = Field(default_factory=lambda: [8, 16, 32, 64, 128, 256], description="max-batch settings to consider")
    max_gpus_per_replica: int = Field(8, ge=1, le=64, description="largest replica (GPUs)")
    quotas: list[Quota] = Field(default_factory=list, description="caps on GPUs in service per cloud/region/GPU type")
    residency: list[ResidencyRule] = Field(default_factory=list, description="data-residency rules: which regions may serve which user geographies (on top of placement)")
    max_rtt_ms: float | None = Field(None, gt=0, description="users are only served from cloud regions whose published round-trip time from their geography (network_rtt.csv) is at most this")
    count_network_rtt: bool = Field(True, description="TTFT and e2e targets apply at the user: in each cloud region the engine's targets are reduced by the largest published RTT between it and a user geography it may serve")
    min_regions: int = Field(1, ge=1, le=50, description="high availability: replicas in service in at least this many cloud regions in every period")
    api_provider: str | None = Field(None, description="tier 'api': provider in api_prices.csv; empty = the cheapest that serves the model")
    max_api_share: float = Field(1.0, ge=0, le=1, description="tier 'api': at most this share of each period's demand goes to the API")
    egress_bytes_per_token: float = Field(4.0, gt=0, le=10_000, description="bytes sent to the user per output token (4: '1 token ~= 4 chars in English', help.openai.com/en/articles/4936856; streamed responses send an event per token: set a few hundred)")
    cold_start_minutes: float = Field(0.0, ge=0, le=1440, description="minutes an on-demand or spot instance is paid before it serves (boot, weight download and load, engine warm-up); each start is priced, instances are started ahead of the period that needs them (0 = not priced)")
    spot_region_fallback: float = Field(0.0, ge=0, le=1, description="losing every spot instance of any one cloud region still leaves this share of demand × (1 + headroom) served (0 = no rule)")
    spot_availability: list[SpotAvailability] = Field(default_factory=list, description="derate spot capacity for interruptions, per cloud and/or GPU (default: counted in full)")
    platform_fees: list[PlatformFee] = Field(default_factory=list, description="managed-platform markups per cloud (percent and/or USD per instance-hour), in the objective and in cost_breakdown.platform")
    on_prem: OnPrem | None = Field(None, description="owned servers in your own or colocation sites (tier 'owned')")
    commitment_cost: Literal["in-horizon", "full-term"] = Field("in-horizon", description="monthly commitment starts: in-horizon counts the hours each commitment serves inside the horizon (the service goes on after it); full-term pays every commitment's whole term, also the months after the horizon (the service may stop with it): late commitments then favour shorter terms or none")
    commitment_starts: Literal["horizon", "monthly"] = Field("horizon", description="horizon: reserved and owned capacity is bought at the horizon's start and held through it (the horizon repeats); monthly: over a horizon of several months, a commitment may start at the start of any month (730 h) and lasts its term (reserved-1y 12 months, reserved-3y 36, owned the servers' lifetime): the plan says what to buy when")
    measured_profile: str | None = Field(None, description="CSV of measured capacities (gpu, tp, precision, capacity_rps at the SLO; optional max_batch, input_tokens, output_tokens), path relative to the problem file: plan on these instead of the analytic model")

    @model_validator(mode="after")
    def _non_empty(self) -> "Options":
        for name in ("precisions", "tiers", "max_batch", "gpus", "clouds"):
            if not getattr(self, name):
                raise ValueError(f"{name} is empty" + (" (use 'any')" if name in ("gpus", "clouds") else ""))
        if any(b < 1 for b in self.max_batch):
            raise ValueError("max_batch values must be ≥ 1")
        clouds = [f.cloud.strip().lower() if f.cloud else None for f in self.platform_fees]
        if len(clouds) != len(set(clouds)):
            raise ValueError("platform_fees: at most one rule per cloud and one without a cloud")
        if self.commitment_cost == "full-term" and self.commitment_starts != "monthly":
            raise ValueError("commitment_cost 'full-term' needs commitment_starts: monthly (with 'horizon' every commitment is held for the horizon, which repeats)")
        if ("owned" in self.tiers) != (self.on_prem is not None):
            raise ValueError("tier 'owned' needs on_prem (the sites, financing and lifetime), and on_prem needs 'owned' in tiers")
        return self


class SpeculativeDecoding(_Frozen):
    """Speculative decoding: a draft proposes ``k`` tokens per step, the model verifies them in one
    pass (planner.perf.techniques). The acceptance rate is the workload's: EAGLE-3 chains on chat
    accept about 0.74-0.77 per token (vLLM, Llama-3.1-8B, MT-Bench; docs/research/techniques.md)."""

    method: Literal["eagle", "mtp", "draft-model"] = Field(description="eagle: an EAGLE-style draft head; mtp: the model's own multi-token-prediction module (models.csv mtp_layers); draft-model: a separate small model")
    acceptance_rate: float = Field(ge=0, lt=1, description="per-token acceptance probability α of drafted tokens on this workload")
    draft_tokens: list[int] = Field(default_factory=lambda: [3], description="draft lengths k to consider (tokens drafted per step)")
    draft_model: str | None = Field(None, description="draft-model: models.csv id or alias of the draft")
    draft_params_b: float | None = Field(None, gt=0, description="eagle/mtp: size of the draft head (billions of parameters); default one layer of the model plus an lm-head-sized projection")
    draft_step_overhead_ms: float = Field(0.0, ge=0, le=100, description="fixed time per draft step (kernel launches, sampling) measured on the engine; 0 = the roofline only, which overstates the speed-up of small draft heads (benchmarks/technique_spot_checks.py)")
    optional: bool = Field(True, description="the planner may also serve without speculation (it picks per candidate: speculation slows large, compute-bound batches)")

    @model_validator(mode="after")
    def _consistent(self) -> "SpeculativeDecoding":
        if not self.draft_tokens or any(k < 1 or k > 16 for k in self.draft_tokens):
            raise ValueError("draft_tokens must be a non-empty list of whole numbers 1..16")
        if (self.method == "draft-model") != (self.draft_model is not None):
            raise ValueError("draft_model is needed with method draft-model, and only then")
        if self.method == "draft-model" and self.draft_params_b is not None:
            raise ValueError("draft_params_b is for eagle/mtp heads; a draft model's size comes from models.csv")
        return self


class PrefixCaching(_Frozen):
    """Prefix caching: the share of prompt tokens whose KV cache is reused from earlier requests
    (system prompts, multi-turn history). Given, or measured on a Mooncake-format trace."""

    hit_rate: float | None = Field(None, ge=0, lt=1, description="token-weighted share of prompt tokens served from the cache (Mooncake conversation trace, unbounded cache: 0.374)")
    trace: str | None = Field(None, description="JSONL with input_length and hash_ids per request (Mooncake FAST'25 format), path relative to the problem file: the hit rate is measured by replaying it")
    block_tokens: int = Field(512, ge=1, description="trace: tokens per hashed block (Mooncake: 512)")
    cache_tokens: float | None = Field(None, gt=0, description="trace: capacity of the cache in tokens (LRU); empty = unbounded (an upper bound)")

    @model_validator(mode="after")
    def _one_source(self) -> "PrefixCaching":
        if (self.hit_rate is None) == (self.trace is None):
            raise ValueError("give hit_rate or trace (one of them)")
        return self


class Disaggregation(_Frozen):
    """Disaggregated prefill/decode serving (DistServe, Splitwise, Mooncake): prompts are prefilled on
    one pool of instances, which emits the first token, and the KV cache moves over the cloud
    region's network to a decode pool that generates the rest. The planner sizes both pools, each
    on its own GPU type and batch if that is cheaper, per cloud region."""

    kv_transfer_gb_per_s: float = Field(gt=0, le=10_000, description="effective bandwidth of the KV-cache transfer from a prefill to a decode instance (GB/s), e.g. 87 measured by Mooncake's transfer engine on 4x200 Gbps RoCE (docs/research/techniques.md §5); use the instances' network at the efficiency you measured")
    optional: bool = Field(True, description="the planner may also serve requests whole on one instance (it picks per candidate)")


class Techniques(_Frozen):
    """Serving techniques the deployment uses (each changes the performance model; see
    planner.perf.techniques). Quantisation is ``options.precisions`` / ``options.kv_precision``."""

    speculative_decoding: SpeculativeDecoding | None = Field(None, description="draft-and-verify decoding")
    prefix_caching: PrefixCaching | None = Field(None, description="reuse of cached prompt prefixes")
    sparsity: Literal["2:4"] | None = Field(None, description="2:4 structured sparsity: the model has a 2:4-pruned checkpoint (needs NVIDIA Ampere or later)")
    kv_allocation: Literal["paged", "static"] = Field("paged", description="paged (vLLM/SGLang/TensorRT-LLM) or static: every sequence reserves max_seq_len tokens of KV cache")
    max_seq_len: int | None = Field(None, ge=1, description="static allocation: tokens reserved per sequence (default the model's max_context)")
    disaggregation: Disaggregation | None = Field(None, description="separate prefill and decode pools with the KV-cache transfer between them")


class SolverSettings(_Frozen):
    """Solver choice and limits; recorded in the plan."""

    name: Literal["highs", "cbc"] = Field("highs", description="MILP solver")
    time_limit_s: float = Field(60.0, gt=0, description="wall-clock limit (s)")
    gap: float = Field(0.005, ge=0, lt=1, description="relative MIP gap at which to stop (0.005 = proven within 0.5 % of the optimum)")


class Problem(_Frozen):
    """A serving problem: one model, its workload and SLOs, and what may be bought."""

    name: str = Field(description="a name for the plan")
    model: str = Field(description="models.csv id or alias")
    engine: EngineFamily = Field("vllm", description="serving engine family (selects calibrated efficiencies)")
    workload: Workload
    slo: Slo
    options: Options = Field(default_factory=Options)
    techniques: Techniques = Field(default_factory=Techniques)
    solver: SolverSettings = Field(default_factory=SolverSettings)


# ---------------------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class LoadedProblem:
    """A validated problem with where it came from, for error messages that point at lines."""

    problem: Problem
    path: Path
    lines: dict[tuple, int] = field(default_factory=dict)

    def where(self, *loc: str | int) -> str:
        """``file:line: a.b.c`` for a field path (line of the nearest enclosing key found)."""
        for n in range(len(loc), 0, -1):
            line = self.lines.get(tuple(loc[:n]))
            if line is not None:
                return f"{self.path}:{line}: {_dotted(loc)}"
        return f"{self.path}: {_dotted(loc)}"

    def resolve_path(self, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else (self.path.parent / p)


def _dotted(loc: tuple | list) -> str:
    return ".".join(str(p) for p in loc) if loc else "(top level)"


def _plain(node: Any, loc: tuple, lines: dict[tuple, int]) -> Any:
    """ruamel round-trip nodes → plain Python, recording the 1-based line of every key."""
    if isinstance(node, CommentedMap):
        out = {}
        for key, value in node.items():
            try:
                lines[loc + (key,)] = node.lc.key(key)[0] + 1
            except (KeyError, TypeError, AttributeError):
                pass
            out[key] = _plain(value, loc + (key,), lines)
        return out
    if isinstance(node, CommentedSeq):
        out_list = []
        for i, value in enumerate(node):
            try:
                lines[loc + (i,)] = node.lc.item(i)[0] + 1
            except (KeyError, TypeError, AttributeError, IndexError):
                pass
            out_list.append(_plain(value, loc + (i,), lines))
        return out_list
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def parse_problem(text: str, path: str | Path = "<problem>") -> LoadedProblem:
    path = Path(path)
    yaml = YAML(typ="rt")
    try:
        doc = yaml.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"{mark.line + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ProblemError(f"{path}:{line} malformed YAML: {problem}") from None
    if not isinstance(doc, CommentedMap):
        raise ProblemError(f"{path}: the problem file must be a YAML mapping (key: value), got {type(doc).__name__}")
    lines: dict[tuple, int] = {}
    data = _plain(doc, (), lines)
    try:
        problem = Problem.model_validate(data)
    except ValidationError as exc:
        loaded = LoadedProblem(Problem.model_construct(), path, lines)
        messages = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "literal["))))
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown field" + _suggest_field(loc)
            messages.append(f"{loaded.where(*loc)}: {msg}")
        raise ProblemError(messages) from None
    return LoadedProblem(problem, path, lines)


def _suggest_field(loc: tuple) -> str:
    """Did-you-mean for a misspelt key, from the fields of the model that holds it."""
    from planner.catalog.ids import did_you_mean

    model: Any = Problem
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        info = getattr(model, "model_fields", {}).get(part)
        if info is None:
            return ""
        annotation = info.annotation
        candidates = [a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not candidates:
            return ""
        model = candidates[0]
    fields = list(getattr(model, "model_fields", {}))
    return did_you_mean(str(loc[-1]), fields) if fields else ""


def load_problem(path: str | Path) -> LoadedProblem:
    path = Path(path)
    return parse_problem(read_text(path, ProblemError), path)
