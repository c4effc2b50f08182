"""Number formats shared by every renderer (table, markdown, HTML, charts)."""

from __future__ import annotations


def usd(x: float) -> str:
    """Dollars: cents below $100, whole dollars above; the sign before the dollar sign (-$12)."""
    sign = "-" if x < 0 else ""
    return f"{sign}${abs(x):,.2f}" if abs(x) < 100 else f"{sign}${abs(x):,.0f}"
