"""Write problems/data/gateway_sample.jsonl: a sample gateway log for `planner attribute`, in the shape of
LiteLLM spend logs (startTime, model, prompt/completion tokens, the key's team alias, project tags).

The token counts are real: the first 3,000 requests of the Azure 2023 conversation trace, in order
(problems/data/azure2023_conv_lengths.csv). The rest is synthetic and says so: Poisson arrivals at 5
requests/s (the quickstart problem's rate) from 2024-05-01 10:00 UTC, and tenants drawn with a fixed
seed (search 40 %, support 30 %, research 20 %, ads 10 %). No cached tokens (the trace has none).

    python scripts/sample_gateway_log.py
"""

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RATE_RPS = 5.0
REQUESTS = 3000
TEAMS = {"search": ("ranking", 0.4), "support": ("chatbot", 0.3), "research": ("eval", 0.2), "ads": ("copy", 0.1)}


def main() -> None:
    lengths = pd.read_csv(ROOT / "problems" / "data" / "azure2023_conv_lengths.csv").head(REQUESTS)
    rng = np.random.default_rng(20240501)
    start = datetime(2024, 5, 1, 10, tzinfo=timezone.utc)
    times = np.cumsum(rng.exponential(1.0 / RATE_RPS, size=REQUESTS))
    names = list(TEAMS)
    teams = rng.choice(names, size=REQUESTS, p=[TEAMS[t][1] for t in names])
    users = rng.integers(1, 9, size=REQUESTS)
    lines = []
    for i, row in enumerate(lengths.itertuples(index=False)):
        team = str(teams[i])
        when = start + timedelta(seconds=float(times[i]))
        lines.append(json.dumps({
            "request_id": f"req-{i:05d}", "startTime": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "model": "llama-3.1-8b", "user": f"{team}-user-{users[i]}",
            "prompt_tokens": int(row.input_tokens), "completion_tokens": int(row.output_tokens),
            "metadata": {"user_api_key_team_alias": team}, "request_tags": [f"project:{TEAMS[team][0]}"],
        }))
    out = ROOT / "problems" / "data" / "gateway_sample.jsonl"
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out} ({len(lines)} requests, {times[-1]:.0f} s)")


if __name__ == "__main__":
    main()
