"""Chargeback export in the FinOps Open Cost and Usage Specification (FOCUS), version 1.1
(https://focus.finops.org/focus-specification/v1-1/; column definitions in
https://github.com/FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec, ``specification/columns``).

One row per allocation group (and per PricingCategory when the fleet cost is split by category). The
charge is internal: the fleet's cost passed through at cost, so BilledCost = EffectiveCost = ListCost =
ContractedCost (there is no separate list or contracted price to report, and none is invented).
ChargeCategory is "Usage", ChargeFrequency "Usage-Based", ServiceCategory "AI and Machine Learning",
ServiceSubcategory "Generative AI"; the quantity is prompt + completion tokens (PricingUnit and
ConsumedUnit "Tokens", a count-based unit the spec recommends). Group keys go to Tags (a JSON object) and
to custom columns, which FOCUS requires to be prefixed ``x_``: x_Team, x_Project, x_Model, x_User,
x_ApiKey, x_PromptTokens, x_CompletionTokens, x_CachedTokens, x_Requests, x_IdleCost.

Formats (FOCUS attributes): decimals with no exponent, no '+' sign, no thousands separator and no
currency symbol (NumericFormat); date-times in UTC as ``YYYY-MM-DDTHH:mm:ssZ`` (DateTimeFormat);
currency as an ISO 4217 alphabetic code (CurrencyCodeFormat; the format is checked, not the code list).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd

from planner.usage.allocate import Allocation, _utc, controlled_rounding, largest_remainder

FOCUS_VERSION = "1.1"
FOCUS_SPEC_URL = "https://focus.finops.org/focus-specification/v1-1/"

# Feature level "Mandatory" in FOCUS 1.1.
MANDATORY_COLUMNS = (
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd",
    "ChargePeriodStart", "ContractedCost", "EffectiveCost", "InvoiceIssuerName", "ListCost", "PricingQuantity",
    "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory", "ServiceName",
)
# Conditional / recommended columns this export fills.
OPTIONAL_COLUMNS = (
    "ChargeFrequency", "ConsumedQuantity", "ConsumedUnit", "PricingCategory", "ResourceId", "ResourceName",
    "ResourceType", "ServiceSubcategory", "Tags",
)
# Every column FOCUS 1.1 defines: any other column must be a custom one, prefixed x_.
FOCUS_COLUMNS = frozenset(MANDATORY_COLUMNS + OPTIONAL_COLUMNS + (
    "AvailabilityZone", "CapacityReservationId", "CapacityReservationStatus",
    "CommitmentDiscountCategory", "CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus", "CommitmentDiscountType", "CommitmentDiscountUnit", "ContractedUnitPrice",
    "ListUnitPrice", "RegionId", "RegionName", "SkuId", "SkuMeter", "SkuPriceDetails", "SkuPriceId",
    "SubAccountId", "SubAccountName",
))
NOT_NULL_COLUMNS = (
    "BilledCost", "BillingAccountId", "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart",
    "ChargeCategory", "ChargePeriodEnd", "ChargePeriodStart", "ContractedCost", "EffectiveCost",
    "InvoiceIssuerName", "ListCost", "ProviderName", "PublisherName", "ServiceCategory", "ServiceName",
)
COST_COLUMNS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
DECIMAL_COLUMNS = COST_COLUMNS + ("PricingQuantity", "ConsumedQuantity", "x_IdleCost")
DATETIME_COLUMNS = ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd")
ALLOWED_VALUES = {
    "ChargeCategory": ("Usage", "Purchase", "Tax", "Credit", "Adjustment"),
    "ChargeClass": ("Correction",),
    "ChargeFrequency": ("One-Time", "Recurring", "Usage-Based"),
    "PricingCategory": ("Standard", "Dynamic", "Committed", "Other"),
    "ServiceCategory": (
        "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases",
        "Developer Tools", "Multicloud", "Identity", "Integration", "Internet of Things",
        "Management and Governance", "Media", "Migration", "Mobile", "Networking", "Security", "Storage",
        "Web", "Other"),
}
# ServiceSubcategory values of the categories this export uses (FOCUS 1.1, servicesubcategory.md)
SUBCATEGORIES = {"AI and Machine Learning": ("AI Platforms", "Bots", "Generative AI", "Machine Learning",
                                             "Natural Language Processing", "Other (AI and Machine Learning)")}
# The planner's tiers (DESIGN §3.5) as FOCUS pricing categories, to build FleetCost.by_pricing_category.
# Reserved capacity is "Other", not "Committed": FOCUS defines Committed by a CommitmentDiscountId that an
# allocated internal charge does not carry (FOCUS 1.1 PricingCategory).
TIER_PRICING_CATEGORY = {"reserved-1y": "Other", "reserved-3y": "Other", "on-demand": "Standard",
                         "spot": "Dynamic", "api": "Standard", "owned": "Other"}
_KEY_COLUMNS = {"team": "x_Team", "project": "x_Project", "model": "x_Model", "user": "x_User", "api_key": "x_ApiKey"}
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?(E-?[0-9]+)?")  # NumericFormat: E notation allowed
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_CURRENCY = re.compile(r"[A-Z]{3}")


def _iso(t) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def focus_table(allocation: Allocation, *, billing_account_id: str = "llm-platform",
                billing_account_name: str = "LLM platform chargeback", provider_name: str = "LLM platform",
                publisher_name: str | None = None, invoice_issuer_name: str | None = None,
                service_name: str = "LLM inference", resource_id: str | None = None, resource_name: str | None = None,
                billing_period=None) -> pd.DataFrame:
    """The allocation as FOCUS rows: costs as exact ``Decimal``, date-times as ISO 8601 UTC strings, Tags
    as a JSON string. ``billing_period`` is a (start, end) pair; by default the fleet cost's period. The
    publisher and invoice issuer default to the provider (an internal platform publishes and bills its own
    service); the resource is the fleet (``resource_id``, by default the fleet cost's source)."""
    fleet = allocation.fleet
    t = allocation.table
    bp_start, bp_end = billing_period if billing_period is not None else (fleet.start, fleet.end)
    bp_start, bp_end = _utc(bp_start, "billing period start"), _utc(bp_end, "billing period end")
    categories = fleet.by_pricing_category or {"Standard": fleet.total_usd}
    cat_names = [k for k, v in categories.items() if v > 0] or ["Standard"]
    cat_weights = [max(0, int(categories.get(k, 0) * 10 ** allocation.precision)) for k in cat_names]
    if not any(cat_weights):
        cat_weights = [1] * len(cat_names)
    resource = resource_id or fleet.source
    # each group's cost over the categories, keeping both every group's cost and every category's total
    column_totals = largest_remainder(allocation.total_units, cat_weights) if allocation.total_units else [0] * len(cat_names)
    cost_table = controlled_rounding([int(x) for x in t["cost_units"]], column_totals)
    rows = []
    for i, (_, g) in enumerate(t.iterrows()):
        keys = {k: str(g[k]) for k in allocation.by}
        cells = cost_table[i]
        # the idle share and quantities follow the group's cost split (exactly, per group)
        weights = cells if any(cells) else cat_weights
        splits = {"cost_units": cells, **{col: largest_remainder(int(g[col]), weights) for col in
                  ("idle_units", "prompt_tokens", "completion_tokens", "cached_tokens", "requests")}}
        for j, category in enumerate(cat_names):
            cost = allocation.usd(splits["cost_units"][j])
            tokens = splits["prompt_tokens"][j] + splits["completion_tokens"][j]
            label = ", ".join(f"{k}={v}" for k, v in keys.items())
            row = {
                "BilledCost": cost, "EffectiveCost": cost, "ListCost": cost, "ContractedCost": cost,
                "BillingAccountId": billing_account_id, "BillingAccountName": billing_account_name,
                "BillingCurrency": "USD",
                "BillingPeriodStart": _iso(bp_start), "BillingPeriodEnd": _iso(bp_end),
                "ChargePeriodStart": _iso(fleet.start), "ChargePeriodEnd": _iso(fleet.end),
                "ChargeCategory": "Usage", "ChargeClass": None, "ChargeFrequency": "Usage-Based",
                "ChargeDescription": (f"{service_name} fleet cost ({fleet.source}) allocated to {label} by "
                                      f"weighted tokens; idle capacity {allocation.idle_policy}"),
                "PricingCategory": category,
                "PricingQuantity": Decimal(tokens), "PricingUnit": "Tokens",
                "ConsumedQuantity": Decimal(tokens), "ConsumedUnit": "Tokens",
                "ProviderName": provider_name, "PublisherName": publisher_name or provider_name,
                "InvoiceIssuerName": invoice_issuer_name or provider_name,
                # no display name beyond the id: FOCUS forbids repeating a ResourceId as ResourceName
                "ResourceId": resource, "ResourceName": resource_name, "ResourceType": "LLM inference fleet",
                "ServiceCategory": "AI and Machine Learning", "ServiceSubcategory": "Generative AI",
                "ServiceName": service_name,
                "Tags": json.dumps(keys, sort_keys=True),
            }
            for k, v in keys.items():
                row[_KEY_COLUMNS[k]] = v
            row |= {"x_PromptTokens": splits["prompt_tokens"][j], "x_CompletionTokens": splits["completion_tokens"][j],
                    "x_CachedTokens": splits["cached_tokens"][j], "x_Requests": splits["requests"][j],
                    "x_IdleCost": allocation.usd(splits["idle_units"][j])}
            rows.append(row)
    columns = list(MANDATORY_COLUMNS + OPTIONAL_COLUMNS) + [_KEY_COLUMNS[k] for k in allocation.by] + [
        "x_PromptTokens", "x_CompletionTokens", "x_CachedTokens", "x_Requests", "x_IdleCost"]
    return pd.DataFrame(rows, columns=columns)


def write_focus_csv(table: pd.DataFrame, path: str | Path) -> Path:
    """Write FOCUS rows as CSV (UTF-8, header, empty cell = null, Decimal written as is)."""
    path = Path(path)
    table.to_csv(path, index=False)
    return path


def write_focus_json(table: pd.DataFrame, path: str | Path) -> Path:
    """Write FOCUS rows as a JSON array of objects: costs as numbers, Tags as an object, null as null."""
    path = Path(path)
    path.write_text(json.dumps(focus_records(table), indent=1) + "\n", encoding="utf-8")
    return path


def focus_records(table: pd.DataFrame) -> list[dict]:
    """FOCUS rows as JSON-ready objects: costs as numbers, Tags as an object, null as null."""
    records = []
    for rec in table.to_dict(orient="records"):
        out = {}
        for k, v in rec.items():
            if v is None or (isinstance(v, float) and v != v):
                out[k] = None
            elif isinstance(v, Decimal):
                out[k] = int(v) if v == v.to_integral_value() and v.as_tuple().exponent >= 0 else float(v)
            elif k == "Tags" and isinstance(v, str):
                out[k] = json.loads(v)
            elif hasattr(v, "item"):  # numpy scalars
                out[k] = v.item()
            else:
                out[k] = v
        records.append(out)
    return records


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and v == "")


def focus_problems(df: pd.DataFrame) -> list[str]:
    """Every way ``df`` (from :func:`focus_table`, or a FOCUS CSV read back with ``dtype=str``) breaks the
    FOCUS 1.1 rules checked here, one line each: mandatory columns present; no other column without the
    x_ prefix; non-null where required; decimal numbers (NumericFormat); date-times in UTC ISO 8601 with
    'Z'; ISO 4217 currency format; allowed values of ChargeCategory, ChargeClass, ChargeFrequency,
    PricingCategory and ServiceCategory; PricingCategory set on Usage/Purchase rows; Tags a JSON object;
    ChargePeriodStart < ChargePeriodEnd and BillingPeriodStart < BillingPeriodEnd. Rows are numbered from 1."""
    problems = [f"missing mandatory column {c}" for c in MANDATORY_COLUMNS if c not in df.columns]
    problems += [f"column {c}: not a FOCUS {FOCUS_VERSION} column and not prefixed x_" for c in df.columns
                 if c not in FOCUS_COLUMNS and not str(c).startswith("x_")]
    records = df.to_dict(orient="records")
    for i, rec in enumerate(records, start=1):
        for c in NOT_NULL_COLUMNS:
            if c in rec and _missing(rec[c]):
                problems.append(f"row {i}: {c}: null, but FOCUS requires a value")
        for c in DECIMAL_COLUMNS:
            v = rec.get(c)
            if c in rec and not _missing(v) and not _DECIMAL.fullmatch(_plain(v)):
                problems.append(f"row {i}: {c}: '{v}' is not a decimal number")
        for c in DATETIME_COLUMNS:
            v = rec.get(c)
            if c in rec and not _missing(v) and not _DATETIME.fullmatch(str(v)):
                problems.append(f"row {i}: {c}: '{v}' is not an ISO 8601 UTC date-time (YYYY-MM-DDTHH:mm:ssZ)")
        v = rec.get("BillingCurrency")
        if not _missing(v) and not _CURRENCY.fullmatch(str(v)):
            problems.append(f"row {i}: BillingCurrency: '{v}' is not an ISO 4217 currency code")
        for c, allowed in ALLOWED_VALUES.items():
            v = rec.get(c)
            if c in rec and not _missing(v) and v not in allowed:
                problems.append(f"row {i}: {c}: '{v}' is not one of {', '.join(allowed)}")
        if ("PricingCategory" in rec and rec.get("ChargeCategory") in ("Usage", "Purchase")
                and rec.get("ChargeClass") != "Correction" and _missing(rec["PricingCategory"])):
            problems.append(f"row {i}: PricingCategory: null on a {rec['ChargeCategory']} charge")
        category = rec.get("ChargeCategory")
        if category == "Purchase" and rec.get("ChargeFrequency") == "Usage-Based":
            problems.append(f"row {i}: ChargeFrequency: 'Usage-Based' on a Purchase charge")
        if category == "Tax" and not _missing(rec.get("PricingCategory")):
            problems.append(f"row {i}: PricingCategory: must be null on a Tax charge")
        if category in ("Usage", "Purchase") and rec.get("ChargeClass") != "Correction":
            problems += [f"row {i}: {c}: null on a {category} charge" for c in ("PricingQuantity", "PricingUnit")
                         if c in rec and _missing(rec[c])]
        sub, parent = rec.get("ServiceSubcategory"), rec.get("ServiceCategory")
        if not _missing(sub) and parent in SUBCATEGORIES and sub not in SUBCATEGORIES[parent]:
            problems.append(f"row {i}: ServiceSubcategory: '{sub}' is not one of {parent}'s: {', '.join(SUBCATEGORIES[parent])}")
        v = rec.get("Tags")
        if not _missing(v):
            try:
                tags = json.loads(v) if isinstance(v, str) else v
                ok = isinstance(tags, dict) and all(not isinstance(x, (dict, list)) for x in tags.values())
            except ValueError:
                ok = False
            if not ok:
                problems.append(f"row {i}: Tags: not a JSON object of key-value pairs (scalar values)")
        for start, end in (("ChargePeriodStart", "ChargePeriodEnd"), ("BillingPeriodStart", "BillingPeriodEnd")):
            a, b = rec.get(start), rec.get(end)
            if _DATETIME.fullmatch(str(a)) and _DATETIME.fullmatch(str(b)) and not str(a) < str(b):
                problems.append(f"row {i}: {start} {a} is not before {end} {b}")
    return problems


def _plain(v) -> str:
    """A value's decimal text: Decimal and int as written; a float without exponent."""
    if isinstance(v, float):
        return format(Decimal(repr(v)), "f")
    return str(v).strip()
