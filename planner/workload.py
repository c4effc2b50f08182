"""Turn a problem's workload into arrays: request-length samples and demand per (user region, period).

Length samples
    * from a CSV (``input_tokens,output_tokens`` per request): a fixed-seed subsample of at most
      :data:`MAX_LENGTH_SAMPLES` rows, keeping the joint distribution (long prompts with their outputs);
    * from statistics: a deterministic quantile grid (see :func:`samples_from_stats`). Input and
      output are paired in rank order (long prompts with long outputs), the conservative choice
      when their correlation is unknown.

Demand
    hourly rates over the horizon are built from the profile, then each period keeps its peak
    (constant, diurnal) or the stated percentile of its steps (file), and each user region gets its share.
    With ``growth``, month m (730 h from the horizon's start) is multiplied by (1 + rate)^(m months / per).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from planner.errors import ProblemError
from planner.forecast_input import parse_growth
from planner.milp.data import months_of_periods
from planner.problem import LengthStats, LoadedProblem
from planner.units import HOURS_PER_MONTH

MAX_LENGTH_SAMPLES = 2000
LENGTH_SAMPLE_SEED = 20240601
DEFAULT_HORIZON_HOURS = 168.0
MAX_RPS = 1e9  # requests/s: a growth that compounds past this is a typo, not a plan
SAMPLES_PER_PERIOD = 24  # diurnal profile: rate evaluated at this many points inside each period
_QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}


@dataclass(frozen=True)
class DemandSeries:
    user_regions: tuple[str, ...]
    period_hours: np.ndarray  # (T,)
    demand_rps: np.ndarray  # (U, T) rate to plan for: each period's peak (or stated percentile)
    mean_rps: np.ndarray  # (U, T) average rate in each period: counts requests and tokens
    step_rps: np.ndarray | None = None  # (N,) total rate per step of a rates file (None for a shape)
    step_seconds: float | None = None

    def growth_within(self, minutes: float, quantile: float = 99.0) -> float | None:
        """The ``quantile`` over the trace's steps of how much the rate rises within ``minutes``
        (max of the next steps / now − 1, ≥ 0): the headroom a reactive autoscaler whose new
        instances serve only ``minutes`` later needs. None without a rates file at that resolution."""
        if self.step_rps is None or not self.step_seconds or minutes * 60 < self.step_seconds:
            return None
        lag = int(minutes * 60 // self.step_seconds)
        rate = self.step_rps
        if len(rate) <= lag:
            return None
        ahead = np.lib.stride_tricks.sliding_window_view(rate, lag + 1)[:, 1:].max(axis=1)
        now = rate[: len(ahead)]
        rise = np.where(now > 0, ahead / np.where(now > 0, now, 1.0) - 1.0, 0.0)
        return float(max(np.percentile(rise, quantile), 0.0))

    @property
    def requests(self) -> float:
        """Requests arriving over the horizon."""
        return float((self.mean_rps.sum(axis=0) * self.period_hours).sum() * 3600.0)

    @property
    def horizon_hours(self) -> float:
        return float(self.period_hours.sum())


def _grid(n: int) -> np.ndarray:
    return (np.arange(n) + 0.5) / n


def _tail_fit(logs_grid: np.ndarray, z: np.ndarray, z_top: float, log_top: float, slope: float, mean: float | None) -> np.ndarray:
    """Above the highest given percentile the log-length rises linearly in the normal score; with a
    stated mean, its slope is chosen (bisection) so the samples' mean matches it where possible."""
    def build(k: float) -> np.ndarray:
        return np.where(z > z_top, log_top + k * (z - z_top), logs_grid)

    if mean is None:
        return build(slope)
    lo, hi = 0.0, 20.0
    if np.exp(build(lo)).mean() >= mean or np.exp(build(hi)).mean() <= mean:
        return build(slope)  # the percentiles alone decide; the mean cannot be matched by the tail
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.exp(build(mid)).mean() < mean else (lo, mid)
    return build((lo + hi) / 2)


def samples_from_stats(stats: LengthStats, n: int = MAX_LENGTH_SAMPLES) -> np.ndarray:
    """Deterministic samples (sorted ascending) of a length distribution given by its statistics.

    * several percentiles: log-length piecewise linear in the normal score through them; beyond the
      highest one the slope is set to match the stated mean (if any), else the last segment's slope;
    * one percentile and a mean: the log-normal with that percentile and that mean;
    * one figure only: every request has that length.
    """
    z = np.array([NormalDist().inv_cdf(q) for q in _grid(n)])
    points = [(_QUANTILES[k], getattr(stats, k)) for k in ("p50", "p90", "p99") if getattr(stats, k) is not None]
    if not points:
        return np.full(n, max(1.0, round(stats.mean)))
    if len(points) == 1:
        q, value = points[0]
        if stats.mean is None or stats.mean == value:
            return np.full(n, max(1.0, round(value)))
        # log-normal: ln x_q = mu + z_q s and ln mean = mu + s²/2  →  s²/2 − z_q s + ln(x_q/mean) = 0
        zq = NormalDist().inv_cdf(q)
        disc = zq * zq - 2 * np.log(value / stats.mean)
        # no log-normal has both (e.g. p90 more than e^(z²/2) ≈ 2.27 × the mean): keep the percentile,
        # with the spread that brings the mean closest (sigma = z_q)
        sigma = zq if disc < 0 else (zq - np.sqrt(disc) if zq - np.sqrt(disc) > 0 else zq + np.sqrt(disc))
        mu = np.log(value) - zq * sigma
        return np.maximum(1.0, np.round(np.exp(mu + sigma * z)))
    zs = np.array([NormalDist().inv_cdf(q) for q, _ in points])
    logs = np.log([v for _, v in points])
    slope_lo = (logs[1] - logs[0]) / (zs[1] - zs[0])
    slope_hi = (logs[-1] - logs[-2]) / (zs[-1] - zs[-2])
    out = np.interp(z, zs, logs)
    out = np.where(z < zs[0], logs[0] + slope_lo * (z - zs[0]), out)
    out = _tail_fit(out, z, zs[-1], logs[-1], slope_hi, stats.mean)
    return np.maximum(1.0, np.round(np.exp(out)))


def mean_output_tokens(loaded: LoadedProblem, output_samples: np.ndarray) -> float:
    """The stated mean output length when the problem gives one, else the samples' mean."""
    return _stated_mean(loaded.problem.workload.output_tokens, output_samples)


def mean_input_tokens(loaded: LoadedProblem, input_samples: np.ndarray) -> float:
    """The stated mean prompt length when the problem gives one, else the samples' mean."""
    return _stated_mean(loaded.problem.workload.input_tokens, input_samples)


def _stated_mean(stats: LengthStats | None, samples: np.ndarray) -> float:
    if stats is not None and stats.mean is not None:
        return float(stats.mean)
    return float(np.mean(samples))


def _read_problem_csv(loaded: LoadedProblem, relative: str, *field: str) -> tuple[str, object, pd.DataFrame]:
    """Read a CSV named by a problem field (path relative to the problem file); errors point at the field."""
    where = loaded.where(*field)
    path = loaded.resolve_path(relative)
    try:
        frame = pd.read_csv(path, index_col=False)  # index_col=False: a ragged row is an error, not a shifted index
    except FileNotFoundError:
        raise ProblemError(f"{where}: file '{path}' not found") from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ProblemError(f"{where}: cannot parse '{path}': {exc}") from None
    return where, path, frame


def length_samples(loaded: LoadedProblem) -> tuple[np.ndarray, np.ndarray]:
    """(input_tokens, output_tokens) sample arrays of equal length."""
    wl = loaded.problem.workload
    if wl.lengths_file is None:
        return samples_from_stats(wl.input_tokens), samples_from_stats(wl.output_tokens)
    where, path, frame = _read_problem_csv(loaded, wl.lengths_file, "workload", "lengths_file")
    missing = [c for c in ("input_tokens", "output_tokens") if c not in frame.columns]
    if missing:
        raise ProblemError(f"{where}: '{path}' lacks column(s) {', '.join(missing)}")
    data = frame[["input_tokens", "output_tokens"]].apply(pd.to_numeric, errors="coerce")
    bad = ~np.isfinite(data).all(axis=1) | (data["output_tokens"] < 1) | (data["input_tokens"] < 1)
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
    where, path, frame = _read_problem_csv(loaded, demand.file, "workload", "demand", "file")
    if frame.empty:
        raise ProblemError(f"{where}: '{path}' has no rows")
    if demand.value_column not in frame.columns:
        raise ProblemError(
            f"{loaded.where('workload', 'demand', 'value_column')}: column '{demand.value_column}' not in '{path}' "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )
    counts = pd.to_numeric(frame[demand.value_column], errors="coerce")
    if not np.isfinite(counts).all() or (counts < 0).any():
        raise ProblemError(f"{where}: '{path}' column '{demand.value_column}' has empty, non-numeric or negative values")
    return counts.to_numpy(float) / demand.step_seconds * demand.scale


def demand_series(loaded: LoadedProblem) -> DemandSeries:
    demand = loaded.problem.workload.demand
    regions = tuple(sorted(loaded.problem.workload.user_regions))
    shares = np.array([loaded.problem.workload.user_regions[r] for r in regions])
    if demand.profile == "file":
        steps = _file_steps(loaded)
        ratio = demand.period_hours * 3600 / demand.step_seconds
        if ratio < 1 - 1e-9 or abs(ratio - round(ratio)) > 1e-6:
            raise ProblemError(f"{loaded.where('workload', 'demand', 'period_hours')}: a period of {demand.period_hours:g} h "
                               f"must be a whole number of the file's {demand.step_seconds:g}-second steps "
                               f"(e.g. period_hours: {max(demand.step_seconds / 3600, 1):g})")
        per_period = int(round(ratio))
        trace_hours = len(steps) * demand.step_seconds / 3600
        horizon = demand.horizon_hours or trace_hours
    else:
        horizon = demand.horizon_hours or DEFAULT_HORIZON_HOURS
    n_periods = max(1, int(np.ceil(horizon / demand.period_hours - 1e-9)))
    hours = np.full(n_periods, demand.period_hours)
    hours[-1] = horizon - demand.period_hours * (n_periods - 1)
    if demand.profile == "file":
        needed = n_periods * per_period
        steps = np.tile(steps, int(np.ceil(needed / len(steps))))[:needed]  # a shorter trace repeats
        by_period = steps.reshape(n_periods, per_period)
        total = np.percentile(by_period, demand.percentile, axis=1)
        mean = by_period.mean(axis=1)
    elif demand.profile == "constant":
        total = mean = np.full(n_periods, demand.rps)
    else:
        # SAMPLES_PER_PERIOD points inside each period, plus the daily peak where it falls inside
        starts = np.concatenate([[0.0], np.cumsum(hours)[:-1]])
        frac = (np.arange(SAMPLES_PER_PERIOD) + 0.5) / SAMPLES_PER_PERIOD
        t = starts[:, None] + frac[None, :] * hours[:, None]
        rate = _diurnal_rate(demand, t)
        mean = rate.mean(axis=1)
        day = np.floor(starts / 24)
        peaks = np.stack([(day + d) * 24 + demand.peak_hour for d in (0, 1)], axis=1)  # this day's and next day's peak
        inside = (peaks >= starts[:, None]) & (peaks < (starts + hours)[:, None])
        peak_rate = np.where(inside, _diurnal_rate(demand, peaks), 0.0).max(axis=1)
        total = np.maximum(rate.max(axis=1), peak_rate)
    if demand.growth is not None:  # month by month, so that a month's equal periods stay equal (and merge)
        growth = parse_growth(demand.growth, "growth")
        with np.errstate(over="ignore"):  # a runaway growth is reported below, not warned about
            factor = growth.factor(months_of_periods(hours) * HOURS_PER_MONTH * 3600.0)
            total, mean = total * factor, mean * factor
        if not np.all(np.isfinite(total)) or total.max() > MAX_RPS:
            month = int(months_of_periods(hours)[np.argmax(~np.isfinite(total) | (total > MAX_RPS))])
            raise ProblemError(f"{loaded.where('workload', 'demand', 'growth')}: '{demand.growth}' takes demand beyond "
                               f"{MAX_RPS:.0e} requests/s by month {month}: beyond any fleet (check the rate and its period)")
    if not np.all(total >= 0) or not np.any(total > 0):
        raise ProblemError(f"{loaded.where('workload', 'demand')}: demand is zero in every period")
    if loaded.problem.options.commitment_starts == "monthly" and horizon <= HOURS_PER_MONTH:
        raise ProblemError(f"{loaded.where('options', 'commitment_starts')}: 'monthly' needs a horizon of more than one month "
                           f"({HOURS_PER_MONTH:g} h); the horizon is {horizon:g} h (workload.demand.horizon_hours)")
    return DemandSeries(regions, hours, shares[:, None] * total[None, :], shares[:, None] * mean[None, :],
                        step_rps=steps if demand.profile == "file" else None,
                        step_seconds=float(demand.step_seconds) if demand.profile == "file" else None)
