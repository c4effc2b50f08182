"""How the MILP is solved: in stages that keep it small and give HiGHS a good start.

1. Periods with equal demand merge (:func:`merge_identical_periods`; only runs of consecutive
   periods when cold starts couple periods through time).
2. With request-size buckets, the plan without buckets is the MIP start (:func:`whole_mix_start`).
3. With cold starts, the plan without them comes first (every equal period merged: far smaller);
   its bound is a lower bound of the cold-start problem too (start costs are ≥ 0), and when that
   plan, re-costed with its starts, is within the gap of it, it is the answer; otherwise it is the
   MIP start of the cold-start model, and the better of the two bounds is reported
   (:func:`solve_in_stages`).

Each stage is a call of :func:`planner.milp.solve.solve`, which re-checks every solution.
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import replace

import numpy as np

from planner.milp.build import whole_mix_input
from planner.milp.check import cost_usd
from planner.milp.data import MilpInput, SolveResult, SolverOptions, SolveStatus
from planner.milp.solve import rel_gap, solve


def merge_identical_periods(inp: MilpInput) -> tuple[MilpInput, np.ndarray]:
    """Periods with the same demand (planning and mean rate) in every user region get the same optimal per-period decisions
    (given the reserved fleet, periods are independent), so they are solved once with their hours
    added up. With cold starts priced, periods are coupled through time, so only runs of
    consecutive equal periods merge (exact too: see ``define_cold_starts``). Returns the reduced
    input and, for each original period, its reduced index."""
    key = inp.demand_rps if inp.mean_demand_rps is None else np.concatenate([inp.demand_rps, inp.mean_demand_rps])
    if inp.period_month is not None:  # commitments differ by month: periods of different months never merge
        key = np.concatenate([key, np.asarray(inp.period_month, dtype=float)[None, :]]
                             + ([] if inp.period_end_month is None else [np.asarray(inp.period_end_month, dtype=float)[None, :]]))
    if inp.cold_start_hours > 0:
        new_run = np.r_[True, np.any(key[:, 1:] != key[:, :-1], axis=0)]
        inverse = np.cumsum(new_run) - 1
        keep = np.flatnonzero(new_run)
    else:
        _, first, inverse = np.unique(key.T, axis=0, return_index=True, return_inverse=True)
        inverse = np.asarray(inverse).ravel()
        order = np.argsort(first)  # keep the reduced periods in order of first appearance
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        inverse = rank[inverse]
        keep = np.sort(first)
    hours = np.bincount(inverse, weights=inp.period_hours, minlength=len(keep))
    reduced = replace(inp, period_hours=hours, demand_rps=inp.demand_rps[:, keep],
                      period_month=None if inp.period_month is None else np.asarray(inp.period_month)[keep],
                      period_end_month=None if inp.period_end_month is None else np.asarray(inp.period_end_month)[keep],
                      mean_demand_rps=None if inp.mean_demand_rps is None else inp.mean_demand_rps[:, keep])
    return reduced, inverse


def whole_mix_start(inp: MilpInput, options: SolverOptions) -> SolveResult | None:
    """With request-size buckets: solve the problem without them first (every candidate that can
    serve the whole mix, at that capacity; seconds where the bucketed model takes minutes) and return
    its plan, widened to every candidate, as the MIP start of the bucketed model, which therefore never
    ends with a plan dearer than that one, even when stopped at its time limit (the start is itself
    solved to the problem's gap, over the candidates that win on the whole mix)."""
    if inp.buckets <= 1 or inp.mix_capacity_rps is None or not np.any(np.asarray(inp.mix_capacity_rps) > 0):
        return None
    mix_input, keep = whole_mix_input(inp)
    first = solve(mix_input, options)
    if not first.has_solution:
        return None
    K, T = len(inp.candidate_ids), len(inp.period_hours)
    reserved = {tier: np.zeros((K,) + arr.shape[1:], dtype=np.int64) for tier, arr in first.reserved.items()}
    per_period = {tier: np.zeros((K, T), dtype=np.int64) for tier in first.per_period}
    for tier, arr in first.reserved.items():
        reserved[tier][keep] = arr
    for tier, arr in first.per_period.items():
        per_period[tier][keep] = arr
    return SolveResult(status=first.status, solver=first.solver, objective_usd=first.objective_usd,
                       reserved=reserved, per_period=per_period, api_rps=first.api_rps)


def expand(result: SolveResult, inverse: np.ndarray) -> SolveResult:
    result.per_period = {tier: arr[:, inverse] for tier, arr in result.per_period.items()}
    if result.load_rps is not None:
        result.load_rps = result.load_rps[:, :, inverse]
    if result.bucket_load_rps is not None:
        result.bucket_load_rps = result.bucket_load_rps[..., inverse]
    if result.class_units is not None:
        result.class_units = result.class_units[..., inverse]
    if result.fallback_units is not None:
        result.fallback_units = result.fallback_units[..., inverse]
    if result.api_rps is not None:
        result.api_rps = result.api_rps[:, inverse]
    return result


def _merged_solve(inp: MilpInput, options: SolverOptions, start: SolveResult | None = None) -> SolveResult:
    """Solve ``inp`` with its equal periods merged; the result is over ``inp``'s periods. ``start``
    (over ``inp``'s periods) is handed on, taken at each merged period's first period."""
    reduced, inverse = merge_identical_periods(inp)
    if start is not None:
        first = np.unique(inverse, return_index=True)[1]
        start = replace(start, per_period={tier: arr[:, first] for tier, arr in start.per_period.items()},
                        api_rps=None if start.api_rps is None else start.api_rps[:, first])
    result = solve(reduced, options, start=start or whole_mix_start(reduced, options))
    if result.has_solution:
        result = expand(result, inverse)
        result.options = {**result.options, "periods_solved": len(reduced.period_hours)}
    return result


MAX_START_VARIABLES = 12_000  # above, the start-variable model is not tried (chatbot-70b: ~18k stalled; 1 region of scale.py: ~10k solved)
MIN_STAGE_S = 5.0  # the start-variable solve gets at least this long
DEADLINE_GRACE_S = 10.0  # beyond the time limit before a solve that ignores it is stopped


def _child(conn, inp: MilpInput, options: SolverOptions, start: SolveResult | None) -> None:  # pragma: no cover (child process)
    conn.send(_merged_solve(inp, options, start))
    conn.close()


def solve_by_deadline(inp: MilpInput, options: SolverOptions, start: SolveResult | None) -> SolveResult:
    """``_merged_solve`` in a child process stopped ``DEADLINE_GRACE_S`` after the time limit: HiGHS
    1.16 checks its limit between root heuristics, not inside them, and its central rounding
    (``linesearchRounding``, seen with gdb) ran 210 s on a 60 s limit on the cold-start model of
    168 hourly periods × 77 candidates. A stopped solve returns LIMIT_NO_SOLUTION with why."""
    t0 = time.perf_counter()
    if multiprocessing.current_process().daemon:  # e.g. a Dask worker: no children allowed, solve here
        return _merged_solve(inp, options, start)
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(send, inp, options, start), daemon=True)
    child.start()
    send.close()
    deadline = float(options.time_limit_s) + DEADLINE_GRACE_S
    try:
        result = receive.recv() if receive.poll(deadline) else None
    except (EOFError, OSError):  # the child died (killed, out of memory, crashed solver)
        child.join()
        return SolveResult(status=SolveStatus.ERROR, solver=options.solver, time_s=time.perf_counter() - t0,
                           message=f"the solve ended without a result (exit code {child.exitcode})")
    child.join(timeout=1.0)
    if child.is_alive():
        child.kill()
        child.join()
    if result is None:
        return SolveResult(status=SolveStatus.LIMIT_NO_SOLUTION, solver=options.solver, time_s=time.perf_counter() - t0,
                           message=f"stopped after {deadline:g} s: the solver did not stop at its {options.time_limit_s:g} s limit")
    return result


def _within(gap: float | None, options: SolverOptions) -> bool:
    return gap is not None and gap <= float(options.gap) * (1 + 1e-9) + 1e-12


def _bound(result: SolveResult, options: SolverOptions) -> float | None:
    """The stage's lower bound: HiGHS's, or for a solver that proves optimality without reporting
    one (CBC), the objective less the requested gap."""
    if result.best_bound_usd is not None:
        return result.best_bound_usd
    if result.status == SolveStatus.OPTIMAL and result.objective_usd is not None:
        return result.objective_usd * (1 - float(options.gap))
    return None


def solve_in_stages(inp: MilpInput, options: SolverOptions) -> SolveResult:
    """The plan for ``inp`` over its own periods (see the module docstring for the stages)."""
    if not (inp.cold_start_hours > 0 and len(inp.period_hours) > 1):
        return _merged_solve(inp, options)
    base = _merged_solve(replace(inp, cold_start_hours=0.0), options)
    if not base.has_solution:
        return base
    base_bound = _bound(base, options)
    base.objective_usd = cost_usd(inp, base.reserved, base.per_period, base.api_rps)  # with its starts
    if base_bound is not None and _within(rel_gap(base.objective_usd, base_bound), options):
        base.gap = rel_gap(base.objective_usd, base_bound)
        base.status = SolveStatus.OPTIMAL
        base.options = {**base.options, "cold_starts": "plan without them is within the gap"}
        return base
    offered = sum(int(np.isfinite(np.asarray(inp.price_usd_per_hour[t], dtype=float)).sum()) for t in ("on-demand", "spot") if t in inp.tiers)
    starts = len(merge_identical_periods(inp)[0].period_hours) * offered
    if starts > MAX_START_VARIABLES:
        base.gap = rel_gap(base.objective_usd, base_bound)
        base.status = SolveStatus.OPTIMAL if _within(base.gap, options) else SolveStatus.FEASIBLE
        base.options = {**base.options, "cold_starts": f"plan without them, re-costed ({starts} start variables: above "
                        f"{MAX_START_VARIABLES}, HiGHS 1.16 stalls in its root heuristics, measured)"}
        return base
    # the time limit holds for both stages together (at least MIN_STAGE_S for the second)
    remaining = max(float(options.time_limit_s) - base.time_s, MIN_STAGE_S)
    coupled = solve_by_deadline(inp, replace(options, time_limit_s=remaining), start=base)
    best = base if not coupled.has_solution or coupled.objective_usd > base.objective_usd else coupled
    bounds = [b for b in (base_bound, _bound(coupled, options) if coupled.has_solution else None) if b is not None]
    best.best_bound_usd = min(max(bounds), best.objective_usd) if bounds else None
    best.gap = rel_gap(best.objective_usd, best.best_bound_usd)
    best.status = SolveStatus.OPTIMAL if _within(best.gap, options) else SolveStatus.FEASIBLE
    best.time_s = base.time_s + coupled.time_s
    best.options = {**best.options, "cold_starts": ("solved with start variables, from the plan without them" if best is coupled
                                                    else f"plan without them, re-costed (start-variable solve: {coupled.message or coupled.status.value})")}
    return best
