"""Internet egress of responses: bytes sent back to users, priced per cloud with its volume tiers.

Every response leaves the cloud that served it: mean output tokens × ``options.egress_bytes_per_token``
bytes per request (default 4: "1 token ~= 4 chars in English", OpenAI's rule of thumb; streamed
responses send an event per token, a few hundred bytes each, so set it higher for streaming). The
requests each cloud serves come from the plan's load split (each period's mean rate, in the shares
the split gives each cloud). A cloud's monthly volume is priced with its ``internet_egress`` tiers in
``catalogs/egress.csv`` (free allowance included, as if the plan were the account's only egress;
volume beyond the last published tier at that tier's rate) and scaled to the horizon.

The MILP does not see egress (it has no load variables); the load split that prices it prefers the
cheaper-egress instances among those with spare capacity, and the plan states the egress figure and
the least any plan could pay (every request at the cheapest allowed cloud's rate).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.units import GB, HOURS_PER_MONTH, SECONDS_PER_HOUR

TB = 1e12


def egress_tiers(egress: pd.DataFrame, cloud: str) -> pd.DataFrame:
    """The cloud's internet-egress tiers (start, end in TB/month, USD/GB), by start; empty if unpriced."""
    rows = egress[(egress["cloud"] == cloud) & (egress["transfer_type"] == "internet_egress")]
    start = rows["tier_start_tb_per_month"].fillna(0.0).to_numpy(float)
    end = rows["tier_end_tb_per_month"].to_numpy(float)
    out = pd.DataFrame({"start_tb": start, "end_tb": np.where(np.isfinite(end), end, np.inf),
                        "usd_per_gb": rows["usd_per_gb"].to_numpy(float), "source": rows["source"].to_numpy(str)})
    return out.sort_values("start_tb").reset_index(drop=True)


def monthly_cost(tiers: pd.DataFrame, gb_per_month: float) -> float:
    """USD for one month's volume through the tiers; volume past the last tier at its rate."""
    if tiers.empty or gb_per_month <= 0:
        return 0.0
    tb = gb_per_month * GB / TB
    cost = 0.0
    for i, row in tiers.iterrows():
        end = row["end_tb"] if i < len(tiers) - 1 else np.inf
        inside = max(0.0, min(tb, end) - row["start_tb"])
        cost += inside * TB / GB * row["usd_per_gb"]
    return cost


def horizon_cost(tiers: pd.DataFrame, gb: float, horizon_hours: float) -> float:
    """USD for ``gb`` sent over the horizon: priced as a month's volume at the same pace."""
    months = horizon_hours / HOURS_PER_MONTH
    return monthly_cost(tiers, gb / months) * months if months > 0 else 0.0


def first_paid_rate(tiers: pd.DataFrame) -> float:
    """USD/GB of the first tier that charges (0 when the cloud charges nothing)."""
    paid = tiers[tiers["usd_per_gb"] > 0]
    return float(paid["usd_per_gb"].iloc[0]) if len(paid) else 0.0


def requests_by_cloud(load_rps: np.ndarray, clouds: list[str], fleet_mean_rps: np.ndarray, hours: np.ndarray) -> dict[str, np.ndarray]:
    """Requests/s (mean rate) each cloud serves per period: each user region's fleet mean rate split
    in the shares of the plan's load split ``load_rps`` (U, K, T) over candidates of each cloud."""
    total = load_rps.sum(axis=1)  # (U, T)
    share = np.divide(load_rps, total[:, None, :], out=np.zeros_like(load_rps), where=total[:, None, :] > 0)
    out: dict[str, np.ndarray] = {}
    for cloud in sorted(set(clouds)):
        members = np.array([c == cloud for c in clouds])
        out[cloud] = (share[:, members, :].sum(axis=1) * fleet_mean_rps).sum(axis=0)  # (T,)
    return out


def gigabytes(rps_by_period: np.ndarray, hours: np.ndarray, bytes_per_request: float) -> float:
    return float(np.dot(rps_by_period, hours) * SECONDS_PER_HOUR * bytes_per_request / GB)
