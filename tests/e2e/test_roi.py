"""``planner roi``: the problem solved with and without a technique, end to end through the CLI."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.cli import main

PROBLEM = """
name: roi-test
model: llama-3.1-8b
engine: vllm
workload:
  input_tokens: {{mean: 300}}
  output_tokens: {{mean: 200}}
  demand: {{profile: constant, rps: {rps}, period_hours: 24, horizon_hours: 24}}
slo:
  tpot_p99_ms: {tpot}
options:
  clouds: [aws]
  gpus: [H100-SXM-80GB]
  precisions: {precisions}
  tiers: [on-demand]
{techniques}
"""
SPEC = """techniques:
  speculative_decoding: {method: eagle, acceptance_rate: 0.76, draft_tokens: [3], draft_params_b: 0.425}
"""


def _write(tmp_path: Path, tpot=12, rps=20, precisions="[bf16]", techniques=SPEC, name="p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(PROBLEM.format(tpot=tpot, rps=rps, precisions=precisions, techniques=techniques))
    return path


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _solve(path: Path) -> dict:
    result = run("solve", path, "--format", "json", "--no-baselines")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_saving_is_the_difference_of_the_two_plans(tmp_path):
    path = _write(tmp_path)
    result = run("roi", path, "--technique", "spec-decoding", "--engineering-cost", "10000", "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    with_plan = _solve(path)
    without_plan = _solve(_write(tmp_path, techniques="", name="without.yaml"))
    assert out["with"]["monthly_cost_usd"] == pytest.approx(with_plan["monthly_cost_usd"])
    assert out["without"]["monthly_cost_usd"] == pytest.approx(without_plan["monthly_cost_usd"])
    saving = without_plan["monthly_cost_usd"] - with_plan["monthly_cost_usd"]
    assert saving > 0  # at 12 ms TPOT speculation lets one H100 carry what takes three without
    assert out["saving_usd_per_month"] == pytest.approx(saving)
    assert out["payback_months"] == pytest.approx(10000 / saving)
    assert out["net_usd_over_12_months"] == pytest.approx(12 * saving - 10000)
    assert any(a["speculative_draft_tokens"] == 3 for a in with_plan["assignments"])
    assert all(a["speculative_draft_tokens"] == 0 for a in without_plan["assignments"])
    text = run("roi", path, "--technique", "spec-decoding", "--engineering-cost", "10000").stdout
    assert "payback" in text and "speculative k=3" in text


def test_a_technique_that_makes_the_slo_reachable(tmp_path):
    # 3 ms TPOT: above the engine's per-step overhead on one token, reachable with ~2.8 tokens per step
    result = run("roi", _write(tmp_path, tpot=3, rps=1), "--technique", "spec-decoding", "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["without"]["status"] == "infeasible" and "TPOT" in " ".join(out["without"]["reason"])
    assert out["with"]["status"] in ("optimal", "feasible")
    assert "needed" in out["verdict"]


def test_quantisation_roi_compares_precisions(tmp_path):
    out = json.loads(run("roi", _write(tmp_path, techniques=""), "--technique", "fp8", "--format", "json").stdout)
    assert out["with"]["settings"] == {"options.precisions": ["bf16", "fp8"]}
    assert out["without"]["settings"] == {"options.precisions": ["bf16"]}
    assert out["saving_usd_per_month"] >= -1e-6  # a superset of choices never costs more


@pytest.mark.parametrize("technique, precisions, techniques, message", [
    ("spec-decod", "[bf16]", "", "did you mean 'spec-decoding'"),
    ("prefix-caching", "[bf16]", "", "techniques.prefix_caching is not in the problem"),
    ("fp8", "[fp8]", "", "only [fp8]"),
    ("engine:vllm", "[bf16]", "", "already uses vllm"),
    ("engine:tgi", "[bf16]", "", "unknown engine"),
])
def test_bad_requests_exit_3(tmp_path, technique, precisions, techniques, message):
    result = run("roi", _write(tmp_path, precisions=precisions, techniques=techniques), "--technique", technique)
    assert result.exit_code == 3
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("draft_tokens, check", [(0, "capacity"), (5, "speculative")])
def test_verify_catches_a_changed_draft_length(tmp_path, draft_tokens, check):
    path = _write(tmp_path)
    plan = _solve(path)
    assert plan["assignments"][0]["speculative_draft_tokens"] == 3
    plan["assignments"][0]["speculative_draft_tokens"] = draft_tokens
    tampered = tmp_path / "plan.json"
    tampered.write_text(json.dumps(plan))
    result = run("verify", path, tampered)
    assert result.exit_code != 0
    assert check in result.output


def test_estimate_takes_technique_columns(tmp_path):
    batch = tmp_path / "b.csv"
    batch.write_text(
        "model,gpu,scenario,concurrency,input_len,output_len,spec_method,spec_draft_tokens,spec_acceptance,draft_model,"
        "prefix_hit_rate,images_per_request\n"
        "llama-3.1-8b,H100-SXM-80GB,fixed_batch,1,512,256,,,,,,\n"
        "llama-3.1-8b,H100-SXM-80GB,fixed_batch,1,512,256,eagle,3,0.76,,,\n"
        "llama-3.1-70b,H100-SXM-80GB,fixed_batch,1,512,256,draft-model,4,0.7,llama-3.2-1bb,,\n"
        "llama-3.1-8b,H100-SXM-80GB,fixed_batch,1,512,256,,,,,0.5,\n"
        "llava-1.5-7b,L4,fixed_batch,1,60,100,,,,,,1\n"
        "llava-1.5-7b,L4,fixed_batch,1,636,100,,,,,,\n"
        "llama-3.1-8b,L4,fixed_batch,1,60,100,,,,,,1\n")
    result = run("estimate", "--batch", batch, "--format", "json")
    rows = json.loads(result.stdout)
    assert rows[1]["tpot_ms"] < 0.6 * rows[0]["tpot_ms"]  # 2.8 tokens per step at batch 1
    assert "did you mean" in rows[2]["error"] and "llama-3.2-1b" in rows[2]["error"]
    assert rows[3]["ttft_ms"] < rows[0]["ttft_ms"]  # half the prompt from the prefix cache
    assert rows[4]["ttft_ms"] >= rows[5]["ttft_ms"] - 1e-9  # one image = 576 more prompt tokens (+ its vision tower)
    assert "takes no images" in rows[6]["error"]
    assert result.exit_code == 0  # --batch: row errors are in the rows


def test_a_higher_hit_rate_never_costs_more(tmp_path):
    path = _write(tmp_path, tpot=40, rps=40, techniques="techniques:\n  prefix_caching: {hit_rate: 0.0}\n")
    text = path.read_text().replace("slo:\n", "slo:\n  ttft_p99_ms: 150\n")
    path.write_text(text)
    result = run("sweep", path, "--set", "techniques.prefix_caching.hit_rate=0,0.3,0.6,0.9", "--format", "json",
                 "--backend", "sequential")
    assert result.exit_code == 0, result.output
    costs = [r["monthly_cost_usd"] for r in json.loads(result.stdout)]
    assert all(b <= a * 1.005 + 1e-6 for a, b in zip(costs, costs[1:])), costs  # within the MIP gap
    assert costs[-1] < costs[0]


def test_optional_speculation_never_costs_more(tmp_path):
    """``optional: true`` keeps the configurations without speculation: at a loose TPOT, where large
    compute-bound batches make speculation slower, the plan with the technique must not cost more."""
    path = _write(tmp_path, tpot=200, rps=100)
    out = json.loads(run("roi", path, "--technique", "spec-decoding", "--format", "json").stdout)
    assert out["saving_usd_per_month"] >= -1e-6 * out["without"]["monthly_cost_usd"]
    candidates = run("candidates", path, "--format", "csv").stdout
    ids = [line.split(",")[0] for line in candidates.splitlines()[1:] if line]
    assert ids and all("/sd" not in c for c in ids)  # here every kept configuration is without speculation
