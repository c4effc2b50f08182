"""The problem's techniques as perf-model columns (planner.techniques): trace hit rates by hand,
validation against the catalogs, draft lengths per candidate."""

import json
from pathlib import Path

import pytest

from planner.catalog import load_catalogs
from planner.errors import ProblemError
from planner.problem import parse_problem
from planner.techniques import technique_columns, trace_hit_rate

TRACE = Path(__file__).resolve().parents[1] / "data" / "traces" / "prefix_small.jsonl"
BASE = """
name: t
model: {model}
workload:
  input_tokens: {{mean: 500}}
  output_tokens: {{mean: 100}}
  demand: {{profile: constant, rps: 1}}
{workload_extra}
slo: {{tpot_p99_ms: 50}}
techniques:
{techniques}
"""


def _loaded(techniques: str, model: str = "llama-3.1-8b", workload_extra: str = "", path: Path | None = None):
    text = BASE.format(model=model, techniques=techniques, workload_extra=workload_extra)
    return parse_problem(text, path or Path("/tmp/problem.yaml"))


def _lines():
    return [json.loads(x) for x in TRACE.read_text().splitlines()]


def test_trace_hit_rate_unbounded_by_hand():
    # hits: 0 + 2 blocks (1024) + 1 block (512; block 4 is new, the run stops) + 0 = 1536 of 3460 tokens
    assert trace_hit_rate(_lines(), 512) == pytest.approx(1536 / 3460)


def test_trace_hit_rate_with_an_lru_cache_by_hand():
    # 2 blocks of cache: after the second request {2, 3} remain (1 evicted), so the third misses
    assert trace_hit_rate(_lines(), 512, cache_tokens=1024) == pytest.approx(1024 / 3460)
    assert trace_hit_rate(_lines(), 512, cache_tokens=0) == 0.0


def test_trace_errors_name_the_line():
    with pytest.raises(ValueError, match="line 2"):
        trace_hit_rate([{"input_length": 5, "hash_ids": [1]}, {"input_length": 5}], 512)
    with pytest.raises(ValueError, match="line 1: hash_ids must be integers or strings"):
        trace_hit_rate([{"input_length": 5, "hash_ids": [[1]]}], 512)
    with pytest.raises(ValueError, match="finite"):
        trace_hit_rate([{"input_length": float("inf"), "hash_ids": [1]}], 512)


def test_problem_trace_is_replayed(tmp_path):
    trace = tmp_path / "t.jsonl"
    trace.write_text(TRACE.read_text())
    loaded = _loaded("  prefix_caching: {trace: t.jsonl}", path=tmp_path / "p.yaml")
    cols = technique_columns(loaded, load_catalogs(), "llama-3.1-8b")
    assert cols.prefix_hit_rate == pytest.approx(1536 / 3460)
    assert cols.columns["prefix_hit_rate"] == cols.prefix_hit_rate


def test_bad_trace_is_a_problem_error(tmp_path):
    (tmp_path / "t.jsonl").write_text('{"input_length": 5, "hash_ids": [1]}\nnot json\n')
    loaded = _loaded("  prefix_caching: {trace: t.jsonl}", path=tmp_path / "p.yaml")
    with pytest.raises(ProblemError, match="prefix_caching.trace.*line 2"):
        technique_columns(loaded, load_catalogs(), "llama-3.1-8b")
    with pytest.raises(ProblemError, match="not found|No such file|cannot read"):
        technique_columns(_loaded("  prefix_caching: {trace: missing.jsonl}", path=tmp_path / "p.yaml"),
                          load_catalogs(), "llama-3.1-8b")


def test_draft_lengths_include_none_when_optional():
    spec = "  speculative_decoding: {method: eagle, acceptance_rate: 0.7, draft_tokens: [4, 2]}"
    assert technique_columns(_loaded(spec), load_catalogs(), "llama-3.1-8b").draft_tokens == (0, 2, 4)
    forced = "  speculative_decoding: {method: eagle, acceptance_rate: 0.7, draft_tokens: [3], optional: false}"
    assert technique_columns(_loaded(forced), load_catalogs(), "llama-3.1-8b").draft_tokens == (3,)
    assert technique_columns(_loaded("  kv_allocation: paged"), load_catalogs(), "llama-3.1-8b").draft_tokens == (0,)


def test_techniques_that_do_not_apply_are_reported_together():
    catalogs = load_catalogs()
    spec = ("  speculative_decoding: {method: draft-model, draft_model: llama-3.2-1bb, acceptance_rate: 0.6}\n"
            "  prefix_caching: {hit_rate: 0.3}")
    with pytest.raises(ProblemError) as exc:
        technique_columns(_loaded(spec, workload_extra="  images_per_request: 1"), catalogs, "llama-3.1-8b")
    text = "\n".join(exc.value.messages)
    assert "draft_model" in text and "did you mean" in text and "llama-3.2-1b" in text
    assert "images_per_request" in text and "takes no images" in text
    with pytest.raises(ProblemError, match="multi-token-prediction"):
        technique_columns(_loaded("  speculative_decoding: {method: mtp, acceptance_rate: 0.8}"), catalogs, "llama-3.1-8b")


def test_image_tokens_are_per_request():
    cols = technique_columns(_loaded("  kv_allocation: paged", model="llava-1.5-7b",
                                     workload_extra="  images_per_request: 2"), load_catalogs(), "llava-1.5-7b")
    assert cols.image_tokens_per_request == 2 * 576


@pytest.mark.parametrize("spec, message", [
    ("  speculative_decoding: {method: draft-model, acceptance_rate: 0.6}", "draft_model is needed"),
    ("  speculative_decoding: {method: eagle, acceptance_rate: 1.0}", "less than 1"),
    ("  speculative_decoding: {method: eagle, acceptance_rate: 0.5, draft_tokens: [0]}", "1..16"),
    ("  prefix_caching: {hit_rate: 0.3, trace: x.jsonl}", "one of them"),
    ("  sparsity: '2:8'", "2:4"),
])
def test_schema_errors(spec, message):
    with pytest.raises(ProblemError, match=message):
        _loaded(spec)
