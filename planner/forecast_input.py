"""Input of ``planner forecast``: the option strings (durations, growth, quantiles, steps) and the
history file (a count column per step, its step from a timestamp or offset column), validated with
one error line per problem naming the option or the file's line. The model is ``planner.forecast``."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from planner.errors import InputError

HOUR = 3600.0
DAY = 86400.0
WEEK = 7 * DAY
MONTH = 730 * HOUR  # planner.units: 730 hours per month
MAX_HORIZON_HOURS = 26352.0  # a problem's workload.demand.horizon_hours is at most this (3 years)
TREND_MIN_DAYS = 28.0
MAX_HISTORY_STEPS = 5_000_000  # a year at 10-second steps is 3.2 M: more means a stray timestamp
MIN_LEVEL_POINTS = 3

_UNITS = {
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": HOUR, "hr": HOUR, "hrs": HOUR, "hour": HOUR, "hours": HOUR,
    "d": DAY, "day": DAY, "days": DAY,
    "w": WEEK, "wk": WEEK, "week": WEEK, "weeks": WEEK,
    "mo": MONTH, "mon": MONTH, "month": MONTH, "months": MONTH,
    "q": 3 * MONTH, "quarter": 3 * MONTH, "quarters": 3 * MONTH,
    "y": 12 * MONTH, "yr": 12 * MONTH, "year": 12 * MONTH, "years": 12 * MONTH,
}
_OFFSET_UNITS = {"offset_seconds": 1.0, "second_offset": 1.0, "seconds_offset": 1.0, "ten_second_offset": 10.0,
                 "minute_offset": 60.0, "hour_offset": HOUR, "day_offset": DAY}
_TIME_COLUMNS = ("timestamp", "time", "datetime", "date", "ts")
_SEASONS = {"daily": DAY, "weekly": WEEK}


def parse_duration(text: str, option: str) -> float:
    """Seconds in ``24h``, ``7d``, ``12mo``, ``52w``, ``90min``, ``1.5d`` (a month is 730 hours)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]+)\s*", str(text))
    unit = m.group(2).lower() if m else None
    if not m or unit not in _UNITS:
        raise InputError(f"{option}: '{text}' is not a duration (e.g. 90min, 24h, 7d, 52w, 12mo, 1y; a month is 730 h)")
    seconds = float(m.group(1)) * _UNITS[unit]
    if not seconds > 0:
        raise InputError(f"{option}: '{text}' must be positive")
    return seconds


@dataclass(frozen=True)
class Growth:
    rate: float  # +0.3 for +30 %
    per_seconds: float
    text: str

    def factor(self, seconds: np.ndarray | float) -> np.ndarray | float:
        return (1.0 + self.rate) ** (np.asarray(seconds, float) / self.per_seconds)


def parse_growth(text: str, option: str = "--growth") -> Growth:
    """``+30%/quarter``, ``-5%/month``, ``2.5%/week``: compound growth per period."""
    m = re.fullmatch(r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*%\s*/\s*(\d+(?:\.\d*)?)?\s*([a-zA-Z]+)\s*", str(text))
    unit = m.group(3).lower() if m else None
    if not m or unit not in _UNITS:
        raise InputError(f"{option}: '{text}' is not a growth rate (e.g. +30%/quarter, -5%/month, 10%/year)")
    rate = float(m.group(1)) / 100.0
    if rate <= -1.0:
        raise InputError(f"{option}: '{text}' would take demand to zero or below (rate must be above -100%)")
    per = float(m.group(2) or 1.0) * _UNITS[unit]
    if not per > 0:
        raise InputError(f"{option}: '{text}' has a zero period")
    return Growth(rate, per, str(text).strip())


@dataclass(frozen=True)
class ForecastOptions:
    horizon_seconds: float
    column: str = "requests"
    step_seconds: float | None = None  # of the history; None: inferred
    aggregate_seconds: float | None = None  # None: auto
    quantile: float | None = None  # None: write the mean
    interval: float = 0.9
    growth: Growth | None = None
    trend: str = "auto"  # auto | linear | none
    seasonality: tuple[str, ...] | None = None  # None: auto; () none


def parse_options(*, horizon: str, column: str = "requests", step_seconds: str | None = None, aggregate: str | None = None,
                  quantile: str | None = None, interval: str = "0.9", growth: str | None = None, trend: str = "auto",
                  seasonality: str = "auto") -> ForecastOptions:
    """Validate the command's strings; every problem becomes one line naming its option (exit 3)."""
    errors: list[str] = []

    def attempt(fn):
        try:
            return fn()
        except InputError as exc:
            errors.extend(exc.messages)
            return None

    def number(text, option, lo, hi, inclusive=False):
        try:
            value = float(text)
        except (TypeError, ValueError):
            raise InputError(f"{option}: '{text}' is not a number") from None
        ok = math.isfinite(value) and (lo <= value <= hi if inclusive else lo < value < hi)
        if not ok:
            raise InputError(f"{option}: {text} must be {'within' if inclusive else 'strictly between'} {lo:g} and {hi:g}")
        return value

    h = attempt(lambda: parse_duration(horizon, "--horizon"))
    if h is not None and h > MAX_HORIZON_HOURS * HOUR * (1 + 1e-12):
        errors.append(f"--horizon: '{horizon}' is {h / HOUR:,.0f} h; a problem's horizon_hours is at most {MAX_HORIZON_HOURS:.0f} h (3 years)")
    step = None if step_seconds is None else attempt(lambda: number(step_seconds, "--step-seconds", 0, math.inf))
    agg = None if aggregate in (None, "auto") else attempt(lambda: parse_duration(aggregate, "--aggregate"))
    q = None if quantile in (None, "mean") else attempt(lambda: number(quantile, "--quantile", 0, 1))
    iv = attempt(lambda: number(interval, "--interval", 0, 1))
    g = None if growth is None else attempt(lambda: parse_growth(growth))
    if trend not in ("auto", "linear", "none"):
        errors.append(f"--trend: '{trend}' is not one of auto, linear, none")
    seasons: tuple[str, ...] | None = None
    if seasonality != "auto":
        parts = tuple(p.strip().lower() for p in str(seasonality).split(",") if p.strip())
        if parts == ("none",):
            seasons = ()
        elif not parts or any(p not in _SEASONS for p in parts):
            errors.append(f"--seasonality: '{seasonality}' is not auto, none, daily, weekly or daily,weekly")
        else:
            seasons = tuple(s for s in _SEASONS if s in parts)
    if not column or not str(column).strip():
        errors.append("--column: empty column name")
    if errors:
        raise InputError(errors)
    return ForecastOptions(horizon_seconds=h, column=column, step_seconds=step, aggregate_seconds=agg, quantile=q,
                           interval=iv, growth=g, trend=trend, seasonality=seasons)


@dataclass(frozen=True)
class History:
    counts: np.ndarray  # per step, gaps filled with 0
    step_seconds: float
    source: str  # where the step came from
    notes: tuple[str, ...] = ()


def read_history(path: str | Path, column: str = "requests", step_seconds: float | None = None) -> History:
    """The count column of a CSV on an even grid of steps (missing steps of a timestamp/offset column count 0)."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, index_col=False)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a CSV file") from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError, OSError) as exc:
        raise InputError(f"{path}: cannot parse: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}") from None
    if column not in frame.columns:
        raise InputError(f"--column: column '{column}' not in {path} (columns: {', '.join(map(str, frame.columns))})")
    if frame.empty:
        raise InputError(f"{path}: no rows")
    counts = pd.to_numeric(frame[column], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(counts) | (counts < 0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0]) + 2  # header is line 1
        raise InputError(f"{path}:{first}: column '{column}': {int(bad.sum())} empty, non-numeric or negative value(s)")
    notes: list[str] = []
    times, unit, name = _time_column(frame, path)
    if step_seconds is not None:
        step, source = float(step_seconds), "--step-seconds"
    elif times is not None:
        diffs = np.diff(times) * unit
        if len(diffs) == 0 or not np.all(diffs > 0):
            raise InputError(f"{path}: column '{name}': times must increase strictly from row to row")
        step, source = float(np.median(diffs)), f"column '{name}'"
    else:
        step, source = 60.0, "default (no timestamp or offset column; --step-seconds to set it)"
    if times is not None:
        pos = (times - times[0]) * unit / step
        idx = np.rint(pos).astype(np.int64)
        if np.any(np.abs(pos - idx) > 1e-6) or np.any(np.diff(idx) <= 0):
            raise InputError(f"{path}: column '{name}': times are not on a grid of {step:g} s steps")
        if idx[-1] + 1 > MAX_HISTORY_STEPS:
            line = int(np.argmax(np.diff(idx))) + 3  # the file line after the widest gap (header = line 1)
            raise InputError(f"{path}:{line}: column '{name}': a gap of {int(np.diff(idx).max())} steps of {step:g} s "
                             f"would make the history {idx[-1] + 1:,} steps long (at most {MAX_HISTORY_STEPS:,})")
        if idx[-1] + 1 != len(idx):
            filled = np.zeros(idx[-1] + 1)
            filled[idx] = counts
            notes.append(f"{idx[-1] + 1 - len(idx)} missing step(s) in '{name}' counted as 0 requests")
            counts = filled
    return History(counts, step, source, tuple(notes))


def _time_column(frame: pd.DataFrame, path: Path) -> tuple[np.ndarray | None, float, str | None]:
    """(times in the column's unit, seconds per unit, column name) of an offset or timestamp column."""
    lower = {str(c).lower(): c for c in frame.columns}
    for key, unit in _OFFSET_UNITS.items():
        if key in lower:
            values = pd.to_numeric(frame[lower[key]], errors="coerce").to_numpy(float)
            if not np.isfinite(values).all():
                raise InputError(f"{path}: column '{lower[key]}': empty or non-numeric offsets")
            return values, unit, str(lower[key])
    for key in _TIME_COLUMNS:
        if key in lower:
            try:
                stamps = pd.to_datetime(frame[lower[key]], utc=True)
            except (ValueError, TypeError, OverflowError):
                raise InputError(f"{path}: column '{lower[key]}': not timestamps (e.g. 2024-05-10 00:00:00)") from None
            if stamps.isna().any():
                raise InputError(f"{path}: column '{lower[key]}': empty timestamps")
            return (stamps - stamps.iloc[0]).dt.total_seconds().to_numpy(float), 1.0, str(lower[key])
    return None, 1.0, None
