"""Cost attribution and chargeback: who spent the fleet's money (DESIGN §1, "Who spent it?").

Pipeline: request logs → :class:`UsageStore` (DuckDB, ``ingest``) → :func:`allocate` a :class:`FleetCost`
by weighted tokens, exact to the cent → :func:`focus_table` (FinOps FOCUS 1.1 rows) → CSV / JSON, checked
by :func:`focus_problems`.

    store = ingest_usage(["gateway.jsonl"])
    fleet = FleetCost(total_usd="1738.00", start="2024-05-01T00:00:00Z", end="2024-06-01T00:00:00Z",
                      source="plan quickstart")
    result = allocate(store, fleet, token_weights(prefill_s, decode_s), by=("team",), utilisation=0.7)
    write_focus_csv(focus_table(result), "chargeback.csv")
"""

from planner.usage.allocate import (
    IDLE_POLICIES,
    Allocation,
    FleetCost,
    TokenWeights,
    allocate,
    equal_token_weights,
    largest_remainder,
    token_weights,
)
from planner.usage.focus import (
    FOCUS_SPEC_URL,
    FOCUS_VERSION,
    MANDATORY_COLUMNS,
    TIER_PRICING_CATEGORY,
    focus_problems,
    focus_table,
    write_focus_csv,
    write_focus_json,
)
from planner.usage.fields import FIELD_SOURCES
from planner.usage.ingest import GROUP_KEYS, UsageStore, ingest_usage

__all__ = [
    "FIELD_SOURCES", "FOCUS_SPEC_URL", "FOCUS_VERSION", "GROUP_KEYS", "IDLE_POLICIES", "MANDATORY_COLUMNS",
    "TIER_PRICING_CATEGORY", "Allocation", "FleetCost", "TokenWeights", "UsageStore", "allocate",
    "equal_token_weights", "focus_problems", "focus_table", "ingest_usage", "largest_remainder", "token_weights",
    "write_focus_csv", "write_focus_json",
]
