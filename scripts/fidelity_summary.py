"""Write catalogs/fidelity.csv: the performance model's measured error, the band every capacity
figure in a plan carries (quoted in the plan's assumptions and the procurement recommendation).

    python scripts/fidelity_summary.py [--catalogs DIR]

In-sample: ../shared/calibration/benchmarks.csv (the rows the efficiency fit used); held-out:
validation/published.csv (never fitted); unseen: its rows of a GPU or model absent from the
calibration data. Same figures as ``planner fidelity [--data validation/published.csv [--unseen]]``.
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

import pandas as pd

from planner.catalog import load_catalogs
from planner.perf import Efficiency, calibration

ROOT = Path(__file__).resolve().parents[1]


def summary(bench: pd.DataFrame, cats, check: str, data: str) -> list[dict]:
    pred = calibration.predict(bench, cats.accelerators, cats.models, Efficiency(cats.efficiency))
    table = calibration.fidelity(bench, pred, by=())
    fit = cats.efficiency["fit_version"].iloc[0]
    return [{"check": check, "metric": r.metric if r.metric == "throughput" else f"{r.metric}_p99", "rows": int(r.rows),
             "median_ape_pct": round(float(r.median_ape), 1), "p90_ape_pct": round(float(r.p90_ape), 1), "fit_version": fit,
             "source": f"python scripts/fidelity_summary.py: planner fidelity on {data}",
             "retrieved": datetime.date.today().isoformat(), "notes": ""}
            for r in table[table["group_by"] == "all"].itertuples()]


def main(argv: list[str]) -> None:
    directory = Path(argv[argv.index("--catalogs") + 1]) if "--catalogs" in argv else ROOT / "catalogs"
    cats = load_catalogs(directory)
    fitted = pd.read_csv(calibration.BENCHMARKS)
    published = pd.read_csv(ROOT / "validation" / "published.csv")
    rows = (summary(fitted, cats, "in-sample", "../shared/calibration/benchmarks.csv (rows the fit used)")
            + summary(published, cats, "held-out", "validation/published.csv (published measurements never fitted)")
            + summary(calibration.unseen_rows(published, fitted), cats, "unseen",
                      "validation/published.csv rows of a GPU or model absent from the calibration data"))
    out = directory / "fidelity.csv"
    pd.DataFrame(rows).to_csv(out, index=False)
    print(f"wrote {out} ({len(rows)} rows)")


if __name__ == "__main__":
    main(sys.argv[1:])
