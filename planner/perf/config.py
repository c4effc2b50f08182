"""Turn the perf-model input table (ARCHITECTURE.md, "Perf model input") into numpy arrays.

``prepare(cfg)`` reads every column the model uses (a missing column counts as all-empty), fills the
documented defaults and collects, per row, the reasons the row cannot be estimated (``Spec.errors``:
one list of messages per row; joined into the ``error`` column by the callers). Nothing here raises on
bad row data.

Defaults (empty cell -> value):

* ``num_kv_heads`` = ``num_attention_heads``; ``head_dim`` = ``hidden_size / num_attention_heads``;
* ``moe_intermediate_size`` = ``intermediate_size``; ``experts_per_token`` = 2 when ``num_experts`` is set;
* ``global_attention_every`` empty = every layer is local when ``sliding_window`` or
  ``attention_chunk_size`` is set (``planner.perf.attention``); neither set = every layer global;
* ``tp`` = ``num_gpus / pp``, ``pp`` = 1, ``num_gpus`` = ``tp * pp``; ``dp = num_gpus / (tp * pp)``
  independent engine instances share the row's load (``num_gpus`` must be a multiple of ``tp * pp``);
* ``ep`` = 1 (routed experts sharded by tensor parallelism); ``ep = tp`` places whole experts on
  the instance's ``tp`` GPUs (expert parallelism; MoE models only);
* ``gpus_per_node`` = 8 (GPUs joined by the node's interconnect); an instance with ``tp * pp``
  above it spans nodes and needs ``gpu_network_gb_per_s`` (scale-out bandwidth per GPU, per direction);
* ``precision`` = bf16; ``kv_precision`` = the weight precision for 16/32-bit weights, else bf16
  (the engines' ``auto`` KV dtype keeps the activation dtype for weight-quantised checkpoints);
* ``engine_family`` = ``other``; ``scenario`` = ``offline``;
* ``input_len`` / ``output_len``: ShareGPT-like means (``DEFAULT_INPUT_LEN`` / ``DEFAULT_OUTPUT_LEN``).

Serving techniques (``planner.perf.techniques``; every column optional, empty = not used):

* ``spec_method`` (``eagle``, ``mtp``, ``draft-model``; empty or ``none`` = no speculative decoding),
  ``spec_draft_tokens`` (k, tokens drafted per step, >= 1) and ``spec_acceptance`` (alpha, per-token
  acceptance probability, 0 <= alpha < 1); ``draft-model`` needs the draft's ``draft_params_b``,
  ``draft_num_layers``, ``draft_num_kv_heads``, ``draft_head_dim`` (``join`` fills them from a
  ``draft_model`` id); ``draft_params_b`` overrides the derived size of an eagle/mtp head;
  ``spec_step_overhead_ms`` (default 0): fixed time per draft step, from a measurement of the engine;
* ``prefix_hit_rate``: share of prompt tokens served from the prefix cache (0 <= h < 1);
* ``sparsity``: ``2:4`` (a 2:4-pruned checkpoint on sparse tensor cores) or empty;
* ``kv_allocation``: ``paged`` (default) or ``static`` (every sequence reserves ``max_seq_len``
  tokens; default the model's ``max_context``).

Model families (``arch_type`` and the columns ``join`` copies from models.csv):

* ``encoder-decoder`` (T5 v1.1 / Flan-T5): ``num_layers`` = decoder layers, ``encoder_layers`` =
  encoder layers (required for these rows; ``Spec.enc_layers`` is 0 on every other row). The encoder
  runs once over the prompt, the decoder generates; ``memory`` and ``latency`` say how each part is
  counted. ``prefix_hit_rate`` is refused on these rows: the encoder's bidirectional attention makes
  every encoder output depend on the whole prompt, so no cached prefix can be reused.
* vision tower (LLaVA-style multimodal): ``vision_params_b`` (billions of parameters run per image:
  the vision encoder as the engine builds it plus the projector), ``image_tokens`` (tokens each
  image adds to the prompt) and the per-row ``images_per_request`` (mean images per request, default
  0). The image tokens themselves are already part of ``input_len`` (the problem layer adds
  ``images_per_request x image_tokens``); only the tower's own compute and weights are added here
  (``latency``, ``memory``). A row with images needs both model columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.units import BYTES_PER_ELEMENT, PRECISIONS

# Default request lengths when input_len / output_len are empty: the mean ShareGPT-sampled request of
# ../shared/calibration/README.md (LMDeploy request-throughput rows: roughly 220-270 input and 200-255
# output tokens depending on the tokenizer); we take the middle of those ranges.
DEFAULT_INPUT_LEN = 245.0
DEFAULT_OUTPUT_LEN = 228.0
DEFAULT_PRECISION = "bf16"
DEFAULT_ENGINE = "other"
SCENARIOS = ("fixed_batch", "offline", "server", "interactive")
NO_FP8_FAMILIES = ("volta", "turing", "cdna2")  # no FP8 kernel path in the engines (module: prepare)
DEFAULT_MOE_TOP_K = 2.0
DEFAULT_GPUS_PER_NODE = 8.0  # HGX/DGX-class servers and every multi-GPU cloud instance in the catalog
PCIE_X16_GB_PER_S = {"gen3": 15.75, "gen4": 31.5, "gen5": 63.0}  # per direction
LINK_DIRECTIONS = 2.0  # gpu_link_bw_gb_per_s adds both directions (as vendors quote it)


def fcol(cfg: pd.DataFrame, name: str) -> np.ndarray:
    """Column as float array; missing column or unparsable cell -> NaN."""
    if name not in cfg.columns:
        return np.full(len(cfg), np.nan)
    return pd.to_numeric(cfg[name], errors="coerce").to_numpy(dtype=float)


@dataclass(frozen=True)
class Labels:
    """A string column held as small integer codes into its distinct normalised values.

    A candidate table has a handful of distinct engines, precisions or scenarios over 10^5-10^6
    rows; every test on the strings (equality, membership, substring, lookup of a number) is done
    once per distinct value and then gathered by code, so the model's cost per row is numeric only.
    """

    codes: np.ndarray  # intp, one per row
    uniques: tuple[str, ...]  # normalised (lowercase, stripped, default filled) distinct values

    @classmethod
    def of(cls, values, default: str = "") -> "Labels":
        series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
        if isinstance(series.dtype, pd.CategoricalDtype):  # already coded: no pass over the strings
            codes, raw = series.cat.codes.to_numpy(), list(series.cat.categories)
        else:
            codes, raw = pd.factorize(series, use_na_sentinel=True)
        norm = [str(u).strip().lower() if isinstance(u, str) or not pd.isna(u) else "" for u in raw]
        return cls(np.asarray(codes, dtype=np.intp), tuple(norm) + ("",)).relabel(lambda u: u or default)

    @classmethod
    def constant(cls, n: int, value: str) -> "Labels":
        return cls(np.zeros(n, dtype=np.intp), (value,))

    def __len__(self) -> int:
        return len(self.codes)

    def per_value(self, fn, dtype=bool) -> np.ndarray:
        """``fn(value)`` for each row, computed once per distinct value."""
        return np.array([fn(u) for u in self.uniques], dtype=dtype)[self.codes]

    def eq(self, value: str) -> np.ndarray:
        return self.per_value(lambda u: u == value)

    def isin(self, values) -> np.ndarray:
        allowed = set(values)
        return self.per_value(lambda u: u in allowed)

    def contains(self, text: str) -> np.ndarray:
        return self.per_value(lambda u: text in u)

    def lookup(self, mapping: dict, default=np.nan) -> np.ndarray:
        return self.per_value(lambda u: mapping.get(u, default), dtype=float)

    def relabel(self, fn) -> "Labels":
        """Labels whose value is ``fn(value)``: computed per distinct value, equal results merged.
        A code of -1 (pandas' missing value) picks the last entry of ``uniques``."""
        mapped = [fn(u) for u in self.uniques]
        uniq = tuple(dict.fromkeys(mapped))
        remap = np.array([uniq.index(v) for v in mapped], dtype=np.intp)
        return Labels(remap[self.codes], uniq)

    def fill(self, empty: np.ndarray, other: "Labels") -> "Labels":
        """These labels with the rows where ``empty`` is true taken from ``other``."""
        uniq = tuple(dict.fromkeys(self.uniques + other.uniques))
        mine = np.array([uniq.index(u) for u in self.uniques], dtype=np.intp)[self.codes]
        theirs = np.array([uniq.index(u) for u in other.uniques], dtype=np.intp)[other.codes]
        return Labels(np.where(empty, theirs, mine), uniq).relabel(lambda u: u)

    @property
    def values(self) -> np.ndarray:
        """The normalised strings as an object array (for output and error messages)."""
        return np.array(self.uniques, dtype=object)[self.codes]


def scol(cfg: pd.DataFrame, name: str, default: str = "") -> Labels:
    """Column as ``Labels`` of lowercase stripped strings; missing column/empty cell -> ``default``."""
    if name not in cfg.columns:
        return Labels.constant(len(cfg), default)
    return Labels.of(cfg[name], default)


@dataclass
class Spec:
    """Numpy arrays, one entry per configuration row (see module docstring for defaults)."""

    n: int
    # (rows that fail, message) pairs in the order found; per-row strings are built only for those rows
    error_masks: list = field(default_factory=list, repr=False)
    # model
    layers: np.ndarray = None
    hidden: np.ndarray = None
    heads: np.ndarray = None
    kv_heads: np.ndarray = None
    head_dim: np.ndarray = None
    inter: np.ndarray = None
    moe_inter: np.ndarray = None
    vocab: np.ndarray = None
    experts: np.ndarray = None  # 0 = dense
    top_k: np.ndarray = None
    shared_experts: np.ndarray = None
    first_dense: np.ndarray = None
    params_b: np.ndarray = None
    active_params_b: np.ndarray = None
    attention_type: Labels = None
    sliding_window: np.ndarray = None
    # attention span per layer type (planner.perf.attention): share of local layers, their window or
    # chunk in tokens (inf = none), chunked (Llama 4) rather than sliding, and whether any row has one
    local_share: np.ndarray = None
    local_span: np.ndarray = None
    local_chunked: np.ndarray = None
    chunked_rows: np.ndarray = None  # indices of rows with chunked local layers
    any_local: bool = False
    kv_lora_rank: np.ndarray = None
    qk_rope_head_dim: np.ndarray = None
    # model families (module docstring): encoder-decoder rows and their encoder layers (0 elsewhere);
    # vision tower parameters (0 = none), image tokens per image, images per request (0 = none)
    enc_dec: np.ndarray = None  # bool
    enc_layers: np.ndarray = None
    vision_params: np.ndarray = None
    image_tokens: np.ndarray = None
    images: np.ndarray = None
    # accelerator
    gpu_family: Labels = None
    mem_gb: np.ndarray = None
    bw_gb_s: np.ndarray = None
    link_gb_s: np.ndarray = None  # per direction (the catalog column halved)
    interconnect: Labels = None
    tflops: dict = None  # precision -> array (fp32, fp16, bf16, fp8, fp4, int8, int4)
    # configuration
    num_gpus: np.ndarray = None
    tp: np.ndarray = None
    pp: np.ndarray = None
    dp: np.ndarray = None
    ep: np.ndarray = None  # 1 = experts TP-sharded; tp = whole experts spread over the TP group
    gpus_per_node: np.ndarray = None
    nodes: np.ndarray = None  # nodes one instance spans
    network_gb_s: np.ndarray = None  # scale-out bandwidth per GPU, per direction
    precision: Labels = None
    kv_precision: Labels = None
    w_bytes: np.ndarray = None  # bytes per weight element
    kv_bytes: np.ndarray = None  # bytes per KV element
    engine: Labels = None
    scenario: Labels = None
    input_len: np.ndarray = None
    output_len: np.ndarray = None
    lengths_assumed: np.ndarray = None
    concurrency: np.ndarray = None
    # serving techniques (module docstring; planner.perf.techniques)
    spec_method: Labels = None  # "" = none, eagle, mtp, draft-model
    spec_k: np.ndarray = None  # draft tokens per step (0 = no speculative decoding)
    spec_alpha: np.ndarray = None
    draft_overhead_s: np.ndarray = None  # fixed seconds per draft step (measured; default 0)
    draft_params: np.ndarray = None  # parameters of a draft model / an eagle-mtp head override (NaN = derive)
    draft_layers: np.ndarray = None
    draft_kv_heads: np.ndarray = None
    draft_head_dim: np.ndarray = None
    prefix_hit: np.ndarray = None  # share of prompt tokens served from the prefix cache
    sparse: np.ndarray = None  # bool: 2:4 structured sparsity
    kv_static: np.ndarray = None  # bool: every sequence reserves max_seq_len tokens
    max_seq_len: np.ndarray = None

    def add_error(self, mask: np.ndarray, message: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.error_masks.append((mask.copy(), message))

    @property
    def error_strings(self) -> np.ndarray:
        out = np.full(self.n, "", dtype=object)
        bad = ~self.ok
        for i in np.flatnonzero(bad):  # only the failing rows pay for string building
            seen: list[str] = []
            for mask, message in self.error_masks:
                if mask[i] and message not in seen:
                    seen.append(message)
            out[i] = "; ".join(seen)
        return out

    @property
    def ok(self) -> np.ndarray:
        bad = np.zeros(self.n, dtype=bool)
        for mask, _ in self.error_masks:
            bad |= mask
        return ~bad


def prepare(cfg: pd.DataFrame) -> Spec:
    n = len(cfg)
    s = Spec(n=n)
    f = lambda c: fcol(cfg, c)  # noqa: E731
    s.layers, s.hidden, s.heads = f("num_layers"), f("hidden_size"), f("num_attention_heads")
    for name, arr in (("num_layers", s.layers), ("hidden_size", s.hidden),
                      ("num_attention_heads", s.heads)):
        s.add_error(~(arr > 0), f"{name} missing")
    s.kv_heads = np.where(np.isnan(f("num_kv_heads")), s.heads, f("num_kv_heads"))
    s.head_dim = np.where(np.isnan(f("head_dim")), s.hidden / s.heads, f("head_dim"))
    s.inter = f("intermediate_size")
    s.moe_inter = np.where(np.isnan(f("moe_intermediate_size")), s.inter, f("moe_intermediate_size"))
    s.vocab = f("vocab_size")
    s.experts = np.nan_to_num(f("num_experts"), nan=0.0)
    s.top_k = np.where(s.experts > 0, np.nan_to_num(f("experts_per_token"), nan=DEFAULT_MOE_TOP_K), 0.0)
    s.shared_experts = np.nan_to_num(f("num_shared_experts"), nan=0.0)
    s.first_dense = np.where(s.experts > 0, np.nan_to_num(f("first_dense_layers"), nan=0.0), 0.0)
    s.params_b, s.active_params_b = f("params_b"), f("active_params_b")
    s.attention_type = scol(cfg, "attention_type", "gqa")
    s.sliding_window = f("sliding_window")
    chunk, every = f("attention_chunk_size"), f("global_attention_every")
    windowed, chunked = s.sliding_window > 0, chunk > 0
    s.add_error(windowed & chunked, "sliding_window and attention_chunk_size are both set")
    s.add_error(every < 1, "global_attention_every must be >= 1")
    s.local_span = np.where(windowed, s.sliding_window, np.where(chunked, chunk, np.inf))
    s.local_chunked = chunked & ~windowed
    n_global = np.where(every >= 1, np.floor(s.layers / np.where(every >= 1, every, 1.0)), 0.0)
    local = np.where(np.isfinite(s.local_span), np.maximum(s.layers - n_global, 0.0), 0.0)
    s.local_share = np.where(s.layers > 0, local / np.where(s.layers > 0, s.layers, 1.0), 0.0)
    s.any_local = bool(np.any(s.local_share > 0))
    s.chunked_rows = np.flatnonzero(s.local_chunked & (s.local_share > 0))
    s.kv_lora_rank = f("kv_lora_rank")
    s.qk_rope_head_dim = np.nan_to_num(f("qk_rope_head_dim"), nan=0.0)
    mla = s.attention_type.eq("mla")
    s.add_error(mla & ~(s.kv_lora_rank > 0), "kv_lora_rank missing (MLA model)")
    _prepare_families(cfg, s)

    s.gpu_family = scol(cfg, "gpu_family", "*")
    s.mem_gb, s.bw_gb_s = f("gpu_memory_gb"), f("gpu_mem_bw_gb_per_s")
    s.link_gb_s = f("gpu_link_bw_gb_per_s")
    s.interconnect = scol(cfg, "gpu_interconnect", "")
    s.add_error(~(s.mem_gb > 0), "gpu_memory_gb missing")
    s.add_error(~(s.bw_gb_s > 0), "gpu_mem_bw_gb_per_s missing")
    s.tflops = {p: f(f"gpu_{p}_tflops") for p in ("fp32", "fp16", "bf16", "fp8", "fp4")}
    s.tflops["int8"] = f("gpu_int8_tops")
    s.tflops["int4"] = f("gpu_int4_tops")

    g, tp, pp = f("num_gpus"), f("tp"), f("pp")
    ep = f("ep")
    pp = np.where(np.isnan(pp), 1.0, pp)
    tp = np.where(np.isnan(tp), np.where(np.isnan(g), 1.0, g / pp), tp)
    g = np.where(np.isnan(g), tp * pp, g)
    s.num_gpus, s.tp, s.pp = g, tp, pp
    s.dp = g / (tp * pp)
    bad = ~((tp >= 1) & (pp >= 1) & (s.dp >= 1) & (np.abs(s.dp - np.round(s.dp)) < 1e-9)
            & (np.abs(tp - np.round(tp)) < 1e-9) & (np.abs(pp - np.round(pp)) < 1e-9))
    s.add_error(bad, "num_gpus must be a positive multiple of tp*pp")
    s.dp = np.where(bad, 1.0, np.round(s.dp))
    s.ep = np.where(np.isnan(ep), 1.0, ep)
    s.add_error(~((s.ep == 1) | (s.ep == tp)), "ep must be 1 or equal to tp")
    s.add_error((s.ep > 1) & ~(s.experts > 0), "ep > 1 needs a mixture-of-experts model")
    per_node = f("gpus_per_node")
    s.gpus_per_node = np.where(np.isnan(per_node), DEFAULT_GPUS_PER_NODE, per_node)
    s.add_error(~(s.gpus_per_node >= 1), "gpus_per_node must be >= 1")
    s.network_gb_s = f("gpu_network_gb_per_s")
    s.nodes = np.maximum(np.ceil(tp * pp / np.maximum(s.gpus_per_node, 1.0)), 1.0)
    s.add_error((s.nodes > 1) & ~(s.network_gb_s > 0),
                "gpu_network_gb_per_s missing (needed when tp*pp spans more than gpus_per_node GPUs)")
    # The catalog quotes link bandwidth as vendors do, both directions added (H100 SXM NVLink 900 =
    # 450 each way); a ring all-reduce sends and receives at the same time, so the model uses one
    # direction. Empty link bandwidth on a PCIe part: the PCIe x16 per-direction rate of its
    # generation (PCI-SIG spec: 8/16/32 GT/s per lane x 16 lanes x 128b/130b). Other interconnects
    # have no default.
    pcie = s.interconnect.per_value(
        lambda u: next((r for g, r in PCIE_X16_GB_PER_S.items() if f"pcie {g}" in u), np.nan), float)
    s.link_gb_s = np.where(s.link_gb_s > 0, s.link_gb_s / LINK_DIRECTIONS, pcie)
    s.add_error((tp > 1) & ~(s.link_gb_s > 0), "gpu_link_bw_gb_per_s missing (needed for tp>1)")

    s.precision = scol(cfg, "precision", DEFAULT_PRECISION)
    s.add_error(~s.precision.isin(PRECISIONS), "unknown precision")
    kv_given = scol(cfg, "kv_precision", "")
    if "" in kv_given.uniques:
        kv_default = s.precision.relabel(lambda u: u if u in ("fp32", "fp16", "bf16") else DEFAULT_PRECISION)
        kv_given = kv_given.fill(kv_given.eq(""), kv_default)
    s.kv_precision = kv_given
    s.add_error(~s.kv_precision.isin(PRECISIONS), "unknown kv_precision")
    s.w_bytes, s.kv_bytes = s.precision.lookup(BYTES_PER_ELEMENT), s.kv_precision.lookup(BYTES_PER_ELEMENT)
    # hardware support (vLLM's quantisation support table, docs/research/techniques.csv): FP8 runs as
    # W8A8 from Ada/Hopper/MI300 and weight-only through FP8 Marlin from Ampere (compute capability 8.0)
    s.add_error(s.precision.eq("fp8") & s.gpu_family.isin(NO_FP8_FAMILIES),
                "fp8 needs NVIDIA Ampere or later (weight-only FP8 Marlin; W8A8 from Ada) or AMD MI300")
    s.engine = scol(cfg, "engine_family", DEFAULT_ENGINE)
    s.scenario = scol(cfg, "scenario", "offline")
    s.add_error(~s.scenario.isin(SCENARIOS), "unknown scenario")

    i, o = f("input_len"), f("output_len")
    s.lengths_assumed = np.isnan(i) | np.isnan(o)
    s.input_len = np.where(np.isnan(i), DEFAULT_INPUT_LEN, i)
    s.output_len = np.where(np.isnan(o), DEFAULT_OUTPUT_LEN, o)
    s.add_error(~((s.input_len >= 1) & (s.output_len >= 1)), "input_len and output_len must be >= 1")
    s.concurrency = f("concurrency")
    s.add_error(s.concurrency < 1, "concurrency must be >= 1")
    _prepare_techniques(cfg, s)
    return s


ENCODER_DECODER = "encoder-decoder"


def _prepare_families(cfg: pd.DataFrame, s: Spec) -> None:
    """Encoder-decoder and vision-tower columns (module docstring, "Model families")."""
    f = lambda c: fcol(cfg, c)  # noqa: E731
    s.enc_dec = scol(cfg, "arch_type", "").eq(ENCODER_DECODER)
    enc = f("encoder_layers")
    s.add_error(s.enc_dec & ~(enc > 0), "encoder_layers missing (encoder-decoder model)")
    s.enc_layers = np.where(s.enc_dec & (enc > 0), enc, 0.0)
    s.vision_params = np.nan_to_num(f("vision_params_b"), nan=0.0) * 1e9
    s.image_tokens = f("image_tokens")
    images = f("images_per_request")
    s.add_error(images < 0, "images_per_request must be >= 0")
    s.images = np.where(images > 0, images, 0.0)
    with_images = s.images > 0
    s.add_error(with_images & ~(s.vision_params > 0),
                "images_per_request needs the model's vision tower size (models.csv vision_params_b)")
    s.add_error(with_images & ~(s.image_tokens > 0),
                "images_per_request needs the model's image_tokens (models.csv)")


SPEC_METHODS = ("eagle", "mtp", "draft-model")
SPARSITY_PATTERNS = ("2:4",)
KV_ALLOCATIONS = ("paged", "static")
# GPU families with 2:4 sparse tensor cores: NVIDIA Ampere and later (Mishra et al. 2021, arXiv:2104.08378)
SPARSE_TENSOR_CORE_FAMILIES = ("ampere", "ada", "hopper", "blackwell")


def _prepare_techniques(cfg: pd.DataFrame, s: Spec) -> None:
    """The serving-technique columns (module docstring) with their defaults and row errors."""
    f = lambda c: fcol(cfg, c)  # noqa: E731
    s.spec_method = scol(cfg, "spec_method", "").relabel(lambda u: "" if u == "none" else u)
    known = s.spec_method.isin(("",) + SPEC_METHODS)
    s.add_error(~known, "unknown spec_method (eagle, mtp, draft-model or none)")
    on = ~s.spec_method.eq("") & known
    k, alpha = f("spec_draft_tokens"), f("spec_acceptance")
    s.add_error(on & ~((k >= 1) & (np.abs(k - np.round(k)) < 1e-9)), "spec_draft_tokens must be a whole number >= 1")
    s.add_error(on & ~((alpha >= 0) & (alpha < 1)), "spec_acceptance must be in [0, 1)")
    s.add_error(on & s.enc_dec, "speculative decoding is not modelled for encoder-decoder models")
    overhead = f("spec_step_overhead_ms")
    s.add_error(on & (overhead < 0), "spec_step_overhead_ms must be >= 0")
    s.draft_overhead_s = np.where(on & (overhead > 0), overhead, 0.0) * 1e-3
    s.spec_k = np.where(on & (k >= 1), np.round(np.nan_to_num(k)), 0.0)
    s.spec_alpha = np.where(on, np.clip(np.nan_to_num(alpha), 0.0, 0.999999), 0.0)
    given = f("draft_params_b")
    valid = (given > 0) & np.isfinite(given)
    s.add_error(on & ~np.isnan(given) & ~valid, "draft_params_b must be a finite number > 0")
    s.draft_params = np.where(valid, given * 1e9, np.nan)  # (an invalid size is a row error above)
    s.draft_layers, s.draft_kv_heads, s.draft_head_dim = f("draft_num_layers"), f("draft_num_kv_heads"), f("draft_head_dim")
    draft_model = s.spec_method.eq("draft-model")
    has_draft_model = scol(cfg, "draft_model", "").per_value(lambda u: u not in ("", "nan", "none"))
    s.add_error(on & ~draft_model & has_draft_model, "draft_model is for spec_method draft-model only")
    for name, arr in (("draft_params_b", s.draft_params), ("draft_num_layers", s.draft_layers),
                      ("draft_num_kv_heads", s.draft_kv_heads), ("draft_head_dim", s.draft_head_dim)):
        s.add_error(draft_model & ~(arr > 0), f"{name} missing (spec_method draft-model)")
    s.add_error(s.spec_method.eq("mtp") & ~(f("mtp_layers") >= 1),
                "spec_method mtp needs a model with multi-token-prediction layers (models.csv mtp_layers)")
    s.prefix_hit = np.nan_to_num(f("prefix_hit_rate"), nan=0.0)
    s.add_error(~((s.prefix_hit >= 0) & (s.prefix_hit < 1)), "prefix_hit_rate must be in [0, 1)")
    s.prefix_hit = np.clip(s.prefix_hit, 0.0, 0.999)
    s.add_error(s.enc_dec & (s.prefix_hit > 0),
                "prefix_hit_rate needs a decoder-only model (an encoder's bidirectional attention reuses no cached prefix)")
    sparsity = scol(cfg, "sparsity", "")
    s.add_error(~sparsity.isin(("", "none") + SPARSITY_PATTERNS), "unknown sparsity (2:4 or empty)")
    s.sparse = sparsity.eq("2:4")
    s.add_error(s.sparse & ~s.gpu_family.isin(SPARSE_TENSOR_CORE_FAMILIES),
                "2:4 sparsity needs sparse tensor cores (NVIDIA Ampere or later)")
    allocation = scol(cfg, "kv_allocation", "paged")
    s.add_error(~allocation.isin(KV_ALLOCATIONS), "unknown kv_allocation (paged or static)")
    s.kv_static = allocation.eq("static")
    given = f("max_seq_len")
    s.max_seq_len = np.where(np.isnan(given), f("max_context"), given)
    s.add_error(given < 1, "max_seq_len must be >= 1")
    s.add_error(s.kv_static & np.isnan(s.max_seq_len), "max_seq_len missing (kv_allocation static; the model has no max_context)")
