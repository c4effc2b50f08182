"""Lifecycle economics (planner.tco) against hand computation, to the cent."""

import math

import numpy as np
import pytest

from planner.tco import OwnedServer, break_even_month, capital_recovery_factor, compare, npv, owning_schedule

SERVER = OwnedServer(capex_usd=250_000, power_kw=10.2, utilisation=0.6, pue=1.5, usd_per_kwh=0.10,
                     colo_usd_per_kw_month=150, maintenance_share_per_year=0.10, staff_usd_per_year=6_000,
                     lifetime_years=5, kg_co2_per_kwh=0.4)
# by hand: 10.2 kW x 0.6 x 1.5 x 730 h = 6,701.4 kWh a month -> 670.14 USD; colocation 10.2 x 150 = 1,530;
# maintenance 250,000 x 10 % / 12 = 2,083.33...; staff 6,000 / 12 = 500
RUNNING = 670.14 + 1_530 + 250_000 * 0.10 / 12 + 500


def test_running_cost_per_month_to_the_cent():
    parts = SERVER.running_usd_per_month()
    assert round(parts["energy"], 2) == 670.14
    assert parts["colocation"] == pytest.approx(1_530.00)
    assert round(parts["maintenance"], 2) == 2_083.33
    assert round(sum(parts.values()), 2) == round(RUNNING, 2) == 4_783.47
    assert SERVER.kwh_per_month == pytest.approx(6_701.4)


def test_three_years_of_two_servers_against_rent_and_api():
    out = compare(SERVER, 2, rent_usd_per_month=30_000, api_usd_per_month=40_000, years=3, discount_rate=0.0)
    assert round(out["totals"]["own"], 2) == round(500_000 + 36 * 2 * RUNNING, 2) == 844_410.08
    assert out["totals"]["rent"] == 1_080_000 and out["totals"]["api"] == 1_440_000
    # 500,000 + 9,566.95 m <= 30,000 m from m = 24.47: month 25; against 40,000: m = 16.43 -> 17
    assert out["break_even_month"] == {"rent": 25, "api": 17}
    assert out["roi"]["rent"] == pytest.approx((1_080_000 - 844_410.08) / 500_000, abs=1e-8)  # net saving per dollar invested
    year = out["per_year"]
    assert year["capex"].tolist() == [500_000, 0, 0]
    assert year["running"].round(2).tolist() == [round(24 * RUNNING, 2)] * 3
    assert year["kwh"].round(1).tolist() == [160_833.6] * 3  # 6,701.4 x 2 x 12
    assert year["kg_co2"].round(2).tolist() == [64_333.44] * 3
    assert year["depreciation"].round(2).tolist() == [100_000.00] * 3  # 500,000 / 5 years
    assert out["npv"]["own"] == pytest.approx(out["totals"]["own"])  # no discounting at 0 %


def test_npv_matches_the_annuity_formula():
    i = 1.08 ** (1 / 12) - 1
    annuity = (1 - (1 + i) ** -36) / i  # present value of 1 a month for 36 months
    assert npv(0.08, np.full(36, 30_000.0)) == pytest.approx(30_000 * annuity, rel=1e-12)
    assert npv(0.08, np.full(36, 100.0), upfront=5_000) == pytest.approx(5_000 + 100 * annuity, rel=1e-12)


def test_capital_recovery_and_hourly_price():
    crf = capital_recovery_factor(0.08, 5)
    assert crf == pytest.approx(0.08 * 1.08 ** 5 / (1.08 ** 5 - 1))
    assert round(crf, 6) == 0.250456
    assert capital_recovery_factor(0.0, 4) == 0.25
    assert SERVER.usd_per_hour(0.08) == pytest.approx((250_000 * crf + 12 * RUNNING) / 8760)
    assert round(SERVER.usd_per_hour(0.08), 2) == 13.70


def test_servers_are_replaced_at_the_end_of_their_life():
    frame = owning_schedule(SERVER, 1, 72)
    assert frame["replacement"].tolist() == [0.0] * 59 + [250_000.0] + [0.0] * 12  # end of month 60
    assert frame["book_value"].iloc[59] == pytest.approx(0.0, abs=1e-6)
    assert frame["book_value"].iloc[60] == pytest.approx(250_000 - 250_000 / 60)  # the new server's first month
    assert frame["depreciation"].iloc[60] == pytest.approx(250_000 / 60)
    assert owning_schedule(SERVER, 1, 60)["replacement"].sum() == 0  # the horizon ends with the first life


def test_a_horizon_longer_than_the_lifetime_pays_for_the_replacement():
    short = OwnedServer(**{**SERVER.__dict__, "lifetime_years": 2})
    out = compare(short, 1, rent_usd_per_month=30_000, api_usd_per_month=None, years=3, discount_rate=0.0)
    assert out["totals"]["own"] == pytest.approx(2 * 250_000 + 36 * RUNNING)
    assert out["per_year"]["capex"].tolist() == [250_000, 250_000, 0]  # bought again at the end of month 24


def test_never_breaking_even_and_bad_input():
    assert break_even_month(np.array([10.0, 20.0]), np.array([1.0, 2.0])) is None
    with pytest.raises(ValueError, match="pue"):
        OwnedServer(capex_usd=1, power_kw=1, utilisation=0.5, pue=0.9, usd_per_kwh=0.1)
    out = compare(SERVER, 1, rent_usd_per_month=1_000, api_usd_per_month=None, years=1, discount_rate=0.05)
    assert out["break_even_month"]["rent"] is None and out["totals"]["api"] is None
    assert math.isnan(out["per_year"]["api"].iloc[0])


def test_a_server_bought_at_a_later_month():
    # commitments over time: bought at the start of month 3 (time 3), replaced 60 months later
    frame = owning_schedule(SERVER, 1, 72, start_month=3)
    assert frame["replacement"].tolist() == [0.0, 0.0, 250_000.0] + [0.0] * 59 + [250_000.0] + [0.0] * 9
    assert frame["running"].iloc[:3].tolist() == [0.0] * 3 and frame["running"].iloc[3] == pytest.approx(RUNNING)
    assert frame["kwh"].iloc[2] == 0 and frame["kwh"].iloc[3] == pytest.approx(6_701.4)
    assert frame["book_value"].iloc[3] == pytest.approx(250_000 - 250_000 / 60)  # its first month of service
    from planner.tco import summarise

    r = summarise([(SERVER, 1, 0), (SERVER, 1, 3)], 12, 0.0, np.zeros(12), {"rent": np.full(12, 30_000.0)})
    assert r["capex"] == 250_000 and r["invested"] == 500_000  # the later purchase is not upfront
    assert r["totals"]["own"] == pytest.approx(500_000 + (12 + 9) * RUNNING)
    assert r["per_year"]["capex"].tolist() == [500_000.0]
    assert r["cumulative"]["own"][3] == pytest.approx(500_000 + 3 * RUNNING)  # time 3: both bought, 3 months run


def test_break_even_is_where_owning_stays_ahead():
    from planner.tco import break_even_month

    assert break_even_month([10, 20, 100, 110], [15, 30, 60, 120]) == 4  # cheap before the purchase is no break-even
    assert break_even_month([1, 2, 3], [5, 6, 7]) == 1
    assert break_even_month([9, 9, 9], [5, 6, 7]) is None
    assert break_even_month([100, 101, 102], [50, 101, 150]) == 2  # a tie counts
