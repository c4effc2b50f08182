"""Usage ingestion: each log format into the typed DuckDB table, and bad input named line by line."""

from datetime import datetime, timezone
from pathlib import Path

import pytest

from planner.errors import InputError
from planner.usage.ingest import UsageStore, check_group_keys, ingest_usage

DATA = Path(__file__).resolve().parents[1] / "data" / "usage"


def rows(store: UsageStore):
    return store.con.sql("SELECT * EXCLUDE (source) FROM usage ORDER BY ts, request_id").df()


def test_openai_jsonl_with_nested_usage():
    with UsageStore() as store:
        assert store.ingest(DATA / "openai_nested.jsonl") == 3
        df = rows(store)
    assert list(df["request_id"]) == ["chatcmpl-1", "chatcmpl-2", "chatcmpl-3"]
    assert list(df["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S")) == [  # epoch seconds, UTC
        "2024-05-01T10:00:00", "2024-05-01T11:00:00", "2024-05-01T12:00:00"]
    assert list(df["prompt_tokens"]) == [1000, 500, 2000]
    assert list(df["completion_tokens"]) == [200, 100, 300]
    assert list(df["cached_tokens"]) == [400, 0, 0]  # usage.prompt_tokens_details.cached_tokens; absent = 0
    assert list(df["team"]) == ["search", "support", "search"]  # metadata.team
    assert list(df["project"]) == ["ranker", "chatbot", "ranker"]
    assert list(df["user"]) == ["alice", "bob", "alice"]
    assert df["latency_ms"].isna().all()


def test_litellm_spend_log():
    with UsageStore() as store:
        assert store.ingest(DATA / "litellm_spend.jsonl") == 2
        df = rows(store)
        by_user = store.usage_by("user")
    # the team alias wins over the team id; the project comes from a 'project:NAME' request tag
    assert list(df["team"]) == ["research", "ops"]
    assert df["project"].iloc[0] == "summaries" and df["project"].isna().iloc[1]
    assert list(df["latency_ms"]) == [1250.0, 2000.0]  # endTime - startTime
    assert df["api_key"].iloc[1] == "hashed-key-2"
    # an empty user falls back to the API key as the 'user' group
    assert sorted(by_user["user"]) == ["hashed-key-2", "palantir"]


def test_plain_csv():
    with UsageStore() as store:
        assert store.ingest(DATA / "plain.csv") == 3
        df = rows(store)
        teams = store.usage_by(("team",))
    assert list(df["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S")) == [
        "2024-05-01T10:00:00", "2024-05-01T10:00:00", "2024-05-01T12:00:00"]  # +02:00 offset and epoch
    assert list(df["cached_tokens"]) == [400, 0, 0]  # an empty cell is 0
    assert df["latency_ms"].iloc[0] == 850.5
    assert teams.to_dict("records") == [
        {"team": "(untagged)", "requests": 1, "prompt_tokens": 2000, "completion_tokens": 300, "cached_tokens": 0},
        {"team": "search", "requests": 1, "prompt_tokens": 1000, "completion_tokens": 200, "cached_tokens": 400},
        {"team": "support", "requests": 1, "prompt_tokens": 500, "completion_tokens": 100, "cached_tokens": 0},
    ]


def test_bad_csv_every_problem_one_line_each_and_nothing_loaded():
    with UsageStore() as store:
        store.ingest(DATA / "plain.csv")
        with pytest.raises(InputError) as err:
            store.ingest(DATA / "bad.csv")
        assert store.count() == 3  # the bad file left nothing behind
    p = DATA / "bad.csv"
    assert err.value.messages == [
        f"{p}:3: ts (timestamp): cannot parse 'yesterday' as ISO 8601 or epoch seconds",
        f"{p}:4: prompt_tokens (prompt_tokens): -5 is negative",
        f"{p}:5: completion_tokens (completion_tokens): '12.5' is not a whole number",
        f"{p}:6: cached_tokens: 301 exceeds prompt_tokens 300",
        f"{p}:6: latency_ms (latency_ms): -3 is negative",
    ]
    assert err.value.exit_code == 3


def test_bad_jsonl_names_nested_fields_and_lines():
    with UsageStore() as store, pytest.raises(InputError) as err:
        store.ingest(DATA / "bad_nested.jsonl")
    p = DATA / "bad_nested.jsonl"
    assert err.value.messages == [
        f"{p}:2: prompt_tokens (usage.prompt_tokens): -10 is negative",
        f"{p}:3: model: missing",
        f"{p}:4: cached_tokens: 11 exceeds prompt_tokens 10",
        f"{p}:4: user/api_key: missing (neither is given)",
    ]


def test_missing_column_did_you_mean():
    with UsageStore() as store, pytest.raises(InputError) as err:
        store.ingest(DATA / "misnamed.csv")
    assert err.value.messages == [
        f"{DATA / 'misnamed.csv'}: missing column for prompt_tokens (accepted: prompt_tokens, usage.prompt_tokens, "
        "input_tokens, usage.input_tokens); did you mean 'promt_tokens'?"]


def test_many_bad_rows_are_counted_not_all_listed(tmp_path):
    path = tmp_path / "many.csv"
    path.write_text("timestamp,user,model,prompt_tokens,completion_tokens\n"
                    + "".join(f"2024-05-01T10:00:{i:02d}Z,u,m,-1,1\n" for i in range(25)))
    with UsageStore() as store, pytest.raises(InputError) as err:
        store.ingest(path)
    assert len(err.value.messages) == 11
    assert err.value.messages[0] == f"{path}:2: prompt_tokens (prompt_tokens): -1 is negative"
    assert err.value.messages[-1] == f"{path}: prompt_tokens (prompt_tokens): 15 more lines with this problem"


@pytest.mark.parametrize("name, message", [
    ("empty.csv", "{p}: no requests in the file"),
    ("nothing_here.csv", "{p}: file not found"),
    ("log.txt", "{p}: unknown log format (suffix .jsonl, .ndjson, .json, .csv, .tsv or .parquet, or say the format)"),
])
def test_unusable_files(name, message, tmp_path):
    p = DATA / name if (DATA / name).exists() else tmp_path / name
    if name == "log.txt":
        p.write_text("hello\n")
    with UsageStore() as store, pytest.raises(InputError) as err:
        store.ingest(p)
    assert err.value.messages == [message.format(p=p)]


def test_malformed_json_is_an_input_error(tmp_path):
    p = tmp_path / "broken.jsonl"
    p.write_text('{"model": "m", "user": "u"\n')
    with UsageStore() as store, pytest.raises(InputError) as err:
        store.ingest(p)
    assert err.value.messages[0].startswith(f"{p}: cannot read as jsonl: ")


def test_time_window_and_file_database(tmp_path):
    db = tmp_path / "usage.duckdb"
    store = ingest_usage([DATA / "plain.csv", DATA / "openai_nested.jsonl"], database=db)
    store.close()
    with UsageStore(db) as store:  # the file keeps the requests
        assert store.count() == 6
        start = datetime(2024, 5, 1, 10, 30, tzinfo=timezone.utc)
        end = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
        window = store.usage_by("model", start, end)
        assert window.to_dict("records") == [{"model": "llama-3.1-8b", "requests": 1, "prompt_tokens": 500,
                                              "completion_tokens": 100, "cached_tokens": 0}]
        assert store.requests_outside(start, end) == 5
        assert store.time_range() == (datetime(2024, 5, 1, 10, tzinfo=timezone.utc),
                                      datetime(2024, 5, 1, 12, tzinfo=timezone.utc))


def test_ingest_usage_collects_problems_of_every_file():
    with pytest.raises(InputError) as err:
        ingest_usage([DATA / "misnamed.csv", DATA / "bad_nested.jsonl"])
    assert len(err.value.messages) == 5


def test_group_keys_did_you_mean():
    assert check_group_keys(["team", "model"]) == ("team", "model")
    with pytest.raises(InputError, match="did you mean 'team'"):
        check_group_keys(["teams"])


def test_bad_cell_after_the_sniffer_sample_is_still_named(tmp_path):
    # DuckDB types CSV columns from a sample of rows; a bad cell beyond it makes us re-read as text.
    path = tmp_path / "late.csv"
    path.write_text("timestamp,user,model,prompt_tokens,completion_tokens\n"
                    + "2024-05-01T10:00:00Z,u,m,10,1\n" * 30000 + "2024-05-01T10:00:00Z,u,m,lots,1\n")
    with UsageStore() as store, pytest.raises(InputError) as err:
        store.ingest(path)
    assert err.value.messages == [f"{path}:30002: prompt_tokens (prompt_tokens): 'lots' is not a whole number"]


def test_an_offset_after_the_sniffer_sample_is_not_dropped(tmp_path):
    # DuckDB types the column as naive TIMESTAMP from its first rows; a later -05:00 must still count
    path = tmp_path / "mixed.csv"
    path.write_text("timestamp,user,model,prompt_tokens,completion_tokens\n" + "2025-03-03T10:00:00,a,m,1,1\n" * 25_000
                    + "2025-03-03T23:30:00-05:00,b,m,1,1\n")
    from datetime import datetime, timezone

    from planner.usage import ingest_usage

    store = ingest_usage(path)
    assert store.time_range()[1] == datetime(2025, 3, 4, 4, 30, tzinfo=timezone.utc)


def test_jsonl_lines_count_blank_lines_and_late_types_are_read(tmp_path):
    from datetime import datetime, timezone

    from planner.errors import InputError
    from planner.usage import ingest_usage

    row = '{"timestamp":"2024-05-01T10:00:00Z","user":"a","model":"m","prompt_tokens":%s,"completion_tokens":1}\n'
    blank = tmp_path / "blank.jsonl"
    blank.write_text(row % 1 + "\n" + row % -1)  # the bad record is on line 3, after a blank line
    with pytest.raises(InputError) as err:
        ingest_usage(blank)
    assert err.value.messages == [f"{blank}:3: prompt_tokens (prompt_tokens): -1 is negative"]
    # a time with an offset after the reader's type sample: read again with types from every record
    late = tmp_path / "late.jsonl"
    naive = '{"timestamp":"2025-03-03T10:00:00","user":"a","model":"m","prompt_tokens":1,"completion_tokens":1}\n'
    late.write_text(naive * 25_000 + naive.replace("10:00:00", "23:30:00-05:00"))
    assert ingest_usage(late).time_range()[1] == datetime(2025, 3, 4, 4, 30, tzinfo=timezone.utc)
