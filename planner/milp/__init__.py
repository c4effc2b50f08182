"""The capacity-planning MILP: typed input (:mod:`.data`), model (:mod:`.build`), solver (:mod:`.solve`),
infeasibility diagnosis (:mod:`.diagnose`)."""

from planner.milp.build import VarIndex, build_model, validate_input, write_lp
from planner.milp.data import (
    PER_PERIOD_TIERS,
    RESERVED_TIERS,
    TIERS,
    MilpInput,
    SolverOptions,
    SolveResult,
    SolveStatus,
)
from planner.milp.diagnose import explain_infeasibility
from planner.milp.check import check_solution, cost_usd
from planner.milp.solve import solve

__all__ = [
    "PER_PERIOD_TIERS",
    "RESERVED_TIERS",
    "TIERS",
    "MilpInput",
    "SolveResult",
    "SolveStatus",
    "SolverOptions",
    "VarIndex",
    "build_model",
    "check_solution",
    "cost_usd",
    "explain_infeasibility",
    "solve",
    "validate_input",
    "write_lp",
]
