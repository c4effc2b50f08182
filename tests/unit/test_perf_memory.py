"""Memory model: hand-computed parameter, weight and KV sizes."""

import numpy as np
import pytest

from planner.perf.config import prepare
from planner.perf.fixtures import example_cfg
from planner.perf.memory import (INT4_GROUP_OVERHEAD_BYTES, INT4_GROUP_SIZE, kept_tokens,
                                 kv_bytes_per_token, param_counts, weight_bytes)
from planner.perf import Efficiency, estimate
from planner.units import GB


def _spec(**kw):
    return prepare(example_cfg(**kw))


def test_llama70b_params_and_bf16_weights():
    s = _spec(model="llama-3.1-70b")
    p = param_counts(s)
    # 2*128256*8192 + 80*(8192*8192*2 + 2*8192*1024 + 3*8192*28672 + 2*8192) + 8192 = 70.55e9
    expected = 2 * 128256 * 8192 + 80 * (2 * 8192 * 8192 + 2 * 8192 * 1024 + 3 * 8192 * 28672 + 2 * 8192) + 8192
    assert p["total"][0] == pytest.approx(expected)
    assert weight_bytes(s, p)[0] / GB == pytest.approx(141.1, abs=0.2)


def test_params_b_overrides_dims():
    s = _spec(model="llama-3.1-70b", params_b=70.0)
    assert weight_bytes(s, param_counts(s))[0] == pytest.approx(140e9)


def test_int4_adds_group_scales():
    s = _spec(model="llama-3.1-8b", precision="int4", params_b=8.0)
    assert weight_bytes(s, param_counts(s))[0] == pytest.approx(8e9 * (0.5 + INT4_GROUP_OVERHEAD_BYTES / INT4_GROUP_SIZE))


def test_kv_bytes_per_token_llama8b_bf16():
    assert kv_bytes_per_token(_spec())[0] == 2 * 32 * 8 * 128 * 2 == 131072
    assert kv_bytes_per_token(_spec(kv_precision="fp8"))[0] == 65536
    # fp8 weights: KV defaults to bf16 (engines' 'auto' KV dtype)
    assert kv_bytes_per_token(_spec(precision="fp8"))[0] == 131072


def test_mla_latent_and_sliding_window():
    s = _spec(attention_type="MLA", kv_lora_rank=512, qk_rope_head_dim=64, kv_precision="fp8")
    assert kv_bytes_per_token(s)[0] == (512 + 64) * 32 * 1
    s = _spec(sliding_window=4096)
    assert kept_tokens(s, np.array([10000.0]))[0] == 4096


def test_moe_active_params():
    s = _spec(model="mixtral-8x7b")
    p = param_counts(s)
    assert p["total"][0] / 1e9 == pytest.approx(46.7, abs=0.1)
    assert p["active"][0] / 1e9 == pytest.approx(12.9, abs=0.1)


def test_fit_and_more_gpus_more_sequences():
    eff = Efficiency.from_values()
    one = estimate(example_cfg(model="llama-3.1-70b"), eff)
    assert not one["fits"][0] and one["error"].isna()[0]
    out = estimate(example_cfg(model="llama-3.1-70b", n=3, num_gpus=[2, 4, 8], tp=[2, 4, 8]), eff)
    assert out["fits"].all()
    assert np.all(np.diff(out["max_concurrency"]) > 0)
    assert np.all(np.diff(out["kv_gb"]) > 0)
