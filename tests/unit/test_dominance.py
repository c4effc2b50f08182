"""Pareto dominance by hand."""

import numpy as np

from planner.dominance import dominated


def test_dominance_within_signatures_with_conditions_and_ties():
    sig = np.array([[0], [0], [0], [1], [0]])
    higher = np.array([[10.0, 5.0], [10.0, 6.0], [12.0, 4.0], [1.0, 1.0], [10.0, 6.0]])  # capacities per bucket
    lower = np.array([[1.0], [1.0], [1.0], [9.0], [1.0]])  # prices
    rank = np.arange(5)
    # row 0 is beaten by row 1 (more on bucket 1); rows 1 and 4 tie: the lower rank survives; row 2 is
    # incomparable (more on bucket 0, less on 1); row 3 is alone in its signature
    assert dominated(sig, higher, lower, rank).tolist() == [True, False, False, False, True]
    # a condition column that row 1 fails (fewer replicas than row 0) keeps row 0
    also = np.array([2.0, 1.0, 1.0, 1.0, 1.0])
    assert dominated(sig, higher, lower, rank, also_higher=also).tolist() == [False, False, False, False, True]


def test_no_rows():
    assert dominated(np.zeros((0, 1)), np.zeros(0), np.zeros((0, 2)), np.arange(0)).shape == (0,)
