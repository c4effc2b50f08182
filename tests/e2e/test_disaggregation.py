"""Disaggregated prefill/decode pools end to end: planned, priced by ``roi``, verified, tampering caught."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.cli import main

PROBLEM = """
name: dg-test
model: llama-3.1-70b
engine: vllm
workload:
  input_tokens:  {{mean: 1155, p50: 1020, p90: 2735, p99: 4142}}
  output_tokens: {{mean: 211,  p50: 129,  p90: 424,  p99: 601}}
  demand: {{profile: constant, rps: 20, period_hours: 24, horizon_hours: 24}}
{extra_workload}
slo:
{slo}
options:
  clouds: [gcp]
  gpus: [H100-SXM-80GB, A100-SXM-80GB]
  precisions: [fp8]
  tiers: [on-demand]
techniques:
  disaggregation: {{kv_transfer_gb_per_s: 43.5}}
"""
SLO = "  ttft_p99_ms: 1500\n  tpot_p99_ms: 35"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _write(tmp_path: Path, slo: str = SLO, extra_workload: str = "") -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(PROBLEM.format(slo=slo, extra_workload=extra_workload))
    return path


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dg")
    path = _write(tmp)
    result = run("solve", path, "--format", "json", "--no-baselines")
    assert result.exit_code == 0, result.output
    return path, json.loads(result.stdout)


def test_both_pools_are_bought_in_one_region(planned):
    _, plan = planned
    roles = {a["role"] for a in plan["assignments"]}
    assert {"prefill", "decode"} <= roles
    regions = {(a["cloud"], a["region"]) for a in plan["assignments"] if a["role"] != "whole"}
    for cloud, region in regions:
        mine = [a for a in plan["assignments"] if (a["cloud"], a["region"]) == (cloud, region)]
        for t in range(len(plan["periods"])):
            cap = {r: sum(a["instances_by_period"][t] * a["replicas_per_instance"] * a["capacity_rps_per_replica"]
                          for a in mine if a["role"] == r) for r in ("prefill", "decode")}
            assert cap["prefill"] >= cap["decode"] * (1 - 1e-9) > 0
    prefill = [a for a in plan["assignments"] if a["role"] == "prefill"]
    assert all(a["tpot_p99_ms"] is None and a["ttft_p99_ms"] <= 1500 for a in prefill)
    # placement counts requests where they finish: the decode pool's load is the demand
    served = sum(sum(p["load_rps_by_period"]) for p in plan["placement"])
    assert served == pytest.approx(sum(sum(p["demand_rps"].values()) for p in plan["periods"]), rel=1e-5)


def test_roi_prices_the_pools(planned):
    path, plan = planned
    out = json.loads(run("roi", path, "--technique", "disaggregation", "--format", "json").stdout)
    assert out["with"]["monthly_cost_usd"] == pytest.approx(plan["monthly_cost_usd"])
    assert out["saving_usd_per_month"] > 0  # tight TPOT: prompts no longer slow the decode batches
    assert all("pool" not in line for line in out["without"]["fleet"])


def test_verify_accepts_the_plan_and_catches_a_missing_prefill_pool(planned, tmp_path):
    path, plan = planned
    good = tmp_path / "plan.json"
    good.write_text(json.dumps(plan))
    result = run("verify", path, good)
    assert result.exit_code == 0, result.output
    starved = dict(plan, assignments=[a for a in plan["assignments"] if a["role"] != "prefill"])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(starved))
    result = run("verify", path, bad)
    assert result.exit_code != 0 and "pools" in result.output and "prefill pool 0.000" in result.output


def test_verify_catches_a_decode_pool_passed_off_as_whole(planned, tmp_path):
    path, plan = planned
    changed = json.loads(json.dumps(plan))
    decode = next(a for a in changed["assignments"] if a["role"] == "decode")
    decode["role"] = "whole"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(changed))
    result = run("verify", path, bad)
    assert result.exit_code != 0 and "capacity" in result.output


def test_verify_catches_a_prefill_pool_with_no_prompts(planned, tmp_path):
    path, plan = planned
    changed = json.loads(json.dumps(plan))
    for a in changed["assignments"]:
        if a["role"] == "prefill":
            a["load_rps_by_period"] = [0.0] * len(a["load_rps_by_period"])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(changed))
    result = run("verify", path, bad)
    assert result.exit_code != 0 and "prefill pool's prompts/s" in result.output


@pytest.mark.parametrize("slo, extra, message", [
    ("  tpot_p99_ms: 35", "", "needs slo.ttft_p99_ms"),
    (SLO + "\n  e2e_p99_ms: 1000", "", "leaves the decode pool no time"),
    (SLO, "  size_buckets: {input_tokens: [1024]}", "size_buckets"),
])
def test_unsupported_combinations_exit_3(tmp_path, slo, extra, message):
    result = run("solve", _write(tmp_path, slo=slo, extra_workload=extra), "--no-baselines")
    assert result.exit_code == 3 and message in result.output and "Traceback" not in result.output
