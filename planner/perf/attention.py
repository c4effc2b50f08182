"""Attention span per layer type: how many tokens a layer keeps and attends to, averaged over layers.

A model's ``L`` layers are *global* (attend to the whole context) or *local* (models.csv):

* ``sliding_window`` = ``w``: a local layer attends to the last ``w`` tokens and keeps only their KV
  (Mistral 7B v0.1 on every layer; Gemma 2/3 on their local layers);
* ``attention_chunk_size`` = ``w``: chunked local attention (Llama 4): the context is cut into
  blocks of ``w`` tokens and a local layer attends only to the tokens of the current block (KV of
  earlier blocks can be dropped);
* ``global_attention_every`` = ``N``: one layer in every ``N`` is global, ``floor(L / N)`` in all
  (Gemma 2: 2, Gemma 3: 6, Llama 4: 4, its NoPE layers); empty = every layer is local when a window
  or chunk is set.

With ``f`` = share of local layers, a query at context position ``x`` (tokens up to and including
it; positions are treated as continuous, as the rest of the model does) attends on average over
the layers to ``g(x) = (1 - f) x + f g_l(x)`` tokens, with ``g_l = min(x, w)`` (sliding) or
``x mod w`` (chunked). Integrals of ``g`` give the averages the model needs:

* a causal pass over ``x`` tokens from scratch attends ``G(x) = (1 - f) x²/2 + f G_l(x)``
  (query, key) pairs per layer on average, ``G_l = x²/2`` up to ``w`` and ``w x - w²/2`` beyond for
  a sliding window, ``k w²/2 + r²/2`` (``k = floor(x/w)`` full blocks, ``r`` tokens in the last)
  for chunks; a prompt of ``I`` tokens attends ``G(I) / I`` tokens per query (``I/2`` when global);
* a sequence decoding from context ``a`` to ``b`` attends ``(G(b) - G(a)) / (b - a)`` tokens per
  step on average (``a + (b-a)/2`` when global) and holds as many KV tokens on average (engines
  free the KV blocks that left the window/chunk: vLLM's hybrid KV cache manager, SGLang's SWA pool);
* the KV memory a sequence of ``x`` tokens can need at most is ``(1 - f) x + f min(x, w)``
  (``kept_tokens``; a chunk is full just before it closes).

The KV bytes and attention FLOPs per token of ``latency`` / ``memory`` are summed over all layers,
so multiplying them by these layer-averaged token counts is exact. Every function takes token
counts of shape ``(rows,)`` or ``(rows, k)`` and is written as full attention minus what the local
layers skip (``f * D(x)``, ``D = x²/2 - G_l``: ``(x - w)²/2`` beyond a sliding window), which is 0
for rows without local layers; chunked rows are computed on their own index, and a table with no
local layer at all skips the local terms entirely (no cost for it).
"""

from __future__ import annotations

import numpy as np

from .config import Spec


def _rows_shape(s: Spec, x) -> np.ndarray:
    x = np.asarray(x, float)
    return np.full(s.n, float(x)) if x.ndim == 0 else x


def _span(s: Spec, x: np.ndarray):
    """(f, w) shaped to broadcast against ``x`` ((rows,) or (rows, k))."""
    if x.ndim == 2:
        return s.local_share[:, None], s.local_span[:, None]
    return s.local_share, s.local_span


def local_pairs(x: np.ndarray, w, chunked) -> np.ndarray:
    """``G_l(x)``: (query, key) pairs of one local layer in a causal pass over ``x`` tokens, for
    one window ``w`` (may be ``inf``: ``x²/2``) of one kind (used per distinct window)."""
    x = np.asarray(x, float)
    if chunked and np.isfinite(w):
        blocks = np.floor(x / w)
        rest = x - blocks * w
        return 0.5 * (blocks * w * w + rest * rest)
    over = np.maximum(x - w, 0.0)
    return 0.5 * (x * x - over * over)


def _lost_pairs(s: Spec, x: np.ndarray) -> np.ndarray:
    """``D(x) = x²/2 - G_l(x) >= 0``: pairs a local layer skips in a causal pass over ``x`` tokens
    (``(x - w)²/2`` beyond a sliding window; chunked rows, if any, are computed on their own)."""
    _, w = _span(s, x)
    over = np.maximum(x - w, 0.0)
    d = 0.5 * over * over
    idx = s.chunked_rows
    if idx.size:
        xc, wc = x[idx], w[idx]
        blocks = np.floor(xc / wc)
        rest = xc - blocks * wc
        d[idx] = 0.5 * (xc * xc - blocks * wc * wc - rest * rest)
    return d


def pairs(s: Spec, x) -> np.ndarray:
    """``G(x)``: layer-averaged (query, key) pairs of a causal pass over ``x`` tokens from scratch
    (``x²/2`` for full attention)."""
    x = _rows_shape(s, x)
    full = 0.5 * x * x
    if not s.any_local:
        return full
    f, _ = _span(s, x)
    return full - f * _lost_pairs(s, x)


def prefill_context(s: Spec, prompt_len) -> np.ndarray:
    """Mean tokens each query of a ``prompt_len``-token prompt attends to (``I/2`` when global)."""
    i = _rows_shape(s, prompt_len)
    if not s.any_local:
        return 0.5 * i
    f, _ = _span(s, i)
    return 0.5 * i - f * _lost_pairs(s, i) / np.maximum(i, 1.0)


def decode_context(s: Spec, start, end) -> np.ndarray:
    """Mean tokens attended to (and KV tokens held) per decode step while a sequence grows from
    ``start`` to ``end`` tokens of context (``(start + end) / 2`` when global)."""
    a, b = _rows_shape(s, start), _rows_shape(s, end)
    mid = 0.5 * (a + b)
    if not s.any_local:
        return mid
    f, _ = _span(s, a)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = mid - f * (_lost_pairs(s, b) - _lost_pairs(s, a)) / (b - a)
    return np.where(b > a, mean, at(s, a))


def at(s: Spec, x) -> np.ndarray:
    """``g(x)``: tokens one query at context position ``x`` attends to, averaged over layers."""
    x = _rows_shape(s, x)
    if not s.any_local:
        return x
    f, w = _span(s, x)
    lost = np.maximum(x - w, 0.0)  # sliding: tokens behind the window
    idx = s.chunked_rows
    if idx.size:  # chunked: tokens of the closed chunks
        lost[idx] = np.floor(x[idx] / w[idx]) * w[idx]
    return x - f * lost


def kept_tokens(s: Spec, x) -> np.ndarray:
    """Most KV tokens (layer-averaged) a sequence of ``x`` tokens holds: ``(1-f) x + f min(x, w)``."""
    x = _rows_shape(s, x)
    if not s.any_local:
        return x
    f, w = _span(s, x)
    return x - f * np.maximum(x - w, 0.0)
