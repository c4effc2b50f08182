"""Allocation of a fleet's cost for a period to tenants (teams, projects, models, users) by the resources
their requests used, exact to the cent.

Weights. A request's weight is ``(prompt − cached) × w_prefill + cached × w_prefill × cached_weight +
completion × w_decode``. ``w_prefill`` and ``w_decode`` are the cost of one prefill and one decode token
(e.g. the GPU-seconds per token that the planner's performance model gives for the serving configuration):
only their ratio matters. Cached prompt tokens are credited: a prefix-cache hit (vLLM / SGLang automatic
prefix caching) reuses the KV cache already computed and skips that token's prefill FLOPs, but the token
still occupies KV memory and is attended to by every decode step, so it counts at ``cached_weight``
(default 0.1) of a prefill token rather than zero. There is no default hardware ratio: pass the two costs to
:func:`token_weights`, or say explicitly that a prefill and a decode token cost the same with
:func:`equal_token_weights`.

Idle capacity. The fleet cost splits into a used part and an idle part (from ``utilisation``, the used
share in [0, 1], or ``idle_usd``; with neither, everything is used). The used part goes to tenants by
weight. The idle part follows a stated policy: ``proportional`` (by weight, like the used part),
``platform`` (all to a named platform-owner tenant) or ``even`` (equal shares among tenants with requests).

Exactness. Money is counted in integer units of 10^-precision USD (cents by default). Each split (used by
weight, idle by policy) uses the largest-remainder method: every tenant gets the floor of its exact quota
and the units left over go to the largest remainders (ties: larger weight, then key order), so the
allocations sum exactly to the fleet cost and none is negative.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from fractions import Fraction

import pandas as pd

from planner.errors import InputError
from planner.usage.ingest import UsageStore, _did_you_mean, check_group_keys

IDLE_POLICIES = ("proportional", "platform", "even")
PRICING_CATEGORIES = ("Standard", "Dynamic", "Committed", "Other")  # FOCUS PricingCategory values
DEFAULT_CACHED_WEIGHT = 0.1
_COUNTS = ("requests", "prompt_tokens", "completion_tokens", "cached_tokens")


def _decimal(value, what: str) -> Decimal:
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InputError(f"{what}: '{value}' is not a number") from None
    if not d.is_finite():
        raise InputError(f"{what}: '{value}' is not a finite number")
    return d


def _utc(value, what: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"{what}: '{value}' is not an ISO 8601 date-time") from None
    if not isinstance(value, datetime):
        raise InputError(f"{what}: '{value}' is not a date-time")
    # A naive date-time is UTC, like the request times in the usage store.
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


@dataclass(frozen=True)
class FleetCost:
    """What the fleet cost over [start, end): from a plan (the planner's cost for the period) or a bill.

    ``by_pricing_category`` optionally splits ``total_usd`` by FOCUS PricingCategory (Committed for reserved
    capacity, Standard for on-demand, Dynamic for spot, Other); it must sum to ``total_usd``. Naive
    date-times are UTC."""

    total_usd: Decimal
    start: datetime
    end: datetime
    source: str
    by_pricing_category: Mapping[str, Decimal] | None = None

    def __post_init__(self):
        total = _decimal(self.total_usd, "fleet cost total_usd")
        start, end = _utc(self.start, "fleet cost start"), _utc(self.end, "fleet cost end")
        problems = []
        if total < 0:
            problems.append(f"fleet cost total_usd: {total} is negative")
        if not start < end:
            problems.append(f"fleet cost period: start {start.isoformat()} is not before end {end.isoformat()}")
        if not str(self.source).strip():
            problems.append("fleet cost source: empty (say where the figure comes from: a plan, a bill)")
        split = None
        if self.by_pricing_category is not None:
            split = {}
            for key, value in self.by_pricing_category.items():
                if key not in PRICING_CATEGORIES:
                    problems.append(f"fleet cost by_pricing_category: '{key}' is not one of "
                                    f"{', '.join(PRICING_CATEGORIES)}{_did_you_mean(key, PRICING_CATEGORIES)}")
                    continue
                split[key] = _decimal(value, f"fleet cost by_pricing_category.{key}")
                if split[key] < 0:
                    problems.append(f"fleet cost by_pricing_category.{key}: {split[key]} is negative")
            if split and abs(sum(split.values()) - total) > Decimal("0.005"):
                problems.append(f"fleet cost by_pricing_category: sums to {sum(split.values())}, "
                                f"not total_usd {total}")
        if problems:
            raise InputError(problems)
        object.__setattr__(self, "total_usd", total)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "by_pricing_category", split)


@dataclass(frozen=True)
class TokenWeights:
    """Relative cost of a prefill, decode and cached prompt token (exact fractions; only ratios matter)."""

    prefill: Fraction
    decode: Fraction
    cached_weight: Fraction  # a cached prompt token costs this fraction of a prefill token

    def integer_coefficients(self) -> tuple[int, int, int]:
        """(uncached prefill, cached prefill, decode) weights scaled to integers with the same ratios."""
        parts = (self.prefill, self.prefill * self.cached_weight, self.decode)
        lcm = math.lcm(*(p.denominator for p in parts))
        return tuple(int(p * lcm) for p in parts)


def _fraction(value, what: str, *, positive: bool) -> Fraction:
    try:
        f = Fraction(repr(float(value))) if not isinstance(value, (Fraction, Decimal, int)) else Fraction(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{what}: '{value}' is not a finite number") from None
    if f < 0 or (positive and f == 0):
        raise InputError(f"{what}: {value} must be {'positive' if positive else 'non-negative'}")
    return f


def token_weights(prefill_cost, decode_cost, *, cached_weight=DEFAULT_CACHED_WEIGHT) -> TokenWeights:
    """Weights from the cost of one prefill token and one decode token, in any one unit (e.g. GPU-seconds
    per token from the performance model), and the fraction of a prefill token a cached prompt token costs."""
    cw = _fraction(cached_weight, "cached_weight", positive=False)
    if cw > 1:
        raise InputError(f"cached_weight: {cached_weight} is above 1 (a cached token cannot cost more than a "
                         f"prefill token)")
    return TokenWeights(_fraction(prefill_cost, "prefill token cost", positive=True),
                        _fraction(decode_cost, "decode token cost", positive=True), cw)


def equal_token_weights(*, cached_weight=DEFAULT_CACHED_WEIGHT) -> TokenWeights:
    """The explicit assumption that a prefill and a decode token cost the same (no hardware figure)."""
    return token_weights(1, 1, cached_weight=cached_weight)


def largest_remainder(total: int, weights: Sequence[int], tie_order: Sequence[int] | None = None) -> list[int]:
    """Split ``total`` integer units in proportion to non-negative integer ``weights`` (not all zero):
    floors of the exact quotas, then one more unit to each of the largest remainders, ties broken by
    larger weight, then by ``tie_order`` (default: position). The result sums exactly to ``total``."""
    denominator = sum(weights)
    if total < 0 or denominator <= 0 or any(w < 0 for w in weights):
        raise ValueError("largest_remainder needs total >= 0 and non-negative weights with a positive sum")
    quotas = [divmod(total * w, denominator) for w in weights]
    shares = [q for q, _ in quotas]
    left = total - sum(shares)
    order = tie_order if tie_order is not None else range(len(weights))
    ranked = sorted(range(len(weights)), key=lambda i: (-quotas[i][1], -weights[i], order[i]))
    for i in ranked[:left]:
        shares[i] += 1
    return shares


def controlled_rounding(row_totals: Sequence[int], column_totals: Sequence[int]) -> list[list[int]]:
    """An integer table with the given row and column totals (equal grand totals) whose every cell is
    its exact share R_i C_j / T rounded down or up: the floors, then one more unit in r_i cells of
    row i, chosen row by row (largest deficit first) among the columns with the largest deficit left
    (Ryser's construction: it finds a 0/1 completion whenever one exists, and the exact shares are
    one, so one does). Ties prefer the larger remainder, then the lower index."""
    total = sum(row_totals)
    if total != sum(column_totals) or any(x < 0 for x in (*row_totals, *column_totals)):
        raise ValueError("controlled_rounding needs non-negative totals with equal sums")
    if total == 0:
        return [[0] * len(column_totals) for _ in row_totals]
    exact = [[divmod(r * c, total) for c in column_totals] for r in row_totals]
    table = [[q for q, _ in row] for row in exact]
    row_left = [r - sum(row) for r, row in zip(row_totals, table)]
    col_left = [c - sum(table[i][j] for i in range(len(table))) for j, c in enumerate(column_totals)]
    raised = [[False] * len(column_totals) for _ in table]
    for i in sorted(range(len(table)), key=lambda i: (-row_left[i], i)):
        candidates = [j for j in range(len(column_totals)) if exact[i][j][1] > 0 and col_left[j] > 0]
        for j in sorted(candidates, key=lambda j: (-col_left[j], -exact[i][j][1], j))[:row_left[i]]:
            raised[i][j] = True
            row_left[i] -= 1
            col_left[j] -= 1
    while any(row_left):  # rare (cells whose exact share is whole cannot rise): augmenting paths
        _augment(exact, raised, row_left, col_left)
    return [[q + int(up) for q, up in zip(row, ups)] for row, ups in zip(table, raised)]


def _augment(exact, raised, row_left, col_left) -> None:
    """One more unit along an alternating path: from a row still short, raise a cell into a column;
    if that column is full, lower another row's raised cell there and go on from that row, until a
    column still short is reached (breadth first: bipartite matching's augmenting path)."""
    start = next(i for i, left in enumerate(row_left) if left)
    came_from: dict[tuple[str, int], tuple[str, int] | None] = {("r", start): None}
    queue = [("r", start)]
    while queue:
        kind, x = queue.pop(0)
        if kind == "r":
            for j in range(len(col_left)):
                if exact[x][j][1] > 0 and not raised[x][j] and ("c", j) not in came_from:
                    came_from[("c", j)] = ("r", x)
                    if col_left[j] > 0:
                        node = ("c", j)
                        while came_from[node] is not None:  # flip the path's cells
                            prev = came_from[node]
                            (r, c) = (prev[1], node[1]) if node[0] == "c" else (node[1], prev[1])
                            raised[r][c] = not raised[r][c]
                            node = prev
                        row_left[start] -= 1
                        col_left[j] -= 1
                        return
                    queue.append(("c", j))
        else:
            for i in range(len(raised)):
                if raised[i][x] and ("r", i) not in came_from:
                    came_from[("r", i)] = ("c", x)
                    queue.append(("r", i))
    raise AssertionError("controlled rounding found no completion")  # cannot happen: the exact shares are one


@dataclass(frozen=True)
class Allocation:
    """The result of :func:`allocate`. ``table`` has one row per group: the group keys, requests,
    prompt/completion/cached tokens, weighted_tokens (prefill-token equivalents), usage_usd, idle_usd,
    cost_usd (= usage + idle), share (of the fleet cost), cost_per_million_tokens (cost per million prompt +
    completion tokens; NaN without tokens), and the exact integers usage_units, idle_units, cost_units
    (units of 10^-precision USD). Rows are sorted by cost, largest first."""

    table: pd.DataFrame
    fleet: FleetCost
    by: tuple[str, ...]
    weights: TokenWeights
    idle_policy: str
    precision: int
    total_units: int
    idle_units: int
    requests_outside_period: int | None = None
    platform_owner: tuple[str, ...] | None = field(default=None)

    @property
    def unit_usd(self) -> Decimal:
        return Decimal(1).scaleb(-self.precision)

    def usd(self, units: int) -> Decimal:
        """Exact USD amount of an integer number of units."""
        return (Decimal(int(units)) * self.unit_usd).quantize(self.unit_usd)

    @property
    def total_usd(self) -> Decimal:
        return self.usd(self.total_units)

    @property
    def idle_usd(self) -> Decimal:
        return self.usd(self.idle_units)


def _units(amount: Decimal, precision: int) -> int:
    return int(amount.scaleb(precision).to_integral_value(rounding=ROUND_HALF_EVEN))


def _usage_table(usage, by: tuple[str, ...], fleet: FleetCost) -> tuple[pd.DataFrame, int | None]:
    if isinstance(usage, UsageStore):
        return usage.usage_by(by, fleet.start, fleet.end), usage.requests_outside(fleet.start, fleet.end)
    if not isinstance(usage, pd.DataFrame):
        raise TypeError("usage must be a UsageStore or a DataFrame of per-group sums")
    missing = [c for c in by + _COUNTS if c not in usage.columns]
    if missing:
        raise InputError(f"usage table: missing columns {', '.join(missing)}")
    table = usage[list(by + _COUNTS)].copy()
    problems = []
    for c in _COUNTS:
        values = pd.to_numeric(table[c], errors="coerce")
        if values.isna().any() or (values < 0).any() or (values % 1 != 0).any():
            problems.append(f"usage table: {c}: every value must be a non-negative whole number")
    if not problems and (table["cached_tokens"] > table["prompt_tokens"]).any():
        problems.append("usage table: cached_tokens exceeds prompt_tokens in some rows")
    if table.duplicated(list(by)).any():
        problems.append(f"usage table: repeated groups of {', '.join(by)}")
    if problems:
        raise InputError(problems)
    return table.sort_values(list(by), kind="stable").reset_index(drop=True), None


def _owner_key(platform_owner, by: tuple[str, ...]) -> tuple[str, ...]:
    if platform_owner is None:
        raise InputError("idle policy 'platform': name the platform-owner tenant (--platform-owner)")
    if isinstance(platform_owner, str):
        return tuple(platform_owner for _ in by)  # the owner's name in every grouping column
    missing = [k for k in by if k not in platform_owner]
    if missing:
        raise InputError(f"--platform-owner: give a value for every group key (KEY=NAME,...); missing {', '.join(missing)}")
    return tuple(str(platform_owner[k]) for k in by)


def allocate(usage: UsageStore | pd.DataFrame, fleet: FleetCost, weights: TokenWeights, *,
             by: Sequence[str] | str = ("team",), idle_policy: str = "proportional",
             utilisation: float | None = None, idle_usd=None, platform_owner: str | Mapping[str, str] | None = None,
             precision: int = 2) -> Allocation:
    """Allocate ``fleet``'s cost to the groups of ``by`` (team, project, model, user, api_key) by the
    weighted tokens of their requests in [fleet.start, fleet.end).

    ``usage`` is a :class:`UsageStore` or a DataFrame already summed per group (the group keys, requests,
    prompt_tokens, completion_tokens, cached_tokens). ``utilisation`` (used share in [0, 1]) or ``idle_usd``
    sets the idle part, spread by ``idle_policy``; ``platform_owner`` names the tenant that carries it under
    'platform' (a string is used for every group key; a mapping gives one value per key). ``precision`` is
    the number of decimals money is exact to (2 = cents, up to 6 = micro-dollars)."""
    by = check_group_keys(by)
    if idle_policy not in IDLE_POLICIES:
        raise InputError(f"idle policy: '{idle_policy}' is not one of {', '.join(IDLE_POLICIES)}"
                         f"{_did_you_mean(idle_policy, IDLE_POLICIES)}")
    if not (isinstance(precision, int) and 0 <= precision <= 6):
        raise InputError(f"precision: {precision} is not a whole number of decimals from 0 to 6")
    total_units = _units(fleet.total_usd, precision)
    if utilisation is not None and idle_usd is not None:
        raise InputError("give either utilisation or idle_usd, not both")
    if utilisation is not None:
        u = _decimal(utilisation, "utilisation")
        if not Decimal(0) <= u <= Decimal(1):
            raise InputError(f"utilisation: {utilisation} is not a share in [0, 1]")
        idle_units = _units(Decimal(total_units) * (1 - u), 0)
    elif idle_usd is not None:
        idle_units = _units(_decimal(idle_usd, "idle_usd"), precision)
        if not 0 <= idle_units <= total_units:
            raise InputError(f"idle_usd: {idle_usd} is not between 0 and the fleet cost {fleet.total_usd}")
    else:
        idle_units = 0
    owner = _owner_key(platform_owner, by) if idle_policy == "platform" else None

    table, outside = _usage_table(usage, by, fleet)
    a, b, c = weights.integer_coefficients()
    prompt, cached = table["prompt_tokens"].astype(object), table["cached_tokens"].astype(object)
    completion = table["completion_tokens"].astype(object)
    # Python integers: exact whatever the token counts and the weights' denominators.
    w = [int(p - k) * a + int(k) * b + int(d) * c for p, k, d in zip(prompt, cached, completion)]
    used_units = total_units - idle_units
    if used_units and not any(w):
        raise InputError(f"no token usage between {fleet.start.isoformat()} and {fleet.end.isoformat()} "
                         f"to allocate {fleet.total_usd} USD over")
    order = list(range(len(w)))  # the table is sorted by key: ties go in key order
    usage_units = largest_remainder(used_units, w, order) if used_units else [0] * len(w)

    if idle_units == 0:
        idle = [0] * len(w)
    elif owner is not None:
        keys = list(zip(*(table[k].astype(str) for k in by)))
        if owner not in keys:
            row = {k: v for k, v in zip(by, owner)} | {col: 0 for col in _COUNTS}
            table = pd.concat([table, pd.DataFrame([row])], ignore_index=True)
            w.append(0)
            usage_units.append(0)
            keys.append(owner)
        idle = [idle_units if key == owner else 0 for key in keys]
    elif idle_policy == "proportional":
        if not any(w):
            raise InputError("idle policy 'proportional': no token usage to spread the idle cost by")
        idle = largest_remainder(idle_units, w, order)
    else:  # even: equal shares among tenants with requests
        active = [1 if r > 0 else 0 for r in table["requests"]]
        if not any(active):
            raise InputError("idle policy 'even': no tenant has requests in the period")
        idle = largest_remainder(idle_units, active, order)

    return Allocation(_finish(table, w, usage_units, idle, weights, precision, total_units, a), fleet, by, weights,
                      idle_policy, precision, total_units, idle_units, outside, owner)


def _finish(table: pd.DataFrame, w: list[int], usage_units: list[int], idle: list[int], weights: TokenWeights,
            precision: int, total_units: int, prefill_coefficient: int) -> pd.DataFrame:
    out = table.copy()
    for col in _COUNTS:
        out[col] = out[col].astype("int64")
    out["weighted_tokens"] = [x / prefill_coefficient for x in w]  # in prefill-token equivalents
    out["usage_units"] = pd.array(usage_units, dtype="int64")
    out["idle_units"] = pd.array(idle, dtype="int64")
    out["cost_units"] = out["usage_units"] + out["idle_units"]
    scale = 10.0 ** precision
    for name in ("usage", "idle", "cost"):
        out[f"{name}_usd"] = (out[f"{name}_units"] / scale).round(precision)
    out["share"] = out["cost_units"] / total_units if total_units else 0.0
    tokens = out["prompt_tokens"] + out["completion_tokens"]
    out["cost_per_million_tokens"] = (out["cost_usd"] * 1e6 / tokens.where(tokens > 0)).astype(float)
    keys = [c for c in table.columns if c not in _COUNTS]
    cols = keys + list(_COUNTS) + ["weighted_tokens", "usage_usd", "idle_usd", "cost_usd", "share",
                                   "cost_per_million_tokens", "usage_units", "idle_units", "cost_units"]
    return out[cols].sort_values(["cost_units"] + keys, ascending=[False] + [True] * len(keys),
                                 kind="stable").reset_index(drop=True)
