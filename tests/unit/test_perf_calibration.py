"""Catalog join, efficiency table, calibration fit and fidelity report (small, synthetic)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.catalog.schema import EFFICIENCY
from planner.perf import Efficiency, estimate, load_efficiency, spec_table
from planner.perf.calibration import _fit_group, PRIOR, fidelity
from planner.perf.fixtures import GPUS, MODELS, example_cfg
from planner.units import ENGINE_FAMILIES



BENCH_PATH = Path(__file__).resolve().parents[3] / "shared" / "calibration" / "benchmarks.csv"
CATALOGS = Path(__file__).resolve().parents[2] / "catalogs"

ACC = pd.DataFrame([{"id": "H100-SXM-80GB", "aliases": "H100;h100 sxm",
                     **{k[4:]: v for k, v in GPUS["H100-SXM-80GB"].items()}}])
ACC = ACC.rename(columns={"family": "family"})
MOD = pd.DataFrame([{"id": "llama-3.1-8b", "aliases": "meta-llama/Llama-3.1-8B",
                     **{k: v for k, v in MODELS["llama-3.1-8b"].items()}}]).drop(columns=["num_kv_heads", "head_dim"])


def test_spec_table_aliases_and_defaults():
    rows = pd.DataFrame({"model": ["LLAMA-3.1-8B", "meta-llama/llama-3.1-8b"], "gpu": ["h100", "H100 SXM"]})
    cfg = spec_table(rows, ACC, MOD)
    assert (cfg["gpu_memory_gb"] == 80).all() and (cfg["gpu_family"] == "hopper").all()
    assert (cfg["num_kv_heads"] == 32).all() and (cfg["head_dim"] == 128).all()
    with pytest.raises(ValueError, match="unknown gpu id.*B300.*unknown model id.*gpt-9"):
        spec_table(pd.DataFrame({"model": ["gpt-9"], "gpu": ["B300"]}), ACC, MOD)


def test_efficiency_catalog_matches_schema_and_resolves_everything():
    eff = load_efficiency()
    assert list(eff.table.columns) == EFFICIENCY.names
    look = eff.lookup(list(ENGINE_FAMILIES) + ["unknown-engine"], ["hopper"] * len(ENGINE_FAMILIES) + ["tpu"])
    assert look[["mfu", "mbu", "step_overhead_ms", "mem_utilization", "tp_efficiency"]].notna().all().all()
    assert ((look["mfu"] > 0) & (look["mfu"] < 1)).all()
    assert "fit to ../shared/calibration/benchmarks.csv" in eff.table["source"].iloc[0]


def test_fit_recovers_factors_and_fidelity_reports():
    truth = Efficiency.from_values(mfu=0.4, mbu=0.6, step_overhead_ms=3.0, tp_efficiency=0.9)
    rng = np.random.default_rng(0)
    n = 40
    cfg = example_cfg(n=n, scenario=rng.choice(["fixed_batch", "offline"], n),
                      input_len=rng.integers(64, 4096, n), output_len=rng.integers(16, 2048, n),
                      concurrency=rng.choice([1, 8, 64], n), num_gpus=rng.choice([1, 2, 4], n))
    cfg["tp"] = cfg["num_gpus"]
    meas = estimate(cfg, truth)
    theta = _fit_group(cfg, meas, np.ones(n), PRIOR, 0.9)
    assert theta["mfu"] == pytest.approx(0.4, rel=0.15)
    assert theta["mbu"] == pytest.approx(0.6, rel=0.15)
    bench = cfg.assign(source=np.where(np.arange(n) < 20, "a", "b"))
    for c in ("throughput_out_tok_s", "ttft_ms", "tpot_ms", "e2e_latency_ms"):
        bench[c] = meas[c]
    pred = meas.copy()
    pred["throughput_out_tok_s"] *= 1.1
    fid = fidelity(bench, pred, by=("source",))
    thr = fid[(fid.metric == "throughput") & (fid.group_by == "source")]
    assert set(thr.group) == {"a", "b"} and np.allclose(thr.median_ape, 10.0) and np.allclose(thr.bias, 10.0)
    assert np.allclose(fid[fid.metric == "tpot"].median_ape, 0.0)


@pytest.mark.skipif(not BENCH_PATH.exists(), reason="shared/calibration not beside the checkout")
def test_cross_validation_predicts_each_group_with_a_fit_that_never_saw_it(monkeypatch):
    from planner.perf import calibration

    bench = pd.read_csv(BENCH_PATH)
    bench = bench[bench["source"].str.startswith("LMDeploy") & (bench["scenario"] == "fixed_batch")]
    bench = bench[bench["model"].isin(["llama-2-7b", "llama-2-13b"])].head(16)
    acc = pd.read_csv(CATALOGS / "accelerators.csv")
    models = pd.read_csv(CATALOGS / "models.csv")
    seen = []
    real_fit = calibration.fit

    def spy(rows, *a, **k):
        seen.append(set(rows["model"]))
        return real_fit(rows, *a, **k)

    monkeypatch.setattr(calibration, "fit", spy)
    pred = calibration.cross_validate(bench, acc, models, "model")
    assert list(pred.index) == list(bench.index)
    assert np.isfinite(pred["throughput_out_tok_s"]).all()
    groups = sorted(bench["model"].unique())
    assert len(seen) == len(groups)
    for held, fitted_on in zip(groups, seen):
        assert held not in fitted_on
