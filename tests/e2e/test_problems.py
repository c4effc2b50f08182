"""Every file in problems/ is solved and its plan verified independently."""

from pathlib import Path

import pytest

from planner.catalog import load_catalogs
from planner.pipeline import solve_problem
from planner.problem import load_problem
from planner.verify import verify_plan

PROBLEMS = sorted((Path(__file__).resolve().parents[2] / "problems").glob("*.yaml"))


@pytest.fixture(scope="module")
def catalogs():
    return load_catalogs()


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_problem_solves_and_verifies(path, catalogs):
    loaded = load_problem(path)
    plan = solve_problem(loaded, catalogs)
    assert plan.status in ("optimal", "feasible")
    assert plan.monthly_cost_usd > 0
    findings = verify_plan(loaded, catalogs, plan)
    failed = [f"{f.check}: {f.message}" for f in findings if not f.ok]
    assert not failed, failed


def test_plans_are_deterministic(catalogs):
    loaded = load_problem(next(p for p in PROBLEMS if p.stem == "rag-8b"))  # two user regions, 42 periods, a second to solve
    a, b = solve_problem(loaded, catalogs), solve_problem(loaded, catalogs)
    strip = lambda p: p.model_copy(update={"solver": p.solver.model_copy(update={"time_s": 0.0})}).model_dump()
    assert strip(a) == strip(b)
