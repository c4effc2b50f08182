"""The CLI end to end through click's runner: contracts, exit codes, and bad inputs."""

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from planner.cli import main

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "problems" / "quickstart.yaml"
CALIBRATION = ROOT.parent / "shared" / "calibration" / "benchmarks.csv"


def run(*args):
    args = [str(a) for a in args]
    if args[:1] == ["solve"] and "--baselines" not in args:
        args.append("--no-baselines")  # baselines have their own tests (test_baselines.py); they re-solve per GPU type
    return CliRunner().invoke(main, args)


def no_traceback(result):
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in text
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.fixture(scope="module")
def quickstart_plan(tmp_path_factory):
    out = tmp_path_factory.mktemp("plan") / "plan.json"
    result = run("solve", QUICKSTART, "--format", "json", "-o", out)
    assert result.exit_code == 0, result.output
    return out


def test_solve_json_has_the_contract_keys(quickstart_plan):
    plan = json.loads(quickstart_plan.read_text())
    for key in ("schema_version", "status", "objective_usd", "horizon_hours", "monthly_cost_usd", "solver",
                "catalog_fingerprint", "assignments", "periods", "cost_breakdown"):
        assert key in plan
    assert plan["status"] in ("optimal", "feasible")
    assert set(plan["solver"]) >= {"name", "gap", "time_s"}
    a = plan["assignments"][0]
    for key in ("candidate_id", "cloud", "region", "instance_type", "gpu", "gpus_per_replica", "model", "precision",
                "tp", "pp", "max_batch", "tier", "replicas_by_period", "capacity_rps_per_replica",
                "price_usd_per_replica_hour", "cost_usd"):
        assert key in a
    assert {"index", "hours", "demand_rps", "capacity_rps"} <= set(plan["periods"][0])
    assert plan["monthly_cost_usd"] == pytest.approx(plan["objective_usd"] * 730 / plan["horizon_hours"])


def test_verify_accepts_the_plan(quickstart_plan):
    result = run("verify", QUICKSTART, quickstart_plan)
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output


def test_verify_rejects_a_tampered_plan(quickstart_plan, tmp_path):
    plan = json.loads(quickstart_plan.read_text())
    for a in plan["assignments"]:
        a["instances_by_period"] = [0 for _ in a["instances_by_period"]]
        a["cost_usd"] = 0.0
    plan["objective_usd"] = 0.0
    plan["monthly_cost_usd"] = 0.0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(plan))
    result = run("verify", QUICKSTART, bad)
    assert result.exit_code == 4
    assert "FAIL demand" in result.output


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv"])
def test_solve_formats(fmt):
    result = run("solve", QUICKSTART, "--format", fmt)
    assert result.exit_code == 0, result.output
    if fmt == "table":
        assert "cost per month" in result.output and "What to buy" in result.output
    if fmt == "markdown":
        assert "## Assumptions" in result.output and "source" in result.output
    if fmt == "csv":
        assert result.stdout.startswith("period,")  # stdout carries only the document
    assert "verified independently" in result.stderr


def test_dump_lp(tmp_path):
    lp = tmp_path / "m.lp"
    result = run("solve", QUICKSTART, "--dump-lp", lp)
    assert result.exit_code == 0, result.output
    assert "demand" in lp.read_text()


def test_validate_and_candidates():
    assert run("validate", QUICKSTART).exit_code == 0
    result = run("candidates", QUICKSTART, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("candidate_id,")


def _write(tmp_path, text, name="p.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    "edit, expected",
    [
        (("name: quickstart", "name: [broken"), "malformed YAML"),
        (("engine: vllm", "engine: vllm\nflavour: x"), "unknown field"),
        (("model: llama-3.1-8b", "model: llama-3.1-8"), "did you mean 'llama-3.1-8b'"),
        (("rps: 5", "rps: 0"), "greater than 0"),
        (("rps: 5", "rps: -3"), "greater than 0"),
        (("gpus: [L4-24GB,", "gpus: [H101,"), "unknown gpu 'H101'"),
        (("{us-east: 1.0}", "{us-eastt: 1.0}"), "did you mean 'us-east'"),
        (("rps: 5", "rps: .inf"), "finite number"),
        (("gpus: [L4-24GB, A10G-24GB, L40S-48GB, H100-SXM-80GB]", "gpus: []"), "gpus is empty"),
    ],
)
def test_bad_input_exit_3_one_line(tmp_path, edit, expected):
    text = QUICKSTART.read_text()
    assert edit[0] in text
    result = run("solve", _write(tmp_path, text.replace(*edit)))
    assert result.exit_code == 3, result.output
    assert expected in result.output
    no_traceback(result)


def test_missing_problem_file_exit_3(tmp_path):
    result = run("solve", tmp_path / "nope.yaml")
    assert result.exit_code == 3
    assert "file not found" in result.output


def test_impossible_slo_exit_4(tmp_path):
    text = QUICKSTART.read_text().replace("ttft_p99_ms: 2000", "ttft_p99_ms: 1")
    result = run("solve", _write(tmp_path, text))
    assert result.exit_code == 4, result.output
    assert "SLO" in result.output
    no_traceback(result)


def test_estimate_single_and_unknown_gpu():
    ok = run("estimate", "--model", "llama-3.1-8b", "--gpu", "h100", "--precision", "bf16", "--scenario", "offline",
             "--input-len", "128", "--output-len", "128", "--format", "json")
    assert ok.exit_code == 0, ok.output
    row = json.loads(ok.stdout)[0]
    assert row["fits"] is True and row["throughput_out_tok_s"] > 0
    bad = run("estimate", "--model", "llama-3.1-8b", "--gpu", "H1000")
    assert bad.exit_code == 3 and "did you mean" in bad.output


@pytest.mark.skipif(not CALIBRATION.exists(), reason="shared/calibration not beside the checkout")
def test_estimate_batch_on_the_calibration_file(tmp_path):
    out = tmp_path / "est.csv"
    result = run("estimate", "--batch", CALIBRATION, "-o", out)
    assert result.exit_code == 0, result.output
    est = pd.read_csv(out, keep_default_na=False)
    assert len(est) == len(pd.read_csv(CALIBRATION))
    assert (est["error"] == "").all(), est.loc[est["error"] != "", "error"].head().tolist()
    assert (est["throughput_out_tok_s"].astype(float) > 0).all()


def test_estimate_batch_bad_rows_keep_others(tmp_path):
    csv = _write(tmp_path, "model,gpu,precision,scenario,input_len,output_len,extra\n"
                           "llama-3.1-8b,H100-SXM-80GB,bf16,offline,128,128,keep\n"
                           "llama-9,H100-SXM-80GB,bf16,offline,128,128,x\n"
                           "llama-3.1-8b,A100-SXM-80GB,bf17,offline,-5,128,y\n", "b.csv")
    result = run("estimate", "--batch", csv, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows[0]["error"] == "" and rows[0]["extra"] == "keep"
    assert "unknown model 'llama-9'" in rows[1]["error"]
    assert "precision" in rows[2]["error"] and "input_len" in rows[2]["error"]


def test_catalog_and_schema():
    result = run("catalog", "gpus")
    assert result.exit_code == 0 and "H100-SXM-80GB" in result.output
    offers = run("catalog", "offers", "--gpu", "a100-80gb", "--format", "csv")
    assert offers.exit_code == 0 and "A100-SXM-80GB" in offers.output
    schema = json.loads(run("schema").stdout)
    assert "workload" in schema["properties"]


@pytest.mark.skipif(not CALIBRATION.exists(), reason="shared/calibration not beside the checkout")
def test_fidelity_reports_every_source():
    result = run("fidelity", "--by", "source", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    sources = {r["group"] for r in rows if r["group_by"] == "source" and r["metric"] == "throughput"}
    assert len(sources) == 4
    overall = [r for r in rows if r["group_by"] == "all" and r["metric"] == "throughput"][0]
    assert overall["rows"] == 768 and 0 < overall["median_ape"] < 50


def test_fidelity_bad_grouping_exit_3():
    result = run("fidelity", "--by", "colour", "--data", CALIBRATION)
    assert result.exit_code == 3


def _tamper(plan_path, tmp_path, edit):
    plan = json.loads(plan_path.read_text())
    edit(plan)
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(plan))
    return run("verify", QUICKSTART, bad)


@pytest.mark.parametrize(
    "name, edit, failed_check",
    [
        ("replicas", lambda p: p["assignments"][0].update(replicas_per_instance=10), "layout"),
        ("precision", lambda p: p["assignments"][0].update(precision="int4"), "precision"),
        ("batch", lambda p: p["assignments"][0].update(max_batch=100), "max_batch"),
        ("tier", lambda p: p["assignments"][0].update(tier="api"), "tier"),
        ("unit cost", lambda p: p.update(cost_per_1k_requests_usd=0.001), "unit_costs"),
        ("horizon", lambda p: p.update(horizon_hours=1.0), "horizon"),
        ("duplicate", lambda p: p["assignments"].append(p["assignments"][0]), "assignments"),
    ],
)
def test_verify_catches_tampering(quickstart_plan, tmp_path, name, edit, failed_check):
    result = _tamper(quickstart_plan, tmp_path, edit)
    assert result.exit_code == 4, result.output
    assert f"FAIL {failed_check}" in result.output
    no_traceback(result)


@pytest.mark.parametrize("args", [["--gap", "2"], ["--gap", "nan"], ["--time-limit", "-1"]])
def test_bad_solver_flags_are_usage_errors(args):
    assert run("solve", QUICKSTART, *args).exit_code == 2


def test_unwritable_output_exit_3(tmp_path):
    result = run("solve", QUICKSTART, "-o", tmp_path / "missing" / "plan.json")
    assert result.exit_code == 3 and "cannot write" in result.output


def test_no_offer_for_the_users_exit_4(tmp_path):
    text = QUICKSTART.read_text().replace("{us-east: 1.0}", "{sa: 1.0}").replace("clouds: [aws, gcp]", "clouds: [lambda]")
    result = run("solve", _write(tmp_path, text))
    assert result.exit_code == 4
    assert "no cloud offer matches" in result.output and "sa" in result.output
    assert "SLO" not in result.output  # the reason is placement, not latency


def test_quota_is_respected_and_verified(tmp_path):
    text = QUICKSTART.read_text().replace(
        "  headroom: 0.15", "  headroom: 0.15\n  quotas:\n    - {cloud: aws, gpu: L40S-48GB, max_gpus: 0}")
    problem = _write(tmp_path, text)
    out = tmp_path / "plan.json"
    assert run("solve", problem, "--format", "json", "-o", out).exit_code == 0
    plan = json.loads(out.read_text())
    assert not any(a["cloud"] == "aws" and a["gpu"] == "L40S-48GB" for a in plan["assignments"])
    assert run("verify", problem, out).exit_code == 0
    # the unconstrained plan uses that GPU, so the quota changed the answer and verify must catch a breach
    free = json.loads(run("solve", QUICKSTART, "--format", "json").stdout)
    assert any(a["cloud"] == "aws" and a["gpu"] == "L40S-48GB" for a in free["assignments"])
    breach = tmp_path / "free.json"
    breach.write_text(json.dumps(free))
    result = run("verify", problem, breach)
    assert result.exit_code == 4 and "FAIL quota" in result.output


def test_quota_with_unknown_ids_exit_3(tmp_path):
    text = QUICKSTART.read_text().replace(
        "  headroom: 0.15", "  headroom: 0.15\n  quotas:\n    - {cloud: awz, max_gpus: 1}\n    - {cloud: aws, gpu: L41S, max_gpus: 1}")
    result = run("solve", _write(tmp_path, text))
    assert result.exit_code == 3
    assert "did you mean 'aws'" in result.output and "did you mean 'L40S-48GB'" in result.output


def _api_problem(tmp_path, tiers="[reserved-1y, on-demand, spot, api]", extra=""):
    text = QUICKSTART.read_text().replace("tiers: [reserved-1y, on-demand, spot]", f"tiers: {tiers}")
    if tiers == "[api]":  # nothing to buy, so no minimum of replicas either
        text = text.replace("min_replicas: 2", "min_replicas: 0")
    return _write(tmp_path, text.replace("  headroom: 0.15", "  headroom: 0.15" + extra))


@pytest.mark.parametrize("tiers", ["[reserved-1y, on-demand, spot, api]", "[api]"])
def test_api_tier_plans_verify_and_are_never_dearer(tmp_path, tiers):
    problem = _api_problem(tmp_path, tiers)
    out = tmp_path / "plan.json"
    assert run("solve", problem, "--format", "json", "-o", out).exit_code == 0
    plan = json.loads(out.read_text())
    assert plan["api"] and plan["cost_breakdown"]["api"] > 0
    assert run("verify", problem, out).exit_code == 0
    if tiers.startswith("[reserved"):  # adding an option never raises the cost
        base = json.loads(run("solve", QUICKSTART, "--format", "json").stdout)
        assert plan["monthly_cost_usd"] <= base["monthly_cost_usd"] * (1 + 1e-6)
    plan["api"][0]["cost_usd"] *= 0.5
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(plan))
    result = run("verify", problem, bad)
    assert result.exit_code == 4 and "FAIL cost" in result.output


def test_api_share_cap_and_unknown_provider(tmp_path):
    problem = _api_problem(tmp_path, extra="\n  max_api_share: 0.25")
    out = tmp_path / "plan.json"
    assert run("solve", problem, "--format", "json", "-o", out).exit_code == 0
    plan = json.loads(out.read_text())
    assert max(plan["api"][0]["rps_by_period"]) <= 0.25 * 5.0 + 1e-9
    assert run("verify", problem, out).exit_code == 0
    bad = _api_problem(tmp_path, extra="\n  api_provider: Grok")
    result = run("solve", bad)
    assert result.exit_code == 3 and "did you mean 'Groq'" in result.output


def test_api_rows_cannot_split_a_region_past_its_cap(tmp_path):
    problem = _api_problem(tmp_path, extra="\n  max_api_share: 0.2")
    out = tmp_path / "plan.json"
    assert run("solve", problem, "--format", "json", "-o", out).exit_code == 0
    plan = json.loads(out.read_text())
    row = dict(plan["api"][0])
    row["rps_by_period"] = [0.15 * 5.0] * len(row["rps_by_period"])
    plan["api"] = [row, dict(row)]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(plan))
    result = run("verify", problem, bad)
    assert result.exit_code == 4 and "FAIL api" in result.output


def test_api_requests_are_billed_at_the_mean_rate(tmp_path):
    text = (ROOT / "problems" / "rag-8b.yaml").read_text().replace("tiers: [reserved-1y, on-demand, spot]", "tiers: [api]")
    text = text.replace("min_replicas: 2", "min_replicas: 0")
    problem = tmp_path / "rag.yaml"
    problem.write_text(text)
    (tmp_path / "data").symlink_to(ROOT / "problems" / "data")
    out = tmp_path / "plan.json"
    assert run("solve", problem, "--format", "json", "-o", out).exit_code == 0
    plan = json.loads(out.read_text())
    billed = sum(a["requests"] for a in plan["api"])
    assert billed == pytest.approx(plan["requests_in_horizon"], rel=1e-6)  # all traffic, counted once
    assert run("verify", problem, out).exit_code == 0


def test_quota_below_every_instance_is_explained(tmp_path):
    text = QUICKSTART.read_text().replace("clouds: [aws, gcp]", "clouds: [azure]").replace(
        "gpus: [L4-24GB, A10G-24GB, L40S-48GB, H100-SXM-80GB]", "gpus: [H100-SXM-80GB]")
    text = text.replace("  headroom: 0.15", "  headroom: 0.15\n  quotas:\n    - {cloud: azure, max_gpus: 4}")
    result = run("solve", _write(tmp_path, text))
    assert result.exit_code == 4
    assert "below the smallest instance it covers (8 GPUs)" in result.output
    no_traceback(result)


def _two_continents(tmp_path, extra=""):
    text = QUICKSTART.read_text().replace("user_regions: {us-east: 1.0}", "user_regions: {us-east: 0.5, eu-west: 0.5}")
    return _write(tmp_path, text.replace("  headroom: 0.15", "  headroom: 0.15\n  placement: any" + extra))


def test_residency_keeps_eu_users_in_europe_and_verify_checks_it(tmp_path):
    free_path = _two_continents(tmp_path)
    free = json.loads(run("solve", free_path, "--format", "json").stdout)
    # without rules (placement: any) some instance serves both continents
    assert any(len(a["serves_user_regions"]) == 2 for a in free["assignments"])
    rule = ("\n  residency:\n    - {users: [eu-west], continents: [europe]}"
            "\n    - {users: [us-east], continents: [north-america]}")
    (tmp_path / "rule").mkdir()
    problem = _two_continents(tmp_path / "rule", rule)
    out = tmp_path / "plan.json"
    assert run("solve", problem, "--format", "json", "-o", out).exit_code == 0
    plan = json.loads(out.read_text())
    for a in plan["assignments"]:
        assert a["serves_user_regions"] == (["eu-west"] if a["geo"].startswith("eu-") else ["us-east"]), a
    assert any(a["geo"].startswith("eu-") for a in plan["assignments"])
    assert plan["monthly_cost_usd"] >= free["monthly_cost_usd"] * (1 - 1e-9)
    assert run("verify", problem, out).exit_code == 0
    breach = tmp_path / "free.json"
    breach.write_text(json.dumps(free))
    result = run("verify", problem, breach)
    assert result.exit_code == 4 and "FAIL demand" in result.output


def test_residency_with_unknown_names_exit_3(tmp_path):
    problem = _two_continents(tmp_path, "\n  residency:\n    - {users: [eu-wst], continents: [europa]}")
    result = run("solve", problem)
    assert result.exit_code == 3
    assert "did you mean 'eu-west'" in result.output and "did you mean 'europe'" in result.output


def test_min_regions_spreads_replicas_and_verify_checks_it(tmp_path):
    base = json.loads(run("solve", QUICKSTART, "--format", "json").stdout)
    assert len({(a["cloud"], a["region"]) for a in base["assignments"]}) == 1
    problem = _write(tmp_path, QUICKSTART.read_text().replace("  headroom: 0.15", "  headroom: 0.15\n  min_regions: 2"))
    out = tmp_path / "plan.json"
    assert run("solve", problem, "--format", "json", "-o", out).exit_code == 0
    plan = json.loads(out.read_text())
    for t in range(len(plan["periods"])):
        up = {(a["cloud"], a["region"]) for a in plan["assignments"] if a["instances_by_period"][t] > 0}
        assert len(up) >= 2, t
    assert plan["monthly_cost_usd"] >= base["monthly_cost_usd"]
    assert run("verify", problem, out).exit_code == 0
    breach = tmp_path / "base.json"
    breach.write_text(json.dumps(base))
    result = run("verify", problem, breach)
    assert result.exit_code == 4 and "FAIL min_regions" in result.output
    impossible = _write(tmp_path, QUICKSTART.read_text().replace("  headroom: 0.15", "  headroom: 0.15\n  min_regions: 40"))
    result = run("solve", impossible)
    assert result.exit_code == 4 and "min_regions = 40 cannot be met" in result.output


def test_network_rtt_caps_placement_and_counts_against_ttft(tmp_path):
    text = QUICKSTART.read_text().replace("  headroom: 0.15", "  headroom: 0.15\n  placement: any\n  max_rtt_ms: 20")
    out = tmp_path / "plan.json"
    problem = _write(tmp_path, text)
    assert run("solve", problem, "--format", "json", "-o", out).exit_code == 0
    plan = json.loads(out.read_text())
    assert {a["geo"] for a in plan["assignments"]} == {"us-east"}  # us-east -> us-east is 8 ms, the rest > 20
    assert any("lower by" in a and "up to 8 ms" in a for a in plan["assumptions"]), plan["assumptions"]
    assert run("verify", problem, out).exit_code == 0
    # a TTFT target the round trip alone nearly uses up leaves no configuration, and says why
    tight = _write(tmp_path, text.replace("ttft_p99_ms: 2000", "ttft_p99_ms: 9"))
    result = run("solve", tight)
    assert result.exit_code == 4 and "round trip takes 8 ms" in result.output


def test_estimate_says_when_it_falls_back_to_16_bit():
    result = run("estimate", "--model", "llama-3.1-8b", "--gpu", "A100-SXM-80GB", "--precision", "fp8",
                 "--input-len", "512", "--output-len", "128")
    assert result.exit_code == 0
    assert "A100-SXM-80GB has no fp8 tensor-core rate" in result.stderr
    assert "ShareGPT-like" not in result.stderr  # lengths were given
    hopper = run("estimate", "--model", "llama-3.1-8b", "--gpu", "H100-SXM-80GB", "--precision", "fp8")
    assert "tensor-core rate" not in hopper.stderr and "ShareGPT-like means assumed" in hopper.stderr


MIXED = QUICKSTART.parent / "mixed-sizes.yaml"


def test_size_buckets_plan_verifies_and_tampering_with_its_split_is_caught(tmp_path):
    out = tmp_path / "plan.json"
    assert run("solve", MIXED, "--format", "json", "-o", out).exit_code == 0
    plan = json.loads(out.read_text())
    assert len(plan["buckets"]) == 8 and abs(sum(b["share"] for b in plan["buckets"]) - 1) < 1e-9
    assert plan["bucket_split"] and all(a["capacity_rps_by_bucket"] for a in plan["assignments"])
    assert any("request-size buckets (8:" in a for a in plan["assumptions"])
    assert run("verify", MIXED, out).exit_code == 0
    # without buckets the same problem costs no less (any instance may take the whole mix as it comes)
    text = MIXED.read_text().replace("data/azure2023", str(MIXED.parent / "data" / "azure2023"))
    whole = _write(tmp_path, text.split("  size_buckets:")[0] + "  demand:" + text.split("  demand:")[1])
    base = json.loads(run("solve", whole, "--format", "json").stdout)
    assert plan["monthly_cost_usd"] <= base["monthly_cost_usd"] * (1 + 0.01)  # within the solver's 0.5 % gaps
    # an instance's time given twice over, or a bucket's share dropped, fails verification
    for edit, check in ((lambda p: p["bucket_split"][0].update(instances_by_period=[x * 3 + 5 for x in p["bucket_split"][0]["instances_by_period"]]), "demand"),
                        (lambda p: p.update(bucket_split=p["bucket_split"][1:]), "demand"),
                        (lambda p: p["buckets"][0].update(share=0.5), "buckets")):
        bad = json.loads(out.read_text())
        edit(bad)
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(bad))
        result = run("verify", MIXED, path)
        assert result.exit_code == 4 and f"FAIL {check}" in result.output, (check, result.output[-800:])


def test_size_buckets_are_validated(tmp_path):
    text = MIXED.read_text().replace("input_tokens: [512, 2048]", "input_tokens: [2048, 512]")
    result = run("solve", _write(tmp_path, text))
    assert result.exit_code == 3 and "size_buckets" in result.output and "must increase" in result.output
    no_traceback(result)


# A measured profile as a user would write it (hypothetical numbers for the test, not catalog facts).
PROFILE = """gpu,tp,precision,max_batch,input_tokens,output_tokens,capacity_rps
L4,1,fp8,32,,,1.5
H100-SXM-80GB,1,fp8,128,,,12
"""


def test_measured_profile_replaces_the_model_and_verify_reads_it_too(tmp_path):
    (tmp_path / "measured.csv").write_text(PROFILE)
    text = QUICKSTART.read_text().replace("  headroom: 0.15", "  headroom: 0.15\n  measured_profile: measured.csv")
    problem = _write(tmp_path, text)
    out = tmp_path / "plan.json"
    result = run("solve", problem, "--format", "json", "-o", out)
    assert result.exit_code == 0, result.output
    plan = json.loads(out.read_text())
    assert plan["assignments"]
    for a in plan["assignments"]:
        assert (a["gpu"], a["max_batch"], a["capacity_rps_per_replica"]) in {("L4-24GB", 32, 1.5), ("H100-SXM-80GB", 128, 12.0)}
        assert a["ttft_p99_ms"] is None  # measured at the SLO: no model figure
    need = 5 * 1.15
    assert all(p["capacity_rps"] >= need - 1e-9 for p in plan["periods"])
    assert run("verify", problem, out).exit_code == 0
    # the profile changes after planning: verify re-reads it and notices
    (tmp_path / "measured.csv").write_text(PROFILE.replace(",12\n", ",6\n").replace(",1.5\n", ",0.5\n"))
    result = run("verify", problem, out)
    assert result.exit_code == 4 and "FAIL capacity" in result.output


def test_measured_profile_errors_name_the_row_and_field(tmp_path):
    (tmp_path / "measured.csv").write_text("gpu,tp,precision,capacity_rps,input_tokens\nL4x,1,fp8,2,\nL4,0,fp9,-1,100\n")
    text = QUICKSTART.read_text().replace("  headroom: 0.15", "  headroom: 0.15\n  measured_profile: measured.csv")
    result = run("solve", _write(tmp_path, text))
    assert result.exit_code == 3
    for needle in ("measured.csv:2: gpu:", "did you mean", "measured.csv:3: precision:", "measured.csv:3: tp:", "measured.csv:3: capacity_rps:"):
        assert needle in result.output, (needle, result.output)
    no_traceback(result)


def test_platform_fees_are_in_the_objective_and_verified(tmp_path):
    base = json.loads(run("solve", QUICKSTART, "--format", "json").stdout)
    assert {a["cloud"] for a in base["assignments"]} == {"aws"}
    text = QUICKSTART.read_text().replace("  headroom: 0.15", "  headroom: 0.15\n  platform_fees:\n    - {cloud: aws, percent: 25}")
    problem, out = _write(tmp_path, text), tmp_path / "plan.json"
    assert run("solve", problem, "--format", "json", "-o", out).exit_code == 0
    plan = json.loads(out.read_text())
    # a 25 % markup on every AWS instance: no cheaper mix exists (the fee scales every candidate alike)
    fleet = lambda p: p["cost_breakdown"]["compute"] + p["cost_breakdown"]["platform"]  # storage is not marked up
    assert fleet(plan) == pytest.approx(fleet(base) * 1.25, rel=1e-9)
    assert plan["cost_breakdown"]["platform"] == pytest.approx(0.25 * plan["cost_breakdown"]["compute"], rel=1e-9)
    for a in plan["assignments"]:
        assert a["platform_fee_usd_per_instance_hour"] == pytest.approx(0.25 * a["price_usd_per_instance_hour"])
    assert run("verify", problem, out).exit_code == 0
    plan["assignments"][0]["platform_fee_usd_per_instance_hour"] = 0.0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(plan))
    result = run("verify", problem, bad)
    assert result.exit_code == 4 and "FAIL platform" in result.output
    typo = _write(tmp_path, text.replace("{cloud: aws,", "{cloud: awz,"))
    result = run("solve", typo)
    assert result.exit_code == 3 and "unknown cloud 'awz'" in result.output and "did you mean 'aws'" in result.output


def test_storage_is_in_the_plan_and_verified(quickstart_plan, tmp_path):
    plan = json.loads(quickstart_plan.read_text())
    stores = {(s["cloud"], s["region"], s["precision"]) for s in plan["storage"]}
    used = {(a["cloud"], a["region"], a["precision"]) for a in plan["assignments"]}
    assert stores == used and plan["cost_breakdown"]["storage"] == pytest.approx(sum(s["cost_usd"] for s in plan["storage"]))
    s = plan["storage"][0]
    assert s["cost_usd"] == pytest.approx(s["artifact_gb"] * s["usd_per_gb_month"] * plan["horizon_hours"] / 730)
    result = _tamper(quickstart_plan, tmp_path, lambda p: p.update(storage=[]))
    assert result.exit_code == 4 and "FAIL storage" in result.output


def test_egress_is_priced_per_cloud_and_verified(tmp_path):
    from planner.catalog import load_catalogs
    from planner.egress import egress_tiers, horizon_cost

    text = QUICKSTART.read_text().replace("  headroom: 0.15", "  headroom: 0.15\n  egress_bytes_per_token: 10000")
    problem, out = _write(tmp_path, text), tmp_path / "plan.json"
    assert run("solve", problem, "--format", "json", "-o", out).exit_code == 0
    plan = json.loads(out.read_text())
    (e,) = plan["egress"]
    assert e["cloud"] == "aws" and e["rps_by_period"] == pytest.approx([5.0] * 4)
    gb = 5.0 * 24 * 3600 * e["bytes_per_request"] / 1e9
    assert e["bytes_per_request"] == pytest.approx(plan["mean_output_tokens"] * 10000)
    assert e["gb"] == pytest.approx(gb)
    assert e["cost_usd"] == pytest.approx(horizon_cost(egress_tiers(load_catalogs().egress, "aws"), gb, 24.0)) and e["cost_usd"] > 0
    assert plan["cost_breakdown"]["egress"] == pytest.approx(e["cost_usd"])
    assert run("verify", problem, out).exit_code == 0
    plan["egress"][0]["rps_by_period"] = [1.0] * 4
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(plan))
    result = run("verify", problem, bad)
    assert result.exit_code == 4 and "FAIL egress" in result.output


def test_spot_availability_derates_spot_and_verify_checks_it(tmp_path):
    text = QUICKSTART.read_text().replace("  headroom: 0.15", "  headroom: 0.15\n  spot_availability:\n    - {cloud: aws, availability: 0.5}")
    problem, out = _write(tmp_path, text), tmp_path / "plan.json"
    assert run("solve", problem, "--format", "json", "-o", out).exit_code == 0
    plan = json.loads(out.read_text())
    for a in plan["assignments"]:
        assert a["availability"] == (0.5 if a["tier"] == "spot" else 1.0)
    counted = [sum(a["capacity_rps_per_replica"] * r * a["availability"] for a in plan["assignments"]
                   for r in [a["replicas_by_period"][t]]) for t in range(len(plan["periods"]))]
    assert [p["capacity_rps"] for p in plan["periods"]] == pytest.approx(counted)
    assert run("verify", problem, out).exit_code == 0
    spot = [a for a in plan["assignments"] if a["tier"] == "spot"]
    assert spot  # spot at half its capacity is still the cheapest share of the quickstart fleet
    spot[0]["availability"] = 1.0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(plan))
    result = run("verify", problem, bad)
    assert result.exit_code == 4 and "FAIL spot" in result.output
    typo = _write(tmp_path, text.replace("{cloud: aws,", "{gpu: H100x,"))
    result = run("solve", typo)
    assert result.exit_code == 3 and "spot_availability" in result.output


def test_spot_region_fallback_spreads_spot_and_verify_checks_it(tmp_path):
    base = json.loads(run("solve", QUICKSTART, "--format", "json").stdout)
    text = QUICKSTART.read_text().replace("  max_spot_share: 0.3", "  max_spot_share: 1.0\n  spot_region_fallback: 0.8")
    problem, out = _write(tmp_path, text), tmp_path / "plan.json"
    assert run("solve", problem, "--format", "json", "-o", out).exit_code == 0
    plan = json.loads(out.read_text())
    assert run("verify", problem, out).exit_code == 0
    assert any("spot fallback" in a for a in plan["assumptions"])
    # the quickstart plan puts all its spot in one region: under this rule it must fail verification
    assert len({(a["cloud"], a["region"]) for a in base["assignments"] if a["tier"] == "spot"}) == 1
    old = tmp_path / "base.json"
    old.write_text(json.dumps(base))
    result = run("verify", problem, old)
    assert result.exit_code == 4 and "FAIL spot" in result.output


def test_cold_starts_are_priced_on_the_plan_and_verified(tmp_path):
    text = (QUICKSTART.read_text()
            .replace("    profile: constant\n    rps: 5\n", "    profile: diurnal\n    peak_rps: 12\n    trough_rps: 2\n")
            .replace("  headroom: 0.15", "  headroom: 0.15\n  cold_start_minutes: 30"))
    problem, out = _write(tmp_path, text), tmp_path / "plan.json"
    assert run("solve", problem, "--format", "json", "-o", out).exit_code == 0, run("solve", problem).output
    plan = json.loads(out.read_text())
    expected = 0.0
    for a in plan["assignments"]:
        n = a["instances_by_period"]
        rises = 0 if a["tier"].startswith("reserved") else sum(max(0, n[t] - n[t - 1]) for t in range(len(n)))  # n[-1]: cyclic
        assert a["instance_starts"] == rises
        expected += rises * 0.5 * (a["price_usd_per_instance_hour"] + a["platform_fee_usd_per_instance_hour"])
    assert expected > 0 and plan["cost_breakdown"]["scale_up"] == pytest.approx(expected)
    assert run("verify", problem, out).exit_code == 0
    plan["cost_breakdown"]["scale_up"] = 0.0
    plan["objective_usd"] -= expected
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(plan))
    result = run("verify", problem, bad)
    assert result.exit_code == 4 and "FAIL" in result.output


def test_spot_fallback_keeps_candidates_of_every_region():
    problem = QUICKSTART.parents[1] / "tests" / "data" / "problems" / "fallback_across_regions.yaml"
    plan = json.loads(run("solve", problem, "--format", "json").stdout)
    spot_regions = {a["region"] for a in plan["assignments"] if a["tier"] == "spot"}
    assert len(spot_regions) >= 2  # full fallback (φ = 1): spot spread over regions beats all on-demand
    assert plan["cost_breakdown"]["compute"] == pytest.approx(1571.35, rel=1e-3)


def test_size_buckets_with_only_the_api_do_not_crash(tmp_path):
    text = MIXED.read_text().replace("data/azure2023", str(MIXED.parent / "data" / "azure2023")).replace(
        "  tiers: [on-demand]", "  tiers: [api, on-demand]").replace("gpus: [L4-24GB, A10G-24GB, A100-SXM-80GB, H100-SXM-80GB]", "gpus: [L4-24GB]").replace(
        "  min_replicas: 1", "  min_replicas: 0")
    problem, out = _write(tmp_path, text), tmp_path / "plan.json"
    result = run("solve", problem, "--format", "json", "-o", out)
    no_traceback(result)
    assert result.exit_code == 0, result.output
    plan = json.loads(out.read_text())
    assert plan["api"] and not plan["assignments"]  # the API is cheaper than L4 instances here: a plan without instances
    assert run("verify", problem, out).exit_code == 0
    api_only = _write(tmp_path, text.replace("  tiers: [api, on-demand]", "  tiers: [api]"))
    assert run("solve", api_only).exit_code == 0


def test_verify_rejects_egress_moved_to_a_cloud_without_the_capacity(tmp_path):
    problem = QUICKSTART.parents[1] / "tests" / "data" / "problems" / "egress_two_clouds.yaml"
    out = tmp_path / "plan.json"
    assert run("solve", problem, "--format", "json", "-o", out).exit_code == 0
    plan = json.loads(out.read_text())
    assert len(plan["egress"]) == 2
    assert run("verify", problem, out).exit_code == 0
    small = min(plan["egress"], key=lambda e: e["gb"])
    big = max(plan["egress"], key=lambda e: e["gb"])
    # all requests on the cloud with less capacity: totals still add up, capacity does not
    small["rps_by_period"] = [a + b for a, b in zip(small["rps_by_period"], big["rps_by_period"])]
    plan["egress"] = [small]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(plan))
    result = run("verify", problem, bad)
    assert result.exit_code == 4 and "FAIL egress" in result.output
