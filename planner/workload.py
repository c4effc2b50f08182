"""Turn a problem's workload into arrays: request-length samples and demand per (user region, period).

Length samples
    * from a CSV (``input_tokens,output_tokens`` per request): a fixed-seed subsample of at most
      :data:`MAX_LENGTH_SAMPLES` rows, keeping the joint distribution (long prompts with their outputs);
    * from statistics: a deterministic quantile grid of a distribution whose log is piecewise linear in
      the normal score through the given percentiles (p50/p90/p99); with a mean but no p50, the
      median is taken as the mean (the distribution is then symmetric in log space around it);
      with one figure only, every request has that length. Input and output are paired in rank
      order (long prompts with long outputs), the conservative choice when their correlation is unknown.

Demand
    hourly rates over the horizon are built from the profile, then each period keeps its peak
    (constant, diurnal) or the stated percentile of its steps (file), and each user region gets its share.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from planner.errors import ProblemError
from planner.problem import LengthStats, LoadedProblem

MAX_LENGTH_SAMPLES = 2000
LENGTH_SAMPLE_SEED = 20240601
DEFAULT_HORIZON_HOURS = 168.0
_QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}


@dataclass(frozen=True)
class DemandSeries:
    user_regions: tuple[str, ...]
    period_hours: np.ndarray  # (T,)
    demand_rps: np.ndarray  # (U, T)

    @property
    def horizon_hours(self) -> float:
        return float(self.period_hours.sum())


def _grid(n: int) -> np.ndarray:
    return (np.arange(n) + 0.5) / n


def samples_from_stats(stats: LengthStats, n: int = MAX_LENGTH_SAMPLES) -> np.ndarray:
    """Deterministic samples (sorted ascending) of a length distribution given by its statistics."""
    points = [(_QUANTILES[k], getattr(stats, k)) for k in ("p50", "p90", "p99") if getattr(stats, k) is not None]
    if not points:
        points = [(0.5, stats.mean)]
    if len(points) == 1 and stats.mean is not None and points[0][1] != stats.mean and points[0][0] == 0.5:
        # median and mean: a log-normal with that median and mean (mean > median needs sigma > 0).
        ratio = stats.mean / points[0][1]
        sigma = float(np.sqrt(2 * np.log(ratio))) if ratio > 1 else 0.0
        z = np.array([NormalDist().inv_cdf(q) for q in _grid(n)])
        return np.maximum(1.0, np.round(points[0][1] * np.exp(sigma * z)))
    if len(points) == 1:
        return np.full(n, max(1.0, round(points[0][1])))
    zs = np.array([NormalDist().inv_cdf(q) for q, _ in points])
    logs = np.log([v for _, v in points])
    z = np.array([NormalDist().inv_cdf(q) for q in _grid(n)])
    # piecewise linear in (z, log length); beyond the end points extend the nearest segment
    slope_lo = (logs[1] - logs[0]) / (zs[1] - zs[0])
    slope_hi = (logs[-1] - logs[-2]) / (zs[-1] - zs[-2])
    out = np.interp(z, zs, logs)
    out = np.where(z < zs[0], logs[0] + slope_lo * (z - zs[0]), out)
    out = np.where(z > zs[-1], logs[-1] + slope_hi * (z - zs[-1]), out)
    return np.maximum(1.0, np.round(np.exp(out)))


def length_samples(loaded: LoadedProblem) -> tuple[np.ndarray, np.ndarray]:
    """(input_tokens, output_tokens) sample arrays of equal length."""
    wl = loaded.problem.workload
    if wl.lengths_file is None:
        return samples_from_stats(wl.input_tokens), samples_from_stats(wl.output_tokens)
    path = loaded.resolve_path(wl.lengths_file)
    where = loaded.where("workload", "lengths_file")
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise ProblemError(f"{where}: file '{path}' not found") from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ProblemError(f"{where}: cannot parse '{path}': {exc}") from None
    missing = [c for c in ("input_tokens", "output_tokens") if c not in frame.columns]
    if missing:
        raise ProblemError(f"{where}: '{path}' lacks column(s) {', '.join(missing)}")
    data = frame[["input_tokens", "output_tokens"]].apply(pd.to_numeric, errors="coerce")
    bad = data.isna().any(axis=1) | (data["output_tokens"] < 1) | (data["input_tokens"] < 1)
    if bad.all():
        raise ProblemError(f"{where}: '{path}' has no row with positive input_tokens and output_tokens")
    data = data[~bad]
    if len(data) > MAX_LENGTH_SAMPLES:
        rng = np.random.default_rng(LENGTH_SAMPLE_SEED)
        data = data.iloc[np.sort(rng.choice(len(data), MAX_LENGTH_SAMPLES, replace=False))]
    return data["input_tokens"].to_numpy(float), data["output_tokens"].to_numpy(float)


def _diurnal_rate(demand, h: np.ndarray) -> np.ndarray:
    """Requests/s at times ``h`` (hours from Monday 00:00 UTC): cosine between trough and peak."""
    shape = (1 + np.cos(2 * np.pi * (h % 24 - demand.peak_hour) / 24)) / 2
    rate = demand.trough_rps + (demand.peak_rps - demand.trough_rps) * shape
    weekend = ((h // 24) % 7) >= 5
    return np.where(weekend, rate * demand.weekend_factor, rate)


def _file_steps(loaded: LoadedProblem) -> np.ndarray:
    demand = loaded.problem.workload.demand
    where = loaded.where("workload", "demand", "file")
    path = loaded.resolve_path(demand.file)
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise ProblemError(f"{where}: file '{path}' not found") from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ProblemError(f"{where}: cannot parse '{path}': {exc}") from None
    if demand.value_column not in frame.columns:
        raise ProblemError(
            f"{loaded.where('workload', 'demand', 'value_column')}: column '{demand.value_column}' not in '{path}' "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )
    counts = pd.to_numeric(frame[demand.value_column], errors="coerce")
    if counts.isna().any() or (counts < 0).any():
        raise ProblemError(f"{where}: '{path}' column '{demand.value_column}' has empty, non-numeric or negative values")
    return counts.to_numpy(float) / demand.step_seconds * demand.scale


def demand_series(loaded: LoadedProblem) -> DemandSeries:
    demand = loaded.problem.workload.demand
    regions = tuple(sorted(loaded.problem.workload.user_regions))
    shares = np.array([loaded.problem.workload.user_regions[r] for r in regions])
    if demand.profile == "file":
        steps = _file_steps(loaded)
        per_period = max(1, int(round(demand.period_hours * 3600 / demand.step_seconds)))
        trace_hours = len(steps) * demand.step_seconds / 3600
        horizon = demand.horizon_hours or trace_hours
        n_periods = max(1, int(np.ceil(horizon / demand.period_hours - 1e-9)))
        needed = n_periods * per_period
        reps = int(np.ceil(needed / len(steps)))
        steps = np.tile(steps, reps)[:needed]  # a shorter trace repeats (a representative cycle)
        total = np.percentile(steps.reshape(n_periods, per_period), demand.percentile, axis=1)
        hours = np.full(n_periods, demand.period_hours)
        hours[-1] = horizon - demand.period_hours * (n_periods - 1)
    else:
        horizon = demand.horizon_hours or DEFAULT_HORIZON_HOURS
        n_periods = max(1, int(np.ceil(horizon / demand.period_hours - 1e-9)))
        hours = np.full(n_periods, demand.period_hours)
        hours[-1] = horizon - demand.period_hours * (n_periods - 1)
        if demand.profile == "constant":
            total = np.full(n_periods, demand.rps)
        else:
            fine = 12  # 5-minute resolution inside each period, so a period keeps its true peak
            t = (np.arange(int(np.ceil(horizon * fine))) + 0.5) / fine
            rate = _diurnal_rate(demand, t)
            idx = np.minimum((t // demand.period_hours).astype(int), n_periods - 1)
            total = np.zeros(n_periods)
            np.maximum.at(total, idx, rate)
    if not np.all(total >= 0) or not np.any(total > 0):
        raise ProblemError(f"{loaded.where('workload', 'demand')}: demand is zero in every period")
    return DemandSeries(regions, hours, shares[:, None] * total[None, :])
