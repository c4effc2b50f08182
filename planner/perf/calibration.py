"""Fit the efficiency factors to published measurements and report the model's fidelity.

Fitted per (engine_family, gpu_family): ``mfu``, ``mbu``, ``step_overhead_ms``, ``tp_efficiency``. ``mem_utilization`` is
not fitted (the benchmarks constrain it weakly); it is the engines' documented default memory share
(``MEM_UTILIZATION``).

Loss: for every benchmark row that the model can estimate, the log error ``ln(pred / measured)`` of
throughput (weight 1) and, where published, TTFT and TPOT (weight ``LATENCY_WEIGHT`` each; the
fixed-batch e2e latency is redundant with throughput and not used), under a Huber loss
(``HUBER_DELTA`` in log units, robust to the few rows the physics cannot explain). Rows whose request
lengths are not published (the model uses its default lengths) get ``ASSUMED_LENGTH_WEIGHT``.

Shrinkage: each group is fitted with a quadratic penalty ``PRIOR_ROWS * sum((ln θ - ln θ_prior)²)``
towards its parent: physical priors -> ('*','*') -> ('engine','*') and ('*','gpu') -> ('engine','gpu').
Search: coordinate descent in log space over a shrinking multiplicative grid, within ``BOUNDS``
(numpy only, deterministic). A (engine, gpu) pair with fewer than ``MIN_ROWS`` rows is not written
and falls back to its parent.

Run ``python -m planner.perf.calibration`` to refit, write ``catalogs/efficiency.csv`` and print the
in-sample fidelity (``--no-write`` to only print).
"""

from __future__ import annotations

import argparse
import datetime as _dt
from pathlib import Path

import numpy as np
import pandas as pd

from .join import spec_table
from .serving import _estimate_arrays
from .types import WILDCARD, Efficiency, default_catalog_dir

FITTED = ("mfu", "mbu", "step_overhead_ms", "tp_efficiency")
PRIOR = {"mfu": 0.5, "mbu": 0.75, "step_overhead_ms": 2.0, "tp_efficiency": 0.95}
BOUNDS = {"mfu": (0.05, 0.95), "mbu": (0.1, 1.0), "step_overhead_ms": (0.05, 50.0),
          "tp_efficiency": (0.5, 1.0)}
# Engine memory shares: vLLM gpu_memory_utilization default 0.9; TensorRT-LLM
# kv_cache_free_gpu_mem_fraction 0.9-0.95 of the memory left after weights (0.95 in the GH200 runs of
# the calibration file); LMDeploy and others: 0.9 assumed.
MEM_UTILIZATION = {"trtllm": 0.95, WILDCARD: 0.9}
HUBER_DELTA = 0.25
LATENCY_WEIGHT = 0.5
ASSUMED_LENGTH_WEIGHT = 0.25
PRIOR_ROWS = 3.0
MIN_ROWS = 5
GRID = np.array([0.5, 0.7, 0.85, 0.95, 1.0, 1.05, 1.18, 1.4, 2.0])
SWEEPS = 4
FIT_VERSION = "v4-2026-11-30"
BENCHMARKS = Path(__file__).resolve().parents[3] / "shared" / "calibration" / "benchmarks.csv"
TARGETS = {"throughput": "throughput_out_tok_s", "ttft": "ttft_ms", "tpot": "tpot_ms",
           "e2e": "e2e_latency_ms"}
INPUT_COLUMNS = ["model", "gpu", "num_gpus", "tp", "pp", "precision", "kv_precision",
                 "engine_family", "scenario", "input_len", "output_len", "concurrency"]


def benchmark_cfg(bench: pd.DataFrame, accelerators: pd.DataFrame, models: pd.DataFrame) -> pd.DataFrame:
    """Perf-model input for the benchmark rows (measured columns dropped)."""
    rows = bench.drop(columns=[c for c in TARGETS.values() if c in bench.columns])
    cfg = spec_table(rows, accelerators, models)
    # TensorRT-LLM engines attend over the whole sequence unless built with a max attention window
    # (trtllm-bench does not set one): its Mistral-7B 5000/500 and 20000/2000 throughputs match full
    # attention, not the model's 4096-token sliding window (which would allow ~5x the batch).
    trt = cfg["engine_family"].astype(str).str.lower() == "trtllm"
    cfg.loc[trt, "sliding_window"] = np.nan
    return cfg


def _huber(r: np.ndarray) -> np.ndarray:
    a = np.abs(r)
    return np.where(a <= HUBER_DELTA, 0.5 * r * r, HUBER_DELTA * (a - 0.5 * HUBER_DELTA))


def _loss(cfg: pd.DataFrame, meas: pd.DataFrame, weight: np.ndarray, theta: dict, prior: dict,
          mem_util: float) -> float:
    eff = Efficiency.from_values(theta["mfu"], theta["mbu"], theta["step_overhead_ms"], mem_util,
                                 theta["tp_efficiency"])
    res, _ = _estimate_arrays(cfg, eff)
    total = 0.0
    for name, col in (("throughput", "throughput_out_tok_s"), ("ttft", "ttft_ms"), ("tpot", "tpot_ms")):
        m = meas[col].to_numpy(float)
        p = res[col].to_numpy(float)
        have = np.isfinite(m) & (m > 0)
        w = weight * (1.0 if name == "throughput" else LATENCY_WEIGHT)
        bad = have & ~(np.isfinite(p) & (p > 0))  # e.g. predicted not to fit: large fixed penalty
        r = np.log(np.where(have & ~bad, p, 1.0) / np.where(have, m, 1.0))
        total += float(np.sum(w * have * ~bad * _huber(r)) + np.sum(w * bad) * _huber(np.array(2.0)))
    pen = sum((np.log(theta[k]) - np.log(prior[k])) ** 2 for k in FITTED)
    return total + PRIOR_ROWS * pen


def _fit_group(cfg, meas, weight, prior: dict, mem_util: float) -> dict:
    theta = dict(prior)
    best = _loss(cfg, meas, weight, theta, prior, mem_util)
    for sweep in range(SWEEPS):
        grid = GRID ** (1.0 / (1 + sweep))  # shrinking multiplicative steps
        for k in FITTED:
            lo, hi = BOUNDS[k]
            for g in grid:
                cand = dict(theta)
                cand[k] = float(np.clip(theta[k] * g, lo, hi))
                val = _loss(cfg, meas, weight, cand, prior, mem_util)
                if val < best - 1e-12:
                    best, theta = val, cand
    return theta


def fit(bench: pd.DataFrame, accelerators: pd.DataFrame, models: pd.DataFrame,
        retrieved: str | None = None, source: str | None = None) -> pd.DataFrame:
    """Fitted efficiency table (schema.EFFICIENCY columns) from the benchmark rows."""
    cfg = benchmark_cfg(bench, accelerators, models)
    probe, _ = _estimate_arrays(cfg, Efficiency.from_values(**PRIOR))
    usable = probe["error"].isna().to_numpy()
    if "precision_assumed" in bench.columns:
        pass  # kept: the 30 assumed-precision rows are bf16 checkpoints, the default dtype
    weight = np.where(probe["lengths_assumed"].to_numpy(), ASSUMED_LENGTH_WEIGHT, 1.0)
    cfg, meas, weight = cfg[usable], bench[usable], weight[usable]
    eng = cfg["engine_family"].str.lower().to_numpy()
    fam = cfg["gpu_family"].str.lower().to_numpy()
    mu = lambda e: MEM_UTILIZATION.get(e, MEM_UTILIZATION[WILDCARD])  # noqa: E731
    rows = []

    def add(e, g, theta, n):
        rows.append({"engine_family": e, "gpu_family": g, **{k: round(theta[k], 4) for k in FITTED},
                     "mem_utilization": mu(e), "rows_fitted": int(n)})

    def sub(mask, prior, e):
        return _fit_group(cfg[mask], meas[mask], weight[mask], prior, mu(e))

    g_all = sub(np.ones(len(cfg), bool), PRIOR, WILDCARD)
    add(WILDCARD, WILDCARD, g_all, len(cfg))
    eng_fit = {}
    for e in sorted(set(eng)):
        mask = eng == e
        eng_fit[e] = sub(mask, g_all, e)
        add(e, WILDCARD, eng_fit[e], mask.sum())
    for g in sorted(set(fam)):
        mask = fam == g
        add(WILDCARD, g, sub(mask, g_all, WILDCARD), mask.sum())
    for e in sorted(set(eng)):
        for g in sorted(set(fam)):
            mask = (eng == e) & (fam == g)
            if mask.sum() >= MIN_ROWS:
                add(e, g, sub(mask, eng_fit[e], e), mask.sum())
    for e in ("vllm", "trtllm", "sglang", "lmdeploy", "nim", "ollama", "other"):
        if e not in eng_fit:  # engines without data: the global fit with their memory default
            add(e, WILDCARD, g_all, 0)
    out = pd.DataFrame(rows)[["engine_family", "gpu_family", "mfu", "mbu", "step_overhead_ms",
                              "mem_utilization", "tp_efficiency", "rows_fitted"]]
    out["fit_version"] = FIT_VERSION
    out["source"] = source or f"fit to ../shared/calibration/benchmarks.csv ({len(cfg)} rows)"
    out["retrieved"] = retrieved or _dt.date.today().isoformat()
    out["notes"] = np.where(out["rows_fitted"] > 0,
                            "mfu/mbu/step_overhead_ms/tp_efficiency fitted (Huber on log error, shrunk to parent); "
                            "mem_utilization = engine default",
                            "no calibration rows: global fit; mem_utilization = engine default")
    return out


def predict(bench: pd.DataFrame, accelerators: pd.DataFrame, models: pd.DataFrame,
            efficiency: Efficiency) -> pd.DataFrame:
    """Model estimates for the benchmark rows (diagnostic columns included)."""
    res, _ = _estimate_arrays(benchmark_cfg(bench, accelerators, models), efficiency)
    return res


def cross_validate(bench: pd.DataFrame, accelerators: pd.DataFrame, models: pd.DataFrame, by: str,
                   progress=None) -> pd.DataFrame:
    """Leave-one-group-out predictions: for each value g of column ``by`` (gpu, model, source, ...),
    refit on the rows where ``by != g`` and predict the rows where ``by == g``. The fidelity of the
    result is an out-of-sample figure for a GPU/model/source the fit never saw. Rows aligned with
    ``bench``; ``progress(group)`` is called before each refit."""
    parts = []
    for group in sorted(bench[by].astype(str).unique()):
        if progress is not None:
            progress(group)
        held = (bench[by].astype(str) == group).to_numpy()
        table = fit(bench[~held], accelerators, models)
        pred = predict(bench[held], accelerators, models, Efficiency(table))
        pred.index = bench.index[held]
        parts.append(pred)
    return pd.concat(parts).loc[bench.index]


def unseen_rows(bench: pd.DataFrame, fitted_on: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``bench`` whose GPU or model does not appear in ``fitted_on`` (the calibration data):
    the out-of-sample case the planner is for, predicting hardware or models from specs alone."""
    unseen = ~bench["gpu"].isin(set(fitted_on["gpu"])) | ~bench["model"].isin(set(fitted_on["model"]))
    return bench[unseen.to_numpy()].reset_index(drop=True)


def fidelity(bench: pd.DataFrame, predictions: pd.DataFrame,
             by: tuple[str, ...] = ("source", "engine_family", "gpu", "model", "scenario")) -> pd.DataFrame:
    """Error of ``predictions`` (rows aligned with ``bench``) per group: columns ``group_by, group,
    metric, rows, median_ape, p90_ape, bias`` (percent; bias = median signed error, + = model high).
    ``group_by = 'all'`` rows summarise everything. Metrics: throughput, ttft, tpot, e2e where both
    sides have a value."""
    out = []
    for metric, col in TARGETS.items():
        m = bench[col].to_numpy(float)
        p = predictions[col].to_numpy(float)
        ok = np.isfinite(m) & (m > 0) & np.isfinite(p)
        if not ok.any():
            continue
        err = (p - m) / m * 100.0
        frame = bench.loc[ok, list(by)].copy()
        frame["err"] = err[ok]
        frame["all"] = "all"
        for key in ("all", *by):
            for grp, d in frame.groupby(key):
                e = d["err"].to_numpy()
                out.append({"group_by": key, "group": grp, "metric": metric, "rows": len(e),
                            "median_ape": float(np.median(np.abs(e))),
                            "p90_ape": float(np.quantile(np.abs(e), 0.9)),
                            "bias": float(np.median(e))})
    return pd.DataFrame(out)


def _main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmarks", default=str(BENCHMARKS))
    ap.add_argument("--catalogs", default=str(default_catalog_dir()))
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--use-existing", action="store_true", help="do not refit; report current table")
    a = ap.parse_args(argv)
    bench = pd.read_csv(a.benchmarks)
    cat = Path(a.catalogs)
    acc, mod = pd.read_csv(cat / "accelerators.csv"), pd.read_csv(cat / "models.csv")
    if a.use_existing:
        table = pd.read_csv(cat / "efficiency.csv")
    else:
        table = fit(bench, acc, mod)
        if not a.no_write:
            table.to_csv(cat / "efficiency.csv", index=False)
    print(table.drop(columns=["source", "notes"]).to_string(index=False))
    pred = predict(bench, acc, mod, Efficiency(table))
    print(f"\nrows not estimable: {int(pred['error'].notna().sum())}:",
          pred["error"].dropna().value_counts().to_dict())
    fid = fidelity(bench, pred)
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(fid[fid.group_by.isin(["all", "source", "scenario", "engine_family", "gpu"])]
              .round(1).to_string(index=False))


if __name__ == "__main__":
    _main()
