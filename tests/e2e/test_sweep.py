"""What-if sweeps and the cost/latency frontier: equal to individual solves, non-dominated points,
clear errors for bad settings, and the distributed (Dask) backend."""

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from planner.cli import main
from planner.problem import load_problem
from planner.scenarios import parse_setting, scenarios
from planner.sweep import frontier

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "problems" / "quickstart.yaml"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def swept():
    result = run("sweep", QUICKSTART, "--set", "workload.demand.rps=5,10", "--set", "options.max_spot_share=0,0.3",
                 "--format", "json", "--jobs", "2")
    assert result.exit_code == 0, result.output
    return pd.DataFrame(json.loads(result.stdout))


def test_sweep_runs_the_product_in_order(swept):
    assert swept["scenario"].tolist() == [0, 1, 2, 3]
    assert swept["workload.demand.rps"].tolist() == [5, 5, 10, 10]
    assert swept["options.max_spot_share"].tolist() == [0.0, 0.3, 0.0, 0.3]
    assert set(swept["status"]) <= {"optimal", "feasible"} and swept["slo_met"].all()


def test_sweep_rows_equal_individual_solves(swept, tmp_path):
    for _, row in swept.iterrows():
        text = QUICKSTART.read_text().replace("rps: 5\n", f"rps: {row['workload.demand.rps']}\n").replace(
            "max_spot_share: 0.3", f"max_spot_share: {row['options.max_spot_share']}")
        path = tmp_path / f"s{row['scenario']}.yaml"
        path.write_text(text)
        single = run("solve", path, "--no-baselines", "--format", "json")
        assert single.exit_code == 0, single.output
        assert json.loads(single.stdout)["monthly_cost_usd"] == pytest.approx(row["monthly_cost_usd"], rel=1e-9)


def test_a_stricter_spot_cap_never_costs_less(swept):
    for rps in (5, 10):
        rows = swept[swept["workload.demand.rps"] == rps].set_index("options.max_spot_share")["monthly_cost_usd"]
        assert rows[0.0] >= rows[0.3] * (1 - 1e-6)


def test_sequential_backend_gives_the_same_rows(swept):
    result = run("sweep", QUICKSTART, "--set", "workload.demand.rps=5,10", "--set", "options.max_spot_share=0,0.3",
                 "--format", "json", "--backend", "sequential")
    again = pd.DataFrame(json.loads(result.stdout))
    pd.testing.assert_frame_equal(again, swept)


def test_frontier_points_are_non_dominated_and_monotone(tmp_path):
    out = tmp_path / "all.json"
    result = run("frontier", QUICKSTART, "--vary", "slo.ttft_p99_ms=250:4000", "--points", "5", "--all", "--format", "json", "-o", out)
    assert result.exit_code == 0, result.output
    rows = pd.DataFrame(json.loads(out.read_text()))
    assert rows["slo.ttft_p99_ms"].tolist() == [250.0, 500.0, 1000.0, 2000.0, 4000.0]
    front = frontier(rows, "ttft_p99_ms")
    assert len(front) >= 2
    assert front["ttft_p99_ms"].is_monotonic_increasing and front["monthly_cost_usd"].is_monotonic_decreasing
    solved = rows[rows["status"].isin(["optimal", "feasible"])]
    for _, p in front.iterrows():  # no solved point is at most as dear and at most as slow, one strictly
        better = solved[(solved["monthly_cost_usd"] <= p["monthly_cost_usd"]) & (solved["ttft_p99_ms"] <= p["ttft_p99_ms"])
                        & ((solved["monthly_cost_usd"] < p["monthly_cost_usd"] * (1 - 1e-9)) | (solved["ttft_p99_ms"] < p["ttft_p99_ms"]))]
        assert better.empty
    # a looser TTFT target never costs more
    costs = rows.sort_values("slo.ttft_p99_ms")["monthly_cost_usd"].tolist()
    assert all(b <= a * (1 + 1e-6) for a, b in zip(costs, costs[1:]))


def test_frontier_helper_on_hand_made_rows():
    rows = pd.DataFrame({"scenario": [0, 1, 2, 3], "status": ["optimal"] * 4, "monthly_cost_usd": [10.0, 8.0, 9.0, 8.0],
                         "ttft_p99_ms": [100.0, 300.0, 200.0, 400.0]})
    front = frontier(rows, "ttft_p99_ms")
    assert front["scenario"].tolist() == [0, 2, 1]  # 3 is as dear as 1 and slower


def test_ranges_are_geometric_and_lists_keep_brackets():
    assert parse_setting("slo.ttft_p99_ms=250:4000", "--vary", 5).values == (250.0, 500.0, 1000.0, 2000.0, 4000.0)
    assert parse_setting("options.precisions=[bf16],[fp8, bf16]").values == (["bf16"], ["fp8", "bf16"])


@pytest.mark.parametrize("spec, needle", [
    ("options.max_spot_sahre=0.1", "did you mean"),
    ("workload.demand.rps", "expected PATH=VALUE"),
    ("options.max_spot_share=2", "max_spot_share"),
])
def test_bad_settings_exit_3_naming_the_setting(spec, needle):
    result = run("sweep", QUICKSTART, "--set", spec)
    assert result.exit_code == 3, result.output
    assert needle in result.output and "Traceback" not in result.output


def test_every_bad_scenario_is_reported_at_once():
    with pytest.raises(Exception) as err:
        scenarios(load_problem(QUICKSTART), [parse_setting("options.max_spot_share=2,3")])
    assert len(err.value.messages) == 2 and all("scenario options.max_spot_share=" in m for m in err.value.messages)


def test_dask_backend_gives_the_same_rows(swept):
    pytest.importorskip("dask.distributed")
    result = run("sweep", QUICKSTART, "--set", "workload.demand.rps=5,10", "--set", "options.max_spot_share=0,0.3",
                 "--format", "json", "--backend", "dask")
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(pd.DataFrame(json.loads(result.stdout)), swept)


def test_a_frontier_with_no_solvable_scenario_is_empty_not_a_crash():
    result = run("frontier", QUICKSTART, "--vary", "slo.ttft_p99_ms=1:5", "--points", "3", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [] and "0 non-dominated of 3" in result.output


def test_jobs_zero_is_a_usage_error():
    result = run("sweep", QUICKSTART, "--set", "workload.demand.rps=5", "--jobs", "0")
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_gpu_family_setting_restricts_the_gpus_to_that_family(tmp_path):
    result = run("sweep", QUICKSTART, "--set", "options.gpu_family=ada,hopper", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = pd.DataFrame(json.loads(result.stdout))
    assert rows["gpus"].tolist()[1] == "H100-SXM-80GB"  # quickstart's only Hopper GPU
    assert set(rows["gpus"][0].split(" + ")) <= {"L4-24GB", "L40S-48GB"}
    # the same as solving with those GPUs listed
    path = tmp_path / "hopper.yaml"
    path.write_text(QUICKSTART.read_text().replace("gpus: [L4-24GB, A10G-24GB, L40S-48GB, H100-SXM-80GB]", "gpus: [H100-SXM-80GB]"))
    single = json.loads(run("solve", path, "--no-baselines", "--format", "json").stdout)
    assert single["monthly_cost_usd"] == pytest.approx(rows["monthly_cost_usd"][1], rel=1e-9)


def test_unknown_gpu_family_lists_the_families():
    result = run("sweep", QUICKSTART, "--set", "options.gpu_family=hoper")
    assert result.exit_code == 3 and "unknown GPU family hoper" in result.output and "hopper" in result.output


def test_ray_backend_gives_the_same_rows(swept):
    pytest.importorskip("ray.util.joblib")  # not a test dependency (large); runs where Ray is installed
    result = run("sweep", QUICKSTART, "--set", "workload.demand.rps=5,10", "--set", "options.max_spot_share=0,0.3",
                 "--format", "json", "--backend", "ray")
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(pd.DataFrame(json.loads(result.stdout)), swept)


def test_sweep_on_an_existing_dask_cluster_by_address():
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as cluster:
        result = run("sweep", QUICKSTART, "--set", "workload.demand.rps=5,10", "--format", "json",
                     "--backend", "dask", "--address", cluster.scheduler_address)
        assert result.exit_code == 0, result.output
        rows = pd.DataFrame(json.loads(result.stdout))
        assert rows["monthly_cost_usd"].round(2).tolist() == [1738.17, 2918.66]


def test_unreachable_dask_scheduler_is_an_input_error():
    pytest.importorskip("dask.distributed")
    result = run("sweep", QUICKSTART, "--set", "workload.demand.rps=5", "--backend", "dask", "--address", "tcp://127.0.0.1:9")
    assert result.exit_code == 3 and "cannot reach the Dask scheduler" in result.output
