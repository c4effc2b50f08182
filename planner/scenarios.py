"""What-if scenarios: a problem with some of its settings replaced (``--set a.b.c=v1,v2``,
``--vary slo.ttft_p99_ms=250:4000``), the product of the settings, each validated like a problem
file (errors name the setting). Values are YAML: ``10``, ``fp8``, ``[bf16, fp8]``, ``null``."""

from __future__ import annotations

import io
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from planner.errors import InputError, ProblemError
from planner.problem import LoadedProblem, parse_problem


@dataclass(frozen=True)
class Setting:
    path: tuple[str, ...]
    values: tuple[Any, ...]

    @property
    def name(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Scenario:
    index: int
    values: dict[str, Any]  # setting name -> value, in the order given
    text: str  # the problem file with the values applied

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={_show(v)}" for k, v in self.values.items()) or "as given"


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(_show, value)) + "]"
    return "null" if value is None else str(value)


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside brackets: ``[bf16, fp8],[fp8]`` → two items."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "[{"
        depth -= ch in "]}"
        if ch == "," and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return [x.strip() for x in out]


def _scalar(text: str, where: str) -> Any:
    try:
        value = YAML(typ="safe").load(text)
    except YAMLError as exc:
        raise InputError(f"{where}: value {text!r} is not YAML: {str(exc).splitlines()[0]}") from None
    return value


def parse_setting(spec: str, option: str = "--set", points: int | None = None) -> Setting:
    """``a.b.c=v1,v2`` (values), or with ``points`` also ``a.b.c=lo:hi`` (that many points spaced
    geometrically from lo to hi, both included; for latencies and rates, which span decades)."""
    where = f"{option} {spec}"
    if "=" not in spec:
        raise InputError(f"{where}: expected PATH=VALUE[,VALUE...] (e.g. workload.demand.peak_rps=10,20,40)")
    path_text, values_text = spec.split("=", 1)
    path = tuple(p.strip() for p in path_text.strip().split("."))
    if not all(path):
        raise InputError(f"{where}: empty part in the path {path_text!r}")
    values_text = values_text.strip()
    if points is not None and ":" in values_text and not values_text.startswith("["):
        lo_text, hi_text = values_text.split(":", 1)
        lo, hi = _scalar(lo_text, where), _scalar(hi_text, where)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in (lo, hi)) or lo >= hi:
            raise InputError(f"{where}: a range needs two positive numbers lo:hi with lo < hi")
        if points < 2:
            raise InputError(f"{where}: a range needs --points ≥ 2")
        ratio = (hi / lo) ** (1 / (points - 1))
        values = tuple(float(f"{lo * ratio ** i:.6g}") for i in range(points - 1)) + (hi,)
        return Setting(path, values)
    items = [_scalar(x, where) for x in _split_top_level(values_text)]
    if any(x == "" for x in _split_top_level(values_text)):
        raise InputError(f"{where}: empty value")
    return Setting(path, tuple(items))


def _apply(doc: CommentedMap, path: tuple[str, ...], value: Any) -> None:
    node = doc
    for key in path[:-1]:
        if key not in node or node[key] is None:
            node[key] = CommentedMap()
        node = node[key]
        if not isinstance(node, dict):
            raise InputError(f"{'.'.join(path)}: '{key}' is not a mapping in the problem")
    node[path[-1]] = value


GPU_FAMILY = ("options", "gpu_family")  # not a problem field: a family name (accelerators.csv) → options.gpus


def gpu_families(catalogs) -> dict[str, list[str]]:
    """family (lower case) → GPU ids, from accelerators.csv: what ``options.gpu_family`` names."""
    return {str(f).lower(): sorted(g["id"]) for f, g in catalogs.accelerators.groupby("family")}


def _family_gpus(doc: CommentedMap, family, families: dict[str, list[str]]) -> list[str]:
    """The problem's GPUs (or every GPU, with 'any') of the family or families named."""
    names = family if isinstance(family, list) else [family]
    unknown = [n for n in names if str(n).lower() not in families]
    if unknown:
        raise InputError(f"{'.'.join(GPU_FAMILY)}: unknown GPU family {', '.join(map(str, unknown))} "
                         f"(families: {', '.join(sorted(families))})")
    members = [g for n in names for g in families[str(n).lower()]]
    allowed = (doc.get("options") or {}).get("gpus", "any")
    if allowed != "any":
        members = [g for g in members if g in set(allowed)]
    if not members:
        raise InputError(f"{'.'.join(GPU_FAMILY)}={_show(family)}: none of the problem's options.gpus is in that family")
    return sorted(members)


def scenarios(loaded: LoadedProblem, settings: list[Setting], families: dict[str, list[str]] | None = None) -> list[Scenario]:
    """Every combination of the settings' values (the first setting varies slowest), each checked
    as a problem; every invalid scenario is reported at once, naming its settings. ``families``
    (family → GPU ids, from accelerators.csv) enables the ``options.gpu_family`` setting."""
    text = loaded.path.read_text(encoding="utf-8")
    yaml = YAML(typ="rt")
    out, errors = [], []
    names = [s.name for s in settings]
    if len(set(names)) != len(names):
        raise InputError(f"a setting is given twice: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
    for index, combo in enumerate(itertools.product(*(s.values for s in settings))):
        doc = yaml.load(text)
        for s, v in zip(settings, combo):
            if s.path == GPU_FAMILY and families is not None:
                _apply(doc, ("options", "gpus"), _family_gpus(doc, v, families))
            else:
                _apply(doc, s.path, v)
        buf = io.StringIO()
        yaml.dump(doc, buf)
        scenario = Scenario(index, dict(zip(names, combo)), buf.getvalue())
        try:
            parse_problem(scenario.text, loaded.path)
        except ProblemError as exc:
            errors += [f"scenario {scenario.label}: {m.split(': ', 1)[-1] if m.startswith(str(loaded.path)) else m}"
                       for m in exc.messages]
            continue
        out.append(scenario)
    if errors:
        raise InputError(errors)
    return out


def load_scenario(scenario: Scenario, path: Path) -> LoadedProblem:
    """The scenario as a problem (relative file names resolve against the original problem's folder)."""
    return parse_problem(scenario.text, path)


def count(settings: list[Setting]) -> int:
    return math.prod(len(s.values) for s in settings)
