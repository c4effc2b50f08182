"""Pareto dominance among candidates, vectorised within groups of equal signature.

Used to prune candidates before the MILP (``planner.candidates``) and to shrink the whole-mix
problem whose plan starts a bucketed solve (``planner.milp.build.whole_mix_input``).
"""

from __future__ import annotations

import numpy as np


def _columns(values, n: int) -> np.ndarray:
    if values is None:
        return np.zeros((n, 0))
    arr = np.asarray(values, dtype=float)
    return arr.reshape(n, -1)


def dominated(signature: np.ndarray, higher, lower, rank, also_higher=None, also_lower=None) -> np.ndarray:
    """(n,) bool: row a is dominated when some row b with the same ``signature`` row is no worse on
    every attribute (``higher``/``also_higher`` columns: at least a's; ``lower``/``also_lower``: at most
    a's) and strictly better on a ``higher`` or ``lower`` column, or ties them all with a smaller
    ``rank``. ``also_*`` columns are conditions only (they never make b strictly better)."""
    n = len(rank)
    if n == 0:
        return np.zeros(0, dtype=bool)
    hi, lo = _columns(higher, n), _columns(lower, n)
    hi_req, lo_req = _columns(also_higher, n), _columns(also_lower, n)
    rank = np.asarray(rank)
    out = np.zeros(n, dtype=bool)
    groups: dict[bytes, list[int]] = {}
    for i, sig in enumerate(np.asarray(signature).reshape(n, -1)):
        groups.setdefault(sig.tobytes(), []).append(i)
    for members in groups.values():
        m = np.array(members)
        # [a, b]: b dominates a
        no_worse = (np.all(hi[m][None, :, :] >= hi[m][:, None, :], axis=2) & np.all(lo[m][None, :, :] <= lo[m][:, None, :], axis=2)
                    & np.all(hi_req[m][None, :, :] >= hi_req[m][:, None, :], axis=2)
                    & np.all(lo_req[m][None, :, :] <= lo_req[m][:, None, :], axis=2))
        better = (np.any(hi[m][None, :, :] > hi[m][:, None, :], axis=2) | np.any(lo[m][None, :, :] < lo[m][:, None, :], axis=2)
                  | (rank[m][None, :] < rank[m][:, None]))
        beaten = no_worse & better
        np.fill_diagonal(beaten, False)
        out[m[beaten.any(axis=1)]] = True
    return out
