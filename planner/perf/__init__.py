"""Analytic LLM-serving performance model, vectorised over a table of configurations.

Modules: ``config`` (input columns -> arrays, defaults, per-row errors), ``memory`` (parameters,
weights, KV cache, fit), ``latency`` (iteration-time roofline, TP/PP, peak per precision),
``serving`` (scenarios of DESIGN §3.3), ``queueing`` (latency percentiles under Poisson load,
capacity at SLO), ``disagg`` (one replica of a disaggregated prefill or decode pool:
``pool_capacity``), ``calibration`` (fit of the efficiency factors, fidelity report), ``join``
(catalog join), ``types`` (value types, efficiency).
"""

from .disagg import pool_capacity
from .join import spec_table
from .queueing import capacity_at_slo, latency_at_rate
from .serving import estimate, explain
from .types import Efficiency, LengthSamples, SloTargets, load_efficiency

__all__ = ["estimate", "explain", "capacity_at_slo", "latency_at_rate", "pool_capacity", "spec_table", "Efficiency",
           "LengthSamples", "SloTargets", "load_efficiency"]
