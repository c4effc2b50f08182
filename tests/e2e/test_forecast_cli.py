"""`planner forecast` end to end: the demand file a problem reads, the summary, determinism, and bad input."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from planner.cli import main
from planner.problem import load_problem
from planner.workload import demand_series


def run(*args):
    return CliRunner().invoke(main, ["forecast", *map(str, args)])


def no_traceback(result):
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """Four days per minute (a daily cycle, peak/trough 3) with a partial first minute, as the traces have."""
    rng = np.random.default_rng(3)
    minutes = np.arange(4 * 1440)
    rate = 600 * (1 + 0.5 * np.sin(2 * np.pi * minutes / 1440))
    counts = rng.poisson(rate)
    counts[0] = 5
    path = tmp_path_factory.mktemp("h") / "history.csv"
    pd.DataFrame({"minute_offset": minutes, "requests": counts}).to_csv(path, index=False)
    return path


def test_writes_a_demand_file_a_problem_reads(history, tmp_path):
    out = tmp_path / "demand.csv"
    result = run(history, "--horizon", "7d", "--quantile", "0.9", "--growth", "+10%/month", "-o", out, "--format", "json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["history"]["step_seconds"] == 60 and summary["history"]["step_from"] == "column 'minute_offset'"
    assert summary["fit"]["step_seconds"] == 3600 and summary["fit"]["seasonality"] == ["daily"]
    assert summary["forecast"]["written"] == "quantile 0.9" and summary["forecast"]["steps"] == 168
    assert any("summed from 60 s to 3600 s" in n for n in summary["notes"])
    demand = summary["output"]["demand"]
    assert demand == {"profile": "file", "file": str(out), "value_column": "requests", "step_seconds": 3600.0,
                      "period_hours": 1.0, "horizon_hours": 168.0}
    (tmp_path / "p.yaml").write_text(
        "name: t\nmodel: llama-3.1-8b\nworkload:\n  input_tokens: {mean: 1000}\n  output_tokens: {mean: 200}\n"
        "  demand: {profile: file, file: demand.csv, value_column: requests, step_seconds: 3600, period_hours: 24,"
        " horizon_hours: 168}\n  user_regions: {us-east: 1.0}\nslo: {ttft_p99_ms: 1000}\n")
    series = demand_series(load_problem(tmp_path / "p.yaml"))
    written = pd.read_csv(out)
    assert list(written.columns) == ["offset_seconds", "requests", "mean", "median", "lower", "upper"]
    assert series.step_rps == pytest.approx(written["requests"].to_numpy() / 3600)
    assert len(series.period_hours) == 7
    # the planned hourly rate is about the history's 600/min with its daily swing, growing by +10 %/month
    assert 0.5 * 600 / 60 < series.mean_rps.mean() < 2 * 600 / 60
    assert written["requests"].max() / written["requests"].min() > 2


def test_same_input_same_bytes(history, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    ra = run(history, "--horizon", "12mo", "-o", a)
    rb = run(history, "--horizon", "12mo", "-o", b)
    assert ra.exit_code == rb.exit_code == 0, ra.output
    assert a.read_bytes() == b.read_bytes()
    assert ra.stdout.replace(str(a), "X") == rb.stdout.replace(str(b), "X")
    assert len(pd.read_csv(a)) == 8760


def test_table_and_csv_summaries(history):
    table = run(history, "--horizon", "24h")
    assert table.exit_code == 0, table.output
    assert "no file written" in table.stdout and "workload.demand: {profile: file" in table.stdout
    assert "note: no weekly seasonality: needs more than 2 weeks" in table.stdout
    csv = run(history, "--horizon", "24h", "--format", "csv")
    rows = dict(line.split(",", 1) for line in csv.stdout.strip().splitlines()[1:])
    assert rows["forecast.steps"] == "24" and rows["output.demand.profile"] == "file"


@pytest.mark.parametrize("args, expected", [
    (["missing.csv", "--horizon", "1d"], ["error: missing.csv: file not found"]),
    (["{h}", "--horizon", "1d", "--column", "rps"], ["error: --column: column 'rps' not in"]),
    (["{h}", "--horizon", "soon", "--growth", "lots"], ["error: --horizon: 'soon' is not a duration",
                                                         "error: --growth: 'lots' is not a growth rate"]),
    (["{h}", "--horizon", "1d", "--seasonality", "weekly"],
     ["error: --seasonality: weekly seasonality needs more than 2 weeks of history"]),
    (["{h}", "--horizon", "1d", "--quantile", "1.2"], ["error: --quantile: 1.2 must be strictly between 0 and 1"]),
    (["{h}", "--horizon", "1d", "--aggregate", "90s"], ["error: --aggregate: 90 s is not a whole multiple"]),
])
def test_bad_input_exits_3_with_one_line_each(history, tmp_path, monkeypatch, args, expected):
    monkeypatch.chdir(tmp_path)
    result = run(*[a.replace("{h}", str(history)) for a in args])
    no_traceback(result)
    assert result.exit_code == 3, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(expected)
    for line, start in zip(lines, expected):
        assert line.startswith(start), line


def test_bad_values_in_the_history(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("minute_offset,requests\n0,5\n1,-2\n2,x\n")
    result = run(path, "--horizon", "1h")
    no_traceback(result)
    assert result.exit_code == 3
    assert result.stderr.strip() == f"error: {path}:3: column 'requests': 2 empty, non-numeric or negative value(s)"


def test_step_from_a_timestamp_column_and_gaps(tmp_path):
    path = tmp_path / "h.csv"
    stamps = pd.date_range("2024-05-10", periods=80, freq="h")
    frame = pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%d %H:%M:%S"), "requests": np.full(80, 3600.0)}).drop(index=[10])
    frame.to_csv(path, index=False)
    result = run(path, "--horizon", "2d", "--format", "json", "--seasonality", "none")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["history"]["step_seconds"] == 3600 and summary["history"]["rows"] == 80
    assert "1 missing step(s) in 'timestamp' counted as 0 requests" in summary["notes"]
