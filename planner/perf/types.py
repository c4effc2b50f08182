"""Value types of the performance model: request-length samples, SLO targets, efficiency factors.

``Efficiency`` wraps the table ``catalogs/efficiency.csv`` (schema ``planner.catalog.schema.EFFICIENCY``):
one row per (engine_family, gpu_family) with the fitted factors ``mfu``, ``mbu``, ``step_overhead_ms``,
``tp_efficiency`` and ``mem_utilization``. A lookup falls back, in this order, to (engine, '*'), ('*', gpu), ('*', '*'),
so every engine/GPU family resolves as long as the table has the global '*'/'*' row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

FACTORS: tuple[str, ...] = ("mfu", "mbu", "step_overhead_ms", "mem_utilization", "tp_efficiency")
DEFAULTS = {"tp_efficiency": 1.0}  # optional columns and their value when absent
WILDCARD = "*"


def default_catalog_dir() -> Path:
    """``<repo>/catalogs``, located relative to this package."""
    return Path(__file__).resolve().parents[2] / "catalogs"


@dataclass(frozen=True)
class LengthSamples:
    """Samples of a workload's request lengths (tokens); ``input_tokens[i]`` and ``output_tokens[i]``
    belong to the same request."""

    input_tokens: np.ndarray
    output_tokens: np.ndarray

    def __post_init__(self) -> None:
        i = np.asarray(self.input_tokens, dtype=float).ravel()
        o = np.asarray(self.output_tokens, dtype=float).ravel()
        if i.shape != o.shape:
            raise ValueError(f"input_tokens ({i.size}) and output_tokens ({o.size}) differ in length")
        if i.size == 0:
            raise ValueError("LengthSamples needs at least one sample")
        if not (np.all(np.isfinite(i)) and np.all(np.isfinite(o))):
            raise ValueError("LengthSamples must be finite")
        if np.any(i < 1) or np.any(o < 1):
            raise ValueError("request lengths must be >= 1 token")
        object.__setattr__(self, "input_tokens", i)
        object.__setattr__(self, "output_tokens", o)

    @classmethod
    def constant(cls, input_tokens: float, output_tokens: float) -> "LengthSamples":
        return cls(np.array([float(input_tokens)]), np.array([float(output_tokens)]))

    def representative(self, max_samples: int = 64) -> "LengthSamples":
        """At most ``max_samples`` pairs that keep the joint distribution: the samples sorted by
        total length and taken at evenly spaced ranks (deterministic)."""
        n = self.input_tokens.size
        if n <= max_samples:
            return self
        order = np.argsort(self.input_tokens + self.output_tokens, kind="stable")
        idx = order[np.round(np.linspace(0, n - 1, max_samples)).astype(int)]
        return LengthSamples(self.input_tokens[idx], self.output_tokens[idx])


@dataclass(frozen=True)
class SloTargets:
    """P99 latency targets in ms; ``None`` = no target."""

    ttft_p99_ms: float | None = None
    tpot_p99_ms: float | None = None
    e2e_p99_ms: float | None = None

    def as_array(self) -> np.ndarray:
        """[ttft, tpot, e2e] in ms with ``inf`` for a missing target."""
        return np.array([np.inf if v is None else float(v) for v in
                         (self.ttft_p99_ms, self.tpot_p99_ms, self.e2e_p99_ms)])


@dataclass(frozen=True)
class Efficiency:
    """Efficiency factors per (engine_family, gpu_family) with '*' fallbacks."""

    table: pd.DataFrame = field(repr=False)

    def __post_init__(self) -> None:
        t = self.table.copy()
        for c, v in DEFAULTS.items():
            if c not in t.columns:
                t[c] = v
        missing = [c for c in ("engine_family", "gpu_family", *FACTORS) if c not in t.columns]
        if missing:
            raise ValueError(f"efficiency table lacks columns {missing}")
        t["engine_family"] = t["engine_family"].astype(str).str.strip().str.lower()
        t["gpu_family"] = t["gpu_family"].astype(str).str.strip().str.lower()
        if not ((t["engine_family"] == WILDCARD) & (t["gpu_family"] == WILDCARD)).any():
            raise ValueError("efficiency table needs a '*','*' fallback row")
        object.__setattr__(self, "table", t.reset_index(drop=True))

    @classmethod
    def from_values(cls, mfu: float = 0.5, mbu: float = 0.75, step_overhead_ms: float = 2.0,
                    mem_utilization: float = 0.9, tp_efficiency: float = 1.0) -> "Efficiency":
        """A one-row ('*','*') table; handy for tests and what-ifs."""
        return cls(pd.DataFrame([{"engine_family": WILDCARD, "gpu_family": WILDCARD, "mfu": mfu,
                                  "mbu": mbu, "step_overhead_ms": step_overhead_ms,
                                  "mem_utilization": mem_utilization,
                                  "tp_efficiency": tp_efficiency}]))

    def lookup(self, engine_family, gpu_family) -> pd.DataFrame:
        """Factors for each (engine, gpu family) pair: ``Labels`` or arrays of equal length (or
        scalars). Returns a DataFrame with the FACTORS columns plus ``efficiency_key`` (the row that
        matched, 'engine/gpu'). The fallback is resolved once per distinct pair, never per row."""
        from planner.perf.config import Labels

        def labels(x, n):
            if isinstance(x, Labels):
                return x
            return Labels.of(np.broadcast_to(np.asarray(x, dtype=object), (n,)), WILDCARD)

        n = max(len(x) if isinstance(x, Labels) or np.ndim(x) else 1 for x in (engine_family, gpu_family))
        eng, gpu = labels(engine_family, n), labels(gpu_family, n)
        pair, inverse = np.unique(eng.codes * len(gpu.uniques) + gpu.codes, return_inverse=True)
        t = self.table.drop_duplicates(["engine_family", "gpu_family"]).set_index(["engine_family", "gpu_family"])
        values, keys = np.empty((len(pair), len(FACTORS))), []
        for j, code in enumerate(pair):  # distinct (engine, family) pairs only: a handful
            e, g = eng.uniques[code // len(gpu.uniques)], gpu.uniques[code % len(gpu.uniques)]
            e = e or WILDCARD
            g = g or WILDCARD
            key = next(k for k in ((e, g), (e, WILDCARD), (WILDCARD, g), (WILDCARD, WILDCARD)) if k in t.index)
            values[j] = t.loc[key, list(FACTORS)].to_numpy(float)
            keys.append(f"{key[0]}/{key[1]}")
        inverse = inverse.ravel()
        columns = {f: values[:, j][inverse] for j, f in enumerate(FACTORS)}
        columns["efficiency_key"] = np.array(keys, dtype=object)[inverse]
        return pd.DataFrame(columns, copy=False)


def load_efficiency(path: str | Path | None = None) -> Efficiency:
    """Read ``catalogs/efficiency.csv`` (or ``path``) into an ``Efficiency``."""
    p = Path(path) if path is not None else default_catalog_dir() / "efficiency.csv"
    return Efficiency(pd.read_csv(p, dtype={"engine_family": str, "gpu_family": str}))
