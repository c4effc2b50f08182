"""Forecast accuracy of `planner forecast` on the real traces in ../shared/reference/traces, against a
seasonal-naive baseline (the last day repeated; the last value for the one-hour traces).

    python benchmarks/forecast_traces.py [--traces DIR]

Azure 2024 (one week per minute, summed to hours as the command does): the last day is held back and
forecast from the six days before it; the rolling rows forecast each of days 4–7 from all days before
it. Mooncake / Azure 2023 (one hour per minute): the last 15 minutes are held back, at minute steps.

Figures: MAPE and sMAPE (%) of the mean forecast, MASE (mean absolute error over the in-sample MAE of
the seasonal-naive forecast), coverage of the central 90 % prediction interval, and how often the
actual stays at or below the 0.9 quantile (the figure a planner provisions for). Fit times are
printed for information only.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from planner.forecast import History, forecast, parse_options, read_history

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TRACES = ROOT.parent / "shared" / "reference" / "traces"


def metrics(actual: np.ndarray, predicted: np.ndarray, scale: float) -> dict:
    err = np.abs(actual - predicted)
    nz = actual > 0
    return {"mape": float(np.mean(err[nz] / actual[nz]) * 100),
            "smape": float(np.mean(2 * err / np.maximum(np.abs(actual) + np.abs(predicted), 1e-12)) * 100),
            "mase": float(err.mean() / scale) if scale > 0 else float("nan")}


def evaluate(counts: np.ndarray, step: float, held: int, per: int, fit_k: int, horizon: str) -> dict:
    """Forecast the last ``held`` history steps (in fit steps of ``fit_k`` rows) from the rest."""
    history, future = counts[:-held * fit_k], counts[-held * fit_k:]
    actual = future.reshape(-1, fit_k).sum(axis=1)
    hist_fit = history[len(history) % fit_k:].reshape(-1, fit_k).sum(axis=1)
    t0 = time.perf_counter()
    mean = forecast(History(history, step, "benchmark"), parse_options(horizon=horizon)).frame
    q90 = forecast(History(history, step, "benchmark"), parse_options(horizon=horizon, quantile="0.9")).frame
    seconds = time.perf_counter() - t0
    naive = np.resize(hist_fit[-per:], held)
    scale = float(np.mean(np.abs(hist_fit[per:] - hist_fit[:-per])))
    model = metrics(actual, mean["mean"].to_numpy(), scale)
    model["cover90"] = float(np.mean((actual >= mean["lower"].to_numpy()) & (actual <= mean["upper"].to_numpy())))
    model["below_q90"] = float(np.mean(actual <= q90["requests"].to_numpy()))
    return {"model": model, "naive": metrics(actual, naive, scale), "seconds": seconds / 2}


def line(name: str, r: dict) -> str:
    m, b = r["model"], r["naive"]
    return (f"{name:<34} {m['mape']:6.1f} {m['smape']:6.1f} {m['mase']:6.2f} {m['cover90']:6.2f} {m['below_q90']:6.2f}   "
            f"{b['mape']:6.1f} {b['smape']:6.1f} {b['mase']:6.2f}   {r['seconds']:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=Path, default=DEFAULT_TRACES)
    args = parser.parse_args()
    print(f"{'trace / held-out part':<34} {'MAPE':>6} {'sMAPE':>6} {'MASE':>6} {'cov90':>6} {'≤q90':>6}   "
          f"{'naive MAPE':>6} {'sMAPE':>6} {'MASE':>6}   {'fit s':>5}")
    for name in ("azure2024_code", "azure2024_conv"):
        h = read_history(args.traces / f"{name}_per_minute.csv")
        rolled = []
        for day in (4, 5, 6, 7):
            counts = h.counts[: day * 1440]
            r = evaluate(counts, h.step_seconds, held=24, per=24, fit_k=60, horizon="24h")
            rolled.append(r)
            if day == 7:
                print(line(f"{name}: last day (hourly)", r))
        avg = {k: {m: float(np.mean([r[k][m] for r in rolled])) for m in rolled[0][k]} for k in ("model", "naive")}
        avg["seconds"] = float(np.mean([r["seconds"] for r in rolled]))
        print(line(f"{name}: days 4-7, mean", avg))
        for day, r in zip((4, 5, 6, 7), rolled):
            print(line(f"  day {day}", r))
    for name in ("mooncake_conversation", "azure2023_conv", "azure2023_code"):
        h = read_history(args.traces / f"{name}_per_minute.csv")
        r = evaluate(h.counts, h.step_seconds, held=15, per=1, fit_k=1, horizon="15min")
        print(line(f"{name}: last 15 min (minutes)", r))


if __name__ == "__main__":
    main()
