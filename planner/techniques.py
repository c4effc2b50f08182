"""The problem's serving techniques as columns of the performance model's input.

``problem.techniques`` (speculative decoding, prefix caching, 2:4 sparsity, KV allocation) and
``workload.images_per_request`` become the per-row columns that ``planner.perf.techniques`` reads.
Everything is validated here, against the catalogs, with errors that name the problem's field.
Speculative decoding is a per-candidate choice: each draft length ``k`` of
``draft_tokens`` (and ``k = 0``, none, when ``optional``) is a configuration of its own, so the
MILP picks, instance by instance, whether speculation pays at the batch the SLO allows.

Prefix-cache hit rate from a trace (``prefix_caching.trace``): the Mooncake FAST'25 format, one JSON
object per line with ``input_length`` and ``hash_ids`` (one hash per ``block_tokens`` block of the
prompt, chained so that equal hashes mean equal prefixes), replayed in file order. A request's hit
is its leading run of blocks already in the cache (prefix caches match from the start), capped at
its prompt; the rate is token-weighted: Σ hit tokens / Σ prompt tokens. With ``cache_tokens`` the
cache keeps that many tokens' blocks, least recently used evicted first; without, it is unbounded
(the upper bound the traces README quotes: 0.374 for the conversation trace).
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from planner.catalog import Catalogs
from planner.errors import ProblemError, read_text
from planner.problem import LoadedProblem

NO_SPECULATION = 0


@dataclass(frozen=True)
class TechniqueColumns:
    """Constant perf-model input columns for every configuration, and the draft lengths to try."""

    columns: dict
    draft_tokens: tuple[int, ...]  # 0 = without speculative decoding
    prefix_hit_rate: float
    image_tokens_per_request: float
    roles: tuple[str, ...] = ("whole",)  # whole requests; with disaggregation also "prefill", "decode" pools
    kv_transfer_gb_per_s: float | None = None


def trace_hit_rate(lines, block_tokens: int, cache_tokens: float | None = None) -> float:
    """Token-weighted prefix-cache hit rate of a Mooncake-format trace (module docstring);
    ``lines`` are parsed JSON objects. Raises ValueError naming the first bad line."""
    cache: OrderedDict = OrderedDict()
    capacity = None if cache_tokens is None else max(int(cache_tokens // block_tokens), 0)
    hit_tokens = prompt_tokens = 0.0
    for n, req in enumerate(lines, start=1):
        try:
            length = float(req["input_length"])
            hashes = list(req["hash_ids"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"line {n}: needs input_length and hash_ids") from None
        if not (math.isfinite(length) and length >= 0):
            raise ValueError(f"line {n}: input_length must be a finite number >= 0")
        if not all(isinstance(h, (int, str)) and not isinstance(h, bool) for h in hashes):
            raise ValueError(f"line {n}: hash_ids must be integers or strings")
        run = 0
        while run < len(hashes) and hashes[run] in cache:
            run += 1
        hit_tokens += min(run * block_tokens, length)
        prompt_tokens += length
        for h in hashes:  # the request's blocks are now cached (most recently used)
            cache[h] = None
            cache.move_to_end(h)
        if capacity is not None:
            while len(cache) > capacity:
                cache.popitem(last=False)
    if prompt_tokens <= 0:
        raise ValueError("no prompt tokens in the trace")
    return hit_tokens / prompt_tokens


def prefix_hit_rate(loaded: LoadedProblem) -> float:
    """The problem's prefix-cache hit rate: given, measured on its trace, or 0 without caching."""
    pc = loaded.problem.techniques.prefix_caching
    if pc is None:
        return 0.0
    if pc.hit_rate is not None:
        return float(pc.hit_rate)
    where = loaded.where("techniques", "prefix_caching", "trace")
    path = loaded.resolve_path(pc.trace)
    try:
        text = read_text(path, ProblemError)
    except ProblemError as exc:
        raise ProblemError([f"{where}: {m}" for m in exc.messages]) from None
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ProblemError(f"{where}: '{path}' line {number}: not JSON ({exc.msg})") from None
    try:
        rate = trace_hit_rate(lines, pc.block_tokens, pc.cache_tokens)
    except ValueError as exc:
        raise ProblemError(f"{where}: '{path}': {exc}") from None
    return min(rate, 0.999)


def image_tokens_per_request(loaded: LoadedProblem, catalogs: Catalogs, model_id: str) -> float:
    """Prompt tokens the request's images add: ``images_per_request × image_tokens`` of the model."""
    images = loaded.problem.workload.images_per_request
    if images <= 0:
        return 0.0
    per_image = catalogs.models.set_index("id").loc[model_id].get("image_tokens")
    if per_image is None or not np.isfinite(float(per_image)) or float(per_image) <= 0:
        raise ProblemError(f"{loaded.where('workload', 'images_per_request')}: model '{model_id}' takes no images "
                           "(models.csv has no image_tokens for it)")
    return images * float(per_image)


def technique_columns(loaded: LoadedProblem, catalogs: Catalogs, model_id: str) -> TechniqueColumns:
    """The constant perf-model columns of the problem's techniques; ProblemError (every problem,
    one line each) where a technique does not apply to the model."""
    t = loaded.problem.techniques
    errors: list[str] = []
    model = catalogs.models.set_index("id").loc[model_id]
    cols: dict = {"prefix_hit_rate": 0.0, "sparsity": t.sparsity or "", "kv_allocation": t.kv_allocation,
                  "max_seq_len": float(t.max_seq_len) if t.max_seq_len else np.nan}
    if t.kv_allocation == "static" and t.max_seq_len is None and not float(model.get("max_context") or np.nan) > 0:
        errors.append(f"{loaded.where('techniques', 'max_seq_len')}: static KV allocation needs max_seq_len "
                      f"(models.csv has no max_context for '{model_id}')")
    draft_tokens: tuple[int, ...] = (NO_SPECULATION,)
    sd = t.speculative_decoding
    if sd is not None:
        cols.update(spec_method=sd.method, spec_acceptance=sd.acceptance_rate,
                    draft_params_b=sd.draft_params_b if sd.draft_params_b else np.nan,
                    spec_step_overhead_ms=sd.draft_step_overhead_ms)
        if sd.method == "draft-model":
            draft_id = catalogs.model_ids.resolve(sd.draft_model)
            if draft_id is None:
                errors.append(f"{loaded.where('techniques', 'speculative_decoding', 'draft_model')}: "
                              f"{catalogs.model_ids.unknown_message(sd.draft_model)}")
            else:
                draft = catalogs.models.set_index("id").loc[draft_id]
                if float(draft.get("num_experts") or 0) > 0:
                    errors.append(f"{loaded.where('techniques', 'speculative_decoding', 'draft_model')}: "
                                  f"draft model '{draft_id}' is a mixture of experts; only dense draft models are modelled")
                cols["draft_model"] = draft_id
        if sd.method == "mtp" and not float(model.get("mtp_layers") or 0) >= 1:
            errors.append(f"{loaded.where('techniques', 'speculative_decoding', 'method')}: model '{model_id}' has no "
                          "multi-token-prediction module (models.csv mtp_layers); use eagle or draft-model")
        draft_tokens = tuple(sorted(set(sd.draft_tokens) | ({NO_SPECULATION} if sd.optional else set())))
    try:
        cols["prefix_hit_rate"] = prefix_hit_rate(loaded)
    except ProblemError as exc:
        errors.extend(exc.messages)
    try:
        images = image_tokens_per_request(loaded, catalogs, model_id)
    except ProblemError as exc:
        errors.extend(exc.messages)
        images = 0.0
    roles: tuple[str, ...] = ("whole",)
    dg = t.disaggregation
    if dg is not None:
        where = loaded.where("techniques", "disaggregation")
        p = loaded.problem
        if p.slo.ttft_p99_ms is None:
            errors.append(f"{where}: needs slo.ttft_p99_ms (the prefill pool's target; the decode pool gets TPOT and "
                          "the rest of the e2e budget)")
        elif p.slo.e2e_p99_ms is not None and p.slo.e2e_p99_ms <= p.slo.ttft_p99_ms:
            errors.append(f"{where}: slo.e2e_p99_ms ({p.slo.e2e_p99_ms:g}) leaves the decode pool no time after "
                          f"slo.ttft_p99_ms ({p.slo.ttft_p99_ms:g})")
        if p.workload.size_buckets is not None:
            errors.append(f"{where}: not combined with workload.size_buckets yet")
        if p.options.spot_region_fallback > 0:
            errors.append(f"{where}: not combined with options.spot_region_fallback yet")
        if p.options.measured_profile is not None:
            errors.append(f"{where}: a measured profile gives whole-request capacities only")
        if model.get("arch_type") == "encoder-decoder":
            errors.append(f"{where}: not modelled for encoder-decoder models")
        roles = (("whole",) if dg.optional else ()) + ("prefill", "decode")
    if errors:
        raise ProblemError(errors)
    cols["images_per_request"] = loaded.problem.workload.images_per_request  # the vision tower's passes
    return TechniqueColumns(cols, draft_tokens, cols["prefix_hit_rate"], images, roles,
                            dg.kv_transfer_gb_per_s if dg is not None else None)


def describe(loaded: LoadedProblem, columns: TechniqueColumns) -> list[str]:
    """One line per technique in use, for the plan's assumptions."""
    t = loaded.problem.techniques
    lines = []
    sd = t.speculative_decoding
    if sd is not None:
        draft = f" with draft model {columns.columns.get('draft_model')}" if sd.method == "draft-model" else ""
        ks = ", ".join(str(k) for k in columns.draft_tokens if k)
        lines.append(f"speculative decoding ({sd.method}{draft}): acceptance {sd.acceptance_rate:g} per token, draft lengths "
                     f"{ks}{' or none' if sd.optional else ''}, chosen per candidate; tokens per step "
                     "(1 - α^(k+1)) / (1 - α); "
                     + (f"{sd.draft_step_overhead_ms:g} ms fixed per draft step (measured)" if sd.draft_step_overhead_ms else
                        "draft steps at their roofline time with no fixed overhead: in spot checks against published "
                        "speed-ups this overstated EAGLE on an 8B model 1.4-1.8x and was within 10 % for DeepSeek-V3's "
                        "MTP (benchmarks/technique_spot_checks.py); set draft_step_overhead_ms from a measurement"))
    if t.prefix_caching is not None:
        how = "given" if t.prefix_caching.hit_rate is not None else f"measured on {t.prefix_caching.trace}"
        lines.append(f"prefix caching: {columns.prefix_hit_rate:.1%} of prompt tokens served from the cache ({how}); "
                     "prefill work and chunks scaled accordingly")
    if t.sparsity:
        lines.append("2:4 structured sparsity: transformer-block weights at 0.5 + 1/bits of their bytes, their GEMMs at 2x the "
                     "dense peak (NVIDIA Ampere or later only)")
    if t.kv_allocation == "static":
        lines.append(f"static KV allocation: every sequence reserves "
                     f"{int(columns.columns['max_seq_len']) if np.isfinite(columns.columns['max_seq_len']) else 'max_context'} tokens")
    if t.disaggregation is not None:
        lines.append(f"disaggregated prefill/decode: per cloud region a prefill pool (TTFT target; it emits the first token) "
                     f"and a decode pool (TPOT target, e2e less the TTFT target), sized so that the prefill pool's prompts/s "
                     f"cover the decode pool's requests/s in every period (and over non-spot instances when the spot rule "
                     f"applies; its capacity, not only its load: where min_replicas keeps decode capacity above demand, "
                     f"prefill is sized for it too); KV cache moved at {t.disaggregation.kv_transfer_gb_per_s:g} GB/s, not overlapped with "
                     "compute, within the cloud region (transfer traffic not priced)"
                     + ("; requests may also be served whole" if t.disaggregation.optional else ""))
    if columns.image_tokens_per_request:
        lines.append(f"images: {columns.image_tokens_per_request:g} image tokens added to every prompt "
                     f"({loaded.problem.workload.images_per_request:g} per request)")
    return lines
