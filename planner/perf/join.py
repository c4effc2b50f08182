"""Join configuration rows with the accelerator and model catalogs (ARCHITECTURE.md, "Perf model input").

``spec_table(rows, accelerators, models)`` matches ``rows.gpu`` / ``rows.model`` to the catalogs' ``id``
or any of their ``;``-separated ``aliases``, case-insensitively; accelerator columns get the ``gpu_``
prefix; ``num_kv_heads`` defaults to ``num_attention_heads`` and ``head_dim`` to
``hidden_size / num_attention_heads``. Unknown ids raise one ``ValueError`` that lists all of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GPU_COLUMNS = ("family", "memory_gb", "mem_bw_gb_per_s", "fp32_tflops", "fp16_tflops", "bf16_tflops",
               "fp8_tflops", "fp4_tflops", "int8_tops", "int4_tops", "link_bw_gb_per_s", "interconnect")
MODEL_COLUMNS = ("num_layers", "hidden_size", "num_attention_heads", "num_kv_heads", "head_dim",
                 "intermediate_size", "moe_intermediate_size", "vocab_size", "num_experts",
                 "experts_per_token", "num_shared_experts", "first_dense_layers", "params_b",
                 "active_params_b", "attention_type", "sliding_window", "attention_chunk_size",
                 "global_attention_every", "kv_lora_rank",
                 "qk_rope_head_dim", "arch_type", "encoder_layers", "max_context", "mtp_layers",
                 "image_tokens", "vision_params_b")
# a draft model's columns for speculative decoding (``draft_model`` id -> ``draft_*``)
DRAFT_COLUMNS = {"params_b": "draft_params_b", "num_layers": "draft_num_layers",
                 "num_kv_heads": "draft_num_kv_heads", "head_dim": "draft_head_dim"}


def _norm(x) -> str:
    return str(x).strip().lower()


def _id_map(catalog: pd.DataFrame) -> dict[str, str]:
    """lower-case id/alias -> canonical id (ids win over aliases)."""
    out: dict[str, str] = {}
    if "aliases" in catalog.columns:
        for cid, al in zip(catalog["id"], catalog["aliases"]):
            if isinstance(al, str):
                for a in al.split(";"):
                    if a.strip():
                        out.setdefault(_norm(a), cid)
    for cid in catalog["id"]:
        out[_norm(cid)] = cid
    return out


def resolve_ids(values: pd.Series, catalog: pd.DataFrame) -> tuple[pd.Series, list[str]]:
    """Canonical ids for ``values`` and the sorted list of values that match nothing."""
    mp = _id_map(catalog)
    keys = values.map(_norm)
    ids = keys.map(mp)
    unknown = sorted(set(values[ids.isna() & values.notna()].astype(str)))
    return ids, unknown


def spec_table(rows_df: pd.DataFrame, accelerators_df: pd.DataFrame, models_df: pd.DataFrame) -> pd.DataFrame:
    """``rows_df`` (needs ``gpu`` and ``model``) with the spec columns of the perf-model input added."""
    gid, bad_g = resolve_ids(rows_df["gpu"], accelerators_df)
    mid, bad_m = resolve_ids(rows_df["model"], models_df)
    if "draft_model" in rows_df.columns:
        did, bad_d = resolve_ids(rows_df["draft_model"], models_df)
        bad_m = sorted(set(bad_m) | set(bad_d))
    if bad_g or bad_m:
        parts = []
        if bad_g:
            parts.append(f"unknown gpu id(s): {', '.join(bad_g)}")
        if bad_m:
            parts.append(f"unknown model id(s): {', '.join(bad_m)}")
        raise ValueError("; ".join(parts))
    acc = accelerators_df.set_index("id")
    mod = models_df.set_index("id")
    out = rows_df.copy()
    for c in GPU_COLUMNS:
        vals = acc[c].reindex(gid.to_numpy()).to_numpy() if c in acc.columns else np.full(len(out), np.nan)
        out[f"gpu_{c}"] = vals
    for c in MODEL_COLUMNS:
        vals = mod[c].reindex(mid.to_numpy()).to_numpy() if c in mod.columns else np.full(len(out), np.nan)
        out[c] = vals
    if "draft_model" in rows_df.columns:  # given draft_* columns win over the catalog's
        draft = mod.reindex(did.to_numpy())
        draft_heads = pd.to_numeric(draft["num_attention_heads"], errors="coerce").to_numpy()
        derived = {"num_kv_heads": draft_heads,
                   "head_dim": pd.to_numeric(draft["hidden_size"], errors="coerce").to_numpy() / draft_heads}
        for c, target in DRAFT_COLUMNS.items():
            vals = pd.to_numeric(draft[c], errors="coerce").to_numpy()
            if c in derived:
                vals = np.where(np.isnan(vals), derived[c], vals)
            given = pd.to_numeric(out[target], errors="coerce").to_numpy() if target in out.columns else np.full(len(out), np.nan)
            out[target] = np.where(np.isnan(given), vals, given)
    heads = pd.to_numeric(out["num_attention_heads"], errors="coerce")
    out["num_kv_heads"] = pd.to_numeric(out["num_kv_heads"], errors="coerce").fillna(heads)
    hd = pd.to_numeric(out["hidden_size"], errors="coerce") / heads
    out["head_dim"] = pd.to_numeric(out["head_dim"], errors="coerce").fillna(hd)
    return out
