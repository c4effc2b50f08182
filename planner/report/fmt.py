"""Number formats shared by every renderer (table, markdown, HTML, charts)."""

from __future__ import annotations


def usd(x: float) -> str:
    """Dollars: cents below $100, whole dollars above."""
    return f"${x:,.2f}" if abs(x) < 100 else f"${x:,.0f}"
