"""Request-size buckets: the workload's requests split by input × output length.

A 50-token question and a 6,000-token document cost very differently to serve, and the cheapest
fleet often sends short requests to small GPUs and long ones to large GPUs (Mélange, Griggs et al.
2024). With ``workload.size_buckets`` the length samples are split at the given edges; each bucket
has a share of the requests and its own samples, so the performance model gives every candidate a
capacity at the SLO per bucket, and the MILP assigns each bucket's load to candidates
(Σ_b load_b / capacity_b ≤ replicas). A candidate may also serve the whole mix as it comes (its
capacity on every request, the plan without buckets), so buckets never make a plan dearer (up to the solver's gap).

Without ``size_buckets`` there is one bucket holding every request (share 1): the plan is the
same as before buckets existed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner import perf
from planner.problem import LoadedProblem


MIX_LABEL = "whole mix"  # the service class that takes requests of every bucket in the workload's proportions


@dataclass(frozen=True)
class RequestBuckets:
    labels: tuple[str, ...]  # (B,) e.g. "in 1-512, out 257+"
    share: np.ndarray  # (B,) share of requests in each bucket (sums to 1)
    lengths: tuple[perf.LengthSamples, ...]  # (B,) the requests of each bucket
    input_range: tuple[tuple[int, int | None], ...]  # (B,) inclusive token range; None = open
    output_range: tuple[tuple[int, int | None], ...]
    whole: perf.LengthSamples | None = None  # every request (the "whole mix" service class); None = the only bucket

    @property
    def count(self) -> int:
        return len(self.labels)

    def mean_tokens(self) -> tuple[np.ndarray, np.ndarray]:
        """(B,) mean input and output tokens per bucket."""
        return (np.array([b.input_tokens.mean() for b in self.lengths]),
                np.array([b.output_tokens.mean() for b in self.lengths]))


def _ranges(edges: list[int]) -> list[tuple[int, int | None]]:
    lows = [1] + [e + 1 for e in edges]
    highs: list[int | None] = list(edges) + [None]
    return list(zip(lows, highs))


def _text(lo: int, hi: int | None) -> str:
    return f"{lo}+" if hi is None else f"{lo}-{hi}"


def bucket_label(inp: tuple[int, int | None], out: tuple[int, int | None]) -> str:
    return f"in {_text(*inp)}, out {_text(*out)}"


def split_lengths(inputs: np.ndarray, outputs: np.ndarray, input_edges: list[int], output_edges: list[int]) -> RequestBuckets:
    """Split equally weighted (input, output) samples at the edges (inclusive upper edges). Empty
    buckets are dropped; the order is input range, then output range, ascending."""
    inputs = np.asarray(inputs, dtype=float)
    outputs = np.asarray(outputs, dtype=float)
    in_bin = np.searchsorted(np.asarray(input_edges, dtype=float), inputs, side="left")
    out_bin = np.searchsorted(np.asarray(output_edges, dtype=float), outputs, side="left")
    labels, shares, lengths, in_ranges, out_ranges = [], [], [], [], []
    for i, in_range in enumerate(_ranges(list(input_edges))):
        for o, out_range in enumerate(_ranges(list(output_edges))):
            member = (in_bin == i) & (out_bin == o)
            if not member.any():
                continue
            labels.append(bucket_label(in_range, out_range))
            shares.append(member.mean())
            lengths.append(perf.LengthSamples(input_tokens=inputs[member], output_tokens=outputs[member]))
            in_ranges.append(in_range)
            out_ranges.append(out_range)
    whole = perf.LengthSamples(input_tokens=inputs, output_tokens=outputs)
    return RequestBuckets(tuple(labels), np.array(shares, dtype=float), tuple(lengths), tuple(in_ranges), tuple(out_ranges), whole)


def request_buckets(loaded: LoadedProblem, lengths: perf.LengthSamples) -> RequestBuckets:
    """The problem's buckets (one bucket of every request without ``workload.size_buckets``)."""
    sb = loaded.problem.workload.size_buckets
    if sb is None:
        return RequestBuckets(("all requests",), np.ones(1), (lengths,), ((1, None),), ((1, None),))
    return split_lengths(lengths.input_tokens, lengths.output_tokens, sb.input_tokens, sb.output_tokens)
