"""Solve the MILP: the only module that talks to a solver.

``solve(inp, options)`` builds the model (:mod:`planner.milp.build`), runs HiGHS (in-process
``highspy`` through ``pulp.HiGHS``; ``pulp.HiGHS_CMD`` only when highspy is missing) or CBC (the
binary bundled with PuLP, ``pulp.PULP_CBC_CMD``; ``pulp.COIN_CMD`` where that is gone, as in PuLP 4),
and maps the outcome to our own :class:`SolveStatus`. PuLP's status is not trusted on its own:

* ``pulp.HiGHS`` maps HiGHS's ``kTimeLimit`` / ``kInterrupt`` / ``kIterationLimit`` to
  ``LpStatusOptimal`` (with ``sol_status = IntegerFeasible``) and assigns variable values even when the
  model is infeasible. We read ``getModelStatus()`` and ``getInfo()`` (``primal_solution_status``,
  ``mip_gap``, ``mip_dual_bound``) from the underlying ``highspy.Highs`` object instead.
* CBC loads the LP-relaxation values when it stops at a limit without an integer solution; PuLP then
  says ``NotSolved``. Best bound and gap come from CBC's log (parsed from a temporary file).

Whatever the solver says, a returned solution is rounded (integer variables within 1e-6 of an
integer) and re-checked against every constraint in numpy from the :class:`MilpInput` alone
(:func:`check_solution`); the reported objective is re-costed from the rounded replicas
(:func:`cost_usd`). A violation turns the result into ``ERROR`` with a message.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
import re
import tempfile
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pulp

from planner.milp.build import (VarIndex, bucket_capacity_in_service, bucket_share, build_model, effective_demand, service_classes,
                                validate_input)
from planner.milp.check import ROW_TOL, check_solution, commitments, cost_usd, fleet_need, replicas_in_service, serving_units, stores_used
from planner.milp.data import (
    PER_PERIOD_TIERS,
    RESERVED_TIERS,
    MilpInput,
    SolverOptions,
    SolveResult,
    SolveStatus,
)

INT_TOL = 1e-6  # an integer variable further than this from an integer is an error
OBJ_TOL = 1e-4  # relative mismatch between solver and re-costed objective that is an error

SOLVERS = ("highs", "cbc")


@dataclass
class _Outcome:
    """What one solver run said, already interpreted."""

    status: SolveStatus
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    message: str = ""
    effective: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# solver construction


def _finite(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def rel_gap(obj: float | None, bound: float | None) -> float | None:
    """|obj − bound| / |obj| (HiGHS' definition); 0 when both are 0."""
    if obj is None or bound is None:
        return None
    diff = abs(obj - bound)
    if diff == 0:
        return 0.0
    return diff / abs(obj) if obj != 0 else math.inf


class _HighsWithStart(pulp.HiGHS):
    """``pulp.HiGHS`` that hands HiGHS a MIP start (values by variable name) before it runs; HiGHS
    checks the start itself and ignores it when it is not feasible."""

    def __init__(self, start: dict[str, float], **kwargs):
        super().__init__(**kwargs)
        self.start = start

    def callSolver(self, lp):
        cols = [(v.index, self.start[v.name]) for v in lp.variables() if v.name in self.start]
        if cols:
            index = np.array([c for c, _ in cols], dtype=np.int32)
            value = np.array([x for _, x in cols], dtype=float)
            lp.solverModel.setSolution(len(cols), index, value)
        lp.solverModel.run()


def _highs_solver(options: SolverOptions, mip: bool, start: dict[str, float] | None = None):
    eff = {
        "time_limit": float(options.time_limit_s),
        "mip_rel_gap": float(options.gap),
        "threads": int(options.threads),
        "random_seed": int(options.seed),
        # HiGHS 1.16 can spend minutes in the root reduced-cost heuristic without checking the time
        # limit (ERGO-Code/HiGHS#885, #1278, #2226); seen here at K=100, T=168: a 10 s limit ran > 10 min.
        "mip_heuristic_run_root_reduced_cost": False,
    }
    if pulp.HiGHS().available():
        make = pulp.HiGHS if not start else (lambda **kw: _HighsWithStart(start, **kw))
        if start:
            eff["mip_start"] = f"{len(start)} values"
        solver = make(
            mip=mip,
            msg=bool(options.msg),
            timeLimit=eff["time_limit"],
            gapRel=eff["mip_rel_gap"],
            threads=eff["threads"],
            random_seed=eff["random_seed"],
            mip_heuristic_run_root_reduced_cost=eff["mip_heuristic_run_root_reduced_cost"],
        )
        return solver, {"backend": "highspy", **eff}
    cmd = pulp.HiGHS_CMD(  # pragma: no cover (highspy is a dependency)
        mip=mip,
        msg=bool(options.msg),
        timeLimit=eff["time_limit"],
        gapRel=eff["mip_rel_gap"],
        threads=eff["threads"],
        options=[f"random_seed={eff['random_seed']}", "mip_heuristic_run_root_reduced_cost=false"],
    )
    if not cmd.available():  # pragma: no cover
        raise pulp.PulpSolverError("HiGHS is not available (neither highspy nor the highs binary)")
    return cmd, {"backend": "highs_cmd", **eff}  # pragma: no cover


def _cbc_solver(options: SolverOptions, mip: bool, log_path: str | None):
    # CBC's randomCbcSeed: 0 means "time of day" and -1 "default"; shift so every seed is fixed.
    eff = {
        "time_limit": float(options.time_limit_s),
        "ratio_gap": float(options.gap),
        "threads": int(options.threads),
        "randomCbcSeed": int(options.seed) + 1,
        # CBC 2.10's integer preprocessing returned a suboptimal plan as "Optimal" on a 7-variable
        # instance of this model (17.70 vs 16.65 USD, tests/milp oracle); without it the oracle agrees.
        "preprocess": "off",
    }
    kwargs = dict(
        mip=mip,
        msg=bool(options.msg),
        timeLimit=eff["time_limit"],
        gapRel=eff["ratio_gap"],
        threads=eff["threads"],
        options=[f"randomCbcSeed {eff['randomCbcSeed']}", f"preprocess {eff['preprocess']}"],
    )
    if log_path is not None:
        kwargs["logPath"] = log_path
    bundled = getattr(pulp, "PULP_CBC_CMD", None)
    if bundled is not None:
        with warnings.catch_warnings():  # PuLP 3.3 deprecates it in favour of COIN_CMD (PuLP 4)
            warnings.simplefilter("ignore", DeprecationWarning)
            solver = bundled(**kwargs)
        if solver.available():
            return solver, {"backend": "PULP_CBC_CMD", **eff}
    solver = pulp.COIN_CMD(**kwargs)  # pragma: no cover
    if not solver.available():  # pragma: no cover
        raise pulp.PulpSolverError("CBC is not available (no bundled binary and no cbc on PATH)")
    return solver, {"backend": "COIN_CMD", **eff}  # pragma: no cover


# --------------------------------------------------------------------------------------------------
# status mapping


_HIGHS_LIMITS = {
    "kTimeLimit",
    "kIterationLimit",
    "kInterrupt",
    "kSolutionLimit",
    "kObjectiveBound",
    "kObjectiveTarget",
    "kMemoryLimit",
    "kHighsInterrupt",
}


def _highs_outcome(prob: pulp.LpProblem, options: SolverOptions, mip: bool) -> _Outcome:
    h = getattr(prob, "solverModel", None)
    if h is None or not hasattr(h, "getModelStatus"):  # HiGHS_CMD fallback: PuLP's word only
        return _pulp_outcome(prob, options)
    ms = h.getModelStatus()
    ms_name = getattr(ms, "name", str(ms)).split(".")[-1]
    text = h.modelStatusToString(ms)
    info = h.getInfo()
    has_sol = int(getattr(info, "primal_solution_status", 0)) == 2  # kSolutionStatusFeasible
    obj = _finite(info.objective_function_value) if has_sol else None
    is_mip = mip and any(v.cat == pulp.LpInteger for v in prob.variables())
    if is_mip:
        bound = _finite(getattr(info, "mip_dual_bound", None))
        gap = _finite(getattr(info, "mip_gap", None)) if has_sol else None
    else:
        bound, gap = (obj, 0.0) if ms_name == "kOptimal" else (None, None)
    if ms_name == "kOptimal":
        if not has_sol:
            return _Outcome(SolveStatus.ERROR, message=f"HiGHS: {text} but no primal feasible solution")
        return _Outcome(SolveStatus.OPTIMAL, obj, bound, gap, f"HiGHS: {text}")
    if ms_name == "kInfeasible":
        return _Outcome(SolveStatus.INFEASIBLE, message=f"HiGHS: {text}")
    if ms_name == "kUnboundedOrInfeasible":
        # Costs are >= 0 and variables >= 0 (validated), so the model cannot be unbounded.
        return _Outcome(SolveStatus.INFEASIBLE, message=f"HiGHS: {text} (costs are non-negative: infeasible)")
    if ms_name == "kUnbounded":
        return _Outcome(SolveStatus.UNBOUNDED, message=f"HiGHS: {text}")
    if ms_name in _HIGHS_LIMITS:
        if not has_sol:
            return _Outcome(SolveStatus.LIMIT_NO_SOLUTION, bound=bound, message=f"HiGHS: {text}, no feasible solution")
        status = SolveStatus.OPTIMAL if gap is not None and gap <= options.gap else SolveStatus.FEASIBLE
        return _Outcome(status, obj, bound, gap, f"HiGHS: {text} with an integer-feasible solution")
    return _Outcome(SolveStatus.ERROR, message=f"HiGHS: {text}")


def _pulp_outcome(prob: pulp.LpProblem, options: SolverOptions) -> _Outcome:
    """Map PuLP's (status, sol_status) pair, for solvers we cannot query directly."""
    st, sol = prob.status, prob.sol_status
    text = f"{pulp.LpStatus.get(st, st)} / {pulp.LpSolution.get(sol, sol)}"
    if st == pulp.LpStatusOptimal and sol == pulp.LpSolutionOptimal:
        return _Outcome(SolveStatus.OPTIMAL, message=text)
    if st == pulp.LpStatusOptimal and sol == pulp.LpSolutionIntegerFeasible:
        return _Outcome(SolveStatus.FEASIBLE, message=text + " (stopped at a limit)")
    if st == pulp.LpStatusOptimal:  # older PuLP without sol_status detail
        return _Outcome(SolveStatus.OPTIMAL, message=text)
    if st == pulp.LpStatusInfeasible:
        return _Outcome(SolveStatus.INFEASIBLE, message=text)
    if st == pulp.LpStatusUnbounded:
        return _Outcome(SolveStatus.UNBOUNDED, message=text)
    if st == pulp.LpStatusNotSolved:
        return _Outcome(SolveStatus.LIMIT_NO_SOLUTION, message=text + " (stopped without an integer solution)")
    return _Outcome(SolveStatus.ERROR, message=text)


_CBC_NUM = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"


def _parse_cbc_log(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, label in (("objective", "Objective value:"), ("bound", "Lower bound:"), ("gap", "Gap:")):
        m = re.findall(re.escape(label) + r"\s*" + _CBC_NUM, text)
        if m:
            out[key] = float(m[-1])
    m = re.findall(r"Result - (.*)", text)
    if m:
        out["result"] = m[-1].strip()  # type: ignore[assignment]
    return out


def _cbc_outcome(prob: pulp.LpProblem, options: SolverOptions, log_text: str) -> _Outcome:
    out = _pulp_outcome(prob, options)
    log = _parse_cbc_log(log_text)
    if "result" in log:
        out.message += f"; CBC: {log['result']}"
    if out.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        out.objective = _finite(prob.objective.value()) if prob.objective is not None else None
        out.bound = log.get("bound")  # CBC prints no bound for an optimal run: gap stays None
        out.gap = rel_gap(out.objective, out.bound)
        if out.status == SolveStatus.FEASIBLE and out.gap is not None and out.gap <= options.gap:
            out.status = SolveStatus.OPTIMAL
    elif out.status == SolveStatus.LIMIT_NO_SOLUTION:
        out.bound = log.get("bound")
    return out


# --------------------------------------------------------------------------------------------------
# running a built model (shared with planner.milp.diagnose)


@contextlib.contextmanager
def _solver_output_to_stderr(quiet: bool = True):
    """Keep what solvers print at the C level (highspy's banner, CBC's log) off stdout, so stdout
    carries only the planner's output (``--format json`` prints exactly one document): discarded
    when ``quiet``, else sent to stderr."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no real file descriptor (e.g. under a test runner)
        yield
        return
    target = os.open(os.devnull, os.O_WRONLY) if quiet else os.dup(2)
    try:
        os.dup2(target, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(target)


def run_solver(prob: pulp.LpProblem, options: SolverOptions, *, mip: bool = True, start: dict[str, float] | None = None) -> _Outcome:
    """Solve a built PuLP model with the configured solver; interpret the outcome (values stay on
    the model's variables). ``start``: a MIP start by variable name (HiGHS only; CBC ignores it).
    Never raises for solver failures: they come back as ``ERROR``."""
    name = options.solver.lower()
    if name not in SOLVERS:
        return _Outcome(SolveStatus.ERROR, message=f"unknown solver {options.solver!r} (choose from {', '.join(SOLVERS)})")
    log_path = None
    try:
        if name == "highs":
            solver, eff = _highs_solver(options, mip, start)
        else:
            if not options.msg:
                fd, log_path = tempfile.mkstemp(prefix="planner_cbc_", suffix=".log")
                os.close(fd)
            solver, eff = _cbc_solver(options, mip, log_path)
        try:
            with _solver_output_to_stderr(quiet=not options.msg):
                prob.solve(solver)
        except pulp.PulpSolverError as exc:
            return _Outcome(SolveStatus.ERROR, message=f"{name}: {exc}", effective=eff)
        if name == "highs":
            out = _highs_outcome(prob, options, mip)
        else:
            text = ""
            if log_path is not None and os.path.exists(log_path):
                with open(log_path, encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
            out = _cbc_outcome(prob, options, text)
        out.effective = eff
        return out
    finally:
        if log_path is not None:
            with contextlib.suppress(OSError):
                os.remove(log_path)


# --------------------------------------------------------------------------------------------------
# solution extraction and independent checks


def _round_int(value: float | None, name: str, errors: list[str]) -> int:
    if value is None or not math.isfinite(value):
        errors.append(f"{name} has no value")
        return 0
    r = round(value)
    if abs(value - r) > INT_TOL:
        errors.append(f"{name} = {value!r} is not integral (tolerance {INT_TOL})")
    if r < 0:
        errors.append(f"{name} = {value!r} is negative")
    return int(r)


def reserved_shape(inp: MilpInput) -> tuple[int, ...]:
    """Shape of a reserved tier's counts: (K,) held for the horizon, (K, M) by start month over time."""
    K = len(inp.candidate_ids)
    return (K,) if inp.period_month is None else (K, inp.months)


def extract_solution(inp: MilpInput, idx: VarIndex) -> tuple[dict, dict, np.ndarray, np.ndarray, list[str]]:
    """Replica arrays (rounded) from the variables' values, a zero load array (filled by
    :func:`allocate_load`), the API requests/s (U, T), and any problem."""
    K, U, T = idx.K, idx.U, idx.T
    errors: list[str] = []
    reserved = {tier: np.zeros(reserved_shape(inp), dtype=np.int64) for tier in RESERVED_TIERS}
    per_period = {tier: np.zeros((K, T), dtype=np.int64) for tier in PER_PERIOD_TIERS}
    for tier, vars_ in idx.reserved.items():
        for (k, m), v in vars_.items():
            reserved[tier].reshape(K, -1)[k, m] = _round_int(v.varValue, v.name, errors)
    for tier, vars_ in idx.per_period.items():
        for (k, t), v in vars_.items():
            per_period[tier][k, t] = _round_int(v.varValue, v.name, errors)
    load = np.zeros((U, K, T), dtype=float)
    api = np.zeros((U, T), dtype=float)
    for (u, t), v in idx.api.items():
        val = v.varValue
        if val is None or not math.isfinite(val):
            errors.append(f"{v.name} has no value")
            continue
        val = min(max(float(val), 0.0), float(v.upBound))  # clip solver tolerance noise
        api[u, t] = 0.0 if val <= INT_TOL * max(1.0, float(v.upBound)) else val
    return reserved, per_period, load, api, errors


def extract_splits(inp: MilpInput, idx: VarIndex) -> tuple[np.ndarray | None, np.ndarray | None, list[str]]:
    """With request-size buckets: the units of each candidate per service class and period, (K, J, T),
    for the demand (w) and for the spot rule (f, or None); negative solver noise clipped to 0."""
    if inp.buckets <= 1:
        return None, None, []
    J = service_classes(inp)[0].shape[1]
    errors: list[str] = []
    out = []
    for split in (idx.bucket_split, idx.fallback_split):
        if not split:
            out.append(None)
            continue
        arr = np.zeros((idx.K, J, idx.T))
        for (k, j, t), v in split.items():
            if v.varValue is None or not math.isfinite(v.varValue):
                errors.append(f"{v.name} has no value")
                continue
            arr[k, j, t] = float(v.varValue) if float(v.varValue) > INT_TOL else 0.0  # solver noise on unused units
        out.append(arr)
    return out[0], out[1], errors


def allocate_load(inp: MilpInput, capacity: np.ndarray, need: np.ndarray, options: SolverOptions) -> tuple[np.ndarray | None, str]:
    """Split each period's demand over the candidates: a feasibility LP with x_{u,k,b,t} ≥ 0 only
    where can_serve, Σ_k x_{u,k,b,t} ≥ π_b need_{u,t} and Σ_u x_{u,k,b,t} ≤ capacity_{k,b,t} (the
    requests/s of bucket b the units in service carry, :func:`bucket_capacity_in_service`). Among
    feasible splits it prefers, for determinism, the one that minimises Σ x (the demand rows then
    hold with equality), weighting each request by 1 + its candidate's egress USD/GB so that spare
    capacity on cheaper-egress clouds is used first. Returns (load (U, K, B, T) or None, message)."""
    capacity = np.asarray(capacity, dtype=float)
    K, B, T = capacity.shape
    U = len(inp.user_regions)
    need = np.asarray(need, dtype=float)
    share = bucket_share(inp)
    cs = np.asarray(inp.can_serve, dtype=bool)
    prob = pulp.LpProblem("load_split", pulp.LpMinimize)
    x: dict[tuple[int, int, int, int], pulp.LpVariable] = {}
    add = getattr(prob, "add_variable", None)
    for u in range(U):
        for k in range(K):
            if not cs[u, k]:
                continue
            for b in range(B):
                for t in range(T):
                    if need[u, t] > 0 and share[b] > 0 and capacity[k, b, t] > 0:
                        name = f"x_u{u}_k{k}_t{t}" if B == 1 else f"x_u{u}_k{k}_b{b}_t{t}"
                        x[(u, k, b, t)] = add(name, lowBound=0) if add else pulp.LpVariable(name, lowBound=0)
    by_ubt: dict[tuple[int, int, int], list] = {}
    by_kbt: dict[tuple[int, int, int], list] = {}
    for (u, k, b, t), v in x.items():
        by_ubt.setdefault((u, b, t), []).append((v, 1.0))
        by_kbt.setdefault((k, b, t), []).append((v, 1.0))
    for (u, b, t), terms in by_ubt.items():  # within the tolerance check_solution allows (solver round-off)
        target = float(share[b] * need[u, t])
        rhs = target - 0.5 * ROW_TOL * max(1.0, target)
        prob += pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintGE, f"serve_u{u}_b{b}_t{t}", max(rhs, 0.0))
    for (k, b, t), terms in by_kbt.items():
        prob += pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintLE, f"cap_k{k}_b{b}_t{t}", float(capacity[k, b, t]))
    load = np.zeros((U, K, B, T))
    if not x:
        return load, "no load to split"
    rate = np.zeros(K) if inp.egress_usd_per_gb is None else np.asarray(inp.egress_usd_per_gb, dtype=float)
    prob.setObjective(pulp.LpAffineExpression([(v, 1.0 + float(rate[k])) for (u, k, b, t), v in x.items()]))
    out = run_solver(prob, dataclasses.replace(options, solver="highs"), mip=False)
    if out.status != SolveStatus.OPTIMAL:
        return None, f"load split LP: {out.status.value} {out.message}"
    for (u, k, b, t), v in x.items():
        load[u, k, b, t] = max(float(v.varValue or 0.0), 0.0)
    return load, ""


# --------------------------------------------------------------------------------------------------
# public entry point


def _confirm_infeasible(inp: MilpInput, options: SolverOptions, out: _Outcome) -> _Outcome:
    """Do not trust "infeasible" either: CBC's preprocessing, cut short by the time limit, reports
    "infeasible or unbounded" on feasible models. Feasibility of this MILP equals feasibility of its
    LP relaxation, so re-check with the (cheap) penalised-shortfall LP."""
    if inp.quota_members is not None:
        # quotas are upper bounds: the LP relaxation may buy half an instance that the quota cannot
        # fit whole, so a feasible LP does not prove a feasible MILP; keep the solver's verdict
        out.message += "; GPU quotas are in force (see explain_infeasibility)"
        return out
    lp_options = dataclasses.replace(options, time_limit_s=max(float(options.time_limit_s), 30.0))
    status, short, message = solve_shortfall(inp, lp_options)
    if short is None:
        out.message += f"; LP re-check inconclusive ({status.value}: {message})"
        return out
    need = effective_demand(inp)
    rows = int(np.sum(short > 1e-6 * np.maximum(1.0, need)))
    if rows:
        out.message += f"; demand cannot be met in {rows} (region, period) row(s): see explain_infeasibility"
        return out
    return _Outcome(
        SolveStatus.LIMIT_NO_SOLUTION,
        message=f"{out.message}, but the LP relaxation is feasible: treated as stopped without a solution",
    )


def _stores_chosen(inp: MilpInput, idx: VarIndex) -> np.ndarray:
    """(G,) the solver's artifact-store flags z_g (rounded)."""
    out = np.zeros(np.asarray(inp.storage_members).shape[0], dtype=bool)
    for g, z in idx.stored.items():
        out[g] = (z.varValue or 0.0) > 0.5
    return out


def _starts_slack_usd(inp: MilpInput, idx: VarIndex, per_period: dict) -> float:
    """USD the solver's start variables g pay beyond the starts its counts need (an incumbent
    stopped at a limit may leave g above max(x_t − x_{t−1}, 0)): compare like with like."""
    slack = 0.0
    for (tier, k, t), g in idx.starts.items():
        x = per_period[tier]
        need = max(float(x[k, t] - (x[k, (t - 1) % idx.T] if t > 0 or inp.cyclic else 0.0)), 0.0)
        slack += max((g.varValue or 0.0) - need, 0.0) * float(inp.cold_start_hours) * float(np.asarray(inp.price_usd_per_hour[tier], dtype=float)[k])
    return slack


def start_values(inp: MilpInput, idx: VarIndex, start: SolveResult) -> dict[str, float]:
    """A MIP start for ``idx``'s model from a plan of the same candidates (``start.reserved``,
    ``start.per_period``, ``start.api_rps``): replicas as given; with buckets every unit on the
    whole-mix class (the last), the spot rule's split on the non-spot units; HA region flags from
    the replicas in service."""
    values: dict[str, float] = {}
    for tier, vars_ in idx.reserved.items():
        committed = commitments(inp, start.reserved.get(tier, np.zeros(reserved_shape(inp))))
        for (k, m), v in vars_.items():
            values[v.name] = float(committed[k, m])
    for tier, vars_ in idx.per_period.items():
        for (k, t), v in vars_.items():
            values[v.name] = float(start.per_period.get(tier, np.zeros((idx.K, idx.T)))[k, t])
    for (tier, k, t), v in idx.starts.items():
        x = np.asarray(start.per_period.get(tier, np.zeros((idx.K, idx.T))), dtype=float)
        values[v.name] = max(float(x[k, t] - (x[k, (t - 1) % idx.T] if t > 0 or inp.cyclic else 0.0)), 0.0)
    n = replicas_in_service(inp, start.reserved, start.per_period)
    spot = np.asarray(start.per_period.get("spot", np.zeros((idx.K, idx.T))), dtype=float)
    mix = service_classes(inp)[0].shape[1] - 1
    for split, units in ((idx.bucket_split, serving_units(inp, start.reserved, start.per_period)), (idx.fallback_split, n - spot)):
        for (k, j, t), v in split.items():
            values[v.name] = float(units[k, t]) if j == mix else 0.0
    api = start.api_rps if start.api_rps is not None else np.zeros((idx.U, idx.T))
    for (u, t), v in idx.api.items():
        values[v.name] = min(float(api[u, t]), float(v.upBound))
    if idx.stored:
        used = stores_used(inp, start.reserved, start.per_period)
        for g, v in idx.stored.items():
            values[v.name] = float(used[g])
    if idx.region_up:
        up = np.asarray(inp.region_members, dtype=float) @ n > 0.5
        for (g, t), v in idx.region_up.items():
            values[v.name] = float(up[g, t])
    return values


def solve(inp: MilpInput, options: SolverOptions | None = None, start: SolveResult | None = None) -> SolveResult:
    """Build and solve the MILP; never raises for bad input or solver failure (status + message).
    ``start``: a plan of the same candidates handed to HiGHS as a MIP start (see :func:`start_values`)."""
    options = options or SolverOptions()
    t0 = time.perf_counter()
    solver_name = options.solver.lower()
    requested = {
        "solver": solver_name,
        "time_limit_s": float(options.time_limit_s),
        "gap": float(options.gap),
        "threads": int(options.threads),
        "seed": int(options.seed),
    }

    def done(status: SolveStatus, message: str, **kw) -> SolveResult:
        return SolveResult(status=status, solver=solver_name, message=message, time_s=time.perf_counter() - t0, **kw)

    errs = validate_input(inp)
    if errs:
        return done(SolveStatus.ERROR, "invalid MILP input: " + "; ".join(errs), options=requested)
    prob, idx = build_model(inp)
    if idx.empty_infeasible:
        rows = ", ".join(idx.empty_infeasible[:5]) + (" ..." if len(idx.empty_infeasible) > 5 else "")
        return done(
            SolveStatus.INFEASIBLE,
            f"rows with no variable cannot be met: {rows} (see planner.milp.diagnose.explain_infeasibility)",
            options=requested,
        )
    if idx.n_rows() == 0:
        # Nothing to serve and no rule: the empty plan is optimal (all costs are >= 0).
        K, U, T = idx.K, idx.U, idx.T
        return done(
            SolveStatus.OPTIMAL,
            "trivial model (no constraint): nothing to buy",
            objective_usd=0.0,
            best_bound_usd=0.0,
            gap=0.0,
            options={**requested, "backend": "none"},
            reserved={tier: np.zeros(reserved_shape(inp), dtype=np.int64) for tier in RESERVED_TIERS},
            per_period={tier: np.zeros((K, T), dtype=np.int64) for tier in PER_PERIOD_TIERS},
            load_rps=np.zeros((U, K, T)),
        )

    out = run_solver(prob, options, mip=True, start=None if start is None else start_values(inp, idx, start))
    eff = {**requested, **out.effective}
    if out.status == SolveStatus.INFEASIBLE:
        out = _confirm_infeasible(inp, options, out)
    common = dict(best_bound_usd=out.bound, options=eff)
    if out.status not in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        return done(out.status, out.message, **common)

    reserved, per_period, load, api, problems = extract_solution(inp, idx)
    if problems:
        return done(SolveStatus.ERROR, f"{out.message}; solution rejected: " + "; ".join(problems[:5]), **common)
    split, fallback, split_problems = extract_splits(inp, idx)
    if split_problems:
        return done(SolveStatus.ERROR, f"{out.message}; solution rejected: " + "; ".join(split_problems[:5]), **common)
    if split is None and inp.buckets > 1:  # no instance candidate (only the API): nothing split
        split = np.zeros((idx.K, service_classes(inp)[0].shape[1], idx.T))
    carried = bucket_capacity_in_service(inp, serving_units(inp, reserved, per_period) if split is None else split)  # (K, B, T) req/s
    load, load_message = allocate_load(inp, carried, fleet_need(inp, api), options)
    if load is None:
        return done(SolveStatus.ERROR, f"{out.message}; the replicas cannot carry the demand: {load_message}", **common)
    violations = check_solution(inp, reserved, per_period, load, api=api, split=split, fallback=fallback)
    if violations:
        return done(SolveStatus.ERROR, f"{out.message}; solution violates: " + "; ".join(violations[:5]), **common)
    objective = cost_usd(inp, reserved, per_period, api)  # stores paid only where used
    # an incumbent stopped at a limit may pay for a store it does not use: compare like with like
    solver_side = cost_usd(inp, reserved, per_period, api, stored=_stores_chosen(inp, idx)) if idx.stored else objective
    solver_side += _starts_slack_usd(inp, idx, per_period)
    if out.objective is not None and abs(out.objective - solver_side) > OBJ_TOL * max(1.0, abs(solver_side)):
        return done(
            SolveStatus.ERROR,
            f"{out.message}; solver objective {out.objective:.10g} != re-costed {solver_side:.10g}",
            **common,
        )
    gap = out.gap
    bound = out.bound
    if bound is not None and bound > objective:  # rounding moved the objective below the bound
        bound = min(bound, objective)
        gap = rel_gap(objective, bound)
    status = out.status
    if status == SolveStatus.FEASIBLE and gap is not None and gap <= float(options.gap):
        status = SolveStatus.OPTIMAL  # stopped at a limit, but the bound proves the requested gap
    return SolveResult(
        status=status,
        solver=solver_name,
        objective_usd=objective,
        best_bound_usd=bound,
        gap=gap,
        time_s=time.perf_counter() - t0,
        message=out.message,
        options=eff,
        reserved=reserved,
        per_period=per_period,
        load_rps=load.sum(axis=2),
        bucket_load_rps=load if inp.buckets > 1 else None,
        class_units=split,
        fallback_units=fallback,
        api_rps=api,
    )


def solve_shortfall(inp: MilpInput, options: SolverOptions | None = None) -> tuple[SolveStatus, np.ndarray | None, str]:
    """Solve the LP relaxation with a penalised shortfall e_{u,t} on every demand row.

    The MILP is feasible iff this LP can reach zero shortfall (replicas are unbounded integers and
    every constraint is homogeneous in them, so a fractional plan scales to an integer one). Returns
    (status, (U, T) shortfall in req/s incl. headroom or None, message). Used by
    :func:`planner.milp.diagnose.explain_infeasibility`.
    """
    options = options or SolverOptions()
    errs = validate_input(inp)
    if errs:
        return SolveStatus.ERROR, None, "invalid MILP input: " + "; ".join(errs)
    prob, idx = build_model(inp, relax=True, elastic=True)
    U, T = idx.U, idx.T
    if idx.empty_infeasible:  # only min_replicas rows can be empty here
        return SolveStatus.INFEASIBLE, None, "rows with no variable: " + ", ".join(idx.empty_infeasible[:5])
    if idx.n_rows() == 0:
        return SolveStatus.OPTIMAL, np.zeros((U, T)), "trivial model"
    out = run_solver(prob, options, mip=False)
    if out.status not in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        return out.status, None, out.message
    short = np.zeros((U, T))
    for (u, _b, t), e in idx.shortfall.items():  # summed over request-size buckets
        val = e.varValue
        if val is None or not math.isfinite(val):
            return SolveStatus.ERROR, None, f"{e.name} has no value"
        short[u, t] += max(0.0, float(val))
    return out.status, short, out.message
