"""Egress pricing: volume tiers by hand."""

import numpy as np
import pandas as pd
import pytest

from planner.egress import first_paid_rate, horizon_cost, monthly_cost, requests_by_cloud

TIERS = pd.DataFrame({"start_tb": [0.0, 0.1, 10.0], "end_tb": [0.1, 10.0, np.inf], "usd_per_gb": [0.0, 0.09, 0.085], "source": ["s"] * 3})


def test_tiers_by_hand():
    assert monthly_cost(TIERS, 50.0) == 0.0  # inside the free 100 GB
    assert monthly_cost(TIERS, 1000.0) == pytest.approx(900 * 0.09)
    assert monthly_cost(TIERS, 20_000.0) == pytest.approx(9_900 * 0.09 + 10_000 * 0.085)
    # a week at the pace of 1,000 GB a month: (168 / 730) of the monthly bill
    assert horizon_cost(TIERS, 1000.0 * 168 / 730, 168) == pytest.approx(900 * 0.09 * 168 / 730)
    assert first_paid_rate(TIERS) == 0.09


def test_requests_follow_the_load_split_shares():
    load = np.zeros((2, 3, 1))
    load[0, 0, 0], load[0, 1, 0] = 3.0, 1.0  # region 0: 3/4 on candidate 0 (aws), 1/4 on 1 (gcp)
    load[1, 2, 0] = 2.0  # region 1: all on candidate 2 (gcp)
    out = requests_by_cloud(load, ["aws", "gcp", "gcp"], np.array([[8.0], [4.0]]), np.ones(1))
    assert out["aws"].tolist() == [6.0] and out["gcp"].tolist() == [2.0 + 4.0]
