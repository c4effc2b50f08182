"""Hourly price of every offer in every tier, with the rule that produced it.

* on-demand and spot: the offer's list and snapshot prices;
* reserved-1y / reserved-3y: the offer's published commitment rate where the catalog has one,
  otherwise on-demand × (1 − discount_pct/100) from ``discounts.csv`` for that cloud and term
  (an assumption every plan lists), otherwise not offered (NaN).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.milp.data import TIERS

_OFFER_COLUMN = {
    "on-demand": "on_demand_usd_per_hour",
    "spot": "spot_usd_per_hour",
    "reserved-1y": "reserved_1y_usd_per_hour",
    "reserved-3y": "reserved_3y_usd_per_hour",
    "owned": "owned_usd_per_hour",  # owned servers of the problem's sites (planner.onprem)
}


def tier_prices(offers: pd.DataFrame, discounts: pd.DataFrame) -> pd.DataFrame:
    """Columns ``price_<tier>`` (USD per instance-hour, NaN = not offered) and ``basis_<tier>``
    (``catalog`` or ``discount <pct>% (<source>)``), aligned with ``offers``' index."""
    out = pd.DataFrame(index=offers.index)
    for tier in TIERS:
        column = _OFFER_COLUMN[tier]
        published = offers[column].to_numpy(float) if column in offers else np.full(len(offers), np.nan)
        price = published.copy()
        basis = np.where(np.isfinite(published), "catalog", "")
        if tier.startswith("reserved"):
            rule = discounts[discounts["tier"] == tier].set_index("cloud")
            pct = offers["cloud"].map(rule["discount_pct"]).to_numpy(float)
            derived = offers["on_demand_usd_per_hour"].to_numpy(float) * (1 - pct / 100.0)
            use = ~np.isfinite(published) & np.isfinite(derived)
            price = np.where(use, derived, published)
            src = [x if isinstance(x, str) else "" for x in offers["cloud"].map(rule["source"])]
            basis = np.where(use, [f"on-demand less {p:g}% ({s})" for p, s in zip(pct, src)], basis)
        if tier == "owned":  # planner.onprem: not a list price
            basis = np.where(np.isfinite(price), "capital recovery + running cost (planner.tco)", "")
        out[f"price_{tier}"] = price
        out[f"basis_{tier}"] = basis
    return out


def api_choice(api_prices: pd.DataFrame, model_id: str, provider: str | None,
               mean_input_tokens: float, mean_output_tokens: float) -> dict | None:
    """The per-token API offer for a catalog model: the named provider's, or the cheapest per request
    for these mean lengths (ties: provider, then API model name). None when the catalog has none."""
    rows = api_prices[(api_prices["model"] == model_id)
                      & np.isfinite(api_prices["input_usd_per_mtok"].to_numpy(float))
                      & np.isfinite(api_prices["output_usd_per_mtok"].to_numpy(float))]
    if provider is not None:
        rows = rows[rows["provider"].str.lower() == provider.strip().lower()]
    if rows.empty:
        return None
    per_request = (mean_input_tokens * rows["input_usd_per_mtok"] + mean_output_tokens * rows["output_usd_per_mtok"]) / 1e6
    pick = rows.assign(usd_per_request=per_request).sort_values(["usd_per_request", "provider", "api_model"]).iloc[0]
    return {
        "provider": str(pick["provider"]),
        "api_model": str(pick["api_model"]),
        "input_usd_per_mtok": float(pick["input_usd_per_mtok"]),
        "output_usd_per_mtok": float(pick["output_usd_per_mtok"]),
        "usd_per_request": float(pick["usd_per_request"]),
        "mean_input_tokens": float(mean_input_tokens),
        "mean_output_tokens": float(mean_output_tokens),
        "source": str(pick["source"]),
        "retrieved": str(pick["retrieved"]),
    }


def platform_fees(offers: pd.DataFrame, prices: pd.DataFrame, rules) -> pd.DataFrame:
    """Columns ``fee_<tier>``: the managed-platform fee per instance-hour in each tier (the cloud's
    rule, else the rule without a cloud, else 0): price × percent / 100 + USD per instance-hour
    (NaN where the tier is not offered). ``rules``: the problem's ``options.platform_fees``."""
    by_cloud = {(r.cloud.strip().lower() if r.cloud else None): r for r in rules}
    default = by_cloud.get(None)

    def rule(cloud):  # an owned site is no managed platform: only a rule naming it applies
        return by_cloud.get(cloud, None if cloud == "onprem" else default)

    pct = np.array([getattr(rule(c), "percent", 0.0) for c in offers["cloud"]], dtype=float)
    fixed = np.array([getattr(rule(c), "usd_per_instance_hour", 0.0) for c in offers["cloud"]], dtype=float)
    out = pd.DataFrame(index=offers.index)
    for tier in TIERS:
        price = prices[f"price_{tier}"].to_numpy(float)
        out[f"fee_{tier}"] = np.where(np.isfinite(price), price * pct / 100.0 + fixed, np.nan)
    return out
