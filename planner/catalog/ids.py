"""Canonical ids, aliases and "did you mean" suggestions.

Ids are matched case-insensitively, ignoring spaces/underscores vs dashes, against each row's
``id`` and its ``aliases`` (``;``-separated).
"""

from __future__ import annotations

import difflib
import re

import pandas as pd


def normalise(name: str) -> str:
    """Lowercase and collapse separators, so 'A100 SXM_80GB' == 'a100-sxm-80gb'."""
    return re.sub(r"[\s_]+", "-", str(name).strip().lower())


class IdIndex:
    """Resolves names (ids or aliases) of one catalog table to canonical ids."""

    def __init__(self, table: pd.DataFrame, what: str):
        self.what = what
        self.ids: list[str] = sorted(table["id"].astype(str))
        self._lookup: dict[str, str] = {}
        self.collisions: list[str] = []
        for row_id, aliases in zip(table["id"].astype(str), table.get("aliases", pd.Series([""] * len(table)))):
            names = [row_id] + [a for a in str(aliases if isinstance(aliases, str) else "").split(";") if a.strip()]
            for name in names:
                key = normalise(name)
                previous = self._lookup.get(key)
                if previous is not None and previous != row_id:
                    self.collisions.append(f"{what} name '{name}' means both '{previous}' and '{row_id}'")
                    continue
                self._lookup[key] = row_id

    def resolve(self, name: str) -> str | None:
        return self._lookup.get(normalise(name))

    def suggest(self, name: str, n: int = 3) -> list[str]:
        key = normalise(name)
        close = difflib.get_close_matches(key, list(self._lookup), n=n * 3, cutoff=0.5)
        seen: list[str] = []
        for c in close:
            cid = self._lookup[c]
            if cid not in seen:
                seen.append(cid)
        return seen[:n]

    def unknown_message(self, name: str) -> str:
        hint = self.suggest(name)
        text = f"unknown {self.what} '{name}'"
        if hint:
            text += "; did you mean " + " or ".join(f"'{h}'" for h in hint) + "?"
        else:
            text += f"; see `planner catalog {self.what}s`"
        return text


def did_you_mean(name: str, choices, *, n: int = 2, cutoff: float = 0.5, ignore_case: bool = False,
                 otherwise: bool = True) -> str:
    """Suffix like "; did you mean 'x'?" for a value not in a closed set of choices (the ``n`` closest
    above ``cutoff``, matched without case with ``ignore_case``); with none close, "; expected one of
    ..." (``otherwise``) or nothing."""
    choices = list(choices)
    key = (lambda c: str(c).lower()) if ignore_case else str
    by_key = {}
    for c in choices:
        by_key.setdefault(key(c), c)
    close = [by_key[c] for c in difflib.get_close_matches(key(name), list(by_key), n=n, cutoff=cutoff)]
    if close:
        return "; did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    return "; expected one of " + ", ".join(map(str, choices)) if otherwise else ""
