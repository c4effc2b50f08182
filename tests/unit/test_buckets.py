"""Request-size buckets: splitting the length samples, and per-bucket capacities of candidates."""

import numpy as np
import pytest

from planner.buckets import split_lengths
from planner.candidates import mix_capacity


def test_split_lengths_counts_and_labels():
    inputs = np.array([100, 512, 513, 3000, 50, 5000])
    outputs = np.array([10, 300, 20, 20, 400, 129])
    b = split_lengths(inputs, outputs, [512, 2048], [128])
    # (in ≤512, out ≤128): 100/10; (in ≤512, out >128): 512/300, 50/400; (513-2048, ≤128): 513/20;
    # (2049+, ≤128): 3000/20; (2049+, >128): 5000/129; the (513-2048, >128) bucket is empty and dropped
    assert b.labels == ("in 1-512, out 1-128", "in 1-512, out 129+", "in 513-2048, out 1-128", "in 2049+, out 1-128", "in 2049+, out 129+")
    assert b.share.tolist() == pytest.approx([1 / 6, 2 / 6, 1 / 6, 1 / 6, 1 / 6])
    assert b.lengths[1].input_tokens.tolist() == [512, 50] and b.lengths[1].output_tokens.tolist() == [300, 400]
    assert b.input_range[2] == (513, 2048) and b.output_range[4] == (129, None)
    assert b.whole.input_tokens.size == 6


def test_mix_capacity_is_the_harmonic_mean_over_the_buckets_served():
    share = np.array([0.8, 0.2])
    caps = np.array([[10.0, 5.0], [10.0, 0.0], [0.0, 0.0]])
    # 1 / (0.8/10 + 0.2/5) = 8.33; a candidate serving only bucket 0 is rated on it alone; none: 0
    assert mix_capacity(caps, share).tolist() == pytest.approx([1 / (0.08 + 0.04), 10.0, 0.0])


def test_profile_rows_count_for_the_bucket_holding_their_size():
    import pandas as pd

    from planner.profile import profile_capacities

    b = split_lengths(np.array([100, 3000, 200]), np.array([50, 50, 600]), [1024], [256])
    profile = pd.DataFrame({"gpu": ["g"] * 4, "tp": [1] * 4, "precision": ["bf16"] * 4, "max_batch": [0] * 4,
                            "input_tokens": [128, 4000, 4096, np.nan], "output_tokens": [64, 64, 100, np.nan],
                            "capacity_rps": [9.0, 2.0, 3.0, 4.0]})
    row = profile_capacities(profile, b).iloc[0]
    # buckets: (≤1024, ≤256) from the 128/64 row; (≤1024, >256) none; (>1024, ≤256) the lower of 2 and 3; mix: 4
    assert b.labels == ("in 1-1024, out 1-256", "in 1-1024, out 257+", "in 1025+, out 1-256")
    assert [row["capacity_rps_b0"], row["capacity_rps_b1"], row["capacity_rps_b2"], row["capacity_rps_mix"]] == [9.0, 0.0, 2.0, 4.0]
    assert row["capacity_rps"] == 4.0 and bool(row["fits"])
