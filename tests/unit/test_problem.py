"""Problem file parsing: YAML 1.2 scalars, unknown fields, ranges, one line per error with file:line."""

import pytest

from planner.errors import ProblemError
from planner.problem import parse_problem

BASE = """\
name: t
model: llama-3.1-8b
workload:
  input_tokens: {mean: 1e3, p50: 900}
  output_tokens: {mean: 200}
  demand: {profile: constant, rps: 2}
  user_regions: {us-east: 1}
slo: {ttft_p99_ms: 1000}
"""


def test_scientific_notation_is_a_number_and_no_is_a_string():
    loaded = parse_problem(BASE.replace("name: t", "name: NO"), "p.yaml")
    assert loaded.problem.name == "NO"
    assert loaded.problem.workload.input_tokens.mean == 1000.0


def test_defaults():
    p = parse_problem(BASE).problem
    assert p.engine == "vllm"
    assert p.options.headroom == 0.15
    assert p.solver.name == "highs"


def test_every_error_reported_with_line_and_did_you_mean():
    text = BASE.replace("rps: 2", "rps: -1") + "options:\n  tierz: [spot]\n  precisions: [bf17]\n"
    with pytest.raises(ProblemError) as err:
        parse_problem(text, "p.yaml")
    msgs = err.value.messages
    assert "p.yaml:6: workload.demand.rps: Input should be greater than 0" in msgs
    assert any(m.startswith("p.yaml:10: options.tierz: unknown field; did you mean 'tiers'?") for m in msgs)
    assert any(m.startswith("p.yaml:11: options.precisions.0:") for m in msgs)
    assert len(msgs) == 3


def test_malformed_yaml_one_line():
    with pytest.raises(ProblemError) as err:
        parse_problem("name: [unclosed\n", "bad.yaml")
    assert len(err.value.messages) == 1
    assert err.value.messages[0].startswith("bad.yaml:")
    assert "malformed YAML" in err.value.messages[0]


def test_not_a_mapping():
    with pytest.raises(ProblemError, match="must be a YAML mapping"):
        parse_problem("- a\n- b\n", "x.yaml")


@pytest.mark.parametrize(
    "edit, message",
    [
        (("rps: 2", "rps: 0"), "greater than 0"),
        (("{us-east: 1}", "{us-east: 0.5}"), "sum to 0.5"),
        (("slo: {ttft_p99_ms: 1000}", "slo: {}"), "at least one of"),
        (("{mean: 1e3, p50: 900}", "{p50: 900, p90: 100}"), "must not decrease"),
        (("{profile: constant, rps: 2}", "{profile: diurnal, peak_rps: 2}"), "needs trough_rps"),
    ],
)
def test_inconsistent_values(edit, message):
    with pytest.raises(ProblemError, match=message):
        parse_problem(BASE.replace(*edit), "p.yaml")
