"""Budgets and token quotas (planner.usage.budgets): the file, the calendar, the pace."""

from datetime import datetime, timezone

import pytest

from planner.errors import InputError
from planner.usage.budgets import Budget, Status, check_budgets, elapsed_share, period_bounds, read_budgets

UTC = timezone.utc


def test_every_problem_in_a_budget_file_at_once(tmp_path):
    path = tmp_path / "b.yaml"
    path.write_text("period: quarter\nbudget: []\nbudgets:\n  - {team: a, usd: -1}\n  - {tem: b, usd: 5}\n  - {team: c}\n"
                    "  - {team: d, tokens: lots}\n")
    with pytest.raises(InputError) as err:
        read_budgets(path)
    assert err.value.messages == [
        f"{path}: period: 'quarter' is not one of month, week, day",
        f"{path}: budget: unknown field; did you mean 'budgets'?",
        f"{path}: budgets[0]: usd: -1 must be positive",
        f"{path}: budgets[1]: tem: unknown field; did you mean 'team'?",
        f"{path}: budgets[1]: name exactly one tenant by one of team, project, model, user, api_key (got 0)",
        f"{path}: budgets[2]: give usd and/or tokens",
        f"{path}: budgets[3]: tokens: 'lots' is not a number",
    ]


def test_calendar_periods_in_utc():
    t = datetime(2024, 2, 14, 15, 30, tzinfo=UTC)  # a Wednesday in a leap February
    assert period_bounds("month", t) == (datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC))
    assert period_bounds("week", t) == (datetime(2024, 2, 12, tzinfo=UTC), datetime(2024, 2, 19, tzinfo=UTC))
    assert period_bounds("day", t) == (datetime(2024, 2, 14, tzinfo=UTC), datetime(2024, 2, 15, tzinfo=UTC))


def test_elapsed_share_and_a_window_off_the_period(tmp_path):
    path = tmp_path / "b.yaml"
    path.write_text("period: month\nbudgets:\n  - {team: a, usd: 100}\n")
    budgets = read_budgets(path)
    start = datetime(2024, 2, 1, tzinfo=UTC)
    assert elapsed_share(budgets, start, datetime(2024, 2, 8, 6, tzinfo=UTC)) == pytest.approx((7 * 24 + 6) / (29 * 24))
    with pytest.raises(InputError, match="must start at the start of its month"):
        elapsed_share(budgets, datetime(2024, 2, 2, tzinfo=UTC), datetime(2024, 2, 8, tzinfo=UTC))


def test_pace_by_hand():
    b = Budget("team", "search", usd=1000.0, tokens=None)
    on_pace = Status(b, "usd", used=250.0, limit=1000.0, elapsed=0.25)
    assert on_pace.alert is None and on_pace.projected == pytest.approx(1.0)
    ahead = Status(b, "usd", used=400.0, limit=1000.0, elapsed=0.25)
    assert ahead.alert == "ahead of pace" and ahead.projected == pytest.approx(1.6)
    assert "on pace for 160% (ahead of pace)" in ahead.line()
    assert Status(b, "usd", used=1200.0, limit=1000.0, elapsed=0.5).alert == "over"
    # a tenant with no request in the window used nothing
    statuses = check_budgets(type("F", (), {"budgets": [b]})(), {}, 0.5)
    assert [(s.used, s.alert) for s in statuses] == [(0.0, None)]
