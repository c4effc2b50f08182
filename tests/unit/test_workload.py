"""Length samples and demand series built from a problem."""

import numpy as np
import pytest

from planner.problem import LengthStats, parse_problem
from planner.workload import demand_series, length_samples, samples_from_stats

HEAD = """\
name: t
model: llama-3.1-8b
workload:
  input_tokens: {mean: 1155, p50: 1020, p90: 2735, p99: 4142}
  output_tokens: {mean: 211}
  user_regions: {us-east: 0.75, eu-west: 0.25}
slo: {ttft_p99_ms: 1000}
"""


def _problem(demand: str, tmp_path=None):
    text = HEAD.replace("workload:\n", "workload:\n  demand: " + demand + "\n")
    path = (tmp_path / "p.yaml") if tmp_path else "p.yaml"
    if tmp_path:
        path.write_text(text)
    return parse_problem(text, path)


def test_samples_hit_the_given_percentiles():
    s = samples_from_stats(LengthStats(p50=1020, p90=2735, p99=4142), n=2000)
    assert np.percentile(s, 50) == pytest.approx(1020, rel=0.01)
    assert np.percentile(s, 90) == pytest.approx(2735, rel=0.01)
    assert np.percentile(s, 99) == pytest.approx(4142, rel=0.02)


def test_mean_only_is_constant_and_median_mean_is_lognormal():
    assert set(samples_from_stats(LengthStats(mean=211))) == {211.0}
    s = samples_from_stats(LengthStats(mean=300, p50=200), n=4000)
    assert np.median(s) == pytest.approx(200, rel=0.01)
    assert s.mean() == pytest.approx(300, rel=0.03)


def test_constant_demand_split_by_region():
    d = demand_series(_problem("{profile: constant, rps: 8, period_hours: 6, horizon_hours: 24}"))
    assert d.user_regions == ("eu-west", "us-east")
    assert d.period_hours.tolist() == [6, 6, 6, 6]
    assert d.demand_rps[:, 0].tolist() == [2.0, 6.0]


def test_diurnal_keeps_each_period_peak_and_weekend_factor():
    d = demand_series(_problem("{profile: diurnal, peak_rps: 40, trough_rps: 10, peak_hour: 14, weekend_factor: 0.5}"))
    total = d.demand_rps.sum(axis=0)
    assert len(total) == 168
    assert total.max() == pytest.approx(40, rel=1e-3)  # the peak is kept within the peak hour
    assert total[:24].argmax() in (13, 14)
    assert 10 <= total[:24].min() < 10.6  # the trough period keeps its own (slightly higher) peak
    assert total[5 * 24 + 14] == pytest.approx(0.5 * total[14], rel=1e-6)  # Saturday


def test_file_profile_keeps_the_busiest_step(tmp_path):
    (tmp_path / "rates.csv").write_text("minute,requests\n" + "\n".join(f"{i},{60 if i == 7 else 6}" for i in range(120)))
    loaded = _problem("{profile: file, file: rates.csv, period_hours: 1}", tmp_path)
    d = demand_series(loaded)
    assert d.demand_rps.sum(axis=0).tolist() == [1.0, 0.1]
    assert d.period_hours.tolist() == [1.0, 1.0]


def test_lengths_file_subsample_is_deterministic(tmp_path):
    rows = "\n".join(f"{100 + i},{10 + i % 7}" for i in range(5000))
    (tmp_path / "len.csv").write_text("input_tokens,output_tokens\n" + rows)
    text = HEAD.replace("  input_tokens: {mean: 1155, p50: 1020, p90: 2735, p99: 4142}\n  output_tokens: {mean: 211}\n",
                        "  lengths_file: len.csv\n  demand: {profile: constant, rps: 1}\n")
    (tmp_path / "p.yaml").write_text(text)
    loaded = parse_problem(text, tmp_path / "p.yaml")
    a, b = length_samples(loaded), length_samples(loaded)
    assert len(a[0]) == 2000 and np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_requests_count_the_mean_rate_not_the_planned_peak():
    d = demand_series(_problem("{profile: diurnal, peak_rps: 40, trough_rps: 10, period_hours: 4}"))
    assert d.requests == pytest.approx(25 * 168 * 3600, rel=2e-3)  # mean of the cosine day = (peak + trough) / 2
    assert d.demand_rps.sum(axis=0).max() == pytest.approx(40)
    c = demand_series(_problem("{profile: constant, rps: 3, horizon_hours: 10}"))
    assert c.requests == pytest.approx(3 * 10 * 3600)


def test_short_periods_all_get_demand():
    d = demand_series(_problem("{profile: diurnal, peak_rps: 50, trough_rps: 40, period_hours: 0.05, horizon_hours: 24}"))
    assert d.demand_rps.sum(axis=0).min() >= 40


def test_mean_and_one_percentile_give_a_lognormal_with_both():
    s = samples_from_stats(LengthStats(mean=1000, p90=2000), n=4000)
    assert np.percentile(s, 90) == pytest.approx(2000, rel=0.02)
    assert s.mean() == pytest.approx(1000, rel=0.05)
    # no log-normal has mean 500 and p90 2000: the percentile is kept, the mean comes as close as it can
    s = samples_from_stats(LengthStats(mean=500, p90=2000), n=4000)
    assert np.percentile(s, 90) == pytest.approx(2000, rel=0.02) and s.mean() < 1000


def test_stated_mean_is_matched_by_the_tail_beyond_p99():
    s = samples_from_stats(LengthStats(mean=211, p50=129, p90=424, p99=601))
    assert s.mean() == pytest.approx(211, rel=0.01)
    assert np.percentile(s, 50) == pytest.approx(129, rel=0.02) and np.percentile(s, 90) == pytest.approx(424, rel=0.02)


def test_non_finite_rates_and_lengths_are_input_errors(tmp_path):
    from planner.errors import ProblemError

    (tmp_path / "rates.csv").write_text("minute,requests\n")
    with pytest.raises(ProblemError, match="no rows"):
        demand_series(_problem("{profile: file, file: rates.csv}", tmp_path))
    with pytest.raises(ProblemError, match="finite number|Input should be"):
        _problem("{profile: constant, rps: .inf}")


def test_a_demand_file_step_longer_than_a_period_is_refused(tmp_path):
    """A daily file (e.g. a long forecast) read with hourly periods would put each day into one hour."""
    from planner.errors import ProblemError
    from planner.problem import parse_problem
    from planner.workload import demand_series

    (tmp_path / "daily.csv").write_text("requests\n" + "\n".join(["86400"] * 7) + "\n")
    text = """
name: t
model: llama-3.1-8b
workload:
  input_tokens: {mean: 100}
  output_tokens: {mean: 100}
  demand: {profile: file, file: daily.csv, step_seconds: 86400, period_hours: PERIOD}
slo: {tpot_p99_ms: 50}
"""
    with pytest.raises(ProblemError, match="period_hours.*whole number of the file's 86400-second steps"):
        demand_series(parse_problem(text.replace("PERIOD", "1"), tmp_path / "p.yaml"))
    series = demand_series(parse_problem(text.replace("PERIOD", "24"), tmp_path / "p.yaml"))
    assert series.period_hours.tolist() == [24.0] * 7
    assert series.demand_rps.sum(axis=0).tolist() == pytest.approx([1.0] * 7)  # 86,400 requests a day = 1 req/s
