"""Allocation of a fleet cost: hand-computed policies to the cent, exactness and proportionality."""

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.errors import InputError
from planner.usage import (
    FleetCost,
    UsageStore,
    allocate,
    equal_token_weights,
    largest_remainder,
    token_weights,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "usage"
MAY = FleetCost(Decimal("100.00"), datetime(2024, 5, 1), datetime(2024, 6, 1), "bill 2024-05")


def usage(**teams):
    """Per-team sums from team=(prompt, completion, cached) tuples."""
    return pd.DataFrame([{"team": t, "requests": 1, "prompt_tokens": p, "completion_tokens": c, "cached_tokens": k}
                         for t, (p, c, k) in teams.items()])


def cents(result, key="team"):
    return {row[key]: (row["usage_units"], row["idle_units"], row["cost_units"])
            for _, row in result.table.iterrows()}


TWO_TEAMS = usage(search=(3000, 0, 0), support=(1000, 0, 0))  # weights 3 : 1


def test_proportional_idle():
    r = allocate(TWO_TEAMS, MAY, equal_token_weights(), idle_policy="proportional", utilisation=0.8)
    assert cents(r) == {"search": (6000, 1500, 7500), "support": (2000, 500, 2500)}
    assert r.idle_usd == Decimal("20.00") and r.total_usd == Decimal("100.00")
    assert list(r.table["share"]) == [0.75, 0.25]


def test_platform_idle():
    r = allocate(TWO_TEAMS, MAY, equal_token_weights(), idle_policy="platform", utilisation=0.8,
                 platform_owner="platform")
    assert cents(r) == {"search": (6000, 0, 6000), "support": (2000, 0, 2000), "platform": (0, 2000, 2000)}
    assert r.table.set_index("team").loc["platform", "requests"] == 0


def test_platform_owner_already_a_tenant():
    r = allocate(TWO_TEAMS, MAY, equal_token_weights(), idle_policy="platform", idle_usd="20",
                 platform_owner={"team": "support"})
    assert cents(r) == {"search": (6000, 0, 6000), "support": (2000, 2000, 4000)}


def test_even_idle():
    r = allocate(TWO_TEAMS, MAY, equal_token_weights(), idle_policy="even", idle_usd=20)
    assert cents(r) == {"search": (6000, 1000, 7000), "support": (2000, 1000, 3000)}
    assert list(r.table["cost_usd"]) == [70.0, 30.0]


def test_no_idle_figure_means_all_used():
    r = allocate(TWO_TEAMS, MAY, equal_token_weights())
    assert cents(r) == {"search": (7500, 0, 7500), "support": (2500, 0, 2500)}


def test_indivisible_cent_goes_by_largest_remainder_then_key_order():
    r = allocate(usage(a=(100, 0, 0), b=(100, 0, 0), c=(100, 0, 0)), MAY, equal_token_weights())
    assert cents(r) == {"a": (3334, 0, 3334), "b": (3333, 0, 3333), "c": (3333, 0, 3333)}
    assert largest_remainder(10, [1, 1, 1, 1]) == [3, 3, 2, 2]
    assert largest_remainder(7, [5, 1, 0]) == [6, 1, 0]  # 5.83 / 1.17: floors 5 + 1, the extra unit to 0.83


def test_cached_tokens_are_credited():
    # Both teams send 1000 prompt tokens; all of 'hit' are prefix-cache hits at 0.1 of a prefill token.
    r = allocate(usage(hit=(1000, 0, 1000), miss=(1000, 0, 0)), MAY, equal_token_weights(cached_weight=0.1))
    assert cents(r) == {"miss": (9091, 0, 9091), "hit": (909, 0, 909)}  # 1000 : 100 of 100.00
    assert list(r.table["weighted_tokens"]) == [1000.0, 100.0]


def test_decode_weight_from_the_performance_model():
    # decode tokens cost 4x prefill tokens (e.g. 2e-5 vs 5e-6 GPU-seconds): 1000 decode = 4000 prefill
    w = token_weights(5e-6, 2e-5)
    r = allocate(usage(chat=(1000, 1000, 0), batch=(5000, 0, 0)), MAY, w)
    assert cents(r) == {"chat": (5000, 0, 5000), "batch": (5000, 0, 5000)}
    assert r.table.set_index("team").loc["chat", "cost_per_million_tokens"] == 25_000.0


def test_precision_micro_dollars():
    f = FleetCost("10", MAY.start, MAY.end, "bill")
    r = allocate(usage(a=(1, 0, 0), b=(1, 0, 0), c=(1, 0, 0)), f, equal_token_weights(), precision=6)
    assert sorted(r.table["cost_units"]) == [3333333, 3333333, 3333334]
    assert r.usd(3333334) == Decimal("3.333334")


def test_from_store_counts_requests_outside_the_period():
    with UsageStore() as store:
        store.ingest(DATA / "plain.csv")  # 10:00, 10:00 and 12:00 on 2024-05-01
        fleet = FleetCost("50.00", "2024-05-01T09:00:00Z", "2024-05-01T11:00:00Z", "plan")
        r = allocate(store, fleet, equal_token_weights(cached_weight=0), by=("team", "model"))
    # search: 600 uncached prompt + 200 completion = 800; support: 600 -> 800 : 600 of 50.00
    assert cents(r) == {"search": (2857, 0, 2857), "support": (2143, 0, 2143)}
    assert r.requests_outside_period == 1
    assert list(r.table["model"]) == ["llama-3.1-8b", "llama-3.1-8b"]


@pytest.mark.parametrize("kwargs, message", [
    ({"idle_policy": "proportionate"}, "idle policy: 'proportionate' is not one of proportional, platform, even; "
                                       "did you mean 'proportional'?"),
    ({"idle_policy": "platform", "utilisation": 0.5}, "idle policy 'platform': name the platform-owner tenant "
                                                      "(--platform-owner)"),
    ({"utilisation": 1.2}, "utilisation: 1.2 is not a share in [0, 1]"),
    ({"utilisation": 0.5, "idle_usd": 3}, "give either utilisation or idle_usd, not both"),
    ({"idle_usd": 150}, "idle_usd: 150 is not between 0 and the fleet cost 100.00"),
    ({"by": ("team", "region")}, "group by: ['team', 'region'] is not a list of distinct keys among team, project, "
                                 "model, user, api_key"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(InputError) as err:
        allocate(TWO_TEAMS, MAY, equal_token_weights(), **kwargs)
    assert err.value.messages == [message]


def test_no_usage_in_the_period():
    with pytest.raises(InputError, match="no token usage between 2024-05-01T00:00:00\\+00:00 and"):
        allocate(usage(a=(0, 0, 0)), MAY, equal_token_weights())


def test_bad_fleet_costs():
    with pytest.raises(InputError) as err:
        FleetCost("-1", "2024-06-01", "2024-05-01", " ", {"Comitted": 1, "Standard": 5})
    assert err.value.messages == [
        "fleet cost total_usd: -1 is negative",
        "fleet cost period: start 2024-06-01T00:00:00+00:00 is not before end 2024-05-01T00:00:00+00:00",
        "fleet cost source: empty (say where the figure comes from: a plan, a bill)",
        "fleet cost by_pricing_category: 'Comitted' is not one of Standard, Dynamic, Committed, Other; "
        "did you mean 'Committed'?",
        "fleet cost by_pricing_category: sums to 5, not total_usd -1",
    ]
    f = FleetCost(10, datetime(2024, 5, 1, 2, tzinfo=timezone.utc), "2024-05-02T00:00:00+02:00", "bill")
    assert f.end == datetime(2024, 5, 1, 22, tzinfo=timezone.utc) and f.total_usd == Decimal("10")


def test_weights_must_be_positive():
    with pytest.raises(InputError, match="decode token cost: 0 must be positive"):
        token_weights(1e-5, 0)
    with pytest.raises(InputError, match="cached_weight: 2 is above 1"):
        equal_token_weights(cached_weight=2)


# -- properties ----------------------------------------------------------------------------------------------

tenant = st.tuples(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**6))
policies = st.sampled_from(["proportional", "platform", "even"])


@settings(max_examples=60, deadline=None)
@given(st.lists(tenant, min_size=1, max_size=12), st.integers(0, 10**11), st.floats(0, 1), policies,
       st.floats(1e-7, 1e-3), st.floats(1e-7, 1e-3))
def test_sums_exact_and_shares_non_negative(tenants, total_cents, utilisation, policy, w_prefill, w_decode):
    df = usage(**{f"t{i:02d}": (p + k, c, k) for i, (p, c, k) in enumerate(tenants)})
    if not (df["prompt_tokens"] + df["completion_tokens"]).any():
        df.loc[0, "completion_tokens"] = 1
    fleet = FleetCost(Decimal(total_cents).scaleb(-2), MAY.start, MAY.end, "random")
    r = allocate(df, fleet, token_weights(w_prefill, w_decode), idle_policy=policy, utilisation=utilisation,
                 platform_owner="platform")
    t = r.table
    assert int(t["cost_units"].sum()) == total_cents
    assert int(t["idle_units"].sum()) == r.idle_units
    assert (t["usage_units"] >= 0).all() and (t["idle_units"] >= 0).all()
    assert (t["cost_units"] == t["usage_units"] + t["idle_units"]).all()
    assert round(t["cost_usd"].sum(), 2) == float(r.total_usd)


@settings(max_examples=60, deadline=None)
@given(tenant, st.lists(tenant, max_size=6), st.integers(0, 10**11), st.floats(0, 1),
       st.sampled_from(["prompt", "completion", "cached"]))
def test_twice_the_tokens_twice_the_cost(base, others, total_cents, utilisation, kind):
    p, c, k = base
    p, c, k = p + k, c, k
    single = {"prompt": (p, 0, 0), "completion": (0, c, 0), "cached": (k, 0, k)}[kind]
    if not any(single):
        single = {"prompt": (1, 0, 0), "completion": (0, 1, 0), "cached": (1, 0, 1)}[kind]
    double = tuple(2 * x for x in single)
    rest = {f"o{i}": (q + j, d, j) for i, (q, d, j) in enumerate(others)}
    fleet = FleetCost(Decimal(total_cents).scaleb(-2), MAY.start, MAY.end, "random")
    r = allocate(usage(single=single, double=double, **rest), fleet, token_weights(3e-6, 2e-5),
                 idle_policy="proportional", utilisation=utilisation)
    cost = r.table.set_index("team")["cost_units"]
    # each of the two splits (used, idle) is within one unit of the exact quota
    assert abs(int(cost["double"]) - 2 * int(cost["single"])) <= 4
