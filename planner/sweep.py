"""What-if sweeps and the cost/latency frontier: solve every scenario (in parallel) and tabulate.

Scenarios run through :func:`planner.workflow.solve_verified` (no baselines), so each row is the
same plan ``planner solve`` would make for that problem. Parallelism is joblib's: local processes
(``loky``) by default; ``dask`` or ``ray`` run on an existing cluster (``address``) through
joblib's backends, for sweeps too large for one machine. Rows come back in scenario order whatever
the order in which scenarios finish.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from planner.errors import InputError, PlannerError
from planner.plan import Plan
from planner.scenarios import Scenario, load_scenario

BACKENDS = ("loky", "sequential", "dask", "ray")
METRICS = ("ttft_p99_ms", "tpot_p99_ms", "e2e_p99_ms")


def achieved_latency(plan: Plan) -> dict[str, float | None]:
    """The worst P99 of each metric over the instances in service (the SLO the plan reaches)."""
    out: dict[str, float | None] = {}
    for m in METRICS:
        values = [getattr(a, m) for a in plan.assignments if any(a.instances_by_period) and getattr(a, m) is not None]
        out[m] = max(values) if values else None
    return out


def _row(scenario: Scenario, plan: Plan | None, error: PlannerError | None) -> dict:
    row = {"scenario": scenario.index, **{k: (str(v) if isinstance(v, list) else v) for k, v in scenario.values.items()}}
    if plan is None:
        row.update(status={3: "invalid", 4: "infeasible", 5: "limit"}.get(error.exit_code, "error"), message=error.messages[0])
        return row
    used = [a for a in plan.assignments if any(a.instances_by_period)]
    row.update(
        status=plan.status, gap=plan.solver.gap, monthly_cost_usd=plan.monthly_cost_usd,
        cost_per_1k_requests_usd=plan.cost_per_1k_requests_usd, cost_per_mtok_output_usd=plan.cost_per_mtok_output_usd,
        gpus=" + ".join(sorted({a.gpu for a in used})) or "-",
        tiers=" + ".join(sorted({a.tier for a in used} | ({"api"} if plan.api else set()))) or "-",
        **achieved_latency(plan),
        slo_met=all(v is None or plan.slo.get(m) is None or v <= plan.slo[m] * (1 + 1e-9) for m, v in achieved_latency(plan).items()),
        message="",
    )
    return row


@dataclass(frozen=True)
class Overrides:
    """The command line's solver settings (None: the scenario's problem file decides)."""

    solver: str | None = None
    time_limit_s: float | None = None
    gap: float | None = None


def solve_scenario(scenario: Scenario, problem_path: str, catalog_dir: str | None, overrides: Overrides) -> tuple[dict, Plan | None]:
    """One row (and the plan, when there is one); errors become a status, never an exception."""
    from planner.catalog import load_catalogs
    from planner.pipeline import solver_options
    from planner.workflow import solve_verified

    try:
        loaded = load_scenario(scenario, Path(problem_path))
        catalogs = load_catalogs(catalog_dir)
        opts = solver_options(loaded, overrides.solver, overrides.time_limit_s, overrides.gap)
        plan = solve_verified(loaded, catalogs, opts, baselines=False).plan
        return _row(scenario, plan, None), plan
    except PlannerError as exc:
        return _row(scenario, None, exc), None
    except Exception as exc:  # noqa: BLE001 - one scenario's failure is a row, not the end of the sweep
        return _row(scenario, None, PlannerError(f"internal error: {type(exc).__name__}: {exc}")), None


@contextlib.contextmanager
def _backend(name: str, address: str | None):
    """joblib's backend for ``name``; dask and ray connect to the cluster at ``address`` (or start
    a local one when None)."""
    import joblib

    if name in ("loky", "sequential"):
        with joblib.parallel_config(backend=name):
            yield
        return
    if name == "dask":
        try:
            from dask.distributed import Client
        except ImportError:
            raise InputError("--backend dask needs dask's distributed scheduler: pip install 'dask[distributed]'") from None
        # without an address, a local cluster of worker processes (an in-process one, processes=False,
        # lost the output of `python -m planner` now and then: the process ended before writing it)
        local = dict(n_workers=2, threads_per_worker=1, dashboard_address=None)
        try:
            client = Client(address, timeout=5) if address else Client(**local)
        except OSError as exc:
            raise InputError(f"--address {address}: cannot reach the Dask scheduler: {exc}") from None
        with client, joblib.parallel_config(backend="dask"):
            yield client
        return
    if name == "ray":
        try:
            import ray
            from ray.util.joblib import register_ray
        except ImportError:
            raise InputError("--backend ray needs ray: pip install 'ray[default]'") from None
        ray.init(address=address, ignore_reinit_error=True)
        register_ray()
        with joblib.parallel_config(backend="ray"):
            yield
        return
    raise InputError(f"--backend {name}: unknown (choose from {', '.join(BACKENDS)})")


def run(scenarios: list[Scenario], problem_path: str, catalog_dir: str | None, overrides: Overrides = Overrides(), *,
        backend: str = "loky", jobs: int = -1, address: str | None = None,
        progress: Callable[[int, int], None] | None = None) -> tuple[pd.DataFrame, list[Plan | None]]:
    """Solve every scenario; rows in scenario order and each scenario's plan (None when none)."""
    import joblib

    results: dict[int, tuple[dict, Plan | None]] = {}
    with _backend(backend, address):
        tasks = (joblib.delayed(solve_scenario)(s, problem_path, catalog_dir, overrides) for s in scenarios)
        # results as they finish (progress); Ray's joblib backend returns only the whole list at the end
        order = "list" if backend == "ray" else "generator_unordered"
        parallel = joblib.Parallel(n_jobs=1 if backend == "sequential" else jobs, return_as=order)
        for done, (row, plan) in enumerate(parallel(tasks), start=1):
            results[row["scenario"]] = (row, plan)
            if progress:
                progress(done, len(scenarios))
    ordered = [results[s.index] for s in scenarios]
    return pd.DataFrame([r for r, _ in ordered]), [p for _, p in ordered]


def frontier_metric(settings) -> str:
    """The latency axis of a frontier: the first varied SLO target's metric, else TTFT."""
    return next((s.path[-1] for s in settings if s.path[:1] == ("slo",) and s.path[-1] in METRICS), "ttft_p99_ms")


def frontier(rows: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The non-dominated solved rows on (monthly cost, achieved P99 ``metric``): no other row is at
    most as dear and at most as slow with one of the two strictly better. Sorted by latency, so cost
    falls as latency rises."""
    if metric not in rows or "monthly_cost_usd" not in rows:  # no scenario was solved
        return rows.iloc[0:0]
    ok = rows[rows["status"].isin(["optimal", "feasible"]) & rows[metric].notna()].copy()
    ok = ok.sort_values([metric, "monthly_cost_usd", "scenario"])
    keep, best = [], float("inf")
    for idx, r in ok.iterrows():
        if r["monthly_cost_usd"] < best * (1 - 1e-9):
            keep.append(idx)
            best = r["monthly_cost_usd"]
    return ok.loc[keep].reset_index(drop=True)


def default_vary(loaded, points: int) -> str | None:
    """The report's frontier when none is asked for: the problem's own TTFT target (else TPOT) from a
    quarter to twice its value; None when the problem sets neither."""
    slo = loaded.problem.slo
    for name in ("ttft_p99_ms", "tpot_p99_ms"):
        target = getattr(slo, name)
        if target:
            return f"slo.{name}={target / 4:g}:{target * 2:g}"
    return None


def frontier_points(front: pd.DataFrame, settings: list[str]) -> list[dict]:
    """Frontier rows in the shape the HTML report draws."""
    return [{"label": ", ".join(f"{s.rsplit('.', 1)[-1]}={r[s]}" for s in settings),
             "monthly_cost_usd": float(r["monthly_cost_usd"]),
             **{m: (None if pd.isna(r.get(m)) else float(r[m])) for m in METRICS},
             "setting": ", ".join(f"{s}={r[s]}" for s in settings)} for _, r in front.iterrows()]
