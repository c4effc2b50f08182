"""`planner forecast`: fit level, trend and daily/weekly seasonality to a history of request counts
and write a demand file that a problem reads as ``workload.demand: {profile: file, ...}``.

Model (statsmodels), and why
    Request counts are multiplicative: a busy day scales every hour, and the code trace's busiest
    hour is 9× its quietest. So everything is fitted to ``log(1 + count)`` and transformed back
    (log-normal mean, exact quantiles; intervals stay positive and widen upwards).

    1. **Shape: MSTL** (``statsmodels.tsa.seasonal.MSTL``) splits the log series at the fitting step
       into a daily and a weekly seasonal component (each only where the history holds more than two
       full cycles) and a seasonally adjusted rest. The seasonal forecast repeats the last cycle of
       each component, as ``STLForecast`` does.
    2. **Level and trend: a structural time-series model on daily means**
       (``statsmodels.tsa.statespace.structural.UnobservedComponents``): the seasonally adjusted
       series is averaged per day, and the daily level is a constant (``--trend none``) or a line
       (``deterministic trend``) plus AR(1) day-to-day deviations. Intercept and slope are states with
       a diffuse start, so their estimation uncertainty enters the intervals (the slope's grows with
       the square of the horizon). The step-level rest (value minus its day's level) is added as
       independent noise, its variance measured out of sample (MSTL refitted without the last week or
       day, whose shape is then forecast), since the in-sample residual understates it.

    Why this and not one model at the fitting step? On the Azure 2024 hourly traces a maximum-
    likelihood local-level/ETS model of the adjusted hourly series makes the level a random walk
    with an hourly step of 4–9 % (hour-to-hour deviations wander within a day): harmless over a day,
    but over 12 months (8,760 steps) its log variance reaches ~67 (the log-normal mean gains a factor
    e^33); a local-level model on 7 daily means gave 10^21 req/s at 12 months from the weekend dip. A damped ETS trend at
    hourly resolution (φ ≤ 0.98) vanishes within two days. Modelling the level per day, trend-
    stationary, keeps what drifts (the day's level, the slope) apart from what does not (the hourly
    wiggle), and long horizons stay finite. UnobservedComponents rather than ETS for the level because
    its intervals include the uncertainty of the estimated intercept and slope, and rather than SARIMA
    because it needs few points (a week of history is 7 daily means). Measured against seasonal-naive
    on the public traces: benchmarks/forecast_traces.py.

    A trend is estimated only from at least 28 days of history (``--trend auto``): over a shorter
    span the weekly cycle and a trend cannot be told apart (a week that starts on a weekend "grows").
    ``--growth "+30%/quarter"`` multiplies the forecast (mean, quantiles and interval bounds) by
    ``1.3 ** (t / quarter)`` at the end of each step, on top of the fitted trend or, with
    ``--trend none``, instead of it.

    With fewer than 3 days the level is modelled per step instead, winsorized at 5 robust σ (a
    trace's partial first or last minute would otherwise set the level's variance).

Resolution
    A history finer than an hour that spans at least two days is summed to hourly steps before the
    fit (``--aggregate`` chooses another step): the minute-to-minute noise cannot be forecast, MSTL
    and the output stay small (12 months = 8,760 rows), and the output says so together with how far
    the busiest sub-step rose above its hour (the headroom the hourly file does not show).

Output file: one row per step of ``step_seconds`` starting right after the history ends:
``offset_seconds``, the planned count (``--column``; the mean, or the ``--quantile``), ``mean``,
``median``, ``lower`` and ``upper`` (the central ``--interval``). ``planner.workload`` reads the
count column as requests per step.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
import pandas as pd

from planner.errors import InputError
from planner.units import HOURS_PER_MONTH
from planner.forecast_input import (_SEASONS, DAY, HOUR, MIN_LEVEL_POINTS, MONTH, TREND_MIN_DAYS, ForecastOptions, Growth,
                                    History, parse_duration, parse_growth, parse_options, read_history)

# the input side is planner.forecast_input; its public names are available here too
__all__ = ["ForecastOptions", "Growth", "History", "parse_duration", "parse_growth", "parse_options", "read_history",
           "Forecast", "forecast", "demand_csv", "demand_snippet", "render_summary"]

@dataclass
class Forecast:
    frame: pd.DataFrame  # the demand file
    summary: dict
    step_seconds: float
    notes: list[str] = field(default_factory=list)


def _fit_level(daily: np.ndarray, trend: bool) -> tuple[object, float | None, float | None]:
    """(fitted UnobservedComponents results or None for a flat series, slope per point, its std err)."""
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    if np.ptp(daily) < 1e-12:
        return None, (0.0 if trend else None), (0.0 if trend else None)
    model = UnobservedComponents(daily, level="dtrend" if trend else "dconstant", autoregressive=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on short series; the fit is still the MLE found
        res = model.fit(disp=False, method="lbfgs", maxiter=500)
    if not np.all(np.isfinite(res.params)):
        raise InputError("history: the level model did not converge (too few or degenerate points)")
    if not trend:
        return res, None, None
    slope = float(res.smoothed_state[1, -1])
    se = float(np.sqrt(max(res.smoothed_state_cov[1, 1, -1], 0.0)))
    return res, slope, se


def _holdout_wiggle(x: np.ndarray, periods: list[int], per_day: int) -> float:
    """Variance of the step-level error (about each day's mean) of the shape forecast, measured out of
    sample: MSTL refitted without the last week (or day), whose shape is then forecast by repeating the
    last cycles. The in-sample residual is smaller, since the loess components absorb part of the noise
    at both ends (90 % bands built on it held only ~60 % on a synthetic series). 0 when too short."""
    from statsmodels.tsa.seasonal import MSTL

    n = len(x)
    for held in (7 * per_day, per_day):
        if n - held > 2 * max(periods):  # MSTL needs more than two cycles
            break
    else:
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = np.asarray(MSTL(x[: n - held], periods=periods).fit().seasonal, float).reshape(n - held, -1)
    shape = sum(np.resize(fit[n - held - p:, j], held) for j, p in enumerate(periods))
    err = (x[n - held:] - shape).reshape(-1, per_day)
    return float(np.var(err - err.mean(axis=1, keepdims=True)))


def forecast(history: History, options: ForecastOptions, *, label: str = "history") -> Forecast:
    """Fit and forecast; raises InputError naming the option when the history cannot support the request."""
    notes = list(history.notes)
    step0 = history.step_seconds
    counts = history.counts
    span = len(counts) * step0
    # ---- resolution of the fit
    if options.aggregate_seconds is not None:
        fit_step = options.aggregate_seconds
        k = fit_step / step0
        if k < 1 - 1e-9 or abs(k - round(k)) > 1e-6:
            raise InputError(f"--aggregate: {fit_step:g} s is not a whole multiple of the history's {step0:g} s step")
    elif step0 < HOUR and span >= 2 * DAY and abs(HOUR / step0 - round(HOUR / step0)) < 1e-6:
        fit_step = HOUR
    else:
        fit_step = step0
    k = int(round(fit_step / step0))
    usable = (len(counts) // k) * k
    if usable == 0:
        raise InputError(f"--aggregate: {label} spans {span / HOUR:g} h, less than one {fit_step:g} s step")
    if usable < len(counts):
        notes.append(f"left out the first {len(counts) - usable} step(s) of {step0:g} s (an incomplete {fit_step:g} s step)")
    blocks = counts[len(counts) - usable:].reshape(-1, k)
    y = blocks.sum(axis=1)
    peak_within = None
    if k > 1:
        notes.append(f"history summed from {step0:g} s to {fit_step:g} s steps before fitting (minute-level noise is not forecastable; "
                     f"the file stays small over long horizons)")
        busy = blocks.sum(axis=1) > 0
        if busy.any():
            ratio = blocks[busy].max(axis=1) * k / blocks[busy].sum(axis=1)
            peak_within = float(np.percentile(ratio, 90))
            notes.append(f"within a {fit_step:g} s step the busiest {step0:g} s step ran at {peak_within:.2f}× the step's mean rate "
                         f"(90th percentile over the history); the file shows only step means: plan headroom for it")
    n = len(y)
    span_fit = n * fit_step
    # ---- seasonality
    def supported(season: str) -> str | None:
        period = _SEASONS[season] / fit_step
        if period < 2 or abs(period - round(period)) > 1e-6:
            return f"{season} seasonality needs a step that divides {_SEASONS[season] / HOUR:g} h into at least 2 (fitting step {fit_step:g} s)"
        if n <= 2 * round(period):  # MSTL needs more than two cycles
            need = "2 days" if season == "daily" else "2 weeks"
            return f"{season} seasonality needs more than {need} of history; {label} has {span_fit / DAY:.2f} days"
        return None

    if options.seasonality is None:
        seasons = []
        for s in _SEASONS:
            why = supported(s)
            if why is None:
                seasons.append(s)
            elif _SEASONS[s] > fit_step:
                notes.append(f"no {why.replace(' needs ', ': needs ', 1)}")
    else:
        problems = [why for why in (supported(s) for s in options.seasonality) if why]
        if problems:
            raise InputError([f"--seasonality: {p}" for p in problems])
        seasons = list(options.seasonality)
    periods = [int(round(_SEASONS[s] / fit_step)) for s in seasons]
    # ---- shape: MSTL on log counts
    x = np.log1p(y)
    if periods:
        from statsmodels.tsa.seasonal import MSTL

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = MSTL(x, periods=periods).fit()
        seasonal = np.asarray(res.seasonal, float).reshape(n, -1)
    else:
        seasonal = np.zeros((n, 0))
    adjusted = x - seasonal.sum(axis=1)
    # ---- level and trend per day (or per step when a day is one step or more, or too few days)
    per_day = int(round(DAY / fit_step)) if fit_step < DAY and abs(DAY / fit_step - round(DAY / fit_step)) < 1e-6 else 1
    if per_day > 1 and n // per_day < MIN_LEVEL_POINTS:
        notes.append(f"fewer than {MIN_LEVEL_POINTS} days of history: the level is modelled per {fit_step:g} s step, "
                     f"so the intervals widen quickly")
        per_day = 1
    n_level = n // per_day
    if n_level < MIN_LEVEL_POINTS:
        raise InputError(f"{label}: too little history: {n} step(s) of {fit_step:g} s; need at least {MIN_LEVEL_POINTS}")
    tail = adjusted[n - n_level * per_day:]
    daily = tail.reshape(n_level, per_day).mean(axis=1)
    wiggle_var = float(np.var(tail - np.repeat(daily, per_day))) if per_day > 1 else 0.0
    if per_day > 1 and periods:
        wiggle_var = max(wiggle_var, _holdout_wiggle(x, periods, per_day))
    level_step = per_day * fit_step
    if options.trend == "auto":
        use_trend = span_fit >= TREND_MIN_DAYS * DAY
        if not use_trend:
            notes.append(f"no trend fitted: {span_fit / DAY:.1f} days of history (a trend needs ≥ {TREND_MIN_DAYS:g} days, "
                         f"--trend linear to force one); use --growth to state one")
    else:
        use_trend = options.trend == "linear"
    if use_trend and n_level < 4:
        raise InputError(f"--trend: a linear trend needs at least 4 level points; {label} gives {n_level}")
    if per_day == 1 and len(daily) >= 8:
        # modelled per step, one glitch (a trace's partial first or last minute, an outage) would set the
        # level's variance: winsorize at 5 robust standard deviations around the median
        centre = float(np.median(daily))
        spread = 5 * 1.4826 * float(np.median(np.abs(daily - centre)))
        clipped = np.clip(daily, centre - spread, centre + spread)
        if spread > 0 and np.any(clipped != daily):
            notes.append(f"{int(np.sum(clipped != daily))} outlying step(s) (beyond 5 robust σ of the log level) clipped for the level fit")
            daily = clipped
    level_res, slope, slope_se = _fit_level(daily, use_trend)
    # ---- forecast
    steps = int(math.ceil(options.horizon_seconds / fit_step - 1e-9))
    n_days = int(math.ceil(steps / per_day))
    if level_res is None:
        mu_day = np.full(n_days, daily[-1])
        var_day = np.zeros(n_days)
        level_sigma, level_ar = 0.0, 0.0
    else:
        fc = level_res.get_forecast(n_days)
        mu_day = np.asarray(fc.predicted_mean, float)
        var_day = np.maximum(np.asarray(fc.var_pred_mean, float), 0.0)
        names = list(level_res.model.param_names)
        level_sigma = float(np.sqrt(max(level_res.params[names.index("sigma2.ar")], 0.0)))
        level_ar = float(level_res.params[names.index("ar.L1")])
    mu = np.repeat(mu_day, per_day)[:steps]
    var = np.repeat(var_day, per_day)[:steps] + wiggle_var
    if periods:
        for j, p in enumerate(periods):
            last = seasonal[n - p:, j]
            mu = mu + np.resize(last, steps)
    sd = np.sqrt(var)
    z = NormalDist().inv_cdf(0.5 + options.interval / 2)
    t_end = (np.arange(steps) + 1) * fit_step
    factor = options.growth.factor(t_end) if options.growth is not None else np.ones(steps)
    mean = np.maximum(np.expm1(mu + var / 2), 0.0) * factor
    median = np.maximum(np.expm1(mu), 0.0) * factor
    lower = np.maximum(np.expm1(mu - z * sd), 0.0) * factor
    upper = np.maximum(np.expm1(mu + z * sd), 0.0) * factor
    if options.quantile is None:
        planned, planned_label = mean, "mean"
    else:
        planned = np.maximum(np.expm1(mu + NormalDist().inv_cdf(options.quantile) * sd), 0.0) * factor
        planned_label = f"quantile {options.quantile:g}"
    frame = pd.DataFrame({
        "offset_seconds": np.arange(steps) * fit_step,
        options.column: planned, "mean": mean, "median": median, "lower": lower, "upper": upper,
    })
    # ---- summary
    hist_rate = y.sum() / span_fit
    day_n = min(steps, max(1, int(round(DAY / fit_step))))
    end_level = float(daily[-1]) if level_res is None else float(mu_day[0])
    shape_mean = float(np.log(np.mean(np.exp(seasonal[n - periods[0]:, 0])))) if periods else 0.0
    level_rps = float(np.expm1(end_level + shape_mean) / fit_step)  # the smoothed daily level, over the first cycle's shape
    fit: dict = {
        "step_seconds": fit_step,
        "points": n,
        "seasonality": seasons,
        "trend": "linear" if use_trend else "none",
        "model": ("log(1+count); MSTL(" + ", ".join(f"{s} {p}" for s, p in zip(seasons, periods)) + ") shape; " if periods
                  else "log(1+count); no seasonal shape; ")
                 + ("UnobservedComponents(deterministic trend + AR(1))" if use_trend else "UnobservedComponents(constant + AR(1))")
                 + (f" on daily means (+ hourly residual σ {math.sqrt(wiggle_var):.3f})" if per_day > 1 else f" per {fit_step:g} s step"),
        "level_rps": level_rps,  # the daily level forecast for the first day, over the daily shape
        "level_sigma_per_level_step": level_sigma,
        "level_ar1": level_ar,
        "level_step_seconds": level_step,
        "trend_per_month": None if slope is None else float(math.expm1(slope * MONTH / level_step)),
        "trend_per_month_stderr": None if slope_se is None else float(slope_se * MONTH / level_step),
        "daily_peak_to_trough": None,
        "weekly_max_to_min_day": None,
    }
    if "daily" in seasons:
        cycle = seasonal[n - periods[seasons.index("daily")]:, seasons.index("daily")]
        fit["daily_peak_to_trough"] = float(np.exp(cycle.max() - cycle.min()))
        fit["daily_peak_step"] = int(np.argmax(cycle))  # steps after a day boundary of the history's end
    if "weekly" in seasons:
        cycle = seasonal[n - periods[seasons.index("weekly")]:, seasons.index("weekly")]
        days = np.exp(cycle).reshape(7, -1).mean(axis=1) if len(cycle) % 7 == 0 else np.exp(cycle)
        fit["weekly_max_to_min_day"] = float(days.max() / days.min())
    horizon_h = steps * fit_step / HOUR
    if options.horizon_seconds > 10 * span:
        notes.append(f"the horizon is {options.horizon_seconds / span:.0f}× the history: read the intervals, not only the mean")
    width = (upper - lower) / np.where(median > 0, median, 1.0)
    summary = {
        "history": {"file": label, "column": options.column, "rows": int(len(history.counts)), "step_seconds": step0,
                    "step_from": history.source, "span_hours": span / HOUR, "requests": float(counts.sum()),
                    "mean_rps": float(counts.sum() / span)},
        "fit": fit,
        "forecast": {
            "horizon_hours": horizon_h, "steps": steps, "step_seconds": fit_step, "written": planned_label,
            "interval": options.interval,
            "mean_rps": float(mean.mean() / fit_step), "peak_rps": float(planned.max() / fit_step),
            "planned_mean_rps": float(planned.mean() / fit_step), "requests": float(planned.sum()),
            "first_day_mean_rps": float(mean[:day_n].mean() / fit_step), "last_day_mean_rps": float(mean[-day_n:].mean() / fit_step),
            "history_mean_rps": float(hist_rate),
            "interval_width_first_step": float(width[0]), "interval_width_last_step": float(width[-1]),
            "growth": None if options.growth is None else {
                "scenario": options.growth.text, "on": "fitted trend" if use_trend else "level (no fitted trend)",
                "factor_at_horizon": float(factor[-1])},
            "peak_within_step": peak_within,
        },
        "notes": notes,
    }
    return Forecast(frame, summary, fit_step, notes)


def demand_csv(result: Forecast) -> str:
    """The demand file's text: fixed decimals so that the same input gives the same bytes."""
    return result.frame.to_csv(index=False, float_format="%.4f", lineterminator="\n")


def demand_snippet(result: Forecast, file: str, column: str) -> dict:
    """What a problem needs to read the file: ``workload.demand`` fields. Over more than a month, a
    day a period (each day's peak): a long timeline of hourly periods would make a large MILP."""
    horizon = round(result.summary["forecast"]["horizon_hours"], 6)
    period = max(1.0, result.step_seconds / 3600.0)  # a period holds whole steps
    if horizon > HOURS_PER_MONTH and DAY % result.step_seconds == 0:
        period = max(period, 24.0)
    return {"profile": "file", "file": file, "value_column": column, "step_seconds": result.step_seconds,
            "period_hours": period, "horizon_hours": horizon}


def render_summary(result: Forecast, fmt: str, output: str | None) -> str:
    s = result.summary
    s = {**s, "output": {"file": output, "demand": demand_snippet(result, output or "demand.csv", s["history"]["column"])}}
    if fmt == "json":
        import json

        return json.dumps(s, indent=2) + "\n"
    rows = _flatten(s)
    if fmt == "csv":
        frame = pd.DataFrame(rows, columns=["field", "value"])
        return frame.to_csv(index=False, lineterminator="\n")
    h, f, fc = s["history"], s["fit"], s["forecast"]

    def pct(v):
        return "–" if v is None else f"{v:+.1%}"

    lines = [
        ("history", f"{h['file']}: {h['rows']} rows of {h['step_seconds']:g} s ({h['step_from']}), {h['span_hours']:,.1f} h, "
                    f"{h['requests']:,.0f} requests, {h['mean_rps']:,.2f} req/s mean"),
        ("fitted at", f"{f['step_seconds']:g} s steps ({f['points']} points)"),
        ("model", f["model"]),
        ("level", f"{f['level_rps']:,.2f} req/s (the first forecast day's level over the daily shape)"),
        ("trend", "none" if f["trend_per_month"] is None else f"{pct(f['trend_per_month'])} per month (± {f['trend_per_month_stderr']:.1%} in log, 1σ)"),
        ("daily shape", "–" if f["daily_peak_to_trough"] is None else f"peak/trough {f['daily_peak_to_trough']:.2f}×"),
        ("weekly shape", "–" if f["weekly_max_to_min_day"] is None else f"busiest/quietest day {f['weekly_max_to_min_day']:.2f}×"),
        ("horizon", f"{fc['horizon_hours']:,.1f} h in {fc['steps']} steps of {fc['step_seconds']:g} s"),
        ("written", f"{fc['written']} (column '{h['column']}'); interval {fc['interval']:.0%} in 'lower'/'upper'"),
        ("forecast", f"mean {fc['mean_rps']:,.2f} req/s (first day {fc['first_day_mean_rps']:,.2f}, last day {fc['last_day_mean_rps']:,.2f}); "
                     f"planned peak {fc['peak_rps']:,.2f} req/s; {fc['requests']:,.0f} requests planned"),
        ("interval width", f"{fc['interval_width_first_step']:.0%} of the median at the first step, {fc['interval_width_last_step']:.0%} at the last"),
    ]
    if fc["growth"]:
        lines.append(("growth", f"{fc['growth']['scenario']} on the {fc['growth']['on']}: ×{fc['growth']['factor_at_horizon']:.4f} at the horizon"))
    d = s["output"]["demand"]
    lines.append(("output", (f"wrote {output}" if output else "no file written (-o FILE)")))
    lines.append(("use it as", "workload.demand: {" + ", ".join(f"{k}: {v:g}" if isinstance(v, float) else f"{k}: {v}" for k, v in d.items()) + "}"))
    if d["horizon_hours"] > HOURS_PER_MONTH:
        lines.append(("commitments", "with options.commitment_starts: monthly the plan starts reserved or owned capacity in the "
                                     "month the forecast needs it"))
    width = max(len(k) for k, _ in lines)
    text = "\n".join(f"{k:<{width}}  {v}" for k, v in lines)
    for note in s["notes"]:
        text += f"\nnote: {note}"
    return text + "\n"


def _flatten(d: dict, prefix: str = "") -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.extend(_flatten(v, key + "."))
        elif isinstance(v, list):
            out.append((key, "; ".join(map(str, v))))
        else:
            out.append((key, v))
    return out
