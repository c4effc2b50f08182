"""Budgets and token quotas per tenant, checked against the period's pace (``planner attribute
--budgets FILE``). A budget file (YAML)::

    period: month            # month | week (Monday 00:00 UTC) | day: calendar periods in UTC
    budgets:
      - team: search         # one group key (team, project, model, user, api_key) and its value
        usd: 5000            # spend budget for the period, and/or
        tokens: 2.0e9        # a quota on prompt + completion tokens

The allocation window must start at the start of a period; ``elapsed`` is the share of the period the
window covers. A tenant runs ahead of pace when what it used is more than ``elapsed`` of its budget or
quota (its projection, used ÷ elapsed, is above 100 %), and is over when it used more than all of it.
An alert is one line; ``planner attribute`` exits with code 6 when there is any, for cron and CI.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from planner.errors import InputError, read_text
from planner.usage.ingest import GROUP_KEYS, _did_you_mean

PERIODS = ("month", "week", "day")
EXIT_BUDGET_ALERT = 6  # DESIGN §3.2 extended: a budget or quota runs ahead of pace


@dataclass(frozen=True)
class Budget:
    key: str  # a group key
    value: str  # the tenant
    usd: float | None
    tokens: float | None


@dataclass(frozen=True)
class BudgetFile:
    path: Path
    period: str
    budgets: list[Budget]

    @property
    def keys(self) -> list[str]:
        return sorted({b.key for b in self.budgets})


def read_budgets(path: str | Path) -> BudgetFile:
    """The budget file, every problem at once (one line each, naming the entry and field)."""
    from ruamel.yaml import YAML, YAMLError

    path = Path(path)
    try:
        data = YAML(typ="safe").load(read_text(path))
    except YAMLError as exc:
        raise InputError(f"{path}: not YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a budget file is a mapping with 'period' and 'budgets'")
    problems: list[str] = []
    period = str(data.get("period", "month"))
    if period not in PERIODS:
        problems.append(f"{path}: period: '{period}' is not one of {', '.join(PERIODS)}{_did_you_mean(period, PERIODS)}")
    unknown = sorted(set(data) - {"period", "budgets"})
    problems += [f"{path}: {k}: unknown field{_did_you_mean(k, ('period', 'budgets'))}" for k in unknown]
    entries = data.get("budgets")
    if not isinstance(entries, list) or not entries:
        problems.append(f"{path}: budgets: a non-empty list of entries such as {{team: search, usd: 5000}}")
        entries = []
    budgets = []
    for i, entry in enumerate(entries):
        where = f"{path}: budgets[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: an entry is a mapping such as {{team: search, usd: 5000}}")
            continue
        keys = [k for k in entry if k in GROUP_KEYS]
        extra = [k for k in entry if k not in GROUP_KEYS and k not in ("usd", "tokens")]
        problems += [f"{where}: {k}: unknown field{_did_you_mean(str(k), GROUP_KEYS + ('usd', 'tokens'))}" for k in extra]
        if len(keys) != 1:
            problems.append(f"{where}: name exactly one tenant by one of {', '.join(GROUP_KEYS)} (got {len(keys)})")
            continue
        limits = {}
        given = [f for f in ("usd", "tokens") if entry.get(f) is not None]
        if not given:
            problems.append(f"{where}: give usd and/or tokens")
        for field in given:
            value = entry[field]
            try:
                limits[field] = float(value)
            except (TypeError, ValueError):
                problems.append(f"{where}: {field}: '{value}' is not a number")
                continue
            if not limits[field] > 0:  # also NaN
                problems.append(f"{where}: {field}: {value} must be positive")
        budgets.append(Budget(keys[0], str(entry[keys[0]]), limits.get("usd"), limits.get("tokens")))
    if problems:
        raise InputError(problems)
    return BudgetFile(path, period, budgets)


def period_bounds(period: str, t: datetime) -> tuple[datetime, datetime]:
    """The calendar period (UTC) holding ``t``."""
    day = t.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day, day + timedelta(days=1)
    if period == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    start = day.replace(day=1)
    return start, start + timedelta(days=calendar.monthrange(start.year, start.month)[1])


def elapsed_share(budgets: BudgetFile, start: datetime, end: datetime) -> float:
    """The share of its budget period that the window [start, end) covers; the window must start at
    the period's start and end within it."""
    lo, hi = period_bounds(budgets.period, start)
    if start != lo or end > hi:
        raise InputError(f"{budgets.path}: the window {start.isoformat()} to {end.isoformat()} must start at the start of its "
                         f"{budgets.period} ({lo.isoformat()}) and end by its end ({hi.isoformat()}): pass --start/--end")
    return (end - start).total_seconds() / (hi - lo).total_seconds()


@dataclass(frozen=True)
class Status:
    budget: Budget
    what: str  # usd | tokens
    used: float
    limit: float
    elapsed: float

    @property
    def projected(self) -> float:
        """Share of the limit used by the period's end at this pace."""
        return self.used / self.limit / self.elapsed

    @property
    def alert(self) -> str | None:
        if self.used > self.limit:
            return "over"
        return "ahead of pace" if self.used > self.limit * self.elapsed * (1 + 1e-9) else None

    def line(self) -> str:
        fmt = (lambda v: f"{v:,.2f} USD") if self.what == "usd" else (lambda v: f"{v:,.0f} tokens")
        head = f"{self.budget.key} {self.budget.value}: {fmt(self.used)} of {fmt(self.limit)} ({self.used / self.limit:.0%}) at {self.elapsed:.0%} of the period"
        if self.alert == "over":
            return f"{head}: OVER {'budget' if self.what == 'usd' else 'quota'}"
        return f"{head}: on pace for {self.projected:.0%}" + (" (ahead of pace)" if self.alert else "")


def check_budgets(budgets: BudgetFile, spent: dict[str, dict[str, tuple[float, float]]], elapsed: float) -> list[Status]:
    """One status per budget and limit. ``spent``: key -> tenant -> (USD, tokens) in the window (a
    tenant without requests used nothing)."""
    out = []
    for b in budgets.budgets:
        usd, tokens = spent.get(b.key, {}).get(b.value, (0.0, 0.0))
        if b.usd is not None:
            out.append(Status(b, "usd", usd, b.usd, elapsed))
        if b.tokens is not None:
            out.append(Status(b, "tokens", tokens, b.tokens, elapsed))
    return out
