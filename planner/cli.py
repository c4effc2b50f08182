"""Command-line interface: parse, call the library, format. Exit codes per DESIGN §3.2."""

from __future__ import annotations

import functools
import json
import math
import sys
import traceback
from pathlib import Path

import click
import pandas as pd

from planner.errors import InfeasibleError, InputError, PlannerError

FORMATS = ["table", "json", "markdown", "csv"]


def _emit(text: str, output: str | None) -> None:
    """Write to --output atomically (nothing half-written), else stdout."""
    if output:
        path = Path(output)
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
        click.echo(f"wrote {path}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))
        sys.stdout.flush()  # before interpreter shutdown: a Dask client's exit handlers have ended the process unflushed


def handled(fn):
    """Turn planner errors into one line per problem on stderr and the contract exit code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        debug = kwargs.pop("debug", False)
        try:
            return fn(*args, **kwargs)
        except PlannerError as exc:
            if debug:
                traceback.print_exc()
            label = {3: "error", 4: "infeasible", 5: "solver limit"}.get(exc.exit_code, "error")
            for line in exc.messages:
                click.echo(f"{label}: {line}" if not line.startswith(" ") else line, err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - last resort: never a bare traceback for users
            if debug:
                traceback.print_exc()
            click.echo(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", err=True)
            sys.exit(1)

    return click.option("--debug", is_flag=True, help="show tracebacks")(wrapper)


def _finite(ctx, param, value):
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number")
    return value


catalogs_option = click.option("--catalogs", "catalog_dir", type=click.Path(file_okay=False), default=None,
                               help="catalog directory (default: catalogs/ of this installation, or $PLANNER_CATALOG_DIR)")


def _jobs(ctx, param, value):
    if value == 0 or value < -1:
        raise click.BadParameter("use -1 (one per core) or a positive number")
    return value


def _load(problem_path: str, catalog_dir: str | None):
    from planner.catalog import load_catalogs
    from planner.problem import load_problem

    loaded = load_problem(problem_path)
    return loaded, load_catalogs(catalog_dir)


def _comparison_options(fn):
    """The options of the commands that solve a problem twice and compare (``roi``, ``tco``)."""
    for opt in reversed([
        click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table", show_default=True),
        click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, help="write here instead of stdout"),
        click.option("--solver", type=click.Choice(["highs", "cbc"]), default=None, help="override the problem's solver"),
        click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None, callback=_finite,
                     help="solver time limit (s) per plan"),
        click.option("--gap", type=click.FloatRange(0, 1, max_open=True), default=None, callback=_finite,
                     help="relative MIP gap, e.g. 0.005"),
        catalogs_option,
    ]):
        fn = opt(fn)
    return fn


@click.group()
@click.version_option(package_name="llm-inference-planner")
def main() -> None:
    """Inference cost planner for LLMs: the cheapest plan that meets demand and SLOs."""


@main.command()
@click.argument("problem", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, help="write here instead of stdout")
@click.option("--solver", type=click.Choice(["highs", "cbc"]), default=None, help="override the problem's solver")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None, callback=_finite, help="solver time limit (s)")
@click.option("--gap", type=click.FloatRange(0, 1, max_open=True), default=None, callback=_finite, help="relative MIP gap, e.g. 0.005")
@click.option("--dump-lp", type=click.Path(dir_okay=False), default=None, help="write the model as an LP file and stop")
@click.option("--baselines/--no-baselines", default=True, show_default=True,
              help="also price the baselines: peak on-demand on one GPU type, the best single GPU type, the per-token API")
@catalogs_option
@handled
def solve(problem, fmt, output, solver, time_limit, gap, dump_lp, baselines, catalog_dir):
    """Plan: what to buy, where, in which tier, in each period."""
    from planner import pipeline, workflow
    from planner.report import plan_report

    loaded, catalogs = _load(problem, catalog_dir)
    if dump_lp:
        workflow.write_lp(loaded, catalogs, dump_lp)
        click.echo(f"wrote {dump_lp}", err=True)
        return
    # every plan is re-checked independently of the solver before anyone sees it
    solved = workflow.solve_verified(loaded, catalogs, pipeline.solver_options(loaded, solver, time_limit, gap), baselines=baselines)
    plan = solved.plan
    click.echo(f"verified independently: {solved.checks_passed} checks passed", err=True)
    render = {"json": lambda p: p.to_json() + "\n", "table": plan_report.render_table,
              "markdown": plan_report.render_markdown, "csv": plan_report.render_csv}[fmt]
    _emit(render(plan), output)


@main.command()
@click.argument("problem", type=click.Path(dir_okay=False))
@click.option("--years", type=click.IntRange(1, 10), default=3, show_default=True, help="years compared")
@_comparison_options
@handled
def tco(problem, years, fmt, output, solver, time_limit, gap, catalog_dir):
    """Own, rent or buy tokens? The plan (with owned servers where options.on_prem allows) against
    renting only and the per-token API, year by year: capex, opex, kWh, CO2, NPV, break-even, ROI."""
    from planner import pipeline
    from planner.lifecycle import tco as lifecycle
    from planner.report import tco_report

    loaded, catalogs = _load(problem, catalog_dir)
    result = lifecycle(loaded, catalogs, pipeline.solver_options(loaded, solver, time_limit, gap), years)
    text = json.dumps(result, indent=2) + "\n" if fmt == "json" else tco_report.render_text(result, fmt == "markdown")
    _emit(text, output)


@main.command()
@click.argument("problem", type=click.Path(dir_okay=False))
@click.option("--technique", required=True,
              help="spec-decoding, prefix-caching, disaggregation, sparsity, fp8, int8, int4, fp4, fp8-kv, paged-kv or engine:NAME")
@click.option("--engineering-cost", type=click.FloatRange(min=0), default=0.0, callback=_finite, show_default=True,
              help="one-off cost of adopting the technique (USD): gives the payback period")
@_comparison_options
@handled
def roi(problem, technique, engineering_cost, fmt, output, solver, time_limit, gap, catalog_dir):
    """Is a serving technique worth it? Solves with and without it: monthly saving, payback, P99 effect."""
    from planner import pipeline
    from planner.report import roi_report
    from planner.roi import roi as price_technique

    loaded, catalogs = _load(problem, catalog_dir)
    result = price_technique(loaded, catalogs, pipeline.solver_options(loaded, solver, time_limit, gap), technique,
                             engineering_cost)
    text = json.dumps(result, indent=2) + "\n" if fmt == "json" else roi_report.render_text(result, fmt == "markdown")
    _emit(text, output)


@main.command()
@click.argument("problem", type=click.Path(dir_okay=False))
@click.option("--output", "-o", type=click.Path(dir_okay=False), required=True, help="the HTML file to write")
@click.option("--solver", type=click.Choice(["highs", "cbc"]), default=None, help="override the problem's solver")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None, callback=_finite, help="solver time limit (s)")
@click.option("--gap", type=click.FloatRange(0, 1, max_open=True), default=None, callback=_finite, help="relative MIP gap, e.g. 0.005")
@click.option("--vary", "varies", multiple=True, metavar="PATH=LO:HI|V1,V2",
              help="the frontier's settings (default: the TTFT target from ¼ to 2×, else TPOT)")
@click.option("--points", type=click.IntRange(min=2), default=5, show_default=True, help="values per frontier range")
@click.option("--no-frontier", is_flag=True, help="leave the Pareto frontier out (no extra solves)")
@click.option("--tco-years", type=click.IntRange(0, 10), default=None, help="years of the total-cost-of-ownership section (default 3 with options.on_prem, else none; 0: leave it out)")
@click.option("--jobs", "-j", type=int, default=-1, show_default=True, callback=_jobs, help="parallel solves for the frontier")
@catalogs_option
@handled
def report(problem, output, solver, time_limit, gap, varies, points, no_frontier, tco_years, jobs, catalog_dir):
    """Solve, price the baselines, verify, trace the cost/latency frontier, and write one
    self-contained HTML report with charts."""
    from planner import lifecycle, pipeline, scenarios, sweep, workflow
    from planner.report.html_report import render_html

    loaded, catalogs = _load(problem, catalog_dir)
    solved = workflow.solve_verified(loaded, catalogs, pipeline.solver_options(loaded, solver, time_limit, gap))
    click.echo(f"verified independently: {solved.checks_passed} checks passed", err=True)
    front = None
    varies = list(varies) or [v for v in [sweep.default_vary(loaded, points)] if v]
    if varies and not no_frontier:
        settings = [scenarios.parse_setting(v, "--vary", points) for v in varies]
        metric = sweep.frontier_metric(settings)
        rows, _ = _run_scenarios(problem, settings, catalog_dir, "loky", jobs, None, solver, time_limit, gap)
        front = sweep.frontier_points(sweep.frontier(rows, metric), [s.name for s in settings])
    years = tco_years if tco_years is not None else (3 if loaded.problem.options.on_prem is not None else 0)
    owning = (lifecycle.tco(loaded, catalogs, pipeline.solver_options(loaded, solver, time_limit, gap), years, solved)
              if years else None)  # the same plan as the report's
    _emit(render_html(solved.plan, baselines=workflow.baseline_bars(solved.plan), frontier=front, tco=owning), output)


def _sweep_options(fn):
    for opt in reversed([
        click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True),
        click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, help="write here instead of stdout"),
        click.option("--backend", type=click.Choice(["loky", "sequential", "dask", "ray"]), default="loky", show_default=True,
                     help="local processes (loky), in this process, or an existing Dask/Ray cluster (--address)"),
        click.option("--jobs", "-j", type=int, default=-1, show_default=True, callback=_jobs, help="parallel solves (-1: one per core)"),
        click.option("--address", default=None, help="Dask scheduler or Ray head address (default: a local cluster)"),
        click.option("--solver", type=click.Choice(["highs", "cbc"]), default=None, help="override the problems' solver"),
        click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None, callback=_finite, help="solver time limit (s) per scenario"),
        click.option("--gap", type=click.FloatRange(0, 1, max_open=True), default=None, callback=_finite, help="relative MIP gap"),
        catalogs_option,
    ]):
        fn = opt(fn)
    return fn


def _run_scenarios(problem, settings, catalog_dir, backend, jobs, address, solver, time_limit, gap):
    from rich.progress import Progress

    from planner import scenarios, sweep

    loaded, catalogs = _load(problem, catalog_dir)
    cases = scenarios.scenarios(loaded, settings, scenarios.gpu_families(catalogs))
    with Progress(console=__import__("rich.console").console.Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"solving {len(cases)} scenario(s)", total=len(cases))
        rows, plans = sweep.run(cases, str(problem), catalog_dir, sweep.Overrides(solver, time_limit, gap), backend=backend,
                                jobs=jobs, address=address, progress=lambda done, total: bar.update(task, completed=done))
    return rows, plans


def _emit_rows(rows: pd.DataFrame, fmt: str, output: str | None) -> None:
    if fmt == "json":
        _emit(rows.to_json(orient="records", indent=2) + "\n", output)
    else:
        _emit(_format_frame(rows, fmt), output)


@main.command()
@click.argument("problem", type=click.Path(dir_okay=False))
@click.option("--set", "sets", multiple=True, required=True, metavar="PATH=V1,V2,...",
              help="a problem setting and its values, e.g. workload.demand.peak_rps=10,20,40 (repeat: the product is run)")
@_sweep_options
@handled
def sweep(problem, sets, fmt, output, backend, jobs, address, solver, time_limit, gap, catalog_dir):
    """What-if: solve the problem for every combination of the settings; one row per scenario."""
    from planner import scenarios

    settings = [scenarios.parse_setting(s) for s in sets]
    rows, _ = _run_scenarios(problem, settings, catalog_dir, backend, jobs, address, solver, time_limit, gap)
    _emit_rows(rows, fmt, output)


@main.command()
@click.argument("problem", type=click.Path(dir_okay=False))
@click.option("--vary", "varies", multiple=True, required=True, metavar="PATH=LO:HI|V1,V2",
              help="e.g. slo.ttft_p99_ms=250:4000 (a range, --points values), options.precisions=[bf16],[fp8], "
                   "options.gpu_family=hopper,ada (accelerators.csv families)")
@click.option("--points", type=click.IntRange(min=2), default=6, show_default=True, help="values per range, spaced geometrically")
@click.option("--metric", type=click.Choice(["ttft_p99_ms", "tpot_p99_ms", "e2e_p99_ms"]), default=None,
              help="latency axis (default: the varied SLO's metric, else TTFT)")
@click.option("--all", "show_all", is_flag=True, help="list every scenario, not only the frontier")
@_sweep_options
@handled
def frontier(problem, varies, points, metric, show_all, fmt, output, backend, jobs, address, solver, time_limit, gap, catalog_dir):
    """Cost per month against P99 latency: re-solve over the varied settings, keep the non-dominated points."""
    from planner import scenarios, sweep

    settings = [scenarios.parse_setting(v, "--vary", points) for v in varies]
    metric = metric or sweep.frontier_metric(settings)
    rows, _ = _run_scenarios(problem, settings, catalog_dir, backend, jobs, address, solver, time_limit, gap)
    front = sweep.frontier(rows, metric)
    click.echo(f"{len(front)} non-dominated of {len(rows)} scenario(s) on monthly cost vs P99 {metric}", err=True)
    _emit_rows(rows if show_all else front, fmt, output)


@main.command()
@click.argument("plan_a", type=click.Path(dir_okay=False))
@click.argument("plan_b", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
@click.option("--show-unchanged", is_flag=True, help="list lines that did not change too")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, help="write here instead of stdout")
@handled
def diff(plan_a, plan_b, fmt, show_unchanged, output):
    """What changed between two saved plans (JSON), line by line in USD per month."""
    from planner.report import plan_diff

    d = plan_diff.diff_plans(plan_diff.load_plan(plan_a), plan_diff.load_plan(plan_b), label_a=plan_a, label_b=plan_b)
    if fmt == "json":
        _emit(json.dumps(plan_diff.diff_to_json(d), indent=2) + "\n", output)
    else:
        render = plan_diff.render_diff_text if fmt == "text" else plan_diff.render_diff_markdown
        _emit(render(d, show_unchanged=show_unchanged), output)


@main.command()
@click.argument("problem", type=click.Path(dir_okay=False))
@click.argument("plan_file", type=click.Path(dir_okay=False))
@catalogs_option
@handled
def verify(problem, plan_file, catalog_dir):
    """Re-check a saved plan independently: demand, SLOs, spot share, prices and costs."""
    from planner.plan import read_plan
    from planner.verify import verify_plan

    loaded, catalogs = _load(problem, catalog_dir)
    plan = read_plan(plan_file)
    findings = verify_plan(loaded, catalogs, plan)
    failed = [f for f in findings if not f.ok]
    for f in findings:
        if not f.ok:
            click.echo(f"FAIL {f.check}: {f.message}")
    click.echo(f"{len(findings) - len(failed)} checks passed, {len(failed)} failed")
    if failed:
        raise InfeasibleError([f"plan {plan_file} fails {len(failed)} check(s), first: {failed[0].check}: {failed[0].message}"])


@main.command()
@click.argument("problem", type=click.Path(dir_okay=False))
@catalogs_option
@handled
def validate(problem, catalog_dir):
    """Validate a problem file against the schema and the catalogs; report every error."""
    from planner.scope import resolve_scope
    from planner.workload import demand_series, length_samples

    from planner.onprem import with_onprem

    loaded, catalogs = _load(problem, catalog_dir)
    catalogs = with_onprem(loaded, catalogs)  # owned sites checked like solve does
    resolve_scope(loaded, catalogs)
    length_samples(loaded)
    demand_series(loaded)
    click.echo(f"{problem}: valid")


@main.command()
@click.argument("problem", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "table"]), default="table", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None)
@catalogs_option
@handled
def candidates(problem, fmt, output, catalog_dir):
    """The candidate table the MILP sees (after pruning)."""
    from planner import pipeline

    loaded, catalogs = _load(problem, catalog_dir)
    prep = pipeline.prepare(loaded, catalogs)
    table = prep.candidates.table
    cols = ["candidate_id", "cloud", "region", "geo", "instance_type", "gpu", "gpus_per_instance", "tp", "pp", "precision",
            "kv_precision", "max_batch", "spec_draft_tokens", "role", "replicas_per_instance", "capacity_rps_per_replica", "capacity_rps",
            "ttft_p99_ms", "tpot_p99_ms", "e2e_p99_ms", "limit",
            "price_on-demand", "price_spot", "price_reserved-1y", "price_reserved-3y", "price_owned"]
    frame = table[[c for c in cols if c in table.columns]]
    click.echo(f"{prep.candidates.evaluated} configurations evaluated; kept {len(frame)}; pruned: "
               + ", ".join(f"{v} {k}" for k, v in prep.candidates.pruned.items()), err=True)
    _emit(_format_frame(frame, fmt), output)


def _format_frame(frame: pd.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "json":
        return json.dumps(json.loads(frame.to_json(orient="records")), indent=1) + "\n"
    with pd.option_context("display.max_rows", 500, "display.max_columns", 50, "display.width", 250):
        return frame.to_string(index=False) + "\n"


@main.command()
@click.option("--batch", "batch_file", type=click.Path(dir_okay=False), default=None, help="CSV of configurations (DESIGN §3.3)")
@click.option("--model", default=None)
@click.option("--gpu", default=None)
@click.option("--num-gpus", type=int, default=None)
@click.option("--tp", type=int, default=None)
@click.option("--pp", type=int, default=None)
@click.option("--precision", default=None)
@click.option("--kv-precision", default=None)
@click.option("--engine", "engine_family", default=None)
@click.option("--scenario", default=None, help="fixed_batch | offline | server | interactive")
@click.option("--input-len", type=int, default=None)
@click.option("--output-len", type=int, default=None)
@click.option("--concurrency", type=int, default=None)
@click.option("--spec-method", default=None, help="speculative decoding: eagle | mtp | draft-model")
@click.option("--spec-draft-tokens", type=int, default=None, help="speculative decoding: tokens drafted per step (k)")
@click.option("--spec-acceptance", type=float, default=None, help="speculative decoding: per-token acceptance α in [0, 1)")
@click.option("--spec-step-overhead-ms", type=float, default=None, help="speculative decoding: fixed time per draft step (measured)")
@click.option("--draft-model", default=None, help="speculative decoding with a draft model: its models.csv id")
@click.option("--draft-params-b", type=float, default=None, help="eagle/mtp: draft head size (billions of parameters)")
@click.option("--prefix-hit-rate", type=float, default=None, help="share of prompt tokens served from the prefix cache")
@click.option("--sparsity", default=None, help="2:4 for a 2:4-sparse checkpoint")
@click.option("--kv-allocation", default=None, help="paged (default) | static")
@click.option("--max-seq-len", type=int, default=None, help="static KV allocation: tokens reserved per sequence")
@click.option("--images-per-request", type=float, default=None, help="multimodal models: images per request")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "table"]), default=None,
              help="default: csv for --batch, table otherwise")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None)
@catalogs_option
@handled
def estimate(batch_file, model, gpu, num_gpus, tp, pp, precision, kv_precision, engine_family, scenario,
             input_len, output_len, concurrency, fmt, output, catalog_dir, **techniques):
    """Performance of one configuration, or of every row of --batch FILE.csv."""
    from planner.catalog import load_catalogs
    from planner.estimate import estimate_with_notes, read_batch

    if batch_file:
        frame = read_batch(batch_file)
        fmt = fmt or "csv"
    else:
        if not model or not gpu:
            raise click.UsageError("give --model and --gpu, or --batch FILE.csv")
        values = {"model": model, "gpu": gpu, "num_gpus": num_gpus, "tp": tp, "pp": pp, "precision": precision,
                  "kv_precision": kv_precision, "engine_family": engine_family, "scenario": scenario,
                  "input_len": input_len, "output_len": output_len, "concurrency": concurrency,
                  **{k: v for k, v in techniques.items() if v is not None}}
        frame = pd.DataFrame([{k: ("" if v is None else str(v)) for k, v in values.items()}])
        fmt = fmt or "table"
    result, notes = estimate_with_notes(frame, load_catalogs(catalog_dir))
    for note in notes[:20]:
        click.echo(f"note: {note}", err=True)
    if len(notes) > 20:
        click.echo(f"note: ... and {len(notes) - 20} more rows with notes", err=True)
    if fmt == "table" and len(result) == 1:
        _emit("\n".join(f"{k:>22}  {v}" for k, v in result.iloc[0].items()) + "\n", output)
    else:
        _emit(_format_frame(result, fmt), output)
    if not batch_file and result["error"].iloc[0]:
        raise InputError(str(result["error"].iloc[0]))


@main.command()
@click.argument("what", type=click.Choice(["gpus", "models", "offers", "apis", "regions", "servers", "energy"]))
@click.option("--cloud", default=None, help="filter offers/regions by cloud")
@click.option("--region", default=None, help="filter offers by region (substring)")
@click.option("--gpu", default=None, help="filter offers by accelerator id or alias")
@click.option("--model", default=None, help="filter api prices by model id")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "table"]), default="table", show_default=True)
@catalogs_option
@handled
def catalog(what, cloud, region, gpu, model, fmt, catalog_dir):
    """Browse the catalogs (every row shows its source and retrieval date)."""
    from planner.catalog import load_catalogs

    cats = load_catalogs(catalog_dir)
    frame = {"gpus": cats.accelerators, "models": cats.models, "offers": cats.offers,
             "apis": cats.api_prices, "regions": cats.regions, "servers": cats.servers, "energy": cats.energy}[what]
    if cloud and "cloud" in frame:
        frame = frame[frame["cloud"].str.lower() == cloud.lower()]
    if region and "region" in frame:
        frame = frame[frame["region"].str.contains(region, case=False, regex=False)]
    if gpu:
        gid = cats.gpu_ids.resolve(gpu)
        if gid is None:
            raise InputError(f"--gpu: {cats.gpu_ids.unknown_message(gpu)}")
        col = "gpu" if "gpu" in frame else "id"
        frame = frame[frame[col] == gid]
    if model and "model" in frame:
        mid = cats.model_ids.resolve(model)
        if mid is None:
            raise InputError(f"--model: {cats.model_ids.unknown_message(model)}")
        frame = frame[frame["model"] == mid]
    if fmt == "table":
        frame = frame.drop(columns=[c for c in ("notes", "aliases") if c in frame])
    _emit(_format_frame(frame, fmt), None)


def _benchmarks(data: str | None) -> pd.DataFrame:
    from planner.perf import calibration

    path = Path(data) if data else calibration.BENCHMARKS
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found (give --data FILE.csv)") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot parse CSV: {exc}") from None


@main.command()
@click.option("--data", type=click.Path(dir_okay=False), default=None,
              help="measurements CSV (default: ../shared/calibration/benchmarks.csv)")
@click.option("--by", default="all,source,engine_family,gpu,model,precision,scenario", show_default=True,
              help="comma-separated grouping columns")
@click.option("--cv", type=click.Choice(["gpu", "model", "source", "engine_family"]), default=None,
              help="leave-one-group-out: refit without each group and report the error on it")
@click.option("--unseen", is_flag=True, help="keep only rows whose GPU or model is not in the calibration file (with --data)")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "table"]), default="table", show_default=True)
@catalogs_option
@handled
def fidelity(data, by, cv, unseen, fmt, catalog_dir):
    """Error of the performance model against measurements: median/P90 APE and bias per group
    (in-sample with the fitted catalogs/efficiency.csv, or out-of-sample with --cv)."""
    from planner.catalog import load_catalogs
    from planner.perf import Efficiency, calibration

    cats = load_catalogs(catalog_dir)
    bench = _benchmarks(data)
    if unseen:
        bench = calibration.unseen_rows(bench, _benchmarks(None))
    groups = tuple(g for g in by.split(",") if g and g != "all")
    missing = [g for g in groups if g not in bench.columns]
    if missing:
        raise InputError(f"--by: column(s) {', '.join(missing)} not in the data")
    if cv:
        pred = calibration.cross_validate(bench, cats.accelerators, cats.models, cv,
                                          progress=lambda g: click.echo(f"refit without {cv} = {g}", err=True))
    else:
        pred = calibration.predict(bench, cats.accelerators, cats.models, Efficiency(cats.efficiency))
    table = calibration.fidelity(bench, pred, by=groups).round(1)
    errors = int(pred["error"].notna().sum())
    click.echo(f"{len(bench)} rows, {errors} not estimable; efficiency fit {cats.efficiency['fit_version'].iloc[0]}", err=True)
    _emit(_format_frame(table, fmt), None)


@main.command()
@click.option("--data", type=click.Path(dir_okay=False), default=None,
              help="measurements CSV (default: ../shared/calibration/benchmarks.csv)")
@click.option("--dry-run", is_flag=True, help="fit and print, do not write catalogs/efficiency.csv")
@catalogs_option
@handled
def calibrate(data, dry_run, catalog_dir):
    """Fit the efficiency factors to measurements and write catalogs/efficiency.csv."""
    from planner.catalog import load_catalogs
    from planner.perf import calibration

    cats = load_catalogs(catalog_dir)
    table = calibration.fit(_benchmarks(data), cats.accelerators, cats.models)
    if not dry_run:
        _emit(table.to_csv(index=False), str(cats.directory / "efficiency.csv"))
    _emit(_format_frame(table.drop(columns=[c for c in ("source", "notes") if c in table]), "table"), None)


@main.command()
def schema():
    """JSON Schema of the problem file."""
    from planner.problem import Problem

    click.echo(json.dumps(Problem.model_json_schema(), indent=2))



@main.command()
@click.argument("history", type=click.Path(dir_okay=False))
@click.option("--horizon", required=True, help="how far ahead: 24h, 7d, 52w, 12mo (a month is 730 h; at most 26352 h, 3 years)")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="write the demand file here (a problem reads it as workload.demand profile: file)")
@click.option("--column", default="requests", show_default=True, help="the history's count column (also the demand file's)")
@click.option("--step-seconds", default=None, help="seconds per history row (default: from a timestamp/offset column, else 60)")
@click.option("--aggregate", default="auto", show_default=True,
              help="sum the history to this step before fitting, e.g. 1h, 1d (auto: hourly for finer histories of ≥ 2 days)")
@click.option("--quantile", default="mean", show_default=True, help="write the mean, or this upper prediction quantile, e.g. 0.9")
@click.option("--interval", default="0.9", show_default=True, help="central prediction interval written as lower/upper")
@click.option("--growth", default=None, help='growth scenario on top of the fitted trend, e.g. "+30%/quarter"')
@click.option("--trend", default="auto", show_default=True,
              help="auto (fit a trend from ≥ 28 days of history), linear, or none (the level only; --growth instead)")
@click.option("--seasonality", default="auto", show_default=True,
              help="auto (what the history supports), none, daily, weekly or daily,weekly")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True,
              help="format of the summary on stdout")
@handled
def forecast(history, horizon, output, column, step_seconds, aggregate, quantile, interval, growth, trend, seasonality, fmt):
    """Forecast request rates from HISTORY (CSV) and write a demand file for workload.demand."""
    from planner import forecast as fc

    options = fc.parse_options(horizon=horizon, column=column, step_seconds=step_seconds, aggregate=aggregate,
                               quantile=quantile, interval=interval, growth=growth, trend=trend, seasonality=seasonality)
    hist = fc.read_history(history, options.column, options.step_seconds)
    result = fc.forecast(hist, options, label=str(history))
    if output:
        _emit(fc.demand_csv(result), output)
    _emit(fc.render_summary(result, fmt, output), None)


@main.command()
@click.argument("usage", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--plan", "plan_file", type=click.Path(dir_okay=False), default=None,
              help="a plan (planner solve --format json): the fleet's cost per hour, token costs from its configurations, its capacity")
@click.option("--bill", "bill_file", type=click.Path(dir_okay=False), default=None,
              help="the fleet's actual bill (CSV: BilledCost or cost_usd, optional ChargePeriodStart/End, PricingCategory)")
@click.option("--by", default="team", show_default=True, help="group by any of team, project, model, user, api_key (comma-separated)")
@click.option("--idle", "idle_policy", type=click.Choice(["proportional", "platform", "even"]), default="proportional",
              show_default=True, help="who pays for idle capacity: by usage, a platform owner (--platform-owner), or evenly")
@click.option("--platform-owner", default=None, help="the tenant that carries idle capacity with --idle platform: a name, or KEY=NAME,... per --by key")
@click.option("--utilisation", type=click.FloatRange(0, 1), default=None,
              help="used share of the fleet (default: requests served ÷ the plan's capacity; with a bill alone, 1)")
@click.option("--token-costs", default=None, help="relative cost of a prefill and a decode token, PREFILL:DECODE (default: from the plan)")
@click.option("--equal-tokens", is_flag=True, help="a prefill and a decode token cost the same (instead of the plan's figures)")
@click.option("--cached-weight", type=click.FloatRange(0, 1), default=0.1, show_default=True,
              help="a cached prompt token costs this share of a prefill token (a prefix-cache hit skips its prefill)")
@click.option("--start", default=None, help="window start (ISO 8601, UTC; default: the hour of the first request, or the budget period's start)")
@click.option("--end", default=None, help="window end (default: the end of the hour of the last request)")
@click.option("--db", "database", type=click.Path(dir_okay=False), default=None,
              help="a DuckDB file that keeps the requests between runs: the logs given are added (unless already held); "
                   "without logs, attribute what it holds")
@click.option("--budgets", "budgets_file", type=click.Path(dir_okay=False), default=None,
              help="budgets and token quotas per tenant (YAML): lines for those running ahead of the period's pace, exit code 6")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "focus", "focus-json"]), default="table",
              show_default=True, help="focus: a FinOps FOCUS 1.1 chargeback CSV (focus-json: the same as JSON)")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, help="write here instead of stdout")
@catalogs_option
@handled
def attribute(usage, plan_file, bill_file, by, idle_policy, platform_owner, utilisation, token_costs, equal_tokens,
              cached_weight, start, end, database, budgets_file, fmt, output, catalog_dir):
    """Who spent what: allocate the fleet's cost (a plan's or a bill's) to teams, projects, models or
    users by the tokens their requests used (gateway logs: JSONL, CSV, Parquet), exact to the cent."""
    from planner.catalog import load_catalogs
    from planner.report import attribution_report
    from planner.usage.attribute import attribute as run_attribution
    from planner.usage.budgets import EXIT_BUDGET_ALERT

    needs_catalogs = plan_file is not None and token_costs is None and not equal_tokens
    result = run_attribution(usage, plan_path=plan_file, bill_path=bill_file,
                             catalogs=load_catalogs(catalog_dir) if needs_catalogs else None,
                             by=[k.strip() for k in by.split(",") if k.strip()], idle_policy=idle_policy,
                             platform_owner=platform_owner, utilisation=utilisation, token_costs=token_costs,
                             equal_tokens=equal_tokens, cached_weight=cached_weight, start=start, end=end,
                             budgets_path=budgets_file, database=database)
    _emit(attribution_report.render(result, fmt), output)
    for status in result.alerts:
        click.echo(f"budget alert: {status.line()}", err=True)
    if result.alerts:
        sys.exit(EXIT_BUDGET_ALERT)


@main.command()
@click.option("--metrics-url", "urls", multiple=True, required=True,
              help="a serving engine's Prometheus endpoint (vLLM or TGI), e.g. http://10.0.0.5:8000/metrics; repeat for several")
@click.option("--plan", "plan_file", type=click.Path(dir_okay=False), required=True, help="the plan the fleet runs (planner solve --format json)")
@click.option("--interval", type=click.FloatRange(min=0, min_open=True), default=15.0, show_default=True, help="seconds between scrapes")
@click.option("--samples", type=click.IntRange(min=0), default=2, show_default=True,
              help="scrapes to take (a report per interval between two); 0 = until interrupted")
@click.option("--replicas", type=click.FloatRange(min=0, min_open=True), default=None,
              help="replicas behind the URL(s): the plan's cost and capacity are scaled to their share (default: the whole fleet)")
@click.option("--period", type=click.IntRange(min=0), default=None, help="compare with this period of the plan (default: its hours-weighted mean)")
@click.option("--candidate", default=None,
              help="the URL(s) serve this configuration of the plan (an assignment's candidate_id): its price, capacity and load per replica")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True, help="seconds to wait for a scrape")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@handled
def monitor(urls, plan_file, interval, samples, replicas, period, candidate, timeout, fmt):
    """Live cost per million tokens, utilisation against the plan's capacity and drift from its demand,
    from serving engines' Prometheus metrics scraped at an interval."""
    from planner.monitor import monitor as watch
    from planner.monitor import render_report

    def show(report: dict) -> None:  # JSON: one report per line (JSON Lines), for pipes
        _emit(json.dumps(report) + "\n" if fmt == "json" else render_report(report, fmt), None)

    try:
        watch(list(urls), plan_file, interval, samples or None, on_report=show, replicas=replicas, period=period, timeout=timeout,
              candidate=candidate,
              on_error=lambda message: click.echo(f"warning: scrape failed, trying again: {message}", err=True))
    except KeyboardInterrupt:  # --samples 0 runs until interrupted
        pass


if __name__ == "__main__":
    main()
