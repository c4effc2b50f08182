"""Catalog loading: schema, every error at once, ids and aliases, tier prices."""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.catalog import load_catalogs
from planner.catalog.ids import normalise
from planner.catalog.prices import tier_prices
from planner.catalog.schema import ALL_TABLES
from planner.errors import CatalogError

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "catalogs"
REAL = Path(__file__).resolve().parents[2] / "catalogs"


@pytest.fixture
def fixture_copy(tmp_path):
    target = tmp_path / "catalogs"
    shutil.copytree(FIXTURE, target)
    return target


@pytest.mark.parametrize("directory", [FIXTURE, REAL], ids=["fixture", "real"])
def test_catalogs_load_and_match_schema(directory):
    cats = load_catalogs(directory)
    for schema in ALL_TABLES:
        frame = cats.tables[schema.file.removesuffix(".csv")]
        assert list(frame.columns) == schema.names
        assert (frame["source"] != "").all() and (frame["retrieved"] != "").all()
    assert len(cats.fingerprint) == 16


def test_real_catalog_has_every_calibration_id():
    cats = load_catalogs(REAL)
    for gpu in ["H100-SXM-80GB", "A100-SXM-40GB", "A100-SXM-80GB", "A100-PCIe-80GB", "L40S-48GB", "GH200-96GB"]:
        assert cats.gpu_ids.resolve(gpu) == gpu
    for model in ["llama-2-7b", "llama-2-13b", "llama-2-70b", "llama-3-8b", "llama-3-70b", "llama-3.1-8b",
                  "llama-3.1-70b", "llama-3.1-405b", "mistral-7b", "mistral-nemo-12b", "mistral-large-123b",
                  "mixtral-8x7b", "mixtral-8x22b", "qwen2-7b", "qwen2-72b", "internlm-20b"]:
        assert cats.model_ids.resolve(model) == model


def test_ids_are_case_insensitive_with_aliases_and_did_you_mean():
    cats = load_catalogs(FIXTURE)
    assert cats.gpu_ids.resolve("h100-sxm-80gb") == "H100-SXM-80GB"
    assert cats.gpu_ids.resolve("a100-80gb") == "A100-SXM-80GB"
    assert normalise("A100 SXM_80GB") == "a100-sxm-80gb"
    assert "H100-SXM-80GB" in cats.gpu_ids.unknown_message("H100-SXM-800GB")
    assert "llama-3.1-70b" in cats.model_ids.unknown_message("llama-3.1-7b")


def test_every_error_reported_at_once(fixture_copy):
    offers = pd.read_csv(fixture_copy / "offers.csv", dtype=str, keep_default_na=False)
    offers.loc[0, "on_demand_usd_per_hour"] = "cheap"
    offers.loc[1, "source"] = ""
    offers.loc[2, "gpu"] = "H100-SXM-81GB"
    offers.to_csv(fixture_copy / "offers.csv", index=False)
    (fixture_copy / "egress.csv").unlink()
    with pytest.raises(CatalogError) as err:
        load_catalogs(fixture_copy)
    text = "\n".join(err.value.messages)
    assert "offers.csv:2: on_demand_usd_per_hour: 'cheap' is not a number" in text
    assert "offers.csv:3: source: required value is empty" in text
    assert "egress.csv: catalog file is missing" in text


def test_unknown_gpu_reference_and_alias_collision(fixture_copy):
    offers = pd.read_csv(fixture_copy / "offers.csv", dtype=str, keep_default_na=False)
    offers.loc[0, "gpu"] = "H100-SXM-81GB"
    offers.to_csv(fixture_copy / "offers.csv", index=False)
    gpus = pd.read_csv(fixture_copy / "accelerators.csv", dtype=str, keep_default_na=False)
    gpus.loc[1, "aliases"] = gpus.loc[0, "id"]
    gpus.to_csv(fixture_copy / "accelerators.csv", index=False)
    with pytest.raises(CatalogError) as err:
        load_catalogs(fixture_copy)
    text = "\n".join(err.value.messages)
    assert "did you mean 'H100-SXM-80GB'" in text
    assert "means both" in text


def test_reserved_prices_use_published_rate_else_discount_rule():
    offers = pd.DataFrame({
        "cloud": ["x", "x", "y"],
        "on_demand_usd_per_hour": [10.0, 10.0, 10.0],
        "spot_usd_per_hour": [3.0, np.nan, np.nan],
        "reserved_1y_usd_per_hour": [7.5, np.nan, np.nan],
        "reserved_3y_usd_per_hour": [np.nan, np.nan, np.nan],
    })
    discounts = pd.DataFrame({"cloud": ["x"], "tier": ["reserved-1y"], "discount_pct": [40.0], "source": ["s"]})
    p = tier_prices(offers, discounts)
    assert p["price_reserved-1y"].tolist()[:2] == [7.5, 6.0]
    assert np.isnan(p["price_reserved-1y"].iloc[2])  # no rule for cloud y: not offered
    assert p["basis_reserved-1y"].tolist()[:2] == ["catalog", "on-demand less 40% (s)"]
    assert np.isnan(p["price_reserved-3y"]).all()
    assert p["price_spot"].tolist()[0] == 3.0


def test_the_fidelity_table_is_optional_and_outside_the_fingerprint(fixture_copy):
    before = load_catalogs(fixture_copy)
    assert len(before.fidelity)
    (fixture_copy / "fidelity.csv").write_text((fixture_copy / "fidelity.csv").read_text().replace("2026-11-30", "2027-01-01"))
    assert load_catalogs(fixture_copy).fingerprint == before.fingerprint  # re-measuring does not invalidate plans
    (fixture_copy / "fidelity.csv").unlink()
    without = load_catalogs(fixture_copy)
    assert without.fidelity.empty and list(without.fidelity.columns)[:2] == ["check", "metric"]
    assert without.fingerprint == before.fingerprint
    (fixture_copy / "offers.csv").write_text((fixture_copy / "offers.csv").read_text() + "\n")
    assert load_catalogs(fixture_copy).fingerprint != before.fingerprint  # a fact file still counts
