"""The HTML report end to end: solved plans rendered to one page, checked as text and in headless Chromium."""

import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from planner.catalog import load_catalogs
from planner.pipeline import solve_problem
from planner.problem import load_problem, parse_problem
from planner.report.charts import capacity_by_tier, capacity_chart
from planner.report.html_report import render_html

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "problems" / "quickstart.yaml"
CHROMIUM = Path("/usr/bin/chromium")
SVG = "{http://www.w3.org/2000/svg}"

BASELINES = [
    {"name": "all on-demand", "monthly_cost_usd": 2900.0, "note": "no reserved, no spot"},
    {"name": "one H100 per region", "monthly_cost_usd": 5100.0, "note": "the usual first guess"},
    {"name": "api-only", "monthly_cost_usd": None, "note": "no per-token API serves this model"},
]
FRONTIER = [
    {"label": "tight", "monthly_cost_usd": 4100.0, "ttft_p99_ms": 500.0, "tpot_p99_ms": 30.0, "e2e_p99_ms": None,
     "setting": "ttft_p99_ms=500"},
    {"label": "as planned", "monthly_cost_usd": 1738.0, "ttft_p99_ms": 1900.0, "tpot_p99_ms": 80.0, "e2e_p99_ms": None,
     "setting": "ttft_p99_ms=2000"},
]
ALL_CHARTS = {"chart-capacity", "chart-costs", "chart-baselines", "chart-frontier"}


@pytest.fixture(scope="module")
def catalogs():
    return load_catalogs()


@pytest.fixture(scope="module")
def quickstart(catalogs):
    return solve_problem(load_problem(QUICKSTART), catalogs)


@pytest.fixture(scope="module")
def diurnal(catalogs):
    """Demand that varies over four periods, spot counted at 80 % and some requests sent to an API:
    every tier the capacity chart stacks, the derate it must apply and the API band."""
    text = (QUICKSTART.read_text()
            .replace("    profile: constant\n    rps: 5\n", "    profile: diurnal\n    peak_rps: 12\n    trough_rps: 2\n")
            .replace("tiers: [reserved-1y, on-demand, spot]", "tiers: [reserved-1y, on-demand, spot, api]")
            .replace("  headroom: 0.15", "  headroom: 0.15\n  max_api_share: 0.2\n"
                     "  spot_availability:\n    - {cloud: aws, availability: 0.8}"))
    plan = solve_problem(parse_problem(text, QUICKSTART), catalogs)
    # what the tests below rely on: otherwise they would pass without checking anything
    assert len({a.tier for a in plan.assignments}) >= 2 and any(a.availability < 1 for a in plan.assignments)
    assert len({round(p.capacity_rps, 6) for p in plan.periods}) > 1 and any(p.api_rps > 0 for p in plan.periods)
    return plan


@pytest.fixture(scope="module")
def full_page(quickstart):
    return render_html(quickstart, baselines=BASELINES, frontier=FRONTIER)


@pytest.fixture(scope="module")
def plain_page(quickstart):
    return render_html(quickstart)


def test_capacity_by_tier_stacks_to_the_plans_capacity(diurnal, quickstart):
    for plan in (diurnal, quickstart):
        series = capacity_by_tier(plan)
        assert set(series) == {a.tier for a in plan.assignments}
        for t, period in enumerate(plan.periods):
            assert sum(values[t] for values in series.values()) == pytest.approx(period.capacity_rps, rel=1e-9)


def test_capacity_chart_draws_one_area_per_tier(diurnal):
    svg = ET.fromstring(capacity_chart(diurnal))
    areas = {g.get("id"): g for g in svg.iter(f"{SVG}g") if g.get("id", "").startswith("chart-capacity-tier-")}
    assert set(areas) == {f"chart-capacity-tier-{a.tier}" for a in diurnal.assignments}
    for g in areas.values():
        assert len(list(g.iter(f"{SVG}path"))) == 1  # one filled area per tier, not one per period
    ids = {g.get("id") for g in svg.iter(f"{SVG}g")}
    assert {"chart-capacity-required", "chart-capacity-demand", "chart-capacity-api"} <= ids


def test_html_has_every_assumption_and_price_source(diurnal):
    page = render_html(diurnal)
    assert diurnal.assumptions and any("<" in a for a in diurnal.assumptions)  # e.g. "compute.instance.<type>..."
    for line in diurnal.assumptions:
        assert f"<li>{escape(line)}</li>" in page
    for a in diurnal.assignments:
        assert escape(a.price_source) in page and escape(a.price_retrieved) in page
    for api in diurnal.api:
        assert escape(api.price_source) in page


def test_text_from_the_plan_is_escaped(quickstart):
    name = '<script>alert("x")</script> R&D <b>'
    plan = quickstart.model_copy(update={"name": name, "assumptions": [*quickstart.assumptions, "a < b & c > d"]})
    page = render_html(plan, baselines=[{"name": "<img src=x>", "monthly_cost_usd": 1.0, "note": "& more"}],
                       frontier=[{**FRONTIER[0], "label": "<i>fast</i>", "setting": "a&b"}])
    assert escape(name) in page and "<li>a &lt; b &amp; c &gt; d</li>" in page
    assert "&lt;img src=x&gt;" in page and "&amp; more" in page and "a&amp;b" in page
    for raw in ("<script", "<img", "<b>", "<i>fast", "R&D", "& more"):
        assert raw not in page


def test_page_is_self_contained_with_unique_ids(full_page):
    page = full_page
    assert escape("default-src 'none'") in page  # Content-Security-Policy: the page may fetch nothing
    assert not re.search(r"<script|<link|<img|<iframe|<object|@import|url\((?!#)|\ssrc=", page)
    assert all(h.startswith("#") for h in re.findall(r'href="([^"]*)"', page))
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # inline SVGs share one id namespace
    for chart in ALL_CHARTS:
        assert re.search(rf'<figure id="{chart}"><svg .*?</svg><figcaption>[^<]+</figcaption></figure>', page, re.S)


def test_same_plan_gives_the_same_bytes(quickstart, full_page, tmp_path):
    assert render_html(quickstart, baselines=BASELINES, frontier=FRONTIER) == full_page
    # and in a fresh process, from the plan file: nothing drawn depends on the run
    saved = tmp_path / "plan.json"
    saved.write_text(quickstart.to_json())
    script = ("import json, sys; from planner.plan import Plan; from planner.report.html_report import render_html; "
              "page = render_html(Plan.model_validate_json(open(sys.argv[1]).read()), **json.loads(sys.argv[2])); "
              "sys.stdout.buffer.write(page.encode())")
    extras = json.dumps({"baselines": BASELINES, "frontier": FRONTIER})
    fresh = subprocess.run([sys.executable, "-c", script, str(saved), extras], capture_output=True, timeout=120)
    assert fresh.returncode == 0, fresh.stderr.decode()[-2000:]
    assert fresh.stdout == full_page.encode()


def test_baselines_and_frontier_only_when_given(quickstart, plain_page, full_page):
    assert 'id="chart-capacity"' in plain_page and 'id="chart-costs"' in plain_page
    for section in ('id="baselines"', 'id="chart-baselines"', 'id="frontier"', 'id="chart-frontier"'):
        assert section not in plain_page and section in full_page
    with_baselines = render_html(quickstart, baselines=BASELINES)
    assert 'id="chart-baselines"' in with_baselines and 'id="chart-frontier"' not in with_baselines
    saved = BASELINES[0]["monthly_cost_usd"] - quickstart.monthly_cost_usd
    assert f"saves ${saved:,.0f} ({saved / BASELINES[0]['monthly_cost_usd']:.1%})" in with_baselines
    # one bar for the plan and one per baseline with a cost; the one without is in the table only
    assert len(re.findall(r'id="chart-baselines-baseline-\d+"', with_baselines)) == 3
    assert "<td>api-only</td><td class=\"num\">—</td><td>not available</td>" in with_baselines
    assert "ttft_p99_ms=500" in full_page and "ttft_p99_ms=500" not in with_baselines


def test_title_and_header(quickstart):
    page = render_html(quickstart, title="Q3 capacity review")
    assert "<title>Q3 capacity review</title>" in page and "<h1>Q3 capacity review</h1>" in page
    for text in (quickstart.model, quickstart.engine, quickstart.status, f"${quickstart.cost_per_1k_requests_usd:.4f}",
                 f"${quickstart.cost_per_mtok_output_usd:.3f}", "TTFT P99 ≤ 2000 ms", "TPOT P99 ≤ 80 ms", "gap 0.00%"):
        assert escape(text) in page


# --- headless Chromium -------------------------------------------------------------------------------

def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("PLANNER_REQUIRE_CHROMIUM") == "1":
        pytest.fail(f"{CHROMIUM} is missing and PLANNER_REQUIRE_CHROMIUM=1 (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is not installed")


def _chromium(profile: Path, page: Path, *flags: str) -> subprocess.CompletedProcess:
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", *flags, "--dump-dom", page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


# What the page itself made Chromium log: console messages (a script error is "Uncaught ...", a
# blocked fetch is a Content-Security-Policy message) and failed loads. Chromium's own noise (D-Bus,
# sandbox, GPU warnings) is none of these.
_PAGE_TROUBLE = re.compile(r"CONSOLE|Uncaught|Content Security Policy|Failed to load resource|net::ERR_")


class _Figures(HTMLParser):
    """Ids of <figure> elements and whether each holds an <svg>."""

    def __init__(self):
        super().__init__()
        self.figures: dict[str, bool] = {}
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "figure":
            self._open.append(dict(attrs).get("id", ""))
            self.figures[self._open[-1]] = False
        elif tag == "svg" and self._open:
            self.figures[self._open[-1]] = True

    def handle_endtag(self, tag):
        if tag == "figure" and self._open:
            self._open.pop()


def test_chromium_renders_every_chart_without_errors(full_page, tmp_path):
    _require_chromium()
    page = tmp_path / "report.html"
    page.write_text(full_page, encoding="utf-8")
    started = time.monotonic()
    dom = _chromium(tmp_path / "profile-dom", page)
    assert dom.returncode == 0, dom.stderr[-2000:]
    figures = _Figures()
    figures.feed(dom.stdout)
    assert figures.figures == {chart: True for chart in ALL_CHARTS}
    assert "<script" not in dom.stdout and "default-src 'none'" in dom.stdout

    logged = _chromium(tmp_path / "profile-log", page, "--enable-logging=stderr", "--v=0")
    assert logged.returncode == 0
    assert [line for line in logged.stderr.splitlines() if _PAGE_TROUBLE.search(line)] == []

    # The same check must see a page that fetches something. Chromium logs no failed fetch at --v=0
    # (an unreachable image or style sheet leaves no line); the report's Content-Security-Policy
    # blocks every fetch, and a blocked fetch is logged: so an image from the network must show.
    fetching = tmp_path / "fetching.html"
    fetching.write_text(page.read_text(encoding="utf-8").replace("<main>", '<main><img src="http://example.invalid/x.png" alt="">', 1),
                        encoding="utf-8")
    control = _chromium(tmp_path / "profile-control", fetching, "--enable-logging=stderr", "--v=0")
    assert [line for line in control.stderr.splitlines() if _PAGE_TROUBLE.search(line)], control.stderr[-2000:]
    print(f"chromium: three runs in {time.monotonic() - started:.1f} s")
