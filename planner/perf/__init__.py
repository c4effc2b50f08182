"""Analytic LLM-serving performance model, vectorised over a table of configurations.

Modules: ``config`` (input columns -> arrays, defaults, per-row errors), ``memory`` (parameters,
weights, KV cache, fit), ``latency`` (iteration-time roofline, TP/PP, peak per precision),
``serving`` (scenarios, P99 queueing approximation, capacity at SLO), ``calibration`` (fit of the
efficiency factors, fidelity report), ``join`` (catalog join), ``types`` (value types, efficiency).
"""

from .join import spec_table
from .serving import capacity_at_slo, estimate, explain
from .types import Efficiency, LengthSamples, SloTargets, load_efficiency

__all__ = ["estimate", "explain", "capacity_at_slo", "spec_table", "Efficiency", "LengthSamples",
           "SloTargets", "load_efficiency"]
