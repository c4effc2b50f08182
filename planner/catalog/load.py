"""Load and validate the catalogs: every problem in every file is collected, then raised at once."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from planner.catalog.ids import IdIndex
from planner.catalog.schema import ALL_TABLES, OFFERS, REGIONS, TableSchema
from planner.errors import CatalogError

ENV_CATALOG_DIR = "PLANNER_CATALOG_DIR"


def default_catalog_dir() -> Path:
    """``$PLANNER_CATALOG_DIR`` if set, else ``catalogs/`` at the repository root."""
    env = os.environ.get(ENV_CATALOG_DIR)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "catalogs"


@dataclass(frozen=True)
class Catalogs:
    directory: Path
    tables: dict[str, pd.DataFrame]  # keyed by file stem: accelerators, models, offers, ...
    fingerprint: str  # sha256 over the files' bytes, in file-name order
    gpu_ids: IdIndex
    model_ids: IdIndex

    @property
    def accelerators(self) -> pd.DataFrame:
        return self.tables["accelerators"]

    @property
    def models(self) -> pd.DataFrame:
        return self.tables["models"]

    @property
    def offers(self) -> pd.DataFrame:
        return self.tables["offers"]

    @property
    def regions(self) -> pd.DataFrame:
        return self.tables["regions"]

    @property
    def discounts(self) -> pd.DataFrame:
        return self.tables["discounts"]

    @property
    def api_prices(self) -> pd.DataFrame:
        return self.tables["api_prices"]

    @property
    def egress(self) -> pd.DataFrame:
        return self.tables["egress"]

    @property
    def efficiency(self) -> pd.DataFrame:
        return self.tables["efficiency"]

    @property
    def network_rtt(self) -> pd.DataFrame:
        return self.tables["network_rtt"]

    @property
    def storage(self) -> pd.DataFrame:
        return self.tables["storage"]

    @property
    def fidelity(self) -> pd.DataFrame:
        return self.tables["fidelity"]

    @property
    def servers(self) -> pd.DataFrame:
        return self.tables["servers"]

    @property
    def energy(self) -> pd.DataFrame:
        return self.tables["energy"]


def _convert(df: pd.DataFrame, schema: TableSchema, path: Path, errors: list[str]) -> pd.DataFrame:
    """Check columns, required cells and types; return a typed frame (empty cells → NaN / '')."""
    missing = [c for c in schema.names if c not in df.columns]
    extra = [c for c in df.columns if c not in schema.names]
    for c in missing:
        errors.append(f"{path}: column '{c}' is missing")
    for c in extra:
        errors.append(f"{path}: unknown column '{c}' (the schema is in planner/catalog/schema.py)")
    if missing:
        return df
    out = pd.DataFrame(index=df.index)
    for col in schema.columns:
        raw = df[col.name].fillna("").astype(str).str.strip()
        empty = raw == ""
        if col.required:
            for i in np.flatnonzero(empty.to_numpy()):
                errors.append(f"{path}:{i + 2}: {col.name}: required value is empty")
        if col.kind in ("float", "int"):
            values = pd.to_numeric(raw.where(~empty, None), errors="coerce")
            bad = values.isna() & ~empty
            for i in np.flatnonzero(bad.to_numpy()):
                errors.append(f"{path}:{i + 2}: {col.name}: '{raw.iloc[i]}' is not a number")
            negative = values < 0
            for i in np.flatnonzero(negative.fillna(False).to_numpy()):
                errors.append(f"{path}:{i + 2}: {col.name}: {values.iloc[i]} is negative")
            out[col.name] = values.astype(float)
        elif col.kind == "bool":
            out[col.name] = raw.str.lower().isin(["true", "1", "yes"])
        else:
            out[col.name] = raw
    for key_cols in [schema.key]:
        dup = out.duplicated(list(key_cols), keep="first")
        for i in np.flatnonzero(dup.to_numpy()):
            key = ", ".join(f"{k}={out[k].iloc[i]}" for k in key_cols)
            errors.append(f"{path}:{i + 2}: duplicate row for {key}")
    return out


def _check_references(tables: dict[str, pd.DataFrame], directory: Path, gpu_ids: IdIndex, errors: list[str]) -> None:
    servers = tables.get("servers")
    if servers is not None and "gpu" in servers:
        for i, gpu in enumerate(servers["gpu"]):
            if gpu and gpu not in gpu_ids.ids:
                errors.append(f"{directory / 'servers.csv'}:{i + 2}: gpu: {gpu_ids.unknown_message(gpu)}")
    offers = tables.get("offers")
    if offers is None or "gpu" not in offers:
        return
    path = directory / OFFERS.file
    for i, gpu in enumerate(offers["gpu"]):
        if gpu and gpu not in gpu_ids.ids:
            errors.append(f"{path}:{i + 2}: gpu: {gpu_ids.unknown_message(gpu)}")
    regions = tables.get("regions")
    if regions is not None and "region" in regions:
        known = set(zip(regions["cloud"], regions["region"]))
        for i, (cloud, region) in enumerate(zip(offers["cloud"], offers["region"])):
            if (cloud, region) not in known:
                errors.append(f"{path}:{i + 2}: region: '{cloud}/{region}' is not in {REGIONS.file}")


def load_catalogs(directory: str | Path | None = None) -> Catalogs:
    directory = Path(directory) if directory is not None else default_catalog_dir()
    errors: list[str] = []
    tables: dict[str, pd.DataFrame] = {}
    digest = hashlib.sha256()
    if not directory.is_dir():
        raise CatalogError(f"{directory}: catalog directory not found (set ${ENV_CATALOG_DIR} or --catalogs)")
    for schema in sorted(ALL_TABLES, key=lambda s: s.file):
        path = directory / schema.file
        if not path.is_file():
            if schema.derived:  # optional: an empty table with its columns
                tables[path.stem] = pd.DataFrame({c: pd.Series(dtype=object) for c in schema.names})
                continue
            errors.append(f"{path}: catalog file is missing")
            continue
        data = path.read_bytes()
        if not schema.derived:
            digest.update(schema.file.encode() + b"\0" + data)
        try:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            errors.append(f"{path}: cannot parse CSV: {exc}")
            continue
        tables[path.stem] = _convert(raw, schema, path, errors)
    if errors:
        raise CatalogError(errors)
    gpu_ids = IdIndex(tables["accelerators"], "gpu")
    model_ids = IdIndex(tables["models"], "model")
    for collision in gpu_ids.collisions + model_ids.collisions:
        errors.append(f"{directory}: {collision}")
    _check_references(tables, directory, gpu_ids, errors)
    if errors:
        raise CatalogError(errors)
    return Catalogs(directory, tables, digest.hexdigest()[:16], gpu_ids, model_ids)
