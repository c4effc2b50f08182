"""planner.forecast on synthetic series with a known level, trend and seasonality."""

import numpy as np
import pandas as pd
import pytest

from planner.errors import InputError
from planner.forecast import History, demand_csv, forecast, parse_duration, parse_growth, parse_options
from planner.problem import parse_problem
from planner.workload import demand_series

GROWTH_PER_DAY = 0.01  # +1 %/day compounded: (1.01 ** (730/24)) - 1 ≈ +35.4 % per month


def truth(hours: np.ndarray) -> np.ndarray:
    """Requests per hour: 50 req/s × growth × a daily shape (peak/trough 4) × weekends at half."""
    daily = 1 + 0.6 * np.sin(2 * np.pi * (hours % 24) / 24)
    weekend = np.where((hours // 24) % 7 >= 5, 0.5, 1.0)
    return 50 * 3600 * (1 + GROWTH_PER_DAY) ** (hours / 24) * daily * weekend


def synthetic(days: int, noise: float = 0.03, seed: int = 7) -> np.ndarray:
    hours = np.arange(days * 24)
    return truth(hours) * np.exp(np.random.default_rng(seed).normal(0, noise, len(hours)))


@pytest.fixture(scope="module")
def five_weeks():
    counts = synthetic(35)
    return counts, forecast(History(counts, 3600.0, "synthetic"), parse_options(horizon="7d"))


def test_recovers_trend_and_seasonality(five_weeks):
    _, result = five_weeks
    fit = result.summary["fit"]
    assert fit["seasonality"] == ["daily", "weekly"] and fit["trend"] == "linear"
    assert fit["trend_per_month"] == pytest.approx((1 + GROWTH_PER_DAY) ** (730 / 24) - 1, abs=0.06)
    assert fit["daily_peak_to_trough"] == pytest.approx(1.6 / 0.4, rel=0.12)
    assert fit["weekly_max_to_min_day"] == pytest.approx(2.0, rel=0.12)


def test_forecast_follows_the_true_future(five_weeks):
    _, result = five_weeks
    future = truth(np.arange(35 * 24, 42 * 24))
    mean = result.frame["mean"].to_numpy()
    assert len(mean) == 7 * 24 and result.step_seconds == 3600
    assert np.mean(np.abs(mean - future) / future) < 0.06
    assert mean[:24].mean() / 3600 == pytest.approx(result.summary["forecast"]["first_day_mean_rps"])
    observed = synthetic(42)[35 * 24:]  # the same noise stream, continued
    inside = (observed >= result.frame["lower"]) & (observed <= result.frame["upper"])
    assert inside.mean() >= 0.75  # a 90 % band


def test_intervals_widen_with_the_horizon(five_weeks):
    _, result = five_weeks
    f = result.frame
    assert (f["lower"] <= f["median"]).all() and (f["median"] <= f["upper"]).all() and (f["median"] <= f["mean"]).all()
    width = ((f["upper"] - f["lower"]) / f["median"]).to_numpy().reshape(7, 24).mean(axis=1)
    assert np.all(np.diff(width) > 0)
    year = forecast(History(five_weeks[0], 3600.0, "s"), parse_options(horizon="12mo")).frame
    wide = ((year["upper"] - year["lower"]) / year["median"]).to_numpy()
    assert wide[-1] > 1.5 * wide[0]  # the slope's uncertainty compounds


def test_upper_quantile_is_above_the_mean(five_weeks):
    counts, result = five_weeks
    q90 = forecast(History(counts, 3600.0, "s"), parse_options(horizon="7d", quantile="0.9")).frame
    assert (q90["requests"] >= result.frame["median"]).all()
    assert (q90["requests"] <= result.frame["upper"]).all()  # 0.9 lies inside the 0.05–0.95 band
    assert (result.frame["requests"] == result.frame["mean"]).all()


def test_pure_growth_scenario_multiplies_as_stated():
    counts = synthetic(4, noise=0.02) / truth(np.arange(96)) * 3600 * 20  # flat 20 req/s with noise
    base = dict(horizon="6mo", trend="none", seasonality="none")
    plain = forecast(History(counts, 3600.0, "s"), parse_options(**base)).frame
    grown = forecast(History(counts, 3600.0, "s"), parse_options(**base, growth="+30%/quarter")).frame
    ratio = (grown["requests"] / plain["requests"]).to_numpy()
    assert len(ratio) == 4380
    assert ratio[-1] == pytest.approx(1.3 ** 2, rel=1e-12)  # 6 months = two quarters
    assert ratio[2189] == pytest.approx(1.3, rel=1e-12)  # the end of the first quarter
    assert ratio == pytest.approx(1.3 ** ((np.arange(4380) + 1) / 2190), rel=1e-12)
    assert (grown["upper"] / plain["upper"]).iloc[-1] == pytest.approx(1.69, rel=1e-12)


def test_durations_and_growth_strings():
    assert parse_duration("12mo", "--horizon") == 8760 * 3600
    assert parse_duration("52w", "--horizon") == 52 * 7 * 86400
    assert parse_duration("1.5d", "--horizon") == 36 * 3600
    assert parse_duration("90min", "--aggregate") == 5400
    g = parse_growth("+30%/quarter")
    assert g.rate == pytest.approx(0.3) and g.factor(2 * 2190 * 3600) == pytest.approx(1.69)
    assert parse_growth("-5% / month").factor(730 * 3600) == pytest.approx(0.95)
    for bad in ("12", "12 parsecs", "-3d", "0h", "12m"):
        with pytest.raises(InputError, match="--horizon"):
            parse_duration(bad, "--horizon")
    for bad in ("30%", "+30/quarter", "-100%/year", "+30%/fortnightly"):
        with pytest.raises(InputError, match="--growth"):
            parse_growth(bad)


def test_every_bad_option_is_one_line_naming_it():
    with pytest.raises(InputError) as err:
        parse_options(horizon="soon", growth="lots", quantile="1.5", trend="up", seasonality="yearly", step_seconds="-1")
    lines = err.value.messages
    assert [line.split(":")[0] for line in lines] == ["--horizon", "--step-seconds", "--quantile", "--growth", "--trend", "--seasonality"]
    with pytest.raises(InputError, match="--horizon: .* at most 26352 h"):
        parse_options(horizon="4y")


def test_too_little_history_for_the_seasonality_requested():
    counts = synthetic(5)
    with pytest.raises(InputError, match="--seasonality: weekly seasonality needs more than 2 weeks of history; s has 5.00 days"):
        forecast(History(counts, 3600.0, "s"), parse_options(horizon="1d", seasonality="daily,weekly"), label="s")
    auto = forecast(History(counts, 3600.0, "s"), parse_options(horizon="1d"))
    assert auto.summary["fit"]["seasonality"] == ["daily"] and auto.summary["fit"]["trend"] == "none"
    assert "no weekly seasonality: needs more than 2 weeks of history; history has 5.00 days" in auto.notes and any("no trend fitted" in n for n in auto.notes)


def test_minutes_are_summed_to_hours_and_said_so():
    hourly = synthetic(3)
    minutes = np.repeat(hourly / 60, 60)
    result = forecast(History(minutes, 60.0, "m"), parse_options(horizon="12mo"))
    assert result.step_seconds == 3600 and len(result.frame) == 8760
    assert any("summed from 60 s to 3600 s" in n for n in result.notes)
    assert result.summary["forecast"]["peak_within_step"] == pytest.approx(1.0)
    assert np.isfinite(result.frame[["mean", "upper"]].to_numpy()).all()


def test_written_file_round_trips_through_the_file_profile(tmp_path, five_weeks):
    _, result = five_weeks
    (tmp_path / "demand.csv").write_text(demand_csv(result))
    text = ("name: t\nmodel: llama-3.1-8b\nworkload:\n  input_tokens: {mean: 1000}\n  output_tokens: {mean: 200}\n"
            "  demand: {profile: file, file: demand.csv, value_column: requests, step_seconds: 3600, period_hours: 24}\n"
            "  user_regions: {us-east: 1.0}\nslo: {ttft_p99_ms: 1000}\n")
    (tmp_path / "p.yaml").write_text(text)
    series = demand_series(parse_problem(text, tmp_path / "p.yaml"))
    written = pd.read_csv(tmp_path / "demand.csv")["requests"].to_numpy()
    assert series.horizon_hours == 7 * 24 and series.step_seconds == 3600
    assert series.step_rps == pytest.approx(written / 3600)
    assert series.step_rps == pytest.approx(result.frame["mean"].to_numpy() / 3600, rel=1e-6)
    assert series.demand_rps[0] == pytest.approx(written.reshape(7, 24).max(axis=1) / 3600)
