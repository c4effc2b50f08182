"""FOCUS 1.1 chargeback export: columns, exact totals, CSV/JSON round trips and the validator."""

import json
from decimal import Decimal

import pandas as pd
import pytest

from planner.usage import (
    MANDATORY_COLUMNS,
    FleetCost,
    allocate,
    equal_token_weights,
    focus_problems,
    focus_table,
    write_focus_csv,
    write_focus_json,
)

USAGE = pd.DataFrame([
    {"team": "search", "model": "llama-3.1-8b", "requests": 10, "prompt_tokens": 3000, "completion_tokens": 0,
     "cached_tokens": 0},
    {"team": "support", "model": "llama-3.1-8b", "requests": 5, "prompt_tokens": 1000, "completion_tokens": 0,
     "cached_tokens": 0},
])
FLEET = FleetCost("100.00", "2024-05-01T00:00:00Z", "2024-06-01T00:00:00Z", "plan chatbot-70b")


@pytest.fixture
def table():
    r = allocate(USAGE, FLEET, equal_token_weights(), by=("team", "model"), idle_policy="platform",
                 utilisation=0.8, platform_owner={"team": "platform", "model": "(fleet)"})
    return focus_table(r)


def test_columns_values_and_totals(table):
    assert set(MANDATORY_COLUMNS) <= set(table.columns)
    assert {"x_Team", "x_Model", "x_PromptTokens", "x_CompletionTokens", "x_CachedTokens", "x_Requests",
            "x_IdleCost", "Tags", "PricingCategory"} <= set(table.columns)
    assert sum(table["BilledCost"]) == Decimal("100.00")
    assert list(table["BilledCost"]) == [Decimal("60.00"), Decimal("20.00"), Decimal("20.00")]
    assert list(table["x_Team"]) == ["search", "platform", "support"]
    assert (table["EffectiveCost"] == table["BilledCost"]).all() and (table["ListCost"] == table["BilledCost"]).all()
    first = table.iloc[0]
    assert first["ChargePeriodStart"] == "2024-05-01T00:00:00Z" and first["ChargePeriodEnd"] == "2024-06-01T00:00:00Z"
    assert first["ChargeCategory"] == "Usage" and first["BillingCurrency"] == "USD"
    assert json.loads(first["Tags"]) == {"model": "llama-3.1-8b", "team": "search"}
    assert table.set_index("x_Team").loc["platform", "x_IdleCost"] == Decimal("20.00")
    assert focus_problems(table) == []


def test_csv_round_trip_passes_and_tampering_fails(table, tmp_path):
    path = write_focus_csv(table, tmp_path / "chargeback.csv")
    back = pd.read_csv(path, dtype=str, keep_default_na=False).replace({"": None})
    assert focus_problems(back) == []
    assert sum(Decimal(v) for v in back["BilledCost"]) == Decimal("100.00")

    bad = back.copy()
    bad.loc[0, "BilledCost"] = "1,234.00"
    bad.loc[1, "ChargeCategory"] = "Usage fee"
    bad.loc[2, "ChargePeriodStart"] = "2024-06-02T00:00:00Z"
    bad.loc[0, "BillingPeriodEnd"] = "2024-06-01 00:00:00"
    bad.loc[1, "BillingCurrency"] = "usd"
    bad.loc[2, "Tags"] = "team=support"
    bad.loc[0, "PricingCategory"] = None
    bad.loc[1, "EffectiveCost"] = "+20.00"
    bad["Team"] = "search"
    bad.loc[2, "ServiceSubcategory"] = "Databases"
    bad = bad.drop(columns=["ServiceName"])
    assert focus_problems(bad) == [
        "missing mandatory column ServiceName",
        "column Team: not a FOCUS 1.1 column and not prefixed x_",
        "row 1: BilledCost: '1,234.00' is not a decimal number",
        "row 1: BillingPeriodEnd: '2024-06-01 00:00:00' is not an ISO 8601 UTC date-time (YYYY-MM-DDTHH:mm:ssZ)",
        "row 1: PricingCategory: null on a Usage charge",
        "row 2: EffectiveCost: '+20.00' is not a decimal number",
        "row 2: BillingCurrency: 'usd' is not an ISO 4217 currency code",
        "row 2: ChargeCategory: 'Usage fee' is not one of Usage, Purchase, Tax, Credit, Adjustment",
        "row 3: ServiceSubcategory: 'Databases' is not one of AI and Machine Learning's: AI Platforms, Bots, Generative AI, Machine Learning, Natural Language Processing, Other (AI and Machine Learning)",
        "row 3: Tags: not a JSON object of key-value pairs (scalar values)",
        "row 3: ChargePeriodStart 2024-06-02T00:00:00Z is not before ChargePeriodEnd 2024-06-01T00:00:00Z",
    ]


def test_null_in_a_required_column(table):
    bad = table.copy()
    bad.loc[0, "ProviderName"] = None
    assert focus_problems(bad) == ["row 1: ProviderName: null, but FOCUS requires a value"]


def test_json_export(table, tmp_path):
    records = json.loads(write_focus_json(table, tmp_path / "chargeback.json").read_text())
    assert len(records) == 3
    assert round(sum(r["BilledCost"] for r in records), 2) == 100.0
    assert records[0]["Tags"] == {"model": "llama-3.1-8b", "team": "search"}
    assert records[0]["ChargeClass"] is None and records[0]["x_PromptTokens"] == 3000
    assert focus_problems(pd.DataFrame(records)) == []


def test_split_by_pricing_category_is_exact():
    fleet = FleetCost("100.00", "2024-05-01", "2024-06-01", "bill",
                      {"Committed": "60.00", "Standard": "30.01", "Dynamic": "9.99"})
    usage = USAGE.assign(completion_tokens=[7, 3], cached_tokens=[1, 0])
    r = allocate(usage, fleet, equal_token_weights(), by=("team", "model"), idle_policy="even", utilisation=0.9)
    t = focus_table(r)
    assert len(t) == 6 and set(t["PricingCategory"]) == {"Committed", "Standard", "Dynamic"}
    assert sum(t["BilledCost"]) == Decimal("100.00")
    per_team = t.groupby("x_Team")["BilledCost"].sum()
    assert per_team.to_dict() == {team: r.usd(u) for team, u in zip(r.table["team"], r.table["cost_units"])}
    assert t.groupby("x_Team")["x_PromptTokens"].sum().to_dict() == {"search": 3000, "support": 1000}
    assert sum(t["x_Requests"]) == 15 and sum(t["x_IdleCost"]) == r.idle_usd
    assert focus_problems(t) == []


@pytest.mark.parametrize("seed", range(5))
def test_each_pricing_category_keeps_its_total_over_many_small_groups(seed):
    import random

    rng = random.Random(seed)
    usage = pd.DataFrame([{"user": f"u{i:03d}", "requests": 1, "prompt_tokens": rng.randint(1, 50), "completion_tokens": rng.randint(0, 20),
                           "cached_tokens": 0} for i in range(200)])
    fleet = FleetCost("2.38", "2024-05-01", "2024-05-02", "plan", {"Standard": "1.86", "Dynamic": "0.52"})
    r = allocate(usage, fleet, equal_token_weights(), by=("user",), utilisation=0.7)
    t = focus_table(r)
    # many one-cent groups: each category still carries its own part of the fleet's cost, every group its cost
    assert t.groupby("PricingCategory")["BilledCost"].sum().to_dict() == {"Standard": Decimal("1.86"), "Dynamic": Decimal("0.52")}
    assert t.groupby("x_User")["BilledCost"].sum().to_dict() == {u: r.usd(c) for u, c in zip(r.table["user"], r.table["cost_units"])}


def test_controlled_rounding_by_hand():
    from planner.usage.allocate import controlled_rounding

    # exact shares of 3 groups × 2 categories: rows 1, 1, 1; columns 2, 1 of 3 → 2/3 and 1/3 each
    table = controlled_rounding([1, 1, 1], [2, 1])
    assert [sum(r) for r in table] == [1, 1, 1] and [sum(c) for c in zip(*table)] == [2, 1]
    # a whole share stays whole: 2 × 2 over 4 = 1, and the rest must go around it
    assert controlled_rounding([2, 2], [2, 2]) == [[1, 1], [1, 1]]
