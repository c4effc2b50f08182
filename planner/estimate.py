"""``planner estimate``: performance of configurations given as rows (DESIGN §3.3).

Each row is validated on its own; a row that cannot be estimated gets a message in ``error`` and
the others are still estimated. Extra input columns pass through unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner import perf
from planner.catalog import Catalogs
from planner.catalog.ids import did_you_mean
from planner.errors import InputError, read_csv_text
from planner.units import ENGINE_FAMILIES, PRECISIONS

INPUT_COLUMNS = ["model", "gpu", "num_gpus", "tp", "pp", "precision", "kv_precision", "engine_family",
                 "scenario", "input_len", "output_len", "concurrency"]
OUTPUT_COLUMNS = ["fits", "throughput_out_tok_s", "requests_per_s", "ttft_ms", "tpot_ms", "e2e_latency_ms",
                  "max_concurrency", "weights_gb", "kv_gb", "error"]
SCENARIOS = ["fixed_batch", "offline", "server", "interactive"]
_INT_COLUMNS = ["num_gpus", "tp", "pp", "input_len", "output_len", "concurrency"]
# serving techniques (planner.perf.config, "Serving techniques"); optional, empty = not used
TECHNIQUE_COLUMNS = ["spec_method", "spec_draft_tokens", "spec_acceptance", "spec_step_overhead_ms", "draft_model", "draft_params_b",
                     "prefix_hit_rate", "sparsity", "kv_allocation", "max_seq_len", "images_per_request"]
_TECHNIQUE_NUMBERS = ["spec_draft_tokens", "spec_acceptance", "spec_step_overhead_ms", "draft_params_b", "prefix_hit_rate", "max_seq_len",
                      "images_per_request"]
_TECHNIQUE_CHOICES = {"spec_method": ("none", "eagle", "mtp", "draft-model"), "sparsity": ("none", "2:4"),
                      "kv_allocation": ("paged", "static")}


def read_batch(path: str) -> pd.DataFrame:
    frame = read_csv_text(path, "CSV")
    missing = [c for c in ("model", "gpu") if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: required column(s) missing: {', '.join(missing)} (columns: {', '.join(INPUT_COLUMNS)})")
    return frame


def _row_errors(frame: pd.DataFrame, catalogs: Catalogs) -> tuple[pd.DataFrame, list[list[str]]]:
    """Normalise the input columns; collect per-row problems."""
    rows = pd.DataFrame(index=frame.index)
    problems: list[list[str]] = [[] for _ in range(len(frame))]
    get = lambda c: frame[c].astype(str).str.strip() if c in frame.columns else pd.Series([""] * len(frame), index=frame.index)
    model_ids, gpu_ids = [], []
    for i, (m, g) in enumerate(zip(get("model"), get("gpu"))):
        mid = catalogs.model_ids.resolve(m) if m else None
        gid = catalogs.gpu_ids.resolve(g) if g else None
        if mid is None:
            problems[i].append("model: " + (catalogs.model_ids.unknown_message(m) if m else "empty"))
        if gid is None:
            problems[i].append("gpu: " + (catalogs.gpu_ids.unknown_message(g) if g else "empty"))
        model_ids.append(mid or "")
        gpu_ids.append(gid or "")
    rows["model"], rows["gpu"] = model_ids, gpu_ids
    for c in _INT_COLUMNS:
        raw = get(c)
        values = pd.to_numeric(raw.where(raw != "", None), errors="coerce")
        for i in np.flatnonzero(((values.isna() & (raw != "")) | (values <= 0)).to_numpy()):
            problems[i].append(f"{c}: '{raw.iloc[i]}' is not a positive number")
        rows[c] = values.astype(float)
    rows["tp"] = rows["tp"].fillna(rows["num_gpus"]).fillna(1.0)
    rows["pp"] = rows["pp"].fillna(1.0)
    rows["num_gpus"] = rows["num_gpus"].fillna(rows["tp"] * rows["pp"])
    bad_split = rows["tp"] * rows["pp"] > rows["num_gpus"]
    for i in np.flatnonzero(bad_split.to_numpy()):
        problems[i].append(f"tp×pp ({rows['tp'].iloc[i]:.0f}×{rows['pp'].iloc[i]:.0f}) exceeds num_gpus ({rows['num_gpus'].iloc[i]:.0f})")
    for c, choices, default in (("precision", PRECISIONS, "bf16"), ("kv_precision", PRECISIONS, ""),
                                ("engine_family", ENGINE_FAMILIES, "vllm"), ("scenario", SCENARIOS, "offline")):
        raw = get(c).str.lower()
        for i in np.flatnonzero(((raw != "") & ~raw.isin(choices)).to_numpy()):
            problems[i].append(f"{c}: '{raw.iloc[i]}' is not valid{did_you_mean(raw.iloc[i], list(choices))}")
        rows[c] = raw.where(raw != "", default)
    kv_default = rows["precision"].where(~rows["precision"].isin(["int8", "int4"]), "fp16")
    rows["kv_precision"] = rows["kv_precision"].where(rows["kv_precision"] != "", kv_default)
    _technique_columns(frame, rows, problems, catalogs, get)
    return rows, problems


def _technique_columns(frame, rows, problems, catalogs: Catalogs, get) -> None:
    """Serving-technique columns present in the input: numbers parsed, choices and the draft model
    checked (range rules are the performance model's, reported in ``error``). Images add the model's
    ``image_tokens`` each to ``input_len`` (the prompt the language model sees)."""
    for c in (c for c in _TECHNIQUE_NUMBERS if c in frame.columns):
        raw = get(c)
        values = pd.to_numeric(raw.where(raw != "", None), errors="coerce")
        for i in np.flatnonzero((values.isna() & (raw != "")).to_numpy()):
            problems[i].append(f"{c}: '{raw.iloc[i]}' is not a number")
        rows[c] = values.astype(float)
    for c, choices in _TECHNIQUE_CHOICES.items():
        if c in frame.columns:
            raw = get(c).str.lower()
            for i in np.flatnonzero(((raw != "") & ~raw.isin(choices)).to_numpy()):
                problems[i].append(f"{c}: '{raw.iloc[i]}' is not valid{did_you_mean(raw.iloc[i], list(choices))}")
            rows[c] = raw
    if "draft_model" in frame.columns:
        drafts = []
        for i, name in enumerate(get("draft_model")):
            draft = catalogs.model_ids.resolve(name) if name else None
            if name and draft is None:
                problems[i].append("draft_model: " + catalogs.model_ids.unknown_message(name))
            drafts.append(draft)
        rows["draft_model"] = drafts
    if "images_per_request" in rows.columns:
        models = catalogs.models.set_index("id")
        per_image = pd.to_numeric(models["image_tokens"], errors="coerce") if "image_tokens" in models else None
        images = rows["images_per_request"].fillna(0.0)
        tokens = np.array([float(per_image.get(m, np.nan)) if per_image is not None and m else np.nan for m in rows["model"]])
        for i in np.flatnonzero(((images > 0) & ~(tokens > 0)).to_numpy()):
            problems[i].append(f"images_per_request: model '{rows['model'].iloc[i]}' takes no images (no image_tokens in models.csv)")
        extra = np.where(images > 0, images * np.nan_to_num(tokens), 0.0)
        text = rows["input_len"].where(~((extra > 0) & rows["input_len"].isna()), perf.config.DEFAULT_INPUT_LEN)
        rows["input_len"] = text + extra


def estimate_rows(frame: pd.DataFrame, catalogs: Catalogs) -> pd.DataFrame:
    """The input frame plus the §3.3 output columns, row order preserved."""
    return estimate_with_notes(frame, catalogs)[0]


def estimate_with_notes(frame: pd.DataFrame, catalogs: Catalogs) -> tuple[pd.DataFrame, list[str]]:
    """``estimate_rows`` and the notes a user should read with it: rows computed at a fallback
    precision (the GPU has no tensor-core rate for the requested format) and rows whose request
    lengths were not given (ShareGPT-like means assumed)."""
    notes: list[str] = []
    rows, problems = _row_errors(frame, catalogs)
    ok = np.array([not p for p in problems])
    out = frame.copy()
    for c in OUTPUT_COLUMNS:
        out[c] = np.nan
    out["fits"] = False
    out["error"] = ["; ".join(p) for p in problems]
    if ok.any():
        good = rows[ok].reset_index(drop=True)
        cfg = perf.spec_table(good, catalogs.accelerators, catalogs.models)
        est = perf.explain(cfg, perf.Efficiency(catalogs.efficiency))
        idx = np.flatnonzero(ok)
        for j, row in enumerate(est.itertuples(index=False)):
            where = f"row {idx[j] + 1}: " if len(frame) > 1 else ""
            if row.precision_fallback:
                notes.append(f"{where}{row.gpu} has no {row.precision} tensor-core rate: estimated at its 16-bit rate "
                             f"({row.precision} weights, 16-bit compute)")
            if row.lengths_assumed:
                notes.append(f"{where}input_len/output_len not given: ShareGPT-like means assumed "
                             f"({perf.config.DEFAULT_INPUT_LEN:g}/{perf.config.DEFAULT_OUTPUT_LEN:g} tokens)")
        for c in OUTPUT_COLUMNS:
            values = est[c].to_numpy()
            if c == "error":
                values = np.array(["" if (v is None or (isinstance(v, float) and np.isnan(v))) else str(v) for v in values], dtype=object)
            col = out[c].to_numpy(dtype=object)
            col[idx] = values
            out[c] = col
    out["fits"] = out["fits"].astype(bool)
    return out, notes
