"""`planner report` and `planner diff` through the CLI: files written, exit codes, bad input."""

import json
from pathlib import Path

from click.testing import CliRunner

from planner.cli import main

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "problems" / "quickstart.yaml"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_report_writes_one_html_file_with_the_charts_and_baselines(tmp_path):
    out = tmp_path / "report.html"
    result = run("report", QUICKSTART, "-o", out)
    assert result.exit_code == 0, result.output
    html = out.read_text()
    for chart in ("chart-capacity", "chart-costs", "chart-baselines", "chart-frontier"):
        assert f'id="{chart}"' in html
    assert "Procurement recommendation" in html and "ttft_p99_ms=" in html  # the default frontier varies the TTFT target
    assert "utilisation-region-table" in html and "us-east 5.00" in html  # placement: the user region it serves
    assert "peak-on-demand" in html and "best-single-gpu" in html and "api-only" in html
    assert "<script" not in html and "http://" not in html.split("<svg", 1)[0].replace("http://www.w3.org", "")


def test_report_without_frontier(tmp_path):
    out = tmp_path / "report.html"
    assert run("report", QUICKSTART, "-o", out, "--no-frontier").exit_code == 0
    assert 'id="chart-frontier"' not in out.read_text()


def test_diff_of_two_saved_plans(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    doubled = tmp_path / "q10.yaml"
    doubled.write_text(QUICKSTART.read_text().replace("rps: 5", "rps: 10"))
    assert run("solve", QUICKSTART, "--no-baselines", "--format", "json", "-o", a).exit_code == 0
    assert run("solve", doubled, "--no-baselines", "--format", "json", "-o", b).exit_code == 0
    result = run("diff", a, b)
    assert result.exit_code == 0, result.output
    assert "Monthly cost change:" in result.output
    data = json.loads(run("diff", a, b, "--format", "json").stdout)
    plans = [json.loads(p.read_text()) for p in (a, b)]
    assert abs(sum(line["monthly_usd_change"] for line in data["lines"]) - (plans[1]["monthly_cost_usd"] - plans[0]["monthly_cost_usd"])) < 1e-6
    same = run("diff", a, a)
    assert same.exit_code == 0 and "No cost line changed" in same.output


def test_diff_rejects_a_malformed_plan_with_exit_3(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    good = tmp_path / "a.json"
    assert run("solve", QUICKSTART, "--no-baselines", "--format", "json", "-o", good).exit_code == 0
    result = run("diff", good, bad)
    assert result.exit_code == 3 and "bad.json" in result.output and "Traceback" not in result.output
