"""How a request log's columns become the usage table's: the field mapping, and the SQL that reads,
normalises and checks each field (planner.usage.ingest runs it).

Field mapping (case-insensitive; dotted names are nested JSON objects; for each field the first listed
source that the file has and that is not null on a row wins):

============== ========= ===================================================================================
field          required  accepted sources, in order
============== ========= ===================================================================================
ts             yes       ``timestamp``, ``startTime`` (LiteLLM), ``start_time``, ``created_at``, ``created``
                         (OpenAI responses), ``request_time``, ``time``, ``ts``. ISO 8601 with or without an
                         offset (no offset = UTC), or epoch seconds (a number or a string of digits).
user           one of    ``user``, ``user_id``, ``end_user``, ``metadata.user_api_key_user_id``
api_key        the two   ``api_key``, ``api_key_hash``, ``metadata.user_api_key``, ``metadata.user_api_key_hash``
team           no        ``team``, ``team_alias``, ``metadata.user_api_key_team_alias``, ``metadata.team``,
                         ``team_id``, ``metadata.user_api_key_team_id`` (a name before an id); else a
                         ``team:NAME`` tag
project        no        ``project``, ``project_id``, ``metadata.project``; else a ``project:NAME`` tag
model          yes       ``model``, ``model_group``, ``model_name``
prompt_tokens  yes       ``prompt_tokens``, ``usage.prompt_tokens``, ``input_tokens``, ``usage.input_tokens``
completion_... yes       ``completion_tokens``, ``usage.completion_tokens``, ``output_tokens``,
                         ``usage.output_tokens``
cached_tokens  no (0)    ``cached_tokens``, ``usage.prompt_tokens_details.cached_tokens``,
                         ``prompt_tokens_details.cached_tokens``, ``usage.input_tokens_details.cached_tokens``
latency_ms     no        ``latency_ms``, ``duration_ms``, ``response_time_ms``; else ``endTime`` − ``startTime``
request_id     no        ``request_id``, ``id``
============== ========= ===================================================================================

Tags are read from ``request_tags``, ``tags`` or ``metadata.tags`` (a list, or a string separated by ``,``
``;`` or spaces) as ``team:NAME`` / ``project:NAME`` (``=`` also accepted): this is how LiteLLM spend logs
carry request tags. Cached tokens follow OpenAI's convention: they are part of ``prompt_tokens``
(Anthropic-style ``cache_read_input_tokens``, which are *not* part of the input count, are not mapped).
Columns not listed are ignored. The ``user`` grouping key is the user, or the API key where no user is logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from planner.catalog.ids import did_you_mean

FIELD_SOURCES: dict[str, tuple[str, ...]] = {
    "ts": ("timestamp", "startTime", "start_time", "created_at", "created", "request_time", "time", "ts"),
    "user": ("user", "user_id", "end_user", "metadata.user_api_key_user_id"),
    "api_key": ("api_key", "api_key_hash", "metadata.user_api_key", "metadata.user_api_key_hash"),
    "team": ("team", "team_alias", "metadata.user_api_key_team_alias", "metadata.team", "team_id",
             "metadata.user_api_key_team_id"),
    "project": ("project", "project_id", "metadata.project"),
    "model": ("model", "model_group", "model_name"),
    "prompt_tokens": ("prompt_tokens", "usage.prompt_tokens", "input_tokens", "usage.input_tokens"),
    "completion_tokens": ("completion_tokens", "usage.completion_tokens", "output_tokens", "usage.output_tokens"),
    "cached_tokens": ("cached_tokens", "usage.prompt_tokens_details.cached_tokens",
                      "prompt_tokens_details.cached_tokens", "usage.input_tokens_details.cached_tokens"),
    "latency_ms": ("latency_ms", "duration_ms", "response_time_ms"),
    "request_id": ("request_id", "id"),
}
TAG_SOURCES = ("request_tags", "tags", "metadata.tags")
REQUIRED = ("ts", "model", "prompt_tokens", "completion_tokens")
_TEXT = ("user", "api_key", "team", "project", "model", "request_id")
_COUNTS = ("prompt_tokens", "completion_tokens", "cached_tokens")
_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "csv",
            ".parquet": "parquet"}
MAX_EPOCH_SECONDS = 1e11  # year 5138: larger numbers are epoch milliseconds or garbage

_COLUMNS = ("ts", "request_id", "api_key", "user", "team", "project", "model",
            "prompt_tokens", "completion_tokens", "cached_tokens", "latency_ms")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


@dataclass(frozen=True)
class _Source:
    """One column (or nested field) of the input: its path, DuckDB type and SQL to read it."""

    path: str
    kind: str  # 'text', 'int', 'float', 'timestamp', 'timestamptz', 'date', 'list', 'json', 'other'
    sql: str


def _kind(t: duckdb.DuckDBPyType) -> str:
    name, tid = str(t), t.id
    if name == "JSON" or tid in ("map",):
        return "json"
    if tid == "varchar":
        return "text"
    if tid in ("tinyint", "smallint", "integer", "bigint", "hugeint", "utinyint", "usmallint", "uinteger",
               "ubigint", "uhugeint"):
        return "int"
    if tid in ("float", "double", "decimal"):
        return "float"
    if tid == "timestamp with time zone":
        return "timestamptz"
    if tid.startswith("timestamp"):
        return "timestamp"
    if tid == "date":
        return "date"
    if tid == "list":
        return "list"
    return "other"


def _flatten(name: str, t: duckdb.DuckDBPyType, sql: str, out: dict[str, _Source]) -> None:
    """Every column and nested struct field, keyed by its lower-case dotted path."""
    if t.id == "struct":
        out[name.lower()] = _Source(name, "struct", sql)
        for child, ctype in t.children:
            _flatten(f"{name}.{child}", ctype, f"struct_extract({sql}, {_lit(child)})", out)
    else:
        out[name.lower()] = _Source(name, _kind(t), sql)


def _resolve(path: str, sources: dict[str, _Source]) -> _Source | None:
    """The source at a dotted path; below a JSON or MAP column the field is read with json_extract_string
    (its presence is only known row by row)."""
    if path.lower() in sources:
        return sources[path.lower()]
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        root = sources.get(".".join(parts[:i]).lower())
        if root is not None and root.kind == "json":
            rest = "".join(f".{p}" for p in parts[i:])
            return _Source(path, "text", f"json_extract_string(to_json({root.sql}), {_lit('$' + rest)})")
    return None


def _text(s: _Source) -> str:
    return f"NULLIF(trim(CAST({s.sql} AS VARCHAR)), '')"


def _count(s: _Source) -> str:
    """A whole number, or NULL when the value is not one (12.5, 'abc'); negative values pass (checked later)."""
    if s.kind == "int":
        return f"CAST({s.sql} AS BIGINT)"
    if s.kind == "float":
        num = f"CAST({s.sql} AS DOUBLE)"
    else:  # text: a plain integer casts directly (the common case); '12.0' or '1e3' goes through DOUBLE
        text = f"CAST({s.sql} AS VARCHAR)"
        num = f"TRY_CAST(trim({text}) AS DOUBLE)"
        whole = f"(CASE WHEN {num} = floor({num}) AND abs({num}) < 9e15 THEN CAST({num} AS BIGINT) END)"
        return f"(CASE WHEN regexp_matches({text}, '[.eE]') THEN {whole} ELSE TRY_CAST({text} AS BIGINT) END)"
    return f"(CASE WHEN {num} = floor({num}) AND abs({num}) < 9e15 THEN CAST({num} AS BIGINT) END)"


def _number(s: _Source) -> str:
    if s.kind in ("int", "float"):
        return f"CAST({s.sql} AS DOUBLE)"
    return f"TRY_CAST(trim(CAST({s.sql} AS VARCHAR)) AS DOUBLE)"


def _timestamp(s: _Source) -> str:
    """UTC TIMESTAMP (the connection's time zone is UTC, so TIMESTAMPTZ casts convert to UTC)."""
    epoch = "(CASE WHEN {x} >= 0 AND {x} < " + repr(MAX_EPOCH_SECONDS) + " THEN CAST(to_timestamp({x}) AS TIMESTAMP) END)"
    if s.kind in ("timestamp", "timestamptz", "date"):
        return f"CAST({s.sql} AS TIMESTAMP)"
    if s.kind in ("int", "float"):
        return epoch.format(x=f"CAST({s.sql} AS DOUBLE)")
    # ISO 8601 text first, the common case: ending in Z, a plain TIMESTAMP cast (3x faster than the ICU
    # TIMESTAMPTZ cast, but it would drop an explicit offset, which therefore goes through TIMESTAMPTZ;
    # no offset = UTC, the session's time zone). Else a number of epoch seconds.
    raw = f"CAST({s.sql} AS VARCHAR)"
    iso = (f"(CASE WHEN suffix({raw}, 'Z') THEN TRY_CAST({raw} AS TIMESTAMP) "
           f"ELSE CAST(TRY_CAST({raw} AS TIMESTAMPTZ) AS TIMESTAMP) END)")
    return f"COALESCE({iso}, {epoch.format(x=f'TRY_CAST(trim({raw}) AS DOUBLE)')})"


_NORMALISE = {"ts": _timestamp, "prompt_tokens": _count, "completion_tokens": _count, "cached_tokens": _count,
              "latency_ms": _number, **{f: _text for f in _TEXT}}


@dataclass
class _Field:
    name: str
    sources: list[_Source]

    def value(self) -> str:
        norm = _NORMALISE[self.name]
        parts = [norm(s) for s in self.sources]
        return parts[0] if len(parts) == 1 else f"COALESCE({', '.join(parts)})"

    def present(self) -> str:
        """True where the row has a raw value (for text, not empty)."""
        return "(" + " OR ".join(f"{_text(s)} IS NOT NULL" if s.kind in ("text", "json", "other")
                                 else f"{s.sql} IS NOT NULL" for s in self.sources) + ")"

    def raw(self) -> str:
        """The raw text and the name of the source it came from, for messages."""
        raw = f"COALESCE({', '.join(_text(s) for s in self.sources)})"
        name = "CASE " + " ".join(f"WHEN {_text(s)} IS NOT NULL THEN {_lit(s.path)}" for s in self.sources) + " END"
        return raw, name


def _did_you_mean(name: str, choices) -> str:
    """The closest choice whatever its case, or nothing (column names, keys and policies of usage input)."""
    return did_you_mean(name, choices, n=1, cutoff=0.6, ignore_case=True, otherwise=False)


def _map_fields(path: Path, sources: dict[str, _Source]) -> tuple[dict[str, _Field], list[str]]:
    fields: dict[str, _Field] = {}
    for name, paths in FIELD_SOURCES.items():
        found = [s for p in paths if (s := _resolve(p, sources)) is not None and s.kind not in ("struct", "list")]
        if found:
            fields[name] = _Field(name, found)
    problems = []
    available = [s.path for s in sources.values() if s.kind != "struct"]
    for name in REQUIRED + (("user",) if "api_key" not in fields else ()):
        if name in fields:
            continue
        accepted = FIELD_SOURCES[name] + (FIELD_SOURCES["api_key"] if name == "user" else ())
        hint = ""
        for a in accepted:
            hint = hint or _did_you_mean(a.rsplit(".", 1)[-1], available) or _did_you_mean(a, available)
        label = "user or api_key" if name == "user" else name
        problems.append(f"{path}: missing column for {label} (accepted: {', '.join(accepted)}){hint}")
    return fields, problems


def _select(fields: dict[str, _Field], sources: dict[str, _Source]):
    """The row query, in two levels so that each value is normalised once: the inner SELECT (over ``src``)
    gives the normalised columns and ``_has_<field>`` (a raw value is present); ``_raw_<field>`` and
    ``_src_<field>`` (raw text, name of its source) are added for messages only. The checks are
    (flag, message) pairs of SQL over the inner columns. Returns (inner columns, message columns, checks)."""
    inner: dict[str, str] = {}
    for col in _COLUMNS:
        inner[col] = fields[col].value() if col in fields else "NULL"
    inner["cached_tokens"] = f"COALESCE({inner['cached_tokens']}, 0)"
    tags = [s for p in TAG_SOURCES if (s := _resolve(p, sources)) is not None and s.kind != "struct"]
    for key in ("team", "project"):
        if tags:  # 'team:search' in a list, a JSON array or a delimited string
            tag_text = " || ' ' || ".join(f"COALESCE(CAST(to_json({s.sql}) AS VARCHAR), '')" for s in tags)
            pattern = _lit(r'(?:^|[\[",;\s])' + key + r'[:=]([^",;\]\s]+)')
            found = f"NULLIF(regexp_extract({tag_text}, {pattern}, 1), '')"
            inner[key] = f"COALESCE({inner[key]}, {found})" if inner[key] != "NULL" else found
    derived_latency = "latency_ms" not in fields and "starttime" in sources and "endtime" in sources
    if derived_latency:  # LiteLLM logs the start and end of each request
        t0, t1 = _timestamp(sources["starttime"]), _timestamp(sources["endtime"])
        inner["latency_ms"] = f"CAST(epoch_ms({t1}) - epoch_ms({t0}) AS DOUBLE)"
    checked = [f for f in ("ts", "model", "user", "api_key") + _COUNTS + ("latency_ms",) if f in fields]
    inner |= {f"_has_{f}": fields[f].present() for f in checked}
    raw: dict[str, str] = {}
    for f in checked:
        raw[f"_raw_{f}"], raw[f"_src_{f}"] = fields[f].raw()

    def said(f: str, middle: str, end: str) -> str:
        return f"'{f} (' || _src_{f} || '): {middle}' || _raw_{f} || '{end}'"

    checks = [(f"NOT _has_{f}", _lit(f"{f}: missing")) for f in REQUIRED]
    who = [f"_has_{f}" for f in ("user", "api_key") if f in fields]
    checks.append((f"NOT ({' OR '.join(who)})", _lit("user/api_key: missing (neither is given)")))
    checks.append(("_has_ts AND ts IS NULL", said("ts", "cannot parse ''", "'' as ISO 8601 or epoch seconds")))
    for f in _COUNTS:
        if f in fields:
            checks.append((f"_has_{f} AND {f} IS NULL", said(f, "''", "'' is not a whole number")))
            checks.append((f"{f} < 0", said(f, "", " is negative")))
    if "cached_tokens" in fields:
        checks.append(("cached_tokens > prompt_tokens AND prompt_tokens >= 0",
                       "'cached_tokens: ' || CAST(cached_tokens AS VARCHAR) || ' exceeds prompt_tokens ' || "
                       "CAST(prompt_tokens AS VARCHAR)"))
    if "latency_ms" in fields:
        checks.append(("_has_latency_ms AND latency_ms IS NULL", said("latency_ms", "''", "'' is not a number")))
        checks.append(("latency_ms < 0", said("latency_ms", "", " is negative")))
    elif derived_latency:
        checks.append(("latency_ms < 0", "'latency_ms (endTime - startTime): ' || CAST(latency_ms AS VARCHAR) || "
                                         "' is negative'"))
    return inner, raw, checks
