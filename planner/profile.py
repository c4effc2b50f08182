"""Measured capacity profiles: plan on the user's own measurements instead of the analytic model.

Teams that benchmarked their serving stack (e.g. with vLLM's ``benchmark_serving.py`` at their SLO)
give ``options.measured_profile``: a CSV, path relative to the problem file, one row per measurement:

==============  ========  =========================================================================
column          required  meaning
==============  ========  =========================================================================
gpu             yes       accelerator id or alias (accelerators.csv)
tp              yes       GPUs per replica (tensor parallel degree)
precision       yes       weight precision served (bf16, fp8, int4, ...)
capacity_rps    yes       requests/s one replica sustained with every P99 target of the problem met
max_batch       no        the engine's max batch during the measurement (empty: not stated)
input_tokens    no        prompt length of the measured requests (with output_tokens: a request size)
output_tokens   no        generated length of the measured requests
==============  ========  =========================================================================

A row with a request size counts for the request-size bucket holding that size; a row without one
measures the workload's whole mix. When several rows fall in one bucket the lowest capacity counts
(conservative). Without ``size_buckets`` every row counts for the only bucket. Candidates are then
the profiled (GPU, tp, precision, max batch) configurations on every allowed offer with that GPU;
the analytic model is not used for their capacity, and their latencies are reported as measured at
the SLO (no figure of their own).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.buckets import RequestBuckets
from planner.catalog import Catalogs
from planner.errors import ProblemError
from planner.problem import LoadedProblem

REQUIRED = ("gpu", "tp", "precision", "capacity_rps")
OPTIONAL = ("max_batch", "input_tokens", "output_tokens")
PRECISIONS = ("fp32", "fp16", "bf16", "fp8", "fp4", "int8", "int4")


def read_profile(loaded: LoadedProblem, catalogs: Catalogs) -> pd.DataFrame | None:
    """The problem's measured profile, validated (every problem reported at once, exit 3), with GPU
    ids resolved; None when the problem has none."""
    relative = loaded.problem.options.measured_profile
    if relative is None:
        return None
    where = loaded.where("options", "measured_profile")
    path = loaded.resolve_path(relative)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, index_col=False)
    except FileNotFoundError:
        raise ProblemError(f"{where}: file '{path}' not found") from None
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ProblemError(f"{where}: cannot parse '{path}': {exc}") from None
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ProblemError(f"{where}: '{relative}' lacks column(s) {', '.join(missing)} (columns: {', '.join(frame.columns)})")
    errors: list[str] = []
    rows = []
    for i, rec in enumerate(frame.to_dict("records")):
        at = f"{relative}:{i + 2}"  # line in the file (header is line 1)
        gpu = catalogs.gpu_ids.resolve(rec["gpu"].strip())
        if gpu is None:
            errors.append(f"{at}: gpu: {catalogs.gpu_ids.unknown_message(rec['gpu'].strip())}")
        precision = rec["precision"].strip().lower()
        if precision not in PRECISIONS:
            errors.append(f"{at}: precision: '{rec['precision']}' is not one of {', '.join(PRECISIONS)}")
        values = {}
        for name, integer, needed in (("tp", True, True), ("capacity_rps", False, True), ("max_batch", True, False),
                                      ("input_tokens", True, False), ("output_tokens", True, False)):
            text = str(rec.get(name, "")).strip()
            if not text:
                if needed:
                    errors.append(f"{at}: {name}: empty")
                values[name] = np.nan
                continue
            try:
                value = float(text)
            except ValueError:
                errors.append(f"{at}: {name}: '{text}' is not a number")
                continue
            if not np.isfinite(value) or value <= 0 or (integer and value != int(value)):
                errors.append(f"{at}: {name}: {text} must be a positive {'integer' if integer else 'number'}")
                continue
            values[name] = value
        if np.isnan(values.get("input_tokens", np.nan)) != np.isnan(values.get("output_tokens", np.nan)):
            errors.append(f"{at}: give both input_tokens and output_tokens (a request size) or neither")
        rows.append({"gpu": gpu, "precision": precision, **values})
    if not rows:
        errors.append(f"{relative}: no rows")
    if errors:
        raise ProblemError([f"{where}: {e}" for e in errors])
    out = pd.DataFrame(rows)
    out["tp"] = out["tp"].astype(int)
    out["max_batch"] = out["max_batch"].fillna(0).astype(int)  # 0 = not stated
    return out


def _inside(values: np.ndarray, lo: int, hi: int | None) -> np.ndarray:
    return (values >= lo) & (values <= (np.inf if hi is None else hi))


def profile_capacities(profile: pd.DataFrame, buckets: RequestBuckets) -> pd.DataFrame:
    """One row per profiled configuration (gpu, tp, precision, concurrency = max batch) with
    ``capacity_rps_b{b}`` per bucket (and ``capacity_rps_mix`` with several buckets), ``capacity_rps``
    as :func:`planner.candidates.evaluate_buckets` reports it, ``fits`` and NaN latencies."""
    from planner.candidates import bucket_columns, mix_capacity  # the columns candidates use

    keys = ["gpu", "tp", "precision", "max_batch"]
    out = []
    sized = profile["input_tokens"].notna().to_numpy()
    for key, rows in profile.groupby(keys, sort=True):
        idx = rows.index.to_numpy()
        cap = rows["capacity_rps"].to_numpy(float)
        has_size = sized[idx]
        inputs, outputs = rows["input_tokens"].to_numpy(float), rows["output_tokens"].to_numpy(float)
        per_bucket = []
        for b in range(buckets.count):
            if buckets.count == 1:
                member = np.ones(len(rows), dtype=bool)
            else:
                member = has_size & _inside(inputs, *buckets.input_range[b]) & _inside(outputs, *buckets.output_range[b])
            per_bucket.append(cap[member].min() if member.any() else 0.0)
        record = dict(zip(keys, key))
        if buckets.count > 1:
            mix = cap[~has_size].min() if (~has_size).any() else 0.0
            per_bucket.append(mix)
        record.update(zip(bucket_columns(buckets.count), per_bucket))
        out.append(record)
    frame = pd.DataFrame(out).rename(columns={"max_batch": "concurrency"})
    cols = bucket_columns(buckets.count)
    if buckets.count == 1:
        frame["capacity_rps"] = frame[cols[0]]
    else:
        whole = frame["capacity_rps_mix"].to_numpy(float)
        frame["capacity_rps"] = np.where(whole > 0, whole, mix_capacity(frame[cols[:-1]].to_numpy(float), buckets.share))
    frame["fits"] = frame[cols].to_numpy(float).max(axis=1) > 0
    for column in ("ttft_p99_ms", "tpot_p99_ms", "e2e_p99_ms", "weights_gb", "kv_gb", "max_concurrency"):
        frame[column] = np.nan
    frame["limit"] = "measured"
    frame["error"] = ""
    return frame
