"""Usage ingestion: request logs of OpenAI-compatible gateways (JSONL, JSON, CSV, Parquet) into one typed
DuckDB table, ``usage``, normalised in SQL by DuckDB's own readers (no Python loop over rows), so that tens
of millions of requests load and summarise in seconds.

The field mapping (which column or nested field gives each of the table's fields) and its SQL are in
:mod:`planner.usage.fields`.

Bad input raises :class:`planner.errors.InputError` with one line per problem, ``FILE:LINE: field: what``
(line = data line in the file: a CSV header is line 1), all problems at once (at most
``MAX_LINES_PER_CHECK`` rows listed per kind of problem, then a count), and nothing is loaded from a file
that has any problem: each file loads in one transaction.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from planner.errors import InputError
from planner.usage.fields import _COLUMNS, _COUNTS, _FORMATS, _did_you_mean, _flatten, _lit, _map_fields, _q, _select, _Source

MAX_LINES_PER_CHECK = 10
UNTAGGED = "(untagged)"  # the group of requests that carry no team / project
GROUP_KEYS = ("team", "project", "model", "user", "api_key")


# ts, model and the token counts are never null in a committed row: the checks flag such rows in
# ``problem`` and their file is rolled back (NOT NULL constraints would abort before the flags are read)
SOURCES_DDL = """CREATE TABLE IF NOT EXISTS sources (
    path VARCHAR PRIMARY KEY,         -- resolved path of a loaded log
    size BIGINT, mtime_ns BIGINT)     -- as loaded: a log that grew or changed is loaded again"""
USAGE_DDL = """CREATE TABLE IF NOT EXISTS usage (
    ts TIMESTAMP,                     -- UTC
    request_id VARCHAR, api_key VARCHAR, "user" VARCHAR, team VARCHAR, project VARCHAR,
    model VARCHAR,
    prompt_tokens BIGINT, completion_tokens BIGINT, cached_tokens BIGINT,
    latency_ms DOUBLE,
    source VARCHAR NOT NULL,
    batch INTEGER NOT NULL,           -- which ingest call loaded the row
    problem INTEGER NOT NULL)         -- bit flags of the checks a row fails (0 in every committed row)"""


class _ReadError(Exception):
    """DuckDB could not read the file (malformed, or a cell that does not fit the sniffed type)."""


class UsageStore:
    """An embedded DuckDB database of requests: ``:memory:`` (default) or a file path that keeps them.

    >>> store = UsageStore()
    >>> store.ingest("gateway.jsonl")            # doctest: +SKIP
    >>> store.usage_by(("team",), start, end)    # doctest: +SKIP
    """

    def __init__(self, database: str | Path = ":memory:"):
        self.database = str(database)
        self.skipped: list[str] = []  # files ingest_usage did not load again (already held)
        if self.database != ":memory:" and Path(self.database).suffix.lower() in (*_FORMATS, ".gz"):
            raise InputError(f"{database}: looks like a log, not a usage database (give the logs as files, --db a new .duckdb file)")
        try:
            self.con = duckdb.connect(self.database)
        except duckdb.Error as exc:
            raise InputError(f"{database}: cannot open as a usage database: {_first_line(exc)}") from None
        for setting in ("SET TimeZone = 'UTC'",  # TIMESTAMPTZ casts then convert to UTC; without ICU they already do
                        "SET enable_progress_bar = false"):  # it would draw on stdout, into --format json
            try:
                self.con.execute(setting)
            except duckdb.Error:
                pass
        existing = {r[0] for r in self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'usage'").fetchall()}
        expected = set(_COLUMNS) | {"source", "batch", "problem"}
        if existing and existing != expected:
            self.con.close()
            raise InputError(f"{database}: its 'usage' table was not made by this version of planner attribute "
                             f"(columns {', '.join(sorted(existing))}): use a new --db file")
        self.con.execute(USAGE_DDL)
        self.con.execute(SOURCES_DDL)
        self._batch = int(self.con.execute("SELECT COALESCE(max(batch), 0) FROM usage").fetchall()[0][0])

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> UsageStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- loading ------------------------------------------------------------------------------------------

    def ingest(self, path: str | Path, *, format: str | None = None, replace: bool = False) -> int:
        """Load one request log (``jsonl``, ``json``, ``csv`` or ``parquet``; from the suffix, ``.gz`` allowed,
        unless ``format`` says) and return the number of requests loaded. Raises InputError listing every
        problem; then nothing of the file is loaded. ``replace``: the rows an earlier version of the file
        loaded are dropped in the same transaction."""
        path = Path(path)
        fmt = format or _format_of(path)
        if not path.is_file():
            raise InputError(f"{path}: file not found")
        # A CSV is read with DuckDB's typed sniffer first (fastest); if a cell after the sniffer's sample
        # does not fit its column's type, it is read again as text, for our own line-by-line messages.
        # JSON: types sniffed from a sample can fail on a later record (an offset on a time, text in a
        # number): read again with types from every record
        fallback = {"csv": "csv-text", "jsonl": "jsonl-full", "json": "json-full"}.get(fmt)
        readers = [_reader(path, fmt)] + ([_reader(path, fallback)] if fallback else [])
        for attempt, reader in enumerate(readers, start=1):
            try:
                return self._ingest(path, fmt, reader, replace)
            except _ReadError as exc:
                if attempt == len(readers):
                    raise InputError(f"{path}: cannot read as {fmt}: {exc}") from None
        raise AssertionError("unreachable")

    def _sources(self, reader: str) -> dict[str, _Source]:
        try:
            rel = self.con.sql(f"SELECT * FROM {reader} LIMIT 0")
            sources: dict[str, _Source] = {}
            for name, t in zip(rel.columns, rel.types):
                _flatten(name, t, f"src.{_q(name)}", sources)
        except duckdb.Error as exc:
            raise _ReadError(_first_line(exc)) from None
        return sources

    def _ingest(self, path: Path, fmt: str, reader: str, replace: bool = False) -> int:
        sources = self._sources(reader)
        fields, problems = _map_fields(path, sources)
        if problems:
            raise InputError(problems)
        naive = [s.path for s in fields["ts"].sources if s.kind in ("timestamp", "date") and "." not in s.path]
        if fmt == "csv" and naive:
            # the sniffer typed the time from its sample as naive: a later row's offset would be dropped
            # silently, so the column is read as text and each value parsed with its own offset
            reader = _reader(path, fmt, text_columns=naive)
            sources = self._sources(reader)
            fields, problems = _map_fields(path, sources)
        inner, raw, checks = _select(fields, sources)
        columns = ", ".join(f"{e} AS {_q(c)}" for c, e in inner.items())
        flags = " + ".join(f"(CASE WHEN {flag} THEN {1 << i} ELSE 0 END)" for i, (flag, _) in enumerate(checks))
        cols = ", ".join(_q(c) for c in _COLUMNS)
        con = self.con
        self._batch += 1
        source = str(path.resolve())
        con.execute("BEGIN TRANSACTION")
        try:
            if replace:
                con.execute("DELETE FROM usage WHERE source = ?", [source])
            # one pass over the file, straight into the table with each row's problem flags; a file with
            # any problem is rolled back (a staging copy cost a quarter of the time on 10 M rows)
            con.execute(f"INSERT INTO usage ({cols}, source, batch, problem) SELECT {cols}, {_lit(source)}, "
                        f"{self._batch}, ({flags}) FROM (SELECT {columns} FROM {reader} AS src)")
            n, bad = con.execute("SELECT count(*), COALESCE(bit_or(problem), 0) FROM usage WHERE batch = ?",
                                 [self._batch]).fetchall()[0]
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise _ReadError(_first_line(exc)) from None
        if n == 0 or bad:
            con.execute("ROLLBACK")  # nothing of a bad file stays; outside it, new tables' rowids count from 0
            if n == 0:
                raise InputError(f"{path}: no requests in the file")
            header_lines = {"csv": 1, "jsonl": 0}.get(fmt)  # None: no line numbers (JSON array, Parquet)
            try:
                lines = self._problem_lines(path, reader, columns, raw, checks, bad, header_lines)
            except duckdb.Error as exc:
                raise _ReadError(_first_line(exc)) from None
            raise InputError(lines)
        stat = path.stat()
        con.execute("INSERT OR REPLACE INTO sources VALUES (?, ?, ?)", [source, stat.st_size, stat.st_mtime_ns])
        con.execute("COMMIT")
        return int(n)

    def _problem_lines(self, path: Path, reader: str, columns: str, raw: dict[str, str], checks, bad: int,
                       header_lines: int | None) -> list[str]:
        """The slow path, only for a bad file: materialise the raw rows (their rowid is the record's order in
        the file) and list the first rows with each problem, then how many more. Rows are named by line
        (CSV, JSONL: one record per line, a CSV header is line 1) or else by record number."""
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE _raw AS SELECT * FROM {reader}")
        raw_columns = ", ".join(f"{e} AS {_q(c)}" for c, e in raw.items())
        rows_sql = f"(SELECT rowid AS _record, {columns}, {raw_columns} FROM _raw AS src)"
        listed: list[tuple[int, str]] = []
        more: list[str] = []
        for i, (flag, message) in enumerate(checks):
            if not bad & (1 << i):
                continue
            rows = self.con.execute(
                f"SELECT _record, {message} FROM {rows_sql} WHERE {flag} ORDER BY _record LIMIT {MAX_LINES_PER_CHECK + 1}"
            ).fetchall()
            total = self.con.execute(f"SELECT count(*) FROM {rows_sql} WHERE {flag}").fetchall()[0][0]
            listed += [(int(r), m) for r, m in rows[:MAX_LINES_PER_CHECK]]
            if total > MAX_LINES_PER_CHECK:
                field = rows[0][1].split(":", 1)[0]
                more.append(f"{path}: {field}: {total - MAX_LINES_PER_CHECK} more lines with this problem")
        self.con.execute("DROP TABLE _raw")
        if header_lines is None:
            return [f"{path}: record {r + 1}: {m}" for r, m in sorted(listed)] + more
        if header_lines == 0:  # JSONL: the reader skips blank lines, so a record's line is counted in the file
            lines = _record_lines(path, {r for r, _ in listed})
            return [f"{path}:{lines.get(r, r + 1)}: {m}" for r, m in sorted(listed)] + more
        return [f"{path}:{r + 1 + header_lines}: {m}" for r, m in sorted(listed)] + more

    # -- reading ------------------------------------------------------------------------------------------

    def count(self) -> int:
        return int(self.con.execute("SELECT count(*) FROM usage").fetchall()[0][0])

    def time_range(self) -> tuple[datetime, datetime] | None:
        """First and last request time (UTC, aware), or None when the store is empty."""
        lo, hi = self.con.execute("SELECT min(ts), max(ts) FROM usage").fetchall()[0]
        if lo is None:
            return None
        return lo.replace(tzinfo=timezone.utc), hi.replace(tzinfo=timezone.utc)

    def usage_by(self, by: tuple[str, ...] | list[str] | str, start: datetime | None = None,
                 end: datetime | None = None) -> pd.DataFrame:
        """Requests and tokens per group of ``by`` (any of GROUP_KEYS), over requests with start <= ts < end
        (UTC; None = unbounded). Columns: the keys, requests, prompt_tokens, completion_tokens, cached_tokens.
        Requests without a team/project form the group '(untagged)'."""
        keys = check_group_keys(by)
        where, params = [], []
        for op, bound in ((">=", start), ("<", end)):
            if bound is not None:
                where.append(f"ts {op} ?")
                params.append(_utc_naive(bound))
        key_sql = {"team": f"COALESCE(team, {_lit(UNTAGGED)})", "project": f"COALESCE(project, {_lit(UNTAGGED)})",
                   "model": "model", "user": 'COALESCE("user", api_key)', "api_key": f"COALESCE(api_key, {_lit(UNTAGGED)})"}
        cols = ", ".join(f"{key_sql[k]} AS {_q(k)}" for k in keys)
        sql = (f"SELECT {cols}, count(*) AS requests, "
               + ", ".join(f"CAST(sum({c}) AS BIGINT) AS {c}" for c in _COUNTS)
               + " FROM usage" + (" WHERE " + " AND ".join(where) if where else "")
               + f" GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))} ORDER BY {', '.join(_q(k) for k in keys)}")
        return self.con.execute(sql, params).df()

    def holds(self, path: str | Path) -> str | None:
        """'same' when the store holds ``path`` as it is now (size and modification time), 'changed'
        when it holds an earlier version, None when it has never loaded it."""
        key, stat = str(Path(path).resolve()), Path(path).stat()
        row = self.con.execute("SELECT size, mtime_ns FROM sources WHERE path = ?", [key]).fetchall()
        if not row:
            return None
        return "same" if tuple(row[0]) == (stat.st_size, stat.st_mtime_ns) else "changed"

    def repeated_request_ids(self) -> int:
        """How many request ids appear in more than one row (logs loaded twice, or overlapping)."""
        return int(self.con.execute("SELECT count(*) FROM (SELECT request_id FROM usage WHERE request_id IS NOT NULL "
                                    "GROUP BY request_id HAVING count(*) > 1)").fetchall()[0][0])

    def requests_outside(self, start: datetime, end: datetime) -> int:
        """How many stored requests fall outside [start, end)."""
        return int(self.con.execute("SELECT count(*) FROM usage WHERE ts < ? OR ts >= ?",
                                    [_utc_naive(start), _utc_naive(end)]).fetchall()[0][0])


def ingest_usage(paths, database: str | Path = ":memory:", skip_loaded: bool = False) -> UsageStore:
    """A store holding every file of ``paths`` (one path or several): a new one in memory, or the
    database file ``database`` (kept between runs; with ``skip_loaded`` a file it already holds, by its
    path, is not loaded again: ``store.skipped``). Problems in any file raise one InputError listing the
    problems of every file (and the store is closed; each file loads whole or not at all)."""
    store = UsageStore(database)
    problems: list[str] = []
    for path in [paths] if isinstance(paths, (str, Path)) else paths:
        held = store.holds(path) if skip_loaded and Path(path).is_file() else None
        if held == "same":
            store.skipped.append(str(path))
            continue
        try:
            store.ingest(path, replace=held == "changed")
        except InputError as exc:
            problems += exc.messages
    if problems:
        store.close()
        raise InputError(problems)
    return store


def check_group_keys(by) -> tuple[str, ...]:
    keys = (by,) if isinstance(by, str) else tuple(by)
    bad = [k for k in keys if k not in GROUP_KEYS]
    if not keys or bad or len(set(keys)) != len(keys):
        hint = "".join(_did_you_mean(k, GROUP_KEYS) for k in bad)
        raise InputError(f"group by: {list(keys)} is not a list of distinct keys among {', '.join(GROUP_KEYS)}{hint}")
    return keys


def _utc_naive(t: datetime) -> datetime:
    return t.astimezone(timezone.utc).replace(tzinfo=None) if t.tzinfo else t


def _record_lines(path: Path, records: set[int]) -> dict[int, int]:
    """1-based line numbers of the (0-based) records of a JSONL file, blank lines skipped as the reader does."""
    import gzip

    out: dict[int, int] = {}
    if not records:
        return out
    last = max(records)
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    record = -1
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                record += 1
                if record in records:
                    out[record] = number
                if record >= last:
                    break
    return out


def _format_of(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in (".gz", ".zst")]
    fmt = _FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise InputError(f"{path}: unknown log format (suffix .jsonl, .ndjson, .json, .csv, .tsv or .parquet, "
                         f"or say the format)")
    return fmt


def _reader(path: Path, fmt: str, text_columns: list[str] | None = None) -> str:
    p = _lit(str(path))
    if fmt in ("jsonl", "jsonl-full"):
        return f"read_json({p}, format = 'newline_delimited', records = true" + (", sample_size = -1)" if fmt.endswith("full") else ")")
    if fmt in ("json", "json-full"):
        return f"read_json({p}, format = 'auto', records = true" + (", sample_size = -1)" if fmt.endswith("full") else ")")
    if fmt == "csv":
        types = ", ".join(f"{_lit(c)}: 'VARCHAR'" for c in text_columns or [])
        return f"read_csv({p}, header = true" + (f", types = {{{types}}})" if types else ")")
    if fmt == "csv-text":  # every column as text: our own casts then name the line and value of a bad cell
        return f"read_csv({p}, header = true, all_varchar = true)"
    if fmt == "parquet":
        return f"read_parquet({p})"
    raise InputError(f"{path}: unknown log format '{fmt}' (jsonl, json, csv or parquet)")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__

