"""The user-facing flow shared by ``solve``, ``report`` (and later ``sweep``/``frontier``):
prepare → solve → baselines → independent verification. A plan that fails verification never
reaches a user: it raises :class:`~planner.errors.SolverError` with the failed checks."""

from __future__ import annotations

from dataclasses import dataclass

from planner.catalog import Catalogs
from planner.errors import SolverError
from planner.milp.data import SolverOptions
from planner.pipeline import Prepared, dump_lp, prepare, solve_prepared
from planner.plan import Plan
from planner.problem import LoadedProblem


@dataclass(frozen=True)
class Solved:
    prep: Prepared
    plan: Plan
    checks_passed: int


def solve_verified(loaded: LoadedProblem, catalogs: Catalogs, options: SolverOptions, *, baselines: bool = True) -> Solved:
    from planner.baselines import with_baselines
    from planner.verify import verify_plan

    prep = prepare(loaded, catalogs)
    plan = solve_prepared(prep, options)
    if baselines:
        plan = with_baselines(prep, plan, options)
    findings = verify_plan(loaded, catalogs, plan)
    failed = [f for f in findings if not f.ok]
    if failed:
        raise SolverError([f"the solver's plan fails independent verification ({len(failed)} check(s)):"]
                          + [f"  {f.check}: {f.message}" for f in failed[:10]])
    return Solved(prep, plan, len(findings))


def write_lp(loaded: LoadedProblem, catalogs: Catalogs, path: str) -> None:
    dump_lp(prepare(loaded, catalogs), path)


def baseline_bars(plan: Plan) -> list[dict]:
    """The plan's baselines in the shape the HTML report draws."""
    return [{"name": b.name + (f" [{b.gpu}]" if b.gpu else ""), "monthly_cost_usd": b.monthly_cost_usd,
             "note": b.detail or b.description} for b in plan.baselines]
