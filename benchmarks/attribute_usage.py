"""Cost attribution at scale: generate a gateway log of N requests (default 10 million; deterministic, by
DuckDB itself, as CSV and Parquet in a temporary directory), ingest each, allocate a month's fleet cost by
team and by team × user, export FOCUS, and print the time of each stage.

    python benchmarks/attribute_usage.py [--rows 10000000] [--formats csv,parquet]
"""

import argparse
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import duckdb

from planner.usage import FleetCost, UsageStore, allocate, focus_problems, focus_table, token_weights, write_focus_csv

# Columns of a plain gateway log; pseudo-random from the row number (a multiplicative hash), so every run
# and every thread count writes the same file.
GENERATE = """
SELECT
    strftime(TIMESTAMP '2024-05-01' + to_microseconds(CAST(i * 267840000 // {rows} AS BIGINT) * 10000),
             '%Y-%m-%dT%H:%M:%S') || 'Z'                                   AS timestamp,
    'user-' || CAST(h1 % 5000 AS VARCHAR)                                  AS user,
    'team-' || CAST(h1 % 5000 % 40 AS VARCHAR)                             AS team,
    'project-' || CAST(h2 % 120 AS VARCHAR)                                AS project,
    ['llama-3.1-8b', 'llama-3.1-70b', 'qwen2.5-32b', 'mixtral-8x7b'][1 + h2 % 4] AS model,
    CAST(64 + h1 % 4000 AS BIGINT)                                         AS prompt_tokens,
    CAST(16 + h2 % 600 AS BIGINT)                                          AS completion_tokens,
    CAST((64 + h1 % 4000) * (h3 % 4) // 4 AS BIGINT)                       AS cached_tokens,
    CAST(200 + h3 % 5000 AS DOUBLE)                                        AS latency_ms
FROM (SELECT i, (i * 2654435761 + 97) % 4294967291 AS h1, (i * 40503 + 11) % 2147483647 AS h2,
             (i * 1103515245 + 12345) % 2147483648 AS h3 FROM range({rows}) t(i))
"""


def timed(label: str, fn):
    t0 = time.perf_counter()
    out = fn()
    print(f"{label:<42s} {time.perf_counter() - t0:7.2f} s", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--formats", default="csv,parquet")
    args = ap.parse_args()
    fleet = FleetCost(Decimal("1234567.89"), "2024-05-01T00:00:00Z", "2024-06-01T00:00:00Z", "benchmark fleet")
    # Illustrative per-token costs only (the CLI will take them from the performance model).
    weights = token_weights(2e-5, 1.6e-4)
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect()
        for fmt in args.formats.split(","):
            path = Path(tmp) / f"usage.{fmt}"
            option = "(FORMAT csv, HEADER)" if fmt == "csv" else "(FORMAT parquet)"
            timed(f"generate {args.rows:,} requests as {fmt}",
                  lambda: con.execute(f"COPY ({GENERATE.format(rows=args.rows)}) TO '{path}' {option}"))
            print(f"{'':<42s} {path.stat().st_size / 2**20:7.0f} MiB")
            db = Path(tmp) / f"usage-{fmt}.duckdb"  # a kept store (planner attribute --db): ingest once
            with UsageStore(db) as store:
                n = timed(f"ingest {fmt} (read, normalise, check, load)", lambda: store.ingest(path))
            with UsageStore(db) as store:  # a later run: reopen and attribute
                assert n == args.rows
                timed("summarise by team (reopened store)", lambda: store.usage_by("team", fleet.start, fleet.end))
                by_team = timed("allocate by team (idle proportional)",
                                lambda: allocate(store, fleet, weights, by="team", utilisation=0.65))
                by_user = timed("allocate by team x user (idle even)",
                                lambda: allocate(store, fleet, weights, by=("team", "user"), idle_policy="even",
                                                 utilisation=0.65))
                rows = timed("FOCUS rows by team x user", lambda: focus_table(by_user))
                timed("validate FOCUS rows", lambda: focus_problems(rows))
                timed("write FOCUS CSV", lambda: write_focus_csv(rows, Path(tmp) / "focus.csv"))
                assert int(by_team.table["cost_units"].sum()) == by_team.total_units
                assert int(by_user.table["cost_units"].sum()) == by_user.total_units
                print(f"{'':<42s} {len(by_team.table)} teams, {len(by_user.table)} team x user groups; "
                      f"allocated {by_user.total_usd} USD exactly")


if __name__ == "__main__":
    main()
