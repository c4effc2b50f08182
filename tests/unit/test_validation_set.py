"""The held-out validation set (validation/published.csv): its rows resolve in the catalogs, none
repeats a calibration row, and the fidelity report runs on it (the figures are quoted in notes)."""

from pathlib import Path

import pandas as pd
import pytest

from planner.catalog.load import load_catalogs
from planner.perf import load_efficiency
from planner.perf.calibration import BENCHMARKS, fidelity, predict

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ROOT / "validation" / "published.csv"
KEY = ["engine_family", "model", "gpu", "num_gpus", "tp", "precision", "scenario", "input_len", "output_len",
       "concurrency", "throughput_out_tok_s"]


@pytest.fixture(scope="module")
def published():
    return pd.read_csv(PUBLISHED)


def test_same_columns_as_calibration_and_sourced(published):
    calibration = pd.read_csv(BENCHMARKS, nrows=1)
    assert list(published.columns) == list(calibration.columns)
    assert published["source"].notna().all() and published["notes"].notna().all()
    assert published["id"].is_unique


def test_no_row_repeats_a_calibration_measurement(published):
    calibration = pd.read_csv(BENCHMARKS)
    both = published[KEY].merge(calibration[KEY], how="inner", on=KEY)
    assert both.empty, both


def test_ids_resolve_and_fidelity_runs(published):
    cat = load_catalogs(ROOT / "catalogs")
    pred = predict(published, cat.accelerators, cat.models, load_efficiency())
    report = fidelity(published, pred, by=("source",))
    throughput = report[(report.metric == "throughput") & (report.group_by == "all")].iloc[0]
    assert throughput["rows"] >= 150  # most rows estimate; the rest name a missing catalog field
    assert 0 < throughput["median_ape"] < 100


def test_unseen_rows_keep_gpus_or_models_absent_from_the_fit():
    import pandas as pd

    from planner.perf.calibration import unseen_rows

    fitted = pd.DataFrame({"gpu": ["H100", "A100"], "model": ["m1", "m2"]})
    bench = pd.DataFrame({"gpu": ["H100", "L40S", "A100", "H100"], "model": ["m2", "m1", "m9", "m1"], "id": [1, 2, 3, 4]})
    # (H100, m2) is a new pair of seen parts: not unseen; L40S and m9 are unseen
    assert unseen_rows(bench, fitted)["id"].tolist() == [2, 3]
